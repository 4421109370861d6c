//! `log.emit`: a structured log line on stderr (stdout carries only a run's output).

use crate::op_fn::{OpFn, OpFuture};
use crate::result::success;
use edgeflow_runtime::op::{Args, OpContext, OpError, Registry};

pub fn register(registry: &mut Registry) {
    registry.register("log.emit", OpFn(emit));
}

const LEVELS: &[&str] = &["debug", "info", "warn", "error"];

fn emit<'a>(context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let level = args.string("level")?;
        if !LEVELS.contains(&level) {
            return Err(OpError::BadArgument {
                name: "level".into(),
                expected: "debug, info, warn or error",
            });
        }
        let line = serde_json::json!({
            "level": level,
            "message": args.string("message")?,
            "fields": args.json("fields")?,
            "run": context.run_id,
            "step": context.step,
        });
        eprintln!("{line}");
        Ok(success(true))
    })
}
