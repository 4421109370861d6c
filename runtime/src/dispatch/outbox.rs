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
use std::sync::Arc;

/// Outcomes not yet acknowledged, by `run_id/step`.
const OUTBOX: TableDefinition<&str, &[u8]> = TableDefinition::new("outbox");

/// The outbox's file inside the worker's data dir.
pub const OUTBOX_FILE: &str = "outbox.redb";

#[derive(Clone)]
pub struct Outbox {
    db: Arc<Database>,
    path: PathBuf,
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
        txn.commit().map_err(|e| failed(&e))?;
        Ok(Outbox {
            db: Arc::new(db),
            path,
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
