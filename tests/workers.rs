//! Worker nodes on a real cluster (`up.sh 3 DIR --workers 2`): registration, heartbeats
//! with metrics, the edge-worker lifecycle (maintenance while steps run, unknown after
//! missed heartbeats, drain, clean shutdown), discovery and selection from live data,
//! and the tokens a worker may and may not use.

mod common;

use common::cluster::Cluster;
use common::http;
use common::simulated::SimulatedWorker;
use common::{stderr, stdout};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The fleet as the registry reports it.
fn fleet(cluster: &Cluster) -> Vec<Value> {
    let listed = cluster.cli(1, &["worker", "list", "--format", "json"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let listed: Value = serde_json::from_str(&stdout(&listed)).expect("JSON");
    listed["nodes"].as_array().cloned().unwrap_or_default()
}

fn state_of(cluster: &Cluster, id: u64) -> String {
    fleet(cluster)
        .iter()
        .find(|n| n["id"] == id)
        .and_then(|n| n["state"].as_str())
        .unwrap_or("absent")
        .to_string()
}

/// Waits until node `id` reads as `wanted` (heartbeats move it there).
fn await_state(cluster: &Cluster, id: u64, wanted: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let state = state_of(cluster, id);
        if state == wanted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "node {id} stayed {state}, not {wanted}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn workers_heartbeat_are_discovered_and_follow_the_lifecycle() {
    let cluster = Cluster::up_with_workers("workers-lifecycle", 3, 2);
    // Both workers are idle and report metrics and a measured latency.
    let nodes = fleet(&cluster);
    for id in [101, 102] {
        let node = nodes.iter().find(|n| n["id"] == id).expect("registered");
        assert_eq!(node["state"], "idle", "{node}");
        assert!(
            node["metrics"]["memory"].as_f64().is_some_and(|m| m > 0.0),
            "{node}"
        );
        assert_eq!(node["labels"]["region"], "lab");
    }
    // Voters report too.
    assert!(nodes.iter().any(|n| n["role"] == "voter"));

    // Discovery, selection and health from live heartbeats.
    let fixture = common::root().join("tests/fixtures/cluster/discover_lab.edgeflow");
    let found = cluster.cli(
        2,
        &[
            "submit",
            &fixture.to_string_lossy(),
            "-w",
            "find_lab",
            "--wait",
            "--format",
            "json",
        ],
    );
    assert!(found.status.success(), "{}", stderr(&found));
    let found: Value = serde_json::from_str(&stdout(&found)).expect("JSON");
    assert_eq!(
        found,
        json!({"count": 2, "picked_lab": true, "w1_status": "idle"})
    );
    // A CPU limit nobody meets fails the step, naming why.
    let strict = cluster.cli(
        2,
        &[
            "submit",
            &fixture.to_string_lossy(),
            "-w",
            "find_lab",
            "-i",
            "max_cpu=-1.0",
            "--wait",
        ],
    );
    assert_eq!(strict.status.code(), Some(1));
    assert!(
        stderr(&strict).contains("no candidate edge qualifies"),
        "{}",
        stderr(&strict)
    );
    // A step placed on a worker runs there.
    let placed = cluster.cli(
        2,
        &[
            "submit",
            &fixture.to_string_lossy(),
            "-w",
            "placed_on_worker",
            "--wait",
            "--format",
            "json",
        ],
    );
    assert!(placed.status.success(), "{}", stderr(&placed));
    assert_eq!(stdout(&placed).trim(), r#"{"ok":true}"#);

    // Maintenance on a real worker with nothing running: request, then mode; off: back.
    let on = cluster.cli(
        1,
        &[
            "worker",
            "maintenance",
            "on",
            "101",
            "--comment",
            "disk swap",
        ],
    );
    assert!(on.status.success(), "{}", stderr(&on));
    await_state(&cluster, 101, "maintenance_mode");
    let off = cluster.cli(1, &["worker", "maintenance", "off", "101"]);
    assert!(off.status.success(), "{}", stderr(&off));
    await_state(&cluster, 101, "idle");

    // Maintenance requested while a step runs waits for it (a simulated worker).
    let sim = SimulatedWorker::register(&cluster, 150, "sim");
    assert_eq!(state_of(&cluster, 150), "offline");
    let transitions = [
        ((1, false, false), None, "starting"),
        ((1, false, false), None, "running"),
        ((1, false, false), Some(true), "maintenance_pending"),
        ((0, false, false), None, "maintenance_mode"),
        ((0, false, false), Some(false), "idle"),
        ((1, true, false), None, "terminating"),
        ((0, false, true), None, "offline"),
    ];
    for ((running, stopping, stopped), maintenance, expected) in transitions {
        if let Some(on) = maintenance {
            let mode = if on { "on" } else { "off" };
            let switched = cluster.cli(1, &["worker", "maintenance", mode, "150"]);
            assert!(switched.status.success(), "{}", stderr(&switched));
            let requested = if on {
                "maintenance_request"
            } else {
                "maintenance_exit"
            };
            assert_eq!(state_of(&cluster, 150), requested);
        }
        let reply = sim.beat(&cluster, 3, running, stopping, stopped);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            reply.json()["state"],
            expected,
            "after ({running}, {stopping}, {stopped})"
        );
    }

    // A worker killed outright reads as unknown once its heartbeats are overdue.
    cluster.signal("w2", "-9");
    await_state(&cluster, 102, "unknown");
    // Drain: the worker finishes and stops by itself, reported offline.
    let drained = cluster.cli(1, &["worker", "drain", "101"]);
    assert!(drained.status.success(), "{}", stderr(&drained));
    await_state(&cluster, 101, "offline");
}

#[test]
fn worker_tokens_are_checked_and_a_removed_worker_is_refused() {
    let cluster = Cluster::up_with_workers("workers-tokens", 3, 1);
    let sim = SimulatedWorker::register(&cluster, 160, "sim");
    assert_eq!(sim.beat(&cluster, 1, 0, false, false).status, 200);
    // A wrong token, or a worker's token used for another worker: refused.
    assert_eq!(
        sim.beat_as(&cluster, 1, 160, "wrong", 0, false, false)
            .status,
        401
    );
    assert_eq!(
        sim.beat_as(&cluster, 1, 101, &sim.token, 0, false, false)
            .status,
        403
    );
    // A worker's token does not administer the cluster.
    let status = http::get(cluster.url(1), "/v1/cluster/status", Some(&sim.token)).expect("answer");
    assert_eq!(status.status, 403, "{}", status.body);
    // It takes and reports only its own steps, and writes only what ops write.
    let call = |method: &str, path: &str, body: &str| {
        http::request(
            cluster.url(2),
            method,
            path,
            Some(&sim.token),
            Some(body.as_bytes()),
        )
        .expect("answer")
    };
    let others = call("GET", "/v1/fleet/101/work?wait_ms=0", "");
    assert_eq!(others.status, 403, "{}", others.body);
    let own = call("GET", "/v1/fleet/160/work?wait_ms=0", "");
    assert_eq!((own.status, own.json()), (200, json!({"work": []})));
    let report =
        r#"{"run_id": "r", "step": "s", "outcome": {"value": {"kind": "none"}}, "attempts": 1}"#;
    assert_eq!(call("POST", "/v1/fleet/101/finished", report).status, 403);
    let unknown_step = call("POST", "/v1/fleet/160/finished", report);
    assert_eq!(
        (unknown_step.status, unknown_step.json()),
        (200, json!({"status": null}))
    );
    let malformed = call("POST", "/v1/fleet/160/finished", r#"{"run_id": 7}"#);
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    let bad_option = call("GET", "/v1/fleet/160/work?after=x", "");
    assert_eq!(bad_option.status, 400, "{}", bad_option.body);
    let op_write =
        r#"{"command": {"op": "put", "ns": "n", "key": "k", "value": 1, "if_version": null}}"#;
    let written = call("POST", "/v1/ops/write", op_write);
    assert_eq!(written.status, 200, "{}", written.body);
    assert_eq!(written.json()["success"], true);
    let not_an_op = r#"{"command": {"op": "drain", "node": 101}}"#;
    let refused = call("POST", "/v1/ops/write", not_an_op);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("not a command an op makes"),
        "{}",
        refused.body
    );
    let read = call(
        "POST",
        "/v1/ops/query",
        r#"{"query": {"get": {"ns": "n", "key": "k"}}, "freshness": "linearizable"}"#,
    );
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["entry"]["value"], 1, "{}", read.body);
    // An edge name another node has is refused.
    let clash = cluster.dir.join("clash.toml");
    std::fs::write(
        &clash,
        format!(
            "id = 170\nedge = \"w1\"\nrole = \"worker\"\ndata_dir = \"d\"\napi_listen = \"127.0.0.1:9\"\n\
             token_file = \"{}\"\n",
            cluster.token_file(1).display()
        ),
    )
    .expect("config");
    let clashing = cluster.cli(1, &["worker", "add", "--config", &clash.to_string_lossy()]);
    assert_eq!(clashing.status.code(), Some(1));
    assert!(
        stderr(&clashing).contains("edge `w1` is node 101"),
        "{}",
        stderr(&clashing)
    );
    // Unknown workers: refused by name, nothing changed.
    let unknown = cluster.cli(1, &["worker", "maintenance", "on", "999"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("no node 999 in the fleet"),
        "{}",
        stderr(&unknown)
    );
    let unknown = cluster.cli(1, &["worker", "remove", "999"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("node 999 is not a registered worker"),
        "{}",
        stderr(&unknown)
    );
    assert_eq!(state_of(&cluster, 999), "absent");
    // Removed: its token is refused and its record is gone.
    let removed = cluster.cli(1, &["worker", "remove", "160"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    // (401 where the node has applied the removal; a node a moment behind still knows
    // the token, and the leader refuses the heartbeat: 403.)
    for via in 1..=3 {
        let refused = sim.beat(&cluster, via, 0, false, false);
        assert!([401, 403].contains(&refused.status), "{refused:?}");
    }
    assert_eq!(state_of(&cluster, 160), "absent");
    // A clean shutdown reads as offline.
    cluster.signal("w1", "-TERM");
    await_state(&cluster, 101, "offline");
}
