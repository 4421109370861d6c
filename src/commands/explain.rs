//! `edgeflow explain CODE`: the long explanation of a diagnostic code.

use crate::commands::EXIT_USAGE;
use edgeflow_compiler::explain::{explain, title, EXPLANATIONS};
use std::process::ExitCode;

pub fn run(code: Option<&str>, list: bool) -> ExitCode {
    if list {
        for (code, text) in EXPLANATIONS {
            println!("{code}  {}", title(text));
        }
        return ExitCode::SUCCESS;
    }
    let code = code.unwrap_or_default();
    match explain(code) {
        Some(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("error: `{code}` is not an edgeflow diagnostic code; `edgeflow explain --list` shows them all");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
