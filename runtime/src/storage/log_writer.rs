//! The Raft log's one writer: a thread that commits every write to the log (appends,
//! truncations, purges, votes) to redb in the order openraft made them. It takes all
//! the writes waiting when it starts a commit and puts them in one transaction — one
//! fsync for many appends (group commit) — so the Raft core never waits for the disk:
//! it hears that entries are durable through openraft's `IOFlushed` callback, and a
//! vote through a reply, once the commit holding them has returned.

use super::database::{io_error, COMMITTED, LAST_PURGED, LOG, META, VOTE};
use super::log_tail::LogTail;
use crate::encoding;
use crate::raft_types::{LogId, TypeConfig, Vote};
use openraft::storage::IOFlushed;
use redb::Database;
use std::io;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// At most this many writes go into one transaction, so a long queue still reports
/// progress in steps.
const MOST_PER_COMMIT: usize = 1024;

/// The committed log id is saved when it has moved this many entries since it was last
/// saved (openraft allows it to lag; saving it with every commit would rewrite another
/// table's pages each time).
const SAVE_COMMITTED_EVERY: u64 = 1024;

/// One write to the log, as openraft asked for it.
pub enum LogWrite {
    Append {
        /// Each entry's index and its encoding.
        entries: Vec<(u64, Vec<u8>)>,
        /// Their log ids, to tell the tail which entries are durable.
        log_ids: Vec<LogId>,
        /// The latest committed log id openraft reported (it may lag).
        committed: Option<LogId>,
        flushed: IOFlushed<TypeConfig>,
    },
    TruncateFrom(u64),
    Purge(LogId),
    Vote {
        vote: Vote,
        saved: oneshot::Sender<io::Result<()>>,
    },
}

/// Hands writes to the writer thread; the thread ends when every handle is dropped.
#[derive(Clone)]
pub struct LogWriter {
    writes: mpsc::Sender<LogWrite>,
}

impl LogWriter {
    pub fn start(db: Arc<Database>, tail: Arc<Mutex<LogTail>>) -> io::Result<LogWriter> {
        let (writes, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("raft-log-writer".to_string())
            .spawn(move || write_until_closed(&db, &tail, &queue))?;
        Ok(LogWriter { writes })
    }

    /// Queues a write; fails only when the writer thread is gone.
    pub fn submit(&self, write: LogWrite) -> io::Result<()> {
        self.writes
            .send(write)
            .map_err(|_| io::Error::other("the Raft log writer has stopped"))
    }
}

/// The writer thread: takes what is queued, commits it, tells the tail and the callers.
fn write_until_closed(db: &Database, tail: &Mutex<LogTail>, queue: &mpsc::Receiver<LogWrite>) {
    let mut saved_committed: Option<u64> = None;
    while let Ok(write) = queue.recv() {
        let mut batch = vec![write];
        while batch.len() < MOST_PER_COMMIT {
            match queue.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        let result = commit(db, &batch, saved_committed).map(|saved| saved_committed = saved);
        if result.is_ok() {
            let written: Vec<LogId> = batch
                .iter()
                .flat_map(|write| match write {
                    LogWrite::Append { log_ids, .. } => log_ids.as_slice(),
                    _ => &[],
                })
                .copied()
                .collect();
            tail.lock()
                .unwrap_or_else(|e| e.into_inner())
                .committed(&written);
        }
        for write in batch {
            let outcome = match &result {
                Ok(()) => Ok(()),
                Err(error) => Err(io::Error::new(error.kind(), error.to_string())),
            };
            match write {
                LogWrite::Append { flushed, .. } => flushed.io_completed(outcome),
                LogWrite::Vote { saved, .. } => {
                    // The caller may have given up waiting; nothing is owed to it then.
                    let _ = saved.send(outcome);
                }
                LogWrite::TruncateFrom(_) | LogWrite::Purge(_) => {}
            }
        }
    }
}

/// Applies the writes in order in one transaction and commits it (fsync). Returns the
/// index of the committed log id saved by then (`saved_committed` before).
fn commit(
    db: &Database,
    batch: &[LogWrite],
    mut saved_committed: Option<u64>,
) -> io::Result<Option<u64>> {
    let txn = db.begin_write().map_err(io_error)?;
    {
        let mut log = txn.open_table(LOG).map_err(io_error)?;
        let mut meta = txn.open_table(META).map_err(io_error)?;
        for write in batch {
            match write {
                LogWrite::Append {
                    entries, committed, ..
                } => {
                    for (index, bytes) in entries {
                        log.insert(*index, bytes.as_slice()).map_err(io_error)?;
                    }
                    let index = committed.map(|id| id.index());
                    let due = index.is_some_and(|index| {
                        saved_committed.is_none_or(|saved| index >= saved + SAVE_COMMITTED_EVERY)
                    });
                    if due {
                        meta.insert(COMMITTED, encoding::encode(committed).as_slice())
                            .map_err(io_error)?;
                        saved_committed = index;
                    }
                }
                LogWrite::TruncateFrom(from) => {
                    log.retain_in(*from.., |_, _| false).map_err(io_error)?;
                }
                LogWrite::Purge(log_id) => {
                    meta.insert(LAST_PURGED, encoding::encode(log_id).as_slice())
                        .map_err(io_error)?;
                    log.retain_in(..=log_id.index(), |_, _| false)
                        .map_err(io_error)?;
                }
                LogWrite::Vote { vote, .. } => {
                    meta.insert(VOTE, encoding::encode(vote).as_slice())
                        .map_err(io_error)?;
                }
            }
        }
    }
    txn.commit().map_err(io_error)?;
    Ok(saved_committed)
}
