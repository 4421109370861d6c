//! `log.emit`: a structured log line, through `tracing` (JSON on stderr; stdout carries
//! only a run's output), inside the step's span (run, step, op).

use crate::op_fn::{OpFn, OpFuture};
use crate::result::success;
use edgeflow_runtime::op::{Args, OpContext, OpError, Registry};

pub fn register(registry: &mut Registry) {
    registry.register("log.emit", OpFn(emit));
}

const LEVELS: &[&str] = &["debug", "info", "warn", "error"];

fn emit<'a>(_context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let level = args.string("level")?;
        if !LEVELS.contains(&level) {
            return Err(OpError::BadArgument {
                name: "level".into(),
                expected: "debug, info, warn or error",
            });
        }
        let message = args.string("message")?;
        let fields = args.json("fields")?;
        match level {
            "debug" => tracing::debug!(fields = %fields, "{message}"),
            "info" => tracing::info!(fields = %fields, "{message}"),
            "warn" => tracing::warn!(fields = %fields, "{message}"),
            _ => tracing::error!(fields = %fields, "{message}"),
        }
        Ok(success(true))
    })
}
