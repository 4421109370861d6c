//! The seam between the runtime and the engine that runs user modules, so the
//! runtime's crates build and test without wasmtime. A module is prepared once (checked
//! and compiled) and then called through its handle, so a call does not look the
//! module up again.

use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// What a call answered: the output JSON's bytes and the module's log lines.
pub struct UserOutput {
    pub bytes: Vec<u8>,
    pub log: Vec<String>,
}

/// A module ready to call through one export.
pub trait PreparedModule: Send + Sync {
    /// Runs one call with `input` (the op's arguments as a JSON object) within
    /// `timeout` (the engine's default when `None`); the error says which limit or
    /// fault stopped it.
    fn call(
        &self,
        input: Vec<u8>,
        timeout: Option<Duration>,
    ) -> BoxFuture<'static, Result<UserOutput, String>>;
}

pub trait UserCode: Send + Sync {
    /// Checks a module (its imports and the export the op names) and prepares it.
    fn prepare(&self, module: &[u8], export: &str) -> Result<Arc<dyn PreparedModule>, String>;
}
