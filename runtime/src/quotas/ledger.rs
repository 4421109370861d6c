//! The fleet's global budgets: this subsystem's slice of the replicated state, its
//! commands and how they apply. The ledger owns every global policy/key budget; an edge
//! asks it for a lease of tokens (at least what the request in hand needs, more when its
//! demand is steady) and then decides locally. Tokens are taken from the budget when
//! they are leased, so the tokens granted — and so the tokens admitted — never exceed
//! what the algorithm allows fleet-wide; a lease an edge cannot spend (it crashed, it
//! was cut off) is simply lost when it expires: the price of a fault is under-admission,
//! never over-admission. A grant takes at most half of what is left beyond the request,
//! so one edge's lease never starves the others.

use super::algorithm::{Budget, Decision};
use super::policy::QuotaPolicy;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Budgets kept at most; past it, budgets as full as new ones are dropped, and while
/// still past it a new key is refused (under-admission, never over).
pub const MAX_BUDGETS: usize = 100_000;
/// The longest a lease lives (window algorithms: also never past the window's end).
pub const LEASE_TTL_MS: u64 = 1_000;

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
    },
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
    /// Tokens granted to each edge in leases still live, and when they end.
    pub leases: BTreeMap<String, (u64, u64)>,
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

impl Ledger {
    pub fn apply(&mut self, command: &QuotaCommand, now_ms: u64) -> LeaseAnswer {
        match command {
            QuotaCommand::Lease {
                policy,
                key,
                edge,
                need,
                want,
            } => self.lease(policy, key, edge, *need, *want, now_ms),
        }
    }

    fn lease(
        &mut self,
        policy: &QuotaPolicy,
        key: &str,
        edge: &str,
        need: u64,
        want: u64,
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
            leases: BTreeMap::new(),
            last_grant_ms: now_ms,
        });
        entry.leases.retain(|_, (_, until)| *until > now_ms);
        let limit = policy.limit;
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
        let held = entry
            .leases
            .entry(edge.to_string())
            .or_insert((0, expires_at_ms));
        *held = (held.0 + granted, expires_at_ms);
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
            let idle = b.leases.values().all(|(_, until)| *until <= now_ms);
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
                        .leases
                        .iter()
                        .filter(|(_, (_, until))| *until > now_ms)
                        .map(|(edge, (tokens, _))| (edge.clone(), *tokens))
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
