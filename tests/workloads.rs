//! Workloads on a real cluster: placed on one member's edge, their records kept in that
//! member's own store (not in Raft), reached through any node — HTTP, the CLI, and
//! `state.*` ops with `ns: "workload:NAME"`, from a voter and from a worker. The digest
//! depends on the records only; records survive a restart of their node; a request for
//! a workload whose node is down says so.

mod common;

use common::cluster::Cluster;
use common::http;
use common::{stderr, stdout};
use serde_json::{json, Value};

/// Fills `name` through node `via` with 3,000 records of 200 bytes from seed 7.
fn fill(cluster: &Cluster, via: u64, name: &str) {
    let args = [
        "workload",
        "fill",
        name,
        "--records",
        "3000",
        "--size",
        "200",
        "--seed",
        "7",
    ];
    let filled = cluster.cli(via, &args);
    assert!(filled.status.success(), "{}", stderr(&filled));
}

fn show(cluster: &Cluster, via: u64, name: &str) -> Value {
    let shown = cluster.cli(via, &["workload", "show", name, "--format", "json"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    serde_json::from_str(&stdout(&shown)).expect("JSON")
}

const ON_A_WORKER: &str = r#"
edges {
  w1 { region: "lab" }
}

workflow write_records() {
  let here = state.put(ns: "workload:cache", key: "from-voter", value: {n: 1})
  let there = state.put(ns: "workload:cache", key: "from-worker", value: {n: 2}) on w1
  let read = state.get(ns: "workload:cache", key: "from-worker") after there
  let listed = state.scan(ns: "workload:cache", prefix: "from-") after here, there
  let gone = state.delete(ns: "workload:cache", key: "from-voter") on w1 after listed
  return { version: here.version, value: read.value, listed: len(listed.items), gone: gone.success }
}
"#;

#[test]
fn a_workload_lives_on_its_edge_and_is_reached_through_any_node() {
    let cluster = Cluster::up_with_workers("workloads", 3, 1);
    let created = cluster.cli(1, &["workload", "create", "cache", "--edge", "node_2"]);
    assert!(created.status.success(), "{}", stderr(&created));
    // Bad input is refused, and nothing is created.
    for (args, says) in [
        (
            &["workload", "create", "cache", "--edge", "node_3"][..],
            "exists already",
        ),
        (
            &["workload", "create", "other", "--edge", "nowhere"][..],
            "no cluster member serves edge `nowhere`",
        ),
        (
            &["workload", "create", "a/b", "--edge", "node_1"][..],
            "not a workload name",
        ),
        (
            &["workload", "show", "missing"][..],
            "no workload `missing`",
        ),
    ] {
        let refused = cluster.cli(1, args);
        assert_eq!(refused.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&refused).contains(says),
            "{args:?}: {}",
            stderr(&refused)
        );
    }

    // Written through node 1, read through node 3: both reach node 2's store.
    let put = cluster.call(
        1,
        "PUT",
        "/v1/workloads/cache/records/k1",
        Some(r#"{"a":1}"#),
    );
    assert_eq!(
        (put.status, put.json()),
        (200, json!({"version": 1})),
        "{}",
        put.body
    );
    let put = cluster.call(
        3,
        "PUT",
        "/v1/workloads/cache/records/k1",
        Some(r#"{"a":2}"#),
    );
    assert_eq!(put.json(), json!({"version": 2}));
    let read = cluster.call(3, "GET", "/v1/workloads/cache/records/k1", None);
    assert_eq!((read.status, read.json()), (200, json!({"a": 2})));
    assert_eq!(read.header("x-edgeflow-version"), Some("2"));
    // A compare-and-set at the wrong version writes nothing.
    let stale = cluster.call(
        1,
        "PUT",
        "/v1/workloads/cache/records/k1?if_version=1",
        Some("3"),
    );
    assert_eq!(stale.status, 409, "{}", stale.body);
    let deleted = cluster.call(3, "DELETE", "/v1/workloads/cache/records/k1", None);
    assert_eq!(deleted.json(), json!({"deleted": true}));
    let missing = cluster.call(1, "GET", "/v1/workloads/cache/records/k1", None);
    assert_eq!(missing.status, 404);
    let not_json = cluster.call(1, "PUT", "/v1/workloads/cache/records/k2", Some("{"));
    assert_eq!(not_json.status, 400);

    // A write sent again with its Idempotency-Key (a client's retry, through another
    // node) is answered as the first time and not applied again.
    let token = cluster.token(1);
    let send = |via: u64, method: &str, id: &str, body: Option<&str>| {
        http::request_with_headers(
            cluster.url(via),
            method,
            "/v1/workloads/cache/records/once",
            Some(&token),
            &[("Idempotency-Key", id)],
            body.map(str::as_bytes),
        )
        .expect("the node answers")
    };
    for via in [1, 3] {
        let put = send(via, "PUT", "put-1", Some("10"));
        assert_eq!((put.status, put.json()), (200, json!({"version": 1})));
    }
    let put = send(1, "PUT", "put-2", Some("20"));
    assert_eq!(put.json(), json!({"version": 2}));
    let again = send(3, "PUT", "put-1", Some("10"));
    assert_eq!(again.json(), json!({"version": 1}));
    let read = cluster.call(1, "GET", "/v1/workloads/cache/records/once", None);
    assert_eq!(
        (read.json(), read.header("x-edgeflow-version")),
        (json!(20), Some("2"))
    );
    for _ in 0..2 {
        let deleted = send(3, "DELETE", "delete-1", None);
        assert_eq!(deleted.json(), json!({"deleted": true}));
    }
    let too_long = "x".repeat(257);
    let refused = send(1, "PUT", &too_long, Some("1"));
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("Idempotency-Key"), "{}", refused.body);

    // Filled through node 3; the same records on another edge give the same digest.
    fill(&cluster, 3, "cache");
    let cache = show(&cluster, 1, "cache");
    assert_eq!(cache["edge"], "node_2");
    assert_eq!(cache["records"], 3000);
    assert_eq!(cache["bytes"], 3000 * (11 + 202));
    assert!(cluster
        .cli(1, &["workload", "create", "copy", "--edge", "node_3"])
        .status
        .success());
    fill(&cluster, 2, "copy");
    let copy = show(&cluster, 2, "copy");
    assert_eq!(copy["digest"], cache["digest"]);
    cluster.call(
        1,
        "PUT",
        "/v1/workloads/copy/records/r0000000001",
        Some("0"),
    );
    assert_ne!(show(&cluster, 1, "copy")["digest"], cache["digest"]);
    let listed = cluster.cli(1, &["workload", "list", "--format", "json"]);
    let listed: Value = serde_json::from_str(&stdout(&listed)).expect("JSON");
    let names: Vec<&str> = listed["workloads"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|w| w["name"].as_str())
        .collect();
    assert_eq!(names, ["cache", "copy"]);

    // Ops reach the records from a voter and from a worker.
    let file = cluster.dir.join("on_worker.edgeflow");
    std::fs::write(&file, ON_A_WORKER).expect("file written");
    let file = file.to_str().expect("path");
    let submitted = cluster.cli(1, &["submit", file, "--wait", "--format", "json"]);
    assert!(submitted.status.success(), "{}", stderr(&submitted));
    let output: Value = serde_json::from_str(&stdout(&submitted)).expect("JSON");
    assert_eq!(
        output,
        json!({"version": 1, "value": {"n": 2}, "listed": 2, "gone": true})
    );
    let kept = cluster.call(3, "GET", "/v1/workloads/cache/records/from-worker", None);
    assert_eq!(kept.json(), json!({"n": 2}));

    // Only a member may send a request on as `forwarded` (to be served where it lands).
    let worker_token = std::fs::read_to_string(cluster.dir.join("w1.token")).expect("token");
    let forged = http::request(
        cluster.url(2),
        "POST",
        "/v1/ops/workload",
        Some(worker_token.trim()),
        Some(br#"{"workload": "cache", "op": "drop", "forwarded": true}"#),
    )
    .expect("node 2 answers");
    assert_eq!(forged.status, 403, "{}", forged.body);
    // Nor may a worker name its write with a step's id that is not its own (the
    // step's own write would be answered as done, and skipped).
    let foreign = http::request(
        cluster.url(2),
        "POST",
        "/v1/ops/workload",
        Some(worker_token.trim()),
        Some(
            br#"{"workload": "cache", "op": "put", "key": "x", "value": 1, "once": "run/step/1"}"#,
        ),
    )
    .expect("node 2 answers");
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    assert_eq!(show(&cluster, 1, "cache")["records"], 3001);

    let cache_now = show(&cluster, 1, "cache");
    // The records are on node 2 only: with it down they cannot be reached (and the
    // answer says so); restarted, it has every one of them.
    cluster.kill(2);
    let down = cluster.call(1, "GET", "/v1/workloads/cache/records/from-worker", None);
    assert_eq!(down.status, 503, "{}", down.body);
    assert!(down.body.contains("cannot be reached"), "{}", down.body);
    cluster.start(2);
    cluster.await_healthy(2);
    // Until it has caught up with the log it answers 503; then it has every record.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let back = loop {
        let shown = cluster.cli(3, &["workload", "show", "cache", "--format", "json"]);
        if shown.status.success() || std::time::Instant::now() > deadline {
            break shown;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(back.status.success(), "{}", stderr(&back));
    let back: Value = serde_json::from_str(&stdout(&back)).expect("JSON");
    assert_eq!(back, cache_now);
    let removed = cluster.cli(1, &["workload", "remove", "copy"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    let gone = cluster.call(3, "GET", "/v1/workloads/copy", None);
    assert_eq!(gone.status, 404);
}
