//! What a peer may say on its Raft connection. The `Hello` binds a connection to the
//! node whose token it carried; every call after it is checked against that binding and
//! against the membership as it is *now*: a node removed meanwhile is refused (and its
//! connection closed), a call claiming to come from another node (a vote for node 3 on
//! node 2's connection) is refused, and terms far beyond this node's own are refused, so
//! a leaked token cannot push the cluster's term to the end of its range. Who may
//! campaign or lead is Raft's to decide from the log, not this check's: a node's view of
//! the voters can lag behind the cluster's (it missed a promotion), and refusing a newly
//! promoted voter's votes or entries left a majority without a leader (tests/cluster.rs,
//! `a_follower_that_missed_a_promotion_…`).

use super::wire::Call;
use crate::trust::Trust;

/// How far above this node's own term a vote request may be. Real elections raise the
/// term one at a time (and pre-votes keep a returning node from raising it at all).
pub const MAX_TERM_LEAP: u64 = 1_000_000;
/// No term at or above this is accepted in any call: the range stays far from overflow.
pub const TERM_CEILING: u64 = 1 << 62;

/// Why a call was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The connection's node is no longer a member (or its token no longer its own):
    /// nothing more is read from it.
    NotAMember { from: u64 },
    /// The call speaks for another node than the connection's.
    Impersonation { from: u64, claimed: u64 },
    /// The term is beyond what this node accepts.
    AbsurdTerm { term: u64, current: u64 },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotAMember { from } => write!(
                f,
                "node {from} is not a member of this cluster (or its token changed)"
            ),
            Refusal::Impersonation { from, claimed } => write!(
                f,
                "node {from}'s connection sent a call as node {claimed}"
            ),
            Refusal::AbsurdTerm { term, current } => write!(
                f,
                "term {term} is refused (this node is at term {current}; at most {MAX_TERM_LEAP} more is accepted in a vote)"
            ),
        }
    }
}

/// Checks one call from the node `from`, whose token hashes to `token_sha256`.
pub fn admit(call: &Call, from: u64, token_sha256: &str, trust: &Trust) -> Result<(), Refusal> {
    if trust.member_with(token_sha256) != Some(from) {
        return Err(Refusal::NotAMember { from });
    }
    let (vote, is_election) = match call {
        Call::Vote(request) | Call::PreVote(request) => (&request.vote, true),
        Call::AppendEntries(request) => (&request.vote, false),
        Call::SnapshotChunk { vote, .. } => (vote, false),
        Call::Write(_) | Call::ReadIndex => return Ok(()),
    };
    let claimed = vote.leader_id().node_id;
    if claimed != from {
        return Err(Refusal::Impersonation { from, claimed });
    }
    let term = vote.leader_id().term;
    let current = trust.current_term();
    let leap_too_far = is_election && term > current.saturating_add(MAX_TERM_LEAP);
    if term >= TERM_CEILING || leap_too_far {
        return Err(Refusal::AbsurdTerm { term, current });
    }
    Ok(())
}
