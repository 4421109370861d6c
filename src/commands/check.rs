//! `edgeflow check PATH…`: every diagnostic of every file in one run.

use crate::cli::{Color, Format};
use crate::commands::EXIT_USAGE;
use crate::inputs::source_files;
use crate::output::{plural, print_diagnostics};
use edgeflow_compiler::report::render_json;
use edgeflow_compiler::Checker;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(paths: &[PathBuf], format: Format, deny_warnings: bool, color: Color) -> ExitCode {
    let files = match source_files(paths) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut checker = Checker::new();
    checker.set_lowering(false);
    for file in &files {
        if let Err(error) = checker.load_file(file) {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    }
    checker.check_all();
    edgeflow_compiler::diagnostic::sort_and_dedup(&mut checker.diagnostics);
    let file_count = checker.sources.user_file_count();
    let (errors, warnings) = match format {
        Format::Json => {
            let report = render_json(&checker.diagnostics, &checker.sources, file_count);
            println!("{report}");
            (
                report["errors"].as_u64().unwrap_or(0) as usize,
                report["warnings"].as_u64().unwrap_or(0) as usize,
            )
        }
        Format::Human => {
            let counts = print_diagnostics(&checker, color);
            eprintln!(
                "checked {}: {}, {}",
                plural(file_count, "file"),
                plural(counts.0, "error"),
                plural(counts.1, "warning")
            );
            counts
        }
    };
    // The process ends now: freeing every syntax tree node one by one would only cost time.
    std::mem::forget(checker);
    if errors > 0 || (deny_warnings && warnings > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
