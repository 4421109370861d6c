//! What an edge has been doing lately, for `monitor.metrics`: the round-trip latency of
//! its heartbeats and the placed steps it finished (and how many failed), in
//! five-minute buckets covering the last hour. Latencies go into a log-scale histogram
//! per bucket, so a node's record stays small (about 1.5 KB) however busy it is.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The span of one bucket.
pub const BUCKET_MS: u64 = 5 * 60_000;
/// Buckets kept: one hour.
pub const BUCKETS: usize = 12;
/// Latency histogram bins: bin `i` counts latencies up to `FIRST_BIN_MS × 2^i`.
const BINS: usize = 24;
const FIRST_BIN_MS: f64 = 0.125;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Start of the bucket (log time, a multiple of `BUCKET_MS`).
    pub start_ms: u64,
    pub steps_ok: u64,
    pub steps_failed: u64,
    /// Heartbeat round trips by bin.
    pub latency_bins: Vec<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    buckets: VecDeque<Bucket>,
}

/// Activity summed over edges and a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub steps_ok: u64,
    pub steps_failed: u64,
    latency_bins: Vec<u64>,
}

impl Activity {
    /// A heartbeat's measured round trip, at `now`.
    pub fn latency(&mut self, now: u64, latency_ms: f64) {
        let bin = bin_of(latency_ms);
        let bucket = self.bucket(now);
        if bucket.latency_bins.len() < BINS {
            bucket.latency_bins.resize(BINS, 0);
        }
        bucket.latency_bins[bin] = bucket.latency_bins[bin].saturating_add(1);
    }

    /// A placed step finished on the node at `now`.
    pub fn step(&mut self, now: u64, ok: bool) {
        let bucket = self.bucket(now);
        if ok {
            bucket.steps_ok += 1;
        } else {
            bucket.steps_failed += 1;
        }
    }

    /// Adds the buckets that overlap the `window_ms` before `now` to `summary`.
    pub fn add_to(&self, summary: &mut Summary, now: u64, window_ms: u64) {
        let since = now.saturating_sub(window_ms);
        summary.latency_bins.resize(BINS, 0);
        for bucket in self
            .buckets
            .iter()
            .filter(|b| b.start_ms + BUCKET_MS > since)
        {
            summary.steps_ok += bucket.steps_ok;
            summary.steps_failed += bucket.steps_failed;
            for (total, count) in summary.latency_bins.iter_mut().zip(&bucket.latency_bins) {
                *total += u64::from(*count);
            }
        }
    }

    /// The bucket `now` falls in, started if new; buckets older than an hour go.
    fn bucket(&mut self, now: u64) -> &mut Bucket {
        let start_ms = now - now % BUCKET_MS;
        if self.buckets.back().is_none_or(|b| b.start_ms < start_ms) {
            self.buckets.push_back(Bucket {
                start_ms,
                ..Bucket::default()
            });
        }
        let oldest_kept = start_ms.saturating_sub(BUCKET_MS * (BUCKETS as u64 - 1));
        while self
            .buckets
            .front()
            .is_some_and(|b| b.start_ms < oldest_kept)
        {
            self.buckets.pop_front();
        }
        // A time before the newest bucket (proposers' clocks differ a little) counts
        // in the newest.
        let last = self.buckets.len() - 1;
        &mut self.buckets[last]
    }
}

impl Summary {
    /// The 99th percentile heartbeat round trip in milliseconds (the upper bound of its
    /// histogram bin), if any was measured.
    pub fn latency_p99_ms(&self) -> Option<f64> {
        let total: u64 = self.latency_bins.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = (total as f64 * 0.99).ceil() as u64;
        let mut seen = 0;
        for (bin, count) in self.latency_bins.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(upper_bound_ms(bin));
            }
        }
        None
    }

    /// Failed placed steps as a fraction of those finished (0 when none finished).
    pub fn error_rate(&self) -> f64 {
        let total = self.steps_ok + self.steps_failed;
        if total == 0 {
            0.0
        } else {
            self.steps_failed as f64 / total as f64
        }
    }
}

fn bin_of(latency_ms: f64) -> usize {
    let mut bin = 0;
    while bin + 1 < BINS && latency_ms > upper_bound_ms(bin) {
        bin += 1;
    }
    bin
}

fn upper_bound_ms(bin: usize) -> f64 {
    FIRST_BIN_MS * f64::from(1u32 << bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_of_buckets_summed_over_a_window() {
        let mut activity = Activity::default();
        let hour = 3_600_000;
        activity.step(10, true); // Falls out of the hour below.
        for minute in 0..60u64 {
            let now = hour + minute * 60_000;
            activity.step(now, minute % 10 != 0);
            for beat in 0..4 {
                let slow = minute == 59 && beat == 3;
                activity.latency(now, if slow { 90.0 } else { 1.0 });
            }
        }
        let mut summary = Summary::default();
        activity.add_to(&mut summary, 2 * hour, hour);
        assert_eq!((summary.steps_ok, summary.steps_failed), (54, 6));
        assert!((summary.error_rate() - 0.1).abs() < 1e-9);
        assert_eq!(summary.latency_p99_ms(), Some(1.0), "239 of 240 at 1 ms");
        let mut recent = Summary::default();
        activity.add_to(&mut recent, hour + 59 * 60_000, 60_000);
        assert_eq!(recent.steps_ok + recent.steps_failed, 5, "the last bucket");
        assert_eq!(
            recent.latency_p99_ms(),
            Some(128.0),
            "90 ms in the 128 ms bin"
        );
        assert_eq!(Summary::default().latency_p99_ms(), None);
    }
}
