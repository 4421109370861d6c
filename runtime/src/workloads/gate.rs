//! The write gate of each workload this node serves: writes pass it together; a
//! migration's freeze closes it once every write in progress is done (so every write
//! acknowledged before the freeze is in the store the final delta reads), and writes
//! arriving meanwhile wait. A freeze ends when the migration says so or, if its driver
//! never comes back, by itself after the time it asked for — a node never stays frozen
//! because another died.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

/// How long a write waits at a closed gate before it is answered "frozen, retry".
pub const WRITE_WAIT: Duration = Duration::from_secs(5);

struct Frozen {
    _closed: OwnedRwLockWriteGuard<()>,
    /// Which freeze this is (a later one replaces the self-ending of an earlier one).
    epoch: u64,
}

#[derive(Default)]
pub struct Gates {
    gates: Mutex<HashMap<String, Arc<RwLock<()>>>>,
    frozen: Mutex<HashMap<String, Frozen>>,
    epochs: std::sync::atomic::AtomicU64,
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl Gates {
    fn gate(&self, workload: &str) -> Arc<RwLock<()>> {
        locked(&self.gates)
            .entry(workload.to_string())
            .or_default()
            .clone()
    }

    /// Passes the gate for one write (none: it stayed closed for `WRITE_WAIT`).
    pub async fn enter(&self, workload: &str) -> Option<OwnedRwLockReadGuard<()>> {
        tokio::time::timeout(WRITE_WAIT, self.gate(workload).read_owned())
            .await
            .ok()
    }

    /// Closes the gate (at once if closed already: then only its end moves) and keeps
    /// it closed for at most `hold`.
    pub async fn freeze(self: &Arc<Self>, workload: &str, hold: Duration) {
        let epoch = self
            .epochs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let renewed = match locked(&self.frozen).get_mut(workload) {
            Some(frozen) => {
                frozen.epoch = epoch;
                true
            }
            None => false,
        };
        if !renewed {
            let closed = self.gate(workload).write_owned().await;
            let mut frozen = locked(&self.frozen);
            match frozen.get_mut(workload) {
                // Another freeze closed it while this one waited.
                Some(other) => other.epoch = epoch,
                None => {
                    frozen.insert(
                        workload.to_string(),
                        Frozen {
                            _closed: closed,
                            epoch,
                        },
                    );
                }
            }
        }
        let gates = self.clone();
        let workload = workload.to_string();
        tokio::spawn(async move {
            tokio::time::sleep(hold).await;
            let mut frozen = locked(&gates.frozen);
            if frozen.get(&workload).is_some_and(|f| f.epoch == epoch) {
                frozen.remove(&workload);
            }
        });
    }

    /// Opens the gate.
    pub fn thaw(&self, workload: &str) {
        locked(&self.frozen).remove(workload);
    }
}

/// One write at a time for a workload whose writes are mirrored, so the mirror
/// receives them in the order they were applied.
#[derive(Default)]
pub struct Serial {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Serial {
    pub async fn one_at_a_time(&self, workload: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = locked(&self.locks)
            .entry(workload.to_string())
            .or_default()
            .clone();
        lock.lock_owned().await
    }
}
