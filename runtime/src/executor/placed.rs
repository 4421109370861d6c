//! The driver's side of a step placed on another node: it records the assignment (the
//! state machine picks the node), then follows it in its own copy of the state until an
//! outcome arrives. When the assignee is gone (missed heartbeats) or no node matched,
//! it asks for a reassignment; a step that finds no node within its wait limit is
//! cancelled and fails with a message naming its placement.

use crate::command::{Command, Response};
use crate::dispatch::signals::Topic;
use crate::node::{now_ms, Node};
use crate::op::OpError;
use crate::state::assignments::{self, AssignmentStatus, Outcome, StepWork};
use crate::state::RunStatus;
use edgeflow_compiler::value::Value;
use std::time::{Duration, Instant};

/// How long a placed step without a `timeout` waits for a node of its placement.
pub const DEFAULT_WAIT_FOR_NODE: Duration = Duration::from_secs(300);
/// Looks at the assignment when its outcome is applied here, and at least this often
/// (a node going quiet, or an assignment reaching this node's copy, needs a look).
const LOOK_EVERY: Duration = Duration::from_millis(200);
/// Asks for a reassignment at most this often.
const REASSIGN_GAP: Duration = Duration::from_millis(200);

/// How a placed step ended.
pub struct PlacedOutcome {
    pub result: Result<Value, OpError>,
    pub attempts: u32,
    /// The edge of the node that ran it.
    pub ran_on: Option<String>,
    /// From ready to started on that node, in microseconds.
    pub dispatch_us: Option<u64>,
}

impl PlacedOutcome {
    fn failed(error: OpError) -> PlacedOutcome {
        PlacedOutcome {
            result: Err(error),
            attempts: 0,
            ran_on: None,
            dispatch_us: None,
        }
    }
}

/// Places the step and waits for its outcome.
pub async fn run_elsewhere(node: &Node, work: StepWork, wait_for_node: Duration) -> PlacedOutcome {
    let placement = describe(&work.placement);
    let (run_id, step, ready_at_us) = (work.run_id.clone(), work.step.clone(), work.ready_at_us);
    if let Err(error) = node.write(Command::Assign { work }).await {
        return PlacedOutcome::failed(OpError::Node(error));
    }
    let topic = Topic::Step(assignments::key(&run_id, &step));
    let mut finished = node.assignment_signals().subscribe(topic);
    let mut waiting_since: Option<Instant> = None;
    let mut last_reassign: Option<Instant> = None;
    loop {
        let now = now_ms();
        let (status, needs_node, edges, run_over) = node
            .read_local(|state| {
                let run_over = state
                    .runs
                    .get(&run_id)
                    .is_some_and(|run| run.status != RunStatus::Running);
                let assignment = state.assignments.get(&run_id, &step);
                let needs = assignment.is_some_and(|a| a.needs_node(&state.fleet, now));
                let edges = |id: u64| state.fleet.get(&id).map(|r| r.edge.clone());
                let ran_on = match assignment.map(|a| &a.status) {
                    Some(AssignmentStatus::Finished { node, .. }) => edges(*node),
                    _ => None,
                };
                (
                    assignment.map(|a| a.status.clone()),
                    needs,
                    ran_on,
                    run_over,
                )
            })
            .await;
        match status {
            // This node has not applied the assignment yet (the leader has).
            None if !run_over => {}
            None => {
                let gone = "the step's assignment is gone (its run has finished)";
                return PlacedOutcome::failed(OpError::Failed(gone.into()));
            }
            Some(AssignmentStatus::Finished {
                outcome,
                attempts,
                started_at_us,
                ..
            }) => {
                return PlacedOutcome {
                    result: decode(outcome),
                    attempts,
                    ran_on: edges,
                    dispatch_us: (started_at_us > 0)
                        .then(|| started_at_us.saturating_sub(ready_at_us)),
                }
            }
            Some(AssignmentStatus::Cancelled) => {
                return PlacedOutcome::failed(OpError::Failed(no_node(&placement, None)))
            }
            Some(AssignmentStatus::Waiting { .. }) => {
                let since = *waiting_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= wait_for_node {
                    return give_up(node, &run_id, &step, &placement, wait_for_node).await;
                }
            }
            Some(AssignmentStatus::Assigned { .. }) => waiting_since = None,
        }
        if needs_node && last_reassign.is_none_or(|at| at.elapsed() >= REASSIGN_GAP) {
            last_reassign = Some(Instant::now());
            let reassign = Command::Reassign {
                run_id: run_id.clone(),
                step: step.clone(),
            };
            // A failed write is tried again at the next look.
            let _ = node.write(reassign).await;
        }
        if let Ok(Err(_)) = tokio::time::timeout(LOOK_EVERY, finished.changed()).await {
            return PlacedOutcome::failed(OpError::Failed("the node is shutting down".into()));
        }
    }
}

/// Cancels a step nobody took; an outcome that arrived meanwhile still counts.
async fn give_up(
    node: &Node,
    run_id: &str,
    step: &str,
    placement: &str,
    waited: Duration,
) -> PlacedOutcome {
    let cancel = Command::CancelAssignment {
        run_id: run_id.to_string(),
        step: step.to_string(),
    };
    match node.write(cancel).await {
        Ok(Response::Assignment {
            status:
                Some(AssignmentStatus::Finished {
                    outcome, attempts, ..
                }),
        }) => PlacedOutcome {
            result: decode(outcome),
            attempts,
            ran_on: None,
            dispatch_us: None,
        },
        Ok(_) => PlacedOutcome::failed(OpError::Failed(no_node(placement, Some(waited)))),
        Err(error) => PlacedOutcome::failed(OpError::Node(error)),
    }
}

fn decode(outcome: Outcome) -> Result<Value, OpError> {
    match outcome {
        Outcome::Value(encoded) => serde_json::from_value(encoded)
            .map_err(|e| OpError::Failed(format!("the step's value: {e}"))),
        Outcome::Error(reason) => Err(OpError::Failed(reason)),
    }
}

fn describe(placement: &[String]) -> String {
    if placement.is_empty() {
        "no edge (the placement is empty)".into()
    } else {
        placement.join(", ")
    }
}

fn no_node(placement: &str, waited: Option<Duration>) -> String {
    let waited = waited.map_or(String::new(), |w| {
        format!(
            " within {}",
            edgeflow_compiler::value::format_duration(w.as_nanos().min(i64::MAX as u128) as i64)
        )
    });
    format!("the step is placed on {placement}, and no live node there took it{waited}")
}
