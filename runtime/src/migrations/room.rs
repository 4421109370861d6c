//! Whether a migration's target has room for the workloads it is to take: on its disk
//! (the store's own overhead makes a little over twice the records' bytes), and within
//! its `[workloads] capacity` beside the workloads it already holds. Asked of the target
//! when a migration starts (so a migration that cannot fit is refused before anything
//! is recorded) and again by the target's driver in planning (the target may have
//! filled up meanwhile).

use crate::node::Node;
use serde::{Deserialize, Serialize};

/// What the target node has to offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    pub free_bytes: u64,
    /// `[workloads] capacity`, if set.
    pub capacity_bytes: Option<u64>,
    /// Bytes of the workloads it holds, but those being moved to it.
    pub held_bytes: u64,
}

impl Room {
    /// What `node` offers for `moving`.
    pub async fn on(node: &Node, moving: &[String]) -> std::io::Result<Room> {
        let held_bytes = match node.workload_capacity() {
            Some(_) => node.workload_store().bytes_held_except(moving).await?,
            None => 0,
        };
        Ok(Room {
            free_bytes: crate::system::free_bytes(node.data_dir()),
            capacity_bytes: node.workload_capacity(),
            held_bytes,
        })
    }

    /// Why workloads of `needed` bytes do not fit on edge `edge`, if they do not.
    pub fn refusal(&self, edge: &str, needed: u64) -> Option<String> {
        let on_disk = needed.saturating_mul(2);
        if on_disk > self.free_bytes {
            return Some(format!(
                "the target edge `{edge}` has {} bytes of disk free; the workloads need about {on_disk}",
                self.free_bytes
            ));
        }
        let capacity = self.capacity_bytes?;
        (self.held_bytes.saturating_add(needed) > capacity).then(|| {
            format!(
                "the target edge `{edge}` has a workload capacity of {capacity} bytes and holds {}; the workloads need {needed}",
                self.held_bytes
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_refuses_what_its_disk_or_its_capacity_cannot_take() {
        let room = Room {
            free_bytes: 1_000,
            capacity_bytes: None,
            held_bytes: 0,
        };
        assert_eq!(room.refusal("e", 500), None);
        assert!(room
            .refusal("e", 501)
            .is_some_and(|r| r.contains("1000 bytes of disk free")));
        let capped = Room {
            capacity_bytes: Some(400),
            held_bytes: 100,
            ..room
        };
        assert_eq!(capped.refusal("e", 300), None);
        let refusal = capped.refusal("e", 301).unwrap_or_default();
        assert!(
            refusal.contains("workload capacity of 400 bytes and holds 100"),
            "{refusal}"
        );
    }
}
