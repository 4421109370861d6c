//! `edgeflow runs` and `edgeflow runs show ID`: the runs recorded in a data dir's
//! replicated state, or on a cluster (`--cluster`), for people (a table) or tools
//! (`--format json`).

use crate::cli::{ClusterTarget, Format, RunsAction};
use crate::commands::remote::{block_on, connect, segment, Failure};
use crate::commands::EXIT_USAGE;
use edgeflow_runtime::api::RunView;
use edgeflow_runtime::node::Node;
use edgeflow_runtime::state::assignments::AssignmentStatus;
use edgeflow_runtime::state::RunRecord;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

fn cancel_needs_a_cluster() -> ExitCode {
    eprintln!(
        "error: `runs cancel` cancels a run on a cluster: give --cluster URL (a run of `edgeflow run` stops with its process)"
    );
    ExitCode::from(EXIT_USAGE)
}

pub fn run(
    action: Option<RunsAction>,
    data: &Path,
    workflow: Option<&str>,
    format: Format,
) -> ExitCode {
    if let Some(RunsAction::Cancel { .. }) = action {
        return cancel_needs_a_cluster();
    }
    if !data.join("raft.redb").exists() {
        eprintln!(
            "error: no edgeflow data in {} (runs are recorded by `edgeflow run --data DIR`)",
            data.display()
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let runtime = match crate::async_runtime::start() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let runs = runtime.block_on(async {
        let node = Node::start_single(data, "local")
            .await
            .map_err(|e| e.to_string())?;
        let runs: Vec<RunRecord> = node
            .read_local(|state| state.runs.values().cloned().collect())
            .await;
        node.shutdown().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(runs)
    });
    let mut runs = match runs {
        Ok(runs) => runs,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(1);
        }
    };
    runs.sort_by_key(|r| r.started_at_ms);
    match action {
        None => list(&runs, workflow, format),
        Some(RunsAction::Show { run_id }) => match runs.iter().find(|r| r.run_id == run_id) {
            Some(record) => show(record, &BTreeMap::new(), format),
            None => {
                eprintln!("error: no run `{run_id}` in {}", data.display());
                return ExitCode::from(EXIT_USAGE);
            }
        },
        Some(RunsAction::Cancel { .. }) => return cancel_needs_a_cluster(),
    }
    ExitCode::SUCCESS
}

/// The same listing and detail, from a running cluster.
pub fn from_cluster(
    action: Option<RunsAction>,
    target: &ClusterTarget,
    workflow: Option<&str>,
    format: Format,
) -> ExitCode {
    block_on(async move {
        let client = connect(target)?;
        match action {
            None => {
                let answer = client.get("/v1/runs").await?;
                let runs: Vec<RunRecord> = serde_json::from_value(answer)
                    .map_err(|e| Failure::Failed(format!("the cluster's list of runs: {e}")))?;
                list(&runs, workflow, format);
            }
            Some(RunsAction::Cancel { run_id }) => {
                let answer = client
                    .post(&format!("/v1/runs/{}/cancel", segment(&run_id)), json!({}))
                    .await?;
                eprintln!(
                    "run {run_id} is {}",
                    answer["status"].as_str().unwrap_or("cancelled")
                );
            }
            Some(RunsAction::Show { run_id }) => {
                let answer = client
                    .get(&format!("/v1/runs/{}", segment(&run_id)))
                    .await?;
                let view: RunView = serde_json::from_value(answer).map_err(|e| {
                    Failure::Failed(format!("the cluster's record of {run_id}: {e}"))
                })?;
                show(&view.record, &view.placed, format);
            }
        }
        Ok(())
    })
}

fn status(record: &RunRecord) -> &'static str {
    record.status.name()
}

fn time(ms: u64) -> String {
    jiff::Timestamp::from_millisecond(ms as i64).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

fn duration_ms(record: &RunRecord) -> Option<u64> {
    record
        .finished_at_ms
        .map(|end| end.saturating_sub(record.started_at_ms))
}

/// The runs listed: those of `workflow` when one is named.
fn list(runs: &[RunRecord], workflow: Option<&str>, format: Format) {
    let runs: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| workflow.is_none_or(|w| r.workflow == w))
        .collect();
    if format == Format::Json {
        let items: Vec<_> = runs
            .iter()
            .map(|r| {
                json!({ "id": r.run_id, "run_id": r.run_id, "workflow": r.workflow,
                        "status": status(r), "started": time(r.started_at_ms),
                        "duration_ms": duration_ms(r), "trigger": r.trigger })
            })
            .collect();
        println!("{}", json!(items));
        return;
    }
    println!(
        "{:<28} {:<24} {:<10} {:<26} DURATION",
        "RUN", "WORKFLOW", "STATUS", "STARTED"
    );
    for r in runs {
        let duration = duration_ms(r).map_or("-".to_string(), |ms| format!("{ms} ms"));
        println!(
            "{:<28} {:<24} {:<10} {:<26} {duration}",
            r.run_id,
            r.workflow,
            status(r),
            time(r.started_at_ms)
        );
    }
}

/// Where a placed step that has not finished is.
fn placement(status: &AssignmentStatus) -> String {
    match status {
        AssignmentStatus::Waiting { since_ms } => {
            format!(
                "waiting for a node of its placement since {}",
                time(*since_ms)
            )
        }
        AssignmentStatus::Assigned { node, edge, .. } => format!("running on {edge} (node {node})"),
        AssignmentStatus::Finished { node, .. } => format!("finished on node {node}"),
        AssignmentStatus::Cancelled => "cancelled: no node took it".into(),
    }
}

fn show(record: &RunRecord, placed: &BTreeMap<String, AssignmentStatus>, format: Format) {
    if format == Format::Json {
        let steps: serde_json::Map<String, serde_json::Value> = record
            .steps
            .iter()
            .map(|(name, s)| {
                (
                    name.clone(),
                    json!({ "attempts": s.attempts, "elapsed_ms": s.elapsed_ms, "ran_on": s.ran_on,
                            "dispatch_us": s.dispatch_us }),
                )
            })
            .collect();
        let value = json!({
            "run_id": record.run_id, "workflow": record.workflow, "status": status(record),
            "bundle_hash": record.bundle_hash, "started": time(record.started_at_ms),
            "duration_ms": duration_ms(record), "steps": steps, "error": record.error,
            "output": record.output.as_ref().and_then(output_json),
            "driver": record.driver.as_ref().map(|d| json!({"node": d.node, "epoch": d.epoch})),
            "placed": placed,
        });
        println!("{value}");
        return;
    }
    println!("run       {}", record.run_id);
    println!("workflow  {} ({})", record.workflow, record.bundle_hash);
    println!("status    {}", status(record));
    if let Some(driver) = &record.driver {
        println!(
            "driver    node {} (lease epoch {})",
            driver.node, driver.epoch
        );
    }
    println!("started   {}", time(record.started_at_ms));
    if let Some(ms) = duration_ms(record) {
        println!("duration  {ms} ms");
    }
    println!("op steps completed:");
    for (name, step) in &record.steps {
        let ran_on = match (&step.ran_on, step.dispatch_us) {
            (Some(edge), Some(us)) => {
                format!("  on {edge}, started {:.1} ms after ready", us as f64 / 1e3)
            }
            (Some(edge), None) => format!("  on {edge}"),
            (None, _) => String::new(),
        };
        println!(
            "  {name:<24} {:>6} ms  {} attempt(s){ran_on}",
            step.elapsed_ms, step.attempts
        );
    }
    if !placed.is_empty() {
        println!("placed steps not finished:");
        for (name, status) in placed {
            println!("  {name:<24} {}", placement(status));
        }
    }
    if let Some(error) = &record.error {
        println!("error     {error}");
    }
    if let Some(output) = record.output.as_ref().and_then(output_json) {
        println!("output    {output}");
    }
}

/// A recorded output (the IR's serde form) in the JSON encoding users see.
fn output_json(recorded: &serde_json::Value) -> Option<serde_json::Value> {
    serde_json::from_value::<edgeflow_compiler::value::Value>(recorded.clone())
        .ok()
        .map(|v| v.to_json())
}
