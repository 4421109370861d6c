//! The Raft log as openraft sees it: entries by index (MessagePack in redb), the vote,
//! the last purged and the committed log ids. Writes go to the log writer's thread
//! (`log_writer.rs`) and are readable at once from the in-memory tail (`log_tail.rs`);
//! openraft hears that appended entries are durable once their commit has returned.
//! The committed log id goes to the writer with each append, which saves it now and
//! then: openraft allows it to lag.

use super::database::{io_error, read_meta, COMMITTED, LAST_PURGED, LOG, VOTE};
use super::log_tail::LogTail;
use super::log_writer::{LogWrite, LogWriter};
use crate::encoding;
use crate::raft_types::{Entry, LogId, TypeConfig, Vote};
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::OptionalSend;
use redb::{Database, ReadableDatabase, ReadableTable};
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// openraft's handle on the log; clones share the tail and the writer.
#[derive(Clone)]
pub struct LogStore {
    db: Arc<Database>,
    tail: Arc<Mutex<LogTail>>,
    writer: LogWriter,
    /// The latest committed log id openraft reported, handed to the writer with the
    /// next append (openraft allows it to lag; a separate commit per report would cost
    /// a redb transaction each time).
    committed: Arc<Mutex<Option<LogId>>>,
}

impl LogStore {
    /// The log in `db`, with its writer thread started.
    pub fn open(db: Arc<Database>) -> io::Result<LogStore> {
        let last_index = {
            let txn = db.begin_read().map_err(io_error)?;
            let table = txn.open_table(LOG).map_err(io_error)?;
            let last = table.last().map_err(io_error)?;
            last.map(|(index, _)| index.value())
        };
        let last_purged: Option<LogId> = read_meta(&db, LAST_PURGED)?;
        let tail = Arc::new(Mutex::new(LogTail::after(last_index, last_purged)));
        let writer = LogWriter::start(db.clone(), tail.clone())?;
        Ok(LogStore {
            db,
            tail,
            writer,
            committed: Arc::default(),
        })
    }

    fn tail(&self) -> MutexGuard<'_, LogTail> {
        self.tail.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The durable entries with indexes in `from..to`, decoded.
    fn read_durable(&self, from: u64, to: u64) -> io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        if from >= to {
            return Ok(entries);
        }
        let txn = self.db.begin_read().map_err(io_error)?;
        let table = txn.open_table(LOG).map_err(io_error)?;
        for item in table.range(from..to).map_err(io_error)? {
            let (_, bytes) = item.map_err(io_error)?;
            entries.push(encoding::decode(bytes.value()).map_err(io_error)?);
        }
        Ok(entries)
    }

    /// The last durable entry's log id below index `before`.
    fn last_durable_before(&self, before: u64) -> io::Result<Option<LogId>> {
        let txn = self.db.begin_read().map_err(io_error)?;
        let table = txn.open_table(LOG).map_err(io_error)?;
        let last = table.range(..before).map_err(io_error)?.next_back();
        match last {
            Some(item) => {
                let (_, bytes) = item.map_err(io_error)?;
                let entry: Entry = encoding::decode(bytes.value()).map_err(io_error)?;
                Ok(Some(entry.log_id()))
            }
            None => Ok(None),
        }
    }
}

/// `range` as `from..to`.
fn index_span(range: &impl RangeBounds<u64>) -> (u64, u64) {
    let from = match range.start_bound() {
        Bound::Included(index) => *index,
        Bound::Excluded(index) => index.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let to = match range.end_bound() {
        Bound::Included(index) => index.saturating_add(1),
        Bound::Excluded(index) => *index,
        Bound::Unbounded => u64::MAX,
    };
    (from, to)
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let (from, to) = index_span(&range);
        let (first, recent) = {
            let tail = self.tail();
            (tail.first(), tail.entries(from, to))
        };
        if from >= first {
            return Ok(recent);
        }
        let mut entries = self.read_durable(from, to.min(first))?;
        entries.extend(recent);
        Ok(entries)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        read_meta(&self.db, VOTE)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let (first, last_in_tail, last_purged_log_id) = {
            let tail = self.tail();
            (tail.first(), tail.last_log_id(), tail.last_purged())
        };
        let last_log_id = match last_in_tail {
            Some(log_id) => Some(log_id),
            None => {
                let durable = self.last_durable_before(first)?;
                // Entries up to the purge point may still be on their way out of redb.
                match (durable, last_purged_log_id) {
                    (Some(durable), Some(purged)) if durable.index() <= purged.index() => {
                        Some(purged)
                    }
                    (durable, purged) => durable.or(purged),
                }
            }
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        let (saved, reply) = oneshot::channel();
        self.writer.submit(LogWrite::Vote { vote: *vote, saved })?;
        reply
            .await
            .map_err(|_| io::Error::other("the Raft log writer has stopped"))?
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        *self.committed.lock().unwrap_or_else(|e| e.into_inner()) = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        Ok(read_meta::<Option<LogId>>(&self.db, COMMITTED)?.flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<TypeConfig>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let encoded: Vec<(u64, Vec<u8>)> = entries
            .iter()
            .map(|entry| (entry.index(), encoding::encode(entry)))
            .collect();
        let log_ids = entries.iter().map(RaftEntry::log_id).collect();
        let committed = *self.committed.lock().unwrap_or_else(|e| e.into_inner());
        let sizes = encoded.iter().map(|(_, bytes)| bytes.len());
        self.tail().append(entries.into_iter().zip(sizes));
        self.writer.submit(LogWrite::Append {
            entries: encoded,
            log_ids,
            committed,
            flushed: callback,
        })
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let from = last_log_id.map_or(0, |id| id.index() + 1);
        self.tail().truncate_from(from);
        self.writer.submit(LogWrite::TruncateFrom(from))
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        self.tail().purge_through(log_id);
        self.writer.submit(LogWrite::Purge(log_id))
    }
}
