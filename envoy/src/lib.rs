//! Envoy's global rate-limit service answered by an edgeflow node: the gRPC method
//! `envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit` on the listener the node
//! configuration names (`[ratelimit] grpc_listen`). Each descriptor Envoy sends is
//! decided on this node against the policies of the deployment the request's `domain`
//! names (`edgeflow apply` names a deployment after its file), from this edge's lease of
//! each global budget — the same decision as the HTTP check. Kept in its own crate:
//! Envoy's generated protobuf types take minutes to build, and nothing else needs them.

mod service;

pub use service::{serve, RateLimiter};
