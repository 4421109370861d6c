//! `edgeflow node --config FILE`: an edge node from its configuration. `--check`
//! validates the file. A voter starts (or restarts) its Raft member, serves the Raft
//! transport on `raft_listen` and the HTTP API on `api_listen`, and drives submitted
//! runs nobody else drives, until SIGINT or SIGTERM.
//! A new cluster is bootstrapped with `edgeflow cluster init`; a new member joins with
//! `edgeflow cluster add`. With a `[tls]` table every connection uses TLS. A worker
//! (registered with `edgeflow worker add`) heartbeats to the voters until stopped or
//! drained, taking the steps placed on its edge. A voter runs the steps placed on its
//! own edge too.

use crate::commands::EXIT_USAGE;
use crate::user_code::WasmCode;
use edgeflow_runtime::api::{self, router, ApiState};
use edgeflow_runtime::config::{NodeConfig, Role};
use edgeflow_runtime::dispatch::in_hand::StepsInHand;
use edgeflow_runtime::dispatch::voter;
use edgeflow_runtime::driver::Driver;
use edgeflow_runtime::fd_limit;
use edgeflow_runtime::heartbeat::{voter_heartbeats, Identity};
use edgeflow_runtime::member::{check_token_strength, token_sha256, NodeInfo};
use edgeflow_runtime::migrations::driver::drive_forever;
use edgeflow_runtime::network::server;
use edgeflow_runtime::network::tls::NodeTls;
use edgeflow_runtime::node::{refuse_if_data_lost, MemberSetup, Node, Timing};
use edgeflow_runtime::triggers::relay::EventRelay;
use edgeflow_runtime::trust::Trust;
use edgeflow_runtime::worker::{labels, Worker};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// How long a stopping node tries to give its unspent rate-limit tokens back.
const SURRENDER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

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
    // The token file is checked with the rest: it exists, is a file, and its token is
    // strong enough.
    let token = match read_token(&config.token_file).and_then(|token| {
        check_token_strength(&token)
            .map(|()| token)
            .map_err(|e| format!("{}: {e}", config.token_file.display()))
    }) {
        Ok(token) => token,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if check_only {
        return ExitCode::SUCCESS;
    }
    let tls = match config.tls.as_ref().map(NodeTls::load).transpose() {
        Ok(tls) => tls,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let runtime = match crate::async_runtime::start() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let served = match config.role {
        Role::Voter => runtime.block_on(serve(config, token, tls)),
        Role::Worker => runtime.block_on(serve_worker(config, token)),
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

/// A token file holds the token; surrounding whitespace is not part of it.
pub fn read_token(path: &Path) -> Result<String, String> {
    if path.is_dir() {
        return Err(format!(
            "the token file {} is a folder, not a file",
            path.display()
        ));
    }
    match std::fs::read_to_string(path) {
        Ok(token) if !token.trim().is_empty() => Ok(token.trim().to_string()),
        Ok(_) => Err(format!("the token file {} is empty", path.display())),
        Err(error) => Err(format!(
            "cannot read the token file {}: {error}",
            path.display()
        )),
    }
}

async fn bind(address: SocketAddr, what: &str) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen for {what} on {address}: {e}"))
}

async fn serve(config: NodeConfig, token: String, tls: Option<NodeTls>) -> Result<(), String> {
    let open_files = fd_limit::raise_to_hard_limit();
    let max_connections = fd_limit::connection_cap(open_files);
    let raft_listen = config.raft_listen.ok_or("a voter needs `raft_listen`")?;
    let raft_listener = bind(raft_listen, "Raft").await?;
    let api_listener = bind(config.api_listen, "the API").await?;
    let timeouts = &config.timeouts;
    let ca = read_ca(&config)?;
    let node = Node::start_member(MemberSetup {
        id: config.id,
        edge: &config.edge,
        data_dir: &config.data_dir,
        timing: Timing {
            heartbeat: timeouts.heartbeat,
            election_min: timeouts.election_min,
            election_max: timeouts.election_max,
            request: timeouts.request,
            snapshot_every: config.snapshot_every,
        },
        token: &token,
        tls: tls.as_ref().map(|tls| tls.connector.clone()),
        api_ca: ca.as_deref(),
        workload_capacity: config.workloads.capacity,
    })
    .await
    .map_err(|e| e.to_string())?;
    if let Err(refusal) = refuse_if_data_lost(&node, &config, &token, ca.as_deref()).await {
        tracing::error!(node = config.id, "{refusal}");
        let _ = node.shutdown().await;
        return Err(refusal);
    }
    let node = Arc::new(node);
    let mut known = BTreeMap::from([(config.id, token_sha256(&token))]);
    for peer in &config.peers {
        known.insert(peer.id, peer.token_sha256.clone());
    }
    let trust = Arc::new(Trust::new(known, Some(node.clone())));
    let me = NodeInfo {
        edge: config.edge.clone(),
        raft: config.raft_address().unwrap_or_default(),
        api: config.api_url(),
        token_sha256: token_sha256(&token),
    };
    let registry = edgeflow_stdlib::registry().with_user_code(WasmCode::start(&config.wasm));
    let driver = tokio::spawn(Driver::new(node.clone(), registry.clone()).serve());
    let in_hand = StepsInHand::default();
    let placed = tokio::spawn(voter::serve(node.clone(), registry, in_hand.clone()));
    let migrating = tokio::spawn(drive_forever(node.clone()));
    let scheduling = tokio::spawn(edgeflow_runtime::triggers::scheduler::schedule_forever(
        node.clone(),
    ));
    let identity = Identity {
        edge: config.edge.clone(),
        api: me.api.clone(),
        labels: labels(&config),
    };
    let heartbeats = {
        let (node, data_dir) = (node.clone(), config.data_dir.clone());
        let every = std::time::Duration::from_millis(config.timeouts.fleet_heartbeat);
        tokio::spawn(
            async move { voter_heartbeats(node, identity, every, &data_dir, in_hand).await },
        )
    };
    let transport = tokio::spawn(server::serve(
        raft_listener,
        node.raft().clone(),
        trust.clone(),
        tls.as_ref().map(|tls| tls.raft_acceptor.clone()),
    ));
    eprintln!(
        "node {} serving the API on {} and Raft on {raft_listen}{}",
        config.id,
        config.api_url(),
        if tls.is_some() { " (TLS)" } else { "" }
    );
    let stopping = CancellationToken::new();
    let envoy = match config.ratelimit.grpc_listen {
        Some(address) => {
            let limiter = edgeflow_envoy::RateLimiter::new(node.clone(), trust.clone());
            let listener = bind(address, "the rate-limit gRPC service").await?;
            eprintln!(
                "node {} serving Envoy's rate-limit service on {address}",
                config.id
            );
            Some(tokio::spawn(edgeflow_envoy::serve(
                listener,
                limiter,
                stopping.clone(),
            )))
        }
        None => None,
    };
    let app = router(ApiState {
        node: node.clone(),
        trust,
        me,
        stopping: stopping.clone(),
    });
    let api_tls = tls.as_ref().map(|tls| tls.api_acceptor.clone());
    // A signal stops the node; so does a fatal storage error (a full disk, a failing
    // device): out of service visibly, with a log line, requests in progress answered
    // (a write's outcome as unknown), and an exit status a supervisor sees.
    let watched = node.clone();
    let node_id = config.id.to_string();
    let shutdown = async move {
        tokio::select! {
            () = stop_signal() => {}
            error = watched.fatal() => tracing::error!(
                node = %node_id,
                "Raft stopped after a fatal error; this node stops: {error}"
            ),
        }
        stopping.cancel();
    };
    api::serve(api_listener, app, api_tls, max_connections, shutdown)
        .await
        .map_err(|e| e.to_string())?;
    if node.fatal_error().is_none() {
        // Tokens leased and not spent go back to the fleet's budgets before Raft stops.
        let _ =
            tokio::time::timeout(SURRENDER_TIMEOUT, node.quotas().surrender(node.as_ref())).await;
    }
    if let Some(error) = node.fatal_error() {
        transport.abort();
        driver.abort();
        placed.abort();
        migrating.abort();
        scheduling.abort();
        heartbeats.abort();
        return Err(format!("the node stopped after a fatal error: {error}"));
    }
    transport.abort();
    driver.abort();
    placed.abort();
    migrating.abort();
    scheduling.abort();
    heartbeats.abort();
    if let Some(envoy) = envoy {
        envoy.abort();
    }
    let _ = transport.await;
    let _ = driver.await;
    match Arc::try_unwrap(node) {
        Ok(node) => node.shutdown().await.map_err(|e| e.to_string()),
        Err(node) => node.raft().shutdown().await.map_err(|e| e.to_string()),
    }
}

/// The CA certificate (PEM) of `[tls]`, when configured.
fn read_ca(config: &NodeConfig) -> Result<Option<Vec<u8>>, String> {
    match &config.tls {
        Some(tls) => std::fs::read(&tls.ca)
            .map(Some)
            .map_err(|e| format!("cannot read {}: {e}", tls.ca.display())),
        None => Ok(None),
    }
}

/// A worker: heartbeats and takes its steps until stopped or drained; answers `/healthz`.
async fn serve_worker(config: NodeConfig, token: String) -> Result<(), String> {
    let ca = read_ca(&config)?;
    let listener = bind(config.api_listen, "the API").await?;
    let registry = edgeflow_stdlib::registry().with_user_code(WasmCode::start(&config.wasm));
    let worker =
        Worker::new(config.clone(), token, ca.as_deref(), registry).map_err(|e| e.to_string())?;
    let relay = worker.event_relay();
    let forwarding = tokio::spawn(relay.clone().forward_forever());
    let api = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok\n" }))
        .route(
            "/v1/events",
            axum::routing::post(
                |axum::extract::State(relay): axum::extract::State<Arc<EventRelay>>,
                 headers: axum::http::HeaderMap,
                 body: axum::body::Bytes| async move {
                    let (status, answer) = relay.accept(&headers, &body).await;
                    (status, axum::Json(answer))
                },
            ),
        )
        .with_state(relay);
    let probe = tokio::spawn(async move { axum::serve(listener, api).await });
    eprintln!(
        "worker {} for edge `{}` heartbeating every {} ms to {} voter(s)",
        config.id,
        config.edge,
        config.timeouts.fleet_heartbeat,
        config.peers.len()
    );
    let result = worker.serve(stop_signal()).await.map_err(|e| e.to_string());
    probe.abort();
    forwarding.abort();
    result
}

/// SIGINT (Ctrl-C) or SIGTERM (`down.sh`, service managers).
async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
