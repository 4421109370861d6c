//! `/v1/cluster/*`: what `edgeflow cluster init|add|promote|remove|status` call. Changes
//! are made by the leader; a follower answers 421 with the leader's address.

use super::{ApiError, ApiState};
use crate::member::NodeInfo;
use crate::node::{ClusterStatus, NodeError, StateDigest};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A node to add: its id and how the cluster reaches and authenticates it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub id: u64,
    #[serde(flatten)]
    pub info: NodeInfo,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberIds {
    pub ids: BTreeSet<u64>,
}

fn body<T>(json: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    json.map(|Json(value)| value)
        .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
}

pub async fn init(State(state): State<Arc<ApiState>>) -> Result<Json<ClusterStatus>, ApiError> {
    state.node.initialize(state.me.clone()).await?;
    Ok(Json(state.node.cluster_status()))
}

pub async fn add(
    State(state): State<Arc<ApiState>>,
    member: Result<Json<NewMember>, JsonRejection>,
) -> Result<Json<ClusterStatus>, ApiError> {
    let NewMember { id, info } = body(member)?;
    if id == 0 || info.raft.is_empty() || info.api.is_empty() || info.token_sha256.len() != 64 {
        return Err(ApiError::BadRequest(
            "a member needs an id ≥ 1, `raft` and `api` addresses and a 64-digit `token_sha256`"
                .into(),
        ));
    }
    state.node.add_learner(id, info).await?;
    Ok(Json(state.node.cluster_status()))
}

pub async fn promote(
    State(state): State<Arc<ApiState>>,
    ids: Result<Json<MemberIds>, JsonRejection>,
) -> Result<Json<ClusterStatus>, ApiError> {
    state.node.promote(body(ids)?.ids).await?;
    Ok(Json(state.node.cluster_status()))
}

pub async fn remove(
    State(state): State<Arc<ApiState>>,
    ids: Result<Json<MemberIds>, JsonRejection>,
) -> Result<Json<ClusterStatus>, ApiError> {
    state.node.remove(body(ids)?.ids).await?;
    Ok(Json(state.node.cluster_status()))
}

/// The leader's view (lag, reachability); a follower that knows the leader redirects.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusOptions {
    /// `local`: this node's own view, never sent on to the leader.
    #[serde(default)]
    view: Option<View>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum View {
    Local,
}

/// The cluster's status: from the leader (421 to it from a follower), or with
/// `?view=local` this node's own view — what a follower can say while the leader is
/// gone.
pub async fn status(
    State(state): State<Arc<ApiState>>,
    Query(options): Query<StatusOptions>,
) -> Result<Json<ClusterStatus>, ApiError> {
    let status = state.node.cluster_status();
    match status.leader {
        Some(leader) if leader != state.node.id() && options.view.is_none() => {
            Err(ApiError::Node(NodeError::NotLeader {
                leader: state.node.member_info(leader).map(|info| (leader, info)),
            }))
        }
        _ => Ok(Json(status)),
    }
}

/// This node's applied state as a digest and the log index it was taken at (never sent
/// on to the leader: the point is to compare what each node holds).
pub async fn digest(State(state): State<Arc<ApiState>>) -> Json<StateDigest> {
    Json(state.node.state_digest().await)
}
