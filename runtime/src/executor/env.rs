//! What a run's expressions can read: its inputs, the outputs of finished steps, the
//! trigger, and the clock.

use edgeflow_compiler::eval::Env;
use edgeflow_compiler::ir::StepId;
use edgeflow_compiler::value::Value;
use std::collections::BTreeMap;

pub struct RunEnv {
    pub params: BTreeMap<String, Value>,
    /// `None` until the step has finished (or was skipped: then `Some(Value::None)`).
    pub steps: Vec<Option<Value>>,
    pub trigger: Option<Value>,
}

impl Env for RunEnv {
    fn step(&self, id: StepId) -> Option<&Value> {
        self.steps.get(id as usize).and_then(Option::as_ref)
    }

    fn param(&self, name: &str) -> Option<&Value> {
        self.params.get(name)
    }

    fn trigger(&self) -> Option<&Value> {
        self.trigger.as_ref()
    }

    fn now(&self) -> Option<jiff::Timestamp> {
        Some(jiff::Timestamp::now())
    }
}
