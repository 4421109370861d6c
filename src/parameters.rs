//! A workflow's parameter values from the command line (`--inputs FILE` and `--input
//! NAME=VALUE`), checked against the parameters' types, with defaults for the rest:
//! what `edgeflow run` and `edgeflow submit` pass to a run.

use crate::cli::WorkflowInputs;
use edgeflow_compiler::inputs::{bind, Given};
use edgeflow_compiler::ir::Workflow;
use edgeflow_compiler::value::Value;
use std::collections::BTreeMap;

/// Parameter values from `--inputs FILE` and `--input name=value`, checked against the
/// workflow's parameter types, with defaults for the rest (`inputs::bind`, as the
/// cluster does for a submitted run).
pub fn parameter_values(
    workflow: &Workflow,
    chosen: &WorkflowInputs,
) -> Result<BTreeMap<String, Value>, String> {
    let mut given: Vec<(String, Given)> = Vec::new();
    if let Some(path) = chosen.inputs_file.as_deref() {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let serde_json::Value::Object(map) = json else {
            return Err(format!(
                "{}: expected a JSON object of parameter values",
                path.display()
            ));
        };
        given.extend(
            map.into_iter()
                .map(|(name, value)| (name, Given::Json(value))),
        );
    }
    for pair in &chosen.inputs {
        let (name, text) = pair
            .split_once('=')
            .ok_or_else(|| format!("`--input {pair}`: expected NAME=VALUE"))?;
        given.push((name.to_string(), Given::Text(text.to_string())));
    }
    bind(workflow, given).map_err(|message| {
        if message.starts_with("missing required input") {
            format!("{message} (give them with --input NAME=VALUE)")
        } else {
            message
        }
    })
}
