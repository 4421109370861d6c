//! Runs a workflow's DAG on tokio (DESIGN.md §5): every step whose inputs are ready
//! starts at once; pure steps are evaluated in place, op steps run as tasks with their
//! retry and timeout; a step whose `when` guard is false is skipped (its value is
//! `none`) and steps that only follow it still run. The first failing step stops the
//! run with an error that points at its source.

pub(crate) mod attempt;
mod env;
mod placed;
mod report;

pub use report::{RunError, RunReport, StepReport, StepStatus};

use crate::command::Command;
use crate::node::{now_us, Node};
use crate::op::{Args, OpContext, OpError, Registry};
use crate::state::assignments::{StepPolicy, StepWork};
use crate::user_ops::UserOps;
use attempt::{call_with_retries, AttemptPolicy, DEFAULT_BACKOFF};
use edgeflow_compiler::eval::{eval, EvalError};
use edgeflow_compiler::ir::{Expr, Step, StepKind, Workflow};
use edgeflow_compiler::value::Value;
use env::RunEnv;
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Op steps of one run running at once; more wait until one finishes.
pub const MAX_STEPS_IN_FLIGHT: usize = 64;

/// A callback told about every finished step.
pub type StepObserver = Arc<dyn Fn(&StepReport) + Send + Sync>;

pub struct Executor {
    pub registry: Registry,
    pub node: Arc<Node>,
    /// Called as each step finishes (progress output).
    pub on_step: Option<StepObserver>,
    /// The rate-limit policies of the program the runs come from.
    pub policies: Arc<Vec<edgeflow_compiler::ir::Policy>>,
    /// Its migrations, for `migrate.start`.
    pub migrations: Arc<Vec<edgeflow_compiler::ir::Migration>>,
    /// Its user (WebAssembly) ops.
    pub user_ops: Arc<UserOps>,
}

/// Which program a run belongs to, recorded with it so a resume runs the same code.
pub struct RunIdentity<'a> {
    pub run_id: &'a str,
    pub bundle_hash: &'a str,
    /// What started a triggered run: the value of `trigger` in its expressions.
    pub trigger: Option<Value>,
}

/// What a finished op task reports back.
struct Finished {
    step: usize,
    result: Result<Value, OpError>,
    attempts: u32,
    started: Instant,
    /// The edge of the node that ran a placed step.
    ran_on: Option<String>,
    /// A placed step's wait from ready to started, in microseconds.
    dispatch_us: Option<u64>,
}

impl Executor {
    /// Runs (or resumes, when the run id is already recorded) a workflow. The run is
    /// recorded before any step starts; each op step's result is committed as it
    /// completes; on resume, recorded steps are not called again.
    pub async fn run(
        &self,
        workflow: &Workflow,
        inputs: BTreeMap<String, Value>,
        identity: RunIdentity<'_>,
    ) -> Result<RunReport, RunError> {
        let run_id = identity.run_id;
        let recorded = self.start_record(workflow, &inputs, &identity).await?;
        let result = self
            .execute(workflow, inputs, identity.trigger, run_id, recorded)
            .await;
        let (output, error) = match &result {
            Ok(report) => (serde_json::to_value(&report.output).ok(), None),
            Err(error) => (None, Some(error.to_string())),
        };
        self.record(
            Command::FinishRun {
                run_id: run_id.to_string(),
                output,
                error,
            },
            format!("{run_id}/record/finish"),
        )
        .await?;
        result
    }

    /// Records a new run, or reads the steps an earlier attempt at it completed.
    async fn start_record(
        &self,
        workflow: &Workflow,
        inputs: &BTreeMap<String, Value>,
        identity: &RunIdentity<'_>,
    ) -> Result<BTreeMap<String, Value>, RunError> {
        let existing = self
            .node
            .read(|state| state.runs.get(identity.run_id).cloned())
            .await
            .map_err(|e| run_error(e.to_string()))?;
        let Some(record) = existing else {
            let inputs = serde_json::to_value(inputs).map_err(|e| run_error(e.to_string()))?;
            self.record(
                Command::StartRun {
                    run_id: identity.run_id.to_string(),
                    bundle_hash: identity.bundle_hash.to_string(),
                    workflow: workflow.name.clone(),
                    inputs,
                },
                format!("{}/record/start", identity.run_id),
            )
            .await?;
            return Ok(BTreeMap::new());
        };
        if record.bundle_hash != identity.bundle_hash || record.workflow != workflow.name {
            return Err(run_error(format!(
                "run {} was started from another program ({} of {}); resume it with the same file",
                identity.run_id, record.workflow, record.bundle_hash
            )));
        }
        let mut steps = BTreeMap::new();
        for (name, step) in record.steps {
            let value = serde_json::from_value(step.value)
                .map_err(|e| run_error(format!("recorded step {name}: {e}")))?;
            steps.insert(name, value);
        }
        Ok(steps)
    }

    /// Commits a run record change. Each is keyed (run id, what, step), so that when
    /// the answer is lost (the leader died) the write is sent again without applying
    /// twice.
    async fn record(&self, command: Command, key: String) -> Result<(), RunError> {
        self.node
            .write_once(command, Some(key))
            .await
            .map(|_| ())
            .map_err(|e| run_error(format!("cannot record the run: {e}")))
    }

    async fn execute(
        &self,
        workflow: &Workflow,
        inputs: BTreeMap<String, Value>,
        trigger: Option<Value>,
        run_id: &str,
        mut recorded: BTreeMap<String, Value>,
    ) -> Result<RunReport, RunError> {
        let started = Instant::now();
        let graph = &workflow.graph;
        let count = graph.node_count();
        let mut env = RunEnv {
            params: inputs,
            steps: vec![None; count],
            trigger,
        };
        let mut waiting: Vec<usize> = graph
            .node_indices()
            .map(|n| graph.edges_directed(n, Direction::Incoming).count())
            .collect();
        let mut ready: Vec<usize> = (0..count).filter(|i| waiting[*i] == 0).collect();
        let mut tasks: JoinSet<Finished> = JoinSet::new();
        let mut reports = Vec::with_capacity(count);
        let mut done = 0;

        while done < count {
            // At most `MAX_STEPS_IN_FLIGHT` op steps run at once: a run of ten thousand
            // parallel steps does not flood the log and stall every other client.
            while tasks.len() < MAX_STEPS_IN_FLIGHT {
                let Some(index) = ready.pop() else {
                    break;
                };
                let step = &graph[petgraph::graph::NodeIndex::new(index)];
                let step_started = Instant::now();
                let guard_passed = match &step.modifiers.guard {
                    Some(guard) => truthy(evaluate(guard, &env, step)?),
                    None => true,
                };
                let value = match (&step.kind, guard_passed) {
                    (_, false) => Some((Value::None, StepStatus::Skipped)),
                    (StepKind::Pure(expr), true) => {
                        Some((evaluate(expr, &env, step)?, StepStatus::Succeeded))
                    }
                    (StepKind::Op { .. }, true) if recorded.contains_key(&step.name) => recorded
                        .remove(&step.name)
                        .map(|value| (value, StepStatus::Replayed)),
                    (StepKind::Op { op, args }, true) => {
                        self.spawn_op(
                            &mut tasks,
                            index,
                            step,
                            op,
                            args,
                            &env,
                            run_id,
                            step_started,
                        )?;
                        None
                    }
                };
                if let Some((value, status)) = value {
                    env.steps[index] = Some(value);
                    let report = StepReport {
                        name: step.name.clone(),
                        status,
                        attempts: 0,
                        elapsed: step_started.elapsed(),
                    };
                    self.notify(&report);
                    reports.push(report);
                    done += 1;
                    release(workflow, index, &mut waiting, &mut ready);
                }
            }
            if done == count {
                break;
            }
            let Some(joined) = tasks.join_next().await else {
                return Err(RunError {
                    step: None,
                    at: None,
                    message: "the run stalled: no step can start".into(),
                });
            };
            let finished = joined.map_err(|e| RunError {
                step: None,
                at: None,
                message: format!("a step task failed: {e}"),
            })?;
            let step = &graph[petgraph::graph::NodeIndex::new(finished.step)];
            let value = finished
                .result
                .map_err(|error| step_error(step, error.to_string()))?;
            env.steps[finished.step] = Some(value);
            let report = StepReport {
                name: step.name.clone(),
                status: StepStatus::Succeeded,
                attempts: finished.attempts,
                elapsed: finished.started.elapsed(),
            };
            self.notify(&report);
            reports.push(report);
            done += 1;
            release(workflow, finished.step, &mut waiting, &mut ready);
        }

        let output = match &workflow.output {
            Some(expr) => eval(expr, &env).map_err(|e| RunError {
                step: None,
                at: None,
                message: format!("the output: {e}"),
            })?,
            None => Value::None,
        };
        Ok(RunReport {
            run_id: run_id.to_string(),
            output,
            steps: reports,
            elapsed: started.elapsed(),
        })
    }

    fn notify(&self, report: &StepReport) {
        if let Some(on_step) = &self.on_step {
            on_step(report);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn spawn_op(
        &self,
        tasks: &mut JoinSet<Finished>,
        index: usize,
        step: &Step,
        op_path: &str,
        args: &[(String, Expr)],
        env: &RunEnv,
        run_id: &str,
        started: Instant,
    ) -> Result<(), RunError> {
        let elsewhere = match &step.modifiers.placement {
            Some(placement) => self.placed_elsewhere(evaluate(placement, env, step)?),
            None => None,
        };
        let mut values = Vec::with_capacity(args.len());
        for (name, expr) in args {
            values.push((name.clone(), evaluate(expr, env, step)?));
        }
        let policy = AttemptPolicy {
            retries: step.modifiers.retry.as_ref().map_or(0, |r| r.attempts),
            backoff: match step
                .modifiers
                .retry
                .as_ref()
                .and_then(|r| r.backoff.as_ref())
            {
                Some(expr) => duration(evaluate(expr, env, step)?),
                None => DEFAULT_BACKOFF,
            },
            timeout: match &step.modifiers.timeout {
                Some(expr) => Some(duration(evaluate(expr, env, step)?)),
                None => None,
            },
        };
        if let Some(placement) = elsewhere {
            let work = StepWork {
                run_id: run_id.to_string(),
                step: step.name.clone(),
                op: op_path.to_string(),
                args: values
                    .iter()
                    .map(|(name, value)| Ok((name.clone(), serde_json::to_value(value)?)))
                    .collect::<Result<_, serde_json::Error>>()
                    .map_err(|e| step_error(step, e.to_string()))?,
                policy: StepPolicy {
                    retries: policy.retries,
                    backoff_ms: policy.backoff.as_millis() as u64,
                    timeout_ms: policy.timeout.map(|t| t.as_millis() as u64),
                },
                placement,
                ready_at_us: now_us(),
                bundle: self.user_ops.bundle_of(op_path),
            };
            let wait_for_node = policy.timeout.unwrap_or(placed::DEFAULT_WAIT_FOR_NODE);
            let (node, run_id, name) = (self.node.clone(), run_id.to_string(), step.name.clone());
            tasks.spawn(async move {
                let placed = placed::run_elsewhere(&node, work, wait_for_node).await;
                let finished = Finished {
                    step: index,
                    result: placed.result,
                    attempts: placed.attempts,
                    started,
                    ran_on: placed.ran_on,
                    dispatch_us: placed.dispatch_us,
                };
                record_completion(&node, &run_id, &name, finished).await
            });
            return Ok(());
        }
        let op = match (self.registry.get(op_path), self.user_ops.get(op_path)) {
            (Some(op), _) | (None, Some(Ok(op))) => op,
            (None, Some(Err(unusable))) => return Err(step_error(step, unusable.to_string())),
            (None, None) => {
                let unknown = OpError::Unknown {
                    op: op_path.to_string(),
                };
                return Err(step_error(step, unknown.to_string()));
            }
        };
        let context = OpContext {
            host: self.node.clone(),
            op: op_path.to_string(),
            run_id: run_id.to_string(),
            step: step.name.clone(),
            attempt: 0,
            policies: self.policies.clone(),
            migrations: self.migrations.clone(),
            timeout: policy.timeout,
        };
        let node = self.node.clone();
        tasks.spawn(async move {
            let (run_id, name) = (context.run_id.clone(), context.step.clone());
            let (result, attempts) = call_with_retries(op, context, Args(values), policy).await;
            let finished = Finished {
                step: index,
                result,
                attempts,
                started,
                ran_on: None,
                dispatch_us: None,
            };
            record_completion(&node, &run_id, &name, finished).await
        });
        Ok(())
    }

    /// The edges a placed step must run on, when that is not here: on the embedded node
    /// every edge is this machine; on a cluster a step placed on the driving node's own
    /// edge runs here, any other goes to a node of its placement.
    fn placed_elsewhere(&self, placement: Value) -> Option<Vec<String>> {
        if self.node.is_embedded() {
            return None;
        }
        let edges = edge_names(placement);
        (!edges.contains(&self.node.name)).then_some(edges)
    }
}

/// Commits a successful op step's result, keyed so it applies once. Each step's task
/// records its own, so steps finishing together are recorded concurrently (Raft batches
/// them) rather than one after another; a result that cannot be recorded fails the step.
async fn record_completion(node: &Node, run_id: &str, step: &str, finished: Finished) -> Finished {
    let Ok(value) = &finished.result else {
        return finished;
    };
    let recorded = match serde_json::to_value(value) {
        Ok(serialized) => {
            let completion = Command::CompleteStep {
                run_id: run_id.to_string(),
                step: step.to_string(),
                value: serialized,
                attempts: finished.attempts,
                elapsed_ms: finished.started.elapsed().as_millis() as u64,
                ran_on: finished.ran_on.clone(),
                dispatch_us: finished.dispatch_us,
            };
            let key = format!("{run_id}/record/step/{step}");
            node.write_once(completion, Some(key))
                .await
                .map(|_| ())
                .map_err(|e| {
                    format!(
                        "the step ran, but its result could not be recorded in the cluster ({e}); the run stops here and can be resumed"
                    )
                })
        }
        Err(e) => Err(format!("the step's value cannot be recorded: {e}")),
    };
    match recorded {
        Ok(()) => finished,
        Err(reason) => Finished {
            result: Err(OpError::Failed(reason)),
            ..finished
        },
    }
}

/// The edges a placement names: an edge, a list of them, or an `edge.select` /
/// `edge.discover` result (its `edge` or `edges` field).
fn edge_names(placement: Value) -> Vec<String> {
    match placement {
        Value::Edge(edge) | Value::String(edge) => vec![edge],
        Value::List(items) => items.into_iter().flat_map(edge_names).collect(),
        Value::Record(fields) => fields
            .into_iter()
            .filter(|(name, _)| name == "edge" || name == "edges")
            .flat_map(|(_, value)| edge_names(value))
            .collect(),
        _ => Vec::new(),
    }
}

/// Marks `index` finished: its dependents that were waiting only for it become ready.
fn release(workflow: &Workflow, index: usize, waiting: &mut [usize], ready: &mut Vec<usize>) {
    let node = petgraph::graph::NodeIndex::new(index);
    for edge in workflow.graph.edges_directed(node, Direction::Outgoing) {
        let target = edge.target().index();
        waiting[target] -= 1;
        if waiting[target] == 0 {
            ready.push(target);
        }
    }
}

fn evaluate(expr: &Expr, env: &RunEnv, step: &Step) -> Result<Value, RunError> {
    eval(expr, env).map_err(|error| match error {
        EvalError::NotConstant => step_error(step, "an input it needs is missing".into()),
        other => step_error(step, other.to_string()),
    })
}

fn truthy(value: Value) -> bool {
    matches!(value, Value::Bool(true))
}

fn duration(value: Value) -> Duration {
    match value {
        Value::Duration(nanos) if nanos > 0 => Duration::from_nanos(nanos as u64),
        _ => Duration::ZERO,
    }
}

fn run_error(message: String) -> RunError {
    RunError {
        step: None,
        at: None,
        message,
    }
}

fn step_error(step: &Step, message: String) -> RunError {
    RunError {
        step: Some(step.name.clone()),
        at: Some(step.at.clone()),
        message,
    }
}
