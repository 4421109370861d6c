//! The fleet's global budgets: this subsystem's slice of the replicated state, its
//! commands and how they apply. The ledger owns every global policy/key budget; an edge
//! asks it for a lease of tokens (at least what the request in hand needs, more when its
//! demand is steady) and then decides locally. Tokens are taken from the budget when
//! they are leased, so the tokens granted — and so the tokens admitted — never exceed
//! what the algorithm allows fleet-wide; a lease an edge cannot spend (it crashed, it
//! was cut off) is simply lost when it expires: the price of a fault is under-admission,
//! never over-admission. A grant takes at most half of what is left beyond the request,
//! so one edge's lease never starves the others. Tokens an edge did not spend before its
//! lease ended come back with its next lease request (or all at once when it stops) and
//! are put back in the budget — never more than the ledger granted that edge in that
//! lease and has not had back.

use super::algorithm::{Budget, Decision};
use super::policy::QuotaPolicy;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Budgets kept at most; past it, budgets as full as new ones are dropped, and while
/// still past it a new key is refused (under-admission, never over).
pub const MAX_BUDGETS: usize = 100_000;
/// The longest a lease lives (window algorithms: also never past the window's end).
/// Two seconds: an edge asks for the next lease at half of this, so steady demand
/// costs one proposal a second, and a lease never lapses while the next is on its way.
pub const LEASE_TTL_MS: u64 = 2_000;
/// Returns one lease request may carry.
pub const MAX_RETURNS: usize = 16;
/// Grants remembered per edge and budget, to match returns against (the newest).
const GRANTS_KEPT: usize = 8;
/// How long after its end a lease's unspent tokens may still be returned.
const RETURN_WINDOW_MS: u64 = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum QuotaCommand {
    /// An edge asks for at least `need` tokens and up to `want` of the policy's budget
    /// for `key`.
    Lease {
        policy: QuotaPolicy,
        key: String,
        edge: String,
        need: u64,
        want: u64,
        /// Unspent tokens of this edge's leases that have ended.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        returned: Vec<Returned>,
    },
    /// An edge gives back the unspent tokens of its leases of the budget of `policy_id`
    /// and `key` without asking for more: it is stopping, its leases will never be
    /// spent.
    Return {
        policy_id: String,
        key: String,
        edge: String,
        returned: Vec<Returned>,
    },
}

impl QuotaCommand {
    /// The edge the command speaks for (a worker may speak only for its own).
    pub fn edge(&self) -> &str {
        match self {
            QuotaCommand::Lease { edge, .. } | QuotaCommand::Return { edge, .. } => edge,
        }
    }
}

/// Tokens of a lease its edge did not spend before it ended: it never will.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Returned {
    /// The lease's `granted_at_ms`, as the ledger answered it.
    pub granted_at_ms: u64,
    pub tokens: u64,
}

/// A lease the ledger granted an edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub granted_at_ms: u64,
    pub until_ms: u64,
    /// Granted and not returned (0 once the lease was returned).
    pub outstanding: u64,
}

/// What a lease request got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseAnswer {
    /// Tokens granted (0: denied).
    pub granted: u64,
    /// Whole tokens left in the budget after the grant.
    pub remaining: u64,
    /// The log time of the grant, and after which the lease's tokens may no longer be
    /// spent (Unix ms): the edge counts the difference from when it asked.
    pub granted_at_ms: u64,
    pub expires_at_ms: u64,
    /// When denied: how long until `need` tokens could be granted (none: never).
    pub retry_after_ns: Option<u64>,
}

/// One global budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalBudget {
    pub policy: QuotaPolicy,
    pub budget: Budget,
    /// Each edge's recent grants (live, or ended within `RETURN_WINDOW_MS`).
    #[serde(default)]
    pub grants: BTreeMap<String, Vec<Grant>>,
    pub last_grant_ms: u64,
}

/// How much of a budget is used now, for `ratelimit.usage` and `policy show`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub used: u64,
    pub limit: u64,
    pub remaining: u64,
    /// Tokens each edge holds in live leases.
    pub per_edge: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    budgets: BTreeMap<String, GlobalBudget>,
}

/// A budget's name in the ledger: the policy's definition id and the key.
pub fn budget_name(policy: &QuotaPolicy, key: &str) -> String {
    format!("{}/{}", policy.id(), policy.budget_key(key))
}

/// Puts back in `entry`'s budget the unspent tokens `edge` returns: each lease once (a
/// command applied twice gives back nothing more), never more of it than was granted,
/// and only leases the ledger granted that edge.
fn take_back(entry: &mut GlobalBudget, edge: &str, returned: &[Returned], now_ns: u64) {
    let limit = entry.policy.limit;
    for back in returned.iter().take(MAX_RETURNS) {
        let grant = entry.grants.get_mut(edge).and_then(|grants| {
            grants
                .iter_mut()
                .find(|g| g.granted_at_ms == back.granted_at_ms)
        });
        if let Some(grant) = grant {
            let tokens = back.tokens.min(grant.outstanding);
            grant.outstanding = 0;
            let taken_at_ns = grant.granted_at_ms.saturating_mul(1_000_000);
            entry.budget.give_back(&limit, now_ns, taken_at_ns, tokens);
        }
    }
}

impl Ledger {
    pub fn apply(&mut self, command: &QuotaCommand, now_ms: u64) -> LeaseAnswer {
        match command {
            QuotaCommand::Lease {
                policy,
                key,
                edge,
                need,
                want,
                returned,
            } => self.lease(policy, key, edge, (*need, *want), returned, now_ms),
            QuotaCommand::Return {
                policy_id,
                key,
                edge,
                returned,
            } => self.give_back(&format!("{policy_id}/{key}"), edge, returned, now_ms),
        }
    }

    fn give_back(
        &mut self,
        name: &str,
        edge: &str,
        returned: &[Returned],
        now_ms: u64,
    ) -> LeaseAnswer {
        let now_ns = now_ms.saturating_mul(1_000_000);
        let remaining = match self.budgets.get_mut(name) {
            Some(entry) => {
                take_back(entry, edge, returned, now_ns);
                entry.budget.available(&entry.policy.limit, now_ns)
            }
            None => 0,
        };
        LeaseAnswer {
            granted: 0,
            remaining,
            granted_at_ms: now_ms,
            expires_at_ms: now_ms,
            retry_after_ns: None,
        }
    }

    fn lease(
        &mut self,
        policy: &QuotaPolicy,
        key: &str,
        edge: &str,
        (need, want): (u64, u64),
        returned: &[Returned],
        now_ms: u64,
    ) -> LeaseAnswer {
        let now_ns = now_ms.saturating_mul(1_000_000);
        let name = budget_name(policy, key);
        if !self.budgets.contains_key(&name) && !self.make_room(now_ms) {
            return LeaseAnswer {
                granted: 0,
                remaining: 0,
                granted_at_ms: now_ms,
                expires_at_ms: now_ms,
                retry_after_ns: Some(policy.limit.per_ns),
            };
        }
        let entry = self.budgets.entry(name).or_insert_with(|| GlobalBudget {
            policy: policy.clone(),
            budget: Budget::new(policy.algorithm, &policy.limit, now_ns),
            grants: BTreeMap::new(),
            last_grant_ms: now_ms,
        });
        for grants in entry.grants.values_mut() {
            grants.retain(|g| g.until_ms.saturating_add(RETURN_WINDOW_MS) > now_ms);
        }
        entry.grants.retain(|_, grants| !grants.is_empty());
        let limit = policy.limit;
        take_back(entry, edge, returned, now_ns);
        let available = entry.budget.available(&limit, now_ns);
        if need == 0 || need > available {
            let retry_after_ns = match entry.budget.clone().take(&limit, now_ns, need.max(1)) {
                Decision::Denied { retry_after_ns } => retry_after_ns,
                Decision::Allowed { .. } => Some(0),
            };
            return LeaseAnswer {
                granted: 0,
                remaining: available,
                granted_at_ms: now_ms,
                expires_at_ms: now_ms,
                retry_after_ns,
            };
        }
        // The request in hand, and at most half of what is left beyond it.
        let granted = want.clamp(need, need + (available - need) / 2);
        let Decision::Allowed { remaining } = entry.budget.take(&limit, now_ns, granted) else {
            // Not reached: `granted` is at most what `available` reported.
            return LeaseAnswer {
                granted: 0,
                remaining: available,
                granted_at_ms: now_ms,
                expires_at_ms: now_ms,
                retry_after_ns: Some(limit.per_ns),
            };
        };
        let expires_at_ms = lease_end(policy, now_ms);
        let grants = entry.grants.entry(edge.to_string()).or_default();
        if grants.len() >= GRANTS_KEPT {
            grants.remove(0);
        }
        grants.push(Grant {
            granted_at_ms: now_ms,
            until_ms: expires_at_ms,
            outstanding: granted,
        });
        entry.last_grant_ms = now_ms;
        LeaseAnswer {
            granted,
            remaining,
            granted_at_ms: now_ms,
            expires_at_ms,
            retry_after_ns: None,
        }
    }

    /// Drops budgets as full as new ones with no live lease; whether there is room now.
    fn make_room(&mut self, now_ms: u64) -> bool {
        if self.budgets.len() < MAX_BUDGETS {
            return true;
        }
        let now_ns = now_ms.saturating_mul(1_000_000);
        self.budgets.retain(|_, b| {
            let idle = b.grants.values().flatten().all(|g| g.until_ms <= now_ms);
            let full = b.budget.available(&b.policy.limit, now_ns) >= b.policy.most_at_once();
            !(idle && full)
        });
        self.budgets.len() < MAX_BUDGETS
    }

    /// The usage of `policy`'s budget for `key` at `now_ms` (a budget never used is
    /// full).
    pub fn usage(&self, policy: &QuotaPolicy, key: &str, now_ms: u64) -> Usage {
        let now_ns = now_ms.saturating_mul(1_000_000);
        let most = policy.most_at_once();
        match self.budgets.get(&budget_name(policy, key)) {
            None => Usage {
                used: 0,
                limit: most,
                remaining: most,
                per_edge: BTreeMap::new(),
            },
            Some(b) => {
                let remaining = b.budget.available(&policy.limit, now_ns).min(most);
                Usage {
                    used: most - remaining,
                    limit: most,
                    remaining,
                    per_edge: b
                        .grants
                        .iter()
                        .map(|(edge, grants)| {
                            let live = grants.iter().filter(|g| g.until_ms > now_ms);
                            (edge.clone(), live.map(|g| g.outstanding).sum())
                        })
                        .filter(|(_, tokens)| *tokens > 0)
                        .collect(),
                }
            }
        }
    }
}

/// When a lease granted at `now_ms` ends: after `LEASE_TTL_MS`, and for window
/// algorithms no later than the end of the window its tokens belong to.
fn lease_end(policy: &QuotaPolicy, now_ms: u64) -> u64 {
    use super::algorithm::Algorithm;
    let ttl_end = now_ms + LEASE_TTL_MS;
    match policy.algorithm {
        Algorithm::TokenBucket | Algorithm::Gcra => ttl_end,
        Algorithm::FixedWindow | Algorithm::SlidingWindow => {
            let per = policy.limit.per_ns;
            let window_end_ns = (now_ms.saturating_mul(1_000_000) / per + 1).saturating_mul(per);
            ttl_end.min(window_end_ns / 1_000_000)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quotas::algorithm::{Algorithm, Limit};
    use crate::quotas::policy::{OnExceed, Scope};

    fn policy(algorithm: Algorithm, count: u64, burst: u64) -> QuotaPolicy {
        QuotaPolicy::new(
            "p",
            algorithm,
            Limit {
                count,
                per_ns: 60_000_000_000,
                burst,
            },
            Scope::Global,
            vec!["user".into()],
            OnExceed::Reject,
        )
    }

    fn lease(
        ledger: &mut Ledger,
        policy: &QuotaPolicy,
        key: &str,
        edge: &str,
        need: u64,
        want: u64,
        at: u64,
    ) -> LeaseAnswer {
        let command = QuotaCommand::Lease {
            policy: policy.clone(),
            key: key.into(),
            edge: edge.into(),
            need,
            want,
            returned: Vec::new(),
        };
        ledger.apply(&command, at)
    }

    #[test]
    fn grants_never_exceed_the_budget_and_leave_half_the_rest_to_others() {
        let p = policy(Algorithm::TokenBucket, 100, 100);
        let mut ledger = Ledger::default();
        // One edge wants everything: it gets what it needs and half of the rest.
        let first = lease(&mut ledger, &p, "alice", "e1", 10, 100, 1_000);
        assert_eq!(first.granted, 55);
        assert_eq!(first.expires_at_ms, 1_000 + LEASE_TTL_MS);
        let second = lease(&mut ledger, &p, "alice", "e2", 10, 100, 1_000);
        assert_eq!(second.granted, 10 + 35 / 2);
        let mut total = first.granted + second.granted;
        loop {
            let more = lease(&mut ledger, &p, "alice", "e3", 1, 100, 1_000);
            if more.granted == 0 {
                assert!(more.retry_after_ns.is_some_and(|ns| ns > 0));
                break;
            }
            total += more.granted;
        }
        assert_eq!(
            total, 100,
            "everything, and not one token more, was granted"
        );
        // Another key has its own budget.
        assert_eq!(lease(&mut ledger, &p, "bob", "e1", 1, 1, 1_000).granted, 1);
        let usage = ledger.usage(&p, "alice", 1_000);
        assert_eq!((usage.used, usage.remaining), (100, 0));
        assert_eq!(usage.per_edge.get("e1"), Some(&55));
    }

    #[test]
    fn unspent_tokens_come_back_but_never_more_than_the_edge_was_granted() {
        let p = policy(Algorithm::TokenBucket, 1, 10);
        let mut ledger = Ledger::default();
        let granted = lease(&mut ledger, &p, "k", "e1", 10, 10, 1_000);
        assert_eq!(granted.granted, 10);
        let returning = |edge: &str, granted_at_ms: u64, tokens: u64| QuotaCommand::Lease {
            policy: p.clone(),
            key: "k".into(),
            edge: edge.into(),
            need: 1,
            want: 1,
            returned: vec![Returned {
                granted_at_ms,
                tokens,
            }],
        };
        // Another edge's return, a lease never granted, more than was granted: nothing
        // comes back (the need of 1 finds the budget empty).
        for forged in [returning("e2", 1_000, 5), returning("e1", 999, 5)] {
            assert_eq!(ledger.apply(&forged, 1_001).granted, 0);
        }
        // e1 spent 6 of its 10: 4 come back, then 1 of them is granted.
        let back = ledger.apply(&returning("e1", 1_000, 4), 1_001);
        assert_eq!((back.granted, back.remaining), (1, 3));
        // A lease is returned once only.
        let again = ledger.apply(&returning("e1", 1_000, 4), 1_001);
        assert_eq!((again.granted, again.remaining), (1, 2));
        // The lease of 1 granted at 1,001 (the last of e1's grants then): 50 returned
        // give back only that 1.
        let inflated = ledger.apply(&returning("e1", 1_001, 50), 1_001);
        assert_eq!((inflated.granted, inflated.remaining), (1, 2));
    }

    #[test]
    fn a_stopping_edge_returns_a_live_lease_once_and_only_its_own() {
        let p = policy(Algorithm::TokenBucket, 1, 10);
        let mut ledger = Ledger::default();
        assert_eq!(lease(&mut ledger, &p, "k", "e1", 10, 10, 1_000).granted, 10);
        let giving_back = |edge: &str| QuotaCommand::Return {
            policy_id: p.id().to_string(),
            key: p.budget_key("k").to_string(),
            edge: edge.into(),
            returned: vec![Returned {
                granted_at_ms: 1_000,
                tokens: 7,
            }],
        };
        // Another edge cannot give back e1's lease; e1 can, once, while it is live.
        assert_eq!(ledger.apply(&giving_back("e2"), 1_001).remaining, 0);
        assert_eq!(ledger.apply(&giving_back("e1"), 1_001).remaining, 7);
        assert_eq!(ledger.apply(&giving_back("e1"), 1_001).remaining, 7);
        assert!(ledger.usage(&p, "k", 1_001).per_edge.is_empty());
    }

    #[test]
    fn a_window_lease_ends_with_its_window() {
        let p = policy(Algorithm::FixedWindow, 10, 10);
        let mut ledger = Ledger::default();
        // 59.5 s into a one-minute window: the lease ends at the minute.
        let answer = lease(&mut ledger, &p, "k", "e1", 1, 1, 59_500);
        assert_eq!(answer.expires_at_ms, 60_000);
    }

    #[test]
    fn a_changed_policy_is_a_new_budget() {
        let mut ledger = Ledger::default();
        let small = policy(Algorithm::TokenBucket, 1, 1);
        assert_eq!(lease(&mut ledger, &small, "k", "e1", 1, 1, 0).granted, 1);
        assert_eq!(lease(&mut ledger, &small, "k", "e1", 1, 1, 0).granted, 0);
        let larger = policy(Algorithm::TokenBucket, 5, 5);
        assert_eq!(lease(&mut ledger, &larger, "k", "e1", 1, 1, 0).granted, 1);
    }
}
