//! `edgeflow cluster init|add|promote|remove|status`: membership of a running cluster,
//! through its HTTP API.

use crate::cli::{ClusterAction, ClusterTarget, Format};
use crate::client::ClientError;
use crate::commands::node::read_token;
use crate::commands::remote::{block_on, connect, Failure};
use edgeflow_runtime::config::NodeConfig;
use edgeflow_runtime::member::token_sha256;
use serde_json::{json, Value};
use std::process::ExitCode;
use std::time::Duration;

/// How long `cluster status` waits for the leader's view before showing the asked
/// node's own.
const LEADER_VIEW_TIMEOUT: Duration = Duration::from_secs(3);

pub fn run(action: ClusterAction, target: ClusterTarget) -> ExitCode {
    block_on(async move {
        let client = connect(&target)?;
        match action {
            ClusterAction::Init => {
                let status = client.post("/v1/cluster/init", json!({})).await?;
                eprintln!("initialized a cluster of one voter");
                print_status(&status, Format::Human);
            }
            ClusterAction::Add { config } => {
                let config =
                    NodeConfig::load(&config).map_err(|error| Failure::Usage(error.to_string()))?;
                let raft = config.raft_address().ok_or_else(|| {
                    Failure::Usage(format!(
                        "node {} has no `raft_listen`: only voters join the Raft cluster",
                        config.id
                    ))
                })?;
                let token = read_token(&config.token_file).map_err(Failure::Usage)?;
                let member = json!({
                    "id": config.id,
                    "edge": config.edge,
                    "raft": raft,
                    "api": config.api_url(),
                    "token_sha256": token_sha256(&token),
                });
                let status = client.post("/v1/cluster/members", member).await?;
                eprintln!("node {} added as a learner and caught up", config.id);
                print_status(&status, Format::Human);
            }
            ClusterAction::Promote { ids } => {
                let status = client
                    .post("/v1/cluster/promote", json!({ "ids": ids }))
                    .await?;
                print_status(&status, Format::Human);
            }
            ClusterAction::Remove { ids } => {
                let status = client
                    .post("/v1/cluster/remove", json!({ "ids": ids }))
                    .await?;
                print_status(&status, Format::Human);
            }
            ClusterAction::Status { format } => {
                // The node asked answers for itself, whatever state the leader is in;
                // the leader's view (lag, reachability) is added when it answers.
                let mut status = client.get("/v1/cluster/status?view=local").await?;
                let leader = status.get("leader").and_then(Value::as_u64);
                if leader.is_some() && leader != status.get("answered_by").and_then(Value::as_u64) {
                    match client
                        .get_within("/v1/cluster/status", LEADER_VIEW_TIMEOUT)
                        .await
                    {
                        Ok(full) => status = full,
                        Err(ClientError::Unreachable { url, reason }) => {
                            status["leader_unreachable"] =
                                Value::String(format!("cannot reach {url}: {reason}"));
                        }
                        Err(other) => return Err(other.into()),
                    }
                }
                print_status(&status, format);
            }
        }
        Ok(())
    })
}

fn print_status(status: &Value, format: Format) {
    if format == Format::Json {
        println!("{status}");
        return;
    }
    let leader = status
        .get("leader")
        .and_then(Value::as_u64)
        .map_or("none".to_string(), |id| format!("node {id}"));
    let term = status.get("term").and_then(Value::as_u64).unwrap_or(0);
    let answered_by = status
        .get("answered_by")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    match status.get("leader_unreachable").and_then(Value::as_str) {
        Some(why) => println!(
            "leader: {leader} as node {answered_by} last knew it, unreachable ({why}), term {term}"
        ),
        None if leader == "none" => println!(
            "leader: none (election in progress, or no quorum), term {term}; as node {answered_by} sees it"
        ),
        None => println!("leader: {leader}, term {term}"),
    }
    println!(
        "{:>4}  {:<14} {:<8} {:<12} {:>6}  API",
        "ID", "EDGE", "ROLE", "STATE", "LAG"
    );
    let members = status.get("members").and_then(Value::as_array);
    for member in members.into_iter().flatten() {
        let text = |key: &str| member.get(key).and_then(Value::as_str).unwrap_or("");
        let lag = member
            .get("lag")
            .and_then(Value::as_u64)
            .map_or("-".to_string(), |lag| lag.to_string());
        println!(
            "{:>4}  {:<14} {:<8} {:<12} {:>6}  {}",
            member.get("id").and_then(Value::as_u64).unwrap_or(0),
            text("edge"),
            text("role"),
            text("state"),
            lag,
            text("api"),
        );
    }
}
