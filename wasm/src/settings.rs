//! The limits every instance runs under, from the node config's `[wasm]` table.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct SandboxSettings {
    /// A call's CPU time when its step declares no `timeout`.
    pub default_timeout: Duration,
    /// Linear memory one instance may have.
    pub memory_limit_bytes: u64,
    /// The WebAssembly stack one call may use.
    pub stack_bytes: usize,
    /// Instances that may exist at once (the pool's size).
    pub instance_slots: u32,
    /// The largest output a call may answer.
    pub output_limit_bytes: u64,
}

impl Default for SandboxSettings {
    fn default() -> SandboxSettings {
        SandboxSettings {
            default_timeout: Duration::from_secs(1),
            memory_limit_bytes: 64 << 20,
            stack_bytes: 512 << 10,
            instance_slots: 128,
            output_limit_bytes: 16 << 20,
        }
    }
}
