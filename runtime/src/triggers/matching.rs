//! Which deployed workflows an event starts: those whose `on event` names its type and
//! whose `where` holds with `trigger` bound to it. The programs are read from the
//! node's bundle store once and kept (a few) in memory.

use super::command::TriggeredRun;
use super::events::IncomingEvent;
use super::spec::TriggerKind;
use crate::node::Node;
use edgeflow_compiler::eval::{eval, Env};
use edgeflow_compiler::ir::{Program, StepId, Trigger, Workflow};
use edgeflow_compiler::types::Type;
use edgeflow_compiler::value::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Programs kept parsed; past it the cache is emptied and refilled on demand.
const PROGRAMS_KEPT: usize = 32;

#[derive(Default)]
pub struct Programs {
    by_hash: Mutex<HashMap<String, Arc<Program>>>,
}

impl Programs {
    pub async fn get(&self, node: &Node, hash: &str) -> Result<Arc<Program>, String> {
        if let Some(found) = self.kept().get(hash) {
            return Ok(found.clone());
        }
        let stored = node
            .bundle(hash)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("program {hash} is not stored"))?;
        let program = edgeflow_compiler::program::from_bundle(stored.as_bytes())
            .map(Arc::new)
            .map_err(|e| format!("program {hash}: {e}"))?;
        let mut kept = self.kept();
        if kept.len() >= PROGRAMS_KEPT {
            kept.clear();
        }
        kept.insert(hash.to_string(), program.clone());
        Ok(program)
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Program>>> {
        self.by_hash
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The type of `trigger` (LANGUAGE.md §2).
pub fn trigger_type() -> Type {
    Type::Record(
        vec![
            ("kind".to_string(), Type::String),
            ("type".to_string(), Type::String),
            ("source".to_string(), Type::String),
            ("data".to_string(), Type::Json),
            ("time".to_string(), Type::Time),
        ]
        .into(),
    )
}

/// `trigger` as a value, from the JSON a run records.
pub fn trigger_value(json: &serde_json::Value) -> Result<Value, String> {
    edgeflow_compiler::conform::conform(json, &trigger_type())
}

/// What a `where` filter can read: `trigger` only.
struct FilterEnv<'a> {
    trigger: &'a Value,
}

impl Env for FilterEnv<'_> {
    fn step(&self, _: StepId) -> Option<&Value> {
        None
    }

    fn param(&self, _: &str) -> Option<&Value> {
        None
    }

    fn trigger(&self) -> Option<&Value> {
        Some(self.trigger)
    }

    fn now(&self) -> Option<jiff::Timestamp> {
        Some(jiff::Timestamp::now())
    }
}

/// A new run of `workflow` of program `bundle_hash` started by `trigger`, its
/// parameters at their defaults. Its id is derived from `cause` (the event's source and
/// id, or the trigger and its tick) with the program and workflow: unique however many
/// runs start in the same millisecond, and the same for the same cause.
pub fn triggered_run(
    workflow: &Workflow,
    bundle_hash: &str,
    trigger: serde_json::Value,
    cause: &str,
) -> Result<TriggeredRun, String> {
    let inputs = edgeflow_compiler::inputs::bind(workflow, Vec::new())?;
    Ok(TriggeredRun {
        run_id: run_id_for(cause, bundle_hash, &workflow.name),
        bundle_hash: bundle_hash.to_string(),
        workflow: workflow.name.clone(),
        inputs: serde_json::json!(inputs),
        trigger,
    })
}

/// The id of the run `cause` starts of `workflow` in program `bundle_hash` (80 bits of
/// SHA-256: a time-and-random id collided at thousands of events a second, and a
/// collision silently merged two events' runs into one).
fn run_id_for(cause: &str, bundle_hash: &str, workflow: &str) -> String {
    let digest = Sha256::digest(format!("{cause}\u{0}{bundle_hash}\u{0}{workflow}"));
    let short: String = digest[..10].iter().map(|b| format!("{b:02x}")).collect();
    format!("run-{short}")
}

/// The runs `event` starts on the cluster's current deployments.
pub async fn runs_for(
    node: &Node,
    programs: &Programs,
    event: &IncomingEvent,
) -> Result<Vec<TriggeredRun>, String> {
    let candidates: Vec<(String, String, usize)> = node
        .read_local(|state| {
            state
                .deployments
                .triggers()
                .filter(|(_, t)| {
                    matches!(&t.kind, TriggerKind::Event { event_type } if *event_type == event.event_type)
                })
                .map(|(d, t)| (d.bundle_hash.clone(), t.workflow.clone(), t.index))
                .collect()
        })
        .await;
    let trigger_json = event.trigger_json();
    let trigger = trigger_value(&trigger_json)?;
    let mut runs = Vec::new();
    for (bundle_hash, workflow_name, index) in candidates {
        let program = programs.get(node, &bundle_hash).await?;
        let Some(workflow) = program.workflows.iter().find(|w| w.name == workflow_name) else {
            continue;
        };
        let filter = match workflow.triggers.get(index) {
            Some(Trigger::Event { filter, .. }) => filter.as_ref(),
            _ => continue,
        };
        let holds = match filter {
            None => true,
            Some(expr) => matches!(
                eval(expr, &FilterEnv { trigger: &trigger }),
                Ok(Value::Bool(true))
            ),
        };
        if holds {
            let cause = format!("event\u{0}{}\u{0}{}", event.source, event.id);
            runs.push(triggered_run(
                workflow,
                &bundle_hash,
                trigger_json.clone(),
                &cause,
            )?);
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::run_id_for;
    use std::collections::HashSet;

    #[test]
    fn run_ids_are_distinct_per_cause_and_stable_for_the_same_one() {
        let ids: HashSet<String> = (0..100_000)
            .map(|n| run_id_for(&format!("event\u{0}/s\u{0}{n}"), "sha256:h", "w"))
            .collect();
        assert_eq!(
            ids.len(),
            100_000,
            "every event of a burst gets its own run"
        );
        assert_eq!(
            run_id_for("event\u{0}/s\u{0}1", "sha256:h", "w"),
            run_id_for("event\u{0}/s\u{0}1", "sha256:h", "w")
        );
        assert_ne!(
            run_id_for("event\u{0}/s\u{0}1", "sha256:h", "w"),
            run_id_for("event\u{0}/s\u{0}1", "sha256:h", "other")
        );
    }
}
