//! `edgeflow run FILE`: compiles the file, starts (or restarts) the embedded
//! single-node cluster in the data dir, runs one workflow through the executor with the
//! standard library, and prints its output as JSON on stdout.

use crate::cli::{Color, RunFormat};
use crate::commands::EXIT_USAGE;
use crate::pipeline::{choose_workflow, compile};
use edgeflow_compiler::conform::{conform, conform_text};
use edgeflow_compiler::ir::Workflow;
use edgeflow_compiler::value::Value;
use edgeflow_runtime::executor::{Executor, RunReport, StepStatus};
use edgeflow_runtime::node::{now_ms, Node};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

pub struct RunOptions {
    pub workflow: Option<String>,
    pub inputs: Vec<String>,
    pub inputs_file: Option<PathBuf>,
    pub data: PathBuf,
    pub ephemeral: bool,
    pub format: Option<RunFormat>,
    pub verbose: bool,
    pub color: Color,
}

/// The name the embedded node campaigns for leases under.
const LOCAL_NODE: &str = "local";

pub fn run(file: &Path, options: RunOptions) -> ExitCode {
    let program = match compile(file, options.color) {
        Ok(program) => program,
        Err(code) => return code,
    };
    let workflow = match choose_workflow(&program, options.workflow.as_deref(), file) {
        Ok(workflow) => workflow,
        Err(code) => return code,
    };
    let inputs = match inputs(workflow, &options) {
        Ok(inputs) => inputs,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let report = runtime.block_on(execute(workflow, inputs, &options));
    let report = match report {
        Ok(report) => report,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(1);
        }
    };
    if options.verbose || std::io::stderr().is_terminal() {
        print_steps(&report, options.verbose);
    }
    let json = report.output.to_json();
    let pretty = match options.format {
        Some(RunFormat::Json) => false,
        Some(RunFormat::Pretty) => true,
        None => std::io::stdout().is_terminal(),
    };
    let text = if pretty {
        serde_json::to_string_pretty(&json)
    } else {
        serde_json::to_string(&json)
    };
    println!("{}", text.unwrap_or_else(|_| "null".to_string()));
    ExitCode::SUCCESS
}

async fn execute(
    workflow: &Workflow,
    inputs: BTreeMap<String, Value>,
    options: &RunOptions,
) -> Result<RunReport, String> {
    let temporary = if options.ephemeral {
        Some(tempfile::TempDir::new().map_err(|e| e.to_string())?)
    } else {
        None
    };
    let data_dir = temporary
        .as_ref()
        .map_or(options.data.as_path(), |dir| dir.path());
    let node = Node::start_single(data_dir, LOCAL_NODE)
        .await
        .map_err(|e| e.to_string())?;
    let node = Arc::new(node);
    let executor = Executor {
        registry: edgeflow_stdlib::registry(),
        node: node.clone(),
    };
    let run_id = format!("run-{}-{:04x}", now_ms(), fastrand::u16(..));
    let result = executor
        .run(workflow, inputs, &run_id)
        .await
        .map_err(|e| e.to_string());
    drop(executor);
    if let Ok(node) = Arc::try_unwrap(node) {
        node.shutdown().await.map_err(|e| e.to_string())?;
    }
    result
}

/// Parameter values from `--inputs FILE` and `--input name=value`, checked against the
/// workflow's parameter types, with defaults for the rest.
fn inputs(workflow: &Workflow, options: &RunOptions) -> Result<BTreeMap<String, Value>, String> {
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
    if let Some(path) = &options.inputs_file {
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
    for pair in &options.inputs {
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
        return Err(format!(
            "missing required input{} {} (give them with --input NAME=VALUE)",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        ));
    }
    Ok(values)
}

fn print_steps(report: &RunReport, verbose: bool) {
    for step in &report.steps {
        let status = match step.status {
            StepStatus::Succeeded => "ok",
            StepStatus::Skipped => "skipped",
        };
        if verbose {
            let attempts = if step.attempts > 1 {
                format!(" after {} attempts", step.attempts)
            } else {
                String::new()
            };
            eprintln!(
                "  {:<24} {status:<8} {:>9.3} ms{attempts}",
                step.name,
                step.elapsed.as_secs_f64() * 1000.0
            );
        } else {
            eprintln!("  {} {status}", step.name);
        }
    }
    eprintln!(
        "{} finished in {:.1} ms",
        report.run_id,
        report.elapsed.as_secs_f64() * 1000.0
    );
}
