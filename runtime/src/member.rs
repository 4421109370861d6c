//! What the cluster knows about each member, replicated in Raft's membership: where to
//! reach it (Raft and API addresses), which edge it is, and the SHA-256 of its token so
//! every node can authenticate requests from every other without sharing secrets.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The edge this node is (the name `.edgeflow` files use).
    pub edge: String,
    /// `host:port` of its Raft endpoint (empty for the embedded single node).
    pub raft: String,
    /// Base URL of its HTTP API (empty for the embedded single node).
    pub api: String,
    /// Lower-case hex SHA-256 of its token.
    pub token_sha256: String,
}

impl NodeInfo {
    /// The embedded single node of `edgeflow run`: it has no addresses and no token.
    pub fn embedded(edge: &str) -> NodeInfo {
        NodeInfo {
            edge: edge.to_string(),
            ..NodeInfo::default()
        }
    }
}

impl fmt::Display for NodeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (raft {}, api {})", self.edge, self.raft, self.api)
    }
}

/// Lower-case hex SHA-256 of a token, as stored in `NodeInfo::token_sha256` and in
/// node configuration files.
pub fn token_sha256(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_hex_sha256() {
        assert_eq!(
            token_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
