//! Edges, policies and migrations: declarations made of `field: value` pairs, checked
//! against the field tables of LANGUAGE.md §2 (E0500, E0501, E0300 for unknown words,
//! E0502 ranges, E0503, W0104) and lowered to typed IR records with defaults applied.

use crate::checker::Checker;
use crate::expr::Scope;
use crate::ir;
use crate::module::ModuleId;
use crate::problem::Problem;
use crate::suggest::did_you_mean;
use crate::types::Type;
use crate::value::{Value, NANOS_PER_MILLI};
use edgeflow_grammar::ast::{self, Declaration, ExprKind};
use edgeflow_grammar::Span;
use std::collections::HashMap;
use std::sync::Arc;

/// What a field's value must be.
enum FieldKind {
    Typed(Type),
    /// A bare word from this list.
    Words(&'static [&'static str]),
    /// `reject` or `delay(duration)`.
    OnExceed,
    /// `route(..)`, `key(..)` or `descriptor(..)`.
    Matcher,
}

struct FieldSpec {
    name: &'static str,
    kind: fn() -> FieldKind,
    required: bool,
}

const fn field(name: &'static str, kind: fn() -> FieldKind, required: bool) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        required,
    }
}

fn strings() -> Type {
    Type::List(Box::new(Type::String))
}

const EDGE_FIELDS: &[FieldSpec] = &[
    field("region", || FieldKind::Typed(Type::String), true),
    field("zone", || FieldKind::Typed(Type::String), false),
    field("labels", || FieldKind::Typed(strings()), false),
    field("compliance", || FieldKind::Typed(strings()), false),
    field(
        "capacity",
        || {
            FieldKind::Typed(Type::Record(Arc::from(vec![
                ("cpu".into(), Type::Float),
                ("memory".into(), Type::Size),
            ])))
        },
        false,
    ),
];

const SCOPES: &[&str] = &["global", "per_edge"];
const ALGORITHMS: &[&str] = &["token_bucket", "sliding_window", "fixed_window", "gcra"];
const STRATEGIES: &[&str] = &["live", "staged", "bulk", "incremental", "emergency"];

const POLICY_FIELDS: &[FieldSpec] = &[
    field("match", || FieldKind::Matcher, true),
    field("limit", || FieldKind::Typed(Type::Rate), true),
    field("burst", || FieldKind::Typed(Type::Int), false),
    field("scope", || FieldKind::Words(SCOPES), false),
    field("by", || FieldKind::Typed(strings()), false),
    field("algorithm", || FieldKind::Words(ALGORITHMS), false),
    field("on_exceed", || FieldKind::OnExceed, false),
    field(
        "edges",
        || FieldKind::Typed(Type::List(Box::new(Type::Edge))),
        false,
    ),
];

const MIGRATION_FIELDS: &[FieldSpec] = &[
    field("from", || FieldKind::Typed(Type::Edge), true),
    field("to", || FieldKind::Typed(Type::Edge), true),
    field("workloads", || FieldKind::Typed(strings()), true),
    field("strategy", || FieldKind::Words(STRATEGIES), false),
    field("max_downtime", || FieldKind::Typed(Type::Duration), false),
    field("sync_interval", || FieldKind::Typed(Type::Duration), false),
    field("delta_threshold", || FieldKind::Typed(Type::Size), false),
    field("window", || FieldKind::Typed(Type::Window), false),
    field("bandwidth", || FieldKind::Typed(Type::Bandwidth), false),
    field("compression", || FieldKind::Typed(Type::Bool), false),
    field(
        "checkpoint_every",
        || FieldKind::Typed(Type::Duration),
        false,
    ),
    field("batch_size", || FieldKind::Typed(Type::Int), false),
    field("priority", || FieldKind::Typed(Type::Int), false),
    field("validate", || FieldKind::Typed(Type::Bool), false),
    field("auto_rollback", || FieldKind::Typed(Type::Bool), false),
];

/// A field as written and its constant value.
struct Written {
    name_span: Span,
    value_span: Span,
    value: Value,
}

/// The checked fields of one declaration; `complete` is false when a required field
/// or a value was wrong, so no IR is produced (the errors are already reported).
struct Fields {
    written: HashMap<&'static str, Written>,
    complete: bool,
}

impl Fields {
    fn get(&self, name: &str) -> Option<&Value> {
        self.written.get(name).map(|w| &w.value)
    }

    fn string(&self, name: &str) -> Option<String> {
        match self.get(name) {
            Some(Value::String(s) | Value::Word(s) | Value::Edge(s)) => Some(s.clone()),
            _ => None,
        }
    }

    fn strings(&self, name: &str) -> Option<Vec<String>> {
        match self.get(name) {
            Some(Value::List(items)) => Some(
                items
                    .iter()
                    .filter_map(|v| match v {
                        Value::String(s) | Value::Edge(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => None,
        }
    }

    fn int(&self, name: &str, default: i64) -> i64 {
        match self.get(name) {
            Some(Value::Int(i)) => *i,
            _ => default,
        }
    }

    fn duration(&self, name: &str, default: i64) -> i64 {
        match self.get(name) {
            Some(Value::Duration(d)) => *d,
            _ => default,
        }
    }

    fn bool(&self, name: &str, default: bool) -> bool {
        match self.get(name) {
            Some(Value::Bool(b)) => *b,
            _ => default,
        }
    }
}

const SECOND: i64 = 1_000 * NANOS_PER_MILLI;

impl Checker {
    pub(crate) fn check_edge(&mut self, module: ModuleId, edge: &Declaration) -> Option<ir::Edge> {
        let fields = self.check_fields(module, edge, EDGE_FIELDS, "an edge");
        if !fields.complete {
            return None;
        }
        let capacity = match fields.get("capacity") {
            Some(Value::Record(_)) => {
                let capacity = fields.get("capacity");
                let cpu = match capacity.and_then(|c| c.field("cpu")) {
                    Some(Value::Float(x)) => *x,
                    Some(Value::Int(i)) => *i as f64,
                    _ => 0.0,
                };
                let memory = match capacity.and_then(|c| c.field("memory")) {
                    Some(Value::Size(bytes)) => *bytes,
                    _ => 0,
                };
                Some(ir::Capacity { cpu, memory })
            }
            _ => None,
        };
        Some(ir::Edge {
            name: edge.name.name.clone(),
            doc: edge.doc.clone(),
            region: fields.string("region").unwrap_or_default(),
            zone: fields.string("zone"),
            labels: fields.strings("labels").unwrap_or_default(),
            compliance: fields.strings("compliance").unwrap_or_default(),
            capacity,
        })
    }

    pub(crate) fn check_policy(
        &mut self,
        module: ModuleId,
        policy: &Declaration,
    ) -> Option<ir::Policy> {
        let mut fields = self.check_fields(module, policy, POLICY_FIELDS, "a policy");
        if let Some(written) = fields.written.get("limit") {
            if let Value::Rate { count, per } = written.value {
                if count <= 0 || per <= 0 {
                    let detail = if count <= 0 {
                        format!("the count must be greater than 0, not {count}")
                    } else {
                        "the window must be longer than 0s".to_string()
                    };
                    let problem = Problem::OutOfRange {
                        what: "`limit`".into(),
                        detail,
                    };
                    self.report(module, problem, written.value_span);
                    fields.complete = false;
                }
            }
        }
        self.require_positive(module, &mut fields, "burst");
        if !fields.complete {
            return None;
        }
        let (count, per) = match fields.get("limit") {
            Some(Value::Rate { count, per }) => (*count, *per),
            _ => return None,
        };
        let matcher = match fields.get("match") {
            Some(Value::Matcher(m)) => m.clone(),
            _ => return None,
        };
        let on_exceed = match fields.get("on_exceed") {
            Some(Value::Delay(nanos)) => ir::OnExceed::Delay(*nanos),
            _ => ir::OnExceed::Reject,
        };
        Some(ir::Policy {
            name: policy.name.name.clone(),
            doc: policy.doc.clone(),
            matcher,
            limit: ir::Rate { count, per },
            burst: fields.int("burst", count),
            scope: fields.string("scope").unwrap_or_else(|| "global".into()),
            by: fields.strings("by").unwrap_or_default(),
            algorithm: fields
                .string("algorithm")
                .unwrap_or_else(|| "token_bucket".into()),
            on_exceed,
            edges: fields.strings("edges"),
        })
    }

    pub(crate) fn check_migration(
        &mut self,
        module: ModuleId,
        migration: &Declaration,
    ) -> Option<ir::Migration> {
        let mut fields = self.check_fields(module, migration, MIGRATION_FIELDS, "a migration");
        let strategy = fields.string("strategy").unwrap_or_else(|| "live".into());
        self.migration_ranges(module, &mut fields);
        self.strategy_warnings(module, &fields, &strategy);
        if !fields.complete {
            return None;
        }
        Some(ir::Migration {
            name: migration.name.name.clone(),
            doc: migration.doc.clone(),
            from: fields.string("from").unwrap_or_default(),
            to: fields.string("to").unwrap_or_default(),
            workloads: fields.strings("workloads").unwrap_or_default(),
            max_downtime: fields.duration("max_downtime", 30 * SECOND),
            sync_interval: fields.duration("sync_interval", 5 * SECOND),
            delta_threshold: match fields.get("delta_threshold") {
                Some(Value::Size(bytes)) => *bytes,
                _ => 100_000_000,
            },
            window: match fields.get("window") {
                Some(Value::Window { start, end }) => Some((*start, *end)),
                _ => None,
            },
            bandwidth: match fields.get("bandwidth") {
                Some(Value::Bandwidth(bits)) => Some(*bits),
                _ => None,
            },
            compression: fields.bool("compression", true),
            checkpoint_every: fields.duration("checkpoint_every", 60 * SECOND),
            batch_size: fields.int("batch_size", 1000),
            priority: fields.int("priority", 5),
            validate: fields.bool("validate", strategy != "emergency"),
            auto_rollback: fields.bool("auto_rollback", true),
            strategy,
        })
    }

    fn migration_ranges(&mut self, module: ModuleId, fields: &mut Fields) {
        if let (Some(from), Some(to)) = (fields.string("from"), fields.written.get("to")) {
            if Some(&Value::Edge(from.clone())) == Some(&to.value) {
                self.report(module, Problem::SameEdge { edge: from }, to.value_span);
                fields.complete = false;
            }
        }
        if let Some(written) = fields.written.get("workloads") {
            if written.value == Value::List(Vec::new()) {
                let problem = Problem::OutOfRange {
                    what: "`workloads`".into(),
                    detail: "the list is empty".into(),
                };
                self.report(module, problem, written.value_span);
                fields.complete = false;
            }
        }
        if let Some(written) = fields.written.get("priority") {
            if let Value::Int(priority) = written.value {
                if !(1..=10).contains(&priority) {
                    let detail = format!("priority is 1..10, not {priority}");
                    self.report(
                        module,
                        Problem::OutOfRange {
                            what: "`priority`".into(),
                            detail,
                        },
                        written.value_span,
                    );
                    fields.complete = false;
                }
            }
        }
        for name in [
            "batch_size",
            "max_downtime",
            "sync_interval",
            "checkpoint_every",
            "bandwidth",
        ] {
            self.require_positive(module, fields, name);
        }
    }

    /// Reports E0502 when a written numeric field is zero or negative.
    fn require_positive(&mut self, module: ModuleId, fields: &mut Fields, name: &'static str) {
        let Some(written) = fields.written.get(name) else {
            return;
        };
        let positive = match written.value {
            Value::Int(i) | Value::Duration(i) => i > 0,
            Value::Bandwidth(b) | Value::Size(b) => b > 0,
            _ => true,
        };
        if !positive {
            let detail = format!("`{name}` must be greater than 0, not {}", written.value);
            let problem = Problem::OutOfRange {
                what: format!("`{name}`"),
                detail,
            };
            self.report(module, problem, written.value_span);
            fields.complete = false;
        }
    }

    /// W0104: fields that the chosen strategy ignores.
    fn strategy_warnings(&mut self, module: ModuleId, fields: &Fields, strategy: &str) {
        let warn = |checker: &mut Checker, name: &str, reason: &'static str| {
            if let Some(written) = fields.written.get(name) {
                let problem = Problem::IgnoredForStrategy {
                    field: name.to_string(),
                    strategy: strategy.to_string(),
                    reason,
                };
                checker.report(module, problem, written.name_span);
            }
        };
        if strategy != "live" {
            warn(
                self,
                "max_downtime",
                "`max_downtime` applies to the live strategy only",
            );
        }
        if strategy != "live" && strategy != "incremental" {
            warn(
                self,
                "sync_interval",
                "`sync_interval` applies to the live and incremental strategies only",
            );
        }
        if strategy != "incremental" {
            warn(
                self,
                "delta_threshold",
                "`delta_threshold` applies to the incremental strategy only",
            );
        }
        let validate = fields.get("validate");
        if strategy == "emergency" && validate == Some(&Value::Bool(true)) {
            warn(self, "validate", "emergency migrations never validate");
        }
        if strategy != "emergency" && validate == Some(&Value::Bool(false)) {
            warn(
                self,
                "validate",
                "only emergency migrations may skip validation",
            );
        }
    }

    /// Checks every field of a declaration against its table.
    fn check_fields(
        &mut self,
        module: ModuleId,
        decl: &Declaration,
        specs: &[FieldSpec],
        what: &'static str,
    ) -> Fields {
        let mut fields = Fields {
            written: HashMap::new(),
            complete: true,
        };
        for written in &decl.fields {
            let Some(spec) = specs.iter().find(|s| s.name == written.name.name) else {
                let suggestion = did_you_mean(&written.name.name, specs.iter().map(|s| s.name));
                let problem = Problem::FieldNotAllowed {
                    field: written.name.name.clone(),
                    declaration: what,
                    suggestion,
                };
                self.report(module, problem, written.name.span);
                fields.complete = false;
                continue;
            };
            if fields.written.contains_key(spec.name) {
                let problem = Problem::Duplicate {
                    name: spec.name.to_string(),
                    what: "field",
                };
                self.report(module, problem, written.name.span);
                continue;
            }
            match self.field_value(module, spec, &written.value) {
                Some(value) => {
                    let entry = Written {
                        name_span: written.name.span,
                        value_span: written.value.span,
                        value,
                    };
                    fields.written.insert(spec.name, entry);
                }
                None => fields.complete = false,
            }
        }
        let missing: Vec<&'static str> = specs
            .iter()
            .filter(|s| s.required && !decl.fields.iter().any(|f| f.name.name == s.name))
            .map(|s| s.name)
            .collect();
        if !missing.is_empty() {
            let problem = Problem::MissingField {
                fields: missing,
                declaration: what,
            };
            self.report(module, problem, decl.name.span);
            fields.complete = false;
        }
        fields
    }

    /// A field's constant value, or `None` after reporting why not.
    fn field_value(
        &mut self,
        module: ModuleId,
        spec: &FieldSpec,
        expr: &ast::Expr,
    ) -> Option<Value> {
        match (spec.kind)() {
            FieldKind::Words(words) => self.word(module, spec.name, words, expr).map(Value::Word),
            FieldKind::OnExceed => {
                if let ExprKind::Call(callee, args) = &expr.kind {
                    if callee.name == "delay" && args.len() == 1 {
                        let typed =
                            self.expect(&mut Scope::constant(module), &args[0], &Type::Duration);
                        return match typed.ir.as_const() {
                            Some(Value::Duration(nanos)) => Some(Value::Delay(*nanos)),
                            _ => None,
                        };
                    }
                }
                self.word(module, spec.name, &["reject", "delay(duration)"], expr)
                    .map(Value::Word)
            }
            FieldKind::Matcher => {
                let mut scope = Scope {
                    module,
                    locals: None,
                    matcher_allowed: true,
                };
                let typed = self.expect(&mut scope, expr, &Type::Matcher);
                typed
                    .ir
                    .as_const()
                    .cloned()
                    .filter(|_| !typed.ty.is_unknown())
            }
            FieldKind::Typed(ty) => {
                let typed = self.expect(&mut Scope::constant(module), expr, &ty);
                if typed.ty.is_unknown() {
                    return None;
                }
                match typed.ir.as_const() {
                    Some(value) => Some(value.clone()),
                    None => {
                        let problem = Problem::NotConstant {
                            what: format!("the value of `{}`", spec.name),
                        };
                        self.report(module, problem, expr.span);
                        None
                    }
                }
            }
        }
    }

    /// A bare word from `allowed` (E0300 with the list otherwise).
    fn word(
        &mut self,
        module: ModuleId,
        field: &str,
        allowed: &'static [&'static str],
        expr: &ast::Expr,
    ) -> Option<String> {
        let written = match &expr.kind {
            ExprKind::Name(ident) => ident.name.clone(),
            _ => self.sources.get(self.file_of(module)).text[expr.span.range()].to_string(),
        };
        if allowed.contains(&written.as_str()) {
            return Some(written);
        }
        let problem = Problem::UnknownWord {
            field: field.to_string(),
            word: written,
            allowed: allowed.to_vec(),
        };
        self.report(module, problem, expr.span);
        None
    }
}
