//! What an edge holds of one global budget: the leases the ledger granted it (each
//! spendable until its own end, counted from when the edge asked), the demand that
//! sizes the next one, and when to ask again. An edge asks for the next lease *before*
//! it runs dry — once half of the last grant is spent, or its newest lease is past half
//! its life — so steady traffic never waits for the ledger (and, a lease carrying a
//! lease's life of demand, costs one request a second); a lease's tokens are never
//! carried past its end (the ledger's accounting of what it granted stays exact).
//! Tokens left in a lease that ended are returned with the next request to the ledger.

use super::ledger::{Returned, MAX_RETURNS};
use std::time::{Duration, Instant};

/// Demand is measured over windows of this length.
const DEMAND_WINDOW: Duration = Duration::from_secs(1);
/// Leases kept in hand at most (the oldest, nearly spent, make room).
const MAX_LEASES: usize = 4;

/// Tokens asked for in the current and the last full demand window.
#[derive(Debug)]
pub struct Demand {
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

    pub fn note(&mut self, now: Instant, tokens: u64) {
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

    /// Tokens a lease should carry: the higher of the last and the current window's
    /// demand.
    pub fn lease_size(&self) -> u64 {
        self.last.max(self.current)
    }

    pub fn is_idle(&self) -> bool {
        self.current == 0
    }
}

/// A lease in hand.
#[derive(Debug)]
struct Lease {
    tokens: u64,
    /// Until when its tokens may be spent (counted from when the edge asked).
    until: Instant,
    /// As the ledger answered: what a return names the lease by.
    granted_at_ms: u64,
}

/// One budget's leases in hand.
#[derive(Debug)]
pub struct Held {
    /// Oldest first.
    leases: Vec<Lease>,
    /// Unspent tokens of leases that ended, for the next request to the ledger.
    to_return: Vec<Returned>,
    /// What the ledger had left beyond the last grant when it made it.
    pub ledger_remaining: u64,
    /// The last grant's size: the next lease is asked for when half of it is spent.
    last_grant: u64,
    pub demand: Demand,
    /// After a denial: until when the ledger said nothing could be granted — requests
    /// until then are denied here, without asking it again (no proposal per denial).
    pub denied_until: Instant,
    /// A refill is on its way, or none may be asked before this instant.
    asking: bool,
    next_ask: Instant,
}

impl Held {
    pub fn new(now: Instant) -> Held {
        Held {
            leases: Vec::new(),
            to_return: Vec::new(),
            ledger_remaining: 0,
            last_grant: 0,
            demand: Demand::new(now),
            denied_until: now,
            asking: false,
            next_ask: now,
        }
    }

    /// Tokens spendable at `now`.
    pub fn tokens(&self, now: Instant) -> u64 {
        self.leases
            .iter()
            .filter(|lease| lease.until > now)
            .map(|lease| lease.tokens)
            .sum()
    }

    /// Moves what is left of leases that ended by `now` to the returns (on every
    /// decision: a scan of at most `MAX_LEASES`, no allocation).
    fn end_leases(&mut self, now: Instant) {
        while let Some(ended) = self.leases.iter().position(|lease| lease.until <= now) {
            let lease = self.leases.remove(ended);
            self.give_back(lease);
        }
    }

    /// Queues a lease's unspent tokens for return (dropped when the queue is full: the
    /// budget then admits a little less, never more).
    fn give_back(&mut self, lease: Lease) {
        if lease.tokens > 0 && self.to_return.len() < MAX_RETURNS {
            self.to_return.push(Returned {
                granted_at_ms: lease.granted_at_ms,
                tokens: lease.tokens,
            });
        }
    }

    /// The returns to send with the next request to the ledger.
    pub fn take_returns(&mut self, now: Instant) -> Vec<Returned> {
        self.end_leases(now);
        std::mem::take(&mut self.to_return)
    }

    /// Ends every lease now and hands over what they did not spend, for an edge that
    /// stops: nothing here may be spent after.
    pub fn surrender(&mut self) -> Vec<Returned> {
        for lease in std::mem::take(&mut self.leases) {
            if lease.tokens > 0 {
                self.to_return.push(Returned {
                    granted_at_ms: lease.granted_at_ms,
                    tokens: lease.tokens,
                });
            }
        }
        std::mem::take(&mut self.to_return)
    }

    /// Whether a refill is on its way.
    pub fn is_asking(&self) -> bool {
        self.asking
    }

    /// Whether nothing here is worth keeping: no live lease, no refill on its way.
    pub fn is_spent(&self, now: Instant) -> bool {
        !self.asking && self.tokens(now) == 0
    }

    /// Spends `n` tokens, those ending first first; false (nothing spent) when the live
    /// leases hold fewer.
    pub fn spend(&mut self, now: Instant, n: u64) -> bool {
        self.end_leases(now);
        if self.tokens(now) < n {
            return false;
        }
        let mut left = n;
        for lease in &mut self.leases {
            let taken = left.min(lease.tokens);
            lease.tokens -= taken;
            left -= taken;
        }
        self.leases.retain(|lease| lease.tokens > 0);
        true
    }

    /// Whether to ask for the next lease now (and if so, it is marked as asked): half of
    /// the last grant spent, or the newest lease past half of `ttl`.
    pub fn should_refill(&mut self, now: Instant, ttl: Duration) -> bool {
        if self.asking || now < self.next_ask || self.last_grant == 0 {
            return false;
        }
        let newest_end = self.leases.iter().map(|lease| lease.until).max();
        let ending = newest_end.is_none_or(|end| end.saturating_duration_since(now) < ttl / 2);
        let low = self.tokens(now).saturating_mul(2) <= self.last_grant;
        if low || ending {
            self.asking = true;
        }
        self.asking
    }

    /// A lease of `granted` tokens granted at `granted_at_ms` (asked at `asked`,
    /// spendable for `lasts`), of which `spent` go to the request that asked.
    pub fn add_lease(
        &mut self,
        (asked, lasts): (Instant, Duration),
        granted_at_ms: u64,
        granted: u64,
        spent: u64,
    ) {
        self.asking = false;
        self.last_grant = granted;
        if self.leases.len() >= MAX_LEASES {
            let oldest = self.leases.remove(0);
            self.give_back(oldest);
        }
        self.leases.push(Lease {
            tokens: granted - spent,
            until: asked + lasts,
            granted_at_ms,
        });
    }

    /// A refill that got nothing (or no answer): ask again no sooner than `after`.
    pub fn refill_failed(&mut self, asked: Instant, after: Duration) {
        self.asking = false;
        self.next_ask = asked + after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_spent_oldest_first_and_end_with_their_own_time() {
        let start = Instant::now();
        let ttl = Duration::from_secs(1);
        let mut held = Held::new(start);
        held.add_lease((start, ttl), 1, 10, 1);
        assert_eq!(held.tokens(start), 9);
        // Half spent: time to ask for the next one, once.
        assert!(held.spend(start, 4));
        assert!(held.should_refill(start, ttl));
        assert!(!held.should_refill(start, ttl), "already asking");
        let later = start + Duration::from_millis(500);
        held.add_lease((later, ttl), 2, 10, 0);
        assert_eq!(held.tokens(later), 15);
        assert!(held.spend(later, 6));
        // The first lease is spent first; the rest of the second outlives it.
        assert_eq!(held.tokens(start + Duration::from_millis(1_200)), 9);
        assert_eq!(held.tokens(start + Duration::from_millis(1_600)), 0);
        assert!(!held.spend(start + Duration::from_millis(1_600), 1));
        // What the second lease did not spend goes back to the ledger, once.
        let back = held.take_returns(start + Duration::from_millis(1_600));
        assert_eq!(
            back,
            vec![Returned {
                granted_at_ms: 2,
                tokens: 9
            }]
        );
        assert!(held
            .take_returns(start + Duration::from_millis(1_600))
            .is_empty());
        // A denied refill waits before asking again.
        let mut dry = Held::new(start);
        dry.add_lease((start, ttl), 1, 2, 2);
        assert!(dry.should_refill(start, ttl));
        dry.refill_failed(start, Duration::from_millis(100));
        assert!(!dry.should_refill(start + Duration::from_millis(50), ttl));
        assert!(dry.should_refill(start + Duration::from_millis(100), ttl));
    }
}
