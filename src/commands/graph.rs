//! `edgeflow graph FILE`: a workflow's DAG as Graphviz dot or Mermaid on stdout.

use crate::cli::{Color, GraphFormat};
use crate::commands::EXIT_USAGE;
use crate::pipeline::compile;
use edgeflow_compiler::graph_render::{render_graph, GraphFormat as Format};
use std::path::Path;
use std::process::ExitCode;

pub fn run(file: &Path, workflow: Option<&str>, format: GraphFormat, color: Color) -> ExitCode {
    let program = match compile(file, color) {
        Ok(program) => program,
        Err(code) => return code,
    };
    let names: Vec<&str> = program.workflows.iter().map(|w| w.name.as_str()).collect();
    let chosen = match (workflow, program.workflows.as_slice()) {
        (Some(name), workflows) => workflows.iter().find(|w| w.name == name),
        (None, [only]) => Some(only),
        (None, []) => {
            eprintln!("error: {} declares no workflow", file.display());
            return ExitCode::from(EXIT_USAGE);
        }
        (None, _) => {
            eprintln!(
                "error: {} declares several workflows; choose one with --workflow ({})",
                file.display(),
                names.join(", ")
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let Some(chosen) = chosen else {
        eprintln!(
            "error: no workflow `{}` in {} (it has: {})",
            workflow.unwrap_or_default(),
            file.display(),
            names.join(", ")
        );
        return ExitCode::from(EXIT_USAGE);
    };
    let format = match format {
        GraphFormat::Dot => Format::Dot,
        GraphFormat::Mermaid => Format::Mermaid,
    };
    print!("{}", render_graph(chosen, format));
    ExitCode::SUCCESS
}
