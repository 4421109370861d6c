//! A workflow's parameter values from the command line (`--inputs FILE` and `--input
//! NAME=VALUE`), checked against the parameters' types, with defaults for the rest:
//! what `edgeflow run` and `edgeflow submit` pass to a run.

use crate::cli::WorkflowInputs;
use edgeflow_compiler::conform::{conform, conform_text};
use edgeflow_compiler::ir::Workflow;
use edgeflow_compiler::value::Value;
use std::collections::BTreeMap;

/// Parameter values from `--inputs FILE` and `--input name=value`, checked against the
/// workflow's parameter types, with defaults for the rest.
pub fn parameter_values(
    workflow: &Workflow,
    chosen: &WorkflowInputs,
) -> Result<BTreeMap<String, Value>, String> {
    let (pairs, file) = (&chosen.inputs, chosen.inputs_file.as_deref());
    let mut given: BTreeMap<String, Value> = BTreeMap::new();
    let param = |name: &str| {
        workflow
            .params
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = workflow.params.iter().map(|p| p.name.as_str()).collect();
                format!(
                    "workflow `{}` has no parameter `{name}` (it has: {})",
                    workflow.name,
                    names.join(", ")
                )
            })
    };
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let serde_json::Value::Object(map) = json else {
            return Err(format!(
                "{}: expected a JSON object of parameter values",
                path.display()
            ));
        };
        for (name, value) in &map {
            let declared = param(name)?;
            let value = conform(value, &declared.ty).map_err(|e| format!("input `{name}`: {e}"))?;
            given.insert(name.clone(), value);
        }
    }
    for pair in pairs {
        let (name, text) = pair
            .split_once('=')
            .ok_or_else(|| format!("`--input {pair}`: expected NAME=VALUE"))?;
        let declared = param(name)?;
        let value = conform_text(text, &declared.ty).map_err(|e| format!("input `{name}`: {e}"))?;
        given.insert(name.to_string(), value);
    }
    let mut values = BTreeMap::new();
    let mut missing = Vec::new();
    for param in &workflow.params {
        match given.remove(&param.name).or_else(|| param.default.clone()) {
            Some(value) => {
                values.insert(param.name.clone(), value);
            }
            None => missing.push(format!("{}: {}", param.name, param.ty)),
        }
    }
    if !missing.is_empty() {
        let plural = if missing.len() == 1 { "" } else { "s" };
        return Err(format!(
            "missing required input{plural} {} (give them with --input NAME=VALUE)",
            missing.join(", ")
        ));
    }
    Ok(values)
}
