//! `edgeflow cluster init|add|promote|remove|status` and `edgeflow state get|put|delete`:
//! the CLI side of a running cluster's HTTP API.

use crate::cli::{ClusterAction, ClusterTarget, Consistency, Format, StateAction};
use crate::client::{Client, ClientError};
use crate::commands::node::read_token;
use crate::commands::EXIT_USAGE;
use edgeflow_runtime::config::NodeConfig;
use edgeflow_runtime::member::token_sha256;
use reqwest::Method;
use serde_json::{json, Value};
use std::process::ExitCode;

/// A failure before any request is sent (exit 2) or from the cluster (exit 1).
enum Failure {
    Usage(String),
    Cluster(ClientError),
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Failure {
        Failure::Cluster(error)
    }
}

fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Cluster(error)) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}

fn connect(target: &ClusterTarget) -> Result<Client, Failure> {
    let url = target.cluster.as_deref().ok_or_else(|| {
        Failure::Usage("which cluster? pass --cluster URL (or set EDGEFLOW_CLUSTER)".into())
    })?;
    let token_file = target.token_file.as_deref().ok_or_else(|| {
        Failure::Usage(
            "pass --token-file with a cluster member's token file (or set EDGEFLOW_TOKEN_FILE)"
                .into(),
        )
    })?;
    let token = read_token(token_file).map_err(Failure::Usage)?;
    Ok(Client::new(url, token)?)
}

fn block_on<F: std::future::Future<Output = Result<(), Failure>>>(work: F) -> ExitCode {
    match crate::async_runtime::start() {
        Ok(runtime) => finish(runtime.block_on(work)),
        Err(code) => code,
    }
}

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
                let raft = config.raft_listen.ok_or_else(|| {
                    Failure::Usage(format!(
                        "node {} has no `raft_listen`: only voters join the Raft cluster",
                        config.id
                    ))
                })?;
                let token = read_token(&config.token_file).map_err(Failure::Usage)?;
                let member = json!({
                    "id": config.id,
                    "edge": config.edge,
                    "raft": raft.to_string(),
                    "api": format!("http://{}", config.api_listen),
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
                let status = client.get("/v1/cluster/status").await?;
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
    println!("leader: {leader}, term {term}");
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

pub fn state(action: StateAction, target: ClusterTarget) -> ExitCode {
    block_on(async move {
        let client = connect(&target)?;
        let answer = match action {
            StateAction::Get {
                namespace,
                key,
                consistency,
            } => {
                let consistency = match consistency {
                    Consistency::Linearizable => "linearizable",
                    Consistency::Local => "local",
                };
                let path = format!(
                    "/v1/state/{}/{}?consistency={consistency}",
                    segment(&namespace),
                    segment(&key)
                );
                client.get(&path).await?
            }
            StateAction::Put {
                namespace,
                key,
                value,
            } => {
                let value: Value = serde_json::from_str(&value).map_err(|e| {
                    Failure::Usage(format!(
                        "the value must be JSON (a string is written \"like this\"): {e}"
                    ))
                })?;
                let path = format!("/v1/state/{}/{}", segment(&namespace), segment(&key));
                client.send(Method::PUT, &path, Some(value)).await?
            }
            StateAction::Delete { namespace, key } => {
                let path = format!("/v1/state/{}/{}", segment(&namespace), segment(&key));
                client.send(Method::DELETE, &path, None).await?
            }
        };
        println!("{answer}");
        Ok(())
    })
}

/// Percent-encodes a path segment (keys may hold `/`, spaces, anything).
fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
