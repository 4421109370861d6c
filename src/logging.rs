//! Where the process's log goes: one JSON object per line on stderr (stdout carries
//! only a command's output), through `tracing`, so a node's own events, its runs'
//! `log.emit` lines and user ops' log lines share one format and carry the span they
//! happened in (`step`: run, step, op). `EDGEFLOW_LOG` picks what is shown, in
//! `tracing`'s filter syntax (default: `info`, Raft's own chatter at `warn`).

use tracing_subscriber::EnvFilter;

/// The environment variable that sets the filter.
const FILTER_VARIABLE: &str = "EDGEFLOW_LOG";
const DEFAULT_FILTER: &str = "info,openraft=warn";

/// Installs the JSON subscriber; a bad `EDGEFLOW_LOG` is reported and the default used.
pub fn init() {
    let filter = match std::env::var(FILTER_VARIABLE) {
        Ok(wanted) => EnvFilter::try_new(&wanted).unwrap_or_else(|error| {
            eprintln!("warning: {FILTER_VARIABLE}={wanted:?} is not a log filter ({error}); using {DEFAULT_FILTER:?}");
            EnvFilter::new(DEFAULT_FILTER)
        }),
        Err(_) => EnvFilter::new(DEFAULT_FILTER),
    };
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
