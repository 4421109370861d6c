//! The compile pipeline the commands share: load one entry file, check everything,
//! print diagnostics, and hand back the program when there were no errors.

use crate::cli::Color;
use crate::commands::EXIT_USAGE;
use crate::output::print_diagnostics;
use base64::Engine;
use edgeflow_compiler::ir::Program;
use edgeflow_compiler::Checker;
use std::path::Path;
use std::process::ExitCode;

/// The checked program of `file`, or the exit status to stop with (diagnostics are
/// already printed).
pub fn compile(file: &Path, color: Color) -> Result<Program, ExitCode> {
    let mut checker = Checker::new();
    let entry = checker.load_file(file).map_err(|error| {
        eprintln!("error: {error}");
        ExitCode::from(EXIT_USAGE)
    })?;
    checker.check_all();
    edgeflow_compiler::diagnostic::sort_and_dedup(&mut checker.diagnostics);
    let (errors, _) = print_diagnostics(&checker, color);
    if errors > 0 {
        eprintln!("error: {} has errors; nothing was produced", file.display());
        return Err(ExitCode::from(1));
    }
    Ok(checker.program(entry))
}

/// Reads every WebAssembly module the program's extern ops name into the bundle.
pub fn embed_wasm_modules(program: &mut Program) -> Result<(), String> {
    for op in &program.extern_ops {
        let declaring_dir = Path::new(&op.at.file).parent().unwrap_or(Path::new("."));
        let path = declaring_dir.join(&op.wasm_path);
        let bytes = std::fs::read(&path).map_err(|error| {
            format!(
                "WebAssembly module {} for op `{}` ({}:{}) cannot be read: {error}",
                path.display(),
                op.path,
                op.at.file,
                op.at.line
            )
        })?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        program.wasm_modules.insert(op.wasm_path.clone(), encoded);
    }
    program.hash = edgeflow_compiler::program::content_hash(program);
    Ok(())
}
