//! The `RateLimitService` implementation and its listener. A request must carry
//! `authorization: Bearer <token>` metadata (Envoy's `grpc_service.initial_metadata`) of
//! a cluster member or a client token with the `ratelimit` scope. Descriptors map to
//! requests as the HTTP check sees them: the entries are the descriptors, an entry
//! named `path` is also the route; `hits_addend` (the descriptor's, else the request's,
//! else 1) is the tokens asked for. A descriptor no policy matches is `OK` without a
//! limit; the overall code is `OVER_LIMIT` when any descriptor is.

use edgeflow_runtime::node::Node;
use edgeflow_runtime::quotas::check::{
    check_described, decide, select, PolicyVerdict, Target, MAX_DESCRIPTORS,
};
use edgeflow_runtime::quotas::matcher::Described;
use edgeflow_runtime::quotas::QuotaError;
use edgeflow_runtime::tokens::Scope;
use edgeflow_runtime::trust::{Caller, Trust};
use envoy_types::pb::envoy::extensions::common::ratelimit::v3::RateLimitDescriptor;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::rate_limit::Unit;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::{
    Code, DescriptorStatus, RateLimit,
};
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_server::{
    RateLimitService, RateLimitServiceServer,
};
use envoy_types::pb::envoy::service::ratelimit::v3::{RateLimitRequest, RateLimitResponse};
use envoy_types::pb::google::protobuf::Duration as ProtoDuration;
use std::collections::BTreeMap;
use std::sync::Arc;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

/// The largest request message accepted.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

pub struct RateLimiter {
    node: Arc<Node>,
    trust: Arc<Trust>,
}

impl RateLimiter {
    pub fn new(node: Arc<Node>, trust: Arc<Trust>) -> RateLimiter {
        RateLimiter { node, trust }
    }

    async fn authorize<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let token = request
            .metadata()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                Status::unauthenticated(
                    "an `authorization: Bearer <token>` metadata entry is required",
                )
            })?;
        match self.trust.caller_of(token).await {
            Some(Caller::Member(_)) => Ok(()),
            Some(Caller::Client(scopes)) if scopes.contains(Scope::Ratelimit) => Ok(()),
            Some(_) => Err(Status::permission_denied(
                "ShouldRateLimit needs a member's token or a client token with the `ratelimit` scope",
            )),
            None => Err(Status::unauthenticated(
                "the token is not valid (unknown, revoked or expired)",
            )),
        }
    }

    async fn status_of(
        &self,
        domain: &str,
        descriptor: &RateLimitDescriptor,
        default_hits: u64,
    ) -> Result<DescriptorStatus, Status> {
        let entries: BTreeMap<String, String> = descriptor
            .entries
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect();
        let route = entries.get("path").map(String::as_str);
        check_described(route, &entries).map_err(Status::invalid_argument)?;
        let hits = descriptor
            .hits_addend
            .as_ref()
            .map_or(default_hits, |h| h.value);
        if hits == 0 || descriptor.is_negative_hits {
            return Err(Status::invalid_argument(
                "a descriptor takes at least 1 hit (negative hits are not supported)",
            ));
        }
        let target = Target::Described(Described {
            route,
            descriptors: &entries,
        });
        let quotas = self.node.quotas();
        let selected = self
            .node
            .read_local(|s| {
                s.deployments.get(domain).map(|deployment| {
                    let shadow = deployment.shadow;
                    select(
                        deployment.policies.iter().map(|p| (p, shadow)),
                        target,
                        quotas.edge(),
                    )
                })
            })
            .await
            .ok_or_else(|| {
                Status::not_found(format!(
                    "no deployment `{domain}` (the domain names the deployment whose policies apply)"
                ))
            })?;
        let host: Arc<dyn edgeflow_runtime::op_host::OpHost> = self.node.clone();
        let verdict = decide(quotas, &host, &selected, target, hits)
            .await
            .map_err(|error| match error {
                QuotaError::Node(error) => Status::unavailable(error.to_string()),
                other => Status::invalid_argument(other.to_string()),
            })?;
        let code = match verdict.allowed() {
            true => Code::Ok,
            false => Code::OverLimit,
        };
        Ok(match verdict.binding() {
            None => DescriptorStatus {
                code: code as i32,
                ..DescriptorStatus::default()
            },
            Some(binding) => described(code, binding, &selected),
        })
    }
}

/// A descriptor's status from the policy that decided it.
fn described(
    code: Code,
    binding: &PolicyVerdict,
    selected: &[(edgeflow_runtime::deployments::DeployedPolicy, bool)],
) -> DescriptorStatus {
    let limit = selected
        .iter()
        .find(|(p, _)| p.policy.name == binding.policy)
        .map(|(p, _)| p.policy.limit);
    let current_limit = limit.map(|limit| {
        let unit = match limit.per_ns {
            1_000_000_000 => Unit::Second,
            60_000_000_000 => Unit::Minute,
            3_600_000_000_000 => Unit::Hour,
            86_400_000_000_000 => Unit::Day,
            604_800_000_000_000 => Unit::Week,
            _ => Unit::Unknown,
        };
        RateLimit {
            name: binding.policy.clone(),
            requests_per_unit: u32::try_from(limit.count).unwrap_or(u32::MAX),
            unit: unit as i32,
        }
    });
    let reset = binding.reset_after_ns;
    DescriptorStatus {
        code: code as i32,
        current_limit,
        limit_remaining: u32::try_from(binding.remaining).unwrap_or(u32::MAX),
        duration_until_reset: Some(ProtoDuration {
            seconds: i64::try_from(reset / 1_000_000_000).unwrap_or(i64::MAX),
            nanos: (reset % 1_000_000_000) as i32,
        }),
        quota: None,
    }
}

#[tonic::async_trait]
impl RateLimitService for RateLimiter {
    async fn should_rate_limit(
        &self,
        request: Request<RateLimitRequest>,
    ) -> Result<Response<RateLimitResponse>, Status> {
        self.authorize(&request).await?;
        let request = request.into_inner();
        if request.domain.is_empty() {
            return Err(Status::invalid_argument("the domain is empty"));
        }
        if request.descriptors.is_empty() || request.descriptors.len() > MAX_DESCRIPTORS {
            return Err(Status::invalid_argument(format!(
                "a request carries 1 to {MAX_DESCRIPTORS} descriptors, not {}",
                request.descriptors.len()
            )));
        }
        let default_hits = u64::from(request.hits_addend.max(1));
        let mut statuses = Vec::with_capacity(request.descriptors.len());
        for descriptor in &request.descriptors {
            statuses.push(
                self.status_of(&request.domain, descriptor, default_hits)
                    .await?,
            );
        }
        let over = statuses.iter().any(|s| s.code == Code::OverLimit as i32);
        Ok(Response::new(RateLimitResponse {
            overall_code: if over { Code::OverLimit } else { Code::Ok } as i32,
            statuses,
            ..RateLimitResponse::default()
        }))
    }
}

/// Serves the rate-limit service on `listener` until `stop` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    limiter: RateLimiter,
    stop: tokio_util::sync::CancellationToken,
) -> Result<(), String> {
    let address = listener
        .local_addr()
        .map_or_else(|e| e.to_string(), |a| a.to_string());
    let service = RateLimitServiceServer::new(limiter).max_decoding_message_size(MAX_MESSAGE_BYTES);
    tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), stop.cancelled_owned())
        .await
        .map_err(|e| format!("the rate-limit gRPC listener on {address}: {e}"))
}
