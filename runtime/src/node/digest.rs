//! A fingerprint of this node's applied state: the SHA-256 of its canonical encoding,
//! with the log index it was taken at. Two replicas that applied the same log agree on
//! it, so a fault-injection harness (or an operator) can see that every node converged
//! to the same state after a partition healed, without transferring the state itself.

use super::Node;
use crate::encoding;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What `GET /v1/cluster/digest` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateDigest {
    pub node: u64,
    /// The last log index applied to the state the digest is of (0: none yet).
    pub applied_index: u64,
    /// `sha256:` and 64 hex digits.
    pub digest: String,
}

impl Node {
    /// The digest of the applied state, taken under the same lock that applying holds,
    /// so the index and the state belong together.
    pub async fn state_digest(&self) -> StateDigest {
        let applied = self.applied.read().await;
        let bytes = encoding::encode(&applied.state);
        StateDigest {
            node: self.id(),
            applied_index: applied.last_applied.map_or(0, |id| id.index),
            digest: format!("sha256:{:x}", Sha256::digest(&bytes)),
        }
    }
}
