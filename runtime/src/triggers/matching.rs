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
/// parameters at their defaults.
pub fn triggered_run(
    workflow: &Workflow,
    bundle_hash: &str,
    trigger: serde_json::Value,
) -> Result<TriggeredRun, String> {
    let inputs = edgeflow_compiler::inputs::bind(workflow, Vec::new())?;
    Ok(TriggeredRun {
        run_id: format!("run-{}-{:04x}", crate::node::now_ms(), fastrand::u16(..)),
        bundle_hash: bundle_hash.to_string(),
        workflow: workflow.name.clone(),
        inputs: serde_json::json!(inputs),
        trigger,
    })
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
            runs.push(triggered_run(workflow, &bundle_hash, trigger_json.clone())?);
        }
    }
    Ok(runs)
}
