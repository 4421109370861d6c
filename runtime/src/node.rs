//! A running node of the coordination and state layer: openraft over the redb storage.
//! `start_single` brings up a one-member cluster (what `edgeflow run` uses); it is the
//! same Raft code path a multi-node cluster takes, with no peers to replicate to.

use crate::command::{Command, Request, Response};
use crate::network::NoPeers;
use crate::raft_types::TypeConfig;
use crate::state::State;
use crate::storage::{self, LogStore, StateStore};
use openraft::type_config::async_runtime::WatchReceiver;
use openraft::{BasicNode, Config, Raft, ReadPolicy, SnapshotPolicy};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::RwLock;

/// Log entries between snapshots (after which older entries are purged).
const SNAPSHOT_EVERY: u64 = 5_000;
/// How long to wait for a single-node cluster to elect itself.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub enum NodeError {
    Storage(storage::StorageError),
    Io { path: PathBuf, reason: String },
    Raft(String),
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeError::Storage(error) => write!(f, "{error}"),
            NodeError::Io { path, reason } => write!(f, "{}: {reason}", path.display()),
            NodeError::Raft(reason) => write!(f, "the coordination layer failed: {reason}"),
        }
    }
}

impl std::error::Error for NodeError {}

fn raft_error(error: impl fmt::Display) -> NodeError {
    NodeError::Raft(error.to_string())
}

/// What `raft_status` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaftStatus {
    pub term: u64,
    pub leader: Option<u64>,
    pub last_log_index: u64,
    pub last_applied: u64,
}

pub struct Node {
    raft: Raft<TypeConfig, StateStore>,
    applied: Arc<RwLock<storage::state_store::Applied>>,
    /// This node's name, the identity it campaigns for leases under.
    pub name: String,
}

impl Node {
    /// Starts (or restarts, from `data_dir`) a single-member cluster and waits until it
    /// has elected itself.
    pub async fn start_single(data_dir: &Path, name: &str) -> Result<Node, NodeError> {
        let db = storage::open(data_dir).map_err(NodeError::Storage)?;
        let state = StateStore::open(db.clone())
            .await
            .map_err(|e| NodeError::Io {
                path: data_dir.to_path_buf(),
                reason: e.to_string(),
            })?;
        let applied = state.applied();
        let config = Config {
            cluster_name: "edgeflow".to_string(),
            heartbeat_interval: 50,
            election_timeout_min: 100,
            election_timeout_max: 200,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(SNAPSHOT_EVERY),
            max_in_snapshot_log_to_keep: 100,
            ..Config::default()
        }
        .validate()
        .map_err(raft_error)?;
        let raft = Raft::new(1, Arc::new(config), NoPeers, LogStore::new(db), state)
            .await
            .map_err(raft_error)?;
        if !raft.is_initialized().await.map_err(raft_error)? {
            let members = BTreeMap::from([(1u64, BasicNode::new(name))]);
            raft.initialize(members).await.map_err(raft_error)?;
        }
        raft.wait(Some(STARTUP_TIMEOUT))
            .current_leader(1, "the single node elects itself")
            .await
            .map_err(raft_error)?;
        Ok(Node {
            raft,
            applied,
            name: name.to_string(),
        })
    }

    /// Commits a command through consensus and returns the state machine's answer.
    pub async fn write(&self, command: Command) -> Result<Response, NodeError> {
        self.write_once(command, None).await
    }

    /// Like `write`, but a request whose key was already applied is not applied again
    /// (the first response is returned).
    pub async fn write_once(
        &self,
        command: Command,
        idempotency_key: Option<String>,
    ) -> Result<Response, NodeError> {
        let request = Request {
            at_ms: now_ms(),
            command,
            idempotency_key,
        };
        let response = self.raft.client_write(request).await.map_err(raft_error)?;
        Ok(response.data)
    }

    /// Reads the state after confirming, through Raft, that it is current
    /// (read index: every write committed before the read started is visible).
    pub async fn read<T>(&self, read: impl FnOnce(&State) -> T) -> Result<T, NodeError> {
        self.raft
            .ensure_linearizable(ReadPolicy::ReadIndex)
            .await
            .map_err(raft_error)?;
        Ok(read(&self.applied.read().await.state))
    }

    /// Reads this node's applied state without a round through Raft (may be stale on a
    /// follower).
    pub async fn read_local<T>(&self, read: impl FnOnce(&State) -> T) -> T {
        read(&self.applied.read().await.state)
    }

    /// Raft's view of this node: term, leader, log and apply positions.
    pub fn raft_status(&self) -> RaftStatus {
        let metrics = self.raft.metrics().borrow_watched().clone();
        RaftStatus {
            term: metrics.current_term,
            leader: metrics.current_leader,
            last_log_index: metrics.last_log_index.unwrap_or(0),
            last_applied: metrics.last_applied.map_or(0, |id| id.index),
        }
    }

    /// Stops Raft. Reopening the data dir right after (a restart in the same process)
    /// waits for the last storage handle to close in `storage::open`.
    pub async fn shutdown(self) -> Result<(), NodeError> {
        self.raft.shutdown().await.map_err(raft_error)
    }
}

/// Wall-clock time in Unix milliseconds, as stamped on proposals.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
