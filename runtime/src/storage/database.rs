//! Opening the node's database and the tables in it.

use crate::encoding;
use redb::{Database, ReadableDatabase, TableDefinition};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Log entries by index, serialised.
pub(super) const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("raft_log");
/// Small records: vote, last purged and committed log ids (and the snapshot, as versions
/// before the snapshot file kept it: read when there is no file, then removed).
pub(super) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("raft_meta");
/// Stored bundles (compiled programs) by content hash (`bundle_store`).
pub(super) const BUNDLES: TableDefinition<&str, &str> = TableDefinition::new("bundles");

pub(super) const VOTE: &str = "vote";
pub(super) const LAST_PURGED: &str = "last_purged";
pub(super) const COMMITTED: &str = "committed";
/// The latest snapshot's metadata and its state, where versions before the snapshot file
/// (`snapshot_file`) kept them.
pub(super) const SNAPSHOT_META: &str = "snapshot_meta";
pub(super) const SNAPSHOT_DATA: &str = "snapshot_data";

/// The database file inside a data dir.
pub const DATABASE_FILE: &str = "raft.redb";

#[derive(Debug)]
pub struct StorageError {
    pub path: PathBuf,
    pub reason: String,
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot open the node's database {}: {}",
            self.path.display(),
            self.reason
        )
    }
}

impl std::error::Error for StorageError {}

/// Opens (creating if needed) the database in `data_dir` and its tables.
pub fn open(data_dir: &Path) -> Result<Arc<Database>, StorageError> {
    let path = data_dir.join(DATABASE_FILE);
    let error = |reason: String| StorageError {
        path: path.clone(),
        reason,
    };
    if data_dir.exists() && !data_dir.is_dir() {
        return Err(error(format!(
            "the data dir {} is a file, not a folder (point `data_dir` at a folder)",
            data_dir.display()
        )));
    }
    std::fs::create_dir_all(data_dir).map_err(|e| error(e.to_string()))?;
    let db = create_waiting_for_close(&path).map_err(|e| match e {
        redb::DatabaseError::Storage(redb::StorageError::Io(io))
            if io.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            error(format!(
                "the file is cut short ({io}): it was truncated or damaged. Restore it from a \
                 backup; or, on a cluster member, move it away and bring the node back \
                 (`edgeflow cluster remove ID`, start it empty, `cluster add`, `cluster promote`)"
            ))
        }
        redb::DatabaseError::Storage(redb::StorageError::Corrupted(why)) => error(format!(
            "the file is damaged ({why}). Restore it from a backup; or, on a cluster member, \
             move it away and bring the node back (`edgeflow cluster remove ID`, start it \
             empty, `cluster add`, `cluster promote`)"
        )),
        other => error(other.to_string()),
    })?;
    let txn = db.begin_write().map_err(|e| error(e.to_string()))?;
    txn.open_table(LOG).map_err(|e| error(e.to_string()))?;
    txn.open_table(META).map_err(|e| error(e.to_string()))?;
    txn.open_table(BUNDLES).map_err(|e| error(e.to_string()))?;
    txn.commit().map_err(|e| error(e.to_string()))?;
    Ok(Arc::new(db))
}

/// redb's page cache: the state is small, and a node should stay lean.
const CACHE_BYTES: usize = 8 * 1024 * 1024;

/// How long to wait for this process's previous handle on the file to close.
const REOPEN_WAIT: Duration = Duration::from_secs(5);

/// Opens the database file. redb defers closing a dropped database until its last
/// transaction ends, so right after a node in this process shut down the file may still
/// be locked for a moment: wait for that (bounded), rather than fail a restart.
fn create_waiting_for_close(path: &Path) -> Result<Database, redb::DatabaseError> {
    let deadline = Instant::now() + REOPEN_WAIT;
    loop {
        match Database::builder().set_cache_size(CACHE_BYTES).create(path) {
            Err(redb::DatabaseError::DatabaseAlreadyOpen) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

/// Any storage failure, as the `io::Error` openraft's traits want.
pub(super) fn io_error(error: impl fmt::Display) -> std::io::Error {
    std::io::Error::other(error.to_string())
}

pub(super) fn read_meta<T: serde::de::DeserializeOwned>(
    db: &Database,
    key: &str,
) -> std::io::Result<Option<T>> {
    match read_raw(db, key)? {
        Some(bytes) => encoding::decode(&bytes).map(Some).map_err(io_error),
        None => Ok(None),
    }
}

pub(super) fn read_raw(db: &Database, key: &str) -> std::io::Result<Option<Vec<u8>>> {
    let txn = db.begin_read().map_err(io_error)?;
    let table = txn.open_table(META).map_err(io_error)?;
    Ok(table
        .get(key)
        .map_err(io_error)?
        .map(|bytes| bytes.value().to_vec()))
}

/// Removes records, if there are any, in one transaction fsynced before returning
/// (without taking the write lock when there is nothing to remove).
pub(super) fn forget_records(db: &Database, keys: &[&str]) -> std::io::Result<()> {
    {
        let txn = db.begin_read().map_err(io_error)?;
        let table = txn.open_table(META).map_err(io_error)?;
        let mut present = false;
        for key in keys {
            present |= table.get(*key).map_err(io_error)?.is_some();
        }
        if !present {
            return Ok(());
        }
    }
    let txn = db.begin_write().map_err(io_error)?;
    {
        let mut table = txn.open_table(META).map_err(io_error)?;
        for key in keys {
            table.remove(*key).map_err(io_error)?;
        }
    }
    txn.commit().map_err(io_error)
}

/// Runs blocking storage work (a commit waits for fsync) on tokio's blocking pool, so
/// the async workers keep serving the network meanwhile.
pub(super) async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(io_error)?
}
