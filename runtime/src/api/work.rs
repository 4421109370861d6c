//! `/v1/fleet/{id}/work` and `/v1/fleet/{id}/finished`: how a worker takes the steps
//! assigned to it and reports how they ended. Taking work is a long poll: the answer
//! comes as soon as this node applies an assignment for the worker newer than the last
//! it saw (`after`), or empty after `wait_ms`; only the worker's own assignments wake
//! its poll (`dispatch::signals`).

use super::error::json_body;
use super::{ApiError, ApiState};
use crate::command::{Command, Response};
use crate::dispatch::signals::Topic;
use crate::node::NodeError;
use crate::state::assignments::{Outcome, StepWork};
use crate::trust::Caller;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest a long poll is held.
const MAX_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkOptions {
    /// The `seq` of the newest assignment the worker has seen.
    #[serde(default)]
    after: u64,
    #[serde(default)]
    wait_ms: u64,
}

/// A step for the worker, and the log index that assigned it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkItem {
    pub seq: u64,
    /// When it was assigned (the proposer's clock, Unix milliseconds).
    pub assigned_at_ms: u64,
    pub work: StepWork,
}

/// What a worker reports about a step it ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishedStep {
    pub run_id: String,
    pub step: String,
    /// The `seq` of the assignment the worker ran (its epoch): a report for an earlier
    /// assignment of the step, since given to another node, is refused. Outcomes kept
    /// by an older worker have none (0), and are refused as stale.
    #[serde(default)]
    pub seq: u64,
    pub outcome: Outcome,
    pub attempts: u32,
    /// When the worker started the step (its clock, Unix microseconds).
    #[serde(default)]
    pub started_at_us: u64,
}

fn only_itself(caller: &Caller, id: u64) -> Result<(), ApiError> {
    if *caller == Caller::Worker(id) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "only worker {id} itself may take or report its steps"
        )))
    }
}

pub async fn take(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<u64>,
    Query(options): Query<WorkOptions>,
) -> Result<Json<Value>, ApiError> {
    only_itself(&caller, id)?;
    let deadline = Instant::now() + Duration::from_millis(options.wait_ms).min(MAX_WAIT);
    let mut assigned = state
        .node
        .assignment_signals()
        .subscribe(Topic::AssignedTo(id));
    loop {
        let work: Vec<WorkItem> = state
            .node
            .read_local(|s| {
                s.assignments
                    .assigned_to(id, options.after)
                    .map(|(a, assigned_at_ms)| WorkItem {
                        seq: a.seq,
                        assigned_at_ms,
                        work: a.work.to_run(),
                    })
                    .collect()
            })
            .await;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if !work.is_empty() || remaining.is_zero() {
            return Ok(Json(json!({ "work": work })));
        }
        tokio::select! {
            changed = tokio::time::timeout(remaining, assigned.changed()) => {
                if let Ok(Err(_)) = changed {
                    return Err(ApiError::Node(NodeError::Raft("the node is shutting down".into())));
                }
            }
            // Stopping: answer what there is (nothing), the worker asks another node.
            () = state.stopping.cancelled() => return Ok(Json(json!({ "work": [] }))),
        }
    }
}

pub async fn finished(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<u64>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    only_itself(&caller, id)?;
    let report: FinishedStep = json_body(&bytes)?;
    let command = Command::FinishAssignment {
        run_id: report.run_id,
        step: report.step,
        node: id,
        seq: report.seq,
        outcome: report.outcome,
        attempts: report.attempts,
        started_at_us: report.started_at_us,
    };
    match state.node.write(command).await? {
        Response::Assignment { status } => Ok(Json(json!({ "status": status }))),
        Response::Refused { reason } => Err(ApiError::Conflict(reason)),
        other => Err(ApiError::BadRequest(format!("unexpected answer {other:?}"))),
    }
}
