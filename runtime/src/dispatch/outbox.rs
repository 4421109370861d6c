//! A worker's outbox: the outcome of every step it ran, kept durably (redb, fsynced)
//! until the cluster has acknowledged it. A worker cut off from the cluster finishes
//! its steps and keeps their outcomes here; a worker that restarts delivers what the
//! previous process could not. Store and forward: no outcome is lost to a flaky uplink,
//! and a step whose outcome is waiting here is never run again.

use crate::api::FinishedStep;
use crate::encoding;
use crate::state::assignments::key;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Outcomes not yet acknowledged, by `run_id/step`.
const OUTBOX: TableDefinition<&str, &[u8]> = TableDefinition::new("outbox");

/// Event requests accepted while the cluster was out of reach, by arrival number
/// (`triggers/relay.rs` encodes them).
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");

/// The outbox's file inside the worker's data dir.
pub const OUTBOX_FILE: &str = "outbox.redb";

#[derive(Clone)]
pub struct Outbox {
    db: Arc<Database>,
    path: PathBuf,
    /// Bytes of the kept event requests (summed once at open, then kept up to date
    /// inside the write transactions that change them).
    events_held: Arc<AtomicU64>,
}

impl Outbox {
    /// Opens (creating if needed) the outbox in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Outbox, String> {
        let path = data_dir.join(OUTBOX_FILE);
        let failed = |e: &dyn std::fmt::Display| format!("the outbox {}: {e}", path.display());
        std::fs::create_dir_all(data_dir).map_err(|e| failed(&e))?;
        let db = Database::create(&path).map_err(|e| failed(&e))?;
        let txn = db.begin_write().map_err(|e| failed(&e))?;
        txn.open_table(OUTBOX).map_err(|e| failed(&e))?;
        txn.open_table(EVENTS).map_err(|e| failed(&e))?;
        txn.commit().map_err(|e| failed(&e))?;
        let mut held = 0u64;
        let read = db.begin_read().map_err(|e| failed(&e))?;
        let events = read.open_table(EVENTS).map_err(|e| failed(&e))?;
        for entry in events.iter().map_err(|e| failed(&e))? {
            held += entry.map_err(|e| failed(&e))?.1.value().len() as u64;
        }
        drop((events, read));
        Ok(Outbox {
            db: Arc::new(db),
            path,
            events_held: Arc::new(AtomicU64::new(held)),
        })
    }

    /// Keeps an outcome, durably, before it is sent.
    pub async fn keep(&self, step: &FinishedStep) -> Result<(), String> {
        let (key, bytes) = (key(&step.run_id, &step.step), encoding::encode(step));
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            txn.open_table(OUTBOX)?
                .insert(key.as_str(), bytes.as_slice())?;
            txn.commit()?;
            Ok(())
        })
        .await
    }

    /// Forgets an outcome the cluster has.
    pub async fn delivered(&self, step: &FinishedStep) -> Result<(), String> {
        let key = key(&step.run_id, &step.step);
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            txn.open_table(OUTBOX)?.remove(key.as_str())?;
            txn.commit()?;
            Ok(())
        })
        .await
    }

    /// Every outcome not yet delivered.
    pub async fn waiting(&self) -> Result<Vec<FinishedStep>, String> {
        self.blocking(|db| {
            let txn = db.begin_read()?;
            let table = txn.open_table(OUTBOX)?;
            let mut steps = Vec::new();
            for entry in table.iter()? {
                let (_, bytes) = entry?;
                // An entry this version cannot read is skipped rather than blocking
                // the rest (it cannot be delivered anyway).
                if let Ok(step) = encoding::decode(bytes.value()) {
                    steps.push(step);
                }
            }
            Ok(steps)
        })
        .await
    }

    /// Keeps an event request, durably, after every one kept before it; refuses it
    /// (`Ok(false)`) when the queued requests would exceed `capacity` bytes.
    pub async fn queue_event(&self, request: Vec<u8>, capacity: u64) -> Result<bool, String> {
        let events_held = self.events_held.clone();
        self.blocking(move |db| {
            // Write transactions are exclusive: the total cannot change in between.
            let txn = db.begin_write()?;
            let held = events_held.load(Ordering::Acquire);
            if held + request.len() as u64 > capacity {
                return Ok(false);
            }
            {
                let mut table = txn.open_table(EVENTS)?;
                let next = table.last()?.map_or(0, |(seq, _)| seq.value() + 1);
                table.insert(next, request.as_slice())?;
            }
            // Counted before the commit ends the exclusive section; uncounted if it fails.
            events_held.store(held + request.len() as u64, Ordering::Release);
            if let Err(failed) = txn.commit() {
                events_held.store(held, Ordering::Release);
                return Err(failed.into());
            }
            Ok(true)
        })
        .await
    }

    /// The oldest queued event request, with its number.
    pub async fn oldest_event(&self) -> Result<Option<(u64, Vec<u8>)>, String> {
        self.blocking(|db| {
            let txn = db.begin_read()?;
            let table = txn.open_table(EVENTS)?;
            let oldest = table.first()?;
            Ok(oldest.map(|(seq, bytes)| (seq.value(), bytes.value().to_vec())))
        })
        .await
    }

    /// Forgets event request `seq`: the cluster has decided on it.
    pub async fn event_forwarded(&self, seq: u64) -> Result<(), String> {
        let events_held = self.events_held.clone();
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            let freed = txn
                .open_table(EVENTS)?
                .remove(seq)?
                .map_or(0, |bytes| bytes.value().len() as u64);
            txn.commit()?;
            events_held.fetch_sub(freed, Ordering::AcqRel);
            Ok(())
        })
        .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, redb::Error> + Send + 'static,
    ) -> Result<T, String> {
        let (db, path) = (self.db.clone(), self.path.clone());
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("the outbox {}: {e}", path.display()))
    }
}
