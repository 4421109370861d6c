//! `edgeflow node --config FILE`: an edge node from its configuration. `--check`
//! validates the file. A voter without peers runs as a single-node cluster serving its
//! HTTP API (health, readiness, metrics) until interrupted; nodes with peers and
//! workers need the cluster transport, which is not built yet, and say so.

use crate::commands::EXIT_USAGE;
use edgeflow_runtime::api::{router, ApiState};
use edgeflow_runtime::config::{NodeConfig, Role};
use edgeflow_runtime::node::Node;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

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
    if config.role != Role::Voter || !config.peers.is_empty() {
        eprintln!(
            "error: running a node with peers, or a worker, is not available yet (the Raft transport and \
             membership are the next part of the runtime); a voter without peers runs as a single-node cluster"
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let token = match std::fs::read_to_string(&config.token_file) {
        Ok(token) if !token.trim().is_empty() => token.trim().to_string(),
        Ok(_) => {
            eprintln!(
                "error: the token file {} is empty",
                config.token_file.display()
            );
            return ExitCode::from(EXIT_USAGE);
        }
        Err(error) => {
            eprintln!(
                "error: cannot read the token file {}: {error}",
                config.token_file.display()
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let runtime = match crate::async_runtime::start() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(serve(config, token)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

async fn serve(config: NodeConfig, token: String) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(config.api_listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.api_listen))?;
    let node = Arc::new(
        Node::start_single(&config.data_dir, &config.edge)
            .await
            .map_err(|e| e.to_string())?,
    );
    eprintln!("node {} serving on http://{}", config.id, config.api_listen);
    let app = router(ApiState {
        node: node.clone(),
        token: token.into(),
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())?;
    if let Ok(node) = Arc::try_unwrap(node) {
        node.shutdown().await.map_err(|e| e.to_string())?;
    }
    Ok(())
}
