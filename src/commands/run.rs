//! `edgeflow run FILE`: compiles the file, starts (or restarts) the embedded
//! single-node cluster in the data dir, runs one workflow through the executor with the
//! standard library — recorded in the cluster, so `--resume RUN_ID` can finish a run
//! whose process died — and prints its output as JSON on stdout.

use crate::cli::RunOptions;
use crate::commands::EXIT_USAGE;
use crate::parameters::parameter_values;
use crate::pipeline::{choose_workflow, compile_with_modules};
use crate::user_code::WasmCode;
use edgeflow_compiler::ir::Program;
use edgeflow_compiler::value::Value;
use edgeflow_runtime::config::WasmConfig;
use edgeflow_runtime::executor::{
    Executor, RunError, RunIdentity, RunReport, StepReport, StepStatus,
};
use edgeflow_runtime::node::{now_ms, Node};
use edgeflow_runtime::user_ops::UserOps;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// The name the embedded node campaigns for leases under.
const LOCAL_NODE: &str = "local";

/// Why a run did not produce an output, and the exit status that says so.
enum Failure {
    /// Exit status 2; an empty message was already printed.
    Usage(String),
    /// A step failed: shown at its place in the source.
    Step(RunError),
    Run(String),
}

pub fn run(file: &Path, options: RunOptions) -> ExitCode {
    let program = match compile_with_modules(file, options.color) {
        Ok(program) => program,
        Err(code) => return code,
    };
    let runtime = match crate::async_runtime::start() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let report = match runtime.block_on(execute(&program, file, &options)) {
        Ok(report) => report,
        Err(Failure::Usage(message)) => {
            if !message.is_empty() {
                eprintln!("error: {message}");
            }
            return ExitCode::from(EXIT_USAGE);
        }
        Err(Failure::Run(message)) => {
            eprintln!("error: {message}");
            return ExitCode::from(1);
        }
        Err(Failure::Step(error)) => {
            eprint!("{}", describe_step_error(&error, options.color));
            return ExitCode::from(1);
        }
    };
    if show_progress(&options) {
        eprintln!(
            "{} finished in {:.1} ms",
            report.run_id,
            report.elapsed.as_secs_f64() * 1000.0
        );
    }
    crate::output::print_output(&report.output.to_json(), options.format);
    ExitCode::SUCCESS
}

fn show_progress(options: &RunOptions) -> bool {
    options.verbose || std::io::stderr().is_terminal()
}

async fn execute(
    program: &Program,
    file: &Path,
    options: &RunOptions,
) -> Result<RunReport, Failure> {
    let temporary = match options.ephemeral {
        true => Some(tempfile::TempDir::new().map_err(|e| Failure::Run(e.to_string()))?),
        false => None,
    };
    let data_dir = temporary
        .as_ref()
        .map_or(options.data.as_path(), |dir| dir.path());
    let node = Arc::new(
        Node::start_single(data_dir, LOCAL_NODE)
            .await
            .map_err(|e| Failure::Run(e.to_string()))?,
    );
    let result = run_on(&node, program, file, options).await;
    // Tokens leased and not spent go back, so the next run on this data dir has them.
    node.quotas().surrender(node.as_ref()).await;
    if let Ok(node) = Arc::try_unwrap(node) {
        node.shutdown()
            .await
            .map_err(|e| Failure::Run(e.to_string()))?;
    }
    result
}

async fn run_on(
    node: &Arc<Node>,
    program: &Program,
    file: &Path,
    options: &RunOptions,
) -> Result<RunReport, Failure> {
    let (run_id, workflow, inputs) = match &options.resume {
        Some(run_id) => {
            let record = node
                .read_local(|state| state.runs.get(run_id).cloned())
                .await;
            let record = record.ok_or_else(|| {
                Failure::Usage(format!("no run `{run_id}` in {}", options.data.display()))
            })?;
            let workflow =
                choose_workflow(program, Some(&record.workflow), file).map_err(|_| {
                    Failure::Usage(format!("run `{run_id}` ran workflow `{}`", record.workflow))
                })?;
            let inputs: BTreeMap<String, Value> = serde_json::from_value(record.inputs)
                .map_err(|e| Failure::Run(format!("the recorded inputs of `{run_id}`: {e}")))?;
            (run_id.clone(), workflow, inputs)
        }
        None => {
            let workflow = choose_workflow(program, options.chosen.workflow.as_deref(), file)
                .map_err(|_| Failure::Usage(String::new()))?; // choose_workflow said why
            let inputs = parameter_values(workflow, &options.chosen).map_err(Failure::Usage)?;
            (
                edgeflow_runtime::state::new_run_id(now_ms()),
                workflow,
                inputs,
            )
        }
    };
    let progress = show_progress(options);
    if progress {
        eprintln!(
            "{run_id} started: {} (resume with --resume {run_id})",
            workflow.name
        );
    }
    let verbose = options.verbose;
    let on_step =
        progress.then(|| Arc::new(move |step: &StepReport| print_step(step, verbose)) as _);
    let registry =
        edgeflow_stdlib::registry().with_user_code(WasmCode::start(&WasmConfig::default()));
    let user_ops = Arc::new(UserOps::of(program, registry.user_code()));
    let executor = Executor {
        registry,
        node: node.clone(),
        on_step,
        policies: Arc::new(program.policies.clone()),
        migrations: Arc::new(program.migrations.clone()),
        user_ops,
    };
    let identity = RunIdentity {
        run_id: &run_id,
        bundle_hash: &program.hash,
        trigger: None,
    };
    executor
        .run(workflow, inputs, identity)
        .await
        .map_err(Failure::Step)
}

fn print_step(step: &StepReport, verbose: bool) {
    let status = match step.status {
        StepStatus::Succeeded => "ok",
        StepStatus::Skipped => "skipped",
        StepStatus::Replayed => "replayed",
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

/// The error with the failing step's source line, when the source can still be read.
fn describe_step_error(error: &RunError, color: crate::cli::Color) -> String {
    let (Some(step), Some(at)) = (&error.step, &error.at) else {
        return format!("error: {error}\n");
    };
    let Ok(text) = std::fs::read_to_string(&at.file) else {
        return format!("error: {error}\n");
    };
    let message = format!("step `{step}` failed: {}", error.message);
    let span = (at.offset as usize, at.length as usize);
    let style = crate::output::style(color);
    edgeflow_compiler::report::render_located(&message, "this step", &at.file, &text, span, style)
}
