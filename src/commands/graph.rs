//! `edgeflow graph FILE`: a workflow's DAG as Graphviz dot or Mermaid on stdout.

use crate::cli::{Color, GraphFormat};
use crate::pipeline::{choose_workflow, compile};
use edgeflow_compiler::graph_render::{render_graph, GraphFormat as Format};
use std::path::Path;
use std::process::ExitCode;

pub fn run(file: &Path, workflow: Option<&str>, format: GraphFormat, color: Color) -> ExitCode {
    let program = match compile(file, color) {
        Ok(program) => program,
        Err(code) => return code,
    };
    let chosen = match choose_workflow(&program, workflow, file) {
        Ok(chosen) => chosen,
        Err(code) => return code,
    };
    let format = match format {
        GraphFormat::Dot => Format::Dot,
        GraphFormat::Mermaid => Format::Mermaid,
    };
    print!("{}", render_graph(chosen, format));
    ExitCode::SUCCESS
}
