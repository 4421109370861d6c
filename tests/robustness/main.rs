//! The robustness harness: a cluster of real `edgeflow node` processes behind a
//! fault-injecting Raft proxy, concurrent clients through every node, a nemesis making
//! one fault after another, and checks on the recorded history — linearizability of
//! every key (stateright), one leader per Raft term, one holder per lease term,
//! `global_order` without duplicates or unexplained gaps, versions never repeated, and
//! every node converging to the same state digest once the faults are healed; and
//! submitted runs whose every step took effect exactly once.
//!
//! - `cargo test --release --test robustness`: the short profile (every fault once)
//!   and the checker's own tests.
//! - `EDGEFLOW_ROBUSTNESS_SECONDS=600 cargo test --release --test robustness -- --ignored
//!   --nocapture`: the long profile (`EDGEFLOW_ROBUSTNESS_SEED`, `EDGEFLOW_ROBUSTNESS_NODES`).
//! - `EDGEFLOW_ROBUSTNESS_HISTORY=FILE cargo test --test robustness recheck -- --ignored
//!   --nocapture`: check a recorded history again and print its minimal violation.

#[path = "../common/mod.rs"]
mod common;

mod client;
mod convergence;
mod history;
mod invariants;
mod linearizable;
mod nemesis;
mod register;
mod report;
mod runs;
mod schedule;
mod workload;

use client::Reads;
use common::cluster::Cluster;
use common::proxy::Proxy;
use common::tmpfs::Tmpfs;
use history::{Answer, Entry, Op, Outcome, Recorder};
use linearizable::{KeyOp, Verdict};
use nemesis::{Abilities, Nemesis, FAKETIME_LIBRARY};
use register::{KvOp, KvRet};
use report::RunRecord;
use schedule::Profile;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The node whose data lives on a small tmpfs, for the full-disk fault.
const DISK_NODE: u64 = 3;
/// How long the search may take on one key before the key is reported undecided.
const CHECK_BUDGET: Duration = Duration::from_secs(20);

fn output_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// Every check on a finished run, into `record.verdicts` and `record.violations`.
fn check(
    record: &mut RunRecord,
    leaders: &workload::LeadersByTerm,
    last_sequences: &BTreeMap<u64, u64>,
) {
    for (key, ops) in linearizable::key_histories(&record.entries) {
        let verdict = linearizable::check_key(&ops, CHECK_BUDGET);
        match &verdict {
            Verdict::Linearizable => {}
            Verdict::Violation { minimal } => record.violations.push(format!(
                "key {key} is not linearizable; smallest violating sub-history: {}",
                serde_json::to_string(minimal).unwrap_or_default()
            )),
            Verdict::Malformed { reason } => record.violations.push(format!(
                "key {key}: the recorded history is malformed: {reason}"
            )),
            Verdict::Undecided { after } => record.violations.push(format!(
                "key {key}: the checker could not decide within {after:?} ({} operations)",
                ops.len()
            )),
        }
        record.verdicts.insert(key, verdict);
    }
    record.violations.extend(invariants::split_brain(leaders));
    record
        .violations
        .extend(invariants::lease_violations(&record.entries));
    record.violations.extend(invariants::order_violations(
        &record.entries,
        last_sequences,
    ));
    record
        .violations
        .extend(invariants::proposal_violations(&record.entries));
    record
        .violations
        .extend(invariants::repeated_versions(&record.entries));
}

/// Runs a profile end to end and returns what it found.
fn run(profile: &Profile) -> RunRecord {
    let started = Instant::now();
    let name = format!("robustness-{}", profile.name);
    let proxy = Proxy::default();
    let mut disk = None;
    let mut disk_problem = None;
    let cluster = Cluster::up_behind_proxy_prepared(&name, profile.nodes, &proxy, |dir| {
        match Tmpfs::mount(&dir.join(format!("data-{DISK_NODE}")), "96m") {
            Ok(mounted) => disk = Some(mounted),
            Err(reason) => disk_problem = Some(reason),
        }
    });
    if let Some(reason) = &disk_problem {
        println!("disk-full fault skipped: no tmpfs ({reason})");
    }
    let abilities = Abilities {
        disk_node: disk.as_ref().map(|_| DISK_NODE),
        faketime: Some(PathBuf::from(FAKETIME_LIBRARY)).filter(|p| p.exists()),
    };
    if abilities.faketime.is_none() {
        println!("clock-skew fault skipped: no libfaketime at {FAKETIME_LIBRARY} (apt-get install faketime)");
    }
    let shared = Arc::new(workload::Shared {
        urls: cluster.urls.clone(),
        token: cluster.token(1),
        reads: profile.reads,
        recorder: Recorder::new(started),
        stop: AtomicBool::new(false),
    });
    let clients = workload::start_clients(&shared, profile.clients, profile.seed);
    let submitter = runs::start_submitter(&shared, runs::bundle(&cluster.dir), profile.seed);
    let (watcher, leaders) = workload::start_watcher(&shared);
    let nemesis = Nemesis {
        cluster: &cluster,
        proxy: &proxy,
        abilities: &abilities,
        nodes: profile.nodes,
    };
    let mut episodes = Vec::new();
    std::thread::sleep(profile.quiet);
    for episode in &profile.episodes {
        if started.elapsed() > profile.budget {
            break;
        }
        let report = nemesis.run(*episode);
        println!(
            "{:?}: {} (recovered in {:?} ms)",
            episode.kind, report.action, report.recovery_ms
        );
        episodes.push(report);
        std::thread::sleep(profile.quiet);
    }
    shared.stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().expect("client");
    }
    watcher.join().expect("watcher");
    let submitted = submitter.join().expect("submitter");
    let runs = runs::check(&cluster.urls, &shared.token, &submitted);
    let converged = convergence::await_same_state(&cluster, profile.nodes);
    let last_sequences =
        convergence::last_sequences(&cluster, profile.nodes, workload::ORDER_GROUP);
    let mut record = RunRecord {
        profile: profile.name.to_string(),
        seed: profile.seed,
        nodes: profile.nodes,
        seconds: started.elapsed().as_secs_f64(),
        episodes,
        entries: shared.recorder.entries(),
        verdicts: BTreeMap::new(),
        violations: runs.violations,
        runs: runs.counts,
        run_failures: runs.failures,
        submitted,
    };
    if let Err(divergence) = converged {
        record.violations.push(divergence);
    }
    for episode in &record.episodes {
        if episode.injected && episode.recovery_ms.is_none() {
            record.violations.push(format!(
                "{}: the cluster did not take writes on every node within 30 s of the heal",
                episode.episode.kind.name()
            ));
        }
    }
    let leaders = leaders.lock().expect("leaders").clone();
    check(&mut record, &leaders, &last_sequences);
    drop(disk);
    record
}

fn run_and_judge(profile: &Profile) {
    println!(
        "robustness: profile `{}`, seed {} (EDGEFLOW_ROBUSTNESS_SEED={} replays its schedule)",
        profile.name, profile.seed, profile.seed
    );
    let record = run(profile);
    let path = record.write(&output_dir());
    println!("{}", record.summary());
    println!("history and schedule: {}", path.display());
    assert!(
        record.violations.is_empty(),
        "the robustness checks failed (seed {}, history in {}):\n{}",
        profile.seed,
        path.display(),
        record.violations.join("\n")
    );
}

#[test]
fn short_profile_every_fault_once_keeps_every_guarantee() {
    run_and_judge(&Profile::short(schedule::seed_from_env()));
}

#[test]
#[ignore = "the long profile: EDGEFLOW_ROBUSTNESS_SECONDS=600 cargo test --release --test robustness -- --ignored --nocapture"]
fn long_profile() {
    let seconds = std::env::var("EDGEFLOW_ROBUSTNESS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    run_and_judge(&Profile::long(schedule::seed_from_env(), seconds));
}

#[test]
#[ignore = "re-checks a recorded history: EDGEFLOW_ROBUSTNESS_HISTORY=FILE cargo test --test robustness recheck -- --ignored --nocapture"]
fn recheck_a_recorded_history() {
    // `-- --ignored` runs this beside the long profile: without a file it has nothing
    // to check.
    let Ok(path) = std::env::var("EDGEFLOW_ROBUSTNESS_HISTORY") else {
        println!("recheck: set EDGEFLOW_ROBUSTNESS_HISTORY to a history file a run wrote");
        return;
    };
    let mut record = RunRecord::read(std::path::Path::new(&path));
    record.verdicts.clear();
    record.violations.clear();
    for (key, ops) in linearizable::key_histories(&record.entries) {
        let verdict = linearizable::check_key(&ops, CHECK_BUDGET);
        if let Verdict::Violation { minimal } = &verdict {
            record
                .violations
                .push(format!("key {key} is not linearizable"));
            println!("key {key}: not linearizable; smallest violating sub-history:");
            for op in minimal {
                println!("  {op:?}");
            }
        }
        record.verdicts.insert(key, verdict);
    }
    println!("{}", record.summary());
    assert!(
        record.violations.is_empty(),
        "{}",
        record.violations.join("\n")
    );
}

fn key_op(process: u32, op: KvOp, invoked_us: u64, returned: Option<(u64, KvRet)>) -> KeyOp {
    KeyOp {
        process,
        op,
        invoked_us,
        returned,
    }
}

#[test]
fn the_checker_rejects_a_stale_read_after_an_acknowledged_write() {
    let write = |value: &str| KvOp::Write(value.to_string());
    // a written at 1 (0–10 µs), b written at 2 (20–30 µs), then a read (40–50 µs)
    // answers a: stale, after b was acknowledged.
    let stale = vec![
        key_op(0, write("a"), 0, Some((10, KvRet::Written(1)))),
        key_op(0, write("b"), 20, Some((30, KvRet::Written(2)))),
        key_op(
            1,
            KvOp::Read,
            40,
            Some((50, KvRet::Read(Some(("a".into(), 1))))),
        ),
    ];
    assert!(matches!(
        linearizable::check_key(&stale, CHECK_BUDGET),
        Verdict::Violation { .. }
    ));
    // The same read overlapping the second write may see either value.
    let overlapping = vec![
        key_op(0, write("a"), 0, Some((10, KvRet::Written(1)))),
        key_op(0, write("b"), 20, Some((30, KvRet::Written(2)))),
        key_op(
            1,
            KvOp::Read,
            25,
            Some((50, KvRet::Read(Some(("a".into(), 1))))),
        ),
    ];
    assert_eq!(
        linearizable::check_key(&overlapping, CHECK_BUDGET),
        Verdict::Linearizable
    );
    // A write whose answer was lost may show up later; a read may then see it.
    let lost = vec![
        key_op(0, write("a"), 0, None),
        key_op(1, KvOp::Read, 20, Some((30, KvRet::Read(None)))),
        key_op(
            1,
            KvOp::Read,
            40,
            Some((50, KvRet::Read(Some(("a".into(), 1))))),
        ),
    ];
    assert_eq!(
        linearizable::check_key(&lost, CHECK_BUDGET),
        Verdict::Linearizable
    );
    // But a version seen twice for two writes is not a register.
    let repeated = vec![
        key_op(0, write("a"), 0, Some((10, KvRet::Written(1)))),
        key_op(1, KvOp::Delete, 20, Some((30, KvRet::Deleted(true)))),
        key_op(0, write("b"), 40, Some((50, KvRet::Written(1)))),
    ];
    assert!(matches!(
        linearizable::check_key(&repeated, CHECK_BUDGET),
        Verdict::Violation { .. }
    ));
}

#[test]
fn a_harness_reading_local_copies_reports_the_stale_reads() {
    // The broken switch: the harness's reads go to a node's local copy instead of the
    // linearizable path. Cut a follower off, write through the majority, read through
    // the follower: the history must be rejected.
    let proxy = Proxy::default();
    let cluster = Cluster::up_behind_proxy("robustness-local-reads", 3, &proxy);
    let nemesis_abilities = Abilities {
        disk_node: None,
        faketime: None,
    };
    let nemesis = Nemesis {
        cluster: &cluster,
        proxy: &proxy,
        abilities: &nemesis_abilities,
        nodes: 3,
    };
    let leader = nemesis.leader().expect("a leader");
    let follower = (1..=3).find(|id| *id != leader).expect("a follower");
    let token = cluster.token(1);
    let recorder = Recorder::new(Instant::now());
    let record = |node: u64, op: Op, reads: Reads| {
        let invoked_us = recorder.now_us();
        let outcome = client::perform(cluster.url(node), &token, &op, reads);
        recorder.record(Entry {
            process: recorder.new_process(),
            node,
            op,
            invoked_us,
            returned_us: recorder.now_us(),
            outcome: outcome.clone(),
        });
        outcome
    };
    let key = "stale".to_string();
    let first = record(
        leader,
        Op::Kv {
            key: key.clone(),
            op: KvOp::Write("before".into()),
        },
        Reads::LocalCopy,
    );
    assert!(matches!(first, Outcome::Ok(_)), "{first:?}");
    // Wait until the follower's copy has it, so that what it later answers is stale.
    convergence::await_local_value(&cluster, follower, &key, "before");
    proxy.partition(&[
        &[follower],
        &(1..=3).filter(|id| *id != follower).collect::<Vec<_>>(),
    ]);
    let second = record(
        leader,
        Op::Kv {
            key: key.clone(),
            op: KvOp::Write("after".into()),
        },
        Reads::LocalCopy,
    );
    assert!(
        matches!(second, Outcome::Ok(Answer::Kv(KvRet::Written(2)))),
        "{second:?}"
    );
    // The read starts strictly after the write returned, on the harness's microsecond
    // clock (a tie would count as overlapping, and then either answer is linearizable).
    let acknowledged = recorder.now_us();
    while recorder.now_us() <= acknowledged {
        std::hint::spin_loop();
    }
    let read = record(
        follower,
        Op::Kv {
            key: key.clone(),
            op: KvOp::Read,
        },
        Reads::LocalCopy,
    );
    assert_eq!(
        read,
        Outcome::Ok(Answer::Kv(KvRet::Read(Some(("before".into(), 1)))))
    );
    proxy.heal();
    let histories = linearizable::key_histories(&recorder.entries());
    let verdict = linearizable::check_key(&histories[&key], CHECK_BUDGET);
    eprintln!("DEBUG {:?}", histories[&key]);
    assert!(matches!(verdict, Verdict::Violation { .. }), "{verdict:?}");
    // With the real read path, the same follower does not answer stale.
    let honest = client::perform(
        cluster.url(follower),
        &token,
        &Op::Kv {
            key,
            op: KvOp::Read,
        },
        Reads::Linearizable,
    );
    assert_eq!(
        honest,
        Outcome::Ok(Answer::Kv(KvRet::Read(Some(("after".into(), 2)))))
    );
}

#[test]
fn the_checker_orders_a_process_s_own_operations_on_a_tied_clock() {
    // A process's write returned and its next read started in the same microsecond (seen
    // in a run): that is not two operations in flight at once.
    let ops = vec![
        key_op(0, KvOp::Write("a".into()), 0, Some((10, KvRet::Written(1)))),
        key_op(
            0,
            KvOp::Read,
            10,
            Some((20, KvRet::Read(Some(("a".into(), 1))))),
        ),
        key_op(1, KvOp::Read, 10, Some((30, KvRet::Read(None)))),
    ];
    // Process 1's read started when the write returned: it may still see nothing.
    assert_eq!(
        linearizable::check_key(&ops, CHECK_BUDGET),
        Verdict::Linearizable
    );
}
