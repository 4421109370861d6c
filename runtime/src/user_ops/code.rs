//! The seam between the runtime and the engine that runs user modules, so the
//! runtime's crates build and test without wasmtime.

use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// One call of a module's export.
pub struct UserCall {
    pub module: Arc<[u8]>,
    pub export: String,
    /// The op's arguments as a JSON object.
    pub input: Vec<u8>,
    /// The step's `timeout`; the engine's default when `None`.
    pub timeout: Option<Duration>,
}

/// What a call answered: the output JSON's bytes and the module's log lines.
pub struct UserOutput {
    pub bytes: Vec<u8>,
    pub log: Vec<String>,
}

pub trait UserCode: Send + Sync {
    /// Runs the call; the error says which limit or fault stopped it.
    fn call(&self, call: UserCall) -> BoxFuture<'static, Result<UserOutput, String>>;

    /// Checks a module before it is used: its imports and the export the op names.
    fn check(&self, module: &[u8], export: &str) -> Result<(), String>;
}
