//! Shows diagnostics to people (miette's graphical report) and to tools (the JSON
//! document of LANGUAGE.md §6). Both read the same `Diagnostic` data.

mod excerpt;
mod human;
mod json;

pub use human::{render_human, render_located, Style};
pub use json::render_json;
