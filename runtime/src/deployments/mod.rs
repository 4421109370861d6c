//! Deployments: compiled bundles applied to the cluster under a name (`edgeflow apply`,
//! DESIGN.md §4). `registry.rs` is this subsystem's slice of the replicated state — each
//! deployment's bundle hash, version, shadow flag and the policies it activates — with
//! its commands and apply; `api.rs` its routes under `/v1/deployments`. The policies of
//! every deployment are what the quota subsystem enforces for the HTTP check, the
//! gateways and `ratelimit.acquire` in submitted runs.

pub mod api;
pub mod registry;

pub use registry::{DeployedPolicy, Deployment, DeploymentAnswer, DeploymentCommand, Deployments};
