//! `edgeflow state get|put|delete`: the cluster's replicated key-value state from the
//! command line.

use crate::cli::{ClusterTarget, Consistency, StateAction};
use crate::commands::remote::{block_on, connect, segment, Failure};
use edgeflow_runtime::state::check_address;
use reqwest::Method;
use serde_json::Value;
use std::process::ExitCode;

pub fn run(action: StateAction, target: ClusterTarget) -> ExitCode {
    block_on(async move {
        let (namespace, key) = match &action {
            StateAction::Get { namespace, key, .. }
            | StateAction::Put { namespace, key, .. }
            | StateAction::Delete { namespace, key } => (namespace, key),
        };
        check_address(namespace, key).map_err(Failure::Usage)?;
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
                if_version,
            } => {
                let value: Value = serde_json::from_str(&value).map_err(|e| {
                    Failure::Usage(format!(
                        "the value must be JSON (a string is written \"like this\"): {e}"
                    ))
                })?;
                let mut path = format!("/v1/state/{}/{}", segment(&namespace), segment(&key));
                if let Some(version) = if_version {
                    path.push_str(&format!("?if_version={version}"));
                }
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
