//! `/v1/tokens` (members only): create a client token from the SHA-256 of a secret the
//! client made (the secret itself never reaches the cluster), list the tokens, revoke
//! one. Token hashes are never answered.

use super::registry::TokenCommand;
use super::scope::Scope;
use crate::api::{json_body, ApiError, ApiState};
use crate::command::{Command, Response};
use crate::node::now_ms;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// The longest a token may live: ten years.
const MAX_LIFETIME_MS: u64 = 10 * 365 * 24 * 3_600_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    token_sha256: String,
    scopes: Vec<Scope>,
    /// Lifetime from now; none: until revoked.
    #[serde(default)]
    expires_in_ms: Option<u64>,
    #[serde(default)]
    description: Option<String>,
}

fn answer(response: Response) -> Result<(), ApiError> {
    match response {
        Response::Tokens { accepted: true, .. } => Ok(()),
        Response::Tokens { reason, .. } => Err(ApiError::Conflict(
            reason.unwrap_or_else(|| "refused".into()),
        )),
        other => Err(ApiError::BadRequest(format!("unexpected answer {other:?}"))),
    }
}

pub async fn create(
    State(state): State<Arc<ApiState>>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request: NewToken = json_body(&bytes)?;
    let hash = request.token_sha256.to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::BadRequest(
            "`token_sha256` must be 64 hexadecimal digits".into(),
        ));
    }
    if request.scopes.is_empty() {
        return Err(ApiError::BadRequest(
            "a token needs at least one scope".into(),
        ));
    }
    if request.description.as_ref().is_some_and(|d| d.len() > 256) {
        return Err(ApiError::BadRequest(
            "a description is at most 256 bytes".into(),
        ));
    }
    let lifetime = match request.expires_in_ms {
        Some(0) => return Err(ApiError::BadRequest("`expires_in_ms` must be > 0".into())),
        Some(ms) if ms > MAX_LIFETIME_MS => {
            return Err(ApiError::BadRequest(
                "a token lives at most ten years".into(),
            ))
        }
        other => other,
    };
    let expires_at_ms = lifetime.map(|ms| now_ms() + ms);
    let id = format!("tok-{}", &hash[..12]);
    let mut scopes = request.scopes;
    scopes.sort();
    scopes.dedup();
    let command = Command::Token(TokenCommand::Create {
        id: id.clone(),
        token_sha256: hash,
        scopes: scopes.clone(),
        expires_at_ms,
        description: request.description,
    });
    answer(state.node.write(command).await?)?;
    Ok(Json(
        json!({ "id": id, "scopes": scopes, "expires_at_ms": expires_at_ms }),
    ))
}

pub async fn list(State(state): State<Arc<ApiState>>) -> Result<Json<Value>, ApiError> {
    let now = now_ms();
    let tokens: Vec<Value> = state
        .node
        .read(|s| {
            s.tokens
                .iter()
                .map(|t| {
                    json!({
                        "id": t.id, "scopes": t.scopes, "description": t.description,
                        "created_at_ms": t.created_at_ms, "expires_at_ms": t.expires_at_ms,
                        "revoked_at_ms": t.revoked_at_ms, "usable": t.usable_at(now),
                    })
                })
                .collect()
        })
        .await?;
    Ok(Json(json!({ "tokens": tokens })))
}

pub async fn revoke(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    answer(
        state
            .node
            .write(Command::Token(TokenCommand::Revoke { id: id.clone() }))
            .await?,
    )?;
    Ok(Json(json!({ "id": id, "revoked": true })))
}
