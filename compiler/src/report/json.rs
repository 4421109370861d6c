//! The machine-readable report of `edgeflow check --format json` (LANGUAGE.md §6):
//! counts, then every diagnostic with 1-based line/column (characters) of its primary
//! label, byte offset and length, all labels, and help (or null).

use crate::diagnostic::Diagnostic;
use crate::problem::Severity;
use crate::source_map::{FileId, Location, SourceMap};
use serde_json::{json, Value};

pub fn render_json(diagnostics: &[Diagnostic], sources: &SourceMap, files: usize) -> Value {
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    let items: Vec<Value> = diagnostics
        .iter()
        .map(|d| diagnostic_json(d, sources))
        .collect();
    json!({ "files": files, "errors": errors, "warnings": warnings, "diagnostics": items })
}

fn diagnostic_json(diagnostic: &Diagnostic, sources: &SourceMap) -> Value {
    let file = sources.get(diagnostic.at.file);
    let span = diagnostic.at.span;
    let start = file.line_col(span.start as usize);
    let end = file.line_col(span.end as usize);
    let home = diagnostic.at.file;
    let mut labels = vec![label_json(
        diagnostic.at,
        &diagnostic.problem.label(),
        sources,
        home,
    )];
    labels.extend(
        diagnostic
            .related
            .iter()
            .map(|(at, message)| label_json(*at, message, sources, home)),
    );
    json!({
        "code": diagnostic.code(),
        "severity": diagnostic.severity().as_str(),
        "message": diagnostic.problem.message(),
        "file": file.name,
        "line": start.line,
        "column": start.column,
        "end_line": end.line,
        "end_column": end.column,
        "offset": span.start,
        "length": span.len(),
        "labels": labels,
        "help": diagnostic.problem.help(),
    })
}

/// A label; one in another file than its diagnostic names that file.
fn label_json(at: Location, message: &str, sources: &SourceMap, home: FileId) -> Value {
    let file = sources.get(at.file);
    let start = file.line_col(at.span.start as usize);
    let mut label = json!({
        "message": message,
        "line": start.line,
        "column": start.column,
        "offset": at.span.start,
        "length": at.span.len(),
    });
    if at.file != home {
        label["file"] = json!(file.name);
    }
    label
}
