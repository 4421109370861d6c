//! `/v1/state/{namespace}/{key}`: the replicated key-value state over HTTP, from any
//! node. Writes go through consensus (forwarded to the leader); reads are linearizable
//! unless `?consistency=local`.

use super::{ApiError, ApiState};
use crate::command::{Command, Response};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadOptions {
    #[serde(default)]
    consistency: Consistency,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Consistency {
    #[default]
    Linearizable,
    Local,
}

pub async fn get(
    State(state): State<Arc<ApiState>>,
    Path((namespace, key)): Path<(String, String)>,
    Query(options): Query<ReadOptions>,
) -> Result<Json<Value>, ApiError> {
    let read = |s: &crate::state::State| {
        s.kv.get(&namespace)
            .and_then(|keys| keys.get(&key))
            .cloned()
    };
    let entry = match options.consistency {
        Consistency::Linearizable => state.node.read(read).await?,
        Consistency::Local => state.node.read_local(read).await,
    };
    match entry {
        Some(entry) => Ok(Json(
            json!({"value": entry.value, "version": entry.version}),
        )),
        None => Err(ApiError::NotFound(format!(
            "no key `{key}` in `{namespace}`"
        ))),
    }
}

pub async fn put(
    State(state): State<Arc<ApiState>>,
    Path((namespace, key)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    let response = state
        .node
        .write(Command::Put {
            ns: namespace,
            key,
            value,
            if_version: None,
        })
        .await?;
    Ok(Json(answer(response)))
}

pub async fn delete(
    State(state): State<Arc<ApiState>>,
    Path((namespace, key)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let response = state
        .node
        .write(Command::Delete { ns: namespace, key })
        .await?;
    Ok(Json(answer(response)))
}

fn answer(response: Response) -> Value {
    serde_json::to_value(response).unwrap_or(Value::Null)
}
