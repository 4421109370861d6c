//! The API's gate: a bearer token of a node the cluster knows (a member or a registered
//! worker), or 401. The caller is passed on to the handler.

use super::ApiState;
use crate::trust::Caller;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub async fn require_token(
    State(state): State<Arc<ApiState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().to_string());
    let caller = match presented {
        Some(token) => state.trust.caller_of(&token).await,
        None => None,
    };
    match caller {
        Some(caller) => {
            // Handlers that care who calls (a worker's heartbeat) read it from here.
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        None => (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({
                "error": "a valid token is required (Authorization: Bearer <the token of a cluster member or worker>)"
            })),
        )
            .into_response(),
    }
}

/// Routes for cluster members only: a worker's token gets 403.
pub async fn members_only(request: Request, next: Next) -> Response {
    match request.extensions().get::<Caller>() {
        Some(Caller::Member(_)) => next.run(request).await,
        _ => (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({
                "error": "a worker's token may only send its own heartbeat, take and report its own steps, read the fleet, and make the reads and writes of ops"
            })),
        )
            .into_response(),
    }
}
