//! The state machine side of storage: the replicated `State` lives in memory and is
//! snapshotted into its own file (`snapshot_file`, fsynced). After a restart, openraft
//! restores the snapshot and re-applies the committed log entries after it, so nothing
//! committed is lost.
//! Building a snapshot copies the state under the lock and encodes and writes it on
//! tokio's blocking pool, so applying and serving go on meanwhile.
//!
//! Bundle bytes are not part of the state (`state::bundles`): they are written to their
//! own table as the `SubmitRun` entry carrying one applies and deleted when the state releases them.
//! The snapshot kept on disk holds the state alone; the snapshot sent to a follower adds
//! the stored bundles (`Transfer`), and installing one replaces them.

use super::bundle_store::{BundleStore, StoredBundle};
use super::database::{
    forget_records, io_error, off_the_runtime, read_meta, read_raw, LAST_PURGED, SNAPSHOT_DATA,
    SNAPSHOT_META,
};
use super::snapshot_file::SnapshotFile;
use crate::command::Command;
use crate::command::Response;
use crate::dispatch::signals::{AssignmentSignals, Topic};
use crate::encoding;
use crate::raft_types::{LogId, SnapshotMeta, StoredMembership, TypeConfig};
use crate::state::assignments::{self, AssignmentStatus};
use crate::state::{LogPosition, State};
use futures::{Stream, TryStreamExt};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftSnapshotBuilder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend};
use redb::Database;
use serde::{Deserialize, Serialize};
use std::io::{self, Cursor};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::RwLock;

pub type Snapshot = openraft::alias::SnapshotOf<TypeConfig, Cursor<Vec<u8>>>;

/// What a snapshot holds besides openraft's metadata.
#[derive(Serialize, Deserialize)]
struct SnapshotBody {
    state: State,
}

/// A snapshot as it travels to a follower: the encoded `SnapshotBody` (what is kept on
/// disk) framed by its length, then the stored bundles.
struct Transfer;

impl Transfer {
    fn assemble(body: &[u8], bundles: &[StoredBundle]) -> Vec<u8> {
        let bundles = encoding::encode(bundles);
        let mut data = Vec::with_capacity(8 + body.len() + bundles.len());
        data.extend_from_slice(&(body.len() as u64).to_be_bytes());
        data.extend_from_slice(body);
        data.extend_from_slice(&bundles);
        data
    }

    /// The body and the bundles of a received snapshot.
    fn split(data: &[u8]) -> io::Result<(&[u8], Vec<StoredBundle>)> {
        let malformed =
            || io_error("the snapshot received is malformed (its framing is cut short)");
        let (length, rest) = data.split_first_chunk::<8>().ok_or_else(malformed)?;
        let length = usize::try_from(u64::from_be_bytes(*length)).map_err(|_| malformed())?;
        if length > rest.len() {
            return Err(malformed());
        }
        let (body, bundles) = rest.split_at(length);
        let bundles = encoding::decode(bundles).map_err(io_error)?;
        Ok((body, bundles))
    }
}

/// The applied state, shared with readers (linearizable reads look at it after
/// openraft confirms leadership).
#[derive(Debug, Default)]
pub struct Applied {
    pub state: State,
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
}

#[derive(Clone)]
pub struct StateStore {
    db: Arc<Database>,
    snapshot: SnapshotFile,
    applied: Arc<RwLock<Applied>>,
    bundles: BundleStore,
    /// Told about every step assigned as entries are applied.
    signals: AssignmentSignals,
}

impl StateStore {
    /// Opens the state machine of the data dir `data_dir` at its latest snapshot
    /// (openraft replays the rest).
    pub async fn open(db: Arc<Database>, data_dir: &Path) -> io::Result<StateStore> {
        let mut store = StateStore {
            bundles: BundleStore::new(db.clone()),
            snapshot: SnapshotFile::new(data_dir),
            db,
            applied: Arc::default(),
            signals: AssignmentSignals::default(),
        };
        let snapshot = read_snapshot(&store.db, &store.snapshot)?;
        let last_purged: Option<LogId> = read_meta(&store.db, LAST_PURGED)?;
        let covered = snapshot.as_ref().and_then(|(meta, _)| meta.last_log_id);
        if last_purged > covered {
            return Err(store.snapshot.behind_the_log(covered, last_purged));
        }
        if let Some((meta, data)) = snapshot {
            store.restore(&meta, &data).await?;
        }
        Ok(store)
    }

    /// Wake-ups for the nodes steps are assigned to.
    pub fn signals(&self) -> AssignmentSignals {
        self.signals.clone()
    }

    /// The stored bundles, for drivers.
    pub fn bundles(&self) -> BundleStore {
        self.bundles.clone()
    }

    /// The applied state, for reads.
    pub fn applied(&self) -> Arc<RwLock<Applied>> {
        self.applied.clone()
    }

    async fn restore(&mut self, meta: &SnapshotMeta, data: &[u8]) -> io::Result<()> {
        let body: SnapshotBody = encoding::decode(data).map_err(io_error)?;
        let mut applied = self.applied.write().await;
        applied.state = body.state;
        applied.last_applied = meta.last_log_id;
        applied.membership = meta.last_membership.clone();
        Ok(())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateStore {
    type SnapshotData = Cursor<Vec<u8>>;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let (state, meta) = {
            let applied = self.applied.read().await;
            let meta = SnapshotMeta {
                last_log_id: applied.last_applied,
                last_membership: applied.membership.clone(),
            };
            (applied.state.clone(), meta)
        };
        let (db, file, bundles) = (self.db.clone(), self.snapshot.clone(), self.bundles.clone());
        let stored_meta = meta.clone();
        let data = off_the_runtime(move || {
            let body = encoding::encode(&SnapshotBody { state });
            write_snapshot(&db, &file, &stored_meta, &body)?;
            Ok(Transfer::assemble(&body, &bundles.all()?))
        })
        .await?;
        Ok(Snapshot {
            meta,
            snapshot: Cursor::new(data),
        })
    }
}

/// The step whose driver an applied command may wake.
fn signalled(command: &Command) -> Option<Topic> {
    match command {
        Command::FinishAssignment { run_id, step, .. }
        | Command::CancelAssignment { run_id, step } => {
            Some(Topic::Step(assignments::key(run_id, step)))
        }
        _ => None,
    }
}

/// Replaces the latest snapshot (metadata and encoded state), durably; a snapshot an
/// earlier version kept in the database goes once the file holds a newer one.
fn write_snapshot(
    db: &Database,
    file: &SnapshotFile,
    meta: &SnapshotMeta,
    data: &[u8],
) -> io::Result<()> {
    file.write(meta, data)?;
    forget_records(db, &[SNAPSHOT_META, SNAPSHOT_DATA])
}

/// The latest snapshot: the file's, or else one an earlier version kept in the database.
fn read_snapshot(
    db: &Database,
    file: &SnapshotFile,
) -> io::Result<Option<(SnapshotMeta, Vec<u8>)>> {
    if let Some(snapshot) = file.read()? {
        return Ok(Some(snapshot));
    }
    let Some(meta) = read_meta::<SnapshotMeta>(db, SNAPSHOT_META)? else {
        return Ok(None);
    };
    let data = read_raw(db, SNAPSHOT_DATA)?
        .ok_or_else(|| io_error("the snapshot's metadata is stored but not its data"))?;
    Ok(Some((meta, data)))
}

impl RaftStateMachine<TypeConfig> for StateStore {
    type SnapshotData = Cursor<Vec<u8>>;
    type SnapshotBuilder = StateStore;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        let applied = self.applied.read().await;
        Ok((applied.last_applied, applied.membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        while let Some((entry, responder)) = entries.try_next().await? {
            let log_id = entry.log_id();
            if let EntryPayload::Normal(request) = &entry.payload {
                if let Some((hash, bundle)) = request.command.carried_bundle() {
                    let (store, hash, bundle) =
                        (self.bundles.clone(), hash.to_string(), bundle.to_string());
                    off_the_runtime(move || store.put(&hash, &bundle)).await?;
                }
            }
            let mut topic = None;
            let (response, released) = {
                let mut applied = self.applied.write().await;
                applied.last_applied = Some(log_id);
                let response = match entry.payload {
                    EntryPayload::Blank => Response::Nothing,
                    EntryPayload::Normal(request) => {
                        let position = LogPosition {
                            index: log_id.index(),
                            term: log_id.committed_leader_id().term,
                        };
                        topic = signalled(&request.command);
                        applied.state.apply(&request, position)
                    }
                    EntryPayload::Membership(membership) => {
                        applied.membership = StoredMembership::new(Some(log_id), membership);
                        Response::Nothing
                    }
                };
                (response, applied.state.bundles.take_released())
            };
            if !released.is_empty() {
                let store = self.bundles.clone();
                off_the_runtime(move || store.delete(&released)).await?;
            }
            if let Response::Assignment {
                status: Some(AssignmentStatus::Assigned { node, .. }),
            } = &response
            {
                self.signals.signal(&Topic::AssignedTo(*node));
            }
            if let Some(topic) = topic {
                self.signals.signal(&topic);
            }
            if let Some(responder) = responder {
                responder.send(response);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Self::SnapshotData,
    ) -> Result<(), io::Error> {
        let data = snapshot.into_inner();
        let (body, received) = Transfer::split(&data)?;
        let body = body.to_vec();
        let bundles = self.bundles.clone();
        off_the_runtime(move || bundles.replace_all(&received)).await?;
        self.restore(meta, &body).await?;
        self.signals.everyone();
        let (db, file, meta) = (self.db.clone(), self.snapshot.clone(), meta.clone());
        off_the_runtime(move || write_snapshot(&db, &file, &meta, &body)).await
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        let (db, file, bundles) = (self.db.clone(), self.snapshot.clone(), self.bundles.clone());
        off_the_runtime(move || {
            let Some((meta, body)) = read_snapshot(&db, &file)? else {
                return Ok(None);
            };
            Ok(Some(Snapshot {
                meta,
                snapshot: Cursor::new(Transfer::assemble(&body, &bundles.all()?)),
            }))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Request;
    use openraft::storage::RaftSnapshotBuilder;
    use std::time::Duration;

    /// A write of `value` to key `k` of namespace `ns`.
    fn put(ns: &str, value: serde_json::Value) -> Request {
        Request {
            at_ms: 0,
            command: Command::Put {
                ns: ns.into(),
                key: "k".into(),
                value,
                if_version: None,
            },
            idempotency_key: None,
        }
    }

    fn log_id(index: u64) -> LogId {
        let leader = openraft::vote::leader_id_adv::LeaderId {
            term: 2,
            node_id: 1,
        };
        LogId::new(leader, index)
    }

    /// Writes raw records into the database's small-records table, as the log writer or
    /// an earlier version would have.
    fn insert_records(db: &Database, records: &[(&str, Vec<u8>)]) {
        let txn = db.begin_write().expect("write");
        {
            let mut table = txn.open_table(super::super::database::META).expect("table");
            for (key, bytes) in records {
                table.insert(*key, bytes.as_slice()).expect("insert");
            }
        }
        txn.commit().expect("commit");
    }

    /// The log's writer holds the database's one write lock for every group commit. A
    /// snapshot of tens of megabytes written inside the same database held that lock
    /// for its whole write and fsync (seconds on a slow disk): the log could not flush,
    /// heartbeat answers (sent only once the log is flushed) stopped, and the leader's
    /// lease ran out — writes were refused with "no leader" while nothing had failed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_snapshot_is_written_while_the_log_holds_the_database_write_lock() {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let db = crate::storage::open(dir.path()).expect("database");
        let mut state = StateStore::open(db.clone(), dir.path())
            .await
            .expect("state store");
        let put = put("big", serde_json::json!("v".repeat(1_000_000)));
        let position = LogPosition { index: 1, term: 1 };
        state.applied.write().await.state.apply(&put, position);
        let log_commit_in_progress = db.begin_write().expect("the log's write lock");
        let built = tokio::time::timeout(Duration::from_secs(20), state.build_snapshot()).await;
        drop(log_commit_in_progress);
        let snapshot = built
            .expect("the snapshot waited for the log's write lock")
            .expect("snapshot built");
        assert!(snapshot.snapshot.get_ref().len() > 1_000_000);
    }

    /// The log before a snapshot is purged; a snapshot file deleted (or an older one
    /// put back) afterwards leaves entries no one can rebuild the state from.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_snapshot_that_no_longer_covers_the_purged_log_is_refused_naming_the_file() {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let db = crate::storage::open(dir.path()).expect("database");
        let mut store = StateStore::open(db.clone(), dir.path())
            .await
            .expect("state store");
        store.applied.write().await.last_applied = Some(log_id(7));
        store.build_snapshot().await.expect("snapshot built");
        insert_records(&db, &[(LAST_PURGED, encoding::encode(&log_id(5)))]);
        let reopened = StateStore::open(db.clone(), dir.path()).await;
        assert!(reopened.is_ok(), "the snapshot covers the purged log");

        let file = dir.path().join(super::super::snapshot_file::SNAPSHOT_FILE);
        let older = SnapshotMeta {
            last_log_id: Some(log_id(3)),
            ..SnapshotMeta::default()
        };
        SnapshotFile::new(dir.path())
            .write(
                &older,
                &encoding::encode(&SnapshotBody {
                    state: State::default(),
                }),
            )
            .expect("an older snapshot put back");
        let Err(error) = StateStore::open(db.clone(), dir.path()).await else {
            panic!("a snapshot older than the purge was taken");
        };
        let said = error.to_string();
        assert!(said.contains("up to entry 3 only"), "{said}");
        assert!(said.contains("before entry 6 was removed"), "{said}");
        assert!(said.contains(&file.display().to_string()), "{said}");

        std::fs::remove_file(&file).expect("snapshot deleted");
        let Err(error) = StateStore::open(db.clone(), dir.path()).await else {
            panic!("a missing snapshot went unnoticed");
        };
        let said = error.to_string();
        assert!(said.contains("is missing"), "{said}");
        assert!(said.contains("edgeflow cluster remove"), "{said}");
    }

    /// A data dir from a version that kept the snapshot in the database opens at that
    /// snapshot; the next snapshot goes to the file and the database's copy is removed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_snapshot_an_earlier_version_kept_in_the_database_is_read_then_replaced() {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let db = crate::storage::open(dir.path()).expect("database");
        let mut state = State::default();
        state.apply(
            &put("t", serde_json::json!("kept")),
            LogPosition { index: 7, term: 2 },
        );
        let meta = SnapshotMeta {
            last_log_id: Some(log_id(7)),
            ..SnapshotMeta::default()
        };
        insert_records(
            &db,
            &[
                (SNAPSHOT_META, encoding::encode(&meta)),
                (SNAPSHOT_DATA, encoding::encode(&SnapshotBody { state })),
            ],
        );

        let mut store = StateStore::open(db.clone(), dir.path())
            .await
            .expect("state store");
        let (applied, _) = store.applied_state().await.expect("applied");
        assert_eq!(applied, meta.last_log_id);
        let value = store
            .applied
            .read()
            .await
            .state
            .get("t", "k")
            .map(|entry| entry.value.clone());
        assert_eq!(value, Some(serde_json::json!("kept")));

        store.build_snapshot().await.expect("snapshot built");
        assert_eq!(read_raw(&db, SNAPSHOT_DATA).expect("read"), None);
        assert_eq!(read_raw(&db, SNAPSHOT_META).expect("read"), None);
        let (from_file, _) = SnapshotFile::new(dir.path())
            .read()
            .expect("read")
            .expect("the file holds the snapshot");
        assert_eq!(from_file.last_log_id, meta.last_log_id);
    }
}
