//! Changing and reporting who is in the cluster (`edgeflow cluster …`): bootstrap,
//! learners that catch up before they vote, promotion and removal through openraft's
//! joint consensus, and the leader's view of every member (role, reachability, lag).

use super::{raft_error, Node, NodeError};
use crate::member::NodeInfo;
use crate::raft_types::TypeConfig;
use openraft::error::{ClientWriteError, InitializeError, RaftError};
use openraft::type_config::async_runtime::WatchReceiver;
use openraft::{ChangeMembers, Instant as _, ServerState};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How long `add_learner` waits for the new member to catch up with the log.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(10);

/// `edgeflow cluster status --format json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// The node whose view this is.
    #[serde(default)]
    pub answered_by: u64,
    pub leader: Option<u64>,
    pub term: u64,
    pub members: Vec<MemberStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberStatus {
    pub id: u64,
    pub edge: String,
    pub api: String,
    pub role: MemberRole,
    /// `leader`, `replicating` (acknowledged the leader recently), `unreachable`, or
    /// `unknown` (asked a node without a leader).
    pub state: String,
    /// Log entries the member is behind the leader (`None` when not known).
    pub lag: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    Voter,
    Learner,
    Worker,
}

impl Node {
    /// Bootstraps a new cluster whose only voter is this node, and waits until it has
    /// elected itself and committed that first membership — until then openraft
    /// refuses any other membership change, so a `cluster add` right after `init`
    /// would fail.
    pub async fn initialize(&self, me: NodeInfo) -> Result<(), NodeError> {
        let members = BTreeMap::from([(self.id(), me)]);
        match self.raft.initialize(members).await {
            Ok(()) => {
                let wait = self.raft.wait(Some(self.request_timeout));
                wait.current_leader(self.id(), "the first voter elects itself")
                    .await
                    .map_err(raft_error)?;
                wait.metrics(
                    |m| {
                        let membership = m.membership_config.log_id().map(|l| l.index);
                        m.last_applied.map(|l| l.index) >= membership
                    },
                    "the first membership is committed",
                )
                .await
                .map(|_| ())
                .map_err(raft_error)
            }
            Err(RaftError::APIError(InitializeError::NotAllowed(_))) => Err(NodeError::Refused(
                "the cluster is already initialized (this node has a log or a vote)".into(),
            )),
            Err(error) => Err(raft_error(error)),
        }
    }

    /// Adds a learner and waits until it has caught up with the log (leader only).
    pub async fn add_learner(&self, id: u64, info: NodeInfo) -> Result<(), NodeError> {
        if self.member_info(id).is_some() {
            return Err(NodeError::Refused(format!("node {id} is already a member")));
        }
        let added = self
            .raft
            .add_learner(id, info, false)
            .await
            .map_err(|e| self.write_refused(e))?;
        // openraft counts a learner within its lag threshold as caught up, even one it
        // never reached: wait until the learner holds the entry that added it.
        let target = added.log_id.index;
        self.raft
            .wait(Some(CATCH_UP_TIMEOUT))
            .metrics(
                |m| {
                    m.replication
                        .as_ref()
                        .and_then(|r| r.get(&id).cloned().flatten())
                        .is_some_and(|matched| matched.index >= target)
                },
                "the learner catches up",
            )
            .await
            .map(|_| ())
            .map_err(|_| {
                NodeError::Refused(format!(
                    "node {id} was added as a learner but did not catch up within {} s; is it running and reachable?",
                    CATCH_UP_TIMEOUT.as_secs()
                ))
            })
    }

    /// Makes learners voters (leader only).
    pub async fn promote(&self, ids: BTreeSet<u64>) -> Result<(), NodeError> {
        let voters = self.voters_if_members(&ids)?;
        for id in &ids {
            if voters.contains(id) {
                return Err(NodeError::Refused(format!("node {id} is already a voter")));
            }
        }
        self.raft
            .change_membership(ChangeMembers::AddVoterIds(ids), false)
            .await
            .map(|_| ())
            .map_err(|e| self.write_refused(e))
    }

    /// Removes members (voters through joint consensus; learners directly).
    pub async fn remove(&self, ids: BTreeSet<u64>) -> Result<(), NodeError> {
        let voters = self.voters_if_members(&ids)?;
        if voters.is_subset(&ids) {
            return Err(NodeError::Refused(
                "removing every voter would leave no cluster".into(),
            ));
        }
        let (leaving_voters, leaving_learners): (BTreeSet<u64>, BTreeSet<u64>) =
            ids.into_iter().partition(|id| voters.contains(id));
        if !leaving_voters.is_empty() {
            self.raft
                .change_membership(ChangeMembers::RemoveVoters(leaving_voters), false)
                .await
                .map_err(|e| self.write_refused(e))?;
        }
        if !leaving_learners.is_empty() {
            self.raft
                .change_membership(ChangeMembers::RemoveNodes(leaving_learners), false)
                .await
                .map_err(|e| self.write_refused(e))?;
        }
        Ok(())
    }

    /// The current voters, once every id in `ids` is known to be a member.
    fn voters_if_members(&self, ids: &BTreeSet<u64>) -> Result<BTreeSet<u64>, NodeError> {
        let membership = self
            .raft
            .metrics()
            .borrow_watched()
            .membership_config
            .clone();
        if let Some(stranger) = ids
            .iter()
            .find(|id| membership.membership().get_node(id).is_none())
        {
            return Err(NodeError::Refused(format!(
                "node {stranger} is not a member (add it with `edgeflow cluster add`)"
            )));
        }
        Ok(membership.membership().voter_ids().collect())
    }

    /// The member's recorded addresses, if it is in the membership.
    pub fn member_info(&self, id: u64) -> Option<NodeInfo> {
        let metrics = self.raft.metrics().borrow_watched().clone();
        metrics
            .membership_config
            .membership()
            .get_node(&id)
            .cloned()
    }

    /// A member serving `edge` (the lowest id when several do), with its addresses.
    pub fn member_on_edge(&self, edge: &str) -> Option<NodeInfo> {
        let metrics = self.raft.metrics().borrow_watched().clone();
        let serving = metrics
            .membership_config
            .membership()
            .nodes()
            .find(|(_, info)| info.edge == edge)
            .map(|(_, info)| info.clone());
        serving
    }

    /// The cluster as this node sees it; complete (lag, reachability) on the leader.
    pub fn cluster_status(&self) -> ClusterStatus {
        let metrics = self.raft.metrics().borrow_watched().clone();
        let membership = metrics.membership_config.membership();
        let voters: BTreeSet<u64> = membership.voter_ids().collect();
        let is_leader = metrics.state == ServerState::Leader;
        let last_index = metrics.last_log_index.unwrap_or(0);
        let stale_after = Duration::from_millis(self.raft.config().election_timeout_max);
        let members = membership
            .nodes()
            .map(|(id, info)| {
                let role = if voters.contains(id) {
                    MemberRole::Voter
                } else {
                    MemberRole::Learner
                };
                let (state, lag) = if *id == metrics.id && is_leader {
                    ("leader".to_string(), Some(0))
                } else if is_leader {
                    let matched = metrics
                        .replication
                        .as_ref()
                        .and_then(|r| r.get(id).cloned())
                        .flatten();
                    let lag = last_index.saturating_sub(matched.map_or(0, |m| m.index));
                    let acked = metrics
                        .heartbeat
                        .as_ref()
                        .and_then(|h| h.get(id).cloned())
                        .flatten();
                    let reachable = acked.is_some_and(|at| at.elapsed() <= stale_after);
                    let state = if reachable {
                        "replicating"
                    } else {
                        "unreachable"
                    };
                    (state.to_string(), Some(lag))
                } else {
                    ("unknown".to_string(), None)
                };
                MemberStatus {
                    id: *id,
                    edge: info.edge.clone(),
                    api: info.api.clone(),
                    role,
                    state,
                    lag,
                }
            })
            .collect();
        ClusterStatus {
            answered_by: metrics.id,
            leader: metrics.current_leader,
            term: metrics.current_term,
            members,
        }
    }

    fn write_refused(
        &self,
        error: RaftError<TypeConfig, ClientWriteError<TypeConfig>>,
    ) -> NodeError {
        if let Some(forward) = error.forward_to_leader() {
            let leader = forward.leader_id.zip(forward.leader_node.clone());
            return NodeError::NotLeader { leader };
        }
        match error {
            RaftError::APIError(ClientWriteError::ChangeMembershipError(reason)) => {
                NodeError::Refused(reason.to_string())
            }
            other => raft_error(other),
        }
    }
}
