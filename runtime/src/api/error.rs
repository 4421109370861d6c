//! How the API says no: a status code and a JSON body `{"error": …}`; a request that
//! needs the leader gets 421 with the leader's id and API address, which clients follow.

use crate::node::NodeError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::json;

/// A request body as the JSON a handler expects, or 400 saying what is wrong with it
/// (also an integer beyond 64 bits, which JSON readers would turn into a float).
pub fn json_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Some(number) = super::json_numbers::oversized_integer(bytes) {
        return Err(ApiError::BadRequest(format!(
            "the integer {number} does not fit in 64 bits; send it as a string"
        )));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(e.to_string()))
}

#[derive(Debug)]
pub enum ApiError {
    Node(NodeError),
    Workload(crate::workloads::WorkloadError),
    BadRequest(String),
    NotFound(String),
    /// The caller is known but may not do this.
    Forbidden(String),
    /// The request conflicts with the state (an edge name taken, an unknown node).
    Conflict(String),
    /// A compare-and-set found the key at another version (0: absent).
    VersionMismatch {
        expected: u64,
        current: u64,
    },
}

impl ApiError {
    /// What went wrong, in words (the body's `error`).
    pub fn message(&self) -> String {
        match self {
            ApiError::Node(error) => error.to_string(),
            ApiError::Workload(error) => error.to_string(),
            ApiError::BadRequest(message)
            | ApiError::NotFound(message)
            | ApiError::Forbidden(message)
            | ApiError::Conflict(message) => message.clone(),
            ApiError::VersionMismatch { expected, current } => {
                format!("the key is at version {current}, not {expected}; nothing was written")
            }
        }
    }
}

impl From<NodeError> for ApiError {
    fn from(error: NodeError) -> ApiError {
        ApiError::Node(error)
    }
}

impl From<crate::workloads::WorkloadError> for ApiError {
    fn from(error: crate::workloads::WorkloadError) -> ApiError {
        ApiError::Workload(error)
    }
}

fn workload_status(error: &crate::workloads::WorkloadError) -> StatusCode {
    use crate::workloads::WorkloadError as E;
    match error {
        E::Unknown(_) => StatusCode::NOT_FOUND,
        E::BadInput(_) => StatusCode::BAD_REQUEST,
        E::NotServedHere { .. } => StatusCode::MISDIRECTED_REQUEST,
        E::NoServingNode { .. }
        | E::Unreachable { .. }
        | E::OutcomeUnknown { .. }
        | E::Frozen(_)
        | E::Mirror { .. } => StatusCode::SERVICE_UNAVAILABLE,
        E::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        E::Remote { status, .. } => {
            StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self.message();
        let (status, body) = match self {
            ApiError::Node(NodeError::NotLeader { leader }) => (
                StatusCode::MISDIRECTED_REQUEST,
                json!({
                    "error": message,
                    "leader": leader.as_ref().map(|(id, _)| id),
                    "leader_api": leader.as_ref().map(|(_, info)| &info.api),
                }),
            ),
            ApiError::Node(
                NodeError::NoLeader { .. }
                | NodeError::NoQuorum { .. }
                | NodeError::CatchingUp { .. },
            ) => (StatusCode::SERVICE_UNAVAILABLE, json!({ "error": message })),
            ApiError::Node(NodeError::OutcomeUnknown(_)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "error": message, "outcome": "unknown" }),
            ),
            ApiError::Node(NodeError::Refused(_)) => {
                (StatusCode::CONFLICT, json!({ "error": message }))
            }
            ApiError::Workload(crate::workloads::WorkloadError::OutcomeUnknown { .. }) => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "error": message, "outcome": "unknown" }),
            ),
            ApiError::Workload(error) => (workload_status(&error), json!({ "error": message })),
            ApiError::Node(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": message }),
            ),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, json!({ "error": message })),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, json!({ "error": message })),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, json!({ "error": message })),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, json!({ "error": message })),
            ApiError::VersionMismatch { current, .. } => (
                StatusCode::CONFLICT,
                json!({ "error": message, "version": current }),
            ),
        };
        (status, Json(body)).into_response()
    }
}
