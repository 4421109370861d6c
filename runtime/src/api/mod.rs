//! A node's HTTP/JSON API (DESIGN.md §4), served with axum: the probes `/healthz` (the
//! process is up) and `/readyz` (the node knows a Raft leader), Prometheus `/metrics`,
//! cluster administration under `/v1/cluster`, workflow runs under `/v1/runs`, workers
//! and the fleet registry under `/v1/workers` and `/v1/fleet` (with the long poll by which
//! workers take placed steps), what ops on a worker ask of the cluster under `/v1/ops`,
//! replicated state under `/v1/state`, client tokens under `/v1/tokens`, deployments
//! under `/v1/deployments`, rate-limit policies and checks under `/v1/policies` and
//! `/v1/ratelimit`. Everything
//! but the probes needs a token the cluster knows (`Authorization: Bearer …`: a member's,
//! a worker's or a client's); without it the answer is 401 and nothing changes. Each
//! route's decision on who may call it is in `auth::ROUTES` (403 for the others).

pub mod auth;
mod body_limit;
mod cluster;
mod error;
mod fleet;
mod json_numbers;
mod metrics;
pub(crate) mod ops;
mod runs;
mod serve;
mod state;
mod work;

pub use error::{json_body, ApiError};
pub use fleet::HeartbeatBody;
pub use ops::{OpModule, OpModuleAnswer, OpQuery, OpWrite};
pub use runs::RunView;
pub use serve::serve;
pub use work::{FinishedStep, WorkItem};

use crate::member::NodeInfo;
use crate::node::Node;
use crate::trust::Trust;
use crate::{deployments, migrations, quotas, tokens, workloads};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Router};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The largest request body the API accepts (larger ones get 413).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct ApiState {
    pub node: Arc<Node>,
    pub trust: Arc<Trust>,
    /// How the cluster should know this node (recorded when it bootstraps a cluster).
    pub me: NodeInfo,
    /// Cancelled when the node begins to stop: long polls answer at once, so a
    /// graceful shutdown does not wait for them.
    pub stopping: CancellationToken,
}

/// The API's routes; handlers share one `ApiState` (cloning an `Arc` per request). Who
/// may call each protected route is decided in one table, `auth::ROUTES`.
pub fn router(state: ApiState) -> Router {
    let state = Arc::new(state);
    let protected = Router::new()
        .route("/metrics", get(metrics::metrics))
        .route("/v1/cluster/init", post(cluster::init))
        .route("/v1/cluster/members", post(cluster::add))
        .route("/v1/cluster/promote", post(cluster::promote))
        .route("/v1/cluster/remove", post(cluster::remove))
        .route("/v1/cluster/status", get(cluster::status))
        .route("/v1/cluster/digest", get(cluster::digest))
        .route(
            "/v1/runs",
            post(runs::submit)
                .get(runs::list)
                .layer(DefaultBodyLimit::max(runs::MAX_SUBMISSION_BYTES)),
        )
        .route("/v1/runs/{run_id}", get(runs::show))
        .route("/v1/runs/{run_id}/cancel", post(runs::cancel))
        .route("/v1/runs/{run_id}/bundle", get(runs::bundle))
        .route("/v1/workers", post(fleet::add_worker))
        .route(
            "/v1/workers/{id}",
            axum::routing::delete(fleet::remove_worker),
        )
        .route("/v1/fleet/{id}/maintenance", post(fleet::maintenance))
        .route("/v1/fleet/{id}/drain", post(fleet::drain))
        .route(
            "/v1/state/{namespace}/{key}",
            get(state::get).put(state::put).delete(state::delete),
        )
        .route(
            "/v1/tokens",
            post(tokens::api::create).get(tokens::api::list),
        )
        .route(
            "/v1/tokens/{id}",
            axum::routing::delete(tokens::api::revoke),
        )
        .route(
            "/v1/deployments",
            post(deployments::api::apply)
                .get(deployments::api::list)
                .layer(DefaultBodyLimit::max(runs::MAX_SUBMISSION_BYTES)),
        )
        .route(
            "/v1/deployments/{name}",
            get(deployments::api::show).delete(deployments::api::remove),
        )
        .route("/v1/policies", get(quotas::api::list))
        .route("/v1/policies/{name}", get(quotas::api::show))
        .route("/v1/ratelimit/check", post(quotas::http::check))
        .route("/v1/ratelimit/auth/{policy}", get(quotas::http::auth))
        .route("/v1/fleet", get(fleet::list))
        .route("/v1/fleet/{id}/heartbeat", post(fleet::heartbeat))
        .route("/v1/fleet/{id}/work", get(work::take))
        .route("/v1/fleet/{id}/finished", post(work::finished))
        .route("/v1/ops/write", post(ops::write))
        .route("/v1/ops/query", post(ops::query))
        .route("/v1/ops/module", post(ops::module))
        .route("/v1/events", post(crate::triggers::api::accept))
        .route("/v1/triggers", get(crate::triggers::api::list))
        .route("/v1/ops/workload", post(workloads::api::op))
        .route(
            "/v1/migrations",
            post(migrations::api::start).get(migrations::api::list),
        )
        .route("/v1/migrations/export", post(migrations::api::export))
        .route("/v1/migrations/side", post(migrations::api::side))
        .route("/v1/migrations/{id}", get(migrations::api::show))
        .route("/v1/migrations/{id}/pause", post(migrations::api::pause))
        .route("/v1/migrations/{id}/resume", post(migrations::api::resume))
        .route(
            "/v1/migrations/{id}/rollback",
            post(migrations::api::rollback),
        )
        .route(
            "/v1/workloads",
            post(workloads::api::create).get(workloads::api::list),
        )
        .route(
            "/v1/workloads/{name}",
            get(workloads::api::show).delete(workloads::api::remove),
        )
        .route("/v1/workloads/{name}/fill", post(workloads::api::fill))
        .route(
            "/v1/workloads/{name}/records/{key}",
            get(workloads::api::get_record)
                .put(workloads::api::put_record)
                .delete(workloads::api::delete_record),
        )
        .route_layer(middleware::from_fn(auth::authorize))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::identify,
        ));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(protected)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(body_limit::refuse_oversized))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<Arc<ApiState>>) -> Response {
    if let Some(error) = state.node.fatal_error() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: this node stopped after a fatal error: {error}\n"),
        )
            .into_response();
    }
    match state.node.raft_status().leader {
        Some(leader) => {
            (StatusCode::OK, format!("ready: leader is node {leader}\n")).into_response()
        }
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no Raft leader known (a new cluster needs `edgeflow cluster init`)\n",
        )
            .into_response(),
    }
}
