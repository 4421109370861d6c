//! `/v1/state/{namespace}/{key}`: the replicated key-value state over HTTP, from any
//! node. Writes go through consensus (forwarded to the leader); reads are linearizable
//! unless `?consistency=local`. `PUT …?if_version=N` is a compare-and-set: 409 with the
//! key's current version when it is not at `N` (0: absent).

use super::{json_body, ApiError, ApiState};
use crate::command::{Command, Response};
use crate::state::check_address;
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteOptions {
    #[serde(default)]
    if_version: Option<u64>,
}

fn address(namespace: &str, key: &str) -> Result<(), ApiError> {
    check_address(namespace, key).map_err(ApiError::BadRequest)
}

pub async fn get(
    State(state): State<Arc<ApiState>>,
    Path((namespace, key)): Path<(String, String)>,
    Query(options): Query<ReadOptions>,
) -> Result<Json<Value>, ApiError> {
    address(&namespace, &key)?;
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
    Query(options): Query<WriteOptions>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    address(&namespace, &key)?;
    let value: Value = json_body(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {}", e.message())))?;
    let response = state
        .node
        .write(Command::Put {
            ns: namespace,
            key,
            value,
            if_version: options.if_version,
        })
        .await?;
    match (response, options.if_version) {
        (
            Response::Put {
                success: false,
                version,
            },
            Some(expected),
        ) => Err(ApiError::VersionMismatch {
            expected,
            current: version,
        }),
        (response, _) => Ok(Json(answer(response))),
    }
}

pub async fn delete(
    State(state): State<Arc<ApiState>>,
    Path((namespace, key)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    address(&namespace, &key)?;
    let response = state
        .node
        .write(Command::Delete { ns: namespace, key })
        .await?;
    Ok(Json(answer(response)))
}

fn answer(response: Response) -> Value {
    serde_json::to_value(response).unwrap_or(Value::Null)
}
