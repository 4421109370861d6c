//! Workloads (DESIGN.md §8): named sets of records (key → JSON value) that live on the
//! edge serving them, in that node's own store — not in the Raft log, since a workload
//! can be large — plus a replicated placement record saying which edge that is. Any
//! node routes a request for a workload's records to the node serving it, so a client
//! never needs to know where a workload lives. This is what migrations move.
//!
//! `placement.rs` is this subsystem's slice of the replicated state; `store.rs` the
//! serving node's records (`row.rs` a record's row; `value_log.rs` the files large
//! values live in; `compaction.rs` their garbage reclaimed); `digest.rs` their order-independent content digest;
//! `records.rs` the requests on records and how the serving node answers them;
//! `route.rs` where a request goes; `fill.rs` random records for tests and demos;
//! `api.rs` the HTTP routes.

pub mod api;
mod compaction;
mod digest;
mod fill;
mod gate;
mod placement;
mod records;
mod route;
mod row;
mod store;
mod value_log;

pub use gate::{Gates, Serial};
pub use placement::{check_name, Placement, WorkloadAnswer, WorkloadCommand, Workloads};
pub use records::{RecordAnswer, RecordOp, RecordView};
pub use route::{Forwarder, RememberedId, SideOp, SideRequest, WorkloadRequest};
pub use store::{Prepared, Queued, WorkloadStore, Write, STORE_FILE};

use std::fmt;

/// The namespace prefix by which `state.*` ops reach a workload's records.
pub const NAMESPACE_PREFIX: &str = "workload:";

#[derive(Debug)]
pub enum WorkloadError {
    Unknown(String),
    /// The placement names an edge no cluster member serves.
    NoServingNode {
        workload: String,
        edge: String,
    },
    /// The node serving it could not be reached: nothing was sent.
    Unreachable {
        workload: String,
        reason: String,
    },
    /// A write was sent to the serving node and no answer came back: it may have been
    /// applied.
    OutcomeUnknown {
        workload: String,
        reason: String,
    },
    /// A forwarded request reached a node that does not serve the workload.
    NotServedHere {
        workload: String,
        edge: String,
    },
    BadInput(String),
    Storage(String),
    /// The serving node answered an error.
    Remote {
        status: u16,
        message: String,
    },
    /// A migration froze its writes for longer than a write waits.
    Frozen(String),
    /// Written on the serving edge, but not on the edge a rollback would return to.
    Mirror {
        workload: String,
        reason: String,
    },
}

impl fmt::Display for WorkloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkloadError::Unknown(name) => write!(
                f,
                "there is no workload `{name}` (create it with `edgeflow workload create`)"
            ),
            WorkloadError::NoServingNode { workload, edge } => write!(
                f,
                "workload `{workload}` is placed on edge `{edge}`, which no cluster member serves"
            ),
            WorkloadError::Unreachable { workload, reason } => {
                write!(f, "the node serving workload `{workload}` cannot be reached: {reason}")
            }
            WorkloadError::OutcomeUnknown { workload, reason } => write!(
                f,
                "the write to workload `{workload}` may or may not have been applied (no answer from its node: {reason})"
            ),
            WorkloadError::NotServedHere { workload, edge } => {
                write!(f, "workload `{workload}` is served by edge `{edge}`, not this node")
            }
            WorkloadError::BadInput(reason) | WorkloadError::Storage(reason) => f.write_str(reason),
            WorkloadError::Remote { message, .. } => f.write_str(message),
            WorkloadError::Frozen(workload) => write!(
                f,
                "workload `{workload}` is frozen for a migration's cutover; retry in a moment"
            ),
            WorkloadError::Mirror { workload, reason } => write!(
                f,
                "the write to workload `{workload}` is applied on its edge, but not on the edge a rollback returns to (retry it): {reason}"
            ),
        }
    }
}

impl std::error::Error for WorkloadError {}

/// The workload a `state.*` namespace names, if it names one (`workload:NAME`).
pub fn workload_of_namespace(ns: &str) -> Option<&str> {
    ns.strip_prefix(NAMESPACE_PREFIX)
}
