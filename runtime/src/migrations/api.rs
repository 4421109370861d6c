//! The migration routes. For operators (members; reading also `state:read` clients):
//! `POST /v1/migrations` starts one from a plan (`edgeflow migrate start` compiles the
//! declaration into it), `GET /v1/migrations[/{id}]` reports, `POST
//! /v1/migrations/{id}/pause|resume|rollback` steer. Between members only: `POST
//! /v1/migrations/export` (a batch of the source's records, binary, checksummed) and
//! `POST /v1/migrations/side` (a request on a node's own copy: summary, freeze, thaw,
//! mirrored writes, removal, free space).

use super::control::{self, MigrationError};
use super::plan::{MigrationPlan, MAX_BATCH_RECORDS};
use super::transfer::{self, Batch, Copied, ExportFrom, ExportRequest};
use crate::api::{json_body, ApiError, ApiState};
use crate::workloads::{check_name, SideRequest};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// Workloads one migration moves at most.
const MAX_WORKLOADS: usize = 1_000;

impl From<MigrationError> for ApiError {
    fn from(error: MigrationError) -> ApiError {
        match error {
            MigrationError::Unknown(_) => ApiError::NotFound(error.to_string()),
            MigrationError::Refused(reason) => ApiError::Conflict(reason),
            MigrationError::Node(error) => ApiError::Node(error),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Start {
    plan: MigrationPlan,
}

fn check_plan(plan: &MigrationPlan) -> Result<(), ApiError> {
    let bad = |reason: String| Err(ApiError::BadRequest(reason));
    if plan.from == plan.to {
        return bad(format!("from and to are both `{}`", plan.to));
    }
    if plan.workloads.is_empty() || plan.workloads.len() > MAX_WORKLOADS {
        return bad(format!("a migration moves 1 to {MAX_WORKLOADS} workloads"));
    }
    for workload in &plan.workloads {
        check_name(workload).map_err(ApiError::BadRequest)?;
    }
    if plan.batch_size == 0 || plan.batch_size > MAX_BATCH_RECORDS {
        return bad(format!("batch_size is 1 to {MAX_BATCH_RECORDS}"));
    }
    if plan.bandwidth_bytes == Some(0) {
        return bad("bandwidth must be above 0".into());
    }
    Ok(())
}

pub async fn start(
    State(state): State<Arc<ApiState>>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let start: Start = json_body(&body)
        .map_err(|e| ApiError::BadRequest(format!("not a migration: {}", e.message())))?;
    check_plan(&start.plan)?;
    let (id, phase) = control::start(&state.node, start.plan).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "migration_id": id, "phase": phase.name() })),
    ))
}

pub async fn list(State(state): State<Arc<ApiState>>) -> Result<Json<Value>, ApiError> {
    let migrations: Vec<Value> = state
        .node
        .read(|s| s.migrations.list().map(control::status).collect())
        .await?;
    Ok(Json(json!({ "migrations": migrations })))
}

pub async fn show(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let record = control::record(&state.node, &id).await?;
    Ok(Json(control::status(&record)))
}

pub async fn pause(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    control::pause(&state.node, &id).await?;
    Ok(Json(json!({ "success": true })))
}

pub async fn resume(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    control::resume(&state.node, &id).await?;
    Ok(Json(json!({ "success": true })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rollback {
    checkpoint: Option<String>,
}

pub async fn rollback(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request: Rollback = match body.is_empty() {
        true => Rollback::default(),
        false => json_body(&body)?,
    };
    let phase = control::rollback(&state.node, &id, request.checkpoint).await?;
    Ok(Json(json!({ "success": true, "phase": phase.name() })))
}

/// A batch of this node's records of a workload, for a migration's target.
pub async fn export(State(state): State<Arc<ApiState>>, body: Bytes) -> Result<Response, ApiError> {
    let request: ExportRequest = json_body(&body)?;
    check_name(&request.workload).map_err(ApiError::BadRequest)?;
    let limit = request.limit.clamp(1, MAX_BATCH_RECORDS);
    let store = state.node.workload_store();
    let storage = |e: std::io::Error| ApiError::BadRequest(format!("the source's store: {e}"));
    let batch = match request.from {
        ExportFrom::Keys { after } => {
            let (records, done) = store
                .export_keys(&request.workload, after, limit, transfer::MAX_BATCH_BYTES)
                .await
                .map_err(storage)?;
            Batch {
                records: records
                    .into_iter()
                    .map(|(key, record)| Copied {
                        key,
                        version: record.version,
                        value: Some(record.value),
                    })
                    .collect(),
                last_seq: 0,
                done,
            }
        }
        ExportFrom::Changes { since } => {
            let (changes, last_seq, done) = store
                .export_changes(&request.workload, since, limit, transfer::MAX_BATCH_BYTES)
                .await
                .map_err(storage)?;
            Batch {
                records: changes
                    .into_iter()
                    .map(|(key, record)| Copied {
                        key,
                        version: record.as_ref().map_or(0, |r| r.version),
                        value: record.map(|r| r.value),
                    })
                    .collect(),
                last_seq,
                done,
            }
        }
    };
    let compress = request.compress;
    let sealed = tokio::task::spawn_blocking(move || transfer::seal(&batch, compress))
        .await
        .map_err(|e| ApiError::BadRequest(e.to_string()))?
        .map_err(ApiError::BadRequest)?;
    state.node.exported(sealed.body.len() as u64);
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::HeaderName::from_static(transfer::CRC_HEADER),
                sealed.crc32.to_string(),
            ),
            (
                header::HeaderName::from_static(transfer::RAW_BYTES_HEADER),
                sealed.raw_bytes.to_string(),
            ),
            (
                header::HeaderName::from_static(transfer::COMPRESSED_HEADER),
                u8::from(sealed.compressed).to_string(),
            ),
        ],
        sealed.body,
    )
        .into_response())
}

/// A request on this node's own copy of a workload.
pub async fn side(
    State(state): State<Arc<ApiState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request: SideRequest = json_body(&body)?;
    check_name(&request.workload).map_err(ApiError::BadRequest)?;
    Ok(Json(
        state.node.serve_side(&request.workload, request.op).await?,
    ))
}
