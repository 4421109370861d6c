//! A workflow's DAG as a picture: Graphviz dot or Mermaid. Steps are boxes (op steps
//! name their op; guards, placement, retry and timeout are shown), data edges carry
//! the fields read, `after` edges are dashed, and the output is a node of its own.

use crate::ir::{Dependency, Expr, Step, StepKind, Workflow};
use crate::ir_text::expr_text;
use petgraph::visit::EdgeRef;
use std::collections::BTreeSet;
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

pub fn render_graph(workflow: &Workflow, format: GraphFormat) -> String {
    let names: Vec<&str> = workflow
        .graph
        .node_weights()
        .map(|s| s.name.as_str())
        .collect();
    let nodes: Vec<(String, Vec<String>, bool)> = workflow
        .graph
        .node_weights()
        .enumerate()
        .map(|(i, step)| {
            (
                format!("s{i}"),
                step_lines(step, &names),
                step.modifiers.guard.is_some(),
            )
        })
        .collect();
    let mut edges: Vec<(String, String, Option<String>, bool)> = workflow
        .graph
        .edge_references()
        .map(|edge| {
            let from = format!("s{}", edge.source().index());
            let to = format!("s{}", edge.target().index());
            match edge.weight() {
                Dependency::Data { fields } => (from, to, Some(fields.join(", ")), false),
                Dependency::After => (from, to, None, true),
            }
        })
        .collect();
    if let Some(output) = &workflow.output {
        let mut reads: Vec<(u32, BTreeSet<String>)> = Vec::new();
        collect_reads(output, &mut reads);
        for (step, fields) in reads {
            let fields: Vec<String> = fields.into_iter().collect();
            edges.push((
                format!("s{step}"),
                "output".to_string(),
                Some(fields.join(", ")),
                false,
            ));
        }
    }
    let output = workflow
        .output
        .as_ref()
        .map(|_| format!("return: {}", workflow.output_type));
    match format {
        GraphFormat::Dot => dot(&workflow.name, &nodes, &edges, output),
        GraphFormat::Mermaid => mermaid(&nodes, &edges, output),
    }
}

fn step_lines(step: &Step, names: &[&str]) -> Vec<String> {
    let mut lines = vec![step.name.clone()];
    match &step.kind {
        StepKind::Op { op, .. } => lines.push(op.clone()),
        StepKind::Pure(expr) => lines.push(format!("= {}", shorten(&expr_text(expr, names)))),
    }
    let m = &step.modifiers;
    if let Some(guard) = &m.guard {
        lines.push(format!("when {}", shorten(&expr_text(guard, names))));
    }
    if let Some(placement) = &m.placement {
        lines.push(format!("on {}", shorten(&expr_text(placement, names))));
    }
    if let Some(retry) = &m.retry {
        lines.push(format!("retry {}", retry.attempts));
    }
    if let Some(timeout) = &m.timeout {
        lines.push(format!("timeout {}", expr_text(timeout, names)));
    }
    lines
}

/// Long expressions are cut so that boxes stay readable.
fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX - 1).collect();
    format!("{cut}…")
}

/// The steps an expression reads, with the fields read (`*` for the whole output).
fn collect_reads(expr: &Expr, reads: &mut Vec<(u32, BTreeSet<String>)>) {
    let mut record = |step: u32, field: String| match reads.iter_mut().find(|(s, _)| *s == step) {
        Some((_, fields)) => {
            fields.insert(field);
        }
        None => reads.push((step, BTreeSet::from([field]))),
    };
    let mut pending = vec![expr];
    while let Some(expr) = pending.pop() {
        match expr {
            Expr::Field(receiver, field) | Expr::OptionalField(receiver, field) => {
                match receiver.as_ref() {
                    Expr::Step(step) => record(*step, field.clone()),
                    other => pending.push(other),
                }
            }
            Expr::Step(step) => record(*step, "*".to_string()),
            Expr::Const(_) | Expr::Param(_) | Expr::Trigger => {}
            Expr::List(items) | Expr::Call(_, items) => pending.extend(items),
            Expr::Record(fields) => pending.extend(fields.iter().map(|(_, e)| e)),
            Expr::Unary(_, operand) => pending.push(operand),
            Expr::Binary(_, left, right) | Expr::Index(left, right) => {
                pending.extend([left.as_ref(), right.as_ref()])
            }
            Expr::If(condition, then, otherwise) => {
                pending.extend([condition.as_ref(), then.as_ref(), otherwise.as_ref()])
            }
        }
    }
    reads.sort_by_key(|(step, _)| *step);
}

type Node = (String, Vec<String>, bool);
type Edge = (String, String, Option<String>, bool);

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot(name: &str, nodes: &[Node], edges: &[Edge], output: Option<String>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", dot_escape(name));
    out.push_str("  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=10];\n");
    for (id, lines, guarded) in nodes {
        let label: Vec<String> = lines.iter().map(|l| dot_escape(l)).collect();
        let style = if *guarded {
            ", style=\"rounded,dashed\""
        } else {
            ""
        };
        let _ = writeln!(out, "  {id} [label=\"{}\"{style}];", label.join("\\n"));
    }
    if let Some(output) = output {
        let _ = writeln!(
            out,
            "  output [label=\"{}\", shape=oval];",
            dot_escape(&output)
        );
    }
    for (from, to, label, dashed) in edges {
        let mut attributes = Vec::new();
        if let Some(label) = label {
            attributes.push(format!("label=\"{}\"", dot_escape(label)));
        }
        if *dashed {
            attributes.push("style=dashed".to_string());
        }
        let attributes = if attributes.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attributes.join(", "))
        };
        let _ = writeln!(out, "  {from} -> {to}{attributes};");
    }
    out.push_str("}\n");
    out
}

fn mermaid_escape(text: &str) -> String {
    text.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
        .replace('|', "#124;")
}

fn mermaid(nodes: &[Node], edges: &[Edge], output: Option<String>) -> String {
    let mut out = String::from("flowchart TD\n");
    for (id, lines, guarded) in nodes {
        let label: Vec<String> = lines.iter().map(|l| mermaid_escape(l)).collect();
        let (open, close) = if *guarded { ("{{", "}}") } else { ("[", "]") };
        let _ = writeln!(out, "  {id}{open}\"{}\"{close}", label.join("<br/>"));
    }
    if let Some(output) = output {
        let _ = writeln!(out, "  output([\"{}\"])", mermaid_escape(&output));
    }
    for (from, to, label, dashed) in edges {
        let arrow = if *dashed { "-.->" } else { "-->" };
        match label {
            Some(label) => {
                let _ = writeln!(out, "  {from} {arrow}|\"{}\"| {to}", mermaid_escape(label));
            }
            None => {
                let _ = writeln!(out, "  {from} {arrow} {to}");
            }
        }
    }
    out
}
