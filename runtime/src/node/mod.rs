//! A running node of the coordination and state layer: openraft over the redb storage.
//! `start_single` brings up the embedded one-member cluster `edgeflow run` uses;
//! `start_member` a node of a multi-node cluster that talks to its peers over the Raft
//! transport. Both take the same Raft code path. Requests (writes and reads, forwarded
//! to the leader when needed) are in `requests.rs`, membership changes in
//! `membership.rs`.

mod digest;
mod lost_data;
mod membership;
mod requests;

pub use digest::StateDigest;
pub use lost_data::refuse_if_data_lost;
pub use membership::{ClusterStatus, MemberRole, MemberStatus};

use crate::dispatch::signals::AssignmentSignals;
use crate::latency::LatencyHistogram;
use crate::member::NodeInfo;
use crate::network::{NoPeers, Peers, TcpNetwork};
use crate::raft_types::TypeConfig;
use crate::storage::{self, BundleStore, LogStore, StateStore};
use openraft::type_config::async_runtime::WatchReceiver;
use openraft::{Config, Raft, ReadPolicy, SnapshotPolicy};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::RwLock;

/// Log entries between snapshots of the embedded node (after which older entries are
/// purged); cluster members take theirs from the configuration.
const SNAPSHOT_EVERY: u64 = 5_000;
/// How long to wait for a single-node cluster to elect itself.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

pub type RaftHandle = Raft<TypeConfig, StateStore>;

#[derive(Debug)]
pub enum NodeError {
    Storage(storage::StorageError),
    Io {
        path: PathBuf,
        reason: String,
    },
    Raft(String),
    /// The request needs the leader; `leader` is who it is, when known.
    NotLeader {
        leader: Option<(u64, NodeInfo)>,
    },
    /// The cluster has no leader the request could reach in time.
    NoLeader {
        waited: Duration,
    },
    /// This node restarted and has not applied the log it held yet: a linearizable
    /// read is not answered from the older state.
    CatchingUp {
        waited: Duration,
    },
    /// This node leads, but no quorum confirmed it in time (it may be cut off): a
    /// linearizable read is not answered.
    NoQuorum {
        waited: Duration,
    },
    /// A membership change that cannot be made (unknown node, already initialized, …).
    Refused(String),
    /// A worker could not reach any voter of the cluster.
    Unreachable(String),
    /// A write whose fate this node cannot know: it may have been applied (its answer
    /// was lost, or storage failed after it was handed to Raft). Retrying with the same
    /// idempotency key is safe.
    OutcomeUnknown(String),
    /// Reading the node's database failed.
    StorageRead(String),
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeError::Storage(error) => write!(f, "{error}"),
            NodeError::Io { path, reason } => write!(f, "{}: {reason}", path.display()),
            NodeError::Raft(reason) => write!(f, "the coordination layer failed: {reason}"),
            NodeError::NotLeader {
                leader: Some((id, info)),
            } => write!(
                f,
                "this node is not the leader; node {id} at {} is",
                info.api
            ),
            NodeError::NotLeader { leader: None } => {
                write!(f, "this node is not the leader and knows no leader")
            }
            NodeError::NoLeader { waited } => write!(
                f,
                "no leader could be reached within {} ms",
                waited.as_millis()
            ),
            NodeError::CatchingUp { waited } => write!(
                f,
                "this node restarted and has not applied its log yet after {} ms; the read was \
                 not answered (ask another node, or retry)",
                waited.as_millis()
            ),
            NodeError::NoQuorum { waited } => write!(
                f,
                "no quorum confirmed this node's leadership within {} ms (it may be cut off from \
                 the other voters); the read was not answered",
                waited.as_millis()
            ),
            NodeError::Refused(reason) => write!(f, "{reason}"),
            NodeError::Unreachable(reason) => write!(f, "the cluster cannot be reached: {reason}"),
            NodeError::StorageRead(reason) => {
                write!(f, "cannot read the node's database: {reason}")
            }
            NodeError::OutcomeUnknown(reason) => write!(
                f,
                "the write may have been applied ({reason}); retry with the same idempotency key"
            ),
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
    pub committed: u64,
    pub last_applied: u64,
}

/// Raft timing, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub heartbeat: u64,
    pub election_min: u64,
    pub election_max: u64,
    /// How long a request (a forwarded write, a read index) may wait for a leader.
    pub request: u64,
    /// Log entries between snapshots.
    pub snapshot_every: u64,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            heartbeat: 50,
            election_min: 100,
            election_max: 200,
            request: 2_000,
            snapshot_every: SNAPSHOT_EVERY,
        }
    }
}

/// What a cluster member needs to start.
pub struct MemberSetup<'a> {
    pub id: u64,
    pub edge: &'a str,
    pub data_dir: &'a Path,
    pub timing: Timing,
    /// This node's own token, presented to peers.
    pub token: &'a str,
    /// TLS to peers, when configured.
    pub tls: Option<tokio_rustls::TlsConnector>,
    /// The CA (PEM) other members' HTTPS APIs are checked against, with TLS.
    pub api_ca: Option<&'a [u8]>,
    /// `[workloads] capacity`: the most bytes of workload records this node takes on.
    pub workload_capacity: Option<u64>,
}

pub struct Node {
    raft: RaftHandle,
    applied: Arc<RwLock<storage::state_store::Applied>>,
    bundles: BundleStore,
    /// This node's name, the identity it campaigns for leases under.
    pub name: String,
    /// Connections to other members (none for the embedded single node).
    peers: Option<Arc<Peers>>,
    request_timeout: Duration,
    proposal_latency: LatencyHistogram,
    assignment_signals: AssignmentSignals,
    /// Whether the storage held nothing when the node started (no vote, no log entry):
    /// a new node, or one that lost its data (`lost_data`).
    started_empty: bool,
    /// The last log index this node held when it started, and whether it has applied
    /// that far: until then it answers no linearizable read (`requests::linearize`).
    boot_log_index: u64,
    boot_log_applied: std::sync::atomic::AtomicBool,
    /// This node's rate-limit decisions: leases of global budgets, per-edge budgets.
    quotas: std::sync::Arc<crate::quotas::EdgeQuotas>,
    /// The records of the workloads this node serves.
    workload_store: crate::workloads::WorkloadStore,
    /// Sends workload requests on to the member serving them (none when embedded).
    forwarder: Option<crate::workloads::Forwarder>,
    /// Each served workload's write gate (closed while a migration freezes it), and
    /// one-at-a-time writes while they are mirrored.
    gates: Arc<crate::workloads::Gates>,
    serial: crate::workloads::Serial,
    data_dir: PathBuf,
    /// The most bytes of workload records this node takes on (none: its disk decides).
    workload_capacity: Option<u64>,
    /// Bytes this node sent as a migration's source (for `/metrics`).
    exported_bytes: std::sync::atomic::AtomicU64,
}

impl Node {
    /// Starts (or restarts, from `data_dir`) the embedded single-member cluster and waits
    /// until it has elected itself.
    pub async fn start_single(data_dir: &Path, name: &str) -> Result<Node, NodeError> {
        let node = Node::open(1, name, data_dir, Timing::default(), None, None).await?;
        if !node.raft.is_initialized().await.map_err(raft_error)? {
            let members = BTreeMap::from([(1u64, NodeInfo::embedded(name))]);
            node.raft.initialize(members).await.map_err(raft_error)?;
        }
        node.raft
            .wait(Some(STARTUP_TIMEOUT))
            .current_leader(1, "the single node elects itself")
            .await
            .map_err(raft_error)?;
        // Apply everything committed before the restart, so local reads see it.
        node.raft
            .ensure_linearizable(ReadPolicy::ReadIndex)
            .await
            .map_err(raft_error)?;
        node.await_boot_log().await?;
        Ok(node)
    }

    /// Starts (or restarts) a member of a multi-node cluster. A new member waits,
    /// uninitialized, until `initialize` or a leader adds it.
    pub async fn start_member(setup: MemberSetup<'_>) -> Result<Node, NodeError> {
        let peers = Arc::new(Peers::new(setup.id, setup.token, setup.tls));
        let forwarder =
            crate::workloads::Forwarder::new(setup.token, setup.api_ca).map_err(|reason| {
                NodeError::Io {
                    path: setup.data_dir.to_path_buf(),
                    reason,
                }
            })?;
        let mut node = Node::open(
            setup.id,
            setup.edge,
            setup.data_dir,
            setup.timing,
            Some(peers),
            Some(forwarder),
        )
        .await?;
        node.workload_capacity = setup.workload_capacity;
        Ok(node)
    }

    async fn open(
        id: u64,
        name: &str,
        data_dir: &Path,
        timing: Timing,
        peers: Option<Arc<Peers>>,
        forwarder: Option<crate::workloads::Forwarder>,
    ) -> Result<Node, NodeError> {
        let db = storage::open(data_dir).map_err(NodeError::Storage)?;
        let workload_store =
            crate::workloads::WorkloadStore::open(data_dir).map_err(|e| NodeError::Io {
                path: data_dir.join(crate::workloads::STORE_FILE),
                reason: e.to_string(),
            })?;
        let state = StateStore::open(db.clone(), data_dir)
            .await
            .map_err(|e| NodeError::Io {
                path: data_dir.to_path_buf(),
                reason: e.to_string(),
            })?;
        let applied = state.applied();
        let bundles = state.bundles();
        let assignment_signals = state.signals();
        let config = Config {
            cluster_name: "edgeflow".to_string(),
            heartbeat_interval: timing.heartbeat,
            election_timeout_min: timing.election_min,
            election_timeout_max: timing.election_max,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(timing.snapshot_every),
            max_in_snapshot_log_to_keep: 100,
            enable_pre_vote: Some(peers.is_some()),
            // Per snapshot chunk (4 MiB); installing the whole snapshot has its own,
            // longer, timeout (`network::tcp`).
            install_snapshot_timeout: 10_000,
            // The commit index is saved only now and then (`storage::log_writer`), so a
            // member that led before a restart must not take its leadership back
            // without an election: it would serve from a state behind its own
            // acknowledgements (openraft's documented caveat). The embedded node keeps
            // it (one voter, no one else to elect); `requests::linearize` covers both.
            enable_leader_restore: Some(peers.is_none()),
            ..Config::default()
        }
        .validate()
        .map_err(raft_error)?;
        let config = Arc::new(config);
        let mut log = LogStore::open(db).map_err(|e| NodeError::Io {
            path: data_dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let (started_empty, boot_log_index) = {
            use openraft::storage::{RaftLogReader, RaftLogStorage};
            let io = |e: std::io::Error| NodeError::Io {
                path: data_dir.to_path_buf(),
                reason: e.to_string(),
            };
            let vote = log.read_vote().await.map_err(io)?;
            let state = log.get_log_state().await.map_err(io)?;
            (
                vote.is_none() && state.last_log_id.is_none(),
                state.last_log_id.map_or(0, |id| id.index),
            )
        };
        let quotas = std::sync::Arc::new(crate::quotas::EdgeQuotas::new(name, peers.is_none()));
        let raft = match &peers {
            Some(peers) => {
                let network = TcpNetwork::new(peers.clone());
                Raft::new(id, config, network, log, state).await
            }
            None => Raft::new(id, config, NoPeers, log, state).await,
        }
        .map_err(raft_error)?;
        Ok(Node {
            raft,
            applied,
            bundles,
            name: name.to_string(),
            peers,
            request_timeout: Duration::from_millis(timing.request),
            proposal_latency: LatencyHistogram::default(),
            assignment_signals,
            started_empty,
            boot_log_index,
            boot_log_applied: std::sync::atomic::AtomicBool::new(boot_log_index == 0),
            quotas,
            workload_store,
            forwarder,
            gates: Arc::default(),
            serial: crate::workloads::Serial::default(),
            data_dir: data_dir.to_path_buf(),
            workload_capacity: None,
            exported_bytes: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The bundle (compiled program) stored under `hash`, read from the database.
    pub async fn bundle(&self, hash: &str) -> Result<Option<String>, NodeError> {
        let (store, hash) = (self.bundles.clone(), hash.to_string());
        tokio::task::spawn_blocking(move || store.get(&hash))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|read| read)
            .map_err(|e| NodeError::StorageRead(format!("a stored bundle: {e}")))
    }

    /// User op `op` of stored program `bundle`, for a placed step.
    pub async fn user_module(
        &self,
        bundle: &str,
        op: &str,
    ) -> Result<crate::user_ops::UserModule, NodeError> {
        let stored = self
            .bundle(bundle)
            .await?
            .ok_or_else(|| NodeError::Refused(format!("no program {bundle} is stored")))?;
        let program = edgeflow_compiler::program::from_bundle(stored.as_bytes())
            .map_err(|e| NodeError::Refused(format!("stored program {bundle}: {e}")))?;
        crate::user_ops::UserModule::of(&program, op)
            .map_err(NodeError::Refused)?
            .ok_or_else(|| {
                NodeError::Refused(format!("program {bundle} declares no user op `{op}`"))
            })
    }

    /// Wakes whoever waits for the steps assigned to a node, as assignments apply here.
    pub fn assignment_signals(&self) -> &AssignmentSignals {
        &self.assignment_signals
    }

    /// This node's rate-limit decisions.
    pub fn quotas(&self) -> &std::sync::Arc<crate::quotas::EdgeQuotas> {
        &self.quotas
    }

    /// The records of the workloads this node serves.
    pub fn workload_store(&self) -> &crate::workloads::WorkloadStore {
        &self.workload_store
    }

    /// Counts bytes sent as a migration's source; the total so far.
    pub fn exported(&self, bytes: u64) -> u64 {
        use std::sync::atomic::Ordering;
        self.exported_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes
    }

    /// Where this node keeps its data.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The most bytes of workload records this node takes on, if it says.
    pub fn workload_capacity(&self) -> Option<u64> {
        self.workload_capacity
    }

    /// The write gates of the workloads this node serves.
    pub fn gates(&self) -> &Arc<crate::workloads::Gates> {
        &self.gates
    }

    /// One-at-a-time writes of mirrored workloads.
    pub fn serial(&self) -> &crate::workloads::Serial {
        &self.serial
    }

    /// How this member sends workload requests on (none: the embedded node).
    pub fn forwarder(&self) -> Option<&crate::workloads::Forwarder> {
        self.forwarder.as_ref()
    }

    /// The Raft instance, for the transport's server side.
    pub fn raft(&self) -> &RaftHandle {
        &self.raft
    }

    /// Whether this is the embedded single node of `edgeflow run`, where every edge a
    /// program names is this machine.
    pub fn is_embedded(&self) -> bool {
        self.peers.is_none()
    }

    /// This node's id.
    pub fn id(&self) -> u64 {
        *self.raft.node_id()
    }

    /// Raft's view of this node: term, leader, log, commit and apply positions.
    /// The fatal error that stopped Raft on this node (a storage failure), if one did:
    /// the node can no longer serve and must be restarted.
    pub fn fatal_error(&self) -> Option<String> {
        let metrics = self.raft.metrics().borrow_watched().clone();
        metrics.running_state.as_ref().err().map(|e| e.to_string())
    }

    /// Waits until Raft stops with a fatal error; its description.
    pub async fn fatal(&self) -> String {
        let mut metrics = self.raft.metrics();
        loop {
            if let Some(error) = self.fatal_error() {
                return error;
            }
            if metrics.changed().await.is_err() {
                return self
                    .fatal_error()
                    .unwrap_or_else(|| "Raft stopped".to_string());
            }
        }
    }

    pub fn raft_status(&self) -> RaftStatus {
        let metrics = self.raft.metrics().borrow_watched().clone();
        RaftStatus {
            term: metrics.current_term,
            leader: metrics.current_leader,
            last_log_index: metrics.last_log_index.unwrap_or(0),
            committed: metrics.cluster_committed.map_or(0, |id| id.index),
            last_applied: metrics.last_applied.map_or(0, |id| id.index),
        }
    }

    /// How long writes took to commit, for `/metrics`.
    pub fn proposal_latency(&self) -> &LatencyHistogram {
        &self.proposal_latency
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

/// Unix microseconds: when a placed step became ready, and when it started.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}
