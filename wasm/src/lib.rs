//! The WebAssembly sandbox user ops run in (docs/wasm.md). It knows nothing of
//! workflows: it loads a module, checks what it imports, and runs one call with its
//! input JSON under time, memory, stack and output limits. Wasmtime lives here alone,
//! so the crates that do not run user code build without it.

mod core_abi;
mod error;
mod inspect;
mod limiter;
mod log_lines;
mod sandbox;
mod settings;
mod wasi_abi;

pub use error::WasmError;
pub use inspect::{inspect, Abi};
pub use sandbox::{Call, Loaded, Output, Sandbox};
pub use settings::SandboxSettings;
