//! Steps placed on other nodes (DESIGN.md §5–§6): the run's driver records an
//! `Assignment` of the step — op, arguments, retry policy and the edges it may run on —
//! and the state machine picks the node, deterministically, from the fleet registry as
//! of the entry's log time: a live node of one of those edges that takes work (not in
//! maintenance, not draining), the one holding the fewest assignments. The assignee
//! holds the step while it stays live (heartbeats on time); when it is not, the driver
//! asks for a reassignment, which the state machine grants only if the assignee is
//! indeed gone by log time. The first outcome reported is kept: a step is completed once,
//! whoever ran it.

use super::fleet::{EdgeRecord, WorkerState};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// How a placed step is retried and bounded (the step's `retry`, `backoff`, `timeout`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepPolicy {
    pub retries: u32,
    pub backoff_ms: u64,
    pub timeout_ms: Option<u64>,
}

/// What a placed step is: enough for another node to run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepWork {
    pub run_id: String,
    pub step: String,
    pub op: String,
    /// Evaluated arguments, in the IR's serde form.
    pub args: Vec<(String, serde_json::Value)>,
    pub policy: StepPolicy,
    /// The edges the step may run on, in the placement's order.
    pub placement: Vec<String>,
    /// When the step became ready (the driver's clock, Unix microseconds).
    #[serde(default)]
    pub ready_at_us: u64,
    /// For a user op: the program (by content hash) whose module implements it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
}

impl StepWork {
    /// The step for the node that runs it: without the list of every edge it could
    /// have gone to (all of a discovery's edges, kilobytes for a large fleet).
    pub fn to_run(&self) -> StepWork {
        StepWork {
            run_id: self.run_id.clone(),
            step: self.step.clone(),
            op: self.op.clone(),
            args: self.args.clone(),
            policy: self.policy.clone(),
            placement: Vec::new(),
            ready_at_us: self.ready_at_us,
            bundle: self.bundle.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The op's value, in the IR's serde form.
    Value(serde_json::Value),
    /// Why the last attempt failed.
    Error(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AssignmentStatus {
    /// No live node matches the placement now.
    Waiting { since_ms: u64 },
    /// `node` (of edge `edge`) holds the step.
    Assigned { node: u64, edge: String, at_ms: u64 },
    Finished {
        node: u64,
        outcome: Outcome,
        attempts: u32,
        /// When the node started it (its clock, Unix microseconds).
        #[serde(default)]
        started_at_us: u64,
    },
    /// The driver gave up waiting for a node.
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub work: StepWork,
    pub status: AssignmentStatus,
    /// Log index of the latest (re)assignment: a node asks for the work assigned after
    /// the last it saw.
    pub seq: u64,
    /// Nodes that held the step before, in order (a reassignment adds one).
    #[serde(default)]
    pub earlier: Vec<u64>,
}

/// The key of a run's step among the assignments.
pub fn key(run_id: &str, step: &str) -> String {
    format!("{run_id}/{step}")
}

impl AssignmentStatus {
    /// Not finished or cancelled yet: an outcome reported now is recorded.
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            AssignmentStatus::Waiting { .. } | AssignmentStatus::Assigned { .. }
        )
    }
}

impl Assignment {
    /// Whether `node` may report how this step ended, having run the assignment made at
    /// log index `seq`: it holds the step now, or held it last and nobody was picked
    /// since (a node cut off that comes back with its outcome), and `seq` is one of the
    /// step's assignments so far (not 0, not beyond the current one — a node cut off
    /// may have been given the step again meanwhile, and its report of the earlier
    /// assignment is as good). A node that held the step once but not now (it was
    /// reassigned elsewhere) is refused, as is one that never held it, or a report after
    /// another node's stood.
    pub fn may_report(&self, node: u64, seq: u64) -> Result<(), String> {
        let step = format!("{}/{}", self.work.run_id, self.work.step);
        let holder = match &self.status {
            AssignmentStatus::Assigned { node: holder, .. } => Some(*holder),
            AssignmentStatus::Waiting { .. } => self.earlier.last().copied(),
            AssignmentStatus::Finished { node: finisher, .. } => {
                return if *finisher == node {
                    Ok(())
                } else {
                    Err(format!("step {step} was finished by node {finisher}"))
                };
            }
            AssignmentStatus::Cancelled => return Ok(()),
        };
        match holder {
            Some(holder) if holder != node => Err(format!(
                "step {step} is assigned to node {holder}, not to node {node}"
            )),
            None => Err(format!("step {step} is not assigned to node {node}")),
            Some(_) if seq == 0 || seq > self.seq => Err(format!(
                "node {node} reported assignment {seq} of step {step}, which was never made (the step is at assignment {})",
                self.seq
            )),
            Some(_) => Ok(()),
        }
    }

    /// Whether the step needs a node: nobody holds it, or its holder is gone at `now`.
    pub fn needs_node(&self, fleet: &BTreeMap<u64, EdgeRecord>, now: u64) -> bool {
        match &self.status {
            AssignmentStatus::Waiting { .. } => true,
            AssignmentStatus::Assigned { node, .. } => !fleet.get(node).is_some_and(|record| {
                !matches!(
                    record.state_at(now),
                    WorkerState::Unknown | WorkerState::Offline | WorkerState::OfflineMaintenance
                )
            }),
            AssignmentStatus::Finished { .. } | AssignmentStatus::Cancelled => false,
        }
    }
}

/// The assignments, and the changes the state machine makes to them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Assignments {
    by_key: BTreeMap<String, Assignment>,
}

impl Assignments {
    pub fn get(&self, run_id: &str, step: &str) -> Option<&Assignment> {
        self.by_key.get(&key(run_id, step))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Assignment> {
        self.by_key.values()
    }

    /// The steps `node` holds that were assigned after log index `after`, with when
    /// each was assigned: what the node has not taken yet.
    pub fn assigned_to(&self, node: u64, after: u64) -> impl Iterator<Item = (&Assignment, u64)> {
        self.by_key
            .values()
            .filter(move |a| a.seq > after)
            .filter_map(move |a| match a.status {
                AssignmentStatus::Assigned { node: n, at_ms, .. } if n == node => Some((a, at_ms)),
                _ => None,
            })
    }

    /// Records a placed step and picks its node (a second `assign` of the same step
    /// changes nothing).
    pub fn assign(
        &mut self,
        work: &StepWork,
        fleet: &BTreeMap<u64, EdgeRecord>,
        now: u64,
        seq: u64,
    ) -> AssignmentStatus {
        let key = key(&work.run_id, &work.step);
        if let Some(existing) = self.by_key.get(&key) {
            return existing.status.clone();
        }
        let status = self.pick(&work.placement, fleet, now);
        self.by_key.insert(
            key,
            Assignment {
                work: work.clone(),
                status: status.clone(),
                seq,
                earlier: Vec::new(),
            },
        );
        status
    }

    /// Picks a node again if the step needs one at `now`; the status after.
    pub fn reassign(
        &mut self,
        run_id: &str,
        step: &str,
        fleet: &BTreeMap<u64, EdgeRecord>,
        now: u64,
        seq: u64,
    ) -> Option<AssignmentStatus> {
        let key = key(run_id, step);
        let assignment = self.by_key.get(&key)?;
        if !assignment.needs_node(fleet, now) {
            return Some(assignment.status.clone());
        }
        let placement = assignment.work.placement.clone();
        let previous = match &assignment.status {
            AssignmentStatus::Assigned { node, .. } => Some(*node),
            _ => None,
        };
        let status = match self.pick(&placement, fleet, now) {
            // Still waiting: keep the time it started waiting.
            AssignmentStatus::Waiting { .. }
                if matches!(assignment.status, AssignmentStatus::Waiting { .. }) =>
            {
                assignment.status.clone()
            }
            picked => picked,
        };
        let assignment = self.by_key.get_mut(&key)?;
        if let AssignmentStatus::Assigned { .. } = status {
            assignment.seq = seq;
        }
        assignment.earlier.extend(previous);
        assignment.status = status.clone();
        Some(status)
    }

    /// Records the first outcome reported for a step; later ones change nothing.
    pub fn finish(
        &mut self,
        run_id: &str,
        step: &str,
        node: u64,
        outcome: &Outcome,
        attempts: u32,
        started_at_us: u64,
    ) -> Option<AssignmentStatus> {
        let assignment = self.by_key.get_mut(&key(run_id, step))?;
        if assignment.status.is_open() {
            assignment.status = AssignmentStatus::Finished {
                node,
                outcome: outcome.clone(),
                attempts,
                started_at_us,
            };
        }
        Some(assignment.status.clone())
    }

    /// The driver stops waiting: an unfinished step is cancelled.
    pub fn cancel(&mut self, run_id: &str, step: &str) -> Option<AssignmentStatus> {
        let assignment = self.by_key.get_mut(&key(run_id, step))?;
        if !matches!(assignment.status, AssignmentStatus::Finished { .. }) {
            assignment.status = AssignmentStatus::Cancelled;
        }
        Some(assignment.status.clone())
    }

    /// Forgets a finished run's assignments.
    pub fn drop_run(&mut self, run_id: &str) {
        self.by_key.retain(|_, a| a.work.run_id != run_id);
    }

    /// Steps each node holds now.
    fn held(&self) -> BTreeMap<u64, usize> {
        let mut held = BTreeMap::new();
        for assignment in self.by_key.values() {
            if let AssignmentStatus::Assigned { node, .. } = assignment.status {
                *held.entry(node).or_insert(0) += 1;
            }
        }
        held
    }

    /// The node for a placement at `now`: a live node of one of its edges that takes
    /// work, holding the fewest steps; ties go to the earlier edge of the placement,
    /// then the lower node id.
    fn pick(
        &self,
        placement: &[String],
        fleet: &BTreeMap<u64, EdgeRecord>,
        now: u64,
    ) -> AssignmentStatus {
        let held = self.held();
        // Placements may name every edge of a large fleet: rank them once.
        let mut ranks: HashMap<&str, usize> = HashMap::with_capacity(placement.len());
        for (rank, edge) in placement.iter().enumerate() {
            ranks.entry(edge.as_str()).or_insert(rank);
        }
        let chosen = fleet
            .values()
            .filter(|record| !record.draining && record.state_at(now).accepts_work())
            .filter_map(|record| {
                let rank = *ranks.get(record.edge.as_str())?;
                Some((held.get(&record.node).copied().unwrap_or(0), rank, record))
            })
            .min_by_key(|(held, rank, record)| (*held, *rank, record.node));
        match chosen {
            Some((_, _, record)) => AssignmentStatus::Assigned {
                node: record.node,
                edge: record.edge.clone(),
                at_ms: now,
            },
            None => AssignmentStatus::Waiting { since_ms: now },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::fleet::{Beat, EdgeLabels, EdgeRole, SystemMetrics};

    fn live_worker(node: u64, edge: &str, now: u64) -> EdgeRecord {
        let mut record = EdgeRecord::new(node, edge, EdgeRole::Worker, "", EdgeLabels::default());
        record.heartbeat_interval_ms = 100;
        let beat = Beat::idle(SystemMetrics::default(), None);
        record.beat(&beat, now);
        record.beat(&beat, now);
        record
    }

    fn work(step: &str, placement: &[&str]) -> StepWork {
        StepWork {
            run_id: "r".into(),
            step: step.into(),
            op: "log.emit".into(),
            args: Vec::new(),
            policy: StepPolicy {
                retries: 0,
                backoff_ms: 100,
                timeout_ms: None,
            },
            placement: placement.iter().map(|e| e.to_string()).collect(),
            ready_at_us: 0,
            bundle: None,
        }
    }

    fn assigned_to(status: &AssignmentStatus) -> Option<u64> {
        match status {
            AssignmentStatus::Assigned { node, .. } => Some(*node),
            _ => None,
        }
    }

    #[test]
    fn steps_spread_over_live_matching_nodes_and_wait_when_none_matches() {
        let fleet: BTreeMap<u64, EdgeRecord> = [live_worker(1, "a", 0), live_worker(2, "b", 0)]
            .into_iter()
            .map(|r| (r.node, r))
            .collect();
        let mut assignments = Assignments::default();
        let first = assignments.assign(&work("s1", &["a", "b"]), &fleet, 10, 1);
        let second = assignments.assign(&work("s2", &["a", "b"]), &fleet, 10, 2);
        assert_eq!(assigned_to(&first), Some(1));
        assert_eq!(assigned_to(&second), Some(2), "the less busy node");
        let nowhere = assignments.assign(&work("s3", &["c"]), &fleet, 10, 3);
        assert_eq!(nowhere, AssignmentStatus::Waiting { since_ms: 10 });
        let again = assignments.assign(&work("s1", &["b"]), &fleet, 20, 4);
        assert_eq!(again, first, "assigning twice changes nothing");
    }

    #[test]
    fn a_step_moves_only_when_its_node_is_gone_and_finishes_once() {
        let mut fleet: BTreeMap<u64, EdgeRecord> = [live_worker(1, "a", 0)]
            .into_iter()
            .map(|r| (r.node, r))
            .collect();
        let mut assignments = Assignments::default();
        assignments.assign(&work("s", &["a", "b"]), &fleet, 10, 1);
        let kept = assignments.reassign("r", "s", &fleet, 200, 2);
        assert_eq!(
            kept.as_ref().and_then(assigned_to),
            Some(1),
            "node 1 is live"
        );
        fleet.insert(2, live_worker(2, "b", 900));
        let moved = assignments.reassign("r", "s", &fleet, 1_000, 3);
        assert_eq!(
            moved.as_ref().and_then(assigned_to),
            Some(2),
            "node 1 is gone"
        );
        let held = assignments
            .get("r", "s")
            .map(|a| (a.seq, a.earlier.clone()));
        assert_eq!(held, Some((3, vec![1])));
        let outcome = Outcome::Value(serde_json::json!(1));
        assignments.finish("r", "s", 1, &outcome, 1, 5);
        let late = assignments.finish("r", "s", 2, &Outcome::Error("x".into()), 1, 6);
        assert_eq!(
            late,
            Some(AssignmentStatus::Finished {
                node: 1,
                outcome,
                attempts: 1,
                started_at_us: 5,
            }),
            "the first outcome stands, even from the earlier holder"
        );
        assignments.drop_run("r");
        assert!(assignments.get("r", "s").is_none());
    }
}
