//! `edgeflow deployments list|show NAME|remove NAME`: the bundles applied to a cluster.

use crate::cli::{ClusterTarget, DeploymentsAction, Format};
use crate::commands::remote::{block_on, connect, segment};
use reqwest::Method;
use serde_json::Value;
use std::process::ExitCode;

pub fn run(action: DeploymentsAction, target: ClusterTarget) -> ExitCode {
    block_on(async move {
        let client = connect(&target)?;
        match action {
            DeploymentsAction::List { format } => {
                let listed = client.get("/v1/deployments").await?;
                if format == Format::Json {
                    println!("{listed}");
                } else {
                    print_list(&listed);
                }
            }
            DeploymentsAction::Show { name, format } => {
                let shown = client
                    .get(&format!("/v1/deployments/{}", segment(&name)))
                    .await?;
                match format {
                    Format::Json => println!("{shown}"),
                    _ => println!(
                        "{}",
                        serde_json::to_string_pretty(&shown).unwrap_or_default()
                    ),
                }
            }
            DeploymentsAction::Remove { name } => {
                client
                    .send(
                        Method::DELETE,
                        &format!("/v1/deployments/{}", segment(&name)),
                        None,
                    )
                    .await?;
                eprintln!("deployment {name} removed");
            }
        }
        Ok(())
    })
}

fn names(list: &Value) -> String {
    let names: Vec<&str> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    match names.is_empty() {
        true => "-".to_string(),
        false => names.join(","),
    }
}

fn print_list(listed: &Value) {
    println!(
        "{:<24} {:>7} {:<18} {:<7} {:<30} WORKFLOWS",
        "NAME", "VERSION", "BUNDLE", "SHADOW", "POLICIES"
    );
    let deployments = listed.get("deployments").and_then(Value::as_array);
    for deployment in deployments.into_iter().flatten() {
        let hash = deployment["bundle_hash"].as_str().unwrap_or("?");
        println!(
            "{:<24} {:>7} {:<18} {:<7} {:<30} {}",
            deployment["name"].as_str().unwrap_or("?"),
            deployment["version"].to_string(),
            hash.get(..18).unwrap_or(hash),
            deployment["shadow"].to_string(),
            names(&deployment["policies"]),
            names(&deployment["workflows"]),
        );
    }
}
