//! Where a request for a workload's records goes: served from this node's store when
//! this node is the edge the placement names (always, on the embedded node), else sent
//! on — once, with this node's own token — to the member serving that edge, which
//! serves it only if it still does (`serve_forwarded`), so a request never loops.

use super::records::{serve_here, RecordAnswer, RecordOp};
use super::{Placement, WorkloadError};
use crate::member::NodeInfo;
use crate::node::Node;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long a forwarded request may take (a fill or a drop: `LONG_REQUEST`).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const LONG_REQUEST: Duration = Duration::from_secs(600);

/// The body of `POST /v1/ops/workload`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadRequest {
    pub workload: String,
    #[serde(flatten)]
    pub op: RecordOp,
    /// Sent on by another member: serve it here or refuse (never send it on again).
    #[serde(default)]
    pub forwarded: bool,
}

/// A member's HTTP client for sending requests on to the member serving a workload.
pub struct Forwarder {
    http: reqwest::Client,
    token: String,
}

impl Forwarder {
    /// Presents `token` (this node's own); trusts `ca` (PEM) for HTTPS when given.
    pub fn new(token: &str, ca: Option<&[u8]>) -> Result<Forwarder, String> {
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = ca {
            let certificate = reqwest::Certificate::from_pem(pem)
                .map_err(|e| format!("the CA certificate: {e}"))?;
            builder = builder.add_root_certificate(certificate);
        }
        Ok(Forwarder {
            http: builder.build().map_err(|e| e.to_string())?,
            token: token.to_string(),
        })
    }

    async fn send(
        &self,
        to: &NodeInfo,
        workload: &str,
        op: RecordOp,
    ) -> Result<RecordAnswer, WorkloadError> {
        let writes = op.writes();
        let timeout = match op {
            RecordOp::Fill { .. } | RecordOp::Drop => LONG_REQUEST,
            _ => REQUEST_TIMEOUT,
        };
        let body = WorkloadRequest {
            workload: workload.to_string(),
            op,
            forwarded: true,
        };
        let sent = self
            .http
            .post(format!("{}/v1/ops/workload", to.api))
            .bearer_auth(&self.token)
            .timeout(timeout)
            .json(&body)
            .send()
            .await;
        let lost = |error: reqwest::Error| {
            let reason = format!("{}: {error}", to.api);
            let workload = workload.to_string();
            if writes && !error.is_connect() {
                WorkloadError::OutcomeUnknown { workload, reason }
            } else {
                WorkloadError::Unreachable { workload, reason }
            }
        };
        let reply = sent.map_err(lost)?;
        let status = reply.status();
        let answer: serde_json::Value = reply.json().await.map_err(lost)?;
        if status.is_success() {
            return serde_json::from_value(answer).map_err(|e| WorkloadError::Remote {
                status: 502,
                message: format!("{} answered something else than records: {e}", to.api),
            });
        }
        let message = answer
            .get("error")
            .and_then(serde_json::Value::as_str)
            .unwrap_or(status.as_str())
            .to_string();
        Err(WorkloadError::Remote {
            status: status.as_u16(),
            message,
        })
    }
}

impl Node {
    /// The placement of `workload`: this node's copy of the state, or — when it does
    /// not know the workload, which may have just been created — the leader's.
    pub async fn placement(&self, workload: &str) -> Result<Placement, WorkloadError> {
        let local = self
            .read_local(|state| state.workloads.get(workload).cloned())
            .await;
        let placement = match local {
            Some(placement) => Some(placement),
            None => self
                .read(|state| state.workloads.get(workload).cloned())
                .await
                .map_err(|e| WorkloadError::Unreachable {
                    workload: workload.to_string(),
                    reason: e.to_string(),
                })?,
        };
        placement.ok_or_else(|| WorkloadError::Unknown(workload.to_string()))
    }

    /// Serves `op` on `workload` wherever the workload is served.
    pub async fn workload(
        &self,
        workload: &str,
        op: RecordOp,
    ) -> Result<RecordAnswer, WorkloadError> {
        op.check()?;
        let placement = self.placement(workload).await?;
        let Some(forwarder) = self.forwarder().filter(|_| placement.edge != self.name) else {
            return serve_here(self.workload_store(), workload, op).await;
        };
        let member =
            self.member_on_edge(&placement.edge)
                .ok_or_else(|| WorkloadError::NoServingNode {
                    workload: workload.to_string(),
                    edge: placement.edge.clone(),
                })?;
        forwarder.send(&member, workload, op).await
    }

    /// Serves `op` sent on by another member: here, if this node serves the workload
    /// (by the leader's placement when this node's copy says otherwise).
    pub async fn serve_forwarded(
        &self,
        workload: &str,
        op: RecordOp,
    ) -> Result<RecordAnswer, WorkloadError> {
        let mut placement = self.placement(workload).await?;
        if placement.edge != self.name {
            placement = self
                .read(|state| state.workloads.get(workload).cloned())
                .await
                .map_err(|e| WorkloadError::Unreachable {
                    workload: workload.to_string(),
                    reason: e.to_string(),
                })?
                .ok_or_else(|| WorkloadError::Unknown(workload.to_string()))?;
        }
        if placement.edge != self.name {
            return Err(WorkloadError::NotServedHere {
                workload: workload.to_string(),
                edge: placement.edge,
            });
        }
        serve_here(self.workload_store(), workload, op).await
    }
}
