//! `/v1/workers` and `/v1/fleet`: registering workers, maintenance and drain requests
//! (members only, see `auth::members_only`), each worker's heartbeat (only for itself),
//! and the fleet as the registry sees it now (`unknown` for overdue heartbeats).

use super::error::json_body;
use super::{ApiError, ApiState};
use crate::command::{Command, Response};
use crate::node::now_ms;
use crate::state::fleet::{Beat, EdgeLabels, EdgeRole};
use crate::trust::Caller;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;

fn fleet_answer(response: Response) -> Result<Json<Value>, ApiError> {
    match response {
        Response::Fleet { accepted: true, .. } => Ok(Json(json!({ "accepted": true }))),
        Response::Fleet { reason, .. } => Err(ApiError::Conflict(
            reason.unwrap_or_else(|| "refused".into()),
        )),
        other => Err(ApiError::BadRequest(format!("unexpected answer {other:?}"))),
    }
}

/// A worker to register.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWorker {
    pub id: u64,
    pub edge: String,
    pub api: String,
    pub token_sha256: String,
    #[serde(default)]
    pub labels: EdgeLabels,
    pub heartbeat_interval_ms: u64,
}

pub async fn add_worker(
    State(state): State<Arc<ApiState>>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let worker: NewWorker = json_body(&bytes)?;
    if worker.id == 0 || worker.edge.is_empty() || worker.token_sha256.len() != 64 {
        return Err(ApiError::BadRequest(
            "a worker needs an id ≥ 1, an edge name and a 64-digit `token_sha256`".into(),
        ));
    }
    if state.node.member_info(worker.id).is_some() {
        return Err(ApiError::Conflict(format!(
            "node {} is a Raft member, not a worker",
            worker.id
        )));
    }
    let response = state
        .node
        .write(Command::AddWorker {
            node: worker.id,
            edge: worker.edge,
            api: worker.api,
            token_sha256: worker.token_sha256,
            labels: worker.labels,
            heartbeat_interval_ms: worker.heartbeat_interval_ms.max(100),
        })
        .await?;
    fleet_answer(response)
}

pub async fn remove_worker(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    fleet_answer(state.node.write(Command::RemoveWorker { node: id }).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Maintenance {
    on: bool,
    #[serde(default)]
    comment: Option<String>,
}

pub async fn maintenance(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<u64>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request: Maintenance = json_body(&bytes)?;
    let command = Command::SetMaintenance {
        node: id,
        on: request.on,
        comment: request.comment,
    };
    fleet_answer(state.node.write(command).await?)
}

pub async fn drain(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    fleet_answer(state.node.write(Command::Drain { node: id }).await?)
}

/// A node's heartbeat as it sends it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatBody {
    pub edge: String,
    pub api: String,
    #[serde(default)]
    pub labels: EdgeLabels,
    pub heartbeat_interval_ms: u64,
    pub beat: Beat,
}

pub async fn heartbeat(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<u64>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    if caller != Caller::Worker(id) {
        return Err(ApiError::Forbidden(format!(
            "only worker {id} itself may send its heartbeat"
        )));
    }
    let beat: HeartbeatBody = json_body(&bytes)?;
    beat.beat.check().map_err(ApiError::BadRequest)?;
    let response = state
        .node
        .write(Command::Heartbeat {
            node: id,
            edge: beat.edge,
            role: EdgeRole::Worker,
            api: beat.api,
            labels: beat.labels,
            heartbeat_interval_ms: beat.heartbeat_interval_ms.max(100),
            beat: beat.beat,
        })
        .await?;
    match response {
        Response::Heartbeat {
            accepted: true,
            state,
            drain,
        } => Ok(Json(json!({ "state": state, "drain": drain }))),
        _ => Err(ApiError::Forbidden(format!(
            "node {id} is not a registered worker"
        ))),
    }
}

/// Every node of the fleet as the registry sees it now.
pub async fn list(State(state): State<Arc<ApiState>>) -> Result<Json<Value>, ApiError> {
    let now = now_ms();
    let records = state
        .node
        .read(|s| s.fleet.values().cloned().collect::<Vec<_>>())
        .await?;
    let nodes: Vec<Value> = records
        .iter()
        .map(|r| {
            json!({
                "id": r.node, "edge": r.edge, "role": r.role, "api": r.api,
                "state": r.state_at(now).name(), "health": r.health_at(now),
                "labels": r.labels, "metrics": r.metrics, "latency_ms": r.latency_ms,
                "running": r.running, "draining": r.draining,
                "maintenance_comment": r.maintenance_comment,
                "last_heartbeat_ms_ago": r.last_heartbeat_ms.map(|t| now.saturating_sub(t)),
            })
        })
        .collect();
    Ok(Json(json!({ "nodes": nodes })))
}
