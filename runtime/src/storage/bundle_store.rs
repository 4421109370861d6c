//! The bytes of stored bundles, once each, by content hash, in their own table of the
//! node's database — so a node holds a bundle in memory only while something reads it
//! (a driver starting a run, a snapshot on its way to a follower). What the replicated
//! state says is stored decides what is here: the state store writes a bundle as the
//! `SubmitRun` entry carrying it applies and deletes it when the state releases it.

use super::database::{io_error, BUNDLES};
use redb::{Database, ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};
use std::io;
use std::sync::Arc;

/// One bundle, as it travels inside a snapshot.
#[derive(Serialize, Deserialize)]
pub struct StoredBundle {
    pub hash: String,
    pub bundle: String,
}

/// Read access to the stored bundles, for drivers.
#[derive(Clone)]
pub struct BundleStore {
    db: Arc<Database>,
}

impl BundleStore {
    pub fn new(db: Arc<Database>) -> BundleStore {
        BundleStore { db }
    }

    /// The bundle stored under `hash`, if any.
    pub fn get(&self, hash: &str) -> io::Result<Option<String>> {
        let txn = self.db.begin_read().map_err(io_error)?;
        let table = txn.open_table(BUNDLES).map_err(io_error)?;
        Ok(table
            .get(hash)
            .map_err(io_error)?
            .map(|bundle| bundle.value().to_string()))
    }

    /// Stores a bundle (fsynced) unless it is there already.
    pub fn put(&self, hash: &str, bundle: &str) -> io::Result<()> {
        if self.get(hash)?.is_some() {
            return Ok(());
        }
        let txn = self.db.begin_write().map_err(io_error)?;
        txn.open_table(BUNDLES)
            .map_err(io_error)?
            .insert(hash, bundle)
            .map_err(io_error)?;
        txn.commit().map_err(io_error)
    }

    /// Deletes released bundles.
    pub fn delete(&self, hashes: &[String]) -> io::Result<()> {
        let txn = self.db.begin_write().map_err(io_error)?;
        {
            let mut table = txn.open_table(BUNDLES).map_err(io_error)?;
            for hash in hashes {
                table.remove(hash.as_str()).map_err(io_error)?;
            }
        }
        txn.commit().map_err(io_error)
    }

    /// Every stored bundle, for a snapshot sent to a follower.
    pub fn all(&self) -> io::Result<Vec<StoredBundle>> {
        let txn = self.db.begin_read().map_err(io_error)?;
        let table = txn.open_table(BUNDLES).map_err(io_error)?;
        table
            .iter()
            .map_err(io_error)?
            .map(|entry| {
                let (hash, bundle) = entry.map_err(io_error)?;
                Ok(StoredBundle {
                    hash: hash.value().to_string(),
                    bundle: bundle.value().to_string(),
                })
            })
            .collect()
    }

    /// Makes the stored bundles exactly `bundles` (installing a snapshot).
    pub fn replace_all(&self, bundles: &[StoredBundle]) -> io::Result<()> {
        let txn = self.db.begin_write().map_err(io_error)?;
        {
            let mut table = txn.open_table(BUNDLES).map_err(io_error)?;
            table.retain(|_, _| false).map_err(io_error)?;
            for stored in bundles {
                table
                    .insert(stored.hash.as_str(), stored.bundle.as_str())
                    .map_err(io_error)?;
            }
        }
        txn.commit().map_err(io_error)
    }
}
