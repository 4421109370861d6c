//! What the cluster agrees on: every change to replicated state is a `Command` in the
//! Raft log, stamped with the proposer's clock so that applying it never reads a local
//! clock (replicas stay identical). Each command has exactly one `Response`.

use crate::deployments::{DeploymentAnswer, DeploymentCommand};
use crate::migrations::{MigrationAnswer, MigrationCommand};
use crate::quotas::{LeaseAnswer, QuotaCommand};
use crate::state::assignments::{AssignmentStatus, Outcome, StepWork};
use crate::state::fleet::{Beat, EdgeLabels, EdgeRole, WorkerState};
use crate::tokens::TokenCommand;
use crate::triggers::{TriggerAnswer, TriggerCommand};
use crate::workloads::{WorkloadAnswer, WorkloadCommand};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A log entry's payload: a command and the time it was proposed (Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub at_ms: u64,
    pub command: Command,
    /// Applying a request with a key already applied answers the recorded response
    /// instead of applying it again: how a replayed step (run, step, attempt) stays
    /// exactly-once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command {
    /// Write a key; with `if_version`, only if the key is at that version (0: absent).
    Put {
        ns: String,
        key: String,
        value: serde_json::Value,
        if_version: Option<u64>,
    },
    Delete {
        ns: String,
        key: String,
    },
    /// Take or renew a group's leader lease for `ttl_ms`.
    Campaign {
        group: String,
        candidate: String,
        ttl_ms: u64,
    },
    /// Extend a live lease that `holder` holds (never takes a lease someone else has,
    /// or one given up).
    Renew {
        group: String,
        holder: String,
        ttl_ms: u64,
    },
    /// Give up a group's lease, if `holder` holds it.
    Resign {
        group: String,
        holder: String,
    },
    /// Append a value to a group's ordered log.
    Propose {
        group: String,
        value: serde_json::Value,
    },
    /// Give each event the next gap-free sequence number of the group, atomically.
    GlobalOrder {
        group: String,
        events: Vec<serde_json::Value>,
    },
    /// Record a run before any of its steps starts.
    StartRun {
        run_id: String,
        bundle_hash: String,
        workflow: String,
        inputs: serde_json::Value,
    },
    /// Record an op step's result (values in the IR's serde form).
    CompleteStep {
        run_id: String,
        step: String,
        value: serde_json::Value,
        attempts: u32,
        elapsed_ms: u64,
        /// The edge of the node that ran a placed step (none: the driver).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ran_on: Option<String>,
        /// A placed step's wait from ready to started, in microseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dispatch_us: Option<u64>,
    },
    /// Record a run for the cluster to drive. Its compiled program (bundle JSON) comes
    /// along unless the cluster stores it already; refused when it is not stored.
    SubmitRun {
        run_id: String,
        bundle_hash: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bundle: Option<String>,
        workflow: String,
        inputs: serde_json::Value,
    },
    /// Take the lease on driving a submitted run, if nobody holds a live one.
    ClaimRun {
        run_id: String,
        node: u64,
        ttl_ms: u64,
    },
    /// Extend a run's driver lease held by `node` at `epoch`.
    RenewRun {
        run_id: String,
        node: u64,
        epoch: u64,
        ttl_ms: u64,
    },
    /// Register a worker node (an operator's `edgeflow worker add`).
    AddWorker {
        node: u64,
        edge: String,
        api: String,
        token_sha256: String,
        labels: EdgeLabels,
        heartbeat_interval_ms: u64,
    },
    /// Forget a worker: its token is no longer accepted.
    RemoveWorker {
        node: u64,
    },
    /// A node's heartbeat: who it is, and its state and metrics.
    Heartbeat {
        node: u64,
        edge: String,
        role: EdgeRole,
        api: String,
        labels: EdgeLabels,
        heartbeat_interval_ms: u64,
        beat: Beat,
    },
    /// The operator asks a node for maintenance (`on`) or ends it.
    SetMaintenance {
        node: u64,
        on: bool,
        comment: Option<String>,
    },
    /// The operator asks a node to finish its steps and stop.
    Drain {
        node: u64,
    },
    /// Place a step on another node: record it and pick the node.
    Assign {
        work: StepWork,
    },
    /// Pick a node again for a placed step whose node is gone (or that waits for one).
    Reassign {
        run_id: String,
        step: String,
    },
    /// A node reports how a placed step ended (the first report stands). Only the node
    /// holding the assignment made at log index `seq` may report it.
    FinishAssignment {
        run_id: String,
        step: String,
        node: u64,
        #[serde(default)]
        seq: u64,
        outcome: Outcome,
        attempts: u32,
        /// When the node started the step (its clock, Unix microseconds).
        #[serde(default)]
        started_at_us: u64,
    },
    /// The driver stops waiting for a placed step.
    CancelAssignment {
        run_id: String,
        step: String,
    },
    /// Cancel a running run: it ends `cancelled`, its driver stops it at its next lease
    /// renewal, its placed steps are dropped.
    CancelRun {
        run_id: String,
    },
    /// Create or revoke a client token (the `tokens` subsystem).
    Token(TokenCommand),
    /// Lease tokens of a global rate-limit budget to an edge (the `quotas` subsystem).
    Quota(QuotaCommand),
    /// Apply or remove a deployment (the `deployments` subsystem).
    Deployment(DeploymentCommand),
    /// Place or remove a workload (the `workloads` subsystem).
    Workload(WorkloadCommand),
    /// Start, drive, pause, resume or roll back a migration (the `migrations` subsystem).
    Migration(MigrationCommand),
    /// A schedule's tick or an event starting runs (the `triggers` subsystem).
    Trigger(TriggerCommand),
    /// Record how a run ended: its output, or the error that stopped it.
    FinishRun {
        run_id: String,
        output: Option<serde_json::Value>,
        error: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Response {
    /// For entries that carry no command (blank and membership entries).
    Nothing,
    Put {
        success: bool,
        version: u64,
    },
    Delete {
        success: bool,
    },
    Leadership {
        success: bool,
        leader: Option<String>,
        term: u64,
    },
    Resign {
        success: bool,
    },
    Renew {
        success: bool,
    },
    /// `index` is the Raft log index of the proposal, `term` the leader's term.
    Propose {
        index: u64,
        term: u64,
    },
    Order {
        sequence: Vec<u64>,
    },
    /// A run record was written.
    Recorded,
    /// Whether a submitted run was recorded (its bundle is known).
    Submitted {
        accepted: bool,
    },
    /// Whether a fleet change was made, and if not why.
    Fleet {
        accepted: bool,
        reason: Option<String>,
    },
    /// The cluster's answer to a heartbeat: the node's state, and whether to drain.
    Heartbeat {
        accepted: bool,
        state: Option<WorkerState>,
        drain: bool,
    },
    /// A placed step's status after the change (`None`: no such step is placed, its
    /// run has finished).
    Assignment {
        status: Option<AssignmentStatus>,
    },
    /// Whether the driver lease was granted, and its epoch.
    Claim {
        granted: bool,
        epoch: u64,
    },
    /// Whether this command cancelled the run, and its status after (`None`: no such
    /// run).
    RunCancelled {
        cancelled: bool,
        status: Option<crate::state::RunStatus>,
    },
    /// What a lease request of the `quotas` subsystem got.
    Quota(LeaseAnswer),
    /// How a command of the `deployments` subsystem went.
    Deployment(DeploymentAnswer),
    /// How a command of the `workloads` subsystem went.
    Workload(WorkloadAnswer),
    /// How a command of the `migrations` subsystem went.
    Migration(MigrationAnswer),
    /// How a command of the `triggers` subsystem went.
    Trigger(TriggerAnswer),
    /// Whether a client token change was made, and if not why.
    Tokens {
        accepted: bool,
        reason: Option<String>,
    },
    /// The command was not applied: who sent it may not make it (a step assigned to
    /// another node, an idempotency key already used for another command).
    Refused {
        reason: String,
    },
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.command {
            Command::Put { ns, key, .. } => write!(f, "put {ns}/{key}"),
            Command::Delete { ns, key } => write!(f, "delete {ns}/{key}"),
            Command::Campaign {
                group, candidate, ..
            } => write!(f, "campaign {group} by {candidate}"),
            Command::Resign { group, holder } => write!(f, "resign {group} by {holder}"),
            Command::Renew { group, holder, .. } => write!(f, "renew {group} by {holder}"),
            Command::Propose { group, .. } => write!(f, "propose to {group}"),
            Command::GlobalOrder { group, events } => {
                write!(f, "order {} events in {group}", events.len())
            }
            Command::StartRun {
                run_id, workflow, ..
            } => write!(f, "start run {run_id} of {workflow}"),
            Command::CompleteStep { run_id, step, .. } => write!(f, "complete {run_id}/{step}"),
            Command::FinishRun { run_id, .. } => write!(f, "finish run {run_id}"),
            Command::CancelRun { run_id } => write!(f, "cancel run {run_id}"),
            Command::Assign { work } => write!(f, "assign {}/{}", work.run_id, work.step),
            Command::Reassign { run_id, step } => write!(f, "reassign {run_id}/{step}"),
            Command::FinishAssignment {
                run_id, step, node, ..
            } => write!(f, "node {node} finished {run_id}/{step}"),
            Command::CancelAssignment { run_id, step } => write!(f, "cancel {run_id}/{step}"),
            Command::AddWorker { node, edge, .. } => write!(f, "add worker {node} ({edge})"),
            Command::RemoveWorker { node } => write!(f, "remove worker {node}"),
            Command::Heartbeat { node, .. } => write!(f, "heartbeat of {node}"),
            Command::SetMaintenance { node, on, .. } => write!(f, "maintenance {on} for {node}"),
            Command::Drain { node } => write!(f, "drain {node}"),
            Command::SubmitRun { run_id, .. } => write!(f, "submit run {run_id}"),
            Command::ClaimRun { run_id, node, .. } => write!(f, "node {node} claims {run_id}"),
            Command::RenewRun { run_id, node, .. } => write!(f, "node {node} renews {run_id}"),
            Command::Token(TokenCommand::Create { id, .. }) => write!(f, "create token {id}"),
            Command::Token(TokenCommand::Revoke { id }) => write!(f, "revoke token {id}"),
            Command::Quota(QuotaCommand::Lease {
                policy, key, edge, ..
            }) => write!(f, "lease {}/{key} to {edge}", policy.name),
            Command::Quota(QuotaCommand::Return {
                policy_id,
                key,
                edge,
                ..
            }) => write!(f, "{edge} returns its lease of {policy_id}/{key}"),
            Command::Deployment(DeploymentCommand::Apply { name, .. }) => {
                write!(f, "apply deployment {name}")
            }
            Command::Deployment(DeploymentCommand::Remove { name }) => {
                write!(f, "remove deployment {name}")
            }
            Command::Trigger(TriggerCommand::Tick {
                trigger_id,
                tick_ms,
                ..
            }) => write!(f, "fire {trigger_id} at {tick_ms}"),
            Command::Trigger(TriggerCommand::Event { source, id, runs }) => {
                write!(f, "event {source}/{id} starting {} runs", runs.len())
            }
            Command::Workload(WorkloadCommand::Create { name, edge }) => {
                write!(f, "place workload {name} on {edge}")
            }
            Command::Workload(WorkloadCommand::Remove { name }) => {
                write!(f, "remove workload {name}")
            }
            Command::Migration(command) => write!(f, "migration {}", command.id()),
        }
    }
}

impl Command {
    /// The compiled program (hash, JSON) this command carries for the storage layer to
    /// keep beside the state: a submission's or a deployment's.
    pub fn carried_bundle(&self) -> Option<(&str, &str)> {
        match self {
            Command::SubmitRun {
                bundle_hash,
                bundle: Some(bundle),
                ..
            }
            | Command::Deployment(DeploymentCommand::Apply {
                bundle_hash,
                bundle: Some(bundle),
                ..
            }) => Some((bundle_hash, bundle)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding;

    /// Optional fields left out of the encoding, anywhere in a command, must not shift
    /// the fields after them (a follower could not decode the entry, and replication
    /// would stop).
    #[test]
    fn commands_with_absent_optional_fields_round_trip() {
        let requests = [
            Command::SubmitRun {
                run_id: "r".into(),
                bundle_hash: "h".into(),
                bundle: None,
                workflow: "w".into(),
                inputs: serde_json::json!({"count": 1}),
            },
            Command::CompleteStep {
                run_id: "r".into(),
                step: "s".into(),
                value: serde_json::json!(1),
                attempts: 1,
                elapsed_ms: 2,
                ran_on: None,
                dispatch_us: Some(3),
            },
        ]
        .map(|command| Request {
            at_ms: 1,
            command,
            idempotency_key: None,
        });
        for request in requests {
            let decoded: Request = encoding::decode(&encoding::encode(&request)).expect("decodes");
            assert_eq!(decoded, request);
        }
    }
}
