//! What an op may ask of the cluster, as data: a write (a `Command`, optionally keyed so
//! it applies once) or a `Query` of the replicated state. Ops see only this trait, not a
//! Raft node, so the same op can run where a node drives the run and — once steps are
//! dispatched — on a worker that reaches the cluster through the API. A `Node` is the
//! host of the ops it runs itself.

use crate::command::{Command, Response};
use crate::migrations::{MigrationAsk, MigrationError, MigrationReply};
use crate::node::{Node, NodeError};
use crate::state::activity::{Activity, Summary};
use crate::state::fleet::EdgeRecord;
use crate::state::{State, Versioned};
use crate::user_ops::UserModule;
use crate::workloads::{RecordAnswer, RecordOp, WorkloadError};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// A read of the replicated state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Query {
    /// One key and its version.
    Get { ns: String, key: String },
    /// Keys of a namespace starting with `prefix`, in key order.
    Scan {
        ns: String,
        prefix: String,
        limit: usize,
    },
    /// A group's live lease holder at `at_ms`, and its term.
    Leader { group: String, at_ms: u64 },
    /// How much of a global rate-limit budget is used at `at_ms`.
    Quota {
        policy: crate::quotas::QuotaPolicy,
        key: String,
        at_ms: u64,
    },
    /// The active policy of this name among the cluster's deployments.
    DeployedPolicy { name: String },
    /// A group's fencing term, the last sequence number `global_order` handed out and
    /// the proposals it keeps (a group never used answers zeros).
    Group { group: String },
    /// Every node of the fleet registry (without its activity or token hash: those
    /// never leave the node).
    Fleet,
    /// The activity of the nodes serving `edges` over the `window_ms` before `at_ms`.
    Activity {
        edges: Vec<String>,
        window_ms: u64,
        at_ms: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryAnswer {
    Entry(Option<Versioned>),
    Entries(Vec<(String, Versioned)>),
    Leader {
        holder: Option<String>,
        term: u64,
    },
    Quota(crate::quotas::Usage),
    /// A deployed policy, and whether its deployment is in shadow mode.
    DeployedPolicy(Option<(crate::deployments::DeployedPolicy, bool)>),
    Group {
        term: u64,
        last_sequence: u64,
        /// Each kept proposal with the log index that committed it.
        proposals: Vec<(u64, serde_json::Value)>,
    },
    Fleet(Vec<EdgeRecord>),
    /// Edges no node serves are listed in `unknown`.
    Activity {
        /// Placed steps finished, failed or not.
        steps: u64,
        /// Failed ones as a fraction of `steps` (0 when none).
        error_rate: f64,
        latency_p99_ms: Option<f64>,
        unknown: Vec<String>,
    },
}

/// How fresh a read must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    /// Every write committed before the read started is visible.
    Linearizable,
    /// This host's copy, possibly behind.
    Local,
}

impl Query {
    /// The answer from a state.
    pub fn answer(&self, state: &State) -> QueryAnswer {
        match self {
            Query::Get { ns, key } => QueryAnswer::Entry(state.get(ns, key).cloned()),
            Query::Scan { ns, prefix, limit } => {
                QueryAnswer::Entries(state.scan(ns, prefix, *limit))
            }
            Query::Leader { group, at_ms } => {
                let (holder, term) = state.leader(group, *at_ms);
                QueryAnswer::Leader { holder, term }
            }
            Query::Quota { policy, key, at_ms } => {
                QueryAnswer::Quota(state.quotas.usage(policy, key, *at_ms))
            }
            Query::Group { group } => {
                let group = state.groups.get(group);
                QueryAnswer::Group {
                    term: group.map_or(0, |g| g.term),
                    last_sequence: group.map_or(0, |g| g.last_sequence),
                    proposals: group.map(|g| g.proposals.clone()).unwrap_or_default(),
                }
            }
            Query::DeployedPolicy { name } => QueryAnswer::DeployedPolicy(
                state
                    .deployments
                    .policy(name)
                    .map(|(deployed, shadow)| (deployed.clone(), shadow)),
            ),
            Query::Fleet => QueryAnswer::Fleet(
                state
                    .fleet
                    .values()
                    .map(|record| EdgeRecord {
                        activity: Activity::default(),
                        token_sha256: None,
                        ..record.clone()
                    })
                    .collect(),
            ),
            Query::Activity {
                edges,
                window_ms,
                at_ms,
            } => {
                let mut summary = Summary::default();
                let mut unknown = Vec::new();
                for edge in edges {
                    let serving = state.fleet.values().filter(|r| r.edge == *edge);
                    let mut found = false;
                    for record in serving {
                        found = true;
                        record.activity.add_to(&mut summary, *at_ms, *window_ms);
                    }
                    if !found {
                        unknown.push(edge.clone());
                    }
                }
                QueryAnswer::Activity {
                    steps: summary.steps_ok + summary.steps_failed,
                    error_rate: summary.error_rate(),
                    latency_p99_ms: summary.latency_p99_ms(),
                    unknown,
                }
            }
        }
    }
}

pub trait OpHost: Send + Sync {
    /// The identity this host campaigns for leases under (its edge name).
    fn name(&self) -> &str;

    /// Commits a command; with a key, a request already applied is not applied again.
    fn write_once(
        &self,
        command: Command,
        idempotency_key: Option<String>,
    ) -> BoxFuture<'_, Result<Response, NodeError>>;

    fn query(
        &self,
        query: Query,
        freshness: Freshness,
    ) -> BoxFuture<'_, Result<QueryAnswer, NodeError>>;

    /// This host's rate-limit decisions (none where they are not made yet: a worker).
    fn quotas(&self) -> Option<&std::sync::Arc<crate::quotas::EdgeQuotas>> {
        None
    }

    /// A request of `migrate.*` (answered by cluster members only).
    fn migration(
        &self,
        _asked: MigrationAsk,
    ) -> BoxFuture<'_, Result<MigrationReply, MigrationError>> {
        Box::pin(async move {
            Err(MigrationError::Refused(
                "migrate.* runs on cluster members, not on workers: place the step without `on`"
                    .into(),
            ))
        })
    }

    /// User op `op` of stored program `bundle`: its declaration and module bytes (for
    /// a placed step; the driver has its program at hand).
    fn user_module<'a>(
        &'a self,
        bundle: &'a str,
        op: &'a str,
    ) -> BoxFuture<'a, Result<UserModule, NodeError>> {
        Box::pin(async move {
            Err(NodeError::Refused(format!(
                "this host cannot fetch op `{op}` of program {bundle}"
            )))
        })
    }

    /// A request on a workload's records, served wherever the workload is (a host
    /// that reaches no workloads refuses it).
    fn workload<'a>(
        &'a self,
        workload: &'a str,
        _op: RecordOp,
    ) -> BoxFuture<'a, Result<RecordAnswer, WorkloadError>> {
        Box::pin(async move {
            Err(WorkloadError::Unreachable {
                workload: workload.to_string(),
                reason: "this host reaches no workloads".into(),
            })
        })
    }
}

impl OpHost for Node {
    fn name(&self) -> &str {
        &self.name
    }

    fn write_once(
        &self,
        command: Command,
        idempotency_key: Option<String>,
    ) -> BoxFuture<'_, Result<Response, NodeError>> {
        Box::pin(Node::write_once(self, command, idempotency_key))
    }

    fn query(
        &self,
        query: Query,
        freshness: Freshness,
    ) -> BoxFuture<'_, Result<QueryAnswer, NodeError>> {
        Box::pin(async move {
            match freshness {
                Freshness::Linearizable => self.read(|state| query.answer(state)).await,
                Freshness::Local => Ok(self.read_local(|state| query.answer(state)).await),
            }
        })
    }

    fn quotas(&self) -> Option<&std::sync::Arc<crate::quotas::EdgeQuotas>> {
        Some(self.quotas())
    }

    fn user_module<'a>(
        &'a self,
        bundle: &'a str,
        op: &'a str,
    ) -> BoxFuture<'a, Result<UserModule, NodeError>> {
        Box::pin(Node::user_module(self, bundle, op))
    }

    fn workload<'a>(
        &'a self,
        workload: &'a str,
        op: RecordOp,
    ) -> BoxFuture<'a, Result<RecordAnswer, WorkloadError>> {
        Box::pin(Node::workload(self, workload, op))
    }

    fn migration(
        &self,
        asked: MigrationAsk,
    ) -> BoxFuture<'_, Result<MigrationReply, MigrationError>> {
        Box::pin(crate::migrations::ask(self, asked))
    }
}
