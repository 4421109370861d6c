//! Expression checking: gives every expression its type (LANGUAGE.md §3–§4) and its IR
//! at once, folding constants as it goes. An expression whose type is already unknown
//! (because of an earlier error) is accepted silently, so a mistake is reported once.

use crate::checker::Checker;
use crate::eval::{self, ConstEnv, EvalError};
use crate::ir::Expr;
use crate::module::{ItemRef, ModuleId};
use crate::problem::Problem;
use crate::scope::{Binding, Locals};
use crate::suggest::did_you_mean;
use crate::types::{Mismatch, Type};
use crate::value::Value;
use edgeflow_grammar::ast::{self, BinaryOp, ExprKind, Ident, Literal, UnaryOp};
use edgeflow_grammar::Span;
use std::sync::Arc;

/// Where an expression is checked: its module and, inside a workflow, its locals.
pub(crate) struct Scope<'l> {
    pub module: ModuleId,
    pub locals: Option<&'l mut Locals>,
    /// `route`, `key` and `descriptor` are allowed (a policy's `match`).
    pub matcher_allowed: bool,
}

impl<'l> Scope<'l> {
    pub fn constant(module: ModuleId) -> Scope<'static> {
        Scope {
            module,
            locals: None,
            matcher_allowed: false,
        }
    }
}

/// A checked expression: its type and its IR.
#[derive(Debug, Clone)]
pub(crate) struct Typed {
    pub ty: Type,
    pub ir: Expr,
}

impl Typed {
    pub fn unknown() -> Typed {
        Typed {
            ty: Type::Unknown,
            ir: Expr::Const(Value::None),
        }
    }

    pub fn constant(ty: Type, value: Value) -> Typed {
        Typed {
            ty,
            ir: Expr::Const(value),
        }
    }
}

impl Checker {
    pub(crate) fn expr(&mut self, scope: &mut Scope, expr: &ast::Expr) -> Typed {
        match &expr.kind {
            ExprKind::Literal(literal) => literal_typed(literal),
            ExprKind::Name(ident) => self.name(scope, ident),
            ExprKind::Paren(inner) => self.expr(scope, inner),
            ExprKind::List(items) => self.list(scope, items, None),
            ExprKind::Record(entries) => self.record(scope, entries, None),
            ExprKind::Unary(op, operand) => self.unary(scope, *op, operand, expr.span),
            ExprKind::Binary(op, left, right) => self.binary(scope, *op, left, right, expr.span),
            ExprKind::Field(receiver, field) => {
                self.field(scope, receiver, field, false, expr.span)
            }
            ExprKind::OptionalField(receiver, field) => {
                self.field(scope, receiver, field, true, expr.span)
            }
            ExprKind::Index(receiver, index) => self.index(scope, receiver, index, expr.span),
            ExprKind::If(condition, then, otherwise) => {
                self.if_expr(scope, condition, then, otherwise, expr.span)
            }
            ExprKind::Call(callee, args) => self.builtin_call(scope, callee, args, expr.span),
            ExprKind::OpCall(call) => {
                let problem = Problem::NestedOpCall {
                    path: call.path.name.clone(),
                };
                self.report(scope.module, problem, call.path.span);
                for (_, value) in &call.args {
                    self.expr(scope, value);
                }
                Typed::unknown()
            }
        }
    }

    /// Checks `expr` and requires its type to be accepted as `expected`, reporting
    /// E0300, E0302 or E0202 at the expression otherwise.
    /// List and record literals are checked against the expected type (bidirectionally):
    /// each element against the expected element type, so `[cfg, { n: 1 }]` is a fine
    /// `[json]` although its elements have no one type of their own.
    pub(crate) fn expect(&mut self, scope: &mut Scope, expr: &ast::Expr, expected: &Type) -> Typed {
        let typed = match (&expr.kind, expected.unwrap_optional()) {
            (ExprKind::List(items), Type::List(element)) => self.list(scope, items, Some(element)),
            (ExprKind::List(items), Type::Json) => self.list(scope, items, Some(&Type::Json)),
            (ExprKind::Record(entries), wanted @ (Type::Record(_) | Type::Json)) => {
                self.record(scope, entries, Some(wanted))
            }
            _ => self.expr(scope, expr),
        };
        if self.require(scope, expr, &typed.ty, expected) {
            typed
        } else {
            Typed::unknown()
        }
    }

    pub(crate) fn require(
        &mut self,
        scope: &Scope,
        expr: &ast::Expr,
        actual: &Type,
        expected: &Type,
    ) -> bool {
        let problem = match expected.accepts(actual) {
            Ok(()) => return true,
            Err(Mismatch::Optional) => Problem::OptionalUsed {
                ty: actual.to_string(),
            },
            Err(mismatch) => {
                let wanted = expected.unwrap_optional();
                let declared = self.declared_name(scope, expr);
                match declared {
                    Some((name, found)) if wanted.is_declared_kind() && actual.is_declared_kind() => {
                        Problem::WrongKind { name, found: found.describe(), expected: article(wanted) }
                    }
                    _ => Problem::TypeMismatch {
                        expected: expected.to_string(),
                        found: actual.to_string(),
                        note: match mismatch {
                            Mismatch::MissingField(field) => Some(format!("the record has no field `{field}`")),
                            _ if *actual == Type::Json => {
                                Some("convert the json value first: int(x), float(x), string(x) or bool(x)".into())
                            }
                            _ => None,
                        },
                    },
                }
            }
        };
        self.report(scope.module, problem, expr.span);
        false
    }

    /// The declared item a name (or `alias.name`) expression refers to, if any.
    fn declared_name(&self, scope: &Scope, expr: &ast::Expr) -> Option<(String, ItemRef)> {
        match &expr.kind {
            ExprKind::Name(ident) => match self.resolve_name(scope, &ident.name)? {
                Binding::Global(_, item) => Some((ident.name.clone(), item)),
                _ => None,
            },
            ExprKind::Field(receiver, member) => {
                let ExprKind::Name(alias) = &receiver.kind else {
                    return None;
                };
                let Binding::Namespace(Some(target)) = self.resolve_name(scope, &alias.name)?
                else {
                    return None;
                };
                let item = *self.module(target).items.get(&member.name)?;
                Some((format!("{}.{}", alias.name, member.name), item))
            }
            ExprKind::Paren(inner) => self.declared_name(scope, inner),
            _ => None,
        }
    }

    fn name(&mut self, scope: &mut Scope, ident: &Ident) -> Typed {
        match self.resolve_name(scope, &ident.name) {
            Some(binding) => self.binding_typed(scope, binding, ident),
            None => {
                let candidates = self.visible_names(scope);
                let suggestion = did_you_mean(&ident.name, candidates.iter().map(String::as_str));
                let note = (ident.name == "trigger")
                    .then_some("`trigger` is only available in a workflow that has a trigger");
                let problem = Problem::UnknownName {
                    name: ident.name.clone(),
                    suggestion,
                    note,
                };
                self.report(scope.module, problem, ident.span);
                Typed::unknown()
            }
        }
    }

    fn binding_typed(&mut self, scope: &mut Scope, binding: Binding, ident: &Ident) -> Typed {
        match binding {
            Binding::Step(index) => {
                let locals = scope
                    .locals
                    .as_deref_mut()
                    .expect("steps resolve only with locals");
                locals.read_step(index);
                Typed {
                    ty: locals.step_type(index),
                    ir: Expr::Step(index as u32),
                }
            }
            Binding::Param(index) => {
                let locals = scope
                    .locals
                    .as_deref_mut()
                    .expect("params resolve only with locals");
                locals.used_params[index] = true;
                Typed {
                    ty: locals.param_types[index].clone(),
                    ir: Expr::Param(ident.name.clone()),
                }
            }
            Binding::Trigger => Typed {
                ty: trigger_type(),
                ir: Expr::Trigger,
            },
            Binding::Poisoned | Binding::Namespace(None) => Typed::unknown(),
            Binding::Namespace(Some(_)) => {
                let problem = Problem::WrongKind {
                    name: ident.name.clone(),
                    found: "an import alias",
                    expected: "a value",
                };
                self.report(scope.module, problem, ident.span);
                Typed::unknown()
            }
            Binding::Global(module, item) => self.global_typed(scope.module, module, item, ident),
        }
    }

    pub(crate) fn global_typed(
        &mut self,
        here: ModuleId,
        module: ModuleId,
        item: ItemRef,
        ident: &Ident,
    ) -> Typed {
        let name = self.item_name(module, item);
        match item {
            ItemRef::Const(index) => {
                let info = self.const_info(module, index);
                match info.value {
                    Some(value) => Typed::constant(info.ty, value),
                    None => Typed::unknown(),
                }
            }
            ItemRef::Edge(..) => Typed::constant(Type::Edge, Value::Edge(name)),
            ItemRef::Policy(_) => Typed::constant(Type::Policy, Value::Policy(name)),
            ItemRef::Migration(_) => Typed::constant(Type::Migration, Value::Migration(name)),
            ItemRef::Type(_) | ItemRef::Workflow(_) | ItemRef::Alias(_) => {
                let problem = Problem::WrongKind {
                    name: ident.name.clone(),
                    found: item.describe(),
                    expected: "a value",
                };
                self.report(here, problem, ident.span);
                Typed::unknown()
            }
        }
    }

    /// A list literal; with an expected element type, each element is checked against
    /// it, else the elements must unify into one type.
    fn list(&mut self, scope: &mut Scope, items: &[ast::Expr], expected: Option<&Type>) -> Typed {
        let mut element = expected.cloned().unwrap_or(Type::Never);
        let mut irs = Vec::with_capacity(items.len());
        let mut failed = false;
        for item in items {
            if let Some(expected) = expected {
                let typed = self.expect(scope, item, expected);
                failed |= typed.ty == Type::Unknown;
                irs.push(typed.ir);
                continue;
            }
            let typed = self.expr(scope, item);
            match element.unify(&typed.ty) {
                Some(unified) => element = unified,
                None => {
                    let problem = Problem::TypeMismatch {
                        expected: element.to_string(),
                        found: typed.ty.to_string(),
                        note: Some("all elements of a list have one type".into()),
                    };
                    self.report(scope.module, problem, item.span);
                    failed = true;
                }
            }
            irs.push(typed.ir);
        }
        if failed {
            return Typed::unknown();
        }
        let ty = Type::List(Box::new(element));
        if irs.iter().all(|e| e.as_const().is_some()) {
            let values = irs.into_iter().filter_map(|e| match e {
                Expr::Const(value) => Some(value),
                _ => None,
            });
            return Typed::constant(ty, Value::List(values.collect()));
        }
        Typed {
            ty,
            ir: Expr::List(irs),
        }
    }

    /// A record literal; with an expected type (a record, or `json`), each field's value
    /// is checked against the type expected for it.
    fn record(
        &mut self,
        scope: &mut Scope,
        entries: &[(Ident, ast::Expr)],
        expected: Option<&Type>,
    ) -> Typed {
        let mut fields = Vec::with_capacity(entries.len());
        let mut irs = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let wanted = match expected {
                Some(Type::Json) => Some(Type::Json),
                Some(Type::Record(expected_fields)) => expected_fields
                    .iter()
                    .find(|(name, _)| *name == key.name)
                    .map(|(_, ty)| ty.clone()),
                _ => None,
            };
            let typed = match &wanted {
                Some(wanted) => {
                    let typed = self.expect(scope, value, wanted);
                    // The field's own type where it is known, for the record's type.
                    if typed.ty == Type::Unknown {
                        typed
                    } else {
                        Typed {
                            ty: wanted.clone(),
                            ir: typed.ir,
                        }
                    }
                }
                None => self.expr(scope, value),
            };
            if fields
                .iter()
                .any(|(name, _): &(String, Type)| *name == key.name)
            {
                let problem = Problem::Duplicate {
                    name: key.name.clone(),
                    what: "record field",
                };
                self.report(scope.module, problem, key.span);
                continue;
            }
            fields.push((key.name.clone(), typed.ty));
            irs.push((key.name.clone(), typed.ir));
        }
        let ty = Type::Record(fields.into());
        if irs.iter().all(|(_, e)| e.as_const().is_some()) {
            let values = irs.into_iter().filter_map(|(name, e)| match e {
                Expr::Const(value) => Some((name, value)),
                _ => None,
            });
            return Typed::constant(ty, Value::Record(values.collect()));
        }
        Typed {
            ty,
            ir: Expr::Record(irs),
        }
    }

    fn unary(&mut self, scope: &mut Scope, op: UnaryOp, operand: &ast::Expr, span: Span) -> Typed {
        let typed = self.expr(scope, operand);
        let ty = match (&typed.ty, op) {
            (Type::Unknown, _) => return Typed::unknown(),
            (Type::Optional(_), _) => {
                let problem = Problem::OptionalUsed {
                    ty: typed.ty.to_string(),
                };
                self.report(scope.module, problem, operand.span);
                return Typed::unknown();
            }
            (Type::Bool, UnaryOp::Not) => Type::Bool,
            (Type::Int | Type::Float, UnaryOp::Neg) => typed.ty.clone(),
            (other, op) => {
                let problem = Problem::BadOperator {
                    op: op.symbol(),
                    operands: vec![other.to_string()],
                };
                self.report(scope.module, problem, operand.span);
                return Typed::unknown();
            }
        };
        self.fold(scope, ty, Expr::Unary(op, Box::new(typed.ir)), span)
    }

    fn binary(
        &mut self,
        scope: &mut Scope,
        op: BinaryOp,
        left: &ast::Expr,
        right: &ast::Expr,
        span: Span,
    ) -> Typed {
        let l = self.expr(scope, left);
        let r = self.expr(scope, right);
        if l.ty.is_unknown() || r.ty.is_unknown() {
            return Typed::unknown();
        }
        let outcome = match op {
            BinaryOp::Coalesce => self.coalesce_type(scope, &l.ty, &r.ty, right),
            BinaryOp::Eq | BinaryOp::Ne => equality_type(&l.ty, &r.ty),
            _ => {
                let mut optional = false;
                for (typed, expr) in [(&l, left), (&r, right)] {
                    if typed.ty.is_optional() {
                        let problem = Problem::OptionalUsed {
                            ty: typed.ty.to_string(),
                        };
                        self.report(scope.module, problem, expr.span);
                        optional = true;
                    }
                }
                if optional {
                    return Typed::unknown();
                }
                operator_type(op, &l.ty, &r.ty)
            }
        };
        let ty = match outcome {
            Ok(ty) => ty,
            Err(failure) => {
                let (problem, at) = match failure {
                    OperatorError::Reported => return Typed::unknown(),
                    OperatorError::Units => (
                        Problem::UnitMismatch {
                            op: op.symbol(),
                            left: l.ty.to_string(),
                            right: r.ty.to_string(),
                        },
                        left.span,
                    ),
                    OperatorError::Undefined => (
                        Problem::BadOperator {
                            op: op.symbol(),
                            operands: vec![l.ty.to_string(), r.ty.to_string()],
                        },
                        left.span,
                    ),
                    OperatorError::PerCount => (
                        Problem::TypeMismatch {
                            expected: "int".into(),
                            found: l.ty.to_string(),
                            note: Some("a rate is `count per duration`, like `100 per 1m`".into()),
                        },
                        left.span,
                    ),
                    // Labelled at the left operand, as for every binary operator.
                    OperatorError::PerWindow => (
                        Problem::UnitMismatch {
                            op: "per",
                            left: l.ty.to_string(),
                            right: r.ty.to_string(),
                        },
                        left.span,
                    ),
                };
                self.report(scope.module, problem, at);
                return Typed::unknown();
            }
        };
        if matches!(op, BinaryOp::Div | BinaryOp::Rem) && is_literal_zero(right) {
            let problem = Problem::OutOfRange {
                what: "the divisor".into(),
                detail: "division by zero".into(),
            };
            self.report(scope.module, problem, right.span);
            return Typed::unknown();
        }
        let ir = Expr::Binary(op, Box::new(l.ir), Box::new(r.ir));
        self.fold(scope, ty, ir, span)
    }

    fn coalesce_type(
        &mut self,
        scope: &Scope,
        left: &Type,
        right: &Type,
        right_expr: &ast::Expr,
    ) -> Result<Type, OperatorError> {
        let inner = left.unwrap_optional();
        if *inner == Type::Never {
            return Ok(right.clone());
        }
        match inner.accepts(right) {
            Ok(()) if right.is_optional() => Ok(inner.clone().optional()),
            Ok(()) => Ok(inner.clone()),
            Err(_) => {
                let problem = Problem::TypeMismatch {
                    expected: inner.to_string(),
                    found: right.to_string(),
                    note: Some("the fallback of `??` has the type of the optional value".into()),
                };
                self.report(scope.module, problem, right_expr.span);
                Err(OperatorError::Reported)
            }
        }
    }

    /// Folds an expression whose operands are all constants; an evaluation error here
    /// (overflow, division by zero) is E0502 at the expression.
    pub(crate) fn fold(&mut self, scope: &Scope, ty: Type, ir: Expr, span: Span) -> Typed {
        if !operands_constant(&ir) {
            return Typed { ty, ir };
        }
        match eval::eval(&ir, &ConstEnv) {
            Ok(value) => Typed::constant(ty, value),
            Err(EvalError::NotConstant) => Typed { ty, ir },
            Err(error) => {
                let problem = Problem::OutOfRange {
                    what: "this expression".into(),
                    detail: error.to_string(),
                };
                self.report(scope.module, problem, span);
                Typed::unknown()
            }
        }
    }

    fn field(
        &mut self,
        scope: &mut Scope,
        receiver: &ast::Expr,
        field: &Ident,
        optional: bool,
        span: Span,
    ) -> Typed {
        if let ExprKind::Name(alias) = &receiver.kind {
            if let Some(Binding::Namespace(target)) = self.resolve_name(scope, &alias.name) {
                return self.namespace_member(scope, target, alias, field);
            }
        }
        let typed = self.expr(scope, receiver);
        let (record_type, wrap_optional) = match &typed.ty {
            Type::Unknown => return Typed::unknown(),
            Type::Json => {
                return self.fold(scope, Type::Json, field_ir(typed.ir, field, optional), span)
            }
            Type::Optional(inner) if optional => (inner.as_ref().clone(), true),
            Type::Optional(_) => {
                let problem = Problem::OptionalUsed {
                    ty: typed.ty.to_string(),
                };
                self.report(scope.module, problem, receiver.span);
                return Typed::unknown();
            }
            other => (other.clone(), false),
        };
        let field_type = match &record_type {
            Type::Json => Some(Type::Json),
            Type::Never => Some(Type::Never),
            other => other.field(&field.name).cloned(),
        };
        let Some(field_type) = field_type else {
            let suggestion = match &record_type {
                Type::Record(fields) => {
                    did_you_mean(&field.name, fields.iter().map(|(n, _)| n.as_str()))
                }
                _ => None,
            };
            let problem = Problem::UnknownField {
                field: field.name.clone(),
                on: record_type.to_string(),
                suggestion,
            };
            self.report(scope.module, problem, field.span);
            return Typed::unknown();
        };
        if let (Some(locals), Expr::Step(step)) = (scope.locals.as_deref_mut(), &typed.ir) {
            locals.read_step_field(*step as usize, &field.name);
        }
        let ty = if wrap_optional {
            field_type.optional()
        } else {
            field_type
        };
        self.fold(
            scope,
            ty,
            field_ir(typed.ir, field, optional && wrap_optional),
            span,
        )
    }

    fn namespace_member(
        &mut self,
        scope: &mut Scope,
        target: Option<crate::module::ModuleId>,
        alias: &Ident,
        member: &Ident,
    ) -> Typed {
        let Some(target) = target else {
            return Typed::unknown();
        };
        let found = self.module(target).items.get(&member.name).copied();
        match found {
            Some(ItemRef::Alias(_)) | None => {
                let names: Vec<String> = self.module(target).items.keys().cloned().collect();
                let suggestion = did_you_mean(&member.name, names.iter().map(String::as_str))
                    .map(|s| format!("{}.{s}", alias.name));
                let problem = Problem::UnknownName {
                    name: format!("{}.{}", alias.name, member.name),
                    suggestion,
                    note: None,
                };
                self.report(scope.module, problem, member.span);
                Typed::unknown()
            }
            Some(item) => self.global_typed(scope.module, target, item, member),
        }
    }

    fn index(
        &mut self,
        scope: &mut Scope,
        receiver: &ast::Expr,
        index: &ast::Expr,
        span: Span,
    ) -> Typed {
        let list = self.expr(scope, receiver);
        let position = self.expr(scope, index);
        if list.ty.is_unknown() || position.ty.is_unknown() {
            return Typed::unknown();
        }
        for (typed, expr) in [(&list, receiver), (&position, index)] {
            if typed.ty.is_optional() {
                let problem = Problem::OptionalUsed {
                    ty: typed.ty.to_string(),
                };
                self.report(scope.module, problem, expr.span);
                return Typed::unknown();
            }
        }
        let element = match (&list.ty, &position.ty) {
            (Type::List(element), Type::Int) => element.as_ref().clone(),
            (Type::Json, Type::Int | Type::String) => Type::Json,
            (Type::List(_), other) => {
                let problem = Problem::TypeMismatch {
                    expected: "int".into(),
                    found: other.to_string(),
                    note: None,
                };
                self.report(scope.module, problem, index.span);
                return Typed::unknown();
            }
            (other, _) => {
                let problem = Problem::BadOperator {
                    op: "[]",
                    operands: vec![other.to_string()],
                };
                self.report(scope.module, problem, receiver.span);
                return Typed::unknown();
            }
        };
        let ir = Expr::Index(Box::new(list.ir), Box::new(position.ir));
        self.fold(scope, element, ir, span)
    }

    fn if_expr(
        &mut self,
        scope: &mut Scope,
        condition: &ast::Expr,
        then: &ast::Expr,
        otherwise: &ast::Expr,
        span: Span,
    ) -> Typed {
        let condition_typed = self.expect(scope, condition, &Type::Bool);
        let then_typed = self.expr(scope, then);
        let else_typed = self.expr(scope, otherwise);
        let Some(ty) = then_typed.ty.unify(&else_typed.ty) else {
            let problem = Problem::TypeMismatch {
                expected: then_typed.ty.to_string(),
                found: else_typed.ty.to_string(),
                note: Some("both branches of `if` have one type".into()),
            };
            self.report(scope.module, problem, otherwise.span);
            return Typed::unknown();
        };
        let ir = Expr::If(
            Box::new(condition_typed.ir),
            Box::new(then_typed.ir),
            Box::new(else_typed.ir),
        );
        self.fold(scope, ty, ir, span)
    }

    /// Every name visible in a scope, for "did you mean".
    pub(crate) fn visible_names(&self, scope: &Scope) -> Vec<String> {
        let mut names = Vec::new();
        if let Some(locals) = &scope.locals {
            names.extend(locals.names());
        }
        let module = self.module(scope.module);
        names.extend(module.items.keys().cloned());
        for target in module.glob_imports() {
            names.extend(self.module(target).items.keys().cloned());
        }
        names
    }
}

fn field_ir(receiver: Expr, field: &Ident, optional: bool) -> Expr {
    if optional {
        Expr::OptionalField(Box::new(receiver), field.name.clone())
    } else {
        Expr::Field(Box::new(receiver), field.name.clone())
    }
}

fn is_literal_zero(expr: &ast::Expr) -> bool {
    match &expr.kind {
        ExprKind::Literal(Literal::Int(0)) => true,
        ExprKind::Literal(Literal::Float(x)) => *x == 0.0,
        ExprKind::Paren(inner) => is_literal_zero(inner),
        _ => false,
    }
}

/// Are all direct operands of this IR node constants (so it can be folded)?
fn operands_constant(ir: &Expr) -> bool {
    let constant = |e: &Expr| e.as_const().is_some();
    match ir {
        Expr::Unary(_, operand) | Expr::Field(operand, _) | Expr::OptionalField(operand, _) => {
            constant(operand)
        }
        Expr::Binary(_, left, right) | Expr::Index(left, right) => {
            constant(left) && constant(right)
        }
        Expr::If(condition, then, otherwise) => {
            constant(condition) && constant(then) && constant(otherwise)
        }
        Expr::Call(_, args) => args.iter().all(constant),
        _ => false,
    }
}

pub(crate) fn literal_typed(literal: &Literal) -> Typed {
    let (ty, value) = match literal {
        Literal::Int(i) => (Type::Int, Value::Int(*i)),
        Literal::Float(x) => (Type::Float, Value::Float(*x)),
        Literal::String(s) => (Type::String, Value::String(s.clone())),
        Literal::Bool(b) => (Type::Bool, Value::Bool(*b)),
        Literal::None => (Type::Never.optional(), Value::None),
        Literal::Duration(nanos) => (Type::Duration, Value::Duration(*nanos)),
        Literal::Size(bytes) => (Type::Size, Value::Size(*bytes)),
        Literal::Bandwidth(bits) => (Type::Bandwidth, Value::Bandwidth(*bits)),
        Literal::Window { start, end } => (
            Type::Window,
            Value::Window {
                start: *start,
                end: *end,
            },
        ),
        Literal::Invalid => return Typed::unknown(),
    };
    Typed::constant(ty, value)
}

/// The type of the `trigger` name in a triggered workflow.
pub(crate) fn trigger_type() -> Type {
    Type::Record(Arc::from(vec![
        ("kind".into(), Type::String),
        ("type".into(), Type::String),
        ("source".into(), Type::String),
        ("data".into(), Type::Json),
        ("time".into(), Type::Time),
    ]))
}

/// "an edge", "a policy", … for a declared-kind type.
fn article(ty: &Type) -> &'static str {
    match ty {
        Type::Edge => "an edge",
        Type::Policy => "a policy",
        _ => "a migration",
    }
}

enum OperatorError {
    /// Already reported by the caller's own check.
    Reported,
    Units,
    Undefined,
    PerCount,
    PerWindow,
}

fn equality_type(left: &Type, right: &Type) -> Result<Type, OperatorError> {
    let (l, r) = (left.unwrap_optional(), right.unwrap_optional());
    if l.unify(r).is_some() {
        Ok(Type::Bool)
    } else if l.is_unit() && r.is_unit() {
        Err(OperatorError::Units)
    } else {
        Err(OperatorError::Undefined)
    }
}

/// The result type of an arithmetic, comparison or logical operator (§3).
fn operator_type(op: BinaryOp, left: &Type, right: &Type) -> Result<Type, OperatorError> {
    use BinaryOp::*;
    use Type::*;
    let numbers = left.is_number() && right.is_number();
    let widened = if *left == Int && *right == Int {
        Int
    } else {
        Float
    };
    let result = match (op, left, right) {
        (Per, Int, Duration) => Some(Rate),
        (Per, Int, _) => return Err(OperatorError::PerWindow),
        (Per, _, _) => return Err(OperatorError::PerCount),
        (Add | Sub | Mul | Div, _, _) if numbers => Some(widened),
        (Rem, Int, Int) => Some(Int),
        (Add | Sub, Duration, Duration) => Some(Duration),
        (Add | Sub, Size, Size) => Some(Size),
        (Mul, Duration, Int) => Some(Duration),
        (Mul, Size, Int) => Some(Size),
        (Add, String, String) => Some(String),
        (Lt | Le | Gt | Ge, _, _) if numbers => Some(Bool),
        (Lt | Le | Gt | Ge, Duration | Size | Bandwidth | Time | String, _) if left == right => {
            Some(Bool)
        }
        (And | Or, Bool, Bool) => Some(Bool),
        _ => None,
    };
    match result {
        Some(ty) => Ok(ty),
        None if left.is_unit() && right.is_unit() && left != right => Err(OperatorError::Units),
        None => Err(OperatorError::Undefined),
    }
}
