//! `/v1/policies`: the rate-limit policies the cluster's deployments activate. `GET
//! /v1/policies` lists them with their definitions; `GET /v1/policies/{name}?key=K`
//! shows one with its budget now — for a global policy the ledger's (linearizable):
//! tokens used and left, the live lease each edge holds — and what every edge decided
//! (admitted and denied, from the fleet's heartbeats).

use crate::api::{ApiError, ApiState};
use crate::deployments::DeployedPolicy;
use crate::node::now_ms;
use crate::quotas::{OnExceed, Scope};
use axum::extract::{Path, Query, State};
use axum::Json;
use edgeflow_compiler::value::format_duration;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

fn duration(ns: u64) -> String {
    format_duration(i64::try_from(ns).unwrap_or(i64::MAX))
}

/// A deployed policy's definition as the API shows it.
pub fn definition(deployed: &DeployedPolicy, shadow: bool, deployment: &str) -> Value {
    let policy = &deployed.policy;
    json!({
        "name": policy.name,
        "deployment": deployment,
        "shadow": shadow,
        "match": deployed.matcher.to_string(),
        "algorithm": policy.algorithm,
        "limit": { "count": policy.limit.count, "per": duration(policy.limit.per_ns) },
        "burst": policy.limit.burst,
        "scope": policy.scope,
        "by": policy.by,
        "on_exceed": match policy.on_exceed {
            OnExceed::Reject => "reject".to_string(),
            OnExceed::Delay { max_ns } => format!("delay({})", duration(max_ns)),
        },
        "edges": deployed.edges,
    })
}

pub async fn list(State(state): State<Arc<ApiState>>) -> Result<Json<Value>, ApiError> {
    let policies: Vec<Value> = state
        .node
        .read(|s| {
            s.deployments
                .iter()
                .flat_map(|d| d.policies.iter().map(|p| definition(p, d.shadow, &d.name)))
                .collect()
        })
        .await?;
    Ok(Json(json!({ "policies": policies })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowQuery {
    /// The budget of this key (policies with `by`).
    #[serde(default)]
    key: String,
}

pub async fn show(
    State(state): State<Arc<ApiState>>,
    Path(name): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Json<Value>, ApiError> {
    let now = now_ms();
    let found = state
        .node
        .read(|s| {
            let deployment = s
                .deployments
                .iter()
                .find(|d| d.policies.iter().any(|p| p.policy.name == name))?;
            let deployed = deployment.policies.iter().find(|p| p.policy.name == name)?;
            let usage = (deployed.policy.scope == Scope::Global)
                .then(|| s.quotas.usage(&deployed.policy, &query.key, now));
            let edges: Vec<Value> = s
                .fleet
                .values()
                .filter_map(|record| {
                    let counted = record.ratelimit.get(&name)?;
                    Some(json!({
                        "edge": record.edge, "node": record.node,
                        "admitted": counted.admitted, "denied": counted.denied,
                    }))
                })
                .collect();
            Some((
                definition(deployed, deployment.shadow, &deployment.name),
                deployed.policy.clone(),
                usage,
                edges,
            ))
        })
        .await?;
    let (mut shown, policy, usage, edges) =
        found.ok_or_else(|| ApiError::NotFound(format!("no policy `{name}` is deployed")))?;
    let usage = match usage {
        Some(usage) => usage,
        // A per-edge budget lives on each edge: this node's.
        None => state
            .node
            .quotas()
            .local_usage(&policy, policy.budget_key(&query.key)),
    };
    shown["key"] = json!(query.key);
    shown["usage"] = json!({
        "used": usage.used, "limit": usage.limit, "remaining": usage.remaining,
        "of": if policy.scope == Scope::Global { "the fleet's budget" } else { "this edge's budget" },
    });
    shown["leases"] = json!(usage.per_edge);
    shown["edges"] = json!(edges);
    Ok(Json(shown))
}
