//! User ops in the WebAssembly sandbox, as a user meets them: `edgeflow run` calls a
//! module through either ABI and checks its output's shape; every limit fails only
//! that step, naming the op and the limit; a module importing what the sandbox does
//! not offer is refused when compiling; a worker runs a placed wasm step.

mod common;

use common::cluster::Cluster;
use common::{edgeflow, stderr, stdout};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The memory and bump allocator the core modules below share.
const ALLOC: &str = include_str!("../wasm/tests/modules/bump_alloc.wat");

/// A core module whose `run` has `body`, with `edgeflow.log` imported as `$log` and
/// "echoing" at address 0.
fn core_module(body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module (import "edgeflow" "log" (func $log (param i32 i32))) {ALLOC}
             (data (i32.const 0) "echoing")
             (data (i32.const 16) "{{\"items\":7}}")
             (func $down (param i32) (result i64) (call $down (i32.add (local.get 0) (i32.const 1))))
             (func (export "run") (param $ptr i32) (param $len i32) (result i64) {body}))"#
    ))
    .expect("test module is valid WAT")
}

/// The answer `ptr << 32 | len` of the input itself.
const ECHO: &str = "(call $log (i32.const 0) (i32.const 7))
   (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.extend_i32_u (local.get $len)))";

fn workdir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("wasm")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("work dir");
    dir
}

/// Writes the modules and a file declaring one op per module, each with a workflow
/// of the same name calling it.
fn program(dir: &Path, modules: &[(&str, Vec<u8>)]) -> PathBuf {
    let mut source = String::new();
    for (name, bytes) in modules {
        std::fs::write(dir.join(format!("{name}.wasm")), bytes).expect("module written");
        source.push_str(&format!(
            "extern op user.{name}(items: [string]) -> {{ items: [string] }} = wasm(\"{name}.wasm\", \"run\")\n\
             workflow {name}(words: [string] = [\"a\", \"b\"]) {{\n  let done = user.{name}(items: words)\n  return {{ items: done.items }}\n}}\n"
        ));
    }
    let file = dir.join("ops.edgeflow");
    std::fs::write(&file, source).expect("program written");
    file
}

fn run(file: &Path, workflow: &str) -> std::process::Output {
    edgeflow(&[
        "run",
        &file.to_string_lossy(),
        "-w",
        workflow,
        "--ephemeral",
        "--verbose",
    ])
}

#[test]
fn user_ops_answer_checked_values_and_each_limit_fails_only_its_step() {
    let dir = workdir("limits");
    let file = program(
        &dir,
        &[
            ("echo", core_module(ECHO)),
            ("shape", core_module("(i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 11))")),
            ("spin", core_module("(loop $forever (br $forever)) (i64.const 0)")),
            (
                "hog",
                core_module("(loop $more (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable"),
            ),
            ("deep", core_module("(call $down (i32.const 0))")),
            ("crash", core_module("unreachable")),
            ("stray", core_module("(i64.const 0x7ffffff000000064)")),
        ],
    );
    let good = run(&file, "echo");
    assert!(good.status.success(), "{}", stderr(&good));
    assert_eq!(stdout(&good).trim(), r#"{"items":["a","b"]}"#);
    // The module's log line lands in the step's log.
    let logged = stderr(&good);
    assert!(
        logged.contains(r#""message":"echoing","op":"user.echo""#),
        "{logged}"
    );

    for (workflow, expected) in [
        ("shape", "user.shape: items: expected [string], found 7"),
        ("spin", "op `user.spin` ran past its time limit of 1s"),
        (
            "hog",
            "op `user.hog` asked for more than its memory limit of 64 MiB",
        ),
        ("deep", "op `user.deep` overflowed its stack"),
        ("crash", "op `user.crash` trapped"),
        (
            "stray",
            "op `user.stray` its output (100 bytes at 2147483632) lies outside",
        ),
    ] {
        let failed = run(&file, workflow);
        assert_eq!(
            failed.status.code(),
            Some(1),
            "{workflow}: {}",
            stderr(&failed)
        );
        let message = stderr(&failed);
        assert!(
            message.contains("step `done` failed"),
            "{workflow}: {message}"
        );
        assert!(message.contains(expected), "{workflow}: {message}");
    }
}

#[test]
fn a_module_importing_what_the_sandbox_does_not_offer_is_refused_when_compiling() {
    let dir = workdir("imports");
    let sneaky = wat::parse_str(format!(
        r#"(module (import "env" "open_socket" (func (param i32) (result i32))) {ALLOC}
             (func (export "run") (param i32 i32) (result i64) (i64.const 0)))"#
    ))
    .expect("valid WAT");
    let file = program(&dir, &[("sneaky", sneaky)]);
    let bundle = dir.join("bundle.json");
    for args in [
        vec![
            "compile",
            &*file.to_string_lossy(),
            "-o",
            &*bundle.to_string_lossy(),
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>(),
        vec![
            "run".to_string(),
            file.to_string_lossy().into_owned(),
            "--ephemeral".into(),
        ],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let refused = edgeflow(&args);
        assert_eq!(refused.status.code(), Some(1), "{args:?}");
        let message = stderr(&refused);
        assert!(message.contains("error[E0600]"), "{message}");
        assert!(message.contains("ops.edgeflow:1"), "{message}");
        assert!(message.contains("imports `env.open_socket`"), "{message}");
        assert!(stdout(&refused).is_empty());
    }
    assert!(!bundle.exists(), "no bundle is written");
}

#[test]
fn the_c_example_runs_through_the_wasi_abi() {
    let built = std::process::Command::new(common::root().join("examples/wasm/build.sh"))
        .output()
        .expect("examples/wasm/build.sh runs (.ci/run installs clang and wasi-libc)");
    assert!(built.status.success(), "{}", stderr(&built));
    let verdict = |latency: &str| {
        let output = edgeflow(&[
            "run",
            "examples/canary_gate.edgeflow",
            "--input",
            &format!("latency_p99={latency}"),
            "--ephemeral",
            "--format",
            "json",
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        serde_json::from_str::<Value>(&stdout(&output)).expect("JSON output")
    };
    assert_eq!(
        verdict("180ms"),
        json!({"promote": true, "reason": "error rate and p99 latency within limits", "logged": true})
    );
    assert_eq!(
        verdict("1s400ms"),
        json!({"promote": false, "reason": "p99 latency 1400 ms is over 250 ms", "logged": true})
    );
}

#[test]
fn a_worker_runs_a_placed_wasm_step_and_only_its_own() {
    let cluster = Cluster::up_with_workers("wasm-worker", 3, 1);
    let dir = workdir("worker");
    std::fs::write(dir.join("echo.wasm"), core_module(ECHO)).expect("module written");
    let file = dir.join("placed.edgeflow");
    std::fs::write(
        &file,
        "edges {\n  w1 { region: \"lab\" }\n}\n\
         extern op user.echo(items: [string]) -> { items: [string] } = wasm(\"echo.wasm\", \"run\")\n\
         workflow placed(words: [string] = [\"x\", \"y\"]) {\n  let done = user.echo(items: words) on w1\n  return { items: done.items }\n}\n",
    )
    .expect("program written");
    let submitted = cluster.cli(
        2,
        &[
            "submit",
            &file.to_string_lossy(),
            "--wait",
            "--format",
            "json",
        ],
    );
    assert!(submitted.status.success(), "{}", stderr(&submitted));
    assert_eq!(stdout(&submitted).trim(), r#"{"items":["x","y"]}"#);
    let worker_log = std::fs::read_to_string(cluster.dir.join("w1.log")).expect("worker log");
    assert!(
        worker_log.contains(r#""message":"echoing","op":"user.echo""#),
        "the step ran on the worker: {worker_log}"
    );

    // A worker may fetch the module of a step assigned to it, not any program's (this
    // run's step is finished: no longer assigned).
    let again = cluster.cli(2, &["submit", &file.to_string_lossy()]);
    let run_id = stdout(&again).trim().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let shown = loop {
        let shown = cluster.cli(1, &["runs", "show", &run_id, "--format", "json"]);
        let shown: Value = serde_json::from_str(&stdout(&shown)).expect("JSON");
        if shown["status"] != "running" {
            break shown;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "run {run_id} never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(shown["status"], "succeeded", "{shown}");
    let hash = shown["bundle_hash"]
        .as_str()
        .expect("bundle hash")
        .to_string();
    let asked = format!(r#"{{"bundle":"{hash}","op":"user.echo"}}"#);
    let worker_token = std::fs::read_to_string(cluster.dir.join("w1.token")).expect("worker token");
    let by_worker = common::http::call(
        cluster.url(1),
        "POST",
        "/v1/ops/module",
        Some(worker_token.trim()),
        Some(asked.as_bytes()),
        std::time::Duration::from_secs(5),
    )
    .expect("answer");
    assert_eq!(by_worker.status, 403, "{}", by_worker.body);
    // A member may ask; a program no run uses any more is not kept.
    let by_member = cluster.call(1, "POST", "/v1/ops/module", Some(&asked));
    assert_eq!(by_member.status, 404, "{}", by_member.body);
    assert!(by_member.body.contains("is stored"), "{}", by_member.body);
}
