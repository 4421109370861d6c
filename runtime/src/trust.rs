//! Who may talk to a node. Every node has its own token; the cluster knows each member's
//! token by its SHA-256 (replicated in Raft's membership), each registered worker's in
//! the fleet registry, and a node's configuration names the hashes of the peers it
//! first joins. An API request is accepted with the token of a member or a worker; a
//! Raft call only with the token of the member it claims to come from.

use crate::member::token_sha256;
use crate::node::Node;
use crate::state::fleet::EdgeRole;
use openraft::type_config::async_runtime::WatchReceiver;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Who presented a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A Raft member (or a configured peer).
    Member(u64),
    /// A registered worker node.
    Worker(u64),
}

pub struct Trust {
    /// Token hashes known without the cluster's help: this node's own and its
    /// configured peers', by node id.
    configured: BTreeMap<u64, String>,
    /// The node whose membership and fleet registry say who else is known.
    node: Option<Arc<Node>>,
}

impl Trust {
    pub fn new(configured: BTreeMap<u64, String>, node: Option<Arc<Node>>) -> Trust {
        Trust { configured, node }
    }

    /// Who this token belongs to: a member, or else a registered worker.
    pub async fn caller_of(&self, token: &str) -> Option<Caller> {
        let hash = token_sha256(token);
        if let Some(id) = self.member_with(&hash) {
            return Some(Caller::Member(id));
        }
        let node = self.node.as_ref()?;
        node.read_local(|state| {
            state
                .fleet
                .values()
                .filter(|record| record.role == EdgeRole::Worker)
                .find(|record| {
                    record.token_sha256.as_ref().is_some_and(|known| {
                        equal_in_constant_time(known.as_bytes(), hash.as_bytes())
                    })
                })
                .map(|record| Caller::Worker(record.node))
        })
        .await
    }

    /// The id of the member whose token this is, if the cluster knows it.
    pub fn member_of(&self, token: &str) -> Option<u64> {
        self.member_with(&token_sha256(token))
    }

    /// The member whose token has this hash.
    fn member_with(&self, hash: &str) -> Option<u64> {
        let configured = self
            .configured
            .iter()
            .find(|(_, known)| equal_in_constant_time(known.as_bytes(), hash.as_bytes()))
            .map(|(id, _)| *id);
        configured.or_else(|| {
            let membership = self
                .node
                .as_ref()?
                .raft()
                .metrics()
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

    /// Whether `token` is member `from`'s own token.
    pub fn is_member(&self, from: u64, token: &str) -> bool {
        self.member_of(token) == Some(from)
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
        assert_eq!(trust.member_of("two"), Some(2));
        assert!(trust.is_member(1, "one"));
        assert!(!trust.is_member(1, "two"));
        assert_eq!(trust.member_of("three"), None);
        assert_eq!(trust.member_of(""), None);
    }
}
