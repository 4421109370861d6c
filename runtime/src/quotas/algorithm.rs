//! The four admission algorithms a policy can name, as deterministic state machines over
//! an explicit clock (nanoseconds since the Unix epoch): the same state, time and
//! request give the same answer on every replica, so one budget can live in the Raft
//! state machine and leases be granted from it. Integer arithmetic throughout (u128
//! where products can exceed 64 bits): no rounding drift, no floats.
//!
//! - `token_bucket`: capacity `burst`, refilled at `count / per`.
//! - `gcra`: the same admissions as the token bucket, with one timestamp of state (the
//!   theoretical arrival time), kept in units of ns × count so the emission interval
//!   `per / count` is exact.
//! - `fixed_window`: at most `count` per window; windows aligned to the Unix epoch.
//! - `sliding_window`: the previous window's count weighted by how much of it still
//!   overlaps the sliding window, plus the current window's: admitted while that
//!   estimate stays within `count`.
//!
//! Window algorithms take `count` per window; `burst` shapes only the bucket algorithms.

use serde::{Deserialize, Serialize};

/// How much a budget allows: `count` per `per_ns`, `burst` at once (bucket algorithms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    pub count: u64,
    pub per_ns: u64,
    pub burst: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    TokenBucket,
    Gcra,
    FixedWindow,
    SlidingWindow,
}

impl Algorithm {
    /// The algorithm a policy's `algorithm` field names.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Some(match name {
            "token_bucket" => Algorithm::TokenBucket,
            "gcra" => Algorithm::Gcra,
            "fixed_window" => Algorithm::FixedWindow,
            "sliding_window" => Algorithm::SlidingWindow,
            _ => return None,
        })
    }
}

/// What a request for `n` tokens got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Taken; `remaining` whole tokens are left right after.
    Allowed { remaining: u64 },
    /// Not taken: the same request is allowed after `retry_after_ns` if nothing else is
    /// taken meanwhile; `None` when it never can be (more than the budget holds).
    Denied { retry_after_ns: Option<u64> },
}

/// One budget's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "snake_case")]
pub enum Budget {
    /// `units`: tokens × `per_ns` (so a refill of `elapsed × count` is exact), as of
    /// `at_ns`.
    TokenBucket {
        units: u128,
        at_ns: u64,
    },
    /// The theoretical arrival time, in ns × count.
    Gcra {
        tat: u128,
    },
    FixedWindow {
        window: u64,
        taken: u64,
    },
    SlidingWindow {
        window: u64,
        previous: u64,
        current: u64,
    },
}

impl Budget {
    /// A full budget at `now_ns`.
    pub fn new(algorithm: Algorithm, limit: &Limit, now_ns: u64) -> Budget {
        match algorithm {
            Algorithm::TokenBucket => Budget::TokenBucket {
                units: u128::from(limit.burst) * u128::from(limit.per_ns),
                at_ns: now_ns,
            },
            Algorithm::Gcra => Budget::Gcra {
                tat: u128::from(now_ns) * u128::from(limit.count),
            },
            Algorithm::FixedWindow => Budget::FixedWindow {
                window: now_ns / limit.per_ns,
                taken: 0,
            },
            Algorithm::SlidingWindow => Budget::SlidingWindow {
                window: now_ns / limit.per_ns,
                previous: 0,
                current: 0,
            },
        }
    }

    /// Brings the state forward to `now_ns` (time never goes back: an earlier `now` is
    /// taken as the state's own time).
    fn advance(&mut self, limit: &Limit, now_ns: u64) {
        match self {
            Budget::TokenBucket { units, at_ns } => {
                if now_ns > *at_ns {
                    let capacity = u128::from(limit.burst) * u128::from(limit.per_ns);
                    let refill = u128::from(now_ns - *at_ns) * u128::from(limit.count);
                    *units = (*units + refill).min(capacity);
                    *at_ns = now_ns;
                }
            }
            Budget::Gcra { .. } => {}
            Budget::FixedWindow { window, taken } => {
                let now_window = now_ns / limit.per_ns;
                if now_window > *window {
                    *window = now_window;
                    *taken = 0;
                }
            }
            Budget::SlidingWindow {
                window,
                previous,
                current,
            } => {
                let now_window = now_ns / limit.per_ns;
                if now_window > *window {
                    *previous = if now_window == *window + 1 {
                        *current
                    } else {
                        0
                    };
                    *current = 0;
                    *window = now_window;
                }
            }
        }
    }

    /// Whole tokens that could be taken at `now_ns`.
    pub fn available(&self, limit: &Limit, now_ns: u64) -> u64 {
        let mut state = self.clone();
        state.advance(limit, now_ns);
        state.available_now(limit, now_ns)
    }

    fn available_now(&self, limit: &Limit, now_ns: u64) -> u64 {
        let per = u128::from(limit.per_ns);
        match self {
            Budget::TokenBucket { units, .. } => (units / per) as u64,
            Budget::Gcra { tat } => {
                let now = u128::from(now_ns) * u128::from(limit.count);
                let used = tat.saturating_sub(now);
                let capacity = u128::from(limit.burst) * per;
                (capacity.saturating_sub(used) / per) as u64
            }
            Budget::FixedWindow { taken, .. } => limit.count.saturating_sub(*taken),
            Budget::SlidingWindow {
                window,
                previous,
                current,
            } => {
                // The largest n with previous × (per − elapsed) + (current + n) × per ≤ count × per.
                let elapsed = u128::from(now_ns.saturating_sub(window * limit.per_ns));
                let weighted = u128::from(*previous) * per.saturating_sub(elapsed);
                let budget = u128::from(limit.count) * per;
                let room = budget.saturating_sub(weighted + u128::from(*current) * per);
                (room / per) as u64
            }
        }
    }

    /// Takes `n` tokens at `now_ns` if the budget allows it.
    pub fn take(&mut self, limit: &Limit, now_ns: u64, n: u64) -> Decision {
        self.advance(limit, now_ns);
        let now_ns = self.time_ns(limit).max(now_ns);
        if n <= self.available_now(limit, now_ns) {
            let per = u128::from(limit.per_ns);
            match self {
                Budget::TokenBucket { units, .. } => *units -= u128::from(n) * per,
                Budget::Gcra { tat } => {
                    let now = u128::from(now_ns) * u128::from(limit.count);
                    *tat = (*tat).max(now) + u128::from(n) * per;
                }
                Budget::FixedWindow { taken, .. } => *taken += n,
                Budget::SlidingWindow { current, .. } => *current += n,
            }
            return Decision::Allowed {
                remaining: self.available_now(limit, now_ns),
            };
        }
        Decision::Denied {
            retry_after_ns: self.retry_after(limit, now_ns, n),
        }
    }

    /// The state's own time: a token bucket's last refill (other states keep none).
    fn time_ns(&self, _limit: &Limit) -> u64 {
        match self {
            Budget::TokenBucket { at_ns, .. } => *at_ns,
            _ => 0,
        }
    }

    /// How long until `n` tokens could be taken, if nothing else is taken meanwhile.
    fn retry_after(&self, limit: &Limit, now_ns: u64, n: u64) -> Option<u64> {
        let per = u128::from(limit.per_ns);
        let count = u128::from(limit.count);
        let n128 = u128::from(n);
        match self {
            Budget::TokenBucket { units, .. } => {
                if n > limit.burst {
                    return None;
                }
                let missing = n128 * per - units;
                Some(missing.div_ceil(count) as u64)
            }
            Budget::Gcra { tat } => {
                if n > limit.burst {
                    return None;
                }
                // Allowed once tat + n × per − now × count ≤ burst × per.
                let now = u128::from(now_ns) * count;
                let needed = (*tat).max(now) + n128 * per;
                let allowed_from = needed.saturating_sub(u128::from(limit.burst) * per);
                Some(allowed_from.saturating_sub(now).div_ceil(count) as u64)
            }
            Budget::FixedWindow { window, .. } => {
                if n > limit.count {
                    return None;
                }
                Some((window + 1) * limit.per_ns - now_ns)
            }
            Budget::SlidingWindow {
                window,
                previous,
                current,
            } => {
                if n > limit.count {
                    return None;
                }
                // Allowed at `elapsed` into a window once
                // weight × (per − elapsed) ≤ budget − (taken + n) × per, that is
                // elapsed ≥ per − ⌊slack / weight⌋ (exact in integers).
                let budget = u128::from(limit.count) * per;
                let from = |window: u64, weight: u64, taken: u64| -> Option<u64> {
                    let slack = budget.checked_sub((u128::from(taken) + n128) * per)?;
                    let elapsed = match weight {
                        0 => 0,
                        w => per.saturating_sub(slack / u128::from(w)),
                    };
                    Some(window * limit.per_ns + elapsed as u64)
                };
                let next_window = window + 1;
                let at = from(*window, *previous, *current)
                    .filter(|at| *at < next_window * limit.per_ns)
                    .or_else(|| from(next_window, *current, 0))?;
                Some(at.saturating_sub(now_ns))
            }
        }
    }

    /// Puts back `n` tokens taken at `taken_at_ns` and not spent (a lease returned):
    /// never more than the budget can hold, and a window's tokens only while it lasts.
    pub fn give_back(&mut self, limit: &Limit, now_ns: u64, taken_at_ns: u64, n: u64) {
        self.advance(limit, now_ns);
        if matches!(
            self,
            Budget::FixedWindow { .. } | Budget::SlidingWindow { .. }
        ) && taken_at_ns / limit.per_ns != now_ns / limit.per_ns
        {
            return;
        }
        let per = u128::from(limit.per_ns);
        match self {
            Budget::TokenBucket { units, .. } => {
                let capacity = u128::from(limit.burst) * per;
                *units = (*units + u128::from(n) * per).min(capacity);
            }
            Budget::Gcra { tat } => {
                let now = u128::from(now_ns) * u128::from(limit.count);
                *tat = tat.saturating_sub(u128::from(n) * per).max(now);
            }
            Budget::FixedWindow { taken, .. } => *taken = taken.saturating_sub(n),
            Budget::SlidingWindow { current, .. } => *current = current.saturating_sub(n),
        }
    }
}
