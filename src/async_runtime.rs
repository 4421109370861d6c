//! The tokio runtime for the commands that talk to the coordination layer.

use std::process::ExitCode;

/// Two worker threads: the machines edgeflow targets are small, and Raft's own tasks
/// are light.
pub fn start() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| {
            eprintln!("error: cannot start the async runtime: {error}");
            ExitCode::from(1)
        })
}
