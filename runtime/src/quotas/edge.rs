//! An edge's side of rate limiting: the decision for each request, made in this
//! process. A global policy's tokens come from leases the ledger grants (one Raft
//! proposal per lease, sized by this edge's demand over the last second so steady
//! traffic needs about one a second); a lease is counted from when this edge asked, so
//! it ends here no later than in the ledger. A per-edge policy's budget lives only
//! here (on the embedded node: in its ledger, so it holds across runs); keys idle long enough that their budget is full again are forgotten, so memory
//! stays bounded whatever the key cardinality (`MAX_LOCAL_KEYS`).

use super::algorithm::{Budget, Decision, Limit};
use super::by_policy::ByPolicy;
use super::held::Held;
use super::ledger::{LeaseAnswer, QuotaCommand, Returned, Usage, MAX_RETURNS};
use super::policy::{QuotaPolicy, Scope};
use crate::command::{Command, Response};
use crate::node::NodeError;
use crate::op_host::OpHost;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Policies whose decisions an edge counts (past it, new names are not counted).
pub const MAX_COUNTED_POLICIES: usize = 256;
/// The longest budget key (a `by` value, or several as a JSON array).
pub const MAX_KEY_BYTES: usize = 1_024;
/// Keys of per-edge budgets kept: past it, budgets as full as new ones are dropped, and
/// while still past it a new key waits.
const MAX_LOCAL_KEYS: usize = 100_000;
/// The longest a lease lives, and a denial is remembered here without asking the
/// ledger again.
const LEASE_TTL: Duration = Duration::from_millis(super::ledger::LEASE_TTL_MS);
const LEASE_TTL_NS: u64 = super::ledger::LEASE_TTL_MS * 1_000_000;
/// After a refill found the cluster unreachable: no other before this long.
const REFILL_BACKOFF: Duration = Duration::from_millis(100);

/// What a request got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub allowed: bool,
    /// Tokens left: a per-edge budget's; for a global policy an estimate of the
    /// fleet's — this edge's lease plus what the ledger had left at its last grant.
    pub remaining: u64,
    /// When denied: how long until the request could be admitted (0 when allowed).
    pub retry_after_ns: u64,
}

impl Admission {
    fn denied(retry_after_ns: u64) -> Admission {
        Admission {
            allowed: false,
            remaining: 0,
            retry_after_ns,
        }
    }
}

/// How many requests of a policy an edge admitted and denied (shadow mode: would have
/// denied) since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decisions {
    pub admitted: u64,
    pub denied: u64,
}

#[derive(Debug)]
pub enum QuotaError {
    /// A budget key longer than `MAX_KEY_BYTES`.
    KeyTooLong {
        policy: String,
        bytes: usize,
    },
    /// More tokens than the policy can ever admit at once, or none.
    Tokens {
        policy: String,
        tokens: u64,
        most: u64,
    },
    Node(NodeError),
    /// The cluster answered something else than a lease.
    Unexpected(String),
}

impl std::fmt::Display for QuotaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QuotaError::Tokens {
                policy,
                tokens: 0,
                ..
            } => write!(f, "a request of policy `{policy}` takes at least 1 token"),
            QuotaError::Tokens {
                policy,
                tokens,
                most,
            } => write!(
                f,
                "{tokens} tokens can never be admitted at once by policy `{policy}` (at most {most})"
            ),
            QuotaError::KeyTooLong { policy, bytes } => write!(
                f,
                "a key of policy `{policy}` is at most {MAX_KEY_BYTES} bytes, not {bytes}"
            ),
            QuotaError::Node(error) => write!(f, "{error}"),
            QuotaError::Unexpected(answer) => write!(f, "the cluster answered {answer}"),
        }
    }
}

impl From<NodeError> for QuotaError {
    fn from(error: NodeError) -> QuotaError {
        QuotaError::Node(error)
    }
}

#[derive(Debug)]
struct Local {
    budget: Budget,
    limit: Limit,
    most: u64,
}

pub struct EdgeQuotas {
    edge: String,
    /// The embedded node keeps per-edge budgets in the ledger too (its one edge, on its
    /// own disk), so they hold across `edgeflow run`s on one data dir; a cluster member
    /// keeps them in memory, decided without the quorum.
    per_edge_in_ledger: bool,
    leases: Mutex<ByPolicy<Held>>,
    local: Mutex<ByPolicy<Local>>,
    decisions: Mutex<BTreeMap<String, Decisions>>,
    /// Rung when a refill has been answered: a request that found the leases dry while
    /// one was on its way waits for it rather than asking the ledger itself (the tokens
    /// it needs may be in that very refill).
    refilled: tokio::sync::Notify,
}

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

impl EdgeQuotas {
    pub fn new(edge: &str, per_edge_in_ledger: bool) -> EdgeQuotas {
        EdgeQuotas {
            edge: edge.to_string(),
            per_edge_in_ledger,
            leases: Mutex::new(ByPolicy::default()),
            local: Mutex::new(ByPolicy::default()),
            decisions: Mutex::new(BTreeMap::new()),
            refilled: tokio::sync::Notify::new(),
        }
    }

    /// The edge this node decides for.
    pub fn edge(&self) -> &str {
        &self.edge
    }

    /// The decisions counted so far, by policy name (for heartbeats and `policy show`).
    pub fn decisions(&self) -> BTreeMap<String, Decisions> {
        locked(&self.decisions).clone()
    }

    fn count(&self, policy: &QuotaPolicy, admission: &Admission) {
        let mut decisions = locked(&self.decisions);
        if !decisions.contains_key(&policy.name) {
            if decisions.len() >= MAX_COUNTED_POLICIES {
                return;
            }
            decisions.insert(policy.name.clone(), Decisions::default());
        }
        let Some(counted) = decisions.get_mut(&policy.name) else {
            return;
        };
        if admission.allowed {
            counted.admitted += 1;
        } else {
            counted.denied += 1;
        }
    }

    /// Decides a request for `tokens` of `policy` with `key`. A global policy's lease
    /// running low is refilled in the background (on `host`), so the next requests
    /// need not wait for the ledger.
    pub async fn acquire(
        self: &Arc<Self>,
        host: &Arc<dyn OpHost>,
        policy: &QuotaPolicy,
        key: &str,
        tokens: u64,
    ) -> Result<Admission, QuotaError> {
        let most = policy.most_at_once();
        if tokens == 0 || tokens > most {
            return Err(QuotaError::Tokens {
                policy: policy.name.clone(),
                tokens,
                most,
            });
        }
        if key.len() > MAX_KEY_BYTES {
            return Err(QuotaError::KeyTooLong {
                policy: policy.name.clone(),
                bytes: key.len(),
            });
        }
        let admission = if self.uses_ledger(policy) {
            self.acquire_leased(host, policy, key, tokens).await?
        } else {
            self.acquire_local(policy, key, tokens)
        };
        self.count(policy, &admission);
        Ok(admission)
    }

    /// Whether `policy`'s budgets are the ledger's (leased) or this process's own.
    pub fn uses_ledger(&self, policy: &QuotaPolicy) -> bool {
        policy.scope == Scope::Global || self.per_edge_in_ledger
    }

    fn acquire_local(&self, policy: &QuotaPolicy, key: &str, tokens: u64) -> Admission {
        let now_ns = unix_ns();
        let mut local = locked(&self.local);
        let entry = local.get_or_insert(
            policy.id(),
            policy.budget_key(key),
            MAX_LOCAL_KEYS,
            |entry| entry.budget.available(&entry.limit, now_ns) >= entry.most,
            || Local {
                budget: Budget::new(policy.algorithm, &policy.limit, now_ns),
                limit: policy.limit,
                most: policy.most_at_once(),
            },
        );
        let Some(entry) = entry else {
            // Every key is in use: a new one waits (never a fresh budget for an old key).
            return Admission::denied(policy.limit.per_ns);
        };
        match entry.budget.take(&policy.limit, now_ns, tokens) {
            Decision::Allowed { remaining } => Admission {
                allowed: true,
                remaining,
                retry_after_ns: 0,
            },
            Decision::Denied { retry_after_ns } => Admission {
                allowed: false,
                remaining: entry.budget.available(&policy.limit, now_ns),
                retry_after_ns: retry_after_ns.unwrap_or(u64::MAX),
            },
        }
    }

    /// The decision from the lease in hand, without waiting: `None` when the leases in
    /// hand cannot cover the request (then a new one must be asked for); with `true`
    /// when the next lease should be asked for now. The hot path of a global policy:
    /// one lock, two lookups, one clock read.
    pub fn decide_from_lease(
        &self,
        policy: &QuotaPolicy,
        key: &str,
        tokens: u64,
    ) -> Option<(Admission, bool)> {
        let now = Instant::now();
        let mut leases = locked(&self.leases);
        let held = leases.get(policy.id(), policy.budget_key(key))?;
        held.demand.note(now, tokens);
        if held.spend(now, tokens) {
            let admission = Admission {
                allowed: true,
                remaining: held.tokens(now) + held.ledger_remaining,
                retry_after_ns: 0,
            };
            return Some((admission, held.should_refill(now, LEASE_TTL)));
        }
        if held.denied_until > now {
            let wait = held.denied_until.duration_since(now).as_nanos() as u64;
            return Some((Admission::denied(wait), false));
        }
        None
    }

    /// Whether a refill of this budget is on its way.
    fn refilling(&self, policy: &QuotaPolicy, key: &str) -> bool {
        locked(&self.leases)
            .get(policy.id(), policy.budget_key(key))
            .is_some_and(|held| held.is_asking())
    }

    /// How many tokens to ask for — the recent demand, at least `tokens` — and the
    /// unspent tokens of ended leases to return (`None`: this edge holds
    /// `MAX_LOCAL_KEYS` live leases of the policy, a new key waits).
    fn lease_size(
        &self,
        policy: &QuotaPolicy,
        key: &str,
        tokens: u64,
    ) -> Option<(u64, Vec<Returned>)> {
        let now = Instant::now();
        let mut leases = locked(&self.leases);
        let held = leases.get_or_insert(
            policy.id(),
            policy.budget_key(key),
            MAX_LOCAL_KEYS,
            |held| held.is_spent(now),
            || Held::new(now),
        )?;
        if held.demand.is_idle() {
            held.demand.note(now, tokens);
        }
        let want = lease_worth(held.demand.lease_size()).clamp(tokens, policy.most_at_once());
        Some((want, held.take_returns(now)))
    }

    async fn ask_ledger(
        &self,
        host: &dyn OpHost,
        policy: &QuotaPolicy,
        key: &str,
        (need, want): (u64, u64),
        returned: Vec<Returned>,
    ) -> Result<LeaseAnswer, QuotaError> {
        let command = Command::Quota(QuotaCommand::Lease {
            policy: policy.clone(),
            key: policy.budget_key(key).to_string(),
            edge: self.edge.clone(),
            need,
            want,
            returned,
        });
        match host.write_once(command, None).await? {
            Response::Quota(answer) => Ok(answer),
            other => Err(QuotaError::Unexpected(format!("{other:?}"))),
        }
    }

    async fn acquire_leased(
        self: &Arc<Self>,
        host: &Arc<dyn OpHost>,
        policy: &QuotaPolicy,
        key: &str,
        tokens: u64,
    ) -> Result<Admission, QuotaError> {
        for _ in 0..2 {
            if let Some((admission, refill)) = self.decide_from_lease(policy, key, tokens) {
                if refill {
                    let (quotas, host) = (self.clone(), host.clone());
                    let (policy, key) = (policy.clone(), key.to_string());
                    tokio::spawn(async move { quotas.refill(host.as_ref(), &policy, &key).await });
                }
                return Ok(admission);
            }
            let refilled = self.refilled.notified();
            tokio::pin!(refilled);
            refilled.as_mut().enable();
            if !self.refilling(policy, key) {
                break;
            }
            let _ = tokio::time::timeout(LEASE_TTL, refilled).await;
        }
        let Some((want, returned)) = self.lease_size(policy, key, tokens) else {
            return Ok(Admission::denied(LEASE_TTL_NS));
        };
        let asked = Instant::now();
        let answer = self
            .ask_ledger(host.as_ref(), policy, key, (tokens, want), returned)
            .await?;
        Ok(self.take_lease(policy, key, asked, tokens, &answer))
    }

    /// Asks the ledger for the next lease of a budget whose leases run low (at least one
    /// token, up to a lease's life of the recent demand) and keeps what it grants beside
    /// them.
    pub async fn refill(&self, host: &dyn OpHost, policy: &QuotaPolicy, key: &str) {
        let now = Instant::now();
        let asking = {
            let mut leases = locked(&self.leases);
            leases.get(policy.id(), policy.budget_key(key)).map(|held| {
                let want = lease_worth(held.demand.lease_size());
                (want.clamp(1, policy.most_at_once()), held.take_returns(now))
            })
        };
        let Some((want, returned)) = asking else {
            return;
        };
        let asked = Instant::now();
        let answer = self
            .ask_ledger(host, policy, key, (1, want), returned)
            .await;
        let mut leases = locked(&self.leases);
        let Some(held) = leases.get(policy.id(), policy.budget_key(key)) else {
            self.refilled.notify_waiters();
            return;
        };
        match answer {
            Ok(answer) if answer.granted > 0 => {
                held.ledger_remaining = answer.remaining;
                let life = (asked, lease_life(&answer));
                held.add_lease(life, answer.granted_at_ms, answer.granted, 0);
            }
            Ok(answer) => {
                let wait = answer
                    .retry_after_ns
                    .unwrap_or(LEASE_TTL_NS)
                    .min(LEASE_TTL_NS);
                held.refill_failed(asked, Duration::from_nanos(wait));
            }
            // The cluster could not be reached: the next miss asks (and waits) itself.
            Err(_) => held.refill_failed(asked, REFILL_BACKOFF),
        }
        drop(leases);
        self.refilled.notify_waiters();
    }

    /// Gives every unspent token in hand back to the ledger, for an edge that stops:
    /// a budget shared with other edges (or the next `edgeflow run` on the same data
    /// dir) gets them at once, not when the leases would have ended. Leases taken here
    /// are no longer spent. A return that fails leaves the tokens to end with their
    /// lease (under-admission for at most its life). One proposal per budget.
    pub async fn surrender(&self, host: &dyn OpHost) {
        let returns: Vec<(String, String, Vec<Returned>)> = {
            let mut leases = locked(&self.leases);
            leases
                .entries_mut()
                .map(|(id, key, held)| (id.to_string(), key.to_string(), held.surrender()))
                .filter(|(_, _, returned)| !returned.is_empty())
                .collect()
        };
        for (policy_id, key, returned) in returns {
            for chunk in returned.chunks(MAX_RETURNS) {
                let command = Command::Quota(QuotaCommand::Return {
                    policy_id: policy_id.clone(),
                    key: key.clone(),
                    edge: self.edge.clone(),
                    returned: chunk.to_vec(),
                });
                if host.write_once(command, None).await.is_err() {
                    return;
                }
            }
        }
    }

    /// Records a lease the ledger answered (asked at `asked`) and spends `tokens` of it.
    fn take_lease(
        &self,
        policy: &QuotaPolicy,
        key: &str,
        asked: Instant,
        tokens: u64,
        answer: &LeaseAnswer,
    ) -> Admission {
        let mut leases = locked(&self.leases);
        if answer.granted < tokens {
            let retry_after_ns = answer.retry_after_ns.unwrap_or(u64::MAX);
            if let Some(held) = leases.get(policy.id(), policy.budget_key(key)) {
                held.denied_until = asked + Duration::from_nanos(retry_after_ns.min(LEASE_TTL_NS));
            }
            return Admission::denied(retry_after_ns);
        }
        let held = leases.get_or_insert(
            policy.id(),
            policy.budget_key(key),
            MAX_LOCAL_KEYS,
            |held| held.is_spent(asked),
            || Held::new(asked),
        );
        // (No room to keep the lease: the request is admitted, the rest is lost.)
        let remaining = match held {
            Some(held) => {
                held.ledger_remaining = answer.remaining;
                let life = (asked, lease_life(answer));
                held.add_lease(life, answer.granted_at_ms, answer.granted, tokens);
                held.tokens(asked) + held.ledger_remaining
            }
            None => 0,
        };
        Admission {
            allowed: true,
            remaining,
            retry_after_ns: 0,
        }
    }

    /// A per-edge policy's usage on this edge.
    pub fn local_usage(&self, policy: &QuotaPolicy, key: &str) -> Usage {
        let now_ns = unix_ns();
        let most = policy.most_at_once();
        let mut local = locked(&self.local);
        let remaining = local
            .get(policy.id(), policy.budget_key(key))
            .map_or(most, |l| {
                l.budget.available(&policy.limit, now_ns).min(most)
            });
        Usage {
            used: most - remaining,
            limit: most,
            remaining,
            per_edge: BTreeMap::from([(self.edge.clone(), most - remaining)]),
        }
    }
}

/// Tokens a lease should carry for a demand of `per_second`: its life's worth (what is
/// left unspent goes back to the ledger).
fn lease_worth(per_second: u64) -> u64 {
    per_second.saturating_mul(super::ledger::LEASE_TTL_MS) / 1_000
}

/// How long a granted lease may be spent, counted from when it was asked for.
fn lease_life(answer: &LeaseAnswer) -> Duration {
    Duration::from_millis(answer.expires_at_ms.saturating_sub(answer.granted_at_ms))
}

/// The guarded value; a lock poisoned by a panicking holder is still used (what it
/// guards is counters and leases, consistent after every statement).
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}
