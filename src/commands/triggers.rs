//! `edgeflow triggers list`: the schedules and event types the cluster's deployments
//! arm, with when each schedule fires next and what its latest tick did.

use crate::cli::{ClusterTarget, Format, TriggersAction};
use crate::commands::remote::{block_on, connect};
use serde_json::Value;
use std::process::ExitCode;

pub fn run(action: TriggersAction, target: ClusterTarget) -> ExitCode {
    block_on(async move {
        let client = connect(&target)?;
        match action {
            TriggersAction::List { format } => {
                let listed = client.get("/v1/triggers").await?;
                match format {
                    Format::Json => println!("{listed}"),
                    _ => print_list(&listed),
                }
            }
        }
        Ok(())
    })
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn print_list(listed: &Value) {
    println!(
        "{:<36} {:<8} {:<22} {:<26} {:<26} LAST RUN",
        "TRIGGER", "KIND", "SPEC", "NEXT FIRE", "LAST TICK"
    );
    let triggers = listed.get("triggers").and_then(Value::as_array);
    for trigger in triggers.into_iter().flatten() {
        let last_run = match trigger["last_skipped"].as_bool() {
            Some(true) => format!("skipped (still running: {})", text(&trigger["last_run"])),
            _ => text(&trigger["last_run"]),
        };
        println!(
            "{:<36} {:<8} {:<22} {:<26} {:<26} {last_run}",
            text(&trigger["id"]),
            text(&trigger["kind"]),
            text(&trigger["spec"]),
            text(&trigger["next_fire"]),
            text(&trigger["last_tick"]),
        );
    }
}
