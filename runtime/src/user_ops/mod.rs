//! User ops: `extern op … = wasm("m.wasm", "run")` (docs/wasm.md). The runtime does
//! not run WebAssembly itself: the binary hands it a `UserCode` (the sandbox crate),
//! and this module turns a program's extern ops into ops the executor calls like any
//! other — input JSON from the named arguments, output checked against the declared
//! result type, log lines into the node's log.

mod code;
mod op;
mod table;

pub use code::{PreparedModule, UserCode, UserOutput};
pub use op::UserOp;
pub use table::{fetched_user_op, UserModule, UserOps};
