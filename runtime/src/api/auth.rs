//! The API's gate, in two steps. `identify`: a bearer token of a member, a registered
//! worker or a usable client token, or 401. `authorize`: every route's explicit
//! decision (`access`), from one table, or 403 naming what the route needs. A route
//! missing from the table is refused to everyone — no route is open by accident.

use super::ApiState;
use crate::tokens::Scope;
use crate::trust::Caller;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Cluster members only: administration, the fleet's lifecycle, tokens.
    Members,
    /// Members, and workers: the fleet as the registry sees it, the reads and writes of
    /// ops (a worker's keys only for its own steps, `ops.rs` checks).
    MembersAndWorkers,
    /// Only the worker the path names (`/v1/fleet/{id}/…`): its heartbeats, taking its
    /// steps and reporting them (the handlers check the id is the caller's).
    TheWorkerItself,
    /// Members, and client tokens with this scope.
    MembersAndScope(Scope),
}

/// Every protected route's decision, by method and route template.
pub const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/metrics", Access::Members),
    ("POST", "/v1/cluster/init", Access::Members),
    ("POST", "/v1/cluster/members", Access::Members),
    ("POST", "/v1/cluster/promote", Access::Members),
    ("POST", "/v1/cluster/remove", Access::Members),
    ("GET", "/v1/cluster/status", Access::Members),
    ("GET", "/v1/cluster/digest", Access::Members),
    ("POST", "/v1/runs", Access::MembersAndScope(Scope::Submit)),
    ("GET", "/v1/runs", Access::MembersAndScope(Scope::Submit)),
    (
        "POST",
        "/v1/runs/{run_id}/cancel",
        Access::MembersAndScope(Scope::Submit),
    ),
    (
        "GET",
        "/v1/runs/{run_id}",
        Access::MembersAndScope(Scope::Submit),
    ),
    (
        "GET",
        "/v1/runs/{run_id}/bundle",
        Access::MembersAndScope(Scope::Submit),
    ),
    ("POST", "/v1/workers", Access::Members),
    ("DELETE", "/v1/workers/{id}", Access::Members),
    ("POST", "/v1/fleet/{id}/maintenance", Access::Members),
    ("POST", "/v1/fleet/{id}/drain", Access::Members),
    (
        "GET",
        "/v1/state/{namespace}/{key}",
        Access::MembersAndScope(Scope::StateRead),
    ),
    (
        "PUT",
        "/v1/state/{namespace}/{key}",
        Access::MembersAndScope(Scope::StateWrite),
    ),
    (
        "DELETE",
        "/v1/state/{namespace}/{key}",
        Access::MembersAndScope(Scope::StateWrite),
    ),
    ("POST", "/v1/tokens", Access::Members),
    ("GET", "/v1/tokens", Access::Members),
    ("DELETE", "/v1/tokens/{id}", Access::Members),
    ("GET", "/v1/fleet", Access::MembersAndWorkers),
    ("POST", "/v1/fleet/{id}/heartbeat", Access::TheWorkerItself),
    ("GET", "/v1/fleet/{id}/work", Access::TheWorkerItself),
    ("POST", "/v1/fleet/{id}/finished", Access::TheWorkerItself),
    ("POST", "/v1/deployments", Access::Members),
    ("GET", "/v1/deployments", Access::Members),
    ("GET", "/v1/deployments/{name}", Access::Members),
    ("DELETE", "/v1/deployments/{name}", Access::Members),
    (
        "GET",
        "/v1/policies",
        Access::MembersAndScope(Scope::Ratelimit),
    ),
    (
        "GET",
        "/v1/policies/{name}",
        Access::MembersAndScope(Scope::Ratelimit),
    ),
    (
        "POST",
        "/v1/ratelimit/check",
        Access::MembersAndScope(Scope::Ratelimit),
    ),
    (
        "GET",
        "/v1/ratelimit/auth/{policy}",
        Access::MembersAndScope(Scope::Ratelimit),
    ),
    ("POST", "/v1/ops/write", Access::MembersAndWorkers),
    ("POST", "/v1/ops/query", Access::MembersAndWorkers),
    ("POST", "/v1/ops/module", Access::MembersAndWorkers),
    ("POST", "/v1/events", Access::MembersAndScope(Scope::Events)),
    (
        "GET",
        "/v1/triggers",
        Access::MembersAndScope(Scope::StateRead),
    ),
    ("POST", "/v1/ops/workload", Access::MembersAndWorkers),
    ("POST", "/v1/workloads", Access::Members),
    ("POST", "/v1/migrations", Access::Members),
    (
        "GET",
        "/v1/migrations",
        Access::MembersAndScope(Scope::StateRead),
    ),
    (
        "GET",
        "/v1/migrations/{id}",
        Access::MembersAndScope(Scope::StateRead),
    ),
    ("POST", "/v1/migrations/{id}/pause", Access::Members),
    ("POST", "/v1/migrations/{id}/resume", Access::Members),
    ("POST", "/v1/migrations/{id}/rollback", Access::Members),
    ("POST", "/v1/migrations/export", Access::Members),
    ("POST", "/v1/migrations/side", Access::Members),
    (
        "GET",
        "/v1/workloads",
        Access::MembersAndScope(Scope::StateRead),
    ),
    (
        "GET",
        "/v1/workloads/{name}",
        Access::MembersAndScope(Scope::StateRead),
    ),
    ("DELETE", "/v1/workloads/{name}", Access::Members),
    (
        "POST",
        "/v1/workloads/{name}/fill",
        Access::MembersAndScope(Scope::StateWrite),
    ),
    (
        "GET",
        "/v1/workloads/{name}/records/{key}",
        Access::MembersAndScope(Scope::StateRead),
    ),
    (
        "PUT",
        "/v1/workloads/{name}/records/{key}",
        Access::MembersAndScope(Scope::StateWrite),
    ),
    (
        "DELETE",
        "/v1/workloads/{name}/records/{key}",
        Access::MembersAndScope(Scope::StateWrite),
    ),
];

/// The decision for a method on a route template, if the table has one.
pub fn access(method: &Method, route: &str) -> Option<Access> {
    ROUTES
        .iter()
        .find(|(m, r, _)| *m == method.as_str() && *r == route)
        .map(|(_, _, access)| *access)
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

/// Identifies the caller from its bearer token, or answers 401.
pub async fn identify(
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
        None => refuse(
            StatusCode::UNAUTHORIZED,
            "a valid token is required (Authorization: Bearer <the token of a cluster member, a worker or a client>); revoked and expired tokens are not".into(),
        ),
    }
}

/// Applies the route's decision to the identified caller, or answers 403.
pub async fn authorize(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_default();
    let decision = access(request.method(), &route);
    let caller = request.extensions().get::<Caller>().copied();
    let allowed = match (decision, caller) {
        (_, None) | (None, _) => false,
        (Some(Access::TheWorkerItself), Some(caller)) => matches!(caller, Caller::Worker(_)),
        (Some(_), Some(Caller::Member(_))) => true,
        (Some(Access::MembersAndWorkers), Some(Caller::Worker(_))) => true,
        (Some(Access::MembersAndScope(scope)), Some(Caller::Client(scopes))) => {
            scopes.contains(scope)
        }
        (Some(_), Some(_)) => false,
    };
    if allowed {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let needs = match decision {
        None => "nobody: it has no authorization decision".to_string(),
        Some(Access::Members) => "a cluster member's token".to_string(),
        Some(Access::MembersAndWorkers) => "a member's or a worker's token".to_string(),
        Some(Access::TheWorkerItself) => "the token of the worker it names".to_string(),
        Some(Access::MembersAndScope(scope)) => {
            format!("a member's token or a client token with the `{scope}` scope")
        }
    };
    refuse(
        StatusCode::FORBIDDEN,
        format!("{method} {route} needs {needs}"),
    )
}
