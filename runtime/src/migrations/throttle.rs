//! The bandwidth cap of a migration, on the bytes it puts on the wire: each batch
//! received books its size at the cap's rate, and the next request waits until the
//! bytes booked so far are paid for — so over any stretch of the copy the wire carries
//! at most the cap, and no less when the network could carry more.

use std::time::{Duration, Instant};

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

    /// Books `bytes` just sent, and waits until they are paid for.
    pub async fn pace(&mut self, bytes: usize) {
        let Some(rate) = self.bytes_per_second else {
            return;
        };
        let now = Instant::now();
        let cost = Duration::from_secs_f64(bytes as f64 / rate as f64);
        self.paid_until = self.paid_until.max(now) + cost;
        tokio::time::sleep_until(self.paid_until.into()).await;
    }
}
