//! The bandwidth cap of a migration, on the bytes it puts on the wire: each batch
//! received books its size at the cap's rate, and the next request waits until the
//! bytes booked so far are paid for. The time a batch spends in flight counts towards
//! paying for it, so the wire carries the cap — no less — when the network could carry
//! more; a stall earns at most `MAX_CREDIT` of bytes sent faster afterwards.

use std::time::Duration;
use tokio::time::Instant;

/// The most idle time a stalled copy may make up for at more than the cap.
const MAX_CREDIT: Duration = Duration::from_millis(100);

pub struct Throttle {
    bytes_per_second: Option<u64>,
    /// When the bytes booked so far are paid for.
    paid_until: Instant,
}

impl Throttle {
    pub fn new(bytes_per_second: Option<u64>) -> Throttle {
        Throttle {
            bytes_per_second,
            paid_until: Instant::now(),
        }
    }

    /// Books `bytes` just received, and waits until they are paid for.
    pub async fn pace(&mut self, bytes: usize) {
        let Some(rate) = self.bytes_per_second else {
            return;
        };
        let earliest = Instant::now()
            .checked_sub(MAX_CREDIT)
            .unwrap_or(self.paid_until);
        let cost = Duration::from_secs_f64(bytes as f64 / rate as f64);
        self.paid_until = self.paid_until.max(earliest) + cost;
        tokio::time::sleep_until(self.paid_until).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy whose batches take time in flight still gets the whole cap: the pace
    /// over ten batches is the cap's, within a millisecond a batch.
    #[tokio::test(start_paused = true)]
    async fn time_in_flight_counts_towards_the_cap() {
        let mut throttle = Throttle::new(Some(1_000_000));
        let started = tokio::time::Instant::now();
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(20)).await; // the batch in flight
            throttle.pace(100_000).await; // 100 ms of the cap
        }
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(1_000) && took <= Duration::from_millis(1_030),
            "10 × 100 kB at 1 MB/s took {took:?}"
        );
    }

    /// After a long stall only `MAX_CREDIT` of bytes goes faster than the cap.
    #[tokio::test(start_paused = true)]
    async fn a_stall_earns_bounded_credit() {
        let mut throttle = Throttle::new(Some(1_000_000));
        tokio::time::sleep(Duration::from_secs(5)).await;
        let started = tokio::time::Instant::now();
        throttle.pace(500_000).await;
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(399) && took <= Duration::from_millis(401),
            "500 kB after a stall took {took:?}"
        );
    }
}
