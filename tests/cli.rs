//! The command line as a user meets it: exit statuses, JSON output, bundles, graphs,
//! explanations and help.

mod common;

use common::{edgeflow, root, stderr, stdout};

const WARNING_ONLY: &str = "tests/fixtures/invalid/W0101_underscore_is_quiet.edgeflow";
const OPTIONAL_USED: &str = "tests/conformance/invalid/E0302_optional_used.edgeflow";

#[test]
fn missing_paths_and_empty_folders_are_usage_errors() {
    let output = edgeflow(&["check", "does/not/exist.edgeflow"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no such file or folder"));

    let empty = tempfile_dir("empty");
    let output = edgeflow(&["check", &empty.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no .edgeflow files"));
}

#[test]
fn deny_warnings_turns_warnings_into_a_failing_status() {
    assert_eq!(edgeflow(&["check", WARNING_ONLY]).status.code(), Some(0));
    assert_eq!(
        edgeflow(&["check", "--deny", "warnings", WARNING_ONLY])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn json_output_has_the_documented_shape() {
    let output = edgeflow(&["check", "--format", "json", OPTIONAL_USED]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON document on stdout");
    assert_eq!(report["files"], 1);
    assert_eq!(report["errors"], 1);
    assert_eq!(report["warnings"], 0);
    let diagnostic = &report["diagnostics"][0];
    assert_eq!(diagnostic["code"], "E0302");
    assert_eq!(diagnostic["severity"], "error");
    assert_eq!(diagnostic["file"], OPTIONAL_USED);
    assert_eq!(
        (diagnostic["line"].as_u64(), diagnostic["column"].as_u64()),
        (Some(4), Some(15))
    );
    assert_eq!(
        (
            diagnostic["end_line"].as_u64(),
            diagnostic["end_column"].as_u64()
        ),
        (Some(4), Some(23))
    );
    assert_eq!(diagnostic["length"], 8);
    let source = std::fs::read_to_string(root().join(OPTIONAL_USED)).expect("readable");
    let offset = diagnostic["offset"].as_u64().expect("offset") as usize;
    assert_eq!(&source[offset..offset + 8], "l.leader");
    assert_eq!(diagnostic["labels"][0]["line"], 4);
    assert!(diagnostic["help"].is_string());
}

#[test]
fn compiling_twice_gives_the_same_bundle_and_hash() {
    let dir = tempfile_dir("bundles");
    let first = dir.join("first.bundle");
    let second = dir.join("second.bundle");
    let run = |out: &std::path::Path| {
        edgeflow(&[
            "compile",
            "examples/rate_limit_gateway.edgeflow",
            "-o",
            &out.to_string_lossy(),
        ])
    };
    let (a, b) = (run(&first), run(&second));
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(stdout(&a), stdout(&b));
    let bytes = std::fs::read(&first).expect("bundle written");
    assert_eq!(bytes, std::fs::read(&second).expect("bundle written"));
    let program = edgeflow_compiler::program::from_bundle(&bytes).expect("a valid bundle");
    assert_eq!(format!("{}\n", program.hash), stdout(&a));
    assert_eq!(program.workflows.len(), 2);
    assert_eq!(program.policies.len(), 2);
}

#[test]
fn compile_refuses_programs_with_errors_and_missing_outputs() {
    let dir = tempfile_dir("refused");
    let out = dir.join("never.bundle");
    let output = edgeflow(&["compile", OPTIONAL_USED, "-o", &out.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(!out.exists());
    let output = edgeflow(&["compile", "examples/rate_limit.edgeflow"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--output"));
}

#[test]
fn compile_embeds_webassembly_modules_or_says_which_is_missing() {
    let dir = tempfile_dir("wasm");
    let source = dir.join("user.edgeflow");
    std::fs::write(
        &source,
        "extern op text.upper(s: string) -> { s: string } = wasm(\"upper.wasm\", \"run\")\n\
         workflow w() {\n  let u = text.upper(s: \"x\")\n  return u.s\n}\n",
    )
    .expect("write source");
    let out = dir.join("user.bundle");
    let compile = || {
        edgeflow(&[
            "compile",
            &source.to_string_lossy(),
            "-o",
            &out.to_string_lossy(),
        ])
    };
    let missing = compile();
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("upper.wasm"),
        "{}",
        stderr(&missing)
    );
    // An empty module lacks the core ABI's exports: refused, naming what is missing.
    std::fs::write(dir.join("upper.wasm"), b"\0asm\x01\0\0\0").expect("write module");
    let empty = compile();
    assert_eq!(empty.status.code(), Some(1));
    assert!(
        stderr(&empty).contains("E0600") && stderr(&empty).contains("does not export `memory`"),
        "{}",
        stderr(&empty)
    );
    let module = wat::parse_str(
        r#"(module (memory (export "memory") 1)
             (func (export "alloc") (param i32) (result i32) (i32.const 0))
             (func (export "run") (param i32 i32) (result i64) (i64.const 0)))"#,
    )
    .expect("valid WAT");
    std::fs::write(dir.join("upper.wasm"), &module).expect("write module");
    let present = compile();
    assert!(present.status.success(), "{}", stderr(&present));
    let program = edgeflow_compiler::program::from_bundle(&std::fs::read(&out).expect("bundle"))
        .expect("valid");
    use base64::Engine;
    assert_eq!(
        program.wasm_modules.get("upper.wasm").cloned(),
        Some(base64::engine::general_purpose::STANDARD.encode(&module))
    );
}

#[test]
fn graph_needs_a_workflow_name_when_there_are_several() {
    let output = edgeflow(&["graph", "examples/rate_limit_gateway.edgeflow"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("admit, aggregate_usage"),
        "{}",
        stderr(&output)
    );
    let output = edgeflow(&[
        "graph",
        "examples/rate_limit_gateway.edgeflow",
        "--workflow",
        "nope",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let output = edgeflow(&[
        "graph",
        "examples/rate_limit_gateway.edgeflow",
        "-w",
        "admit",
        "--format",
        "dot",
    ]);
    assert!(output.status.success());
    assert!(
        stdout(&output).contains("s0 -> s1 [label=\"*\", style=dashed]")
            || stdout(&output).contains("style=dashed")
    );
}

#[test]
fn explain_knows_every_code_and_rejects_others() {
    let output = edgeflow(&["explain", "E0400"]);
    assert!(output.status.success());
    assert!(stdout(&output).contains("## Fix"));
    let output = edgeflow(&["explain", "E9999"]);
    assert_eq!(output.status.code(), Some(2));
    let list = edgeflow(&["explain", "--list"]);
    assert_eq!(stdout(&list).lines().count(), 28);
}

#[test]
fn every_command_has_help_with_an_example() {
    for command in [
        &["--help"][..],
        &["check", "--help"],
        &["compile", "--help"],
        &["graph", "--help"],
        &["explain", "--help"],
        &["run", "--help"],
        &["runs", "--help"],
        &["node", "--help"],
    ] {
        let output = edgeflow(command);
        assert!(output.status.success(), "{command:?}");
        assert!(
            stdout(&output).contains("Examples:"),
            "{command:?}: {}",
            stdout(&output)
        );
    }
}

/// A fresh folder under the target directory for one test.
fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

#[test]
fn node_configs_are_validated_with_the_key_and_line_of_a_mistake() {
    // The examples, with their token files: a strong token passes; a missing file, a
    // folder and a weak token are refused by `--check` already.
    let dir = tempfile_dir("node-config-tokens");
    let strong = dir.join("strong.token");
    std::fs::write(&strong, common::strong_token("example")).expect("token");
    let weak = dir.join("weak.token");
    std::fs::write(&weak, "abc").expect("token");
    for (example, token_path) in [
        ("examples/cluster/voter.toml", ".edgeflow/node-1.token"),
        ("examples/cluster/worker.toml", ".edgeflow/worker-10.token"),
    ] {
        let text = std::fs::read_to_string(root().join(example)).expect("example config");
        let config = dir.join("config.toml");
        for (token_file, expected) in [
            (strong.clone(), None),
            (
                dir.join("missing.token"),
                Some("cannot read the token file"),
            ),
            (dir.clone(), Some("is a folder")),
            (weak.clone(), Some("the token is too weak")),
        ] {
            let text = text.replace(token_path, &token_file.to_string_lossy());
            std::fs::write(&config, text).expect("write config");
            let output = edgeflow(&["node", "--config", &config.to_string_lossy(), "--check"]);
            match expected {
                None => assert!(output.status.success(), "{example}: {}", stderr(&output)),
                Some(said) => {
                    assert_eq!(
                        output.status.code(),
                        Some(2),
                        "{example}: {}",
                        stderr(&output)
                    );
                    assert!(
                        stderr(&output).contains(said),
                        "{example}: {}",
                        stderr(&output)
                    );
                }
            }
        }
    }
    let dir = tempfile_dir("node-config");
    let typo = dir.join("typo.toml");
    let text = std::fs::read_to_string(root().join("examples/cluster/voter.toml"))
        .expect("example config");
    std::fs::write(&typo, text.replace("raft_listen", "raft_lisen")).expect("write config");
    let output = edgeflow(&["node", "--config", &typo.to_string_lossy(), "--check"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("typo.toml:13:1: unknown field `raft_lisen`"),
        "{}",
        stderr(&output)
    );
    let dir_for_worker = tempfile_dir("node-worker-token");
    let worker_config = dir_for_worker.join("worker.toml");
    let text = std::fs::read_to_string(root().join("examples/cluster/worker.toml"))
        .expect("example config")
        .replace(".edgeflow/worker-10.token", "/nonexistent/worker.token");
    std::fs::write(&worker_config, text).expect("write config");
    let worker = edgeflow(&["node", "--config", &worker_config.to_string_lossy()]);
    assert_eq!(worker.status.code(), Some(2));
    assert!(
        stderr(&worker).contains("cannot read the token file /nonexistent/worker.token"),
        "{}",
        stderr(&worker)
    );
}

#[test]
fn hostile_files_and_pipes_get_a_clear_error_not_a_crash() {
    let dir = tempfile_dir("hostile-files");
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path.to_string_lossy().into_owned()
    };
    // A diagnostic past column 65,535, and one on a 5 MB literal: short, exact output.
    let wide = write(
        "wide.edgeflow",
        format!("const X: int = {}@\n", " ".repeat(70_000)),
    );
    let output = edgeflow(&["check", &wide]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("wide.edgeflow:1:70016"),
        "{}",
        stderr(&output)
    );
    assert!(output.stderr.len() < 4_000, "{} bytes", output.stderr.len());
    let big = write(
        "big.edgeflow",
        format!("const X: int = \"{}\"\n", "a".repeat(5_000_000)),
    );
    let output = edgeflow(&["check", &big]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("E0300"),
        "{}",
        &stderr(&output)[..200]
    );
    assert!(output.stderr.len() < 4_000, "{} bytes", output.stderr.len());
    // A literal as big as a bundle may be is a literal, not a syntax error.
    let large = write(
        "large.edgeflow",
        format!("const S: string = \"{}\"\n", "x0".repeat(7_000_000)),
    );
    let output = edgeflow(&["check", &large]);
    assert!(output.status.success(), "{}", &stderr(&output)[..200]);
    // A huge unexpected word is named, not echoed whole.
    let word = write(
        "word.edgeflow",
        format!("const X: int = 1 {}\n", "w".repeat(100_000)),
    );
    let output = edgeflow(&["check", &word]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("(100000 characters)"),
        "{}",
        &stderr(&output)[..200]
    );
    assert!(output.stderr.len() < 4_000, "{} bytes", output.stderr.len());
    // A flat chain is not "nesting".
    let chain = write(
        "chain.edgeflow",
        format!("const X: int = 1{}\n", "+1".repeat(5_000)),
    );
    let output = edgeflow(&["check", &chain]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("expression is too long"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("nesting"), "{}", stderr(&output));
    // Devices and FIFOs are refused before anything is read.
    for path in ["/dev/zero", "/dev/urandom"] {
        let output = edgeflow(&["check", path]);
        assert_eq!(output.status.code(), Some(2), "{path}");
        assert!(
            stderr(&output).contains("not a regular file"),
            "{}",
            stderr(&output)
        );
    }
    let fifo = dir.join("fifo.edgeflow");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let output = edgeflow(&["check", &fifo.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("not a regular file"),
        "{}",
        stderr(&output)
    );
    std::fs::remove_file(&fifo).expect("fifo removed");
    // Symbolic links in a checked folder are followed (an error behind one is found),
    // and a link looping back is named.
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("real")).expect("tree");
    std::fs::write(dir.join("outside.edgeflow"), "const X: int = \"no\"\n").expect("write");
    std::os::unix::fs::symlink(dir.join("outside.edgeflow"), tree.join("linked.edgeflow"))
        .expect("link");
    let output = edgeflow(&["check", &tree.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("E0300"), "{}", stderr(&output));
    std::os::unix::fs::symlink(&tree, tree.join("real/back")).expect("loop");
    let output = edgeflow(&["check", &tree.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("loop"), "{}", stderr(&output));
    // A reader that goes away ends the command quietly, without a panic.
    let data = dir.join("data");
    let ran = edgeflow(&[
        "run",
        "examples/rate_limit.edgeflow",
        "--data",
        &data.to_string_lossy(),
        "--input",
        "us_east_1_usage=1",
    ]);
    assert!(ran.status.success(), "{}", stderr(&ran));
    let mut child = std::process::Command::new(common::bin())
        .args([
            "runs",
            "--data",
            &data.to_string_lossy(),
            "--format",
            "json",
        ])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs starts");
    drop(child.stdout.take());
    let finished = child.wait_with_output().expect("runs ends");
    assert!(
        !stderr(&finished).contains("panicked"),
        "{}",
        stderr(&finished)
    );
    // A data dir that is a file, and a database cut short: said in words.
    let file = write("not-a-dir", String::new());
    let output = edgeflow(&["runs", "--data", &file]);
    assert_ne!(output.status.code(), Some(0));
    let database = data.join("raft.redb");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&database)
        .and_then(|f| f.set_len(4096))
        .expect("truncate");
    let output = edgeflow(&["runs", "--data", &data.to_string_lossy()]);
    assert_ne!(output.status.code(), Some(0));
    assert!(
        stderr(&output).contains("damaged") || stderr(&output).contains("cut short"),
        "{}",
        stderr(&output)
    );
}
