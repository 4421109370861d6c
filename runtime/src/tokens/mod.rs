//! Scoped client tokens: gateways, sensors and CI call the API without a member's
//! all-powerful token. A client token names what it may do (`scope.rs`); the cluster
//! keeps only its SHA-256, who created it and when it expires or was revoked
//! (`registry.rs`, this subsystem's slice of the replicated state and its commands);
//! members create, list and revoke them over `/v1/tokens` (`api.rs`). A revoked or
//! expired token is refused by every node as soon as it has applied the revocation or
//! its clock passed the expiry.

pub mod api;
pub mod registry;
pub mod scope;

pub use registry::{ClientToken, TokenCommand, Tokens};
pub use scope::{Scope, Scopes};
