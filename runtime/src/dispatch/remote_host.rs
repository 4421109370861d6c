//! The host of ops that run on a worker: the cluster's API (`/v1/ops/*`) instead of a
//! Raft node of its own. Ops campaign and write under the worker's edge name; rate-limit
//! decisions are the worker's own, from leases of the cluster's ledger.

use crate::api::{OpModule, OpModuleAnswer, OpQuery, OpWrite};
use crate::cluster_link::{ClusterLink, LinkError};
use crate::command::{Command, Response};
use crate::node::NodeError;
use crate::op_host::{Freshness, OpHost, Query, QueryAnswer};
use crate::user_ops::UserModule;
use crate::workloads::{RecordAnswer, RecordOp, WorkloadError, WorkloadRequest};
use base64::Engine;
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use std::sync::Arc;

pub struct RemoteHost {
    pub link: Arc<ClusterLink>,
    pub edge: String,
    pub quotas: Arc<crate::quotas::EdgeQuotas>,
}

fn node_error(error: LinkError) -> NodeError {
    match error {
        LinkError::Unreachable(reason) => NodeError::Unreachable(reason),
        refused => NodeError::Refused(refused.to_string()),
    }
}

fn decode<T: DeserializeOwned>(answer: serde_json::Value) -> Result<T, NodeError> {
    serde_json::from_value(answer)
        .map_err(|e| NodeError::Refused(format!("an answer this worker cannot read: {e}")))
}

impl OpHost for RemoteHost {
    fn name(&self) -> &str {
        &self.edge
    }

    fn write_once(
        &self,
        command: Command,
        idempotency_key: Option<String>,
    ) -> BoxFuture<'_, Result<Response, NodeError>> {
        Box::pin(async move {
            let body = OpWrite {
                command,
                idempotency_key,
            };
            let answer = self
                .link
                .post("/v1/ops/write", &body)
                .await
                .map_err(node_error)?;
            decode(answer)
        })
    }

    fn query(
        &self,
        query: Query,
        freshness: Freshness,
    ) -> BoxFuture<'_, Result<QueryAnswer, NodeError>> {
        Box::pin(async move {
            let body = OpQuery { query, freshness };
            let answer = self
                .link
                .post("/v1/ops/query", &body)
                .await
                .map_err(node_error)?;
            decode(answer)
        })
    }

    fn user_module<'a>(
        &'a self,
        bundle: &'a str,
        op: &'a str,
    ) -> BoxFuture<'a, Result<UserModule, NodeError>> {
        Box::pin(async move {
            let body = OpModule {
                bundle: bundle.to_string(),
                op: op.to_string(),
            };
            let answer: OpModuleAnswer = decode(
                self.link
                    .post("/v1/ops/module", &body)
                    .await
                    .map_err(node_error)?,
            )?;
            let module = base64::engine::general_purpose::STANDARD
                .decode(&answer.module)
                .map_err(|e| NodeError::Refused(format!("the module of `{op}`: {e}")))?;
            Ok(UserModule {
                declaration: answer.declaration,
                module: module.into(),
            })
        })
    }

    fn quotas(&self) -> Option<&Arc<crate::quotas::EdgeQuotas>> {
        Some(&self.quotas)
    }

    fn workload<'a>(
        &'a self,
        workload: &'a str,
        op: RecordOp,
    ) -> BoxFuture<'a, Result<RecordAnswer, WorkloadError>> {
        Box::pin(async move {
            let body = WorkloadRequest {
                workload: workload.to_string(),
                op,
                forwarded: false,
            };
            let answer = self
                .link
                .post("/v1/ops/workload", &body)
                .await
                .map_err(|error| match error {
                    LinkError::Unreachable(reason) => WorkloadError::Unreachable {
                        workload: workload.to_string(),
                        reason,
                    },
                    other => WorkloadError::Remote {
                        status: 400,
                        message: other.to_string(),
                    },
                })?;
            serde_json::from_value(answer).map_err(|e| WorkloadError::Remote {
                status: 502,
                message: format!("an answer this worker cannot read: {e}"),
            })
        })
    }
}
