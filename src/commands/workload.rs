//! `edgeflow workload create|list|show|fill|remove`: workloads on a cluster — the
//! records an edge serves, which migrations move.

use crate::cli::{ClusterTarget, Format, WorkloadAction};
use crate::commands::remote::{block_on, connect, segment};
use reqwest::Method;
use serde_json::{json, Value};
use std::process::ExitCode;
use std::time::Duration;

/// How long a fill may take (a large one writes gigabytes).
const FILL_TIMEOUT: Duration = Duration::from_secs(3_600);

pub fn run(action: WorkloadAction, target: ClusterTarget) -> ExitCode {
    block_on(async move {
        let client = connect(&target)?;
        match action {
            WorkloadAction::Create { name, edge } => {
                client
                    .post("/v1/workloads", json!({ "name": name, "edge": edge }))
                    .await?;
                eprintln!("workload {name} created on edge {edge}");
            }
            WorkloadAction::List { format } => {
                let listed = client.get("/v1/workloads").await?;
                match format {
                    Format::Json => println!("{listed}"),
                    _ => print_list(&listed),
                }
            }
            WorkloadAction::Show { name, format } => {
                let shown = client
                    .get(&format!("/v1/workloads/{}", segment(&name)))
                    .await?;
                match format {
                    Format::Json => println!("{shown}"),
                    _ => print_one(&shown),
                }
            }
            WorkloadAction::Fill {
                name,
                records,
                size,
                seed,
            } => {
                let body = json!({ "records": records, "size": size, "seed": seed });
                let path = format!("/v1/workloads/{}/fill", segment(&name));
                client
                    .send_within(Method::POST, &path, Some(body), FILL_TIMEOUT)
                    .await?;
                eprintln!("workload {name}: {records} records of {size} bytes written");
            }
            WorkloadAction::Remove { name } => {
                client
                    .send(
                        Method::DELETE,
                        &format!("/v1/workloads/{}", segment(&name)),
                        None,
                    )
                    .await?;
                eprintln!("workload {name} removed");
            }
        }
        Ok(())
    })
}

fn print_list(listed: &Value) {
    println!("{:<32} EDGE", "NAME");
    let workloads = listed.get("workloads").and_then(Value::as_array);
    for workload in workloads.into_iter().flatten() {
        println!(
            "{:<32} {}",
            workload["name"].as_str().unwrap_or("?"),
            workload["edge"].as_str().unwrap_or("?"),
        );
    }
}

fn print_one(shown: &Value) {
    for field in ["name", "edge", "records", "bytes", "digest"] {
        let value = match &shown[field] {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        println!("{field:<8} {value}");
    }
}
