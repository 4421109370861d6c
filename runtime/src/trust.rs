//! Who may talk to a node. Every node has its own token; the cluster knows each member's
//! token by its SHA-256 (replicated in Raft's membership), and a node's configuration
//! names the hashes of the peers it first joins. A request is accepted when it carries
//! the token of a node the cluster knows — a Raft call must carry the token of the node
//! it claims to come from.

use crate::member::token_sha256;
use crate::raft_types::TypeConfig;
use openraft::type_config::async_runtime::WatchReceiver;
use openraft::RaftMetrics;
use std::collections::BTreeMap;

type MetricsWatch = openraft::alias::WatchReceiverOf<TypeConfig, RaftMetrics<TypeConfig>>;

pub struct Trust {
    /// Token hashes known without the cluster's help: this node's own and its
    /// configured peers', by node id.
    configured: BTreeMap<u64, String>,
    /// The current membership (with every member's token hash) as Raft applies it.
    metrics: Option<MetricsWatch>,
}

impl Trust {
    pub fn new(configured: BTreeMap<u64, String>, metrics: Option<MetricsWatch>) -> Trust {
        Trust {
            configured,
            metrics,
        }
    }

    /// The id of the node whose token this is, if the cluster knows it.
    pub fn node_of(&self, token: &str) -> Option<u64> {
        let hash = token_sha256(token);
        let configured = self
            .configured
            .iter()
            .find(|(_, known)| equal_in_constant_time(known.as_bytes(), hash.as_bytes()))
            .map(|(id, _)| *id);
        configured.or_else(|| {
            let membership = self
                .metrics
                .as_ref()?
                .borrow_watched()
                .membership_config
                .clone();
            let found = membership
                .membership()
                .nodes()
                .find(|(_, info)| {
                    !info.token_sha256.is_empty()
                        && equal_in_constant_time(info.token_sha256.as_bytes(), hash.as_bytes())
                })
                .map(|(id, _)| *id);
            found
        })
    }

    /// Whether `token` is node `from`'s own token.
    pub fn is_node(&self, from: u64, token: &str) -> bool {
        self.node_of(token) == Some(from)
    }
}

/// Compares without an early exit, so the time taken does not reveal where two secrets
/// differ.
pub fn equal_in_constant_time(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_known_by_its_hash_and_names_its_node() {
        let trust = Trust::new(
            BTreeMap::from([(1, token_sha256("one")), (2, token_sha256("two"))]),
            None,
        );
        assert_eq!(trust.node_of("two"), Some(2));
        assert!(trust.is_node(1, "one"));
        assert!(!trust.is_node(1, "two"));
        assert_eq!(trust.node_of("three"), None);
        assert_eq!(trust.node_of(""), None);
    }
}
