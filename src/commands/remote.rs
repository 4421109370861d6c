//! What every command that talks to a running cluster shares: which cluster and which
//! token (`--cluster`, `--token-file`), the async runtime, and exit statuses (2 before a
//! request is sent, 1 when the cluster says no).

use crate::cli::ClusterTarget;
use crate::client::{Client, ClientError};
use crate::commands::node::read_token;
use crate::commands::EXIT_USAGE;
use std::process::ExitCode;

/// A failure before any request is sent (exit 2) or from the cluster (exit 1).
pub enum Failure {
    Usage(String),
    Cluster(ClientError),
    /// The cluster answered, and the answer means failure (a run that failed).
    Failed(String),
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
        Err(Failure::Failed(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

pub fn connect(target: &ClusterTarget) -> Result<Client, Failure> {
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
    let ca = match &target.ca {
        Some(path) => Some(
            std::fs::read(path)
                .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?,
        ),
        None => None,
    };
    Ok(Client::new(url, token, ca.as_deref())?)
}

pub fn block_on<F: std::future::Future<Output = Result<(), Failure>>>(work: F) -> ExitCode {
    match crate::async_runtime::start() {
        Ok(runtime) => finish(runtime.block_on(work)),
        Err(code) => code,
    }
}

/// Percent-encodes a URL path segment (keys and ids may hold `/`, spaces, anything).
pub fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
