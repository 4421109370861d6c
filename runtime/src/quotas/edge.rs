//! An edge's side of rate limiting: the decision for each request, made in this
//! process. A global policy's tokens come from leases the ledger grants (one Raft
//! proposal per lease, sized by this edge's demand over the last second so steady
//! traffic needs about one a second); a lease is counted from when this edge asked, so
//! it ends here no later than in the ledger. A per-edge policy's budget lives only
//! here (on the embedded node: in its ledger, so it holds across runs); keys idle long enough that their budget is full again are forgotten, so memory
//! stays bounded whatever the key cardinality (`MAX_LOCAL_KEYS`).

use super::algorithm::{Budget, Decision, Limit};
use super::by_policy::ByPolicy;
use super::ledger::{LeaseAnswer, QuotaCommand, Usage};
use super::policy::{QuotaPolicy, Scope};
use crate::command::{Command, Response};
use crate::node::NodeError;
use crate::op_host::OpHost;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Policies whose decisions an edge counts (past it, new names are not counted).
pub const MAX_COUNTED_POLICIES: usize = 256;
/// The longest budget key (a `by` value, or several as a JSON array).
pub const MAX_KEY_BYTES: usize = 1_024;
/// Keys of per-edge budgets kept: past it, budgets as full as new ones are dropped, and
/// while still past it a new key waits.
const MAX_LOCAL_KEYS: usize = 100_000;
/// The longest a denial is remembered here without asking the ledger again.
const LEASE_TTL_NS: u64 = super::ledger::LEASE_TTL_MS * 1_000_000;
/// Demand is measured over windows of this length.
const DEMAND_WINDOW: Duration = Duration::from_secs(1);

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

/// A lease in hand, and the demand that sized it.
#[derive(Debug)]
struct Held {
    tokens: u64,
    /// What the ledger had left beyond this lease when it granted it.
    ledger_remaining: u64,
    valid_until: Instant,
    demand: Demand,
    /// After a denial: until when the ledger said nothing could be granted — requests
    /// until then are denied here, without asking it again (no proposal per denial).
    denied_until: Instant,
}

/// Tokens asked for in the current and the last full demand window.
#[derive(Debug)]
struct Demand {
    since: Instant,
    current: u64,
    last: u64,
}

impl Demand {
    fn new(now: Instant) -> Demand {
        Demand {
            since: now,
            current: 0,
            last: 0,
        }
    }

    fn note(&mut self, now: Instant, tokens: u64) {
        let elapsed = now.duration_since(self.since);
        if elapsed >= DEMAND_WINDOW {
            self.last = if elapsed < 2 * DEMAND_WINDOW {
                self.current
            } else {
                0
            };
            self.current = 0;
            self.since = now;
        }
        self.current += tokens;
    }

    /// Tokens a lease of `LEASE_TTL_MS` should carry: the higher of the last and the
    /// current window's demand.
    fn lease_size(&self) -> u64 {
        self.last.max(self.current)
    }
}

#[derive(Debug)]
struct Local {
    budget: Budget,
    limit: Limit,
    most: u64,
}

impl Held {
    fn new(now: Instant) -> Held {
        Held {
            tokens: 0,
            ledger_remaining: 0,
            valid_until: now,
            demand: Demand::new(now),
            denied_until: now,
        }
    }
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

    /// Decides a request for `tokens` of `policy` with `key`.
    pub async fn acquire(
        &self,
        host: &dyn OpHost,
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
            return Admission {
                allowed: false,
                remaining: 0,
                retry_after_ns: policy.limit.per_ns,
            };
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

    /// The decision from the lease in hand, without waiting: `None` when the lease
    /// cannot cover the request (then a new one must be asked for). The hot path of a
    /// global policy: one lock, two lookups, one clock read.
    pub fn decide_from_lease(
        &self,
        policy: &QuotaPolicy,
        key: &str,
        tokens: u64,
    ) -> Option<Admission> {
        let now = Instant::now();
        let mut leases = locked(&self.leases);
        let held = leases.get(policy.id(), policy.budget_key(key))?;
        held.demand.note(now, tokens);
        if held.valid_until > now && held.tokens >= tokens {
            held.tokens -= tokens;
            return Some(Admission {
                allowed: true,
                remaining: held.tokens + held.ledger_remaining,
                retry_after_ns: 0,
            });
        }
        if held.denied_until > now {
            return Some(Admission {
                allowed: false,
                remaining: 0,
                retry_after_ns: held.denied_until.duration_since(now).as_nanos() as u64,
            });
        }
        None
    }

    /// How many tokens to ask for: the recent demand, at least the request (`None`:
    /// this edge holds `MAX_LOCAL_KEYS` live leases of the policy, a new key waits).
    fn lease_size(&self, policy: &QuotaPolicy, key: &str, tokens: u64) -> Option<u64> {
        let now = Instant::now();
        let mut leases = locked(&self.leases);
        let held = leases.get_or_insert(
            policy.id(),
            policy.budget_key(key),
            MAX_LOCAL_KEYS,
            |held| held.valid_until <= now,
            || Held::new(now),
        )?;
        if held.demand.current == 0 {
            held.demand.note(now, tokens);
        }
        Some(
            held.demand
                .lease_size()
                .clamp(tokens, policy.most_at_once()),
        )
    }

    async fn acquire_leased(
        &self,
        host: &dyn OpHost,
        policy: &QuotaPolicy,
        key: &str,
        tokens: u64,
    ) -> Result<Admission, QuotaError> {
        if let Some(admission) = self.decide_from_lease(policy, key, tokens) {
            return Ok(admission);
        }
        let Some(want) = self.lease_size(policy, key, tokens) else {
            return Ok(Admission {
                allowed: false,
                remaining: 0,
                retry_after_ns: LEASE_TTL_NS,
            });
        };
        let asked = Instant::now();
        let command = Command::Quota(QuotaCommand::Lease {
            policy: policy.clone(),
            key: policy.budget_key(key).to_string(),
            edge: self.edge.clone(),
            need: tokens,
            want,
        });
        let answer = match host.write_once(command, None).await? {
            Response::Quota(answer) => answer,
            other => return Err(QuotaError::Unexpected(format!("{other:?}"))),
        };
        Ok(self.take_lease(policy, key, asked, tokens, &answer))
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
            return Admission {
                allowed: false,
                remaining: 0,
                retry_after_ns,
            };
        }
        let lasts =
            Duration::from_millis(answer.expires_at_ms.saturating_sub(answer.granted_at_ms));
        let held = leases.get_or_insert(
            policy.id(),
            policy.budget_key(key),
            MAX_LOCAL_KEYS,
            |held| held.valid_until <= asked,
            || Held::new(asked),
        );
        // What is left of an older lease is not carried over: its tokens end with it.
        // (No room to keep the lease: the request is admitted, the rest is lost.)
        let remaining = match held {
            Some(held) => {
                held.tokens = answer.granted - tokens;
                held.ledger_remaining = answer.remaining;
                held.valid_until = asked + lasts;
                held.tokens + held.ledger_remaining
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

/// The guarded value; a lock poisoned by a panicking holder is still used (what it
/// guards is counters and leases, consistent after every statement).
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}
