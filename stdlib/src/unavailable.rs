//! Ops of the prelude whose subsystem is not built yet. Calling one fails the step with
//! a clear error naming what is missing; none pretends to succeed.

use crate::op_fn::{OpFn, OpFuture};
use edgeflow_runtime::op::{Args, OpContext, OpError, Registry};

const NOT_YET: &[(&str, &str)] = &[
    ("migrate.start", "workload migration is not built yet"),
    ("migrate.progress", "workload migration is not built yet"),
    ("migrate.pause", "workload migration is not built yet"),
    ("migrate.resume", "workload migration is not built yet"),
    ("migrate.rollback", "workload migration is not built yet"),
    ("migrate.active", "workload migration is not built yet"),
];

pub fn register(registry: &mut Registry) {
    for (path, _) in NOT_YET {
        registry.register(path, OpFn(not_available));
    }
}

fn not_available<'a>(context: &'a OpContext, _args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let op = context.op.as_str();
        let reason = NOT_YET
            .iter()
            .find(|(path, _)| *path == op)
            .map_or("not built yet", |(_, reason)| reason);
        Err(OpError::NotAvailable {
            op: op.to_string(),
            reason,
        })
    })
}
