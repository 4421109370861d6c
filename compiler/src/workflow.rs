//! Workflows: parameters, triggers, steps and output. Steps may be written in any order;
//! their dependencies (data references, `after`, and references in modifiers) form a
//! graph that must be acyclic (E0400). Steps are type-checked in dependency order, then
//! lowered to a petgraph DAG of IR steps; unused steps and parameters are warned about.

use crate::checker::Checker;
use crate::expr::{Scope, Typed};
use crate::ir::{self, Dependency, Expr, StepKind};
use crate::module::{ItemRef, ModuleId};
use crate::problem::Problem;
use crate::scope::{Binding, Locals};
use crate::suggest::did_you_mean;
use crate::types::Type;
use crate::value::Value;
use edgeflow_grammar::ast::{self, ExprKind, Modifier, Trigger};
use edgeflow_grammar::Span;
use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;
use std::collections::{BTreeSet, HashMap};

/// The most retries a step may ask for.
const MAX_RETRIES: i64 = 100;

/// One step's dependencies before type checking.
struct StepDeps {
    /// Steps whose data or completion this one needs, by index.
    needs: BTreeSet<usize>,
    /// `after` targets that exist.
    after: Vec<usize>,
}

impl Checker {
    pub(crate) fn check_workflow(
        &mut self,
        module: ModuleId,
        workflow: &ast::Workflow,
        doc: Option<String>,
    ) -> Option<ir::Workflow> {
        let errors_before = self.error_count();
        let params = self.params(module, &workflow.params);
        let mut locals = Locals {
            has_trigger: !workflow.triggers.is_empty(),
            steps_visible: false,
            ..Locals::default()
        };
        for (index, param) in params.iter().enumerate() {
            locals.params.insert(param.name.clone(), index);
            locals.param_types.push(param.ty.clone());
        }
        locals.used_params = vec![false; params.len()];
        let triggers = self.triggers(module, workflow, &mut locals);
        self.declare_steps(module, workflow, &mut locals);
        let deps = self.step_dependencies(module, workflow, &locals);
        let order = self.dependency_order(module, workflow, &deps);
        locals.steps_visible = true;

        let mut steps: Vec<Option<ir::Step>> = vec![None; workflow.steps.len()];
        let mut data_edges: Vec<(usize, usize, String)> = Vec::new();
        for index in order {
            let step = &workflow.steps[index];
            let (ir_step, reads) = self.check_step(module, step, &deps[index], &mut locals);
            for (producer, field) in reads {
                data_edges.push((producer, index, field));
            }
            locals.step_types[index] = Some(ir_step.output_type.clone());
            if self.lower {
                steps[index] = Some(ir_step);
            }
        }

        let (output, output_type) = self.workflow_output(module, workflow, &mut locals);
        self.usage_warnings(module, workflow, &locals, &deps);
        if self.error_count() > errors_before || !self.lower {
            return None;
        }
        let mut graph = DiGraph::new();
        for step in steps.into_iter().flatten() {
            graph.add_node(step);
        }
        add_dependency_edges(&mut graph, &deps, data_edges);
        Some(ir::Workflow {
            name: workflow.name.name.clone(),
            doc,
            params,
            triggers,
            graph,
            output,
            output_type,
            at: self.source_pos(module, workflow.name.span),
        })
    }

    fn triggers(
        &mut self,
        module: ModuleId,
        workflow: &ast::Workflow,
        locals: &mut Locals,
    ) -> Vec<ir::Trigger> {
        let mut out = Vec::new();
        for trigger in &workflow.triggers {
            match trigger {
                Trigger::Schedule { cron, span } => {
                    let parser = croner::parser::CronParser::builder()
                        .seconds(croner::parser::Seconds::Disallowed)
                        .year(croner::parser::Year::Disallowed)
                        .build();
                    match parser.parse(cron) {
                        Ok(_) => out.push(ir::Trigger::Schedule { cron: cron.clone() }),
                        Err(error) => {
                            let reason = error.to_string();
                            self.report(module, Problem::BadCron { reason }, *span);
                        }
                    }
                }
                Trigger::Every { interval } => {
                    let typed =
                        self.expect(&mut Scope::constant(module), interval, &Type::Duration);
                    match typed.ir.as_const() {
                        Some(Value::Duration(nanos)) if *nanos > 0 => {
                            out.push(ir::Trigger::Every { interval: *nanos })
                        }
                        Some(Value::Duration(nanos)) => {
                            let detail = format!(
                                "the interval must be longer than 0s, not {}",
                                Value::Duration(*nanos)
                            );
                            let problem = Problem::OutOfRange {
                                what: "`every`".into(),
                                detail,
                            };
                            self.report(module, problem, interval.span);
                        }
                        _ if typed.ty.is_unknown() => {}
                        _ => {
                            let problem = Problem::NotConstant {
                                what: "the interval of `on every`".into(),
                            };
                            self.report(module, problem, interval.span);
                        }
                    }
                }
                Trigger::Event {
                    event_type, filter, ..
                } => {
                    let filter = filter.as_ref().map(|filter| {
                        let mut scope = Scope {
                            module,
                            locals: Some(&mut *locals),
                            matcher_allowed: false,
                        };
                        self.expect(&mut scope, filter, &Type::Bool).ir
                    });
                    out.push(ir::Trigger::Event {
                        event_type: event_type.clone(),
                        filter,
                    });
                }
            }
        }
        out
    }

    /// Registers step names (E0203 against parameters and other steps, W0102 when a
    /// step hides a const or declaration).
    fn declare_steps(&mut self, module: ModuleId, workflow: &ast::Workflow, locals: &mut Locals) {
        let count = workflow.steps.len();
        locals.step_types = vec![None; count];
        locals.used_steps = vec![false; count];
        let mut first_spans: HashMap<&str, Span> = HashMap::new();
        for param in &workflow.params {
            first_spans
                .entry(param.name.name.as_str())
                .or_insert(param.name.span);
        }
        for (index, step) in workflow.steps.iter().enumerate() {
            let name = step.name.name.as_str();
            let clashes_trigger = locals.has_trigger && name == "trigger";
            if first_spans.contains_key(name) || clashes_trigger {
                let what = if locals.params.contains_key(name) {
                    "parameter or step"
                } else {
                    "step"
                };
                self.report(
                    module,
                    Problem::Duplicate {
                        name: name.to_string(),
                        what,
                    },
                    step.name.span,
                );
                continue;
            }
            first_spans.insert(name, step.name.span);
            locals.steps.insert(name.to_string(), index);
            if let Some(Binding::Global(_, item)) = self.resolve_global(module, name) {
                let what = match item {
                    ItemRef::Const(_) => "const",
                    ItemRef::Edge(..) => "edge",
                    ItemRef::Policy(_) => "policy",
                    ItemRef::Migration(_) => "migration",
                    ItemRef::Workflow(_) => "workflow",
                    ItemRef::Type(_) | ItemRef::Alias(_) => continue,
                };
                self.report(
                    module,
                    Problem::Shadows {
                        name: name.to_string(),
                        what,
                    },
                    step.name.span,
                );
            }
        }
    }

    /// Which steps each step needs, from the names its expressions mention and its
    /// `after` list (E0401 for unknown `after` targets).
    fn step_dependencies(
        &mut self,
        module: ModuleId,
        workflow: &ast::Workflow,
        locals: &Locals,
    ) -> Vec<StepDeps> {
        let mut all = Vec::with_capacity(workflow.steps.len());
        for step in &workflow.steps {
            let mut needs = BTreeSet::new();
            let mut after = Vec::new();
            let mut mention = |name: &str| {
                if let Some(index) = locals.steps.get(name) {
                    needs.insert(*index);
                }
            };
            crate::walk::names(&step.value, &mut mention);
            let mut after_names = Vec::new();
            for modifier in &step.modifiers {
                match modifier {
                    Modifier::On(e) | Modifier::Timeout(e) | Modifier::When(e) => {
                        crate::walk::names(e, &mut mention)
                    }
                    Modifier::Retry {
                        backoff: Some(e), ..
                    } => crate::walk::names(e, &mut mention),
                    Modifier::Retry { backoff: None, .. } => {}
                    Modifier::After(names) => after_names.extend(names),
                }
            }
            for name in after_names {
                match locals.steps.get(&name.name) {
                    Some(index) => {
                        needs.insert(*index);
                        after.push(*index);
                    }
                    None => {
                        let suggestion =
                            did_you_mean(&name.name, locals.steps.keys().map(String::as_str));
                        let problem = Problem::AfterUnknown {
                            name: name.name.clone(),
                            suggestion,
                        };
                        self.report(module, problem, name.span);
                    }
                }
            }
            let deps = StepDeps { needs, after };
            all.push(deps);
        }
        all
    }

    /// A checking order where every step comes after what it needs. Steps on a cycle
    /// are reported (E0400, once per cycle, at its first step in source order) and
    /// left untyped, so nothing that uses them is reported again.
    fn dependency_order(
        &mut self,
        module: ModuleId,
        workflow: &ast::Workflow,
        deps: &[StepDeps],
    ) -> Vec<usize> {
        let mut graph: DiGraph<usize, ()> = DiGraph::new();
        let nodes: Vec<_> = (0..deps.len()).map(|i| graph.add_node(i)).collect();
        for (consumer, step_deps) in deps.iter().enumerate() {
            for producer in &step_deps.needs {
                graph.add_edge(nodes[*producer], nodes[consumer], ());
            }
        }
        let mut order = Vec::with_capacity(deps.len());
        // tarjan_scc lists components consumers-first; reversed, producers come first.
        for component in tarjan_scc(&graph).into_iter().rev() {
            let self_loop = component.len() == 1
                && deps[component[0].index()]
                    .needs
                    .contains(&component[0].index());
            if component.len() > 1 || self_loop {
                let mut members: Vec<usize> = component.iter().map(|n| n.index()).collect();
                members.sort_unstable();
                let cycle = cycle_path(members[0], &members, deps)
                    .into_iter()
                    .map(|i| workflow.steps[i].name.name.clone())
                    .collect();
                let problem = Problem::Cycle {
                    what: "steps",
                    cycle,
                };
                self.report(module, problem, workflow.steps[members[0]].name.span);
                continue;
            }
            order.push(component[0].index());
        }
        order
    }

    /// Checks one step; returns its IR and the (producer, field) data it reads.
    fn check_step(
        &mut self,
        module: ModuleId,
        step: &ast::Step,
        deps: &StepDeps,
        locals: &mut Locals,
    ) -> (ir::Step, Vec<(usize, String)>) {
        locals.reads.clear();
        let mut scope = Scope {
            module,
            locals: Some(&mut *locals),
            matcher_allowed: false,
        };
        let (kind, ty) = match &step.value.kind {
            ExprKind::OpCall(call) => match self.op_call(&mut scope, call) {
                Some(checked) => (
                    StepKind::Op {
                        op: checked.op,
                        args: checked.args,
                    },
                    checked.result,
                ),
                None => (StepKind::Pure(Expr::Const(Value::None)), Type::Unknown),
            },
            _ => {
                let Typed { ty, ir } = self.expr(&mut scope, &step.value);
                (StepKind::Pure(ir), ty)
            }
        };
        let modifiers = self.modifiers(&mut scope, step, deps);
        let output_type = if modifiers.guard.is_some() {
            ty.optional()
        } else {
            ty
        };
        let reads = std::mem::take(&mut locals.reads);
        let at = if self.lower {
            self.source_pos(module, step.name.span)
        } else {
            ir::SourcePos::default()
        };
        let ir_step = ir::Step {
            name: step.name.name.clone(),
            doc: step.doc.clone(),
            kind,
            modifiers,
            output_type,
            at,
        };
        (ir_step, reads)
    }

    fn modifiers(&mut self, scope: &mut Scope, step: &ast::Step, deps: &StepDeps) -> ir::Modifiers {
        let mut out = ir::Modifiers {
            after: deps.after.iter().map(|i| *i as ir::StepId).collect(),
            ..ir::Modifiers::default()
        };
        let mut seen: Vec<&'static str> = Vec::new();
        for modifier in &step.modifiers {
            let keyword = modifier.keyword();
            if seen.contains(&keyword) {
                let span = modifier_span(modifier, step.name.span);
                let problem = Problem::Duplicate {
                    name: keyword.to_string(),
                    what: "modifier",
                };
                self.report(scope.module, problem, span);
                continue;
            }
            seen.push(keyword);
            match modifier {
                Modifier::After(_) => {}
                Modifier::On(placement) => {
                    let typed = self.expr(scope, placement);
                    let edges = Type::List(Box::new(Type::Edge));
                    if Type::Edge.accepts(&typed.ty).is_ok() || edges.accepts(&typed.ty).is_ok() {
                        out.placement = Some(typed.ir);
                    } else {
                        self.require(scope, placement, &typed.ty, &Type::Edge);
                    }
                }
                Modifier::Retry {
                    attempts,
                    attempts_span,
                    backoff,
                } => {
                    if *attempts > MAX_RETRIES {
                        let detail = format!("at most {MAX_RETRIES} retries, not {attempts}");
                        let problem = Problem::OutOfRange {
                            what: "`retry`".into(),
                            detail,
                        };
                        self.report(scope.module, problem, *attempts_span);
                    }
                    let backoff = backoff
                        .as_ref()
                        .map(|b| self.expect(scope, b, &Type::Duration).ir);
                    out.retry = Some(ir::Retry {
                        attempts: (*attempts).clamp(0, MAX_RETRIES) as u32,
                        backoff,
                    });
                }
                Modifier::Timeout(timeout) => {
                    out.timeout = Some(self.expect(scope, timeout, &Type::Duration).ir)
                }
                Modifier::When(guard) => {
                    out.guard = Some(self.expect(scope, guard, &Type::Bool).ir)
                }
            }
        }
        out
    }

    fn workflow_output(
        &mut self,
        module: ModuleId,
        workflow: &ast::Workflow,
        locals: &mut Locals,
    ) -> (Option<Expr>, Type) {
        let declared = workflow
            .return_type
            .as_ref()
            .map(|t| self.resolve_type(module, t));
        let mut scope = Scope {
            module,
            locals: Some(locals),
            matcher_allowed: false,
        };
        match (&workflow.output, declared) {
            (Some(output), Some(declared)) => {
                let typed = self.expect(&mut scope, output, &declared);
                (Some(typed.ir), declared)
            }
            (Some(output), None) => {
                let typed = self.expr(&mut scope, output);
                (Some(typed.ir), typed.ty)
            }
            (None, Some(declared)) => {
                if !declared.is_unknown() && !declared.is_optional() {
                    let problem = Problem::TypeMismatch {
                        expected: declared.to_string(),
                        found: "nothing".into(),
                        note: Some("add `return …` at the end of the workflow".into()),
                    };
                    self.report(module, problem, workflow.name.span);
                }
                (None, declared)
            }
            (None, None) => (None, Type::Never.optional()),
        }
    }

    /// W0100 for pure steps nothing uses, W0101 for parameters nothing reads.
    fn usage_warnings(
        &mut self,
        module: ModuleId,
        workflow: &ast::Workflow,
        locals: &Locals,
        deps: &[StepDeps],
    ) {
        // Needed by another step (data, modifiers or `after`), even one on a cycle.
        let mut needed = vec![false; workflow.steps.len()];
        for (consumer, step_deps) in deps.iter().enumerate() {
            for producer in &step_deps.needs {
                if *producer != consumer {
                    needed[*producer] = true;
                }
            }
        }
        for (index, step) in workflow.steps.iter().enumerate() {
            let is_op = matches!(step.value.kind, ExprKind::OpCall(_));
            let registered = locals.steps.get(&step.name.name) == Some(&index);
            if !is_op && registered && !locals.used_steps[index] && !needed[index] {
                self.report(
                    module,
                    Problem::UnusedStep {
                        name: step.name.name.clone(),
                    },
                    step.name.span,
                );
            }
        }
        for (index, param) in workflow.params.iter().enumerate() {
            let used = locals
                .params
                .get(&param.name.name)
                .is_none_or(|i| locals.used_params[*i]);
            if !used && index < locals.used_params.len() && !param.name.name.starts_with('_') {
                self.report(
                    module,
                    Problem::UnusedParam {
                        name: param.name.name.clone(),
                    },
                    param.name.span,
                );
            }
        }
    }

    pub(crate) fn source_pos(&self, module: ModuleId, span: Span) -> ir::SourcePos {
        let file = self.sources.get(self.file_of(module));
        let position = file.line_col(span.start as usize);
        ir::SourcePos {
            file: file.name.clone(),
            line: position.line as u32,
            column: position.column as u32,
            offset: span.start,
            length: span.len() as u32,
        }
    }
}

/// A cycle through `start` within `members`, as step indices, ending where it began.
fn cycle_path(start: usize, members: &[usize], deps: &[StepDeps]) -> Vec<usize> {
    // Walk "is needed by" edges backwards: from a step to one of its needs in the cycle.
    let mut path = vec![start];
    let mut current = start;
    loop {
        let next = deps[current]
            .needs
            .iter()
            .copied()
            .filter(|n| members.contains(n))
            .min();
        let Some(next) = next else { break };
        if let Some(position) = path.iter().position(|p| *p == next) {
            let mut cycle: Vec<usize> = path[position..].to_vec();
            cycle.push(next);
            cycle.reverse();
            return cycle;
        }
        path.push(next);
        current = next;
    }
    path
}

fn add_dependency_edges(
    graph: &mut DiGraph<ir::Step, Dependency>,
    deps: &[StepDeps],
    data: Vec<(usize, usize, String)>,
) {
    let mut fields: HashMap<(usize, usize), BTreeSet<String>> = HashMap::new();
    for (producer, consumer, field) in data {
        fields
            .entry((producer, consumer))
            .or_default()
            .insert(field);
    }
    let mut data_pairs: Vec<_> = fields.into_iter().collect();
    data_pairs.sort_by_key(|((p, c), _)| (*c, *p));
    for ((producer, consumer), fields) in data_pairs {
        let fields = fields.into_iter().collect();
        graph.add_edge(
            ir::node(producer as u32),
            ir::node(consumer as u32),
            Dependency::Data { fields },
        );
    }
    for (consumer, step_deps) in deps.iter().enumerate() {
        for producer in &step_deps.after {
            graph.add_edge(
                ir::node(*producer as u32),
                ir::node(consumer as u32),
                Dependency::After,
            );
        }
    }
}

fn modifier_span(modifier: &Modifier, fallback: Span) -> Span {
    match modifier {
        Modifier::After(names) => names.first().map_or(fallback, |n| n.span),
        Modifier::On(e) | Modifier::Timeout(e) | Modifier::When(e) => e.span,
        Modifier::Retry { attempts_span, .. } => *attempts_span,
    }
}
