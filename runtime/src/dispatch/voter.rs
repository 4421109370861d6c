//! A voter runs the steps assigned to it: it watches its own copy of the state for
//! assignments newer than the last it took, runs each with its own node as the op's
//! host, and commits the outcome (trying again until the cluster has it).

use super::in_hand::StepsInHand;
use super::perform::perform;
use super::signals::Topic;
use crate::command::{Command, Response};
use crate::node::Node;
use crate::op::Registry;
use crate::state::assignments::StepWork;
use std::sync::Arc;
use std::time::Duration;

/// Looks for new assignments whenever one is assigned here, and at least this often.
const LOOK_EVERY: Duration = Duration::from_millis(250);
/// The wait before reporting an outcome again after a failed attempt.
const REPORT_RETRY: Duration = Duration::from_millis(200);

/// Takes this voter's assignments until the node stops.
pub async fn serve(node: Arc<Node>, registry: Registry, in_hand: StepsInHand) {
    let me = node.id();
    let mut assigned = node.assignment_signals().subscribe(Topic::AssignedTo(me));
    let mut last_seen = 0;
    loop {
        let new: Vec<(u64, StepWork)> = node
            .read_local(|state| {
                state
                    .assignments
                    .assigned_to(me, last_seen)
                    .map(|(a, _)| (a.seq, a.work.to_run()))
                    .collect()
            })
            .await;
        for (seq, work) in new {
            last_seen = last_seen.max(seq);
            let (node, registry, holding) = (node.clone(), registry.clone(), in_hand.hold());
            tokio::spawn(async move {
                let host = node.clone();
                let performed = perform(&registry, host, &work).await;
                let report = Command::FinishAssignment {
                    run_id: work.run_id.clone(),
                    step: work.step.clone(),
                    node: node.id(),
                    seq,
                    outcome: performed.outcome,
                    attempts: performed.attempts,
                    started_at_us: performed.started_at_us,
                };
                drop(holding);
                let (run, step) = (work.run_id.as_str(), work.step.as_str());
                loop {
                    match node.write(report.clone()).await {
                        Ok(Response::Refused { reason }) => {
                            tracing::warn!(
                                run,
                                step,
                                "the cluster refused a placed step's outcome: {reason}"
                            );
                            break;
                        }
                        Ok(_) => break,
                        Err(error) => {
                            tracing::warn!(run, step, "cannot report a placed step yet: {error}");
                            tokio::time::sleep(REPORT_RETRY).await;
                        }
                    }
                }
            });
        }
        if let Ok(Err(_)) = tokio::time::timeout(LOOK_EVERY, assigned.changed()).await {
            return; // The node has stopped.
        }
    }
}
