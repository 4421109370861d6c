//! `edgeflow submit FILE --cluster URL`: compiles the file, checks the inputs against
//! the workflow's parameters, and submits the run with its bundle to the cluster; prints
//! the run id, or with `--wait` follows the run to its end and prints its output.

use crate::cli::{ClusterTarget, SubmitOptions};
use crate::commands::remote::{block_on, connect, segment, Failure};
use crate::parameters::parameter_values;
use crate::pipeline::{bundle_json, choose_workflow, compile_with_modules};
use edgeflow_runtime::state::{RunRecord, RunStatus};
use serde_json::{json, Value};
use std::path::Path;
use std::process::ExitCode;

/// How long one request waits for the run to finish before asking again.
const WAIT_PER_REQUEST_MS: u64 = 20_000;

pub fn run(file: &Path, options: SubmitOptions, target: &ClusterTarget) -> ExitCode {
    let program = match compile_with_modules(file, options.color) {
        Ok(program) => program,
        Err(code) => return code,
    };
    let workflow = match choose_workflow(&program, options.chosen.workflow.as_deref(), file) {
        Ok(workflow) => workflow,
        Err(code) => return code,
    };
    let inputs = match parameter_values(workflow, &options.chosen) {
        Ok(inputs) => inputs,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(crate::commands::EXIT_USAGE);
        }
    };
    let bundle = match bundle_json(&program) {
        Ok(bundle) => bundle,
        Err(code) => return code,
    };
    // In §7's JSON encoding: the cluster checks them again, as `run` does.
    let inputs: serde_json::Map<String, Value> = inputs
        .iter()
        .map(|(name, value)| (name.clone(), value.to_json()))
        .collect();
    let submission = json!({ "bundle": bundle, "workflow": workflow.name, "inputs": inputs });
    block_on(async move {
        let client = connect(target)?;
        let submitted = client.post("/v1/runs", submission).await?;
        let run_id = submitted["run_id"].as_str().unwrap_or_default().to_string();
        if !options.wait {
            println!("{run_id}");
            return Ok(());
        }
        eprintln!("{run_id} submitted; waiting for it to finish");
        let path = format!(
            "/v1/runs/{}?wait_ms={WAIT_PER_REQUEST_MS}",
            segment(&run_id)
        );
        loop {
            let answer = client.get(&path).await?;
            let record: RunRecord = serde_json::from_value(answer).map_err(|e| {
                Failure::Failed(format!("the cluster's answer about {run_id}: {e}"))
            })?;
            match record.status {
                RunStatus::Running => continue,
                RunStatus::Failed | RunStatus::Cancelled | RunStatus::Skipped => {
                    return Err(Failure::Failed(format!(
                        "run {run_id} {}: {}",
                        record.status.name(),
                        record.error.unwrap_or_default()
                    )))
                }
                RunStatus::Succeeded => {
                    let output = record
                        .output
                        .and_then(|recorded| {
                            serde_json::from_value::<edgeflow_compiler::value::Value>(recorded).ok()
                        })
                        .map_or(Value::Null, |value| value.to_json());
                    crate::output::print_output(&output, options.format);
                    return Ok(());
                }
            }
        }
    })
}
