//! A workflow's parameter values from outside the program, bound to its parameters:
//! each named value made into a value of the parameter's declared type (`conform`),
//! unknown names refused, defaults filled in, missing required ones reported together.
//! The one code path for `edgeflow run`, `edgeflow submit` and the cluster's
//! `POST /v1/runs`, so a value refused by one is refused by all, with the same words.

use crate::conform::{conform, conform_text};
use crate::ir::Workflow;
use crate::value::Value;
use std::collections::BTreeMap;

/// One value as it was given.
pub enum Given {
    /// JSON (an inputs file, the HTTP API), in LANGUAGE.md §7's encoding.
    Json(serde_json::Value),
    /// Command-line text (`--input name=text`).
    Text(String),
}

/// Binds `given` (later values of a name win) to `workflow`'s parameters.
pub fn bind(
    workflow: &Workflow,
    given: impl IntoIterator<Item = (String, Given)>,
) -> Result<BTreeMap<String, Value>, String> {
    let mut bound: BTreeMap<String, Value> = BTreeMap::new();
    for (name, value) in given {
        let Some(param) = workflow.params.iter().find(|p| p.name == name) else {
            let names: Vec<&str> = workflow.params.iter().map(|p| p.name.as_str()).collect();
            return Err(format!(
                "workflow `{}` has no parameter `{name}` (it has: {})",
                workflow.name,
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ));
        };
        let value = match &value {
            Given::Json(json) => conform(json, &param.ty),
            Given::Text(text) => conform_text(text, &param.ty),
        }
        .map_err(|e| format!("input `{name}`: {e}"))?;
        bound.insert(name, value);
    }
    let mut values = BTreeMap::new();
    let mut missing = Vec::new();
    for param in &workflow.params {
        match bound.remove(&param.name).or_else(|| param.default.clone()) {
            Some(value) => {
                values.insert(param.name.clone(), value);
            }
            None => missing.push(format!("{}: {}", param.name, param.ty)),
        }
    }
    if !missing.is_empty() {
        let plural = if missing.len() == 1 { "" } else { "s" };
        return Err(format!(
            "missing required input{plural} {}",
            missing.join(", ")
        ));
    }
    Ok(values)
}
