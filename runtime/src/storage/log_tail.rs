//! The tail of the Raft log in memory. openraft wants `append` to return as soon as the
//! entries are readable and to hear about durability later; the tail is what makes them
//! readable at once, while the log writer (`log_writer.rs`) commits them to redb in the
//! background. It also serves replication: the entries followers ask for are almost
//! always recent ones, so they are cloned from here rather than read back and decoded.
//!
//! The tail covers the indexes `first..next` without holes; everything below `first`
//! is durable in redb. An entry leaves the tail only once the writer has committed that
//! very entry (same log id) and the tail holds more than [`KEEP`] entries or more than
//! [`KEEP_BYTES`] (a submitted bundle can be megabytes; entries not yet committed stay
//! whatever their size).

use crate::raft_types::{Entry, LogId};
use openraft::entry::RaftEntry;
use std::collections::VecDeque;

/// How many entries the tail holds at most once they are committed, for followers that
/// are slightly behind (a few hundred kilobytes at typical entry sizes)…
pub const KEEP: usize = 4096;
/// …and how many bytes (encoded) at most.
pub const KEEP_BYTES: usize = 4 * 1024 * 1024;

struct Slot {
    entry: Entry,
    /// Its encoded size.
    bytes: usize,
    /// The writer has committed this entry to redb.
    durable: bool,
}

pub struct LogTail {
    /// The index of the first slot.
    first: u64,
    slots: VecDeque<Slot>,
    /// The encoded size of all slots.
    bytes: usize,
    /// The last purged log id, as openraft last asked (its removal may still be on its
    /// way to redb).
    last_purged: Option<LogId>,
}

impl LogTail {
    /// An empty tail after `last_index` (the last entry redb holds), with redb's purge
    /// point.
    pub fn after(last_index: Option<u64>, last_purged: Option<LogId>) -> LogTail {
        let below = last_index.max(last_purged.map(|id| id.index()));
        LogTail {
            first: below.map_or(0, |index| index + 1),
            slots: VecDeque::new(),
            bytes: 0,
            last_purged,
        }
    }

    /// The index after the last entry.
    fn next(&self) -> u64 {
        self.first + self.slots.len() as u64
    }

    /// The index below which entries are read from redb.
    pub fn first(&self) -> u64 {
        self.first
    }

    pub fn last_purged(&self) -> Option<LogId> {
        self.last_purged
    }

    pub fn last_log_id(&self) -> Option<LogId> {
        self.slots.back().map(|slot| slot.entry.log_id())
    }

    /// Adds entries with their encoded sizes; the first one follows the last (openraft
    /// never leaves a hole; an entry at an index already held replaces it and everything
    /// after it).
    pub fn append(&mut self, entries: impl IntoIterator<Item = (Entry, usize)>) {
        for (entry, bytes) in entries {
            let index = entry.index();
            if index < self.next() {
                self.truncate_from(index);
            }
            if self.slots.is_empty() {
                self.first = index;
            }
            self.bytes += bytes;
            self.slots.push_back(Slot {
                entry,
                bytes,
                durable: false,
            });
        }
    }

    /// Removes the entries at `from` and after.
    pub fn truncate_from(&mut self, from: u64) {
        let keep = from.saturating_sub(self.first) as usize;
        for slot in self.slots.drain(keep.min(self.slots.len())..) {
            self.bytes -= slot.bytes;
        }
        if from <= self.first {
            self.first = from;
        }
    }

    /// Removes the entries up to and including `log_id`'s index.
    pub fn purge_through(&mut self, log_id: LogId) {
        let end = log_id.index() + 1;
        let drop = end.saturating_sub(self.first).min(self.slots.len() as u64);
        for slot in self.slots.drain(..drop as usize) {
            self.bytes -= slot.bytes;
        }
        self.first = self.first.max(end);
        self.last_purged = Some(log_id);
    }

    /// Clones the entries with indexes in `from..to` that the tail holds (those at
    /// `first()` and after).
    pub fn entries(&self, from: u64, to: u64) -> Vec<Entry> {
        let start = from.max(self.first);
        let end = to.min(self.next());
        if start >= end {
            return Vec::new();
        }
        let offset = (start - self.first) as usize;
        self.slots
            .range(offset..offset + (end - start) as usize)
            .map(|slot| slot.entry.clone())
            .collect()
    }

    /// Marks the entries the writer committed (by log id: an entry replaced since was
    /// not) and lets go of the oldest durable ones while the tail holds more than
    /// [`KEEP`] entries or [`KEEP_BYTES`].
    pub fn committed(&mut self, written: &[LogId]) {
        for log_id in written {
            let Some(offset) = log_id.index().checked_sub(self.first) else {
                continue;
            };
            if let Some(slot) = self.slots.get_mut(offset as usize) {
                if slot.entry.log_id() == *log_id {
                    slot.durable = true;
                }
            }
        }
        while self.slots.len() > KEEP || self.bytes > KEEP_BYTES {
            match self.slots.front() {
                Some(slot) if slot.durable => {
                    self.bytes -= slot.bytes;
                    self.slots.pop_front();
                    self.first += 1;
                }
                _ => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft_types::TypeConfig;
    use openraft::vote::RaftLeaderId;

    fn id(term: u64, index: u64) -> LogId {
        let leader = openraft::alias::LeaderIdOf::<TypeConfig>::new(term, 1).to_committed();
        LogId::new(leader, index)
    }

    /// An entry and its (pretend) encoded size.
    fn entry(term: u64, index: u64) -> (Entry, usize) {
        (Entry::new_blank(id(term, index)), 100)
    }

    fn ids(entries: &[Entry]) -> Vec<LogId> {
        entries.iter().map(RaftEntry::log_id).collect()
    }

    #[test]
    fn an_entry_at_a_held_index_replaces_it_and_what_follows() {
        let mut tail = LogTail::after(None, None);
        tail.append((0..5).map(|i| entry(1, i)));
        tail.append([entry(2, 3)]);
        assert_eq!(
            ids(&tail.entries(0, 10)),
            [id(1, 0), id(1, 1), id(1, 2), id(2, 3)]
        );
    }

    #[test]
    fn only_the_committed_entries_themselves_are_let_go() {
        let mut tail = LogTail::after(Some(9), None);
        let count = KEEP as u64;
        tail.append((10..10 + count).map(|i| entry(1, i)));
        // The writer committed the first 5 in term 1, but index 12 was replaced meanwhile.
        tail.append([entry(2, 12)]);
        tail.append((13..10 + count).map(|i| entry(2, i)));
        let written: Vec<LogId> = (10..15).map(|i| id(1, i)).collect();
        tail.committed(&written);
        assert_eq!(
            tail.first(),
            10,
            "only KEEP entries are held: none is let go"
        );
        tail.append([entry(2, 10 + count)]);
        tail.append([entry(2, 11 + count)]);
        tail.committed(&[]);
        assert_eq!(tail.first(), 12, "10 and 11 were durable, 12 was replaced");
        assert_eq!(ids(&tail.entries(0, 13)), [id(2, 12)]);
    }

    #[test]
    fn large_entries_are_let_go_once_committed_and_over_the_byte_bound() {
        let mut tail = LogTail::after(None, None);
        let big = |index| (Entry::new_blank(id(1, index)), KEEP_BYTES / 2);
        tail.append([big(0), big(1), big(2)]);
        tail.committed(&[]);
        assert_eq!(
            tail.first(),
            0,
            "entries not yet committed stay, whatever their size"
        );
        tail.committed(&[id(1, 0), id(1, 1), id(1, 2)]);
        assert_eq!(
            tail.first(),
            1,
            "one and a half times the bound: the oldest goes"
        );
        assert_eq!(ids(&tail.entries(0, 3)), [id(1, 1), id(1, 2)]);
    }

    #[test]
    fn purging_past_the_end_moves_the_start() {
        let mut tail = LogTail::after(Some(4), None);
        tail.append((5..8).map(|i| entry(1, i)));
        tail.purge_through(id(1, 20));
        assert_eq!(tail.first(), 21);
        assert!(tail.last_log_id().is_none());
        tail.append([entry(1, 21)]);
        assert_eq!(ids(&tail.entries(0, 30)), [id(1, 21)]);
    }

    #[test]
    fn truncating_below_the_start_empties_it() {
        let mut tail = LogTail::after(Some(4), None);
        tail.append((5..8).map(|i| entry(1, i)));
        tail.truncate_from(3);
        assert_eq!(tail.first(), 3);
        assert!(tail.entries(0, 10).is_empty());
    }
}
