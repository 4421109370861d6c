//! A node's HTTP API (DESIGN.md §4): `/healthz` (the process is up), `/readyz` (the node
//! knows a Raft leader), and Prometheus `/metrics`. Every route except the two probes
//! requires the node's own token (`Authorization: Bearer …`); a request without it gets
//! 401 and changes nothing.

use crate::node::Node;
use crate::state::RunStatus;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::fmt::Write;
use std::sync::Arc;

#[derive(Clone)]
pub struct ApiState {
    pub node: Arc<Node>,
    /// The token a request must present.
    pub token: Arc<str>,
}

pub fn router(state: ApiState) -> Router {
    let protected = Router::new()
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(protected)
        .with_state(state)
}

async fn require_token(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match presented {
        Some(token) if constant_time_equal(token.as_bytes(), state.token.as_bytes()) => {
            next.run(request).await
        }
        _ => (
            StatusCode::UNAUTHORIZED,
            "a valid token is required (Authorization: Bearer …)\n",
        )
            .into_response(),
    }
}

/// Compares without an early exit, so the time taken does not reveal the token.
fn constant_time_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<ApiState>) -> Response {
    match state.node.raft_status().leader {
        Some(leader) => {
            (StatusCode::OK, format!("ready: leader is node {leader}\n")).into_response()
        }
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no Raft leader known\n",
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<ApiState>) -> Response {
    let status = state.node.raft_status();
    let runs = state
        .node
        .read_local(|s| {
            let count = |wanted: RunStatus| s.runs.values().filter(|r| r.status == wanted).count();
            [
                ("running", count(RunStatus::Running)),
                ("succeeded", count(RunStatus::Succeeded)),
                ("failed", count(RunStatus::Failed)),
            ]
        })
        .await;
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    };
    gauge("edgeflow_raft_term", "The current Raft term.", status.term);
    gauge(
        "edgeflow_raft_leader",
        "The id of the known Raft leader (0: none).",
        status.leader.unwrap_or(0),
    );
    gauge(
        "edgeflow_raft_last_log_index",
        "The index of the last entry in the log.",
        status.last_log_index,
    );
    gauge(
        "edgeflow_raft_applied_index",
        "The index of the last entry applied to the state machine.",
        status.last_applied,
    );
    let _ = writeln!(
        out,
        "# HELP edgeflow_runs Workflow runs recorded, by status.\n# TYPE edgeflow_runs gauge"
    );
    for (label, count) in runs {
        let _ = writeln!(out, "edgeflow_runs{{status=\"{label}\"}} {count}");
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
