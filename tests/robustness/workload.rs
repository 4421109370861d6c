//! The clients: threads that each pick a node and an operation at random (seeded) and
//! record it — KV reads, writes, compare-and-sets and deletes on a handful of keys, and
//! the coordination ops: elect (a lease campaign), resign, get_leader, global_order and
//! propose. Keys are renewed every second (`ROUND`), which keeps each key's history
//! short enough for an exhaustive linearizability search. A watcher samples every
//! node's `/metrics` for the leader it follows and its term.

use crate::client::{self, Reads};
use crate::common::cluster::raft_view;
use crate::history::{Answer, Entry, Op, Outcome, Recorder};
use crate::register::{KvOp, KvRet};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Keys per round; groups the coordination ops use.
pub const KEYS_PER_ROUND: usize = 4;
pub const LEASE_GROUPS: [&str; 2] = ["lease-a", "lease-b"];
pub const ORDER_GROUP: &str = "order";
pub const PROPOSAL_GROUP: &str = "proposals";

/// A client does at most one operation per this long (keeps histories bounded).
const PACE: Duration = Duration::from_millis(5);
/// Clients move on to fresh keys this often: each key's history stays short enough for
/// an exhaustive search, whatever the run's length.
const ROUND: Duration = Duration::from_secs(1);

pub struct Shared {
    pub urls: Vec<String>,
    pub token: String,
    pub reads: Reads,
    pub recorder: Recorder,
    pub stop: AtomicBool,
}

pub fn key(round: u64, index: usize) -> String {
    format!("r{round}-k{index}")
}

/// Starts `count` clients; they run until `shared.stop`.
pub fn start_clients(shared: &Arc<Shared>, count: usize, seed: u64) -> Vec<JoinHandle<()>> {
    (0..count)
        .map(|index| {
            let shared = shared.clone();
            std::thread::spawn(move || run_client(&shared, index, seed.wrapping_add(index as u64)))
        })
        .collect()
}

fn choose_op(
    rng: &mut fastrand::Rng,
    round: u64,
    name: &str,
    counter: &mut u64,
    known_versions: &HashMap<String, u64>,
) -> Op {
    *counter += 1;
    let unique = format!("{name}-{counter}");
    let key = key(round, rng.usize(..KEYS_PER_ROUND));
    let group = LEASE_GROUPS[rng.usize(..LEASE_GROUPS.len())].to_string();
    match rng.u32(0..100) {
        0..35 => Op::Kv {
            key,
            op: KvOp::Read,
        },
        35..57 => Op::Kv {
            key,
            op: KvOp::Write(unique),
        },
        57..72 => {
            let expected = known_versions
                .get(&key)
                .copied()
                .unwrap_or_else(|| rng.u64(0..3));
            Op::Kv {
                key,
                op: KvOp::CompareAndSet {
                    expected,
                    value: unique,
                },
            }
        }
        72..77 => Op::Kv {
            key,
            op: KvOp::Delete,
        },
        77..84 => Op::Campaign {
            group,
            candidate: name.to_string(),
            ttl_ms: rng.u64(300..1_500),
        },
        84..87 => Op::Resign {
            group,
            holder: name.to_string(),
        },
        87..92 => Op::Leader { group },
        92..97 => Op::Order {
            group: ORDER_GROUP.into(),
            events: rng.usize(1..=3),
        },
        _ => Op::Propose {
            group: PROPOSAL_GROUP.into(),
            value: unique,
        },
    }
}

fn run_client(shared: &Shared, index: usize, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let name = format!("client-{index}");
    let mut process = shared.recorder.new_process();
    let mut counter = 0;
    let mut known_versions: HashMap<String, u64> = HashMap::new();
    while !shared.stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let round = shared.recorder.now_us() / ROUND.as_micros() as u64;
        let op = choose_op(&mut rng, round, &name, &mut counter, &known_versions);
        let node = rng.usize(..shared.urls.len());
        let invoked_us = shared.recorder.now_us();
        let outcome = client::perform(&shared.urls[node], &shared.token, &op, shared.reads);
        let returned_us = shared.recorder.now_us();
        if let (Op::Kv { key, .. }, Outcome::Ok(Answer::Kv(ret))) = (&op, &outcome) {
            match ret {
                KvRet::Read(Some((_, version)))
                | KvRet::Written(version)
                | KvRet::Mismatch(version) => {
                    known_versions.insert(key.clone(), *version);
                }
                KvRet::Read(None) | KvRet::Deleted(_) => {
                    known_versions.insert(key.clone(), 0);
                }
            }
        }
        let indeterminate = matches!(outcome, Outcome::Indeterminate(_));
        shared.recorder.record(Entry {
            process,
            node: node as u64 + 1,
            op,
            invoked_us,
            returned_us,
            outcome,
        });
        if indeterminate {
            process = shared.recorder.new_process();
        }
        std::thread::sleep(PACE.saturating_sub(started.elapsed()));
    }
}

/// Every (term → nodes that said they led it) seen by sampling `/metrics`.
pub type LeadersByTerm = BTreeMap<u64, BTreeSet<u64>>;

/// Samples each node's leader and term until `shared.stop`.
pub fn start_watcher(shared: &Arc<Shared>) -> (JoinHandle<()>, Arc<Mutex<LeadersByTerm>>) {
    let leaders = Arc::new(Mutex::new(LeadersByTerm::new()));
    let (shared, seen) = (shared.clone(), leaders.clone());
    let handle = std::thread::spawn(move || {
        while !shared.stop.load(Ordering::Relaxed) {
            for (index, url) in shared.urls.iter().enumerate() {
                let id = index as u64 + 1;
                if let Some((leader, term)) = raft_view(url, &shared.token) {
                    if leader == id {
                        seen.lock()
                            .expect("leaders")
                            .entry(term)
                            .or_default()
                            .insert(id);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    (handle, leaders)
}
