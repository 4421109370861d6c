//! The Raft log in redb: entries by index (MessagePack), the vote, the last purged and
//! the committed log ids. Appends are one transaction, fsynced (on tokio's blocking
//! pool) before openraft is told they are flushed. The committed log id is saved with
//! the next append: openraft allows it to lag behind.

use super::database::{
    io_error, off_the_runtime, read_meta, write_meta, COMMITTED, LAST_PURGED, LOG, META, VOTE,
};
use crate::encoding;
use crate::raft_types::{Entry, LogId, TypeConfig, Vote};
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::OptionalSend;
use redb::{Database, ReadableDatabase, ReadableTable};
use std::fmt::Debug;
use std::io;
use std::ops::RangeBounds;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct LogStore {
    db: Arc<Database>,
    /// The latest committed log id openraft reported, written with the next append
    /// (openraft allows it to lag; a separate commit per report would cost a redb
    /// transaction each time).
    committed: Arc<Mutex<Option<LogId>>>,
}

impl LogStore {
    pub fn new(db: Arc<Database>) -> LogStore {
        LogStore {
            db,
            committed: Arc::default(),
        }
    }

    fn last_entry(&self) -> io::Result<Option<Entry>> {
        let txn = self.db.begin_read().map_err(io_error)?;
        let table = txn.open_table(LOG).map_err(io_error)?;
        let last = table.last().map_err(io_error)?;
        match last {
            Some((_, bytes)) => encoding::decode(bytes.value()).map(Some).map_err(io_error),
            None => Ok(None),
        }
    }

    /// Removes the entries whose index is in `range`, in one durable transaction.
    fn remove_range(&self, range: impl RangeBounds<u64>) -> io::Result<()> {
        let txn = self.db.begin_write().map_err(io_error)?;
        {
            let mut table = txn.open_table(LOG).map_err(io_error)?;
            table.retain_in(range, |_, _| false).map_err(io_error)?;
        }
        txn.commit().map_err(io_error)
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let txn = self.db.begin_read().map_err(io_error)?;
        let table = txn.open_table(LOG).map_err(io_error)?;
        let mut entries = Vec::new();
        for item in table.range(range).map_err(io_error)? {
            let (_, bytes) = item.map_err(io_error)?;
            entries.push(encoding::decode(bytes.value()).map_err(io_error)?);
        }
        Ok(entries)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        read_meta(&self.db, VOTE)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let last_purged_log_id: Option<LogId> = read_meta(&self.db, LAST_PURGED)?;
        let last_log_id = match self.last_entry()? {
            Some(entry) => Some(entry.log_id()),
            None => last_purged_log_id,
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
        let (db, vote) = (self.db.clone(), *vote);
        off_the_runtime(move || write_meta(&db, VOTE, &vote)).await
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
        let db = self.db.clone();
        let entries: Vec<Entry> = entries.into_iter().collect();
        let committed = *self.committed.lock().unwrap_or_else(|e| e.into_inner());
        let result = off_the_runtime(move || {
            let txn = db.begin_write().map_err(io_error)?;
            {
                let mut table = txn.open_table(LOG).map_err(io_error)?;
                for entry in &entries {
                    table
                        .insert(entry.index(), encoding::encode(entry).as_slice())
                        .map_err(io_error)?;
                }
                let mut meta = txn.open_table(META).map_err(io_error)?;
                meta.insert(COMMITTED, encoding::encode(&committed).as_slice())
                    .map_err(io_error)?;
            }
            txn.commit().map_err(io_error)
        })
        .await;
        let reported = result
            .as_ref()
            .map(|_| ())
            .map_err(|e| io::Error::new(e.kind(), e.to_string()));
        callback.io_completed(reported);
        result
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let from = last_log_id.map_or(0, |id| id.index() + 1);
        self.remove_range(from..)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        let store = self.clone();
        off_the_runtime(move || {
            // Record the purge point first: entries at or before it are ignored from then on.
            write_meta(&store.db, LAST_PURGED, &log_id)?;
            store.remove_range(..=log_id.index())
        })
        .await
    }
}
