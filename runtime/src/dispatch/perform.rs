//! Running a placed step on the node it was assigned to: the same op, arguments and
//! retry policy the driver would have used, with this node as the op's host (its own
//! Raft node on a voter; the cluster's API on a worker). Effects carry the same
//! idempotency keys (run, step, attempt) wherever the step runs, so a step run again
//! after a reassignment does not apply them twice.

use crate::executor::attempt::{call_with_retries, AttemptPolicy};
use crate::node::now_us;
use crate::op::{Args, OpContext, OpError, Registry};
use crate::op_host::OpHost;
use crate::state::assignments::{Outcome, StepWork};
use edgeflow_compiler::value::Value;
use std::sync::Arc;
use std::time::Duration;

/// How a step ran here.
pub struct Performed {
    pub outcome: Outcome,
    pub attempts: u32,
    /// When it started (Unix microseconds).
    pub started_at_us: u64,
}

/// Runs the step.
pub async fn perform(registry: &Registry, host: Arc<dyn OpHost>, work: &StepWork) -> Performed {
    let started_at_us = now_us();
    let (outcome, attempts) = run(registry, host, work).await;
    Performed {
        outcome,
        attempts,
        started_at_us,
    }
}

/// The step's outcome and the attempts it took.
async fn run(registry: &Registry, host: Arc<dyn OpHost>, work: &StepWork) -> (Outcome, u32) {
    let op = match (registry.get(&work.op), &work.bundle) {
        (Some(op), _) => op,
        (None, Some(bundle)) => match registry
            .fetched_user_op(host.as_ref(), bundle, &work.op)
            .await
        {
            Ok(op) => op,
            Err(error) => return (Outcome::Error(error.to_string()), 1),
        },
        (None, None) => {
            let error = OpError::Unknown {
                op: work.op.clone(),
            };
            return (Outcome::Error(error.to_string()), 1);
        }
    };
    let mut values = Vec::with_capacity(work.args.len());
    for (name, encoded) in &work.args {
        match serde_json::from_value::<Value>(encoded.clone()) {
            Ok(value) => values.push((name.clone(), value)),
            Err(e) => return (Outcome::Error(format!("argument `{name}`: {e}")), 1),
        }
    }
    let policy = AttemptPolicy {
        retries: work.policy.retries,
        backoff: Duration::from_millis(work.policy.backoff_ms),
        timeout: work.policy.timeout_ms.map(Duration::from_millis),
    };
    let context = OpContext {
        host,
        op: work.op.clone(),
        run_id: work.run_id.clone(),
        step: work.step.clone(),
        attempt: 0,
        // A placed step does not carry its program's policies: `ratelimit.*` there uses
        // the cluster's deployed ones.
        policies: Default::default(),
        migrations: Default::default(),
        timeout: policy.timeout,
    };
    let (result, attempts) = call_with_retries(op, context, Args(values), policy).await;
    let outcome = match result.map(|value| serde_json::to_value(&value)) {
        Ok(Ok(encoded)) => Outcome::Value(encoded),
        Ok(Err(e)) => Outcome::Error(format!("the step's value cannot be encoded: {e}")),
        Err(error) => Outcome::Error(error.to_string()),
    };
    (outcome, attempts)
}
