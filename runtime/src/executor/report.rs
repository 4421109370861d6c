//! What a run produced: the output value, each step's outcome and timing, or the error
//! that stopped it, pointing at the step's source.

use edgeflow_compiler::ir::SourcePos;
use edgeflow_compiler::value::Value;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Succeeded,
    /// The `when` guard was false: the step's value is `none`.
    Skipped,
    /// Resumed run: the step had completed before; its recorded value is used.
    Replayed,
}

#[derive(Debug, Clone)]
pub struct StepReport {
    pub name: String,
    pub status: StepStatus,
    pub attempts: u32,
    pub elapsed: Duration,
}

#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_id: String,
    pub output: Value,
    /// In completion order.
    pub steps: Vec<StepReport>,
    pub elapsed: Duration,
}

#[derive(Debug, Clone)]
pub struct RunError {
    pub step: Option<String>,
    pub at: Option<SourcePos>,
    pub message: String,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.step, &self.at) {
            (Some(step), Some(at)) => {
                write!(
                    f,
                    "step `{step}` ({}:{}:{}) failed: {}",
                    at.file, at.line, at.column, self.message
                )
            }
            (Some(step), None) => write!(f, "step `{step}` failed: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for RunError {}
