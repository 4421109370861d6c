//! `edgeflow node --config FILE`: an edge node from its configuration. The
//! configuration is read and validated for real; running a node of a multi-node cluster
//! (transport, HTTP API, membership) is not built yet and says so.

use crate::commands::EXIT_USAGE;
use edgeflow_runtime::config::{NodeConfig, Role};
use std::path::Path;
use std::process::ExitCode;

pub fn run(path: &Path, check_only: bool) -> ExitCode {
    let config = match NodeConfig::load(path) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let role = match config.role {
        Role::Voter => "voter",
        Role::Worker => "worker",
    };
    eprintln!(
        "{}: node {} ({role}) for edge `{}`, API {}, {} peer(s), data in {}",
        path.display(),
        config.id,
        config.edge,
        config.api_listen,
        config.peers.len(),
        config.data_dir.display()
    );
    if check_only {
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "error: running a cluster node is not available yet (Raft transport, HTTP API and membership \
         are the next part of the runtime); `edgeflow run` uses an embedded single-node cluster"
    );
    ExitCode::from(EXIT_USAGE)
}
