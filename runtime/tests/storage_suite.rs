//! openraft's own storage test suite against our redb log store and state machine: the
//! external referee for the storage's correctness (re-run it on every openraft bump).

use edgeflow_runtime::raft_types::TypeConfig;
use edgeflow_runtime::storage::{open, LogStore, StateStore};
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::type_config::TypeConfigExt;
use openraft::StorageError;
use tempfile::TempDir;

struct RedbBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateStore, TempDir> for RedbBuilder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateStore), StorageError<TypeConfig>> {
        let dir = TempDir::new().map_err(|e| StorageError::read(TypeConfig::err_from_error(&e)))?;
        let db =
            open(dir.path()).map_err(|e| StorageError::read(TypeConfig::err_from_error(&e)))?;
        let state = StateStore::open(db.clone(), dir.path())
            .await
            .map_err(|e| StorageError::read(TypeConfig::err_from_error(&e)))?;
        let log =
            LogStore::open(db).map_err(|e| StorageError::read(TypeConfig::err_from_error(&e)))?;
        Ok((dir, log, state))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_storage_passes_the_openraft_suite() {
    Suite::test_all(RedbBuilder)
        .await
        .expect("the openraft storage suite passes");
}
