//! The workload routes: `/v1/workloads` (members place a workload on an edge; members
//! and `state:read` clients list them), `/v1/workloads/{name}` (its placement and what
//! the serving edge holds: records, bytes, digest; members remove it),
//! `/v1/workloads/{name}/fill` (random records, members and `state:write`),
//! `/v1/workloads/{name}/records/{key}` (a record: `state:read` to read, `state:write`
//! to write) and `/v1/ops/workload` (the same requests as data: for ops on workers, and
//! between members sending a request on to the node serving the workload). Every one of
//! them is served wherever the workload is; the caller need not know where.

use super::records::{RecordAnswer, RecordOp};
use super::route::WorkloadRequest;
use super::{check_name, Placement, WorkloadAnswer, WorkloadCommand};
use crate::api::{json_body, ApiError, ApiState};
use crate::command::{Command, Response as Answer};
use crate::trust::Caller;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Creation {
    name: String,
    edge: String,
}

fn placement_json(placement: &Placement) -> Value {
    json!({
        "name": placement.name,
        "edge": placement.edge,
        "created_at_ms": placement.created_at_ms,
    })
}

pub async fn create(
    State(state): State<Arc<ApiState>>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let creation: Creation = json_body(&body)
        .map_err(|e| ApiError::BadRequest(format!("not a workload: {}", e.message())))?;
    check_name(&creation.name).map_err(ApiError::BadRequest)?;
    if state.node.forwarder().is_some() && state.node.member_on_edge(&creation.edge).is_none() {
        return Err(ApiError::BadRequest(format!(
            "no cluster member serves edge `{}` (workloads are served by members; `edgeflow cluster status` lists their edges)",
            creation.edge
        )));
    }
    let command = Command::Workload(WorkloadCommand::Create {
        name: creation.name,
        edge: creation.edge,
    });
    match state.node.write(command).await? {
        Answer::Workload(WorkloadAnswer::Created(placement)) => {
            Ok((StatusCode::CREATED, Json(placement_json(&placement))))
        }
        Answer::Workload(WorkloadAnswer::Refused { reason }) => Err(ApiError::Conflict(reason)),
        other => Err(ApiError::BadRequest(format!(
            "unexpected answer: {other:?}"
        ))),
    }
}

pub async fn list(State(state): State<Arc<ApiState>>) -> Result<Json<Value>, ApiError> {
    let placements: Vec<Value> = state
        .node
        .read(|s| s.workloads.list().map(placement_json).collect())
        .await?;
    Ok(Json(json!({ "workloads": placements })))
}

pub async fn show(
    State(state): State<Arc<ApiState>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let placement = state.node.leaders_placement(&name).await?;
    match state.node.workload(&name, RecordOp::Summary).await? {
        RecordAnswer::Summary {
            records,
            bytes,
            digest,
        } => Ok(Json(json!({
            "name": name,
            "edge": placement.edge,
            "records": records,
            "bytes": bytes,
            "digest": digest,
        }))),
        other => Err(unexpected(other)),
    }
}

pub async fn remove(
    State(state): State<Arc<ApiState>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let moving = state
        .node
        .read(|s| s.migrations.moving(&name).map(|m| m.id.clone()))
        .await?;
    if let Some(id) = moving {
        return Err(ApiError::Conflict(format!(
            "workload `{name}` is being moved by migration `{id}`: roll it back or let it finish first"
        )));
    }
    state.node.workload(&name, RecordOp::Drop).await?;
    let command = Command::Workload(WorkloadCommand::Remove { name: name.clone() });
    match state.node.write(command).await? {
        Answer::Workload(WorkloadAnswer::Removed) => Ok(Json(json!({ "removed": name }))),
        Answer::Workload(WorkloadAnswer::Refused { reason }) => Err(ApiError::NotFound(reason)),
        other => Err(ApiError::BadRequest(format!(
            "unexpected answer: {other:?}"
        ))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Filling {
    records: u64,
    size: u64,
    #[serde(default)]
    seed: u64,
}

pub async fn fill(
    State(state): State<Arc<ApiState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let filling: Filling = json_body(&body)?;
    let op = RecordOp::Fill {
        records: filling.records,
        size: filling.size,
        seed: filling.seed,
    };
    match state.node.workload(&name, op).await? {
        RecordAnswer::Filled { records } => Ok(Json(json!({ "filled": records }))),
        other => Err(unexpected(other)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutOptions {
    if_version: Option<u64>,
}

pub async fn get_record(
    State(state): State<Arc<ApiState>>,
    Path((name, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    match state
        .node
        .workload(&name, RecordOp::Get { key: key.clone() })
        .await?
    {
        RecordAnswer::Record {
            record: Some(record),
        } => {
            let mut response = Json(record.value).into_response();
            if let Ok(version) = HeaderValue::from_str(&record.version.to_string()) {
                response.headers_mut().insert("x-edgeflow-version", version);
            }
            Ok(response)
        }
        RecordAnswer::Record { record: None } => Err(ApiError::NotFound(format!(
            "workload `{name}` has no record `{key}`"
        ))),
        other => Err(unexpected(other)),
    }
}

/// The request's `Idempotency-Key` header as its write id (see `RecordOp::Put`), in
/// a space of its own: a client's id can never be a step's (`RUN/STEP/ATTEMPT`), so no
/// client can pass off a write as a step's and have the step's own write skipped.
fn write_id(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get(IDEMPOTENCY_KEY) {
        None => Ok(None),
        Some(value) => match value.to_str() {
            Ok(id) if !id.is_empty() && id.len() <= MAX_IDEMPOTENCY_KEY_BYTES => {
                Ok(Some(format!("{CLIENT_WRITE_ID}{id}")))
            }
            Ok(id) => Err(ApiError::BadRequest(format!(
                "an Idempotency-Key is 1 to {MAX_IDEMPOTENCY_KEY_BYTES} bytes, not {}",
                id.len()
            ))),
            Err(_) => Err(ApiError::BadRequest(
                "an Idempotency-Key is visible ASCII".into(),
            )),
        },
    }
}

/// The longest `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY_BYTES: usize = 256;

/// What a client's write id starts with.
const CLIENT_WRITE_ID: &str = "client:";

/// The header a client names a write with, to send it again safely.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

pub async fn put_record(
    State(state): State<Arc<ApiState>>,
    Path((name, key)): Path<(String, String)>,
    Query(options): Query<PutOptions>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let value: Value = json_body(&body)?;
    let op = RecordOp::Put {
        key,
        value,
        if_version: options.if_version,
        once: write_id(&headers)?,
    };
    match state.node.workload(&name, op).await? {
        RecordAnswer::Put {
            success: true,
            version,
        } => Ok(Json(json!({ "version": version }))),
        RecordAnswer::Put { version, .. } => Err(ApiError::VersionMismatch {
            expected: options.if_version.unwrap_or_default(),
            current: version,
        }),
        other => Err(unexpected(other)),
    }
}

pub async fn delete_record(
    State(state): State<Arc<ApiState>>,
    Path((name, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let op = RecordOp::Delete {
        key,
        once: write_id(&headers)?,
    };
    match state.node.workload(&name, op).await? {
        RecordAnswer::Deleted { deleted } => Ok(Json(json!({ "deleted": deleted }))),
        other => Err(unexpected(other)),
    }
}

/// `POST /v1/ops/workload`: a request on records as data. Only a member may send one on
/// as `forwarded` (to be served here or refused).
pub async fn op(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Json<RecordAnswer>, ApiError> {
    let request: WorkloadRequest = json_body(&body)?;
    if let (
        Caller::Worker(worker),
        RecordOp::Put { once: Some(id), .. } | RecordOp::Delete { once: Some(id), .. },
    ) = (caller, &request.op)
    {
        crate::api::ops::check_worker_key(&state, worker, id).await?;
    }
    let answer = if request.forwarded {
        if !matches!(caller, Caller::Member(_)) {
            return Err(ApiError::Forbidden(
                "only cluster members send workload requests on".into(),
            ));
        }
        state
            .node
            .serve_forwarded(&request.workload, request.op)
            .await?
    } else {
        state.node.workload(&request.workload, request.op).await?
    };
    Ok(Json(answer))
}

fn unexpected(answer: RecordAnswer) -> ApiError {
    ApiError::BadRequest(format!(
        "unexpected answer from the serving node: {answer:?}"
    ))
}
