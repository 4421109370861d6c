//! `edgeflow policy list|show NAME`: the rate-limit policies a cluster enforces, with
//! the budget now, each edge's live lease and each edge's decisions.

use crate::cli::{ClusterTarget, Format, PolicyAction};
use crate::commands::remote::{block_on, connect, segment};
use serde_json::Value;
use std::process::ExitCode;

pub fn run(action: PolicyAction, target: ClusterTarget) -> ExitCode {
    block_on(async move {
        let client = connect(&target)?;
        match action {
            PolicyAction::List { format } => {
                let listed = client.get("/v1/policies").await?;
                if format == Format::Json {
                    println!("{listed}");
                } else {
                    print_list(&listed);
                }
            }
            PolicyAction::Show { name, key, format } => {
                let path = format!("/v1/policies/{}?key={}", segment(&name), segment(&key));
                let shown = client.get(&path).await?;
                if format == Format::Json {
                    println!("{shown}");
                } else {
                    print_one(&shown);
                }
            }
        }
        Ok(())
    })
}

fn rate(policy: &Value) -> String {
    format!(
        "{} per {}",
        policy["limit"]["count"],
        policy["limit"]["per"].as_str().unwrap_or("?")
    )
}

fn print_list(listed: &Value) {
    println!(
        "{:<24} {:<18} {:<16} {:<14} {:<9} {:<7} MATCH",
        "NAME", "DEPLOYMENT", "RATE", "ALGORITHM", "SCOPE", "SHADOW"
    );
    let policies = listed.get("policies").and_then(Value::as_array);
    for policy in policies.into_iter().flatten() {
        println!(
            "{:<24} {:<18} {:<16} {:<14} {:<9} {:<7} {}",
            policy["name"].as_str().unwrap_or("?"),
            policy["deployment"].as_str().unwrap_or("?"),
            rate(policy),
            policy["algorithm"].as_str().unwrap_or("?"),
            policy["scope"].as_str().unwrap_or("?"),
            policy["shadow"].to_string(),
            policy["match"].as_str().unwrap_or("?"),
        );
    }
}

fn print_one(shown: &Value) {
    let by = shown["by"].as_array().map_or(0, Vec::len);
    println!(
        "policy {} (deployment {}{})",
        shown["name"].as_str().unwrap_or("?"),
        shown["deployment"].as_str().unwrap_or("?"),
        if shown["shadow"] == true {
            ", shadow mode"
        } else {
            ""
        }
    );
    println!(
        "  {} {}, burst {}, {} scope, match {}, on exceed {}",
        rate(shown),
        shown["algorithm"].as_str().unwrap_or("?"),
        shown["burst"],
        shown["scope"].as_str().unwrap_or("?"),
        shown["match"].as_str().unwrap_or("?"),
        shown["on_exceed"].as_str().unwrap_or("?"),
    );
    let usage = &shown["usage"];
    println!(
        "  budget{}: {} used, {} remaining of {} ({})",
        match by {
            0 => String::new(),
            _ => format!(" of key {:?}", shown["key"].as_str().unwrap_or("")),
        },
        usage["used"],
        usage["remaining"],
        usage["limit"],
        usage["of"].as_str().unwrap_or("")
    );
    println!(
        "  {:<24} {:>12} {:>12} {:>12}",
        "EDGE", "LEASED", "ADMITTED", "DENIED"
    );
    let leases = shown["leases"].as_object();
    let edges = shown["edges"].as_array();
    let mut names: Vec<&str> = leases
        .into_iter()
        .flatten()
        .map(|(e, _)| e.as_str())
        .collect();
    names.extend(
        edges
            .into_iter()
            .flatten()
            .filter_map(|e| e["edge"].as_str()),
    );
    names.sort_unstable();
    names.dedup();
    for edge in names {
        let leased = leases.and_then(|l| l.get(edge)).and_then(Value::as_u64);
        let counted = edges
            .into_iter()
            .flatten()
            .filter(|e| e["edge"] == edge)
            .fold((0, 0), |(a, d), e| {
                (
                    a + e["admitted"].as_u64().unwrap_or(0),
                    d + e["denied"].as_u64().unwrap_or(0),
                )
            });
        println!(
            "  {:<24} {:>12} {:>12} {:>12}",
            edge,
            leased.map_or("-".to_string(), |n| n.to_string()),
            counted.0,
            counted.1
        );
    }
}
