//! Workflow runs (DESIGN.md §5): recorded before any step starts, each op step's result
//! committed as it completes, and the outcome at the end — so a run can be resumed after
//! the process driving it died, without re-applying completed steps.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub bundle_hash: String,
    pub workflow: String,
    pub inputs: serde_json::Value,
    pub status: RunStatus,
    /// Completed op steps by name.
    pub steps: BTreeMap<String, StepRecord>,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub started_at_ms: u64,
    pub finished_at_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step's value, in the IR's serde form.
    pub value: serde_json::Value,
    pub attempts: u32,
    pub elapsed_ms: u64,
    /// When the completion was committed (log time).
    pub completed_at_ms: u64,
}
