//! Leasing one global budget to several edges, against a real (embedded, durable) Raft
//! node as the ledger's host: three edges with skewed, then shifted, demand (8 / 2 / 1
//! concurrent requesters, then 1 / 2 / 8) for several periods. The fleet admits no more
//! than `burst + rate × elapsed`, at least 90 % of it while demand exceeds it, and no
//! edge with demand starves.

use edgeflow_runtime::node::Node;
use edgeflow_runtime::op_host::OpHost;
use edgeflow_runtime::quotas::algorithm::{Algorithm, Limit};
use edgeflow_runtime::quotas::{EdgeQuotas, OnExceed, QuotaPolicy, Scope};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RATE_PER_S: u64 = 400;
const BURST: u64 = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_share_one_budget_exactly_and_follow_demand() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let node = Arc::new(
        Node::start_single(dir.path(), "ledger")
            .await
            .expect("node"),
    );
    let policy = QuotaPolicy::new(
        "shared",
        Algorithm::TokenBucket,
        Limit {
            count: RATE_PER_S,
            per_ns: 1_000_000_000,
            burst: BURST,
        },
        Scope::Global,
        Vec::new(),
        OnExceed::Reject,
    );
    let edges: Vec<Arc<EdgeQuotas>> = ["e1", "e2", "e3"]
        .iter()
        .map(|name| Arc::new(EdgeQuotas::new(name, false)))
        .collect();
    let admitted: Vec<Arc<AtomicU64>> = (0..3).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let started = Instant::now();
    let mut total_elapsed = Duration::ZERO;
    // Two phases of 2 s: the busiest edge changes.
    for requesters in [[8usize, 2, 1], [1, 2, 8]] {
        let stop = Arc::new(AtomicBool::new(false));
        let before: Vec<u64> = admitted.iter().map(|a| a.load(Ordering::Relaxed)).collect();
        let mut tasks = Vec::new();
        for (edge, count) in requesters.iter().enumerate() {
            for _ in 0..*count {
                let (quotas, policy) = (edges[edge].clone(), policy.clone());
                let node: Arc<dyn OpHost> = node.clone();
                let (stop, admitted) = (stop.clone(), admitted[edge].clone());
                tasks.push(tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let admission = quotas
                            .acquire(&node, &policy, "", 1)
                            .await
                            .expect("a decision");
                        if admission.allowed {
                            admitted.fetch_add(1, Ordering::Relaxed);
                        } else {
                            // A gateway answers 429 and the client comes back later.
                            tokio::time::sleep(Duration::from_nanos(
                                admission.retry_after_ns.min(5_000_000),
                            ))
                            .await;
                        }
                    }
                }));
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            task.await.expect("requester");
        }
        total_elapsed = started.elapsed();
        for (edge, count) in requesters.iter().enumerate() {
            let got = admitted[edge].load(Ordering::Relaxed) - before[edge];
            if *count > 0 {
                assert!(
                    got > RATE_PER_S / 20,
                    "edge e{} with {count} requesters got only {got} in 2 s",
                    edge + 1
                );
            }
        }
    }
    let total: u64 = admitted.iter().map(|a| a.load(Ordering::Relaxed)).sum();
    let allowed = BURST + (RATE_PER_S as f64 * total_elapsed.as_secs_f64()) as u64;
    assert!(
        total <= allowed,
        "admitted {total}, the policy allows {allowed}"
    );
    assert!(
        total * 10 >= allowed * 9,
        "admitted {total}, under 90 % of the {allowed} the policy allows"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_edge_policy_gives_each_cluster_edge_the_whole_budget_decided_alone() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let node = Node::start_single(dir.path(), "ledger")
        .await
        .expect("node");
    let policy = QuotaPolicy::new(
        "local",
        Algorithm::FixedWindow,
        Limit {
            count: 3,
            per_ns: 3_600_000_000_000,
            burst: 3,
        },
        Scope::PerEdge,
        vec!["user".into()],
        OnExceed::Reject,
    );
    let (a, b) = (
        Arc::new(EdgeQuotas::new("a", false)),
        Arc::new(EdgeQuotas::new("b", false)),
    );
    let node: Arc<dyn OpHost> = Arc::new(node);
    for edge in [&a, &b] {
        for key in ["alice", "bob"] {
            for _ in 0..3 {
                let admission = edge.acquire(&node, &policy, key, 1).await.expect("decided");
                assert!(admission.allowed);
            }
            let denied = edge.acquire(&node, &policy, key, 1).await.expect("decided");
            assert!(!denied.allowed && denied.retry_after_ns > 0, "{denied:?}");
        }
    }
    // Nothing of it went through the ledger.
    let usage = edgeflow_runtime::op_host::Query::Quota {
        policy: policy.clone(),
        key: "alice".into(),
        at_ms: 0,
    };
    let answer = node
        .query(usage, edgeflow_runtime::op_host::Freshness::Linearizable)
        .await
        .expect("an answer");
    assert!(
        matches!(&answer, edgeflow_runtime::op_host::QueryAnswer::Quota(u) if u.used == 0),
        "{answer:?}"
    );
    assert_eq!(a.local_usage(&policy, "alice").used, 3);
}

/// The node as the ledger's host, counting the lease requests that reach it.
struct CountingHost {
    node: Arc<Node>,
    lease_requests: AtomicU64,
}

impl OpHost for CountingHost {
    fn name(&self) -> &str {
        OpHost::name(self.node.as_ref())
    }

    fn write_once(
        &self,
        command: edgeflow_runtime::command::Command,
        idempotency_key: Option<String>,
    ) -> futures::future::BoxFuture<
        '_,
        Result<edgeflow_runtime::command::Response, edgeflow_runtime::node::NodeError>,
    > {
        if matches!(command, edgeflow_runtime::command::Command::Quota(_)) {
            self.lease_requests.fetch_add(1, Ordering::Relaxed);
        }
        OpHost::write_once(self.node.as_ref(), command, idempotency_key)
    }

    fn query(
        &self,
        query: edgeflow_runtime::op_host::Query,
        freshness: edgeflow_runtime::op_host::Freshness,
    ) -> futures::future::BoxFuture<
        '_,
        Result<edgeflow_runtime::op_host::QueryAnswer, edgeflow_runtime::node::NodeError>,
    > {
        OpHost::query(self.node.as_ref(), query, freshness)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_demand_costs_one_lease_request_a_second() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let node = Arc::new(
        Node::start_single(dir.path(), "ledger")
            .await
            .expect("node"),
    );
    let counting = Arc::new(CountingHost {
        node,
        lease_requests: AtomicU64::new(0),
    });
    let host: Arc<dyn OpHost> = counting.clone();
    // Plenty of budget: the demand, not the supply, sizes the leases.
    let policy = QuotaPolicy::new(
        "steady",
        Algorithm::TokenBucket,
        Limit {
            count: 100_000,
            per_ns: 1_000_000_000,
            burst: 100_000,
        },
        Scope::Global,
        Vec::new(),
        OnExceed::Reject,
    );
    let edge = Arc::new(EdgeQuotas::new("e1", false));
    // About 1,000 requests a second for 7 s; lease requests counted over the last 5.
    let mut ticks = tokio::time::interval(Duration::from_millis(1));
    let started = Instant::now();
    let mut counted_from = None;
    let mut denied = 0u64;
    while started.elapsed() < Duration::from_secs(7) {
        ticks.tick().await;
        if counted_from.is_none() && started.elapsed() >= Duration::from_secs(2) {
            counted_from = Some((
                Instant::now(),
                counting.lease_requests.load(Ordering::Relaxed),
            ));
        }
        let admission = edge.acquire(&host, &policy, "", 1).await.expect("decided");
        denied += u64::from(!admission.allowed);
    }
    let (from, before) = counted_from.expect("counted");
    let requests = counting.lease_requests.load(Ordering::Relaxed) - before;
    let per_second = requests as f64 / from.elapsed().as_secs_f64();
    eprintln!(
        "{requests} lease requests in {:?}: {per_second:.2}/s",
        from.elapsed()
    );
    assert_eq!(denied, 0, "a budget far above the demand denied requests");
    assert!(
        per_second <= 1.25,
        "{per_second:.2} lease requests a second at steady demand"
    );
}
