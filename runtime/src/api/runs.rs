//! `/v1/runs`: workflow runs on the cluster. `POST` submits one (the compiled bundle,
//! the workflow and its inputs): the bundle is verified, stored by its hash unless the
//! cluster has it, the run recorded, and a node claims and drives it.
//! `GET /v1/runs/{id}?wait_ms=N` answers once the run has finished or after N ms,
//! whichever comes first, with where its placed steps are (waiting for a node, or
//! assigned to one). `GET /v1/runs/{id}/bundle` answers the program a run executes.

use super::{json_body, ApiError, ApiState};
use crate::command::{Command, Response};
use crate::node::now_ms;
use crate::state::assignments::AssignmentStatus;
use crate::state::{RunRecord, RunStatus, State as ReplicatedState};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::Json;
use edgeflow_compiler::inputs::{bind, Given};
use edgeflow_compiler::program::from_bundle;
use openraft::type_config::async_runtime::WatchReceiver;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The largest bundle a submission may carry (WebAssembly modules included).
pub const MAX_SUBMISSION_BYTES: usize = 16 * 1024 * 1024;
/// The longest a `GET` may wait for a run to finish.
const MAX_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Submission {
    /// The bundle `edgeflow compile` writes (JSON).
    bundle: Value,
    workflow: String,
    /// Parameter values in LANGUAGE.md §7's JSON encoding, checked and completed with
    /// defaults exactly as `edgeflow run` does (`inputs::bind`).
    #[serde(default)]
    inputs: BTreeMap<String, Value>,
}

pub async fn submit(
    State(state): State<Arc<ApiState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let submission: Submission = json_body(&body)
        .map_err(|e| ApiError::BadRequest(format!("not a submission: {}", e.message())))?;
    let bundle_text = submission.bundle.to_string();
    let program = from_bundle(bundle_text.as_bytes())
        .map_err(|e| ApiError::BadRequest(format!("the bundle: {e}")))?;
    let workflow = program
        .workflows
        .iter()
        .find(|w| w.name == submission.workflow)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "the bundle has no workflow `{}`",
                submission.workflow
            ))
        })?;
    let given = submission
        .inputs
        .into_iter()
        .map(|(name, value)| (name, Given::Json(value)));
    let inputs = bind(workflow, given).map_err(ApiError::BadRequest)?;
    let run_id = crate::state::new_run_id(now_ms());
    let stored = state
        .node
        .read_local(|s| s.bundles.contains(&program.hash))
        .await;
    let submit = |bundle: Option<String>| Command::SubmitRun {
        run_id: run_id.clone(),
        bundle_hash: program.hash.clone(),
        bundle,
        workflow: submission.workflow.clone(),
        inputs: json!(inputs),
    };
    // Without the bundle when the cluster stores it; with it when it does not, or when
    // it was released (its last run ended) between the look and the submission.
    let mut response = state
        .node
        .write(submit((!stored).then(|| bundle_text.clone())))
        .await?;
    if stored && response == (Response::Submitted { accepted: false }) {
        response = state.node.write(submit(Some(bundle_text))).await?;
    }
    match response {
        Response::Submitted { accepted: true } => Ok(Json(
            json!({ "run_id": run_id, "bundle_hash": program.hash }),
        )),
        other => Err(ApiError::Conflict(format!(
            "the run was not recorded (the cluster answered {other:?})"
        ))),
    }
}

/// `GET /v1/runs/{run_id}/bundle`: the compiled program a running run executes, as
/// this node stores it (404 for an unknown run, and once the run ended and no other
/// running run uses the program: it is then no longer kept).
pub async fn bundle(
    State(state): State<Arc<ApiState>>,
    Path(run_id): Path<String>,
) -> Result<HttpResponse, ApiError> {
    let hash = state
        .node
        .read_local(|s| s.runs.get(&run_id).map(|run| run.bundle_hash.clone()))
        .await
        .ok_or_else(|| ApiError::NotFound(format!("no run `{run_id}`")))?;
    let bundle = state.node.bundle(&hash).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "the program of run `{run_id}` is no longer stored (its runs have ended)"
        ))
    })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bundle).into_response())
}

/// `POST /v1/runs/{run_id}/cancel`: 200 with the status after (`cancelled`), 409 when
/// the run had already ended, 404 for an unknown run.
pub async fn cancel(
    State(state): State<Arc<ApiState>>,
    Path(run_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let response = state
        .node
        .write(Command::CancelRun {
            run_id: run_id.clone(),
        })
        .await?;
    match response {
        Response::RunCancelled {
            cancelled: true, ..
        } => Ok(Json(json!({ "run_id": run_id, "status": "cancelled" }))),
        Response::RunCancelled {
            status: Some(status),
            ..
        } => Err(ApiError::Conflict(format!(
            "run {run_id} has already ended: {}",
            status.name()
        ))),
        Response::RunCancelled { status: None, .. } => {
            Err(ApiError::NotFound(format!("no run `{run_id}`")))
        }
        other => Err(ApiError::BadRequest(format!("unexpected answer {other:?}"))),
    }
}

pub async fn list(State(state): State<Arc<ApiState>>) -> Result<Json<Vec<RunRecord>>, ApiError> {
    let mut runs: Vec<RunRecord> = state
        .node
        .read(|s| s.runs.values().cloned().collect())
        .await?;
    runs.sort_by_key(|r| r.started_at_ms);
    Ok(Json(runs))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowOptions {
    /// Wait up to this long for the run to finish.
    #[serde(default)]
    wait_ms: u64,
}

/// A run as `GET /v1/runs/{id}` shows it: its record, and its placed steps that have
/// not finished yet.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunView {
    #[serde(flatten)]
    pub record: RunRecord,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub placed: BTreeMap<String, AssignmentStatus>,
}

fn view(state: &ReplicatedState, run_id: &str) -> Option<RunView> {
    let record = state.runs.get(run_id)?.clone();
    let placed = state
        .assignments
        .iter()
        .filter(|a| a.work.run_id == run_id)
        .filter(|a| !matches!(a.status, AssignmentStatus::Finished { .. }))
        .map(|a| (a.work.step.clone(), a.status.clone()))
        .collect();
    Some(RunView { record, placed })
}

pub async fn show(
    State(state): State<Arc<ApiState>>,
    Path(run_id): Path<String>,
    Query(options): Query<ShowOptions>,
) -> Result<Json<RunView>, ApiError> {
    let deadline = Instant::now() + Duration::from_millis(options.wait_ms).min(MAX_WAIT);
    let mut changes = state.node.raft().metrics();
    let mut record = state.node.read(|s| view(s, &run_id)).await?;
    loop {
        match &record {
            None => return Err(ApiError::NotFound(format!("no run `{run_id}`"))),
            Some(run) if run.record.status != RunStatus::Running => break,
            Some(_) if Instant::now() >= deadline => break,
            Some(_) => {
                // Look again when this node applies something (or at the deadline).
                let remaining = deadline.saturating_duration_since(Instant::now());
                tokio::select! {
                    changed = tokio::time::timeout(remaining, changes.changed()) => {
                        if let Ok(Err(_)) = changed {
                            break; // Raft has stopped.
                        }
                    }
                    () = state.stopping.cancelled() => break,
                }
                record = state.node.read_local(|s| view(s, &run_id)).await;
            }
        }
    }
    record
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no run `{run_id}`")))
}
