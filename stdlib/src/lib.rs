//! The standard library: one module per op family of `prelude.edgeflow` (whose
//! signatures the compiler reads), implemented against the runtime's `Op` trait.
//! `registry()` is what the binary hands to the executor.

mod coord;
mod edge;
mod log;
mod migrate;
mod monitor;
mod op_fn;
mod ratelimit;
mod result;
mod state;
mod time;

use edgeflow_runtime::op::Registry;

/// Every op of the prelude, implemented or explicitly not available yet.
pub fn registry() -> Registry {
    let mut registry = Registry::default();
    coord::register(&mut registry);
    state::register(&mut registry);
    edge::register(&mut registry);
    log::register(&mut registry);
    migrate::register(&mut registry);
    monitor::register(&mut registry);
    ratelimit::register(&mut registry);
    time::register(&mut registry);
    registry
}
