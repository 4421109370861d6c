//! `/v1/ops/write` and `/v1/ops/query`: what an op running on a worker may ask of the
//! cluster — the same writes and reads an op on a voter makes through its own node
//! (`op_host`). A worker's token may write only the commands ops make (keys, leases,
//! ordered logs), never run records, membership or the fleet; and a worker's
//! idempotency keys must be those of a step assigned to it (`RUN/STEP/ATTEMPT`), so it
//! cannot mark another step's change as made.

use super::error::json_body;
use super::{ApiError, ApiState};
use crate::command::{Command, Response};
use crate::op_host::{Freshness, OpHost, Query, QueryAnswer};
use crate::state::assignments::AssignmentStatus;
use crate::state::{check_address, State as Replicated};
use crate::trust::Caller;
use axum::body::Bytes;
use axum::extract::State;
use axum::{Extension, Json};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpWrite {
    pub command: Command,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpQuery {
    pub query: Query,
    pub freshness: Freshness,
}

/// A user op's module, asked for by the node that runs a placed step of it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpModule {
    pub bundle: String,
    pub op: String,
}

/// The op's declaration and its module, base64.
#[derive(Debug, Serialize, Deserialize)]
pub struct OpModuleAnswer {
    pub declaration: edgeflow_compiler::ir::ExternOp,
    pub module: String,
}

/// The commands ops make (`ratelimit.*` leases tokens of a global budget).
fn made_by_ops(command: &Command) -> bool {
    matches!(
        command,
        Command::Put { .. }
            | Command::Delete { .. }
            | Command::Campaign { .. }
            | Command::Renew { .. }
            | Command::Resign { .. }
            | Command::Propose { .. }
            | Command::GlobalOrder { .. }
            | Command::Quota(_)
    )
}

/// A worker leases rate-limit tokens for its own edge only (the ledger's leases per
/// edge are what operators read).
async fn check_worker_lease(state: &ApiState, worker: u64, edge: &str) -> Result<(), ApiError> {
    let registered = state
        .node
        .read_local(|s| s.fleet.get(&worker).map(|r| r.edge.clone()))
        .await;
    match registered {
        Some(own) if own == edge => Ok(()),
        _ => Err(ApiError::Forbidden(format!(
            "worker {worker} may lease rate-limit tokens for its own edge only, not `{edge}`"
        ))),
    }
}

/// Whether idempotency key `key` belongs to a step assigned to `worker` in `state`.
fn key_of_step_assigned_to(state: &Replicated, worker: u64, key: &str) -> bool {
    let Some((run_and_step, attempt)) = key.rsplit_once('/') else {
        return false;
    };
    let Some((run_id, step)) = run_and_step.rsplit_once('/') else {
        return false;
    };
    attempt.parse::<u32>().is_ok()
        && state.assignments.get(run_id, step).is_some_and(
            |a| matches!(a.status, AssignmentStatus::Assigned { node, .. } if node == worker),
        )
}

/// Whether `check` holds on this node's copy of the state, or else on the leader's
/// (this copy may be behind an assignment just made).
async fn holds_here_or_on_leader(
    state: &ApiState,
    check: impl Fn(&Replicated) -> bool + Clone + Send + Sync + 'static,
) -> Result<bool, ApiError> {
    Ok(state.node.read_local(check.clone()).await || state.node.read(check).await?)
}

/// A worker may key its writes only with the keys of steps assigned to it.
pub(crate) async fn check_worker_key(
    state: &ApiState,
    worker: u64,
    key: &str,
) -> Result<(), ApiError> {
    let owned = key.to_string();
    let check = move |s: &Replicated| key_of_step_assigned_to(s, worker, &owned);
    if holds_here_or_on_leader(state, check).await? {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "the idempotency key `{key}` is not one of a step assigned to worker {worker} (RUN/STEP/ATTEMPT)"
    )))
}

pub async fn write(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    bytes: Bytes,
) -> Result<Json<Response>, ApiError> {
    let request: OpWrite = json_body(&bytes)?;
    if !made_by_ops(&request.command) {
        return Err(ApiError::Forbidden(format!(
            "`{}` is not a command an op makes",
            serde_json::to_value(&request.command)
                .ok()
                .and_then(|c| c.get("op").and_then(|op| op.as_str().map(str::to_string)))
                .unwrap_or_default()
        )));
    }
    if let Command::Put { ns, key, .. } | Command::Delete { ns, key } = &request.command {
        check_address(ns, key).map_err(ApiError::BadRequest)?;
    }
    if let (Caller::Worker(worker), Command::Quota(quota)) = (caller, &request.command) {
        check_worker_lease(&state, worker, quota.edge()).await?;
    }
    if let (Caller::Worker(worker), Some(key)) = (caller, &request.idempotency_key) {
        check_worker_key(&state, worker, key).await?;
    }
    let response = state
        .node
        .write_once(request.command, request.idempotency_key)
        .await?;
    if let Response::Refused { reason } = response {
        return Err(ApiError::Conflict(reason));
    }
    Ok(Json(response))
}

/// `POST /v1/ops/module`: a worker may fetch only the module of a step assigned to it
/// (user code is the author's, not every worker's to read).
pub async fn module(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    bytes: Bytes,
) -> Result<Json<OpModuleAnswer>, ApiError> {
    let request: OpModule = json_body(&bytes)?;
    if let Caller::Worker(worker) = caller {
        let (bundle, op) = (request.bundle.clone(), request.op.clone());
        let assigned = move |s: &Replicated| {
            s.assignments.assigned_to(worker, 0).any(|(assignment, _)| {
                assignment.work.bundle.as_deref() == Some(bundle.as_str())
                    && assignment.work.op == op
            })
        };
        if !holds_here_or_on_leader(&state, assigned).await? {
            return Err(ApiError::Forbidden(format!(
                "no step of op `{}` in program {} is assigned to worker {worker}",
                request.op, request.bundle
            )));
        }
    }
    let found = state
        .node
        .user_module(&request.bundle, &request.op)
        .await
        .map_err(|e| match e {
            crate::node::NodeError::Refused(reason) => ApiError::NotFound(reason),
            other => ApiError::from(other),
        })?;
    Ok(Json(OpModuleAnswer {
        declaration: found.declaration,
        module: base64::engine::general_purpose::STANDARD.encode(&found.module),
    }))
}

pub async fn query(
    State(state): State<Arc<ApiState>>,
    bytes: Bytes,
) -> Result<Json<QueryAnswer>, ApiError> {
    let request: OpQuery = json_body(&bytes)?;
    let answer = OpHost::query(state.node.as_ref(), request.query, request.freshness).await?;
    Ok(Json(answer))
}
