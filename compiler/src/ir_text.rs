//! The readable text form of the IR (`edgeflow compile --emit ir-text`). It shows what
//! the compiler decided — defaults filled in, constants folded, steps in graph order
//! with their types — in a stable layout that snapshot tests pin.
//!
//! Steps are `%name`, parameters `$name`, values in literal syntax.

use crate::ir::{Expr, Migration, OnExceed, Policy, Program, Step, StepKind, Trigger, Workflow};
use crate::value::{format_bandwidth, format_duration, format_size, format_window};
use std::fmt::Write;

pub fn ir_text(program: &Program) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "// edgeflow IR v{} {}", program.version, program.hash);
    for edge in &program.edges {
        let mut fields = vec![format!("region: {:?}", edge.region)];
        if let Some(zone) = &edge.zone {
            fields.push(format!("zone: {zone:?}"));
        }
        if !edge.labels.is_empty() {
            fields.push(format!("labels: {}", string_list(&edge.labels)));
        }
        if !edge.compliance.is_empty() {
            fields.push(format!("compliance: {}", string_list(&edge.compliance)));
        }
        if let Some(capacity) = &edge.capacity {
            fields.push(format!(
                "capacity: {{ cpu: {:?}, memory: {} }}",
                capacity.cpu,
                format_size(capacity.memory)
            ));
        }
        let _ = writeln!(out, "\nedge {} {{ {} }}", edge.name, fields.join(", "));
    }
    for policy in &program.policies {
        write_policy(&mut out, policy);
    }
    for migration in &program.migrations {
        write_migration(&mut out, migration);
    }
    for op in &program.extern_ops {
        let params: Vec<String> = op
            .params
            .iter()
            .map(|p| format!("{}: {}", p.name, p.ty))
            .collect();
        let _ = writeln!(
            out,
            "\nextern op {}({}) -> {} = wasm({:?}, {:?})",
            op.path,
            params.join(", "),
            op.result,
            op.wasm_path,
            op.export
        );
    }
    for workflow in &program.workflows {
        write_workflow(&mut out, workflow);
    }
    out
}

fn string_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

fn write_policy(out: &mut String, policy: &Policy) {
    let _ = writeln!(out, "\npolicy {} {{", policy.name);
    let _ = writeln!(out, "  match: {}", policy.matcher);
    let _ = writeln!(
        out,
        "  limit: {} per {}",
        policy.limit.count,
        format_duration(policy.limit.per)
    );
    let _ = writeln!(out, "  burst: {}", policy.burst);
    let _ = writeln!(out, "  scope: {}", policy.scope);
    if !policy.by.is_empty() {
        let _ = writeln!(out, "  by: {}", string_list(&policy.by));
    }
    let _ = writeln!(out, "  algorithm: {}", policy.algorithm);
    let on_exceed = match policy.on_exceed {
        OnExceed::Reject => "reject".to_string(),
        OnExceed::Delay(nanos) => format!("delay({})", format_duration(nanos)),
    };
    let _ = writeln!(out, "  on_exceed: {on_exceed}");
    let edges = policy
        .edges
        .as_ref()
        .map_or("all".to_string(), |e| format!("[{}]", e.join(", ")));
    let _ = writeln!(out, "  edges: {edges}");
    out.push_str("}\n");
}

fn write_migration(out: &mut String, m: &Migration) {
    let _ = writeln!(out, "\nmigration {} {{", m.name);
    let _ = writeln!(out, "  from: {}, to: {}", m.from, m.to);
    let _ = writeln!(out, "  workloads: {}", string_list(&m.workloads));
    let _ = writeln!(out, "  strategy: {}", m.strategy);
    let _ = writeln!(out, "  max_downtime: {}", format_duration(m.max_downtime));
    let _ = writeln!(out, "  sync_interval: {}", format_duration(m.sync_interval));
    let _ = writeln!(out, "  delta_threshold: {}", format_size(m.delta_threshold));
    let window = m
        .window
        .map_or("any".to_string(), |(start, end)| format_window(start, end));
    let _ = writeln!(out, "  window: {window}");
    let bandwidth = m
        .bandwidth
        .map_or("unlimited".to_string(), format_bandwidth);
    let _ = writeln!(out, "  bandwidth: {bandwidth}");
    let _ = writeln!(out, "  compression: {}", m.compression);
    let _ = writeln!(
        out,
        "  checkpoint_every: {}",
        format_duration(m.checkpoint_every)
    );
    let _ = writeln!(out, "  batch_size: {}", m.batch_size);
    let _ = writeln!(out, "  priority: {}", m.priority);
    let _ = writeln!(out, "  validate: {}", m.validate);
    let _ = writeln!(out, "  auto_rollback: {}", m.auto_rollback);
    out.push_str("}\n");
}

fn write_workflow(out: &mut String, workflow: &Workflow) {
    let params: Vec<String> = workflow
        .params
        .iter()
        .map(|p| match &p.default {
            Some(default) => format!("{}: {} = {}", p.name, p.ty, default),
            None => format!("{}: {}", p.name, p.ty),
        })
        .collect();
    let _ = writeln!(
        out,
        "\nworkflow {}({}) -> {} {{",
        workflow.name,
        params.join(", "),
        workflow.output_type
    );
    let names: Vec<&str> = workflow
        .graph
        .node_weights()
        .map(|s| s.name.as_str())
        .collect();
    for trigger in &workflow.triggers {
        let text = match trigger {
            Trigger::Schedule { cron } => format!("on schedule {cron:?}"),
            Trigger::Every { interval } => format!("on every {}", format_duration(*interval)),
            Trigger::Event {
                event_type,
                filter: None,
            } => format!("on event {event_type:?}"),
            Trigger::Event {
                event_type,
                filter: Some(filter),
            } => {
                format!(
                    "on event {event_type:?} where {}",
                    expr_text(filter, &names)
                )
            }
        };
        let _ = writeln!(out, "  {text}");
    }
    for step in workflow.graph.node_weights() {
        write_step(out, step, &names);
    }
    if let Some(output) = &workflow.output {
        let _ = writeln!(out, "  return {}", expr_text(output, &names));
    }
    out.push_str("}\n");
}

fn write_step(out: &mut String, step: &Step, names: &[&str]) {
    let body = match &step.kind {
        StepKind::Op { op, args } => {
            let args: Vec<String> = args
                .iter()
                .map(|(n, e)| format!("{n}: {}", expr_text(e, names)))
                .collect();
            format!("{op}({})", args.join(", "))
        }
        StepKind::Pure(expr) => expr_text(expr, names),
    };
    let mut modifiers = String::new();
    let m = &step.modifiers;
    if !m.after.is_empty() {
        let after: Vec<String> = m.after.iter().map(|i| step_ref(*i, names)).collect();
        let _ = write!(modifiers, " after {}", after.join(", "));
    }
    if let Some(placement) = &m.placement {
        let _ = write!(modifiers, " on {}", expr_text(placement, names));
    }
    if let Some(retry) = &m.retry {
        let _ = write!(modifiers, " retry {}", retry.attempts);
        if let Some(backoff) = &retry.backoff {
            let _ = write!(modifiers, " backoff {}", expr_text(backoff, names));
        }
    }
    if let Some(timeout) = &m.timeout {
        let _ = write!(modifiers, " timeout {}", expr_text(timeout, names));
    }
    if let Some(guard) = &m.guard {
        let _ = write!(modifiers, " when {}", expr_text(guard, names));
    }
    let _ = writeln!(
        out,
        "  %{}: {} = {body}{modifiers}  // {}:{}",
        step.name, step.output_type, step.at.line, step.at.column
    );
}

fn step_ref(id: u32, names: &[&str]) -> String {
    format!("%{}", names.get(id as usize).copied().unwrap_or("?"))
}

/// An IR expression in source-like syntax, fully parenthesised.
pub fn expr_text(expr: &Expr, names: &[&str]) -> String {
    match expr {
        Expr::Const(value) => value.to_string(),
        Expr::Param(name) => format!("${name}"),
        Expr::Step(id) => step_ref(*id, names),
        Expr::Trigger => "trigger".to_string(),
        Expr::List(items) => {
            let items: Vec<String> = items.iter().map(|e| expr_text(e, names)).collect();
            format!("[{}]", items.join(", "))
        }
        Expr::Record(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(n, e)| format!("{n}: {}", expr_text(e, names)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        Expr::Unary(op, operand) => format!("{}{}", op.symbol(), expr_text(operand, names)),
        Expr::Binary(op, left, right) => {
            format!(
                "({} {} {})",
                expr_text(left, names),
                op.symbol(),
                expr_text(right, names)
            )
        }
        Expr::Field(receiver, field) => format!("{}.{field}", expr_text(receiver, names)),
        Expr::OptionalField(receiver, field) => format!("{}?.{field}", expr_text(receiver, names)),
        Expr::Index(receiver, index) => format!(
            "{}[{}]",
            expr_text(receiver, names),
            expr_text(index, names)
        ),
        Expr::If(condition, then, otherwise) => format!(
            "if {} {{ {} }} else {{ {} }}",
            expr_text(condition, names),
            expr_text(then, names),
            expr_text(otherwise, names)
        ),
        Expr::Call(builtin, args) => {
            let args: Vec<String> = args.iter().map(|e| expr_text(e, names)).collect();
            format!("{}({})", builtin.name(), args.join(", "))
        }
    }
}
