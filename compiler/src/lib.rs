//! The edgeflow compiler: resolves names and imports, type-checks, and lowers `.edgeflow`
//! sources to the DAG IR the runtime executes (DESIGN.md §3). Every phase keeps going
//! after an error and collects diagnostics; nothing here panics on user input.
//!
//! Use: `Checker::new()`, `load_file` each entry, `check_all`, then read `diagnostics`
//! and, when there are no errors, `program(entry)`.

mod builtins;
mod checker;
pub mod conform;
mod consts;
mod declarations;
pub mod diagnostic;
pub mod eval;
pub mod explain;
mod expr;
pub mod graph_render;
pub mod inputs;
pub mod ir;
pub mod ir_text;
mod module;
mod ops;
pub mod problem;
pub mod program;
pub mod report;
mod scope;
pub mod source_map;
mod suggest;
pub mod types;
pub mod value;
mod walk;
mod workflow;

pub use checker::{Checker, LoadError, PRELUDE_NAME, PRELUDE_SOURCE};
pub use diagnostic::Diagnostic;
pub use module::ModuleId;
pub use ops::OpSignature;
pub use problem::{Problem, Severity};
