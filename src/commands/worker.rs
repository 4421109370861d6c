//! `edgeflow worker add|list|remove|maintenance|drain`: the fleet registry and the
//! worker lifecycle, through a cluster's HTTP API.

use crate::cli::{ClusterTarget, Format, Switch, WorkerAction};
use crate::commands::node::read_token;
use crate::commands::remote::{block_on, connect, Failure};
use edgeflow_runtime::config::NodeConfig;
use edgeflow_runtime::member::token_sha256;
use reqwest::Method;
use serde_json::{json, Value};
use std::process::ExitCode;

pub fn run(action: WorkerAction, target: ClusterTarget) -> ExitCode {
    block_on(async move {
        let client = connect(&target)?;
        match action {
            WorkerAction::Add { config } => {
                let config =
                    NodeConfig::load(&config).map_err(|error| Failure::Usage(error.to_string()))?;
                let token = read_token(&config.token_file).map_err(Failure::Usage)?;
                edgeflow_runtime::member::check_token_strength(&token)
                    .map_err(|e| Failure::Usage(format!("{}: {e}", config.token_file.display())))?;
                let worker = json!({
                    "id": config.id,
                    "edge": config.edge,
                    "api": config.api_url(),
                    "token_sha256": token_sha256(&token),
                    "labels": edgeflow_runtime::worker::labels(&config),
                    "heartbeat_interval_ms": config.timeouts.fleet_heartbeat,
                });
                client.post("/v1/workers", worker).await?;
                eprintln!("worker {} (edge `{}`) registered", config.id, config.edge);
            }
            WorkerAction::List { format } => {
                let fleet = client.get("/v1/fleet").await?;
                print_fleet(&fleet, format);
            }
            WorkerAction::Remove { id } => {
                client
                    .send(Method::DELETE, &format!("/v1/workers/{id}"), None)
                    .await?;
                eprintln!("worker {id} removed");
            }
            WorkerAction::Maintenance { mode, id, comment } => {
                let on = mode == Switch::On;
                let body = json!({ "on": on, "comment": comment });
                client
                    .post(&format!("/v1/fleet/{id}/maintenance"), body)
                    .await?;
                eprintln!(
                    "maintenance {} requested for node {id}",
                    if on { "on" } else { "off" }
                );
            }
            WorkerAction::Drain { id } => {
                client
                    .post(&format!("/v1/fleet/{id}/drain"), json!({}))
                    .await?;
                eprintln!("node {id} asked to drain");
            }
        }
        Ok(())
    })
}

fn print_fleet(fleet: &Value, format: Format) {
    if format == Format::Json {
        println!("{fleet}");
        return;
    }
    println!(
        "{:>4}  {:<14} {:<7} {:<20} {:>6} {:>5} {:>5} {:>9}  COMMENT",
        "ID", "EDGE", "ROLE", "STATE", "HEALTH", "CPU", "MEM", "LATENCY"
    );
    let nodes = fleet.get("nodes").and_then(Value::as_array);
    for node in nodes.into_iter().flatten() {
        let text = |key: &str| node.get(key).and_then(Value::as_str).unwrap_or("");
        let share = |key: &str| {
            node.get("metrics")
                .and_then(|m| m.get(key))
                .and_then(Value::as_f64)
                .map_or("-".to_string(), |v| format!("{:.0}%", v * 100.0))
        };
        let latency = node
            .get("latency_ms")
            .and_then(Value::as_f64)
            .map_or("-".to_string(), |ms| format!("{ms:.1} ms"));
        println!(
            "{:>4}  {:<14} {:<7} {:<20} {:>6.2} {:>5} {:>5} {:>9}  {}",
            node.get("id").and_then(Value::as_u64).unwrap_or(0),
            text("edge"),
            text("role"),
            text("state"),
            node.get("health").and_then(Value::as_f64).unwrap_or(0.0),
            share("cpu"),
            share("memory"),
            latency,
            text("maintenance_comment"),
        );
    }
}
