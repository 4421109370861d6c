//! `edgeflow compile FILE -o OUT`: writes the IR bundle and prints its content hash;
//! `--emit ir-text` prints the readable IR instead.

use crate::cli::{Color, Emit};
use crate::commands::EXIT_USAGE;
use crate::pipeline::{compile, embed_wasm_modules};
use edgeflow_compiler::ir_text::ir_text;
use edgeflow_compiler::program::to_bundle;
use std::path::Path;
use std::process::ExitCode;

pub fn run(file: &Path, output: Option<&Path>, emit: Emit, color: Color) -> ExitCode {
    if emit == Emit::Bundle && output.is_none() {
        eprintln!("error: `--output OUT` is required to write a bundle (or use `--emit ir-text`)");
        return ExitCode::from(EXIT_USAGE);
    }
    let mut program = match compile(file, color) {
        Ok(program) => program,
        Err(code) => return code,
    };
    if emit == Emit::IrText {
        print!("{}", ir_text(&program));
        return ExitCode::SUCCESS;
    }
    if let Err(message) = embed_wasm_modules(&mut program) {
        eprintln!("{message}");
        return ExitCode::from(1);
    }
    let Some(output) = output else {
        return ExitCode::from(EXIT_USAGE);
    };
    if let Err(error) = std::fs::write(output, to_bundle(&program)) {
        eprintln!("error: cannot write {}: {error}", output.display());
        return ExitCode::from(EXIT_USAGE);
    }
    println!("{}", program.hash);
    eprintln!(
        "wrote {} ({} workflows, {} policies, {} migrations)",
        output.display(),
        program.workflows.len(),
        program.policies.len(),
        program.migrations.len()
    );
    ExitCode::SUCCESS
}
