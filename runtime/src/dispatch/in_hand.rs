//! How many placed steps a node is running now: what its heartbeats report, so the
//! fleet registry can tell `running` from `idle` and hold maintenance `pending` until
//! the steps are done.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone, Default)]
pub struct StepsInHand(Arc<AtomicU64>);

/// One step in hand, until dropped.
pub struct Holding(Arc<AtomicU64>);

impl StepsInHand {
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    pub fn hold(&self) -> Holding {
        self.0.fetch_add(1, Ordering::Relaxed);
        Holding(self.0.clone())
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
