//! `/v1/deployments` (members only): `POST` applies a compiled bundle under a name — the
//! bundle is verified, its policies resolved here (never taken from the sender), and
//! stored by hash unless the cluster has it; `GET` lists the deployments or shows one;
//! `DELETE` removes one (its policies stop being enforced).

use super::registry::{DeployedPolicy, Deployment, DeploymentAnswer, DeploymentCommand};
use crate::api::{json_body, ApiError, ApiState};
use crate::command::{Command, Response};
use crate::quotas::{PolicyMatch, QuotaPolicy};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use edgeflow_compiler::program::from_bundle;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// The longest deployment name.
const MAX_NAME_BYTES: usize = 128;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Application {
    name: String,
    /// The bundle `edgeflow compile` writes (JSON).
    bundle: Value,
    #[serde(default)]
    shadow: bool,
}

/// Why a deployment name is refused: empty, too long, or not `[A-Za-z0-9_.-]`.
fn check_name(name: &str) -> Result<(), ApiError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && name != "."
        && name != "..";
    if valid {
        return Ok(());
    }
    Err(ApiError::BadRequest(format!(
        "a deployment name is 1 to {MAX_NAME_BYTES} letters, digits, `_`, `-` or `.`, not {name:?}"
    )))
}

fn summary(deployment: &Deployment) -> Value {
    json!({
        "name": deployment.name,
        "version": deployment.version,
        "bundle_hash": deployment.bundle_hash,
        "applied_at_ms": deployment.applied_at_ms,
        "shadow": deployment.shadow,
        "policies": deployment.policies.iter().map(|p| &p.policy.name).collect::<Vec<_>>(),
        "workflows": deployment.workflows,
    })
}

pub async fn apply(
    State(state): State<Arc<ApiState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let application: Application = json_body(&body)
        .map_err(|e| ApiError::BadRequest(format!("not a deployment: {}", e.message())))?;
    check_name(&application.name)?;
    let bundle_text = application.bundle.to_string();
    let program = from_bundle(bundle_text.as_bytes())
        .map_err(|e| ApiError::BadRequest(format!("the bundle: {e}")))?;
    let policies = program
        .policies
        .iter()
        .map(|declared| {
            Ok(DeployedPolicy {
                policy: QuotaPolicy::from_ir(declared)
                    .map_err(|e| ApiError::BadRequest(e.to_string()))?,
                matcher: PolicyMatch::from_ir(&declared.matcher),
                edges: declared.edges.clone(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let stored = state
        .node
        .read_local(|s| s.bundles.contains(&program.hash))
        .await;
    let command = |bundle: Option<String>| {
        Command::Deployment(DeploymentCommand::Apply {
            name: application.name.clone(),
            bundle_hash: program.hash.clone(),
            bundle,
            shadow: application.shadow,
            policies: policies.clone(),
            workflows: program.workflows.iter().map(|w| w.name.clone()).collect(),
            triggers: crate::triggers::DeployedTrigger::of(&program),
        })
    };
    // Without the bundle when the cluster stores it; with it when it does not, or when
    // it was released between the look and the application.
    let mut answer = state
        .node
        .write(command((!stored).then(|| bundle_text.clone())))
        .await?;
    if answer == Response::Deployment(DeploymentAnswer::BundleMissing) {
        answer = state.node.write(command(Some(bundle_text))).await?;
    }
    match answer {
        Response::Deployment(DeploymentAnswer::Applied { version }) => Ok(Json(json!({
            "name": application.name,
            "version": version,
            "bundle_hash": program.hash,
            "shadow": application.shadow,
            "policies": policies.iter().map(|p| &p.policy.name).collect::<Vec<_>>(),
        }))),
        Response::Deployment(DeploymentAnswer::Refused { reason }) => {
            Err(ApiError::Conflict(reason))
        }
        other => Err(ApiError::Conflict(format!(
            "the deployment was not applied (the cluster answered {other:?})"
        ))),
    }
}

pub async fn list(State(state): State<Arc<ApiState>>) -> Result<Json<Value>, ApiError> {
    let deployments: Vec<Value> = state
        .node
        .read(|s| s.deployments.iter().map(summary).collect())
        .await?;
    Ok(Json(json!({ "deployments": deployments })))
}

pub async fn show(
    State(state): State<Arc<ApiState>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let deployment = state
        .node
        .read(|s| s.deployments.get(&name).cloned())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no deployment `{name}`")))?;
    let mut shown = summary(&deployment);
    shown["policies"] = json!(deployment
        .policies
        .iter()
        .map(|p| crate::quotas::api::definition(p, deployment.shadow, &deployment.name))
        .collect::<Vec<_>>());
    Ok(Json(shown))
}

pub async fn remove(
    State(state): State<Arc<ApiState>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let command = Command::Deployment(DeploymentCommand::Remove { name: name.clone() });
    match state.node.write(command).await? {
        Response::Deployment(DeploymentAnswer::Removed) => {
            Ok(Json(json!({ "name": name, "removed": true })))
        }
        Response::Deployment(DeploymentAnswer::Refused { reason }) => {
            Err(ApiError::NotFound(reason))
        }
        other => Err(ApiError::Conflict(format!("unexpected answer {other:?}"))),
    }
}
