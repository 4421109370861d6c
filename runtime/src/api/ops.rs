//! `/v1/ops/write` and `/v1/ops/query`: what an op running on a worker may ask of the
//! cluster — the same writes and reads an op on a voter makes through its own node
//! (`op_host`). A worker's token may write only the commands ops make (keys, leases,
//! ordered logs), never run records, membership or the fleet.

use super::error::json_body;
use super::{ApiError, ApiState};
use crate::command::{Command, Response};
use crate::op_host::{Freshness, OpHost, Query, QueryAnswer};
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
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

/// The commands ops make.
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
    )
}

pub async fn write(
    State(state): State<Arc<ApiState>>,
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
    let response = state
        .node
        .write_once(request.command, request.idempotency_key)
        .await?;
    Ok(Json(response))
}

pub async fn query(
    State(state): State<Arc<ApiState>>,
    bytes: Bytes,
) -> Result<Json<QueryAnswer>, ApiError> {
    let request: OpQuery = json_body(&bytes)?;
    let answer = OpHost::query(state.node.as_ref(), request.query, request.freshness).await?;
    Ok(Json(answer))
}
