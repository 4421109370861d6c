//! The replicated state (DESIGN.md §4) and the one function that changes it: `apply`.
//! Deterministic: the outcome depends only on the state, the command and the time
//! carried in the log entry — never on a local clock — so every replica agrees.

pub mod activity;
mod applied;
pub mod assignments;
pub mod bundles;
pub mod fleet;
mod groups;
mod kv;
mod runs;

pub use groups::{Group, Lease};
pub use kv::{check_address, Versioned};
pub use runs::{new_run_id, RunDriver, RunRecord, RunStatus, StepRecord};

use crate::command::{Command, Request, Response};
use crate::deployments::Deployments;
use crate::migrations::Migrations;
use crate::quotas::Ledger;
use crate::tokens::Tokens;
use crate::workloads::Workloads;
use applied::{AppliedKeys, Replay};
use assignments::Assignments;
use bundles::Bundles;
use fleet::EdgeRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything the cluster agrees on. Serialised whole into snapshots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Versioned keys, by namespace then key.
    pub kv: BTreeMap<String, kv::Namespace>,
    /// Coordination groups: leader lease and ordered log.
    pub groups: BTreeMap<String, Group>,
    /// Workflow runs by id.
    #[serde(default)]
    pub runs: BTreeMap<String, RunRecord>,
    /// The fleet registry: every node that heartbeats, and every registered worker.
    #[serde(default)]
    pub fleet: BTreeMap<u64, EdgeRecord>,
    /// Compiled programs of submitted runs, by content hash (their bytes are in the
    /// node's database, not here).
    #[serde(default)]
    pub bundles: Bundles,
    /// Requests that carried an idempotency key: the command each key was used for and
    /// its response. Keys start with their run id and are dropped when the run finishes.
    #[serde(default)]
    pub applied_keys: AppliedKeys,
    /// Steps placed on other nodes, until their run finishes.
    #[serde(default)]
    pub assignments: Assignments,
    /// Scoped client tokens (hashes only).
    #[serde(default)]
    pub tokens: Tokens,
    /// Global rate-limit budgets and the leases granted from them.
    #[serde(default)]
    pub quotas: Ledger,
    /// Bundles applied under a name, and the policies they activate.
    #[serde(default)]
    pub deployments: Deployments,
    /// Which edge serves each workload (their records are on that edge, not here).
    #[serde(default)]
    pub workloads: Workloads,
    /// Migrations of workloads between edges, their phases and checkpoints.
    #[serde(default)]
    pub migrations: Migrations,
    /// The ticks schedules fired and the events seen (the `triggers` subsystem).
    #[serde(default)]
    pub triggers: crate::triggers::Triggers,
}

/// Where an entry sits in the Raft log: what `propose` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPosition {
    pub index: u64,
    pub term: u64,
}

impl State {
    pub fn apply(&mut self, request: &Request, position: LogPosition) -> Response {
        if let Some(key) = &request.idempotency_key {
            if let Some(ended) = self.ended_run_of(key) {
                return Response::Refused { reason: ended };
            }
            return match self.applied_keys.replay(key, &request.command) {
                Replay::Answer(response) => response,
                Replay::Apply { command_sha256 } => {
                    let response = self.apply_command(request, position);
                    self.applied_keys
                        .record(key, command_sha256, response.clone());
                    response
                }
            };
        }
        self.apply_command(request, position)
    }

    /// Why a keyed request of a run that has ended changes nothing: its keys were
    /// forgotten when it finished, so a late step of it — from a driver that lost its
    /// lease while paused or cut off, or a worker's late report — would otherwise apply
    /// a second time. Keys start with their run id (`RUN/…`).
    fn ended_run_of(&self, key: &str) -> Option<String> {
        let (run_id, _) = key.split_once('/')?;
        let run = self.runs.get(run_id)?;
        (run.status != RunStatus::Running).then(|| {
            format!(
                "run {run_id} has ended ({}): none of its steps changes anything any more",
                run.status.name()
            )
        })
    }

    fn apply_command(&mut self, request: &Request, position: LogPosition) -> Response {
        let now = request.at_ms;
        match &request.command {
            Command::Put {
                ns,
                key,
                value,
                if_version,
            } => {
                let (success, version) = kv::put(&mut self.kv, ns, key, value, *if_version);
                Response::Put { success, version }
            }
            Command::Delete { ns, key } => Response::Delete {
                success: kv::delete(&mut self.kv, ns, key),
            },
            Command::Campaign {
                group,
                candidate,
                ttl_ms,
            } => {
                let group = self.groups.entry(group.clone()).or_default();
                let (success, lease) = group.campaign(candidate, now, *ttl_ms);
                Response::Leadership {
                    success,
                    leader: Some(lease.holder),
                    term: lease.term,
                }
            }
            Command::Renew {
                group,
                holder,
                ttl_ms,
            } => {
                let success = self
                    .groups
                    .get_mut(group)
                    .is_some_and(|g| g.renew(holder, now, *ttl_ms));
                Response::Renew { success }
            }
            Command::Resign { group, holder } => {
                let success = self
                    .groups
                    .get_mut(group)
                    .is_some_and(|g| g.resign(holder, now));
                Response::Resign { success }
            }
            Command::Propose { group, value } => {
                self.groups
                    .entry(group.clone())
                    .or_default()
                    .record(value.clone(), position.index);
                Response::Propose {
                    index: position.index,
                    term: position.term,
                }
            }
            Command::GlobalOrder { group, events } => {
                let group = self.groups.entry(group.clone()).or_default();
                Response::Order {
                    sequence: group.order(events.len() as u64),
                }
            }
            Command::StartRun {
                run_id,
                bundle_hash,
                workflow,
                inputs,
            } => {
                self.record_run(run_id, bundle_hash, workflow, inputs, now, false);
                Response::Recorded
            }
            Command::SubmitRun {
                run_id,
                bundle_hash,
                bundle,
                workflow,
                inputs,
            } => {
                if let Some(bundle) = bundle {
                    self.bundles.stored(bundle_hash, bundle.len() as u64);
                }
                let known = self.bundles.contains(bundle_hash);
                if known {
                    self.record_run(run_id, bundle_hash, workflow, inputs, now, true);
                }
                self.bundles.release_if_unused(bundle_hash);
                Response::Submitted { accepted: known }
            }
            Command::ClaimRun {
                run_id,
                node,
                ttl_ms,
            } => {
                let epoch = self
                    .runs
                    .get_mut(run_id)
                    .and_then(|run| run.claim(*node, now, *ttl_ms));
                Response::Claim {
                    granted: epoch.is_some(),
                    epoch: epoch.unwrap_or(0),
                }
            }
            Command::RenewRun {
                run_id,
                node,
                epoch,
                ttl_ms,
            } => Response::Renew {
                success: self
                    .runs
                    .get_mut(run_id)
                    .is_some_and(|run| run.renew(*node, *epoch, now, *ttl_ms)),
            },
            Command::AddWorker {
                node,
                edge,
                api,
                token_sha256,
                labels,
                heartbeat_interval_ms,
            } => {
                let taken = self
                    .fleet
                    .values()
                    .find(|r| r.edge == *edge && r.node != *node)
                    .map(|r| format!("edge `{edge}` is node {}", r.node));
                let voter = self
                    .fleet
                    .get(node)
                    .filter(|r| r.role == fleet::EdgeRole::Voter)
                    .map(|_| format!("node {node} is a voter"));
                match taken.or(voter) {
                    Some(reason) => Response::Fleet {
                        accepted: false,
                        reason: Some(reason),
                    },
                    None => {
                        let record = self.fleet.entry(*node).or_insert_with(|| {
                            EdgeRecord::new(
                                *node,
                                edge,
                                fleet::EdgeRole::Worker,
                                api,
                                labels.clone(),
                            )
                        });
                        record.edge = edge.clone();
                        record.api = api.clone();
                        record.labels = labels.clone();
                        record.token_sha256 = Some(token_sha256.clone());
                        record.heartbeat_interval_ms = *heartbeat_interval_ms;
                        Response::Fleet {
                            accepted: true,
                            reason: None,
                        }
                    }
                }
            }
            Command::RemoveWorker { node } => {
                let removed = self
                    .fleet
                    .get(node)
                    .is_some_and(|r| r.role == fleet::EdgeRole::Worker)
                    && self.fleet.remove(node).is_some();
                Response::Fleet {
                    accepted: removed,
                    reason: (!removed).then(|| format!("node {node} is not a registered worker")),
                }
            }
            Command::Heartbeat {
                node,
                edge,
                role,
                api,
                labels,
                heartbeat_interval_ms,
                beat,
            } => {
                // Voters are known by the membership and register with their first
                // heartbeat; workers must have been added.
                if *role == fleet::EdgeRole::Voter {
                    self.fleet.entry(*node).or_insert_with(|| {
                        EdgeRecord::new(*node, edge, *role, api, labels.clone())
                    });
                }
                match self.fleet.get_mut(node).filter(|r| r.role == *role) {
                    Some(record) => {
                        record.api = api.clone();
                        // A worker's labels are the operator's (`worker add`); only a
                        // voter, a member, describes itself.
                        if record.role == fleet::EdgeRole::Voter {
                            record.labels = labels.clone();
                        }
                        record.heartbeat_interval_ms = *heartbeat_interval_ms;
                        record.beat(beat, now);
                        Response::Heartbeat {
                            accepted: true,
                            state: Some(record.state),
                            drain: record.draining,
                        }
                    }
                    None => Response::Heartbeat {
                        accepted: false,
                        state: None,
                        drain: false,
                    },
                }
            }
            Command::SetMaintenance { node, on, comment } => {
                self.change_fleet_node(*node, |record| record.set_maintenance(*on, comment.clone()))
            }
            Command::Drain { node } => {
                self.change_fleet_node(*node, |record| record.draining = true)
            }
            Command::CompleteStep {
                run_id,
                step,
                value,
                attempts,
                elapsed_ms,
                ran_on,
                dispatch_us,
            } => {
                if let Some(run) = self.runs.get_mut(run_id) {
                    run.steps.entry(step.clone()).or_insert_with(|| StepRecord {
                        value: value.clone(),
                        attempts: *attempts,
                        elapsed_ms: *elapsed_ms,
                        completed_at_ms: now,
                        ran_on: ran_on.clone(),
                        dispatch_us: *dispatch_us,
                    });
                }
                Response::Recorded
            }
            Command::FinishRun {
                run_id,
                output,
                error,
            } => {
                // The first outcome recorded stands (a second driver may finish too).
                if let Some(run) = self
                    .runs
                    .get_mut(run_id)
                    .filter(|run| run.status == RunStatus::Running)
                {
                    run.status = if error.is_some() {
                        RunStatus::Failed
                    } else {
                        RunStatus::Succeeded
                    };
                    run.output = output.clone();
                    run.error = error.clone();
                    run.finished_at_ms = Some(now);
                    self.bundles.run_ended(&run.bundle_hash);
                }
                self.applied_keys.drop_run(run_id);
                self.assignments.drop_run(run_id);
                Response::Recorded
            }
            Command::CancelRun { run_id } => {
                let Some(run) = self.runs.get_mut(run_id) else {
                    return Response::RunCancelled {
                        cancelled: false,
                        status: None,
                    };
                };
                let cancelled = run.status == RunStatus::Running;
                if cancelled {
                    run.status = RunStatus::Cancelled;
                    run.error = Some("cancelled by an operator".into());
                    run.finished_at_ms = Some(now);
                    self.bundles.run_ended(&run.bundle_hash);
                    self.applied_keys.drop_run(run_id);
                    self.assignments.drop_run(run_id);
                }
                Response::RunCancelled {
                    cancelled,
                    status: self.runs.get(run_id).map(|run| run.status),
                }
            }
            Command::Assign { work } => Response::Assignment {
                status: Some(
                    self.assignments
                        .assign(work, &self.fleet, now, position.index),
                ),
            },
            Command::Reassign { run_id, step } => Response::Assignment {
                status: self
                    .assignments
                    .reassign(run_id, step, &self.fleet, now, position.index),
            },
            Command::FinishAssignment {
                run_id,
                step,
                node,
                seq,
                outcome,
                attempts,
                started_at_us,
            } => {
                let assignment = self.assignments.get(run_id, step);
                if let Some(Err(reason)) = assignment.map(|a| a.may_report(*node, *seq)) {
                    return Response::Refused { reason };
                }
                let open = assignment.is_some_and(|a| a.status.is_open());
                if let Some(record) = self.fleet.get_mut(node).filter(|_| open) {
                    let ok = matches!(outcome, assignments::Outcome::Value(_));
                    record.activity.step(now, ok);
                }
                Response::Assignment {
                    status: self.assignments.finish(
                        run_id,
                        step,
                        *node,
                        outcome,
                        *attempts,
                        *started_at_us,
                    ),
                }
            }
            Command::Quota(command) => Response::Quota(self.quotas.apply(command, now)),
            Command::Workload(command) => Response::Workload(self.workloads.apply(command, now)),
            Command::Migration(command) => {
                Response::Migration(self.migrations.apply(command, now, &mut self.workloads))
            }
            Command::Deployment(command) => {
                let answer = self.deployments.apply(command, now, &mut self.bundles);
                let deployments = &self.deployments;
                self.triggers.retain(|id| deployments.arms(id));
                Response::Deployment(answer)
            }
            Command::Trigger(command) => Response::Trigger(self.apply_trigger(command, now)),
            Command::Token(command) => match self.tokens.apply(command, now) {
                Ok(()) => Response::Tokens {
                    accepted: true,
                    reason: None,
                },
                Err(reason) => Response::Tokens {
                    accepted: false,
                    reason: Some(reason),
                },
            },
            Command::CancelAssignment { run_id, step } => Response::Assignment {
                status: self.assignments.cancel(run_id, step),
            },
        }
    }

    /// An operator's change to a node of the fleet, refused for an unknown node.
    fn change_fleet_node(&mut self, node: u64, change: impl FnOnce(&mut EdgeRecord)) -> Response {
        match self.fleet.get_mut(&node) {
            Some(record) => {
                change(record);
                Response::Fleet {
                    accepted: true,
                    reason: None,
                }
            }
            None => Response::Fleet {
                accepted: false,
                reason: Some(format!("no node {node} in the fleet")),
            },
        }
    }

    /// Records a new run (a second record of the same id changes nothing).
    pub(crate) fn record_run(
        &mut self,
        run_id: &str,
        bundle_hash: &str,
        workflow: &str,
        inputs: &serde_json::Value,
        now: u64,
        submitted: bool,
    ) {
        if self.runs.contains_key(run_id) {
            return;
        }
        self.bundles.run_started(bundle_hash);
        self.runs.insert(
            run_id.to_string(),
            RunRecord {
                run_id: run_id.to_string(),
                bundle_hash: bundle_hash.to_string(),
                workflow: workflow.to_string(),
                inputs: inputs.clone(),
                status: RunStatus::Running,
                steps: BTreeMap::new(),
                output: None,
                error: None,
                started_at_ms: now,
                finished_at_ms: None,
                submitted,
                driver: None,
                trigger: None,
            },
        );
    }

    /// A key's current value and version (version 0 and `None` when absent).
    pub fn get(&self, ns: &str, key: &str) -> Option<&Versioned> {
        self.kv.get(ns).and_then(|keys| keys.get(key))
    }

    /// Keys of a namespace starting with `prefix`, in key order, at most `limit`.
    pub fn scan(&self, ns: &str, prefix: &str, limit: usize) -> Vec<(String, Versioned)> {
        let Some(keys) = self.kv.get(ns) else {
            return Vec::new();
        };
        keys.range_from(prefix)
            .take_while(|(key, _)| key.starts_with(prefix))
            .take(limit)
            .map(|(key, versioned)| (key.clone(), versioned.clone()))
            .collect()
    }

    /// The group's live lease holder at `now`, if any, and its term.
    pub fn leader(&self, group: &str, now_ms: u64) -> (Option<String>, u64) {
        match self.groups.get(group) {
            Some(group) => (
                group.live_lease(now_ms).map(|l| l.holder.clone()),
                group.term,
            ),
            None => (None, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(at_ms: u64, command: Command) -> Request {
        Request {
            at_ms,
            command,
            idempotency_key: None,
        }
    }

    #[test]
    fn a_replayed_request_answers_its_first_response_without_applying_again() {
        let mut state = State::default();
        let put = Command::Put {
            ns: "n".into(),
            key: "k".into(),
            value: json!(1),
            if_version: None,
        };
        let keyed = Request {
            at_ms: 0,
            command: put,
            idempotency_key: Some("run-1/step/1".into()),
        };
        assert_eq!(
            state.apply(&keyed, POS),
            Response::Put {
                success: true,
                version: 1
            }
        );
        assert_eq!(
            state.apply(&keyed, POS),
            Response::Put {
                success: true,
                version: 1
            }
        );
        assert_eq!(state.get("n", "k").map(|v| v.version), Some(1));
        let finish = Command::FinishRun {
            run_id: "run-1".into(),
            output: None,
            error: None,
        };
        state.apply(&at(0, finish), POS);
        assert!(state.applied_keys.is_empty());
    }

    #[test]
    fn a_step_of_a_run_that_has_ended_changes_nothing() {
        // Found by the robustness harness: a driver that lost its lease proposed a step
        // after another driver had finished the run (and its keys were forgotten), and
        // the step took effect twice.
        let mut state = State::default();
        let start = Command::StartRun {
            run_id: "run-1".into(),
            bundle_hash: "sha256:0".into(),
            workflow: "w".into(),
            inputs: json!({}),
        };
        state.apply(&at(0, start), POS);
        let propose = Request {
            at_ms: 0,
            command: Command::Propose {
                group: "g".into(),
                value: json!("effect"),
            },
            idempotency_key: Some("run-1/second/1".into()),
        };
        assert!(matches!(
            state.apply(&propose, POS),
            Response::Propose { .. }
        ));
        let finish = Command::FinishRun {
            run_id: "run-1".into(),
            output: None,
            error: None,
        };
        state.apply(&at(0, finish), POS);
        let late = state.apply(&propose, POS);
        assert!(
            matches!(&late, Response::Refused { reason } if reason.contains("has ended")),
            "{late:?}"
        );
        assert_eq!(state.groups["g"].proposals.len(), 1);
        // Keys of no run (or of runs this state does not know) still apply once.
        let unrelated = Request {
            idempotency_key: Some("elsewhere/step/1".into()),
            ..propose
        };
        assert!(matches!(
            state.apply(&unrelated, POS),
            Response::Propose { .. }
        ));
    }

    const POS: LogPosition = LogPosition { index: 7, term: 2 };

    #[test]
    fn versions_increase_by_one_and_compare_and_set_checks_them() {
        let mut state = State::default();
        let put = |v: Option<u64>| Command::Put {
            ns: "n".into(),
            key: "k".into(),
            value: json!(1),
            if_version: v,
        };
        assert_eq!(
            state.apply(&at(0, put(Some(0))), POS),
            Response::Put {
                success: true,
                version: 1
            }
        );
        assert_eq!(
            state.apply(&at(0, put(None)), POS),
            Response::Put {
                success: true,
                version: 2
            }
        );
        assert_eq!(
            state.apply(&at(0, put(Some(1))), POS),
            Response::Put {
                success: false,
                version: 2
            }
        );
        assert_eq!(
            state.apply(&at(0, put(Some(2))), POS),
            Response::Put {
                success: true,
                version: 3
            }
        );
        assert_eq!(state.get("n", "k").map(|v| v.version), Some(3));
        let delete = Command::Delete {
            ns: "n".into(),
            key: "k".into(),
        };
        assert_eq!(
            state.apply(&at(0, delete.clone()), POS),
            Response::Delete { success: true }
        );
        assert_eq!(
            state.apply(&at(0, delete), POS),
            Response::Delete { success: false }
        );
        assert!(state.get("n", "k").is_none());
    }

    #[test]
    fn a_lease_is_exclusive_until_it_expires_and_each_new_holder_gets_a_new_term() {
        let mut state = State::default();
        let campaign = |who: &str| Command::Campaign {
            group: "g".into(),
            candidate: who.into(),
            ttl_ms: 100,
        };
        let won = state.apply(&at(1_000, campaign("a")), POS);
        assert_eq!(
            won,
            Response::Leadership {
                success: true,
                leader: Some("a".into()),
                term: 1
            }
        );
        let lost = state.apply(&at(1_050, campaign("b")), POS);
        assert_eq!(
            lost,
            Response::Leadership {
                success: false,
                leader: Some("a".into()),
                term: 1
            }
        );
        let renewed = state.apply(&at(1_090, campaign("a")), POS);
        assert_eq!(
            renewed,
            Response::Leadership {
                success: true,
                leader: Some("a".into()),
                term: 1
            }
        );
        assert_eq!(state.leader("g", 1_150), (Some("a".into()), 1));
        assert_eq!(state.leader("g", 1_200), (None, 1));
        let taken = state.apply(&at(1_200, campaign("b")), POS);
        assert_eq!(
            taken,
            Response::Leadership {
                success: true,
                leader: Some("b".into()),
                term: 2
            }
        );
        let renew = |who: &str| Command::Renew {
            group: "g".into(),
            holder: who.into(),
            ttl_ms: 100,
        };
        assert_eq!(
            state.apply(&at(1_205, renew("a")), POS),
            Response::Renew { success: false }
        );
        assert_eq!(
            state.apply(&at(1_205, renew("b")), POS),
            Response::Renew { success: true }
        );
        assert_eq!(state.leader("g", 1_300), (Some("b".into()), 2));
        let resign = |who: &str| Command::Resign {
            group: "g".into(),
            holder: who.into(),
        };
        assert_eq!(
            state.apply(&at(1_210, resign("a")), POS),
            Response::Resign { success: false }
        );
        assert_eq!(
            state.apply(&at(1_210, resign("b")), POS),
            Response::Resign { success: true }
        );
        assert_eq!(state.leader("g", 1_210), (None, 2));
    }

    #[test]
    fn global_order_is_gap_free_across_proposals() {
        let mut state = State::default();
        let order = |n: usize| Command::GlobalOrder {
            group: "g".into(),
            events: vec![json!(null); n],
        };
        assert_eq!(
            state.apply(&at(0, order(2)), POS),
            Response::Order {
                sequence: vec![1, 2]
            }
        );
        assert_eq!(
            state.apply(&at(0, order(3)), POS),
            Response::Order {
                sequence: vec![3, 4, 5]
            }
        );
        let propose = Command::Propose {
            group: "g".into(),
            value: json!({"a": 1}),
        };
        assert_eq!(
            state.apply(&at(0, propose), POS),
            Response::Propose { index: 7, term: 2 }
        );
    }

    #[test]
    fn scan_returns_a_prefix_in_key_order() {
        let mut state = State::default();
        for key in ["b2", "a1", "b1", "c1"] {
            let put = Command::Put {
                ns: "n".into(),
                key: key.into(),
                value: json!(key),
                if_version: None,
            };
            state.apply(&at(0, put), POS);
        }
        let keys: Vec<String> = state
            .scan("n", "b", 10)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec!["b1", "b2"]);
        assert_eq!(state.scan("n", "", 2).len(), 2);
        assert!(state.scan("missing", "", 10).is_empty());
    }
}
