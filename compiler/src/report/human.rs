//! Human-readable diagnostics through miette: code, message, the source line with the
//! exact span underlined and labelled, related places, and help.

use super::excerpt::{Excerpt, Label};
use crate::diagnostic::Diagnostic;
use crate::problem::Severity;
use crate::source_map::SourceMap;
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Colours and Unicode box drawing, for terminals.
    Color,
    /// Unicode without colour, for logs, files and snapshot tests.
    Plain,
}

/// One rendered block per diagnostic, in the order given.
pub fn render_human(diagnostics: &[Diagnostic], sources: &SourceMap, style: Style) -> String {
    let theme = match style {
        Style::Color => GraphicalTheme::unicode(),
        Style::Plain => GraphicalTheme::unicode_nocolor(),
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let file = sources.get(diagnostic.at.file);
        let severity = match diagnostic.severity() {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        };
        let mut wanted = vec![Label {
            start: diagnostic.at.span.start as usize,
            end: diagnostic.at.span.end as usize,
            message: Some(diagnostic.problem.label()),
        }];
        for (location, message) in &diagnostic.related {
            if location.file == diagnostic.at.file {
                wanted.push(Label {
                    start: location.span.start as usize,
                    end: location.span.end as usize,
                    message: Some(message.clone()),
                });
            }
        }
        let excerpt = Excerpt::cut(file, &wanted);
        let labels: Vec<LabeledSpan> = excerpt
            .labels
            .iter()
            .enumerate()
            .map(|(index, (span, message))| {
                if index == 0 {
                    LabeledSpan::new_primary_with_span(message.clone(), *span)
                } else {
                    LabeledSpan::new_with_span(message.clone(), *span)
                }
            })
            .collect();
        let mut report = MietteDiagnostic::new(diagnostic.problem.message())
            .with_code(diagnostic.code())
            .with_severity(severity)
            .with_labels(labels);
        if let Some(help) = diagnostic.problem.help() {
            report = report.with_help(help);
        }
        let report = Report::new(report).with_source_code(excerpt);
        if handler.render_report(&mut out, report.as_ref()).is_err() {
            out.push_str(&format!(
                "{}: {}\n",
                diagnostic.code(),
                diagnostic.problem.message()
            ));
        }
        out.push('\n');
    }
    out
}

/// A run-time error shown at its place in the source, the way diagnostics are.
pub fn render_located(
    message: &str,
    label: &str,
    name: &str,
    text: &str,
    span: (usize, usize),
    style: Style,
) -> String {
    let theme = match style {
        Style::Color => GraphicalTheme::unicode(),
        Style::Plain => GraphicalTheme::unicode_nocolor(),
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let report = MietteDiagnostic::new(message.to_string())
        .with_severity(miette::Severity::Error)
        .with_labels(vec![LabeledSpan::new_primary_with_span(
            Some(label.to_string()),
            span,
        )]);
    let report = Report::new(report).with_source_code(NamedSource::new(name, text.to_string()));
    let mut out = String::new();
    if handler.render_report(&mut out, report.as_ref()).is_err() {
        out = format!("{message}\n");
    }
    out
}
