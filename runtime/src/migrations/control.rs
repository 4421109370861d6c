//! What operators and ops ask of migrations — start (with the planning checks made
//! before anything is proposed: workloads on the source, both edges served, the target
//! reachable with room), pause, resume, roll back — and a migration's status as
//! `migrate status` and `migrate.progress` report it.

use super::plan::MigrationPlan;
use super::registry::{MigrationAnswer, MigrationCommand, MigrationRecord, Phase};
use super::room::Room;
use crate::command::{Command, Response};
use crate::node::{Node, NodeError};
use crate::workloads::SideOp;
use edgeflow_compiler::value::format_duration;
use serde_json::{json, Value};
use std::fmt;

#[derive(Debug)]
pub enum MigrationError {
    Unknown(String),
    /// The request cannot be made now (the planning checks, a finished migration).
    Refused(String),
    Node(NodeError),
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrationError::Unknown(id) => write!(f, "there is no migration `{id}`"),
            MigrationError::Refused(reason) => f.write_str(reason),
            MigrationError::Node(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for MigrationError {}

impl From<NodeError> for MigrationError {
    fn from(error: NodeError) -> MigrationError {
        MigrationError::Node(error)
    }
}

async fn propose(node: &Node, command: MigrationCommand) -> Result<Phase, MigrationError> {
    match node.write(Command::Migration(command)).await? {
        Response::Migration(MigrationAnswer::Done { phase }) => Ok(phase),
        Response::Migration(MigrationAnswer::Refused { reason }) => {
            Err(MigrationError::Refused(reason))
        }
        other => Err(MigrationError::Refused(format!(
            "unexpected answer: {other:?}"
        ))),
    }
}

/// Checks the plan against the cluster as it is and starts the migration; its id.
pub async fn start(node: &Node, plan: MigrationPlan) -> Result<(String, Phase), MigrationError> {
    let refuse = |reason: String| Err(MigrationError::Refused(format!("planning: {reason}")));
    for edge in [&plan.from, &plan.to] {
        if node.member_on_edge(edge).is_none() {
            return refuse(format!("no cluster member serves edge `{edge}`"));
        }
    }
    let mut needed = 0;
    for workload in &plan.workloads {
        let placement = match node.placement(workload).await {
            Ok(placement) => placement,
            Err(error) => return refuse(error.to_string()),
        };
        if placement.edge != plan.from {
            return refuse(format!(
                "workload `{workload}` is served by edge `{}`, not `{}`",
                placement.edge, plan.from
            ));
        }
        let Some(source) = node.member_on_edge(&plan.from) else {
            return refuse(format!("no cluster member serves edge `{}`", plan.from));
        };
        match node.side(&source, workload, SideOp::Summary).await {
            Ok(summary) => needed += summary["bytes"].as_u64().unwrap_or(0),
            Err(reason) => {
                return refuse(format!(
                    "the source edge `{}` cannot be reached: {reason}",
                    plan.from
                ))
            }
        }
    }
    let Some(target) = node.member_on_edge(&plan.to) else {
        return refuse(format!("no cluster member serves edge `{}`", plan.to));
    };
    let first = plan.workloads.first().cloned().unwrap_or_default();
    let capacity = SideOp::Capacity {
        workloads: plan.workloads.clone(),
    };
    let room = match node.side(&target, &first, capacity).await {
        Ok(room) => serde_json::from_value::<Room>(room).map_err(|e| e.to_string()),
        Err(reason) => Err(reason.to_string()),
    };
    let room = match room {
        Ok(room) => room,
        Err(reason) => {
            return refuse(format!(
                "the target edge `{}` cannot be reached: {reason}",
                plan.to
            ))
        }
    };
    if let Some(refusal) = room.refusal(&plan.to, needed) {
        return refuse(refusal);
    }
    let id = format!("mig-{:012x}", fastrand::u64(..) & 0xffff_ffff_ffff);
    let phase = propose(
        node,
        MigrationCommand::Start {
            id: id.clone(),
            plan,
        },
    )
    .await?;
    Ok((id, phase))
}

pub async fn record(node: &Node, id: &str) -> Result<MigrationRecord, MigrationError> {
    let id = id.to_string();
    let found = node
        .read(|state| state.migrations.get(&id).cloned())
        .await?;
    found.ok_or(MigrationError::Unknown(id))
}

pub async fn pause(node: &Node, id: &str) -> Result<Phase, MigrationError> {
    record(node, id).await?;
    propose(node, MigrationCommand::Pause { id: id.to_string() }).await
}

pub async fn resume(node: &Node, id: &str) -> Result<Phase, MigrationError> {
    record(node, id).await?;
    propose(node, MigrationCommand::Resume { id: id.to_string() }).await
}

pub async fn rollback(
    node: &Node,
    id: &str,
    checkpoint: Option<String>,
) -> Result<Phase, MigrationError> {
    record(node, id).await?;
    propose(
        node,
        MigrationCommand::Rollback {
            id: id.to_string(),
            checkpoint,
            error: None,
        },
    )
    .await
}

/// The phase as reported: `paused` while paused.
pub fn phase_shown(record: &MigrationRecord) -> &'static str {
    if record.paused && !record.phase.is_over() {
        "paused"
    } else {
        record.phase.name()
    }
}

/// How far along, 0 to 100: workloads done, and of the current one the bytes copied
/// (the copy is most of the work; cutover onwards counts as copied).
pub fn percent(record: &MigrationRecord) -> f64 {
    if record.phase == Phase::Completed {
        return 100.0;
    }
    let count = record.plan.workloads.len().max(1) as f64;
    let progress = &record.progress;
    let current = match record.phase {
        Phase::Planning | Phase::PreSync => 0.0,
        Phase::Sync if progress.total_bytes == 0 => {
            if progress.snapshot_done {
                1.0
            } else {
                0.0
            }
        }
        Phase::Sync => {
            (progress.copied_this_workload as f64 / progress.total_bytes as f64).min(0.99)
        }
        _ => 1.0,
    };
    ((progress.workload_index as f64 + current) / count * 100.0).clamp(0.0, 100.0)
}

/// Bits a second on the wire while copying.
pub fn throughput_bps(record: &MigrationRecord) -> u64 {
    let progress = &record.progress;
    match progress.copy_ms {
        0 => 0,
        ms => progress.bytes_sent.saturating_mul(8_000) / ms,
    }
}

/// The time left at the copy's pace so far, in nanoseconds rounded to whole
/// milliseconds (`1s306ms`, not `1s305.869918ms`); none before it has a pace, or when
/// the copy is over.
pub fn eta_ns(record: &MigrationRecord) -> Option<i64> {
    let progress = &record.progress;
    if record.phase != Phase::Sync || progress.copy_ms == 0 || progress.bytes_copied == 0 {
        return None;
    }
    let left = progress
        .total_bytes
        .saturating_sub(progress.copied_this_workload);
    let per_ms = progress.bytes_copied as f64 / progress.copy_ms as f64;
    Some(((left as f64 / per_ms).round() as i64).saturating_mul(1_000_000))
}

pub fn status(record: &MigrationRecord) -> Value {
    let progress = &record.progress;
    json!({
        "migration_id": record.id,
        "name": record.plan.name,
        "phase": phase_shown(record),
        "strategy": record.plan.strategy,
        "from": record.plan.from,
        "to": record.plan.to,
        "workloads": record.plan.workloads,
        "workload": record.workload(),
        "percent": (percent(record) * 10.0).round() / 10.0,
        "records_copied": progress.records_copied,
        "bytes_copied": progress.bytes_copied,
        "bytes_sent": progress.bytes_sent,
        "throughput_bps": throughput_bps(record),
        "eta": eta_ns(record).map(format_duration),
        "checkpoints": record.checkpoints.iter().map(|c| json!({
            "id": c.id,
            "at_ms": c.at_ms,
            "phase": c.phase.name(),
            "bytes_copied": c.progress.bytes_copied,
        })).collect::<Vec<_>>(),
        "downtime_ms": record.downtime_ms,
        "paused": record.paused,
        "preempted_by": record.preempted_by,
        "waiting": record.waiting,
        "error": record.error,
        "started_at_ms": record.started_at_ms,
        "updated_at_ms": record.updated_at_ms,
    })
}

/// What an op asks of the migrations.
#[derive(Debug, Clone)]
pub enum MigrationAsk {
    Start(MigrationPlan),
    Get(String),
    Pause(String),
    Resume(String),
    Rollback {
        id: String,
        checkpoint: Option<String>,
    },
    Active,
}

#[derive(Debug, Clone)]
pub enum MigrationReply {
    Started {
        id: String,
        phase: Phase,
    },
    Record(Box<MigrationRecord>),
    Done {
        phase: Phase,
    },
    /// Unfinished migrations.
    Active(Vec<MigrationRecord>),
}

/// Answers an op's request.
pub async fn ask(node: &Node, asked: MigrationAsk) -> Result<MigrationReply, MigrationError> {
    match asked {
        MigrationAsk::Start(plan) => {
            let (id, phase) = start(node, plan).await?;
            Ok(MigrationReply::Started { id, phase })
        }
        MigrationAsk::Get(id) => Ok(MigrationReply::Record(Box::new(record(node, &id).await?))),
        MigrationAsk::Pause(id) => Ok(MigrationReply::Done {
            phase: pause(node, &id).await?,
        }),
        MigrationAsk::Resume(id) => Ok(MigrationReply::Done {
            phase: resume(node, &id).await?,
        }),
        MigrationAsk::Rollback { id, checkpoint } => Ok(MigrationReply::Done {
            phase: rollback(node, &id, checkpoint).await?,
        }),
        MigrationAsk::Active => {
            let active = node
                .read(|state| {
                    state
                        .migrations
                        .list()
                        .filter(|m| !m.phase.is_over())
                        .cloned()
                        .collect()
                })
                .await?;
            Ok(MigrationReply::Active(active))
        }
    }
}
