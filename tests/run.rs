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
fn an_op_without_its_subsystem_fails_the_run_at_its_step() {
    let data = data_dir("unavailable");
    let output = edgeflow(&["run", "examples/migration_live.edgeflow", "--data", &data]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("examples/migration_live.edgeflow:"),
        "{message}"
    );
    assert!(
        message.contains("not available in this runtime yet"),
        "{message}"
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn listing_runs_says_it_is_not_available_yet() {
    let output = edgeflow(&["runs"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("not available yet"));
}
