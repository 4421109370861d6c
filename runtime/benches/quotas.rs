//! Local rate-limit decisions (criterion): a request decided from a lease in hand (the
//! hot path of a global policy on an edge), a per-edge budget, and the algorithms on
//! their own — beside governor's GCRA (`check`) on the same machine, the reference the
//! issue measures against. `cargo bench -p edgeflow-runtime --bench quotas`.

use criterion::{criterion_group, criterion_main, Criterion};
use edgeflow_runtime::command::{Command, Response};
use edgeflow_runtime::node::NodeError;
use edgeflow_runtime::op_host::{Freshness, OpHost, Query, QueryAnswer};
use edgeflow_runtime::quotas::algorithm::{Algorithm, Budget, Limit};
use edgeflow_runtime::quotas::{EdgeQuotas, LeaseAnswer, OnExceed, QuotaPolicy, Scope};
use futures::future::BoxFuture;
use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A host whose ledger grants every lease in full at once: the benchmark measures the
/// decisions made from leases, not the Raft round that grants them.
struct GrantingHost;

impl OpHost for GrantingHost {
    fn name(&self) -> &str {
        "bench"
    }

    fn write_once(
        &self,
        command: Command,
        _: Option<String>,
    ) -> BoxFuture<'_, Result<Response, NodeError>> {
        Box::pin(async move {
            let Command::Quota(edgeflow_runtime::quotas::QuotaCommand::Lease { want, .. }) =
                command
            else {
                return Ok(Response::Nothing);
            };
            Ok(Response::Quota(LeaseAnswer {
                granted: want,
                remaining: 0,
                granted_at_ms: 0,
                expires_at_ms: 3_600_000,
                retry_after_ns: None,
            }))
        })
    }

    fn query(&self, _: Query, _: Freshness) -> BoxFuture<'_, Result<QueryAnswer, NodeError>> {
        Box::pin(async { Err(NodeError::Refused("not in this benchmark".into())) })
    }
}

fn policy(scope: Scope) -> QuotaPolicy {
    QuotaPolicy::new(
        "bench",
        Algorithm::TokenBucket,
        Limit {
            count: 1_000_000_000,
            per_ns: 1_000_000_000,
            burst: 1_000_000_000,
        },
        scope,
        vec![],
        OnExceed::Reject,
    )
}

/// A runtime for the async paths, an edge's quotas and the host that grants leases.
fn setup() -> (tokio::runtime::Runtime, Arc<EdgeQuotas>, Arc<dyn OpHost>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let host: Arc<dyn OpHost> = Arc::new(GrantingHost);
    (runtime, Arc::new(EdgeQuotas::new("bench", false)), host)
}

fn decisions(c: &mut Criterion) {
    let (runtime, quotas, host) = setup();
    let global = policy(Scope::Global);
    // Warm the lease: the first request leases a large share.
    for _ in 0..1_000 {
        runtime
            .block_on(quotas.acquire(&host, &global, "", 1))
            .expect("admitted");
    }
    c.bench_function("global policy, lease in hand (decide_from_lease)", |b| {
        b.iter(|| {
            // When the lease runs out, a new one (the granting host answers at once):
            // its cost is in the figure, amortised over the lease.
            quotas
                .decide_from_lease(black_box(&global), "", 1)
                .map(|(admission, refill)| {
                    if refill {
                        runtime.block_on(quotas.refill(host.as_ref(), &global, ""));
                    }
                    admission
                })
                .unwrap_or_else(|| {
                    runtime
                        .block_on(quotas.acquire(&host, &global, "", 1))
                        .expect("admitted")
                })
        })
    });
    let keyed = QuotaPolicy::new(
        "bench_by_user",
        Algorithm::TokenBucket,
        global.limit,
        Scope::Global,
        vec!["user".into()],
        OnExceed::Reject,
    );
    for _ in 0..1_000 {
        runtime
            .block_on(quotas.acquire(&host, &keyed, "alice", 1))
            .expect("admitted");
    }
    c.bench_function(
        "global policy with `by`, lease in hand (decide_from_lease)",
        |b| {
            b.iter(|| {
                quotas
                    .decide_from_lease(black_box(&keyed), "alice", 1)
                    .map(|(admission, refill)| {
                        if refill {
                            runtime.block_on(quotas.refill(host.as_ref(), &keyed, "alice"));
                        }
                        admission
                    })
                    .unwrap_or_else(|| {
                        runtime
                            .block_on(quotas.acquire(&host, &keyed, "alice", 1))
                            .expect("admitted")
                    })
            })
        },
    );
    c.bench_function("global policy, lease in hand (the async acquire)", |b| {
        b.iter(|| {
            runtime
                .block_on(quotas.acquire(&host, black_box(&global), "", 1))
                .expect("admitted")
        })
    });
    let local = policy(Scope::PerEdge);
    c.bench_function("per-edge policy", |b| {
        b.iter(|| {
            runtime
                .block_on(quotas.acquire(&host, black_box(&local), "", 1))
                .expect("admitted")
        })
    });
    let limit = Limit {
        count: 1_000_000_000,
        per_ns: 1_000_000_000,
        burst: 1_000_000_000,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64;
    let mut gcra = Budget::new(Algorithm::Gcra, &limit, now);
    let mut at = now;
    c.bench_function("gcra budget take (no clock read)", |b| {
        b.iter(|| {
            at += 1;
            black_box(gcra.take(&limit, at, 1))
        })
    });
    let governor = governor::RateLimiter::direct(governor::Quota::per_second(
        NonZeroU32::new(1_000_000_000).expect("non-zero"),
    ));
    c.bench_function("governor gcra check", |b| {
        b.iter(|| black_box(governor.check()))
    });
    c.bench_function("the clock read a decision makes (Instant::now)", |b| {
        b.iter(|| black_box(std::time::Instant::now()))
    });
}

/// The distribution of single decisions from a lease in hand (criterion reports means):
/// 1,000,000 decisions each timed alone, printed as percentiles. Each time includes one
/// extra clock read (about 17 ns here), so these are upper bounds.
fn decision_percentiles(_: &mut Criterion) {
    let (runtime, quotas, host) = setup();
    let global = policy(Scope::Global);
    runtime
        .block_on(quotas.acquire(&host, &global, "", 1))
        .expect("admitted");
    let mut times = Vec::with_capacity(1_000_000);
    for _ in 0..1_000_000 {
        let started = std::time::Instant::now();
        let decided = quotas.decide_from_lease(black_box(&global), "", 1);
        times.push(started.elapsed().as_nanos() as u64);
        if let Some((_, true)) = decided {
            runtime.block_on(quotas.refill(host.as_ref(), &global, ""));
        }
        if decided.is_none() {
            runtime
                .block_on(quotas.acquire(&host, &global, "", 1))
                .expect("admitted");
        }
    }
    times.sort_unstable();
    let at = |fraction: f64| times[((times.len() as f64 * fraction) as usize).min(times.len() - 1)];
    eprintln!(
        "decide_from_lease, one at a time (ns, clock read included): p50 {} p99 {} p99.9 {} max {}",
        at(0.5),
        at(0.99),
        at(0.999),
        at(1.0)
    );
}

criterion_group!(benches, decisions, decision_percentiles);
criterion_main!(benches);
