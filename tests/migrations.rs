//! Migrations of workloads between real nodes: every strategy moves 100,000 records
//! while a writer keeps writing (bulk and emergency freeze it instead), and afterwards
//! the target has every record and every acknowledged write; a killed target, source
//! or leader mid-copy resumes from the last report; pause, rollback (to a checkpoint
//! and to the source), a window that is not open, a validation failure and bad input
//! behave as an operator expects.

mod common;

use common::cluster::Cluster;
use common::http;
use common::{stderr, stdout};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RECORDS: &str = "100000";

fn cli_ok(cluster: &Cluster, via: u64, args: &[&str]) -> String {
    let output = cluster.cli(via, args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    stdout(&output)
}

fn workload(cluster: &Cluster, name: &str, edge: &str, size: &str) {
    cli_ok(cluster, 1, &["workload", "create", name, "--edge", edge]);
    cli_ok(
        cluster,
        1,
        &[
            "workload",
            "fill",
            name,
            "--records",
            RECORDS,
            "--size",
            size,
            "--seed",
            "1",
        ],
    );
}

fn show(cluster: &Cluster, via: u64, name: &str) -> Value {
    serde_json::from_str(&cli_ok(
        cluster,
        via,
        &["workload", "show", name, "--format", "json"],
    ))
    .expect("JSON")
}

/// Writes `name` declaring one migration of `fields` from node_1 to node_2.
fn migration(cluster: &Cluster, name: &str, fields: &str) -> String {
    let text = format!(
        "edges {{\n  node_1 {{ region: \"lab\" }}\n  node_2 {{ region: \"lab\" }}\n  node_3 {{ region: \"lab\" }}\n}}\n\nmigration {name} {{\n{fields}\n}}\n"
    );
    let path = cluster.dir.join(format!("{name}.edgeflow"));
    std::fs::write(&path, text).expect("file written");
    path.to_string_lossy().into_owned()
}

fn start(cluster: &Cluster, name: &str, file: &str) -> String {
    cli_ok(cluster, 1, &["migrate", "start", name, "--file", file])
        .trim()
        .to_string()
}

fn status(cluster: &Cluster, via: u64, id: &str) -> Value {
    serde_json::from_str(&cli_ok(
        cluster,
        via,
        &["migrate", "status", id, "--format", "json"],
    ))
    .expect("JSON")
}

/// Polls the migration's status (through any node that answers) until `done` says so.
fn await_status(
    cluster: &Cluster,
    id: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        for via in 1..=3 {
            let output = cluster.cli(via, &["migrate", "status", id, "--format", "json"]);
            if let Ok(shown) = serde_json::from_str::<Value>(&stdout(&output)) {
                if done(&shown) {
                    return shown;
                }
                assert!(
                    Instant::now() < deadline,
                    "migration {id} did not get there in {within:?}: {shown}"
                );
                break;
            }
        }
        assert!(Instant::now() < deadline, "no node reports migration {id}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn phase_is(phase: &'static str) -> impl Fn(&Value) -> bool {
    move |shown| shown["phase"] == phase
}

/// Keeps writing `w-N` = N to a workload through node 3 until stopped; the writes it saw
/// acknowledged, the ones whose outcome it cannot know, and its longest wait for one.
struct Writer {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(Vec<u64>, Vec<u64>, Duration)>,
}

impl Writer {
    fn start(cluster: &Cluster, workload: &str) -> Writer {
        let (url, token) = (cluster.url(3).to_string(), cluster.token(3));
        let workload = workload.to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut acked, mut unknown, mut longest) = (Vec::new(), Vec::new(), Duration::ZERO);
            let mut n = 0u64;
            while !stopping.load(Ordering::Relaxed) {
                n += 1;
                let path = format!("/v1/workloads/{workload}/records/w-{n}");
                let began = Instant::now();
                loop {
                    let body = n.to_string();
                    let reply = http::call(
                        &url,
                        "PUT",
                        &path,
                        Some(&token),
                        Some(body.as_bytes()),
                        Duration::from_secs(10),
                    );
                    match reply {
                        Ok(reply) if reply.status == 200 => {
                            acked.push(n);
                            break;
                        }
                        // Frozen (bulk, emergency) or briefly unroutable: the same write again.
                        Ok(reply) if reply.status == 503 && !reply.body.contains("unknown") => {}
                        Ok(reply) if reply.status == 503 => {
                            unknown.push(n);
                            break;
                        }
                        Ok(reply) => panic!("write {n}: {} {}", reply.status, reply.body),
                        Err(_) => {
                            unknown.push(n);
                            break;
                        }
                    }
                    if stopping.load(Ordering::Relaxed) {
                        unknown.push(n);
                        break;
                    }
                }
                longest = longest.max(began.elapsed());
            }
            (acked, unknown, longest)
        });
        Writer { stop, thread }
    }

    fn stop(self) -> (Vec<u64>, Vec<u64>, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the writer thread")
    }
}

/// Every acknowledged write is there with its value, and the workload holds the fill
/// plus the writes (those of unknown outcome may or may not be there).
fn assert_holds(cluster: &Cluster, name: &str, acked: &[u64], unknown: &[u64]) {
    let body = json!({"workload": name, "op": "scan", "prefix": "w-", "limit": 10000}).to_string();
    let scanned = cluster.call(1, "POST", "/v1/ops/workload", Some(&body));
    assert_eq!(scanned.status, 200, "{}", scanned.body);
    let items = scanned.json()["items"].as_array().expect("items").clone();
    let found: std::collections::BTreeMap<String, Value> = items
        .into_iter()
        .map(|item| {
            (
                item["key"].as_str().unwrap_or("").to_string(),
                item["value"].clone(),
            )
        })
        .collect();
    for n in acked {
        assert_eq!(
            found.get(&format!("w-{n}")),
            Some(&json!(n)),
            "acknowledged write w-{n} of {name}"
        );
    }
    let records = show(cluster, 1, name)["records"].as_u64().expect("records") as usize;
    let floor = 100_000 + acked.len();
    assert!(
        (floor..=floor + unknown.len()).contains(&records),
        "{name}: {records} records, {} acknowledged writes, {} unknown",
        acked.len(),
        unknown.len()
    );
}

#[test]
fn every_strategy_moves_its_workload_while_a_writer_writes() {
    let cluster = Cluster::up("migrate-strategies", 3);
    // Values of 300 bytes live in the value log, of 100 in the B-tree (`row.rs`).
    let cases = [
        ("live", "300", "strategy: live\n  max_downtime: 2s"),
        ("staged", "100", "strategy: staged"),
        ("bulk", "300", "strategy: bulk\n  compression: false"),
        (
            "incremental",
            "100",
            "strategy: incremental\n  sync_interval: 200ms\n  delta_threshold: 64KB",
        ),
        (
            "emergency",
            "100",
            "strategy: emergency\n  priority: 10\n  validate: false",
        ),
    ];
    for (strategy, size, fields) in cases {
        let name = format!("w_{strategy}");
        workload(&cluster, &name, "node_1", size);
        let file = migration(
            &cluster,
            &format!("move_{strategy}"),
            &format!("  from: node_1\n  to: node_2\n  workloads: [\"{name}\"]\n  {fields}"),
        );
        let writer = Writer::start(&cluster, &name);
        let id = start(&cluster, &format!("move_{strategy}"), &file);
        let done = await_status(&cluster, &id, Duration::from_secs(180), |s| {
            s["phase"] == "completed" || s["phase"] == "failed" || s["phase"] == "rolled_back"
        });
        let (acked, unknown, longest) = writer.stop();
        assert_eq!(done["phase"], "completed", "{strategy}: {done}");
        assert_eq!(done["error"], Value::Null, "{strategy}: {done}");
        assert_eq!(done["percent"], 100.0);
        assert!(done["bytes_sent"].as_u64() > Some(0), "{done}");
        assert_eq!(show(&cluster, 2, &name)["edge"], "node_2");
        assert!(!acked.is_empty(), "{strategy}: the writer wrote nothing");
        assert_holds(&cluster, &name, &acked, &unknown);
        if strategy == "live" {
            assert!(
                longest <= Duration::from_secs(2),
                "live: a write waited {longest:?}"
            );
            assert!(done["downtime_ms"].as_u64() <= Some(2_000), "{done}");
        }
    }
    // Every node reports the same.
    let listed: Vec<Value> = (1..=3)
        .map(|via| {
            let listed: Value = serde_json::from_str(&cli_ok(
                &cluster,
                via,
                &["migrate", "list", "--format", "json"],
            ))
            .expect("JSON");
            listed["migrations"]
                .as_array()
                .expect("a list")
                .iter()
                .map(|m| json!([m["migration_id"], m["phase"]]))
                .collect()
        })
        .collect();
    assert!(
        listed.windows(2).all(|pair| pair[0] == pair[1]),
        "{listed:?}"
    );
}

/// The bytes node `id` has sent as a migration's source since it started.
fn exported_bytes(cluster: &Cluster, id: u64) -> u64 {
    let metrics = cluster.call(id, "GET", "/metrics", None);
    metrics
        .body
        .lines()
        .find_map(|line| line.strip_prefix("edgeflow_migration_exported_bytes_total "))
        .and_then(|n| n.trim().parse().ok())
        .expect("the exported bytes in /metrics")
}

/// The node leading the cluster, as node `via` sees it.
fn leader(cluster: &Cluster, via: u64) -> u64 {
    cluster.status(via).expect("a status")["leader"]
        .as_u64()
        .expect("a leader")
}

#[test]
fn a_migration_resumes_after_its_target_source_or_leader_is_killed() {
    let cluster = Cluster::up("migrate-kills", 3);
    // 5 MB/s on the wire, reports at least every second: a restart re-sends at most
    // about a second's worth.
    let cap_bytes_per_second = 5_000_000u64;
    for victim in ["target", "source", "leader"] {
        let name = format!("k_{victim}");
        // Values in the value log: a kill leaves a segment's tail unwritten or unknown.
        workload(&cluster, &name, "node_1", "300");
        let file = migration(
            &cluster,
            &format!("move_{victim}"),
            &format!(
                "  from: node_1\n  to: node_2\n  workloads: [\"{name}\"]\n  bandwidth: 40Mbps\n  compression: false\n  checkpoint_every: 1s"
            ),
        );
        let exported_before = exported_bytes(&cluster, 1);
        let writer = Writer::start(&cluster, &name);
        let id = start(&cluster, &format!("move_{victim}"), &file);
        let before = await_status(&cluster, &id, Duration::from_secs(60), |s| {
            s["phase"] == "sync" && s["percent"].as_f64() > Some(25.0)
        });
        let killed = match victim {
            "target" => 2,
            "source" => 1,
            _ => leader(&cluster, 3),
        };
        cluster.kill(killed);
        cluster.start(killed);
        cluster.await_healthy(killed);
        // Resumed from its last report: the counts never go back.
        let resumed = await_status(&cluster, &id, Duration::from_secs(60), |s| {
            s["bytes_sent"].as_u64() >= before["bytes_sent"].as_u64()
        });
        assert!(resumed["records_copied"].as_u64() >= before["records_copied"].as_u64());
        let done = await_status(&cluster, &id, Duration::from_secs(120), |s| {
            s["phase"] == "completed" || s["phase"] == "failed" || s["phase"] == "rolled_back"
        });
        let (acked, unknown, _) = writer.stop();
        assert_eq!(done["phase"], "completed", "{victim}: {done}");
        assert_holds(&cluster, &name, &acked, &unknown);
        if victim == "target" {
            // The source counted every byte it sent; the migration only those it kept.
            let sent_by_source = exported_bytes(&cluster, 1) - exported_before;
            let kept = done["bytes_sent"].as_u64().expect("bytes_sent");
            let resent = sent_by_source.saturating_sub(kept);
            assert!(
                resent <= cap_bytes_per_second + 1_000_000,
                "{resent} bytes re-sent after the target's restart ({sent_by_source} sent, {kept} kept)"
            );
        }
    }
}

#[test]
fn operators_pause_roll_back_and_are_told_what_is_wrong() {
    let cluster = Cluster::up("migrate-steer", 3);
    // Slow (1 MB/s): paused and rolled back mid-copy.
    workload(&cluster, "slow", "node_1", "100");
    let source = show(&cluster, 1, "slow");
    let file = migration(
        &cluster,
        "move_slow",
        "  from: node_1\n  to: node_2\n  workloads: [\"slow\"]\n  bandwidth: 8Mbps\n  compression: false\n  checkpoint_every: 500ms",
    );
    let id = start(&cluster, "move_slow", &file);
    await_status(&cluster, &id, Duration::from_secs(30), |s| {
        s["checkpoints"].as_array().is_some_and(|c| c.len() >= 2)
    });
    cli_ok(&cluster, 2, &["migrate", "pause", &id]);
    let paused = await_status(&cluster, &id, Duration::from_secs(10), phase_is("paused"));
    // No bytes move while paused (a batch on its way when it paused may still land).
    std::thread::sleep(Duration::from_millis(1_500));
    let settled = status(&cluster, 3, &id);
    std::thread::sleep(Duration::from_millis(1_500));
    let still = status(&cluster, 1, &id);
    assert_eq!(settled["bytes_sent"], still["bytes_sent"], "{paused}");
    assert_eq!(still["phase"], "paused");
    // Resumed, it moves again (from where it was); paused again for what follows.
    cli_ok(&cluster, 3, &["migrate", "resume", &id]);
    let moving = await_status(&cluster, &id, Duration::from_secs(10), |s| {
        s["bytes_sent"].as_u64() > still["bytes_sent"].as_u64()
    });
    assert_eq!(moving["phase"], "sync");
    // A higher priority from the same source copies first: the slow copy waits, saying
    // for which migration, until that one ends.
    workload(&cluster, "urgent", "node_1", "10");
    let urgent_file = migration(
        &cluster,
        "move_urgent",
        "  from: node_1\n  to: node_2\n  workloads: [\"urgent\"]\n  priority: 9\n  compression: false",
    );
    // A write made with an Idempotency-Key before the move is still applied once when
    // sent again after it: the key moves with the workload.
    let token = cluster.token(1);
    let keyed = |via: u64| {
        common::http::request_with_headers(
            cluster.url(via),
            "PUT",
            "/v1/workloads/urgent/records/keyed",
            Some(&token),
            &[("Idempotency-Key", "order-1")],
            Some(b"1"),
        )
        .expect("the node answers")
    };
    assert_eq!(keyed(1).json(), serde_json::json!({"version": 1}));
    let urgent = start(&cluster, "move_urgent", &urgent_file);
    await_status(&cluster, &id, Duration::from_secs(10), |s| {
        s["preempted_by"] == urgent.as_str()
    });
    await_status(
        &cluster,
        &urgent,
        Duration::from_secs(60),
        phase_is("completed"),
    );
    assert_eq!(keyed(3).json(), serde_json::json!({"version": 1}));
    let kept = cluster.call(3, "GET", "/v1/workloads/urgent/records/keyed", None);
    assert_eq!(kept.header("x-edgeflow-version"), Some("1"));
    let released = await_status(&cluster, &id, Duration::from_secs(10), |s| {
        s["preempted_by"].is_null()
    });
    assert_eq!(released["phase"], "sync");
    cli_ok(&cluster, 3, &["migrate", "pause", &id]);
    await_status(&cluster, &id, Duration::from_secs(10), phase_is("paused"));
    // Back to the first checkpoint: the copy continues from there.
    let first = still["checkpoints"][0]["id"]
        .as_str()
        .expect("a checkpoint")
        .to_string();
    cli_ok(
        &cluster,
        1,
        &["migrate", "rollback", &id, "--checkpoint", &first],
    );
    let rewound = status(&cluster, 1, &id);
    assert_eq!(rewound["phase"], "sync");
    assert!(
        rewound["percent"].as_f64() <= still["percent"].as_f64(),
        "{rewound}"
    );
    // An unknown checkpoint is refused, and nothing changes.
    let unknown = cluster.cli(1, &["migrate", "rollback", &id, "--checkpoint", "cp-999"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("no checkpoint `cp-999`"),
        "{}",
        stderr(&unknown)
    );
    // All the way back: the source serves every record, the target's copy is removed.
    cli_ok(&cluster, 1, &["migrate", "rollback", &id]);
    await_status(
        &cluster,
        &id,
        Duration::from_secs(10),
        phase_is("rolled_back"),
    );
    assert_eq!(show(&cluster, 3, "slow"), source);
    let target_records = || {
        let body = r#"{"workload": "slow", "op": "summary"}"#;
        cluster
            .call(2, "POST", "/v1/migrations/side", Some(body))
            .json()["records"]
            .clone()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut target_copy = target_records();
    while target_copy != 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        target_copy = target_records();
    }
    assert_eq!(target_copy, 0, "the target kept its copy");
    let finished = cluster.cli(1, &["migrate", "resume", &id]);
    assert_eq!(
        finished.status.code(),
        Some(1),
        "a rolled-back migration resumed"
    );

    // A record changed on the target behind the migration's back: validation finds it
    // after the cutover and rolls back, naming the key; the source still serves.
    cli_ok(
        &cluster,
        1,
        &["workload", "create", "checked", "--edge", "node_1"],
    );
    cli_ok(
        &cluster,
        1,
        &[
            "workload",
            "fill",
            "checked",
            "--records",
            "20000",
            "--size",
            "100",
            "--seed",
            "3",
        ],
    );
    let file = migration(
        &cluster,
        "move_checked",
        "  from: node_1\n  to: node_2\n  workloads: [\"checked\"]\n  bandwidth: 4Mbps\n  compression: false",
    );
    let id = start(&cluster, "move_checked", &file);
    await_status(&cluster, &id, Duration::from_secs(30), |s| {
        s["records_copied"].as_u64() >= Some(2_000)
    });
    let corrupted = cluster.call(2,
        "POST",
        "/v1/migrations/side",
        Some(
            r#"{"workload": "checked", "op": "import", "key": "r0000000000", "value": "\"corrupt\"", "version": 1}"#,
        ),
    );
    assert_eq!(corrupted.status, 200, "{}", corrupted.body);
    let failed = await_status(&cluster, &id, Duration::from_secs(60), |s| {
        s["phase"] == "rolled_back" || s["phase"] == "completed"
    });
    assert_eq!(failed["phase"], "rolled_back", "{failed}");
    let error = failed["error"].as_str().expect("an error");
    assert!(
        error.contains("validation failed") && error.contains("r0000000000"),
        "{error}"
    );
    assert_eq!(show(&cluster, 3, "checked")["edge"], "node_1");
    assert_eq!(show(&cluster, 3, "checked")["records"], 20000);

    // Outside its window it waits, visibly, and moves nothing.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let minute = (now / 60 + 120) % 1440;
    let window = format!(
        "{:02}:{:02}..{:02}:{:02}",
        minute / 60,
        minute % 60,
        ((minute + 60) % 1440) / 60,
        minute % 60
    );
    cli_ok(
        &cluster,
        1,
        &["workload", "create", "later", "--edge", "node_1"],
    );
    let file = migration(
        &cluster,
        "move_later",
        &format!("  from: node_1\n  to: node_2\n  workloads: [\"later\"]\n  strategy: staged\n  window: {window}"),
    );
    let id = start(&cluster, "move_later", &file);
    let waiting = await_status(&cluster, &id, Duration::from_secs(10), |s| {
        s["waiting"] == "outside its window"
    });
    assert_eq!(waiting["phase"], "planning");
    assert_eq!(waiting["bytes_sent"], 0);
    let removal = cluster.cli(1, &["workload", "remove", "later"]);
    assert_eq!(removal.status.code(), Some(1));
    assert!(
        stderr(&removal).contains("being moved by migration"),
        "{}",
        stderr(&removal)
    );

    // Bad input: told in planning, and nothing is started.
    let before = cli_ok(&cluster, 1, &["migrate", "list", "--format", "json"]);
    let bad = [
        (
            "  from: node_1\n  to: node_2\n  workloads: [\"nothing_here\"]",
            "there is no workload `nothing_here`",
        ),
        (
            "  from: node_2\n  to: node_3\n  workloads: [\"checked\"]",
            "is served by edge `node_1`, not `node_2`",
        ),
        (
            "  from: node_1\n  to: node_2\n  workloads: [\"later\"]",
            "being moved by migration",
        ),
    ];
    for (fields, says) in bad {
        let file = migration(&cluster, "bad", fields);
        let refused = cluster.cli(1, &["migrate", "start", "bad", "--file", &file]);
        assert_eq!(refused.status.code(), Some(1), "{fields}");
        assert!(
            stderr(&refused).contains(says),
            "{fields}: {}",
            stderr(&refused)
        );
    }
    let file = migration(
        &cluster,
        "named",
        "  from: node_1\n  to: node_2\n  workloads: [\"checked\"]",
    );
    let misnamed = cluster.cli(1, &["migrate", "start", "nmaed", "--file", &file]);
    assert_eq!(misnamed.status.code(), Some(2));
    assert!(
        stderr(&misnamed).contains("declares no migration `nmaed`"),
        "{}",
        stderr(&misnamed)
    );
    // The target is down: it cannot be reached, and nothing starts.
    cluster.kill(3);
    let file = migration(
        &cluster,
        "to_dead",
        "  from: node_1\n  to: node_3\n  workloads: [\"checked\"]",
    );
    let unreachable = cluster.cli(1, &["migrate", "start", "to_dead", "--file", &file]);
    assert_eq!(unreachable.status.code(), Some(1));
    assert!(
        stderr(&unreachable).contains("the target edge `node_3` cannot be reached"),
        "{}",
        stderr(&unreachable)
    );
    // The target is back with room for less than the workload: told so, nothing starts.
    let config = cluster.config(3);
    let mut toml = std::fs::read_to_string(&config).expect("3.toml");
    toml.push_str("\n[workloads]\ncapacity = \"64KiB\"\n");
    std::fs::write(&config, toml).expect("3.toml written");
    cluster.start(3);
    cluster.await_healthy(3);
    let full = cluster.cli(1, &["migrate", "start", "to_dead", "--file", &file]);
    assert_eq!(full.status.code(), Some(1));
    assert!(
        stderr(&full).contains(
            "the target edge `node_3` has a workload capacity of 65536 bytes and holds 0"
        ),
        "{}",
        stderr(&full)
    );
    assert_eq!(
        cli_ok(&cluster, 1, &["migrate", "list", "--format", "json"]),
        before
    );
    assert_eq!(show(&cluster, 3, "checked")["edge"], "node_1");
}
