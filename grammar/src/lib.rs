//! The edgeflow grammar: source text to an AST with spans (DESIGN.md §2, §3).
//!
//! This crate knows the language's syntax and literals and nothing of names or types.
//! `parse` never panics on any input: every problem comes back as a `SyntaxError`.

// pest_derive without its `std` feature (which adds a stack probe on every rule call; our
// own nesting limits already bound recursion) refers to the `alloc` crate by name.
extern crate alloc;

pub mod ast;
mod build;
mod doc_comment;
pub mod error;
mod expected;
mod keywords;
pub mod literal;
mod parser;
mod recovery;
pub mod span;

pub use error::{Expected, LiteralProblem, SyntaxError, Unterminated};
pub use parser::{parse, Parsed, MAX_FILE_BYTES, MAX_NESTING};
pub use span::Span;
