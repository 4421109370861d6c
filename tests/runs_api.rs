//! Runs on a cluster as a user submits and stops them: `POST /v1/runs` binds inputs
//! exactly as `edgeflow run` does (defaults, types, names — 400 naming the parameter),
//! and `edgeflow runs cancel` stops a run that would otherwise sleep for ever; a run's
//! program is kept while a run uses it and dropped after.

mod common;

use common::cluster::Cluster;
use common::{http, stderr, stdout};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn fixture() -> String {
    common::root()
        .join("tests/fixtures/cluster/runs.edgeflow")
        .to_string_lossy()
        .into_owned()
}

fn show(cluster: &Cluster, run_id: &str) -> Value {
    let shown = cluster.cli(1, &["runs", "show", run_id, "--format", "json"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    serde_json::from_str(&stdout(&shown)).expect("JSON")
}

fn await_status(cluster: &Cluster, run_id: &str, wanted: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let view = show(cluster, run_id);
        if view["status"] == wanted {
            return view;
        }
        assert!(Instant::now() < deadline, "never {wanted}: {view}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_submitted_run_binds_its_inputs_as_edgeflow_run_does() {
    let cluster = Cluster::up("runs-inputs", 1);
    let bundle_file = cluster.dir.join("runs.bundle");
    let compiled = common::edgeflow(&["compile", &fixture(), "-o", &bundle_file.to_string_lossy()]);
    assert!(compiled.status.success(), "{}", stderr(&compiled));
    let bundle: Value =
        serde_json::from_slice(&std::fs::read(&bundle_file).expect("bundle")).expect("JSON");
    let submit = |inputs: Value| {
        let body = json!({"bundle": bundle, "workflow": "typed", "inputs": inputs});
        http::request(
            cluster.url(1),
            "POST",
            "/v1/runs",
            Some(&cluster.token(1)),
            Some(body.to_string().as_bytes()),
        )
        .expect("answer")
    };
    for (inputs, expected) in [
        (json!({}), "missing required input count: int"),
        (json!({"count": "three"}), "input `count`: expected int"),
        (json!({"count": 1.5}), "input `count`: expected int"),
        (json!({"count": 3, "pause": "soon"}), "input `pause`"),
        (json!({"count": 3, "nope": 1}), "has no parameter `nope`"),
    ] {
        let refused = submit(inputs.clone());
        assert_eq!(refused.status, 400, "{inputs}: {}", refused.body);
        assert!(
            refused.body.contains(expected),
            "{inputs}: {}",
            refused.body
        );
    }
    let accepted = submit(json!({"count": 3, "pause": "1ms"}));
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let run_id = accepted.json()["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    let done = await_status(&cluster, &run_id, "succeeded");
    assert_eq!(
        done["output"],
        json!({"count": 3, "label": "default"}),
        "{done}"
    );

    // The CLI sends what `run` would bind, and the cluster binds it again.
    let waited = cluster.cli(
        1,
        &[
            "submit",
            &fixture(),
            "-w",
            "typed",
            "-i",
            "count=4",
            "-i",
            "label=cli",
            "--wait",
            "--format",
            "json",
        ],
    );
    assert!(waited.status.success(), "{}", stderr(&waited));
    let output: Value = serde_json::from_str(stdout(&waited).trim()).expect("JSON");
    assert_eq!(output, json!({"count": 4, "label": "cli"}));
    let missing = cluster.cli(1, &["submit", &fixture(), "-w", "typed"]);
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("missing required input count: int"),
        "{}",
        stderr(&missing)
    );
}

/// A gauge's value in the node's `/metrics`.
fn gauge(cluster: &Cluster, name: &str) -> u64 {
    let metrics = http::get(cluster.url(1), "/metrics", Some(&cluster.token(1))).expect("metrics");
    metrics
        .body
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no gauge {name} in {}", metrics.body))
}

#[test]
fn a_programs_bundle_is_kept_while_a_run_uses_it_and_dropped_after() {
    let cluster = Cluster::up("runs-bundles", 1);
    let submit = |arguments: &[&str]| {
        let fixture = fixture();
        let submitted = cluster.cli(1, &[&["submit", fixture.as_str()], arguments].concat());
        assert!(submitted.status.success(), "{}", stderr(&submitted));
        stdout(&submitted).trim().to_string()
    };
    let sleeping = submit(&["-w", "sleepy"]);
    let quick = submit(&["-w", "typed", "-i", "count=1"]);
    await_status(&cluster, &quick, "succeeded");
    // The sleeping run still uses the program the quick one shared with it.
    assert_eq!(gauge(&cluster, "edgeflow_stored_bundles"), 1);
    assert!(gauge(&cluster, "edgeflow_stored_bundle_bytes") > 1_000);
    let bundle_file = cluster.dir.join("runs.bundle");
    let compiled = common::edgeflow(&["compile", &fixture(), "-o", &bundle_file.to_string_lossy()]);
    assert!(compiled.status.success(), "{}", stderr(&compiled));
    let expected: Value =
        serde_json::from_slice(&std::fs::read(&bundle_file).expect("bundle")).expect("JSON");
    let path = format!("/v1/runs/{sleeping}/bundle");
    let kept = http::get(cluster.url(1), &path, Some(&cluster.token(1))).expect("answer");
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert_eq!(kept.json(), expected);

    let cancelled = cluster.cli(1, &["runs", "cancel", &sleeping]);
    assert!(cancelled.status.success(), "{}", stderr(&cancelled));
    assert_eq!(gauge(&cluster, "edgeflow_stored_bundles"), 0);
    assert_eq!(gauge(&cluster, "edgeflow_stored_bundle_bytes"), 0);
    let dropped = http::get(cluster.url(1), &path, Some(&cluster.token(1))).expect("answer");
    assert_eq!(dropped.status, 404, "{}", dropped.body);
    assert!(
        dropped.body.contains("no longer stored"),
        "{}",
        dropped.body
    );

    // Submitting the program again stores it again.
    let again = submit(&["-w", "typed", "-i", "count=1"]);
    await_status(&cluster, &again, "succeeded");
    assert_eq!(gauge(&cluster, "edgeflow_stored_bundles"), 0);
}

#[test]
fn a_run_can_be_cancelled_and_stays_cancelled() {
    let cluster = Cluster::up("runs-cancel", 3);
    let submitted = cluster.cli(1, &["submit", &fixture(), "-w", "sleepy"]);
    assert!(submitted.status.success(), "{}", stderr(&submitted));
    let run_id = stdout(&submitted).trim().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    while show(&cluster, &run_id)["driver"].is_null() {
        assert!(Instant::now() < deadline, "nobody drives the run");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A second run of the same program is submitted without it (the cluster stores it
    // already): every member decodes that entry and the run completes.
    let second = cluster.cli(3, &["submit", &fixture(), "-w", "typed", "-i", "count=2"]);
    assert!(second.status.success(), "{}", stderr(&second));
    await_status(&cluster, stdout(&second).trim(), "succeeded");
    let cancelled = cluster.cli(2, &["runs", "cancel", &run_id]);
    assert!(cancelled.status.success(), "{}", stderr(&cancelled));
    assert!(
        stderr(&cancelled).contains("cancelled"),
        "{}",
        stderr(&cancelled)
    );
    let view = await_status(&cluster, &run_id, "cancelled");
    assert_eq!(view["error"], "cancelled by an operator", "{view}");
    // Cancelled is final: a second cancel says so, the step after the sleep never ran,
    // and no node claims the run again.
    let again = cluster.cli(1, &["runs", "cancel", &run_id]);
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already ended: cancelled"),
        "{}",
        stderr(&again)
    );
    let unknown = cluster.cli(1, &["runs", "cancel", "run-that-never-was"]);
    assert_eq!(unknown.status.code(), Some(1), "{}", stderr(&unknown));
    assert!(
        stderr(&unknown).contains("no run `run-that-never-was`"),
        "{}",
        stderr(&unknown)
    );
    // The driver gives the run up at its next renewal (a third of its 3 s lease), and
    // says why.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(1..=3).any(|id| {
        std::fs::read_to_string(cluster.dir.join(format!("{id}.log")))
            .unwrap_or_default()
            .contains("the run was cancelled")
    }) {
        assert!(
            Instant::now() < deadline,
            "the driver never stopped the run"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let view = show(&cluster, &run_id);
    assert_eq!(view["status"], "cancelled", "{view}");
    assert!(view["steps"].get("noted").is_none(), "{view}");
    let local = common::edgeflow(&["runs", "cancel", &run_id]);
    assert_eq!(local.status.code(), Some(2));
    assert!(
        stderr(&local).contains("give --cluster"),
        "{}",
        stderr(&local)
    );
}

#[test]
fn a_run_of_thousands_of_parallel_steps_does_not_stall_other_clients() {
    let cluster = Cluster::up("runs-wide", 3);
    let steps = 2_000;
    let mut text = String::from("workflow wide() -> { count: int } {\n");
    for i in 0..steps {
        text.push_str(&format!("  let s{i} = log.emit(message: \"step {i}\")\n"));
    }
    let all: Vec<String> = (0..steps).map(|i| format!("s{i}")).collect();
    text.push_str(&format!(
        "  let last = log.emit(message: \"done\") after {}\n  return {{ count: {steps} }}\n}}\n",
        all.join(", ")
    ));
    let file = cluster.dir.join("wide.edgeflow");
    std::fs::write(&file, text).expect("fixture");
    let (url, token_file) = (cluster.url(1).to_string(), cluster.token_file(1));
    let file_arg = file.to_string_lossy().into_owned();
    let run = std::thread::spawn(move || {
        std::process::Command::new(common::bin())
            .args([
                "submit",
                &file_arg,
                "--wait",
                "--format",
                "json",
                "--cluster",
                &url,
            ])
            .arg("--token-file")
            .arg(&token_file)
            .output()
            .expect("submit runs")
    });
    // Meanwhile, another client's writes through a follower still go through promptly.
    let mut slowest = Duration::ZERO;
    let mut writes = 0;
    while !run.is_finished() && writes < 200 {
        let started = Instant::now();
        let reply = cluster.put(2, "other", &format!("k{writes}"), "1");
        assert_eq!(reply.status, 200, "{}", reply.body);
        slowest = slowest.max(started.elapsed());
        writes += 1;
    }
    let output = run.join().expect("submit thread");
    assert!(output.status.success(), "{}", stderr(&output));
    let answer: Value = serde_json::from_str(stdout(&output).trim()).expect("JSON");
    assert_eq!(answer, json!({"count": steps}));
    assert!(writes > 0, "the run ended before any other write was made");
    assert!(
        slowest < Duration::from_secs(2),
        "a write waited {slowest:?} while the run went on"
    );
}
