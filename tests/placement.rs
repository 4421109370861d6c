//! Steps placed on other nodes, on real clusters of processes: by edge name, on a label
//! selector and a compliance set (ops on the worker reach the cluster through its API);
//! an edge no live node serves (the step waits, visibly, then fails naming its
//! placement); no new steps in maintenance; a worker killed mid-step (the step moves to
//! another node, the run completes); a worker cut off mid-step (its outcome arrives from
//! its outbox when it reconnects, or when it restarts after dying cut off; the step is
//! not run again).

mod common;

use common::cluster::Cluster;
use common::gate::Gate;
use common::{stderr, stdout};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn fixture() -> String {
    common::root()
        .join("tests/fixtures/cluster/placement.edgeflow")
        .to_string_lossy()
        .into_owned()
}

/// Submits a workflow of the fixture without waiting; the run id.
fn submit(cluster: &Cluster, workflow: &str, inputs: &[&str]) -> String {
    let fixture = fixture();
    let mut args = vec!["submit", fixture.as_str(), "-w", workflow];
    for input in inputs {
        args.extend(["-i", input]);
    }
    let submitted = cluster.cli(1, &args);
    assert!(submitted.status.success(), "{}", stderr(&submitted));
    stdout(&submitted).trim().to_string()
}

fn show(cluster: &Cluster, run_id: &str) -> Value {
    let shown = cluster.cli(2, &["runs", "show", run_id, "--format", "json"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    serde_json::from_str(&stdout(&shown)).expect("JSON")
}

/// Waits until `runs show` of the run satisfies `wanted`; the last view.
fn await_run(
    cluster: &Cluster,
    run_id: &str,
    what: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let view = show(cluster, run_id);
        if wanted(&view) {
            return view;
        }
        assert!(Instant::now() < deadline, "{what}: {view}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn finished(view: &Value) -> bool {
    view["status"] != "running"
}

fn log_lines(cluster: &Cluster, name: &str, containing: &str) -> usize {
    std::fs::read_to_string(cluster.dir.join(format!("{name}.log")))
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains(containing))
        .count()
}

fn state_of(cluster: &Cluster, id: u64) -> String {
    let listed = cluster.cli(1, &["worker", "list", "--format", "json"]);
    let listed: Value = serde_json::from_str(&stdout(&listed)).expect("JSON");
    listed["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["id"] == id).cloned())
        .and_then(|n| n["state"].as_str().map(str::to_string))
        .unwrap_or_default()
}

fn await_state(cluster: &Cluster, id: u64, wanted: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while state_of(cluster, id) != wanted {
        assert!(Instant::now() < deadline, "node {id} is not {wanted}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn placed_steps_run_where_their_placement_says() {
    let cluster = Cluster::up_with_workers("placement", 3, 2);
    cluster.add_worker(
        103,
        "site",
        "region = \"eu\"\ncompliance = [\"gdpr\"]",
        None,
    );
    await_state(&cluster, 103, "idle");

    let run = submit(&cluster, "placed", &[]);
    let view = await_run(&cluster, &run, "the run finishes", finished);
    assert_eq!(view["status"], "succeeded", "{view}");
    assert_eq!(
        view["output"],
        json!({"w1": "idle", "version": 1, "lab": 2, "gdpr": ["site"]})
    );
    let ran_on = |step: &str| view["steps"][step]["ran_on"].clone();
    assert_eq!(ran_on("health"), "w1", "by edge name");
    assert_eq!(ran_on("put"), "w2");
    assert!(
        ran_on("labeled") == "w1" || ran_on("labeled") == "w2",
        "on the label selector: {view}"
    );
    assert_eq!(ran_on("compliant"), "site", "on the compliance set");
    assert_eq!(
        ran_on("lab"),
        Value::Null,
        "unplaced steps run on the driver"
    );
    // The write the op on w2 made through the API is in the replicated state.
    let written = cluster.get(3, "placed", "k", false);
    assert_eq!(written.json()["value"], "from w2", "{}", written.body);

    // Steps placed on voters: each runs on its voter, the driver's own one in place.
    let run = submit(&cluster, "on_voters", &[]);
    let view = await_run(&cluster, &run, "the run finishes", finished);
    assert_eq!(view["output"], json!({"ok": true}), "{view}");
    let driver = format!("node_{}", view["driver"]["node"]);
    for (step, edge) in [("a", "node_1"), ("b", "node_2"), ("c", "node_3")] {
        let expected = if edge == driver {
            Value::Null
        } else {
            json!(edge)
        };
        assert_eq!(view["steps"][step]["ran_on"], expected, "{view}");
    }

    // An edge no live node serves: the step waits, visibly, then fails naming it.
    let run = submit(&cluster, "nowhere", &["wait=2s"]);
    let waiting = await_run(&cluster, &run, "the step waits", |v| {
        v["placed"]["noted"]["status"] == "waiting" || finished(v)
    });
    assert_eq!(waiting["status"], "running", "{waiting}");
    let failed = await_run(&cluster, &run, "the run fails", finished);
    assert_eq!(failed["status"], "failed");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("step `noted`")
            && error.contains("placed on w9, and no live node there took it within 2s"),
        "{error}"
    );

    // No new steps for a node in maintenance: the step waits until it ends.
    let on = cluster.cli(1, &["worker", "maintenance", "on", "101"]);
    assert!(on.status.success(), "{}", stderr(&on));
    await_state(&cluster, 101, "maintenance_mode");
    let run = submit(&cluster, "only_w1", &[]);
    await_run(
        &cluster,
        &run,
        "the step waits for maintenance to end",
        |v| v["placed"]["noted"]["status"] == "waiting",
    );
    let off = cluster.cli(1, &["worker", "maintenance", "off", "101"]);
    assert!(off.status.success(), "{}", stderr(&off));
    let done = await_run(&cluster, &run, "the run finishes", finished);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["steps"]["noted"]["ran_on"], "w1");

    // A step failing on its worker fails the run with the worker's error.
    let run = submit(&cluster, "failing_on_w1", &[]);
    let failed = await_run(&cluster, &run, "the run fails", finished);
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("step `health`") && error.contains("edge `w9` is not in the fleet registry"),
        "{error}"
    );

    // Fleet metrics: 5 placed steps succeeded on the workers, 1 failed, heartbeats timed.
    let run = submit(&cluster, "worker_metrics", &[]);
    let view = await_run(&cluster, &run, "the run finishes", finished);
    let metrics = &view["output"];
    let error_rate = metrics["error_rate"].as_f64().unwrap_or(-1.0);
    let throughput = metrics["throughput"].as_f64().unwrap_or(-1.0);
    assert!((error_rate - 1.0 / 6.0).abs() < 1e-9, "{view}");
    assert!((throughput - 6.0 / 300.0).abs() < 1e-9, "{view}");
    let latency = metrics["latency_p99"].as_str().unwrap_or("0s");
    assert_ne!(latency, "0s", "measured heartbeat round trips: {view}");

    // Maintenance requested while a placed step runs: pending until it finishes.
    let run = submit(&cluster, "slow_on_w2", &["pause=2s"]);
    await_run(&cluster, &run, "the step is assigned", |v| {
        v["placed"]["waited"]["status"] == "assigned"
    });
    await_state(&cluster, 102, "running");
    let on = cluster.cli(1, &["worker", "maintenance", "on", "102"]);
    assert!(on.status.success(), "{}", stderr(&on));
    await_state(&cluster, 102, "maintenance_pending");
    let done = await_run(&cluster, &run, "the run finishes", finished);
    assert_eq!(done["steps"]["waited"]["ran_on"], "w2", "{done}");
    await_state(&cluster, 102, "maintenance_mode");
    let off = cluster.cli(1, &["worker", "maintenance", "off", "102"]);
    assert!(off.status.success(), "{}", stderr(&off));
    await_state(&cluster, 102, "idle");

    // Drained while a placed step runs: it finishes the step, then stops.
    let run = submit(&cluster, "slow_on_w2", &["pause=2s"]);
    await_run(&cluster, &run, "the step is assigned", |v| {
        v["placed"]["waited"]["status"] == "assigned"
    });
    let drained = cluster.cli(1, &["worker", "drain", "102"]);
    assert!(drained.status.success(), "{}", stderr(&drained));
    await_state(&cluster, 102, "terminating");
    let done = await_run(&cluster, &run, "the run finishes", finished);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["steps"]["waited"]["ran_on"], "w2", "{done}");
    await_state(&cluster, 102, "offline");
}

#[test]
fn a_worker_killed_mid_step_hands_the_step_to_another() {
    let cluster = Cluster::up_with_workers("placement-killed", 3, 2);
    let run = submit(&cluster, "slow_on_lab", &["pause=3s"]);
    let running = await_run(&cluster, &run, "the step is assigned", |v| {
        v["placed"]["waited"]["status"] == "assigned"
    });
    let holder = running["placed"]["waited"]["edge"]
        .as_str()
        .expect("an edge")
        .to_string();
    let other = if holder == "w1" { "w2" } else { "w1" };
    cluster.signal(&holder, "-9");

    let done = await_run(&cluster, &run, "the run finishes", finished);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["steps"]["waited"]["ran_on"], other, "{done}");
    assert_eq!(
        done["steps"]["put"]["ran_on"], other,
        "the dead node takes nothing new"
    );
    assert_eq!(done["output"], json!({"slept": true, "version": 1}));
}

/// Waits until the site's log has `count` lines saying it kept an outcome.
fn await_kept(cluster: &Cluster, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while log_lines(cluster, "103", "kept a placed step's outcome in the outbox") < count {
        assert!(
            Instant::now() < deadline,
            "the site did not finish the step"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Submits `at_site`, waits until the site holds the step, and cuts the site off.
fn cut_off_mid_step(cluster: &Cluster, uplink: &Gate) -> String {
    let run = submit(cluster, "at_site", &["pause=2s"]);
    await_run(cluster, &run, "the step is assigned", |v| {
        v["placed"]["waited"]["status"] == "assigned"
    });
    uplink.cut();
    await_state(cluster, 103, "unknown");
    run
}

#[test]
fn a_worker_cut_off_mid_step_delivers_its_outcome_when_it_reconnects() {
    let cluster = Cluster::up_with_workers("placement-cut-off", 3, 1);
    let uplink = Gate::default();
    cluster.add_worker(103, "site", "region = \"eu\"", Some(&uplink));
    await_state(&cluster, 103, "idle");

    // The cluster loses the site; the site finishes the step and keeps its outcome.
    let run = cut_off_mid_step(&cluster, &uplink);
    await_kept(&cluster, 1);
    let meanwhile = show(&cluster, &run);
    assert_eq!(meanwhile["status"], "running", "{meanwhile}");
    assert_eq!(
        meanwhile["placed"]["waited"]["status"], "waiting",
        "{meanwhile}"
    );
    uplink.reconnect();
    let done = await_run(&cluster, &run, "the run finishes", finished);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["steps"]["waited"]["ran_on"], "site");
    assert_eq!(done["output"], json!({"slept": true}));
    let ran = log_lines(&cluster, "103", "running a placed step");
    assert_eq!(ran, 1, "the step ran once");
    assert_eq!(
        log_lines(&cluster, "103", "delivered a placed step's outcome"),
        1
    );

    // Cut off again, and the site's process dies with the outcome undelivered: the
    // restarted worker delivers it from its outbox, without running the step again.
    let run = cut_off_mid_step(&cluster, &uplink);
    await_kept(&cluster, 2);
    cluster.kill(103);
    uplink.reconnect();
    cluster.start(103);
    let done = await_run(&cluster, &run, "the run finishes", finished);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["steps"]["waited"]["ran_on"], "site");
    let ran = log_lines(&cluster, "103", "running a placed step");
    assert_eq!(ran, 2, "each run's step ran once");
    assert_eq!(
        log_lines(&cluster, "103", "delivered a placed step's outcome"),
        2
    );
}
