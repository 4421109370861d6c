//! Printing for people and tools: colour decisions, diagnostics with their summary,
//! and a workflow's output value (`edgeflow run`, `edgeflow submit --wait`).

use crate::cli::{Color, RunFormat};
use edgeflow_compiler::report::{render_human, Style};
use edgeflow_compiler::{Checker, Severity};
use std::io::IsTerminal;

pub fn style(color: Color) -> Style {
    let colored = match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    if colored {
        Style::Color
    } else {
        Style::Plain
    }
}

/// Prints every diagnostic and a one-line summary to stderr; returns (errors, warnings).
pub fn print_diagnostics(checker: &Checker, color: Color) -> (usize, usize) {
    let errors = checker
        .diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .count();
    let warnings = checker.diagnostics.len() - errors;
    if !checker.diagnostics.is_empty() {
        eprint!(
            "{}",
            render_human(&checker.diagnostics, &checker.sources, style(color))
        );
    }
    (errors, warnings)
}

pub fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// Prints a workflow's output (its JSON encoding): compact with `json`, indented with
/// `pretty`, and by default pretty on a terminal only.
pub fn print_output(output: &serde_json::Value, format: Option<RunFormat>) {
    let pretty = match format {
        Some(RunFormat::Json) => false,
        Some(RunFormat::Pretty) => true,
        None => std::io::stdout().is_terminal(),
    };
    let text = if pretty {
        serde_json::to_string_pretty(output)
    } else {
        serde_json::to_string(output)
    };
    println!("{}", text.unwrap_or_else(|_| "null".to_string()));
}
