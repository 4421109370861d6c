//! `edgeflow run` as a user meets it: a real process, the embedded single-node cluster
//! in a data dir, the workflow's output as JSON on stdout.

mod common;

use common::{edgeflow, stderr, stdout};

fn data_dir(name: &str) -> String {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("run-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir.to_string_lossy().into_owned()
}

#[test]
fn the_rate_limit_example_aggregates_usage() {
    let data = data_dir("rate-limit");
    let output = edgeflow(&[
        "run",
        "examples/rate_limit.edgeflow",
        "--input",
        "us_east_1_usage=400",
        "--input",
        "eu_west_1_usage=300",
        "--data",
        &data,
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "{\"total_usage\":700,\"remaining\":300,\"ordered\":true}\n"
    );
}

#[test]
fn state_written_by_a_finished_run_is_there_for_the_next_process() {
    let data = data_dir("counter");
    let run = || {
        edgeflow(&[
            "run",
            "examples/state_counter.edgeflow",
            "-w",
            "increment",
            "--data",
            &data,
            "--format",
            "json",
        ])
    };
    let first = run();
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(
        stdout(&first),
        "{\"value\":1,\"written\":true,\"version\":1}\n"
    );
    let second = run();
    assert_eq!(
        stdout(&second),
        "{\"value\":2,\"written\":true,\"version\":2}\n"
    );
}

#[test]
fn inputs_are_checked_against_the_parameters() {
    let data = data_dir("inputs");
    let missing = edgeflow(&[
        "run",
        "examples/migration_control.edgeflow",
        "-w",
        "pause",
        "--data",
        &data,
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("missing required input migration_id"),
        "{}",
        stderr(&missing)
    );
    let wrong = edgeflow(&[
        "run",
        "examples/rate_limit.edgeflow",
        "--input",
        "limit=lots",
        "--data",
        &data,
    ]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).contains("input `limit`"),
        "{}",
        stderr(&wrong)
    );
    let unknown = edgeflow(&[
        "run",
        "examples/rate_limit.edgeflow",
        "--input",
        "limt=1",
        "--data",
        &data,
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("has no parameter `limt`"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn a_step_that_cannot_be_served_here_fails_the_run_at_its_step() {
    // A migration needs cluster members on both edges: the embedded node says so in
    // planning, at the step, and nothing moves.
    let data = data_dir("unavailable");
    let output = edgeflow(&["run", "examples/migration_live.edgeflow", "--data", &data]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("examples/migration_live.edgeflow:"),
        "{message}"
    );
    assert!(
        message.contains("planning: no cluster member serves edge"),
        "{message}"
    );
    assert!(stdout(&output).is_empty());

    // A user (WebAssembly) op whose module is missing stops the run before it starts.
    let data = data_dir("missing-wasm");
    let output = edgeflow(&[
        "run",
        "tests/fixtures/valid/wasm_and_placement.edgeflow",
        "--data",
        &data,
    ]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("error[E0600]"), "{message}");
    assert!(
        message.contains("dedupe.wasm of op `text.dedupe` cannot be read"),
        "{message}"
    );
}

#[test]
fn runs_are_listed_and_shown_from_the_data_dir() {
    let data = data_dir("listing");
    let run = edgeflow(&[
        "run",
        "examples/leader_election.edgeflow",
        "-w",
        "elect_cache_leader",
        "--data",
        &data,
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let failed = edgeflow(&["run", "examples/migration_live.edgeflow", "--data", &data]);
    assert_eq!(failed.status.code(), Some(1));

    let listing = edgeflow(&["runs", "--data", &data, "--format", "json"]);
    assert!(listing.status.success(), "{}", stderr(&listing));
    let listing: serde_json::Value = serde_json::from_slice(&listing.stdout).expect("JSON");
    let runs = listing.as_array().expect("a list of runs");
    let statuses: Vec<(&str, &str)> = runs
        .iter()
        .map(|r| {
            (
                r["workflow"].as_str().unwrap_or(""),
                r["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("elect_cache_leader", "succeeded"),
            ("migrate_cache", "failed")
        ]
    );

    let id = runs[0]["run_id"].as_str().expect("run id");
    let shown = edgeflow(&["runs", "show", id, "--data", &data, "--format", "json"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    assert_eq!(
        shown["output"],
        serde_json::json!({"leader": "local", "term": 1, "same": true})
    );
    assert_eq!(shown["steps"]["coordinator"]["attempts"], 1);
    assert!(shown["steps"]["current"]["elapsed_ms"].is_u64());

    let missing = edgeflow(&["runs", "show", "run-0", "--data", &data]);
    assert_eq!(missing.status.code(), Some(2));
    let nowhere = edgeflow(&["runs", "--data", "does/not/exist"]);
    assert_eq!(nowhere.status.code(), Some(2));
}

#[test]
fn a_run_killed_mid_way_resumes_to_the_same_output_without_repeating_effects() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let data = data_dir("resume");
    let file = "tests/fixtures/run/slow_counter.edgeflow";
    let mut child = Command::new(common::bin())
        .args(["run", file, "--data", &data, "-v", "--format", "json"])
        .current_dir(common::root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("edgeflow starts");
    let stderr_pipe = child.stderr.take().expect("stderr is piped");
    let mut run_id = None;
    for line in BufReader::new(stderr_pipe).lines() {
        let line = line.expect("stderr is text");
        if let Some((id, _)) = line.split_once(" started: ") {
            run_id = Some(id.to_string());
        }
        // `written` is committed: kill the process while it sleeps in `waited`.
        if line.trim_start().starts_with("written ") {
            break;
        }
    }
    child.kill().expect("SIGKILL the run");
    child.wait().expect("reaped");
    let run_id = run_id.expect("the run id was printed");

    let resumed = edgeflow(&[
        "run",
        file,
        "--data",
        &data,
        "--resume",
        &run_id,
        "--input",
        "pause=1ms",
        "--format",
        "json",
    ]);
    assert_eq!(
        resumed.status.code(),
        Some(2),
        "--resume takes its inputs from the record"
    );
    let resumed = edgeflow(&[
        "run", file, "--data", &data, "--resume", &run_id, "--format", "json", "-v",
    ]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_eq!(
        stdout(&resumed),
        "{\"value\":1,\"written\":true,\"version\":1,\"done\":true}\n"
    );
    assert!(
        stderr(&resumed).contains("written                  replayed"),
        "{}",
        stderr(&resumed)
    );

    // The counter was written once: a new run sees version 1 and writes version 2.
    let next = edgeflow(&[
        "run",
        file,
        "--data",
        &data,
        "--input",
        "pause=1ms",
        "--format",
        "json",
    ]);
    assert_eq!(
        stdout(&next),
        "{\"value\":2,\"written\":true,\"version\":2,\"done\":true}\n"
    );
}

#[test]
fn inputs_can_come_from_a_json_file_and_ephemeral_runs_leave_nothing_behind() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("run-inputs-file");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let inputs = dir.join("inputs.json");
    std::fs::write(
        &inputs,
        r#"{"us_east_1_usage": 10, "eu_west_1_usage": 5, "limit": 12}"#,
    )
    .expect("write inputs");
    let example = common::root().join("examples/rate_limit.edgeflow");
    let output = std::process::Command::new(common::bin())
        .args([
            "run",
            &example.to_string_lossy(),
            "--inputs",
            &inputs.to_string_lossy(),
        ])
        .args(["--input", "limit=20", "--ephemeral", "--format", "json"])
        .current_dir(&dir)
        .output()
        .expect("edgeflow runs");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "{\"total_usage\":15,\"remaining\":5,\"ordered\":true}\n"
    );
    assert!(
        !dir.join(".edgeflow").exists(),
        "an ephemeral run wrote a data dir"
    );
}

#[test]
fn rate_limits_hold_within_a_run_across_runs_and_per_key_on_one_data_dir() {
    let data = data_dir("ratelimit");
    let fixture = "tests/fixtures/run/ratelimit.edgeflow";
    let run = |workflow: &str, inputs: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "run", fixture, "-w", workflow, "--data", &data, "--format", "json",
        ];
        for input in inputs {
            args.extend(["--input", input]);
        }
        let output = edgeflow(&args);
        assert!(output.status.success(), "{}", stderr(&output));
        serde_json::from_str(&stdout(&output)).expect("JSON output")
    };
    // Within one run: three requests of 2 at once against 5 — exactly two pass.
    assert_eq!(run("three_at_once", &[])["admitted"], 2);
    // Across runs on the same data dir: the 1 token left, then nothing.
    let last = run("take", &[]);
    assert_eq!(last["allowed"], true, "{last}");
    assert_eq!(last["used"], 5, "{last}");
    let denied = run("take", &[]);
    assert_eq!(denied["allowed"], false, "{denied}");
    let retry = denied["retry_after"].as_str().expect("a duration");
    assert!(retry != "0s" && !retry.is_empty(), "{denied}");
    // More than the budget can ever hold is an error at the step, not a denial.
    let output = edgeflow(&[
        "run", fixture, "-w", "take", "--input", "tokens=6", "--data", &data,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("can never be admitted"),
        "{}",
        stderr(&output)
    );
    // Per key: each user has a budget of two, whatever the others used.
    for (user, expected) in [
        ("alice", true),
        ("alice", true),
        ("alice", false),
        ("bob", true),
    ] {
        let input = format!("user={user}");
        assert_eq!(
            run("per_user_take", &[&input])["allowed"],
            expected,
            "{user}"
        );
    }
    // Per edge: the embedded node is one edge, its budget kept across runs as well.
    for expected in [true, true, true, false] {
        assert_eq!(run("local_take", &[])["allowed"], expected);
    }
}

/// `log.emit` lines and the node's own events are JSON on stderr, each inside the
/// span of the step it came from; `EDGEFLOW_LOG` filters them.
#[test]
fn log_lines_are_json_on_stderr_inside_their_step_and_filtered_by_edgeflow_log() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("run-logs");
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("logs.edgeflow");
    std::fs::write(
        &file,
        "workflow noted() {\n  let said = log.emit(message: \"hello\", level: \"warn\", fields: {n: 1})\n  let quiet = log.emit(message: \"detail\", level: \"debug\") after said\n  return said.success\n}\n",
    )
    .expect("written");
    let file = file.to_string_lossy().into_owned();
    let output = edgeflow(&["run", &file, "--ephemeral"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), "true");
    let lines: Vec<serde_json::Value> = stderr(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let said = lines
        .iter()
        .find(|line| line["message"] == "hello")
        .unwrap_or_else(|| panic!("no line says hello: {lines:?}"));
    assert_eq!(said["level"], "WARN");
    assert_eq!(said["fields"], r#"{"n":1}"#);
    assert_eq!(said["span"]["name"], "step");
    assert_eq!(said["span"]["step"], "said");
    assert_eq!(said["span"]["op"], "log.emit");
    assert!(said["span"]["run"]
        .as_str()
        .is_some_and(|run| run.starts_with("run-")));
    // Debug lines show only when asked for.
    assert!(!lines.iter().any(|line| line["message"] == "detail"));
    let verbose = std::process::Command::new(env!("CARGO_BIN_EXE_edgeflow"))
        .args(["run", &file, "--ephemeral"])
        .env("EDGEFLOW_LOG", "debug,openraft=warn")
        .output()
        .expect("edgeflow runs");
    assert!(
        stderr(&verbose).contains(r#""message":"detail""#),
        "{}",
        stderr(&verbose)
    );
}
