//! `edgeflow migrate start|list|status|pause|resume|rollback`: workload migrations on a
//! cluster. `start` compiles the file, takes the named migration's declaration as the
//! runtime will carry it out, and asks the cluster to plan and start it.

use crate::cli::{ClusterTarget, Format, MigrateAction};
use crate::commands::remote::{block_on, connect, segment, Failure};
use crate::pipeline::compile;
use edgeflow_runtime::migrations::MigrationPlan;
use serde_json::{json, Value};
use std::process::ExitCode;

pub fn run(action: MigrateAction, target: ClusterTarget) -> ExitCode {
    let start = match &action {
        MigrateAction::Start {
            name, file, color, ..
        } => {
            let program = match compile(file, *color) {
                Ok(program) => program,
                Err(code) => return code,
            };
            let Some(declared) = program.migrations.iter().find(|m| &m.name == name) else {
                let names: Vec<&str> = program.migrations.iter().map(|m| m.name.as_str()).collect();
                eprintln!(
                    "error: {} declares no migration `{name}` ({})",
                    file.display(),
                    match names.is_empty() {
                        true => "it declares none".to_string(),
                        false => format!("it declares {}", names.join(", ")),
                    }
                );
                return ExitCode::from(crate::commands::EXIT_USAGE);
            };
            match MigrationPlan::from_ir(declared) {
                Ok(plan) => Some(plan),
                Err(reason) => {
                    eprintln!("error: {reason}");
                    return ExitCode::from(crate::commands::EXIT_USAGE);
                }
            }
        }
        _ => None,
    };
    block_on(async move {
        let client = connect(&target)?;
        match action {
            MigrateAction::Start { format, .. } => {
                let started = client
                    .post("/v1/migrations", json!({ "plan": start }))
                    .await?;
                match format {
                    Format::Json => println!("{started}"),
                    _ => println!("{}", started["migration_id"].as_str().unwrap_or("?")),
                }
            }
            MigrateAction::List { format } => {
                let listed = client.get("/v1/migrations").await?;
                match format {
                    Format::Json => println!("{listed}"),
                    _ => print_list(&listed),
                }
            }
            MigrateAction::Status { id, format } => {
                let shown = client
                    .get(&format!("/v1/migrations/{}", segment(&id)))
                    .await?;
                match format {
                    Format::Json => println!("{shown}"),
                    _ => print_status(&shown),
                }
            }
            MigrateAction::Pause { id } => steer(&client, &id, "pause", None).await?,
            MigrateAction::Resume { id } => steer(&client, &id, "resume", None).await?,
            MigrateAction::Rollback { id, checkpoint } => {
                let body = json!({ "checkpoint": checkpoint });
                steer(&client, &id, "rollback", Some(body)).await?;
            }
        }
        Ok(())
    })
}

async fn steer(
    client: &crate::client::Client,
    id: &str,
    what: &str,
    body: Option<Value>,
) -> Result<(), Failure> {
    let path = format!("/v1/migrations/{}/{what}", segment(id));
    let answer = client
        .post(&path, body.unwrap_or_else(|| json!({})))
        .await?;
    match answer["phase"].as_str() {
        Some(phase) => eprintln!("migration {id}: {what} done, now {phase}"),
        None => eprintln!("migration {id}: {what} done"),
    }
    Ok(())
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "-".to_string(),
        other => other.to_string(),
    }
}

fn print_list(listed: &Value) {
    println!(
        "{:<18} {:<20} {:<12} {:>6} {:<12} FROM → TO",
        "ID", "NAME", "PHASE", "%", "STRATEGY"
    );
    let migrations = listed.get("migrations").and_then(Value::as_array);
    for migration in migrations.into_iter().flatten() {
        println!(
            "{:<18} {:<20} {:<12} {:>6} {:<12} {} → {}",
            text(&migration["migration_id"]),
            text(&migration["name"]),
            text(&migration["phase"]),
            text(&migration["percent"]),
            text(&migration["strategy"]),
            text(&migration["from"]),
            text(&migration["to"]),
        );
    }
}

fn print_status(shown: &Value) {
    for field in [
        "migration_id",
        "name",
        "phase",
        "strategy",
        "from",
        "to",
        "workload",
        "percent",
        "records_copied",
        "bytes_copied",
        "bytes_sent",
        "throughput_bps",
        "eta",
        "downtime_ms",
        "waiting",
        "preempted_by",
        "error",
    ] {
        println!("{field:<15} {}", text(&shown[field]));
    }
    let checkpoints: Vec<String> = shown["checkpoints"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| format!("{} ({})", text(&c["id"]), text(&c["phase"])))
        .collect();
    println!(
        "{:<15} {}",
        "checkpoints",
        match checkpoints.is_empty() {
            true => "-".to_string(),
            false => checkpoints.join(", "),
        }
    );
}
