//! Coordination groups: an etcd-style leader lease (holder, term as fencing token,
//! expiry in log time) and an ordered event log with gap-free sequence numbers.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    pub holder: String,
    pub term: u64,
    /// Unix milliseconds, in the time carried by log entries.
    pub expires_at_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub lease: Option<Lease>,
    /// Incremented whenever the lease changes hands: a fencing token.
    pub term: u64,
    /// The last sequence number handed out by `global_order`.
    pub last_sequence: u64,
    /// Proposed values with the Raft index that committed them.
    pub proposals: Vec<(u64, serde_json::Value)>,
}

/// Proposals kept per group; older ones are dropped (their index stays valid).
const MAX_PROPOSALS_KEPT: usize = 1_000;

impl Group {
    pub fn live_lease(&self, now_ms: u64) -> Option<&Lease> {
        self.lease
            .as_ref()
            .filter(|lease| now_ms < lease.expires_at_ms)
    }

    /// Grants or renews the lease to `candidate` unless someone else holds a live one.
    pub fn campaign(&mut self, candidate: &str, now_ms: u64, ttl_ms: u64) -> (bool, Lease) {
        if let Some(lease) = self.live_lease(now_ms) {
            if lease.holder != candidate {
                return (false, lease.clone());
            }
        }
        let same_holder = self.live_lease(now_ms).is_some();
        if !same_holder {
            self.term += 1;
        }
        let lease = Lease {
            holder: candidate.to_string(),
            term: self.term,
            expires_at_ms: now_ms.saturating_add(ttl_ms),
        };
        self.lease = Some(lease.clone());
        (true, lease)
    }

    /// Extends the lease if `holder` holds it and it has not expired.
    pub fn renew(&mut self, holder: &str, now_ms: u64, ttl_ms: u64) -> bool {
        match self.lease.as_mut() {
            Some(lease) if lease.holder == holder && now_ms < lease.expires_at_ms => {
                lease.expires_at_ms = now_ms.saturating_add(ttl_ms);
                true
            }
            _ => false,
        }
    }

    pub fn resign(&mut self, holder: &str, now_ms: u64) -> bool {
        let holds = self
            .live_lease(now_ms)
            .is_some_and(|lease| lease.holder == holder);
        if holds {
            self.lease = None;
        }
        holds
    }

    pub fn record(&mut self, value: serde_json::Value, index: u64) {
        self.proposals.push((index, value));
        if self.proposals.len() > MAX_PROPOSALS_KEPT {
            let excess = self.proposals.len() - MAX_PROPOSALS_KEPT;
            self.proposals.drain(..excess);
        }
    }

    /// The next `count` sequence numbers.
    pub fn order(&mut self, count: u64) -> Vec<u64> {
        let first = self.last_sequence + 1;
        self.last_sequence += count;
        (first..=self.last_sequence).collect()
    }
}
