//! The compile pipeline the commands share: load one entry file, check everything,
//! print diagnostics, and hand back the program when there were no errors.

use crate::cli::Color;
use crate::commands::EXIT_USAGE;
use crate::output::print_diagnostics;
use base64::Engine;
use edgeflow_compiler::ir::{Program, Workflow};
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

/// The checked program with its WebAssembly modules read in and checked: what `run`,
/// `submit`, `apply` and `compile` act on.
pub fn compile_with_modules(file: &Path, color: Color) -> Result<Program, ExitCode> {
    let mut program = compile(file, color)?;
    embed_wasm_modules(&mut program).map_err(|message| {
        eprintln!("{message}");
        ExitCode::from(1)
    })?;
    Ok(program)
}

/// The program's bundle as JSON, for a request body (`submit`, `apply`).
pub fn bundle_json(program: &Program) -> Result<serde_json::Value, ExitCode> {
    serde_json::from_slice(&edgeflow_compiler::program::to_bundle(program)).map_err(|error| {
        eprintln!("error: cannot encode the bundle: {error}");
        ExitCode::from(1)
    })
}

/// Reads every WebAssembly module the program's extern ops name into the bundle,
/// refusing one the sandbox would refuse (E0600: unreadable, invalid, an import the
/// sandbox does not offer, an export the ABI needs missing).
pub fn embed_wasm_modules(program: &mut Program) -> Result<(), String> {
    for op in &program.extern_ops {
        let declaring_dir = Path::new(&op.at.file).parent().unwrap_or(Path::new("."));
        let path = declaring_dir.join(&op.wasm_path);
        let refused = |problem: String| {
            format!(
                "error[E0600]: {}:{}: the WebAssembly module {} of op `{}` {problem}",
                op.at.file,
                op.at.line,
                path.display(),
                op.path,
            )
        };
        let bytes =
            std::fs::read(&path).map_err(|error| refused(format!("cannot be read: {error}")))?;
        edgeflow_wasm::inspect(&bytes, &op.export)
            .map_err(|problem| refused(format!("is refused: {problem}")))?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        program.wasm_modules.insert(op.wasm_path.clone(), encoded);
    }
    program.hash = edgeflow_compiler::program::content_hash(program);
    Ok(())
}

/// The workflow a command acts on: the one named, or the only one in the file.
pub fn choose_workflow<'p>(
    program: &'p Program,
    name: Option<&str>,
    file: &Path,
) -> Result<&'p Workflow, ExitCode> {
    let names: Vec<&str> = program.workflows.iter().map(|w| w.name.as_str()).collect();
    let chosen = match (name, program.workflows.as_slice()) {
        (Some(name), workflows) => workflows.iter().find(|w| w.name == name),
        (None, [only]) => Some(only),
        (None, []) => {
            eprintln!("error: {} declares no workflow", file.display());
            return Err(ExitCode::from(EXIT_USAGE));
        }
        (None, _) => {
            eprintln!(
                "error: {} declares several workflows; choose one with --workflow ({})",
                file.display(),
                names.join(", ")
            );
            return Err(ExitCode::from(EXIT_USAGE));
        }
    };
    chosen.ok_or_else(|| {
        eprintln!(
            "error: no workflow `{}` in {} (it has: {})",
            name.unwrap_or_default(),
            file.display(),
            names.join(", ")
        );
        ExitCode::from(EXIT_USAGE)
    })
}
