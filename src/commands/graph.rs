//! `edgeflow graph FILE`: a workflow's DAG as Graphviz dot or Mermaid.

use crate::cli::{Color, GraphFormat};
use crate::commands::EXIT_USAGE;
use std::path::Path;
use std::process::ExitCode;

pub fn run(_file: &Path, _workflow: Option<&str>, _format: GraphFormat, _color: Color) -> ExitCode {
    eprintln!("error: `edgeflow graph` is not available yet");
    ExitCode::from(EXIT_USAGE)
}
