//! Snapshots travel in chunks, so state of any size reaches a follower that fell behind
//! a log purge (one frame is at most `MAX_FRAME_BYTES`). The leader sends the chunks of
//! one snapshot in order on one connection, each acknowledged before the next; the
//! follower assembles them (`Assembly`, one per connection) and installs the snapshot
//! when the last arrives. A chunk out of order, or of another snapshot, starts over or
//! is refused; the total is bounded before anything is buffered.

use crate::raft_types::SnapshotMeta;

/// The bytes of a snapshot in one chunk.
pub const CHUNK_BYTES: usize = 4 * 1024 * 1024;
/// The largest snapshot a follower accepts.
pub const MAX_SNAPSHOT_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// Splits a snapshot into `(offset, chunk)` pairs; an empty snapshot is one empty chunk.
pub fn chunks(data: &[u8]) -> Vec<(u64, &[u8])> {
    if data.is_empty() {
        return vec![(0, data)];
    }
    data.chunks(CHUNK_BYTES)
        .enumerate()
        .map(|(index, chunk)| ((index * CHUNK_BYTES) as u64, chunk))
        .collect()
}

/// Which snapshot a chunk belongs to: the last log entry it covers.
fn identity(meta: &SnapshotMeta) -> String {
    format!("{:?}", meta.last_log_id)
}

/// The snapshot being received on one connection.
#[derive(Default)]
pub struct Assembly {
    snapshot_id: Option<String>,
    total: u64,
    data: Vec<u8>,
}

/// What a received chunk leads to.
pub enum Received {
    /// More chunks are expected.
    Partial,
    /// The snapshot is whole: its bytes.
    Complete(Vec<u8>),
}

impl Assembly {
    /// Adds a chunk at `offset` of a snapshot of `total` bytes.
    pub fn receive(
        &mut self,
        meta: &SnapshotMeta,
        offset: u64,
        total: u64,
        chunk: Vec<u8>,
    ) -> Result<Received, String> {
        if total > MAX_SNAPSHOT_BYTES {
            return Err(format!(
                "a snapshot of {total} bytes is over this node's limit of {MAX_SNAPSHOT_BYTES}"
            ));
        }
        if offset == 0 {
            // A new snapshot (or the same one sent again from the start).
            self.snapshot_id = Some(identity(meta));
            self.total = total;
            self.data = Vec::with_capacity(chunk.len());
        } else if self.snapshot_id.as_deref() != Some(identity(meta).as_str())
            || self.total != total
            || self.data.len() as u64 != offset
        {
            let expected = self.data.len();
            *self = Assembly::default();
            return Err(format!(
                "a chunk at offset {offset} of the snapshot up to {} arrived where offset {expected} was expected; send it again from the start",
                identity(meta)
            ));
        }
        if offset + chunk.len() as u64 > total {
            *self = Assembly::default();
            return Err(format!(
                "a chunk ends past the snapshot's announced {total} bytes"
            ));
        }
        self.data.extend_from_slice(&chunk);
        if self.data.len() as u64 == total {
            self.snapshot_id = None;
            return Ok(Received::Complete(std::mem::take(&mut self.data)));
        }
        Ok(Received::Partial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str) -> SnapshotMeta {
        let index = if id == "s" { 1 } else { 2 };
        SnapshotMeta {
            last_log_id: Some(crate::raft_types::LogId::new(
                openraft::vote::leader_id_adv::LeaderId {
                    term: 1,
                    node_id: 1,
                },
                index,
            )),
            ..SnapshotMeta::default()
        }
    }

    #[test]
    fn chunks_in_order_assemble_the_snapshot_and_out_of_order_ones_are_refused() {
        let data: Vec<u8> = (0..(CHUNK_BYTES * 2 + 10)).map(|i| i as u8).collect();
        let pieces = chunks(&data);
        assert_eq!(pieces.len(), 3);
        let mut assembly = Assembly::default();
        let total = data.len() as u64;
        let mut whole = None;
        for (offset, chunk) in &pieces {
            match assembly.receive(&meta("s"), *offset, total, chunk.to_vec()) {
                Ok(Received::Complete(bytes)) => whole = Some(bytes),
                Ok(Received::Partial) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(whole, Some(data.clone()));
        // A later chunk first, another snapshot's chunk, a chunk past the total: refused.
        let mut assembly = Assembly::default();
        assert!(assembly
            .receive(&meta("s"), pieces[1].0, total, pieces[1].1.to_vec())
            .is_err());
        assert!(assembly
            .receive(&meta("s"), 0, total, pieces[0].1.to_vec())
            .is_ok());
        assert!(assembly
            .receive(&meta("t"), pieces[1].0, total, pieces[1].1.to_vec())
            .is_err());
        assert!(assembly
            .receive(&meta("s"), 0, 3, vec![1, 2, 3, 4])
            .is_err());
        assert!(assembly
            .receive(&meta("s"), 0, MAX_SNAPSHOT_BYTES + 1, vec![])
            .is_err());
        assert!(matches!(
            Assembly::default().receive(&meta("e"), 0, 0, vec![]),
            Ok(Received::Complete(bytes)) if bytes.is_empty()
        ));
    }
}
