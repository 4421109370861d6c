//! Who may talk to a node. Every node has its own token; the cluster knows each member's
//! token by its SHA-256 (replicated in Raft's membership) and each registered worker's in
//! the fleet registry. Trust follows those two at all times: once this node knows a
//! membership, a removed member's token is refused like any stranger's, on the API and
//! on the Raft port. The hashes a node's configuration names (its own and its first
//! peers') only bootstrap: they are used while the node knows no membership yet.

use crate::member::token_sha256;
use crate::node::{now_ms, Node};
use crate::state::fleet::EdgeRole;
use crate::tokens::Scopes;
use openraft::type_config::async_runtime::WatchReceiver;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Who presented a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A Raft member (or, before this node knows a membership, a configured peer).
    Member(u64),
    /// A registered worker node.
    Worker(u64),
    /// A client token (`edgeflow token create`) with its scopes.
    Client(Scopes),
}

pub struct Trust {
    /// Token hashes known without the cluster's help: this node's own and its
    /// configured peers', by node id. Used only until a membership is known.
    configured: BTreeMap<u64, String>,
    /// The node whose membership and fleet registry say who else is known.
    node: Option<Arc<Node>>,
}

impl Trust {
    pub fn new(configured: BTreeMap<u64, String>, node: Option<Arc<Node>>) -> Trust {
        Trust { configured, node }
    }

    /// Who this token belongs to: a member, a registered worker, or a client token
    /// usable now (not revoked, not expired by this node's clock).
    pub async fn caller_of(&self, token: &str) -> Option<Caller> {
        let hash = token_sha256(token);
        if let Some(id) = self.member_with(&hash) {
            return Some(Caller::Member(id));
        }
        let node = self.node.as_ref()?;
        let now = now_ms();
        node.read_local(|state| {
            let worker = state
                .fleet
                .values()
                .filter(|record| record.role == EdgeRole::Worker)
                .find(|record| {
                    record.token_sha256.as_ref().is_some_and(|known| {
                        equal_in_constant_time(known.as_bytes(), hash.as_bytes())
                    })
                })
                .map(|record| Caller::Worker(record.node));
            worker.or_else(|| state.tokens.scopes_of(&hash, now).map(Caller::Client))
        })
        .await
    }

    /// The id of the member whose token this is, if the cluster knows it.
    pub fn member_of(&self, token: &str) -> Option<u64> {
        self.member_with(&token_sha256(token))
    }

    /// The member whose token has this hash (lower-case hex SHA-256). Looked up in place
    /// in the membership this node knows (no copy per request); the configured hashes
    /// only while it knows none.
    pub fn member_with(&self, hash: &str) -> Option<u64> {
        let matches = |known: &str| {
            !known.is_empty() && equal_in_constant_time(known.as_bytes(), hash.as_bytes())
        };
        if let Some(node) = &self.node {
            let metrics = node.raft().metrics();
            let metrics = metrics.borrow_watched();
            let membership = metrics.membership_config.membership();
            if membership.nodes().next().is_some() {
                return membership
                    .nodes()
                    .find(|(_, info)| matches(&info.token_sha256))
                    .map(|(id, _)| *id);
            }
        }
        self.configured
            .iter()
            .find(|(_, known)| matches(known))
            .map(|(id, _)| *id)
    }

    /// This node's current Raft term (0 without a node).
    pub fn current_term(&self) -> u64 {
        self.node.as_ref().map_or(0, |node| {
            node.raft().metrics().borrow_watched().current_term
        })
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
    fn before_a_membership_is_known_configured_tokens_name_their_node() {
        let trust = Trust::new(
            BTreeMap::from([(1, token_sha256("one")), (2, token_sha256("two"))]),
            None,
        );
        assert_eq!(trust.member_of("two"), Some(2));
        assert_eq!(trust.member_of("one"), Some(1));
        assert_ne!(trust.member_of("two"), Some(1));
        assert_eq!(trust.member_of("three"), None);
        assert_eq!(trust.member_of(""), None);
    }
}
