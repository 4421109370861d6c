//! The cluster tried as an attacker would (issue: harden the cluster). Each test plays a
//! peer or a caller that should be refused — a removed member, a member's connection
//! speaking for another node, a stranger sending a huge hello, a worker forging another
//! worker's results or poisoning idempotency keys, a worker relabelling itself — against
//! real `edgeflow node` processes, and checks both the refusal and that nothing changed.

mod common;

use common::cluster::Cluster;
use common::raft_wire::RaftWire;
use common::simulated::SimulatedWorker;
use common::{http, stderr, stdout};
use edgeflow_runtime::network::wire::{
    self, Answer, Call, Envelope, Hello, HelloReply, RemoteError,
};
use edgeflow_runtime::raft_types::Vote;
use openraft::raft::VoteRequest;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn hello(from: u64, token: &str) -> Hello {
    Hello {
        version: wire::PROTOCOL_VERSION,
        from,
        token: token.to_string(),
    }
}

/// Sends a vote request for `candidate` at `term` on a welcomed connection; the answer.
fn vote(raw: &mut RaftWire, id: u64, term: u64, candidate: u64) -> Option<Answer> {
    let call = Call::Vote(VoteRequest::new(Vote::new(term, candidate), None));
    raw.send(&wire::encode(&Envelope { id, body: call }));
    let frame = raw.receive()?;
    let envelope: Envelope<Answer> = wire::decode(&frame).expect("an envelope");
    assert_eq!(envelope.id, id);
    Some(envelope.body)
}

fn refusal(answer: Option<Answer>) -> String {
    match answer {
        Some(Answer::Failed(RemoteError::Refused(reason))) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_removed_member_loses_its_keys_on_the_api_and_the_raft_port() {
    let cluster = Cluster::up("adversarial-removed", 3);
    let removed_token = cluster.token(3);
    // A connection node 3 opened while it was a member.
    let mut open_before = RaftWire::open(&cluster, 1);
    assert_eq!(
        open_before.hello_reply(&hello(3, &removed_token)),
        HelloReply::Welcome
    );
    let removed = cluster.cli(1, &["cluster", "remove", "3"]);
    assert!(removed.status.success(), "{}", stderr(&removed));

    // The API: node 3's token is a stranger's on every remaining node.
    for via in [1, 2] {
        let shrink = http::request(
            cluster.url(via),
            "POST",
            "/v1/cluster/remove",
            Some(&removed_token),
            Some(br#"{"ids": [2]}"#),
        )
        .expect("answer");
        assert_eq!(shrink.status, 401, "node {via}: {}", shrink.body);
        let read =
            http::get(cluster.url(via), "/v1/state/t/k", Some(&removed_token)).expect("answer");
        assert_eq!(read.status, 401, "node {via}: {}", read.body);
    }
    // The Raft port: a new hello is rejected, and the connection opened before is
    // refused at its next call and closed.
    let mut raw = RaftWire::open(&cluster, 1);
    match raw.hello_reply(&hello(3, &removed_token)) {
        HelloReply::Rejected(reason) => assert!(reason.contains("not node 3's token"), "{reason}"),
        HelloReply::Welcome => panic!("a removed member was welcomed"),
    }
    let reason = refusal(vote(&mut open_before, 1, 5_000, 3));
    assert!(reason.contains("not a member"), "{reason}");
    assert!(open_before.receive().is_none(), "the connection is closed");

    // The two remaining voters still form the cluster, at a sane term.
    let status = cluster.status(1).expect("status");
    let voters: Vec<u64> = status["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter(|m| m["role"] == "voter")
        .filter_map(|m| m["id"].as_u64())
        .collect();
    assert_eq!(voters, vec![1, 2], "{status}");
    assert!(status["term"].as_u64().expect("term") < 100, "{status}");
}

#[test]
fn a_raft_connection_speaks_only_for_its_own_node_and_absurd_terms_are_refused() {
    let cluster = Cluster::up("adversarial-raft-identity", 3);
    let leader = cluster.leader_among(&[1, 2, 3]);
    let (speaker, target) = match leader {
        1 => (2, 3),
        2 => (3, 1),
        _ => (1, 2),
    };
    let term_before = cluster.status(leader).expect("status")["term"]
        .as_u64()
        .expect("term");
    let mut raw = RaftWire::open(&cluster, target);
    assert_eq!(
        raw.hello_reply(&hello(speaker, &cluster.token(speaker))),
        HelloReply::Welcome
    );
    // Node `speaker`'s connection campaigning for the leader: refused.
    let reason = refusal(vote(&mut raw, 1, 5_000, leader));
    assert!(
        reason.contains(&format!("sent a call as node {leader}")),
        "{reason}"
    );
    // For itself, but at terms no election reaches: refused, the connection stays.
    for (id, term) in [
        (2, u64::MAX - 1),
        (3, term_before + 1_000_001),
        (4, 1 << 62),
    ] {
        let reason = refusal(vote(&mut raw, id, term, speaker));
        assert!(
            reason.contains(&format!("term {term} is refused")),
            "{reason}"
        );
    }
    // The cluster kept its leader and its term.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(cluster.leader_among(&[1, 2, 3]), leader);
    let term_after = cluster.status(leader).expect("status")["term"]
        .as_u64()
        .expect("term");
    assert_eq!(term_after, term_before);
    assert_eq!(
        cluster.put(target, "t", "k", "\"still writable\"").status,
        200
    );
}

/// Resident memory of a process, in bytes.
fn resident_bytes(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS")
        * 1024
}

#[test]
fn a_stranger_cannot_make_a_node_buffer_a_large_hello() {
    let cluster = Cluster::up("adversarial-big-hello", 1);
    let pid = std::fs::read_to_string(cluster.dir.join("1.pid")).expect("pid");
    let before = resident_bytes(&pid);
    let chunk = vec![0x42u8; 1024 * 1024];
    for _ in 0..20 {
        let mut raw = RaftWire::open(&cluster, 1);
        raw.0
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        // A "hello" announcing 60 MiB, and 3 MiB of it.
        let _ = raw.0.write_all(&(60u32 * 1024 * 1024).to_be_bytes());
        for _ in 0..3 {
            let _ = raw.0.write_all(&chunk);
        }
        // The node closes the connection at once (well before its hello timeout).
        let mut byte = [0u8; 1];
        match raw.0.read(&mut byte) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("the connection is still open: {other:?}"),
        }
    }
    let grown = resident_bytes(&pid).saturating_sub(before);
    assert!(
        grown < 20 * 1024 * 1024,
        "the node grew by {grown} bytes buffering hellos"
    );
    assert_eq!(cluster.put(1, "t", "k", "1").status, 200);
}

fn fixture() -> String {
    common::root()
        .join("tests/fixtures/cluster/adversarial.edgeflow")
        .to_string_lossy()
        .into_owned()
}

fn worker_token(cluster: &Cluster, name: &str) -> String {
    std::fs::read_to_string(cluster.dir.join(format!("{name}.token")))
        .expect("worker token")
        .trim()
        .to_string()
}

fn call(cluster: &Cluster, token: &str, method: &str, path: &str, body: &Value) -> http::Reply {
    http::request(
        cluster.url(1),
        method,
        path,
        Some(token),
        Some(body.to_string().as_bytes()),
    )
    .expect("answer")
}

fn put_result(version: i64) -> Value {
    json!({"value": {"kind": "record", "value": [
        ["success", {"kind": "bool", "value": true}],
        ["version", {"kind": "int", "value": version}]
    ]}})
}

#[test]
fn a_worker_can_neither_finish_nor_key_another_workers_step() {
    let cluster = Cluster::up_with_workers("adversarial-forgery", 1, 1);
    let sim = SimulatedWorker::register(&cluster, 160, "sim");
    // Starting, then idle: it takes work.
    for _ in 0..2 {
        assert_eq!(sim.beat(&cluster, 1, 0, false, false).status, 200);
    }
    let fixture = fixture();
    let submitted = cluster.cli(1, &["submit", &fixture, "-w", "on_sim"]);
    assert!(submitted.status.success(), "{}", stderr(&submitted));
    let run_id = stdout(&submitted).trim().to_string();
    let work = sim.take_work(&cluster, 1, 10_000);
    assert_eq!(work.len(), 1, "{work:?}");
    let seq = work[0]["seq"].as_u64().expect("seq");
    let step = work[0]["work"]["step"].as_str().expect("step").to_string();
    assert_eq!(work[0]["work"]["run_id"], run_id.as_str());
    let w1 = worker_token(&cluster, "w1");

    // w1 reports sim's step as its own: refused, whatever epoch it names.
    let report = |seq: u64, outcome: Value| json!({"run_id": run_id, "step": step, "seq": seq, "outcome": outcome, "attempts": 1});
    for epoch in [seq, 0, seq + 1] {
        let forged = call(
            &cluster,
            &w1,
            "POST",
            "/v1/fleet/101/finished",
            &report(epoch, put_result(666)),
        );
        assert_eq!(forged.status, 409, "{}", forged.body);
        assert!(
            forged.body.contains("assigned to node 160"),
            "{}",
            forged.body
        );
    }
    // w1 keys a write with sim's step: refused before it reaches the log.
    let key = format!("{run_id}/{step}/1");
    let put = |value: &str| {
        json!({"command": {"op": "put", "ns": "forged", "key": "k", "value": value, "if_version": null},
               "idempotency_key": key})
    };
    let poisoned = call(&cluster, &w1, "POST", "/v1/ops/write", &put("poison"));
    assert_eq!(poisoned.status, 403, "{}", poisoned.body);
    assert!(
        poisoned.body.contains("not one of a step assigned"),
        "{}",
        poisoned.body
    );
    let record = json!({"command": {"op": "put", "ns": "forged", "key": "k", "value": 1, "if_version": null},
                        "idempotency_key": format!("{run_id}/record/finish")});
    let poisoned = call(&cluster, &w1, "POST", "/v1/ops/write", &record);
    assert_eq!(poisoned.status, 403, "{}", poisoned.body);

    // sim's own key works once; the same key for another command is refused.
    let made = call(
        &cluster,
        &sim.token,
        "POST",
        "/v1/ops/write",
        &put("from sim"),
    );
    assert_eq!(made.status, 200, "{}", made.body);
    assert_eq!(made.json()["version"], 1);
    let replayed = call(
        &cluster,
        &sim.token,
        "POST",
        "/v1/ops/write",
        &put("from sim"),
    );
    assert_eq!(
        replayed.json()["version"],
        1,
        "a replay answers the first response"
    );
    let other = call(
        &cluster,
        &sim.token,
        "POST",
        "/v1/ops/write",
        &put("something else"),
    );
    assert_eq!(other.status, 409, "{}", other.body);
    assert!(
        other.body.contains("used for another command"),
        "{}",
        other.body
    );

    // sim itself: an assignment never made is refused; the current one stands.
    for never_made in [0, seq + 1] {
        let refused = call(
            &cluster,
            &sim.token,
            "POST",
            "/v1/fleet/160/finished",
            &report(never_made, put_result(1)),
        );
        assert_eq!(refused.status, 409, "{}", refused.body);
        assert!(refused.body.contains("never made"), "{}", refused.body);
    }
    let genuine = call(
        &cluster,
        &sim.token,
        "POST",
        "/v1/fleet/160/finished",
        &report(seq, put_result(1)),
    );
    assert_eq!(genuine.status, 200, "{}", genuine.body);
    let deadline = Instant::now() + Duration::from_secs(20);
    let view = loop {
        let shown = cluster.cli(1, &["runs", "show", &run_id, "--format", "json"]);
        let view: Value = serde_json::from_str(&stdout(&shown)).expect("JSON");
        if view["status"] != "running" {
            break view;
        }
        assert!(Instant::now() < deadline, "the run never finished: {view}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(view["status"], "succeeded", "{view}");
    assert_eq!(view["output"], json!({"version": 1}), "{view}");
    assert_eq!(
        cluster.get(1, "forged", "k", false).json()["value"],
        "from sim"
    );
}

#[test]
fn workers_cannot_relabel_themselves_or_report_impossible_metrics_and_hashes_stay_home() {
    let cluster = Cluster::up_with_workers("adversarial-labels", 1, 1);
    let sim = SimulatedWorker::register(&cluster, 160, "sim");
    let beat = |labels: Value, metrics: Value, latency: Value| {
        let body = json!({
            "edge": "sim", "api": "http://127.0.0.1:9", "heartbeat_interval_ms": 10_000,
            "labels": labels,
            "beat": {"running": 0, "metrics": metrics, "latency_ms": latency,
                     "stopping": false, "stopped": false}
        });
        call(
            &cluster,
            &sim.token,
            "POST",
            "/v1/fleet/160/heartbeat",
            &body,
        )
    };
    let sane = json!({"cpu": 0.5, "memory": 0.25, "disk": 0.1, "load": 1.0});
    // Labels in a heartbeat do not change what the operator registered.
    let relabelled = beat(
        json!({"region": "eu", "compliance": ["gdpr", "hipaa"]}),
        sane.clone(),
        json!(2.0),
    );
    assert_eq!(relabelled.status, 200, "{}", relabelled.body);
    // Impossible figures are refused, naming the field.
    for (metrics, latency, field) in [
        (
            json!({"cpu": -100.0, "memory": 0.25, "disk": 0.1, "load": 1.0}),
            json!(2.0),
            "metrics.cpu",
        ),
        (
            json!({"cpu": 0.5, "memory": 1.5, "disk": 0.1, "load": 1.0}),
            json!(2.0),
            "metrics.memory",
        ),
        (
            json!({"cpu": 0.5, "memory": 0.25, "disk": 0.1, "load": -1.0}),
            json!(2.0),
            "metrics.load",
        ),
        (sane.clone(), json!(-5.0), "latency_ms"),
    ] {
        let refused = beat(json!({"region": "sim"}), metrics, latency);
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(refused.body.contains(field), "{}", refused.body);
    }
    let fleet = http::get(cluster.url(1), "/v1/fleet", Some(&cluster.token(1))).expect("fleet");
    let record = fleet.json()["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["id"] == 160)
        .cloned()
        .expect("sim in the fleet");
    assert_eq!(record["labels"]["region"], "sim", "{record}");
    assert_eq!(record["labels"]["compliance"], json!([]), "{record}");
    assert_eq!(record["metrics"]["cpu"], 0.5, "{record}");
    // Token hashes never leave the node, whoever asks.
    for token in [
        sim.token.clone(),
        worker_token(&cluster, "w1"),
        cluster.token(1),
    ] {
        let query = call(
            &cluster,
            &token,
            "POST",
            "/v1/ops/query",
            &json!({"query": "fleet", "freshness": "linearizable"}),
        );
        assert_eq!(query.status, 200, "{}", query.body);
        assert!(!query.body.contains("token_sha256\":\""), "{}", query.body);
        let fleet = http::get(cluster.url(1), "/v1/fleet", Some(&token)).expect("fleet");
        assert!(!fleet.body.contains("token_sha256"), "{}", fleet.body);
    }
}

/// A token the matrix tries, and what it is.
struct Kind {
    name: String,
    token: Option<String>,
    /// What the route table should let it do: `None` for a token nobody knows.
    caller: Option<Who>,
}

#[derive(Clone, Copy, PartialEq)]
enum Who {
    Member,
    /// Worker 101, whose id the sample paths name.
    Worker,
    /// Worker 160, another worker.
    OtherWorker,
    Client(edgeflow_runtime::tokens::Scope),
}

/// A request for a route that changes nothing whoever is let through (unknown ids,
/// malformed bodies, a scratch namespace).
fn sample(method: &str, route: &str) -> (String, String) {
    let path = match route {
        route if route.contains("{run_id}") => route.replace("{run_id}", "no-such-run"),
        "/v1/workers/{id}" => "/v1/workers/999".to_string(),
        "/v1/tokens/{id}" => "/v1/tokens/no-such-token".to_string(),
        route if route.starts_with("/v1/migrations/{id}") => {
            route.replace("{id}", "no-such-migration")
        }
        route if route.contains("{name}") => route
            .replace("{name}", "no-such-name")
            .replace("{key}", "k"),
        route if route.contains("{policy}") => route.replace("{policy}", "no-such-policy"),
        "/v1/state/{namespace}/{key}" => "/v1/state/matrix/k".to_string(),
        "/v1/fleet/{id}/work" => "/v1/fleet/101/work?wait_ms=0".to_string(),
        route if route.starts_with("/v1/fleet/{id}/") => route.replace("{id}", "101"),
        route => route.to_string(),
    };
    let path = match (method, path.as_str()) {
        ("POST", "/v1/fleet/101/maintenance" | "/v1/fleet/101/drain") => path.replace("101", "999"),
        _ => path,
    };
    let body = match (method, route) {
        ("POST", "/v1/cluster/remove" | "/v1/cluster/promote") => r#"{"ids": [99]}"#,
        ("POST", "/v1/fleet/{id}/maintenance") => r#"{"on": false}"#,
        ("PUT", _) => "1",
        ("POST", _) => r#"{"not": "what the route takes"}"#,
        _ => "",
    };
    (path, body.to_string())
}

fn create_token(cluster: &Cluster, args: &[&str]) -> String {
    let mut all = vec!["token", "create"];
    all.extend(args);
    let created = cluster.cli(1, &all);
    assert!(created.status.success(), "{}", stderr(&created));
    let token = stdout(&created).trim().to_string();
    assert_eq!(token.len(), 64, "the token alone on stdout: {token}");
    token
}

#[test]
fn every_route_decides_for_every_kind_of_token() {
    use edgeflow_runtime::api::auth::{Access, ROUTES};
    use edgeflow_runtime::tokens::Scope;
    let cluster = Cluster::up_with_workers("adversarial-matrix", 3, 1);
    let other = SimulatedWorker::register(&cluster, 160, "sim");
    let removed_token = cluster.token(3);
    let removed = cluster.cli(1, &["cluster", "remove", "3"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    let every_scope = [
        "--scope",
        "submit",
        "--scope",
        "state:read",
        "--scope",
        "state:write",
        "--scope",
        "ratelimit",
        "--scope",
        "events",
    ];
    let revoked = create_token(&cluster, &every_scope);
    let listed = cluster.cli(1, &["token", "list", "--format", "json"]);
    let listed: Value = serde_json::from_str(&stdout(&listed)).expect("JSON");
    let revoked_id = listed["tokens"][0]["id"].as_str().expect("id").to_string();
    assert!(!listed
        .to_string()
        .contains(&edgeflow_runtime::member::token_sha256(&revoked)));
    let revoke = cluster.cli(1, &["token", "revoke", &revoked_id]);
    assert!(revoke.status.success(), "{}", stderr(&revoke));
    let mut expiring_args = every_scope.to_vec();
    expiring_args.extend(["--expires", "1s"]);
    let expired = create_token(&cluster, &expiring_args);

    let mut kinds = vec![
        Kind {
            name: "none".into(),
            token: None,
            caller: None,
        },
        Kind {
            name: "wrong".into(),
            token: Some("x".repeat(64)),
            caller: None,
        },
        Kind {
            name: "member".into(),
            token: Some(cluster.token(2)),
            caller: Some(Who::Member),
        },
        Kind {
            name: "removed member".into(),
            token: Some(removed_token),
            caller: None,
        },
        Kind {
            name: "worker".into(),
            token: Some(worker_token(&cluster, "w1")),
            caller: Some(Who::Worker),
        },
        Kind {
            name: "other worker".into(),
            token: Some(other.token.clone()),
            caller: Some(Who::OtherWorker),
        },
        Kind {
            name: "revoked".into(),
            token: Some(revoked),
            caller: None,
        },
        Kind {
            name: "expired".into(),
            token: Some(expired.clone()),
            caller: None,
        },
    ];
    for scope in Scope::ALL {
        kinds.push(Kind {
            name: format!("client {scope}"),
            token: Some(create_token(&cluster, &["--scope", scope.name()])),
            caller: Some(Who::Client(scope)),
        });
    }
    // The expiring token is refused once its second is up (on a node that never
    // heard of a revocation: expiry is each node's own check).
    let deadline = Instant::now() + Duration::from_secs(10);
    while http::get(cluster.url(2), "/v1/runs", Some(&expired))
        .expect("answer")
        .status
        != 401
    {
        assert!(
            Instant::now() < deadline,
            "the expired token is still accepted"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut wrong = Vec::new();
    for (method, route, access) in ROUTES {
        let (path, body) = sample(method, route);
        for kind in &kinds {
            let expected_allowed = match (kind.caller, access) {
                (None, _) => None,
                (Some(Who::Member), Access::TheWorkerItself) => Some(false),
                (Some(Who::Member), _) => Some(true),
                (Some(Who::Worker), Access::MembersAndWorkers | Access::TheWorkerItself) => {
                    Some(true)
                }
                (Some(Who::OtherWorker), Access::MembersAndWorkers) => Some(true),
                (Some(Who::Client(scope)), Access::MembersAndScope(needed)) => {
                    Some(scope == *needed)
                }
                (Some(_), _) => Some(false),
            };
            for via in [1, 2] {
                let reply = http::request(
                    cluster.url(via),
                    method,
                    &path,
                    kind.token.as_deref(),
                    (!body.is_empty()).then_some(body.as_bytes()),
                )
                .expect("answer");
                let fine = match expected_allowed {
                    None => reply.status == 401,
                    Some(false) => reply.status == 403,
                    Some(true) => ![401, 403].contains(&reply.status),
                };
                if !fine {
                    wrong.push(format!(
                        "{method} {path} via node {via} with {} token: {} {}",
                        kind.name, reply.status, reply.body
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "wrong decisions:\n{}", wrong.join("\n"));
    // Nothing the matrix sent changed the scratch key's absence for good: only members
    // and state:write clients wrote it.
    assert_eq!(cluster.get(1, "matrix", "k", false).status, 404);
}

/// File descriptors process `pid` has open.
fn open_fds(pid: &str) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", pid.trim()))
        .map(|fds| fds.count())
        .unwrap_or(0)
}

#[test]
fn idle_sockets_cannot_take_every_descriptor_and_announced_giants_are_refused_unread() {
    let cluster = Cluster::up("adversarial-idle-sockets", 1);
    // The node restarted with at most 1,024 open files, then 1,100 connections that
    // never send a byte (what exhausted a node's descriptors before).
    cluster.kill(1);
    cluster.start_wrapped(1, &["prlimit", "--nofile=1024:1024"]);
    cluster.await_healthy(1);
    let pid = std::fs::read_to_string(cluster.dir.join("1.pid")).expect("pid");
    let address = cluster.url(1).trim_start_matches("http://").to_string();
    let before = open_fds(&pid);
    // This test process needs 1,100 descriptors of its own.
    edgeflow_runtime::fd_limit::raise_to_hard_limit();
    let idle: Vec<std::net::TcpStream> = (0..1_100)
        .map(|_| std::net::TcpStream::connect(&address).expect("connect"))
        .collect();
    // The node holds at most its cap (three quarters of what the limit leaves after a
    // reserve: 576); the rest wait in the kernel's backlog.
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_fds(&pid) < before + 500 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let held = open_fds(&pid) - before;
    assert!(held <= 600, "the node holds {held} connections");
    // Idle connections are closed after the header deadline, and a real request is
    // answered (in the backlog, it waits at most about that long).
    let asked = Instant::now();
    let ready = http::get(cluster.url(1), "/readyz", None).expect("readyz");
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert!(
        asked.elapsed() < Duration::from_secs(25),
        "{:?}",
        asked.elapsed()
    );
    for mut socket in idle {
        socket
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut byte = [0u8; 1];
        assert!(
            matches!(socket.read(&mut byte), Ok(0) | Err(_)),
            "an idle connection stayed open"
        );
    }

    // A body announced far over the limit, with Expect: 100-continue: 413 at once, and
    // no invitation to send it.
    let mut stream = std::net::TcpStream::connect(&address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let head = format!(
        "PUT /v1/state/ns/k HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Length: 2000000000\r\nExpect: 100-continue\r\n\r\n",
        cluster.token(1)
    );
    stream.write_all(head.as_bytes()).expect("send");
    let mut answer = vec![0u8; 512];
    let read = stream.read(&mut answer).expect("an answer");
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}
