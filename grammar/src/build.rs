//! Turns pest's parse tree of one item into the AST. Expressions go through a Pratt
//! parser for the precedence table of LANGUAGE.md §4. Literal problems (E0102) are
//! collected without stopping; nesting beyond the depth limit is fatal for the item.

use crate::ast::*;
use crate::doc_comment::doc_above;
use crate::error::{LiteralProblem, SyntaxError};
use crate::keywords::KEYWORDS;
use crate::literal::{self, IntegerText};
use crate::parser::Rule;
use crate::span::Span;
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use std::cell::RefCell;
use std::sync::LazyLock;

/// Deepest expression tree accepted (a chain of 256 `+` is already unreadable).
pub const MAX_EXPRESSION_DEPTH: u32 = 256;
/// Longest run of prefix operators (`!!!!x`) accepted.
const MAX_PREFIX_RUN: usize = 32;

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::coalesce_op, Assoc::Left))
        .op(Op::infix(Rule::or_op, Assoc::Left))
        .op(Op::infix(Rule::and_op, Assoc::Left))
        .op(Op::infix(Rule::eq_op, Assoc::Left) | Op::infix(Rule::ne_op, Assoc::Left))
        .op(Op::infix(Rule::lt_op, Assoc::Left)
            | Op::infix(Rule::le_op, Assoc::Left)
            | Op::infix(Rule::gt_op, Assoc::Left)
            | Op::infix(Rule::ge_op, Assoc::Left))
        .op(Op::infix(Rule::per_op, Assoc::Left))
        .op(Op::infix(Rule::add_op, Assoc::Left) | Op::infix(Rule::sub_op, Assoc::Left))
        .op(Op::infix(Rule::mul_op, Assoc::Left)
            | Op::infix(Rule::div_op, Assoc::Left)
            | Op::infix(Rule::rem_op, Assoc::Left))
        .op(Op::prefix(Rule::not_op) | Op::prefix(Rule::neg_op))
        .op(Op::postfix(Rule::field_get) | Op::postfix(Rule::opt_field) | Op::postfix(Rule::index))
});

/// Builds one item. `base` is the offset of the parsed slice within the whole file.
pub struct Builder<'s> {
    src: &'s str,
    base: usize,
    problems: RefCell<Vec<SyntaxError>>,
    fatal: RefCell<Option<SyntaxError>>,
    /// `9223372036854775808` literals waiting for the unary minus that makes them valid.
    pending_min_int: RefCell<Vec<Span>>,
}

/// What building an item produced.
pub struct Built {
    pub item: Item,
    /// Malformed literals: reported, but the item is still checked.
    pub problems: Vec<SyntaxError>,
    /// A syntax error that makes the item unusable.
    pub fatal: Option<SyntaxError>,
}

impl<'s> Builder<'s> {
    pub fn new(src: &'s str, base: usize) -> Builder<'s> {
        Builder {
            src,
            base,
            problems: RefCell::default(),
            fatal: RefCell::default(),
            pending_min_int: RefCell::default(),
        }
    }

    pub fn build_item(self, pair: Pair<'_, Rule>) -> Built {
        let item = self.item(pair);
        let mut problems = self.problems.take();
        for span in self.pending_min_int.take() {
            let text = self.src[span.range()].to_string();
            problems.push(SyntaxError::MalformedLiteral {
                span,
                problem: LiteralProblem::IntegerOutOfRange { text },
            });
        }
        Built {
            item,
            problems,
            fatal: self.fatal.take(),
        }
    }

    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let span = pair.as_span();
        Span::new(self.base + span.start(), self.base + span.end())
    }

    /// A name as written. Where the grammar says `ident` (a declared or referenced name,
    /// not a field or argument name), a keyword is a syntax error.
    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        let ident = Ident {
            name: pair.as_str().to_string(),
            span: self.span(&pair),
        };
        if pair.as_rule() == Rule::ident && KEYWORDS.contains(&ident.name.as_str()) {
            let mut fatal = self.fatal.borrow_mut();
            if fatal.is_none() {
                *fatal = Some(SyntaxError::KeywordAsName {
                    span: ident.span,
                    keyword: ident.name.clone(),
                });
            }
        }
        ident
    }

    fn doc(&self, span: Span) -> Option<String> {
        doc_above(self.src, span.start as usize)
    }

    fn item(&self, pair: Pair<'_, Rule>) -> Item {
        let span = self.span(&pair);
        let doc = self.doc(span);
        let inner = first(pair);
        let kind = match inner.as_rule() {
            Rule::import_item => ItemKind::Import(self.import(inner)),
            Rule::const_item => ItemKind::Const(self.constant(inner)),
            Rule::type_item => {
                let mut parts = significant(inner);
                let name = self.ident(next(&mut parts));
                ItemKind::TypeDef(TypeDef {
                    name,
                    ty: self.type_expr(next(&mut parts)),
                })
            }
            Rule::edges_item => ItemKind::Edges(
                significant(inner)
                    .map(|edge| self.declaration(edge))
                    .collect(),
            ),
            Rule::policy_item => ItemKind::Policy(self.declaration(inner)),
            Rule::migration_item => ItemKind::Migration(self.declaration(inner)),
            Rule::workflow_item => ItemKind::Workflow(self.workflow(inner)),
            Rule::extern_item => ItemKind::ExternOp(self.extern_op(inner)),
            rule => unreachable!("item alternative {rule:?} is not in the grammar"),
        };
        Item { doc, span, kind }
    }

    fn import(&self, pair: Pair<'_, Rule>) -> Import {
        let mut parts = significant(pair);
        let path_pair = next(&mut parts);
        let path_span = self.span(&path_pair);
        let path = self.string(path_pair);
        let alias = parts.next().map(|p| self.ident(p));
        Import {
            path,
            path_span,
            alias,
        }
    }

    fn constant(&self, pair: Pair<'_, Rule>) -> Const {
        let mut parts = significant(pair);
        let name = self.ident(next(&mut parts));
        let mut ty = None;
        let mut value_pair = next(&mut parts);
        if value_pair.as_rule() == Rule::type_expr {
            ty = Some(self.type_expr(value_pair));
            value_pair = next(&mut parts);
        }
        Const {
            name,
            ty,
            value: self.expr(value_pair),
        }
    }

    fn declaration(&self, pair: Pair<'_, Rule>) -> Declaration {
        let mut parts = significant(pair);
        let name = self.ident(next(&mut parts));
        let fields = next(&mut parts)
            .into_inner()
            .map(|field| {
                let doc = self.doc(self.span(&field));
                let mut parts = field.into_inner();
                let name = self.ident(next(&mut parts));
                Field {
                    doc,
                    name,
                    value: self.expr(next(&mut parts)),
                }
            })
            .collect();
        Declaration {
            doc: self.doc(name.span),
            name,
            fields,
        }
    }

    fn workflow(&self, pair: Pair<'_, Rule>) -> Workflow {
        let mut parts = significant(pair);
        let name = self.ident(next(&mut parts));
        let mut workflow = Workflow {
            name,
            params: Vec::new(),
            return_type: None,
            triggers: Vec::new(),
            steps: Vec::new(),
            output: None,
        };
        for part in parts {
            match part.as_rule() {
                Rule::params => workflow.params = self.params(part),
                Rule::return_type => workflow.return_type = Some(self.type_expr(first(part))),
                Rule::trigger => {
                    let mut trigger = significant(part);
                    workflow.triggers.push(self.trigger(next(&mut trigger)));
                }
                Rule::block => {
                    for entry in part.into_inner() {
                        match entry.as_rule() {
                            Rule::step => workflow.steps.push(self.step(entry)),
                            Rule::return_stmt => {
                                workflow.output = Some(self.expr(last(entry)));
                            }
                            rule => unreachable!("block entry {rule:?} is not in the grammar"),
                        }
                    }
                }
                rule => unreachable!("workflow part {rule:?} is not in the grammar"),
            }
        }
        workflow
    }

    fn params(&self, pair: Pair<'_, Rule>) -> Vec<Param> {
        pair.into_inner()
            .map(|param| {
                let doc = self.doc(self.span(&param));
                let mut parts = param.into_inner();
                let name = self.ident(next(&mut parts));
                let ty = self.type_expr(next(&mut parts));
                let default = parts.next().map(|p| self.expr(p));
                Param {
                    doc,
                    name,
                    ty,
                    default,
                }
            })
            .collect()
    }

    fn trigger(&self, pair: Pair<'_, Rule>) -> Trigger {
        let rule = pair.as_rule();
        let mut parts = significant(pair);
        let first_part = next(&mut parts);
        match rule {
            Rule::schedule_trigger => {
                let span = self.span(&first_part);
                Trigger::Schedule {
                    cron: self.string(first_part),
                    span,
                }
            }
            Rule::every_trigger => Trigger::Every {
                interval: self.expr(first_part),
            },
            Rule::event_trigger => {
                let span = self.span(&first_part);
                let event_type = self.string(first_part);
                let filter = parts.next().map(|p| self.expr(p));
                Trigger::Event {
                    event_type,
                    span,
                    filter,
                }
            }
            rule => unreachable!("trigger {rule:?} is not in the grammar"),
        }
    }

    fn step(&self, pair: Pair<'_, Rule>) -> Step {
        let doc = self.doc(self.span(&pair));
        let mut parts = significant(pair);
        let name = self.ident(next(&mut parts));
        let value = self.expr(next(&mut parts));
        let modifiers = parts.map(|m| self.modifier(m)).collect();
        Step {
            doc,
            name,
            value,
            modifiers,
        }
    }

    fn modifier(&self, pair: Pair<'_, Rule>) -> Modifier {
        let rule = pair.as_rule();
        let mut parts = significant(pair);
        match rule {
            Rule::after_mod => Modifier::After(parts.map(|p| self.ident(p)).collect()),
            Rule::on_mod => Modifier::On(self.expr(next(&mut parts))),
            Rule::timeout_mod => Modifier::Timeout(self.expr(next(&mut parts))),
            Rule::when_mod => Modifier::When(self.expr(next(&mut parts))),
            Rule::retry_mod => {
                let count = next(&mut parts);
                let attempts_span = self.span(&count);
                let attempts = match literal::decode_integer(count.as_str()) {
                    Ok(IntegerText::Fits(value)) => value,
                    Ok(IntegerText::MinMagnitude) | Err(_) => {
                        self.problem(
                            attempts_span,
                            LiteralProblem::IntegerOutOfRange {
                                text: count.as_str().to_string(),
                            },
                        );
                        0
                    }
                };
                let backoff = parts.next().map(|p| self.expr(p));
                Modifier::Retry {
                    attempts,
                    attempts_span,
                    backoff,
                }
            }
            rule => unreachable!("modifier {rule:?} is not in the grammar"),
        }
    }

    fn extern_op(&self, pair: Pair<'_, Rule>) -> ExternOp {
        let mut parts = significant(pair);
        let path = self.ident(next(&mut parts));
        let mut op = ExternOp {
            path,
            params: Vec::new(),
            result: TypeExpr {
                kind: TypeExprKind::Record(Vec::new()),
                optional: false,
                span: Span::default(),
            },
            body: None,
        };
        for part in parts {
            match part.as_rule() {
                Rule::params => op.params = self.params(part),
                Rule::type_expr => op.result = self.type_expr(part),
                Rule::expr => op.body = Some(self.expr(part)),
                rule => unreachable!("extern op part {rule:?} is not in the grammar"),
            }
        }
        op
    }

    fn type_expr(&self, pair: Pair<'_, Rule>) -> TypeExpr {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let base = next(&mut parts);
        let optional = parts.next().is_some();
        let kind = match base.as_rule() {
            Rule::type_name => TypeExprKind::Named(self.ident(first(base))),
            Rule::list_type => TypeExprKind::List(Box::new(self.type_expr(first(base)))),
            Rule::record_type => TypeExprKind::Record(
                base.into_inner()
                    .map(|field| {
                        let mut parts = field.into_inner();
                        let name = self.ident(next(&mut parts));
                        (name, self.type_expr(next(&mut parts)))
                    })
                    .collect(),
            ),
            rule => unreachable!("type {rule:?} is not in the grammar"),
        };
        TypeExpr {
            kind,
            optional,
            span,
        }
    }

    // ── expressions ──────────────────────────────────────────────────────────────────

    pub fn expr(&self, pair: Pair<'_, Rule>) -> Expr {
        self.expr_with_depth(pair).0
    }

    fn expr_with_depth(&self, pair: Pair<'_, Rule>) -> (Expr, u32) {
        let pairs = pair.into_inner();
        if let Some(span) = self.overlong_prefix_run(pairs.clone()) {
            self.too_deep(span, false);
            return (invalid(span), 0);
        }
        PRATT
            .map_primary(|primary| self.primary(primary))
            .map_prefix(|op, (operand, depth)| {
                let span = self.span(&op).to(operand.span);
                let op = if op.as_rule() == Rule::not_op {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                if op == UnaryOp::Neg {
                    if let Some(min) = self.take_pending_min_int(&operand, span) {
                        return (min, depth);
                    }
                }
                self.nested(ExprKind::Unary(op, Box::new(operand)), span, depth)
            })
            .map_postfix(|(receiver, depth), op| {
                let span = receiver.span.to(self.span(&op));
                let kind = match op.as_rule() {
                    Rule::field_get => ExprKind::Field(Box::new(receiver), self.ident(first(op))),
                    Rule::opt_field => {
                        ExprKind::OptionalField(Box::new(receiver), self.ident(first(op)))
                    }
                    _ => {
                        let (index, index_depth) = self.expr_with_depth(first(op));
                        let depth = depth.max(index_depth);
                        return self.nested(
                            ExprKind::Index(Box::new(receiver), Box::new(index)),
                            span,
                            depth,
                        );
                    }
                };
                self.nested(kind, span, depth)
            })
            .map_infix(|(left, left_depth), op, (right, right_depth)| {
                let span = left.span.to(right.span);
                let op = binary_op(op.as_rule());
                let kind = ExprKind::Binary(op, Box::new(left), Box::new(right));
                self.chained(kind, span, left_depth.max(right_depth))
            })
            .parse(pairs)
    }

    /// Wraps a node whose deepest child has `depth`, enforcing the depth limit.
    fn nested(&self, kind: ExprKind, span: Span, depth: u32) -> (Expr, u32) {
        let depth = depth + 1;
        if depth > MAX_EXPRESSION_DEPTH {
            self.too_deep(span, false);
            return (invalid(span), 0);
        }
        (Expr { kind, span }, depth)
    }

    /// A binary operator's node: the same limit on the tree's depth, reported as a
    /// chain that is too long (a flat `1 + 1 + …` is not nested).
    fn chained(&self, kind: ExprKind, span: Span, depth: u32) -> (Expr, u32) {
        let depth = depth + 1;
        if depth > MAX_EXPRESSION_DEPTH {
            self.too_deep(span, true);
            return (invalid(span), 0);
        }
        (Expr { kind, span }, depth)
    }

    fn overlong_prefix_run(&self, pairs: Pairs<'_, Rule>) -> Option<Span> {
        let mut run = 0;
        for pair in pairs {
            if matches!(pair.as_rule(), Rule::not_op | Rule::neg_op) {
                run += 1;
                if run > MAX_PREFIX_RUN {
                    return Some(self.span(&pair));
                }
            } else {
                run = 0;
            }
        }
        None
    }

    fn primary(&self, pair: Pair<'_, Rule>) -> (Expr, u32) {
        let span = self.span(&pair);
        let leaf = |kind| (Expr { kind, span }, 0);
        match pair.as_rule() {
            Rule::paren => {
                let (inner, depth) = self.expr_with_depth(first(pair));
                self.nested(ExprKind::Paren(Box::new(inner)), span, depth)
            }
            Rule::if_expr => self.if_expr(pair),
            Rule::list_lit => {
                let (items, depth) = self.exprs(pair.into_inner());
                self.nested(ExprKind::List(items), span, depth)
            }
            Rule::record_lit => {
                let mut depth = 0;
                let entries = pair
                    .into_inner()
                    .map(|entry| {
                        let mut parts = entry.into_inner();
                        let key = self.ident(next(&mut parts));
                        let (value, value_depth) = self.expr_with_depth(next(&mut parts));
                        depth = depth.max(value_depth);
                        (key, value)
                    })
                    .collect();
                self.nested(ExprKind::Record(entries), span, depth)
            }
            Rule::path_expr => self.path_expr(pair, span),
            Rule::true_kw => leaf(ExprKind::Literal(Literal::Bool(true))),
            Rule::false_kw => leaf(ExprKind::Literal(Literal::Bool(false))),
            Rule::none_kw => leaf(ExprKind::Literal(Literal::None)),
            Rule::string => leaf(ExprKind::Literal(Literal::String(self.string(pair)))),
            Rule::window => {
                let literal = literal::decode_window(pair.as_str());
                leaf(ExprKind::Literal(self.literal_or_problem(literal, span)))
            }
            Rule::number => leaf(ExprKind::Literal(self.number(pair, span))),
            rule => unreachable!("primary {rule:?} is not in the grammar"),
        }
    }

    fn exprs(&self, pairs: Pairs<'_, Rule>) -> (Vec<Expr>, u32) {
        let mut depth = 0;
        let items = pairs
            .map(|pair| {
                let (expr, expr_depth) = self.expr_with_depth(pair);
                depth = depth.max(expr_depth);
                expr
            })
            .collect();
        (items, depth)
    }

    /// `a.b.c` (a name and field reads), `ns.op(name: v)` (an op call) or `f(v)` (a
    /// builtin call). Op arguments must be named and builtin arguments positional.
    fn path_expr(&self, pair: Pair<'_, Rule>, span: Span) -> (Expr, u32) {
        let mut parts = pair.into_inner();
        let path = next(&mut parts);
        let path_ident = self.ident(path.clone());
        let mut segments = path.into_inner().map(|segment| self.ident(segment));
        let Some(call_args) = parts.next() else {
            let head = segments.next().expect("a path has a first segment");
            let mut acc = (
                Expr {
                    span: head.span,
                    kind: ExprKind::Name(head),
                },
                0,
            );
            for field in segments {
                let span = acc.0.span.to(field.span);
                acc = self.nested(ExprKind::Field(Box::new(acc.0), field), span, acc.1);
            }
            return acc;
        };
        let is_op = path_ident.name.contains('.');
        let mut depth = 0;
        let mut named = Vec::new();
        let mut positional = Vec::new();
        for arg in call_args.into_inner() {
            let mut parts: Vec<Pair<'_, Rule>> = arg.into_inner().collect();
            let value = parts
                .pop()
                .expect("the grammar guarantees an argument value");
            let (value, value_depth) = self.expr_with_depth(value);
            depth = depth.max(value_depth);
            match (parts.pop(), is_op) {
                (Some(name), true) => named.push((self.ident(name), value)),
                (None, false) => positional.push(value),
                (Some(name), false) => {
                    self.argument_style(self.span(&name), false);
                }
                (None, true) => self.argument_style(value.span, true),
            }
        }
        let kind = if is_op {
            ExprKind::OpCall(OpCall {
                path: path_ident,
                args: named,
            })
        } else {
            ExprKind::Call(path_ident, positional)
        };
        self.nested(kind, span, depth)
    }

    /// `if c { a } else if d { b } else { e }`, nested to the right.
    fn if_expr(&self, pair: Pair<'_, Rule>) -> (Expr, u32) {
        let whole = self.span(&pair);
        let mut parts = significant(pair);
        let mut arms = vec![(whole.start, next(&mut parts), next(&mut parts))];
        let mut otherwise = None;
        for part in parts {
            if part.as_rule() == Rule::else_if {
                let start = self.span(&part).start;
                let mut arm = significant(part);
                arms.push((start, next(&mut arm), next(&mut arm)));
            } else {
                otherwise = Some(part);
            }
        }
        let otherwise = otherwise.expect("the grammar requires an else branch");
        let mut acc = self.expr_with_depth(otherwise);
        for (start, condition, then) in arms.into_iter().rev() {
            let (condition, condition_depth) = self.expr_with_depth(condition);
            let (then, then_depth) = self.expr_with_depth(then);
            let span = Span {
                start,
                end: whole.end,
            };
            let depth = condition_depth.max(then_depth).max(acc.1);
            let kind = ExprKind::If(Box::new(condition), Box::new(then), Box::new(acc.0));
            acc = self.nested(kind, span, depth);
        }
        acc
    }

    fn number(&self, pair: Pair<'_, Rule>, span: Span) -> Literal {
        let mut parts = pair.into_inner();
        let mantissa = next(&mut parts).as_str();
        if let Some(unit) = parts.next() {
            return self
                .literal_or_problem(literal::decode_with_unit(mantissa, unit.as_str()), span);
        }
        if literal::is_float_text(mantissa) {
            return self
                .literal_or_problem(literal::decode_float(mantissa).map(Literal::Float), span);
        }
        match literal::decode_integer(mantissa) {
            Ok(IntegerText::Fits(value)) => Literal::Int(value),
            Ok(IntegerText::MinMagnitude) => {
                self.pending_min_int.borrow_mut().push(span);
                Literal::Invalid
            }
            Err(problem) => {
                self.problem(span, problem);
                Literal::Invalid
            }
        }
    }

    fn take_pending_min_int(&self, operand: &Expr, span: Span) -> Option<Expr> {
        if operand.kind != ExprKind::Literal(Literal::Invalid) {
            return None;
        }
        let mut pending = self.pending_min_int.borrow_mut();
        let position = pending.iter().position(|s| *s == operand.span)?;
        pending.remove(position);
        Some(Expr {
            kind: ExprKind::Literal(Literal::Int(i64::MIN)),
            span,
        })
    }

    fn literal_or_problem(&self, literal: Result<Literal, LiteralProblem>, span: Span) -> Literal {
        literal.unwrap_or_else(|problem| {
            self.problem(span, problem);
            Literal::Invalid
        })
    }

    /// The decoded text of a `string` pair; a bad escape is reported and dropped.
    fn string(&self, pair: Pair<'_, Rule>) -> String {
        let span = self.span(&pair);
        let raw = first(pair).as_str();
        literal::decode_string(raw).unwrap_or_else(|problem| {
            self.problem(span, problem);
            raw.to_string()
        })
    }

    fn problem(&self, span: Span, problem: LiteralProblem) {
        self.problems
            .borrow_mut()
            .push(SyntaxError::MalformedLiteral { span, problem });
    }

    fn argument_style(&self, span: Span, named_expected: bool) {
        let mut fatal = self.fatal.borrow_mut();
        if fatal.is_none() {
            *fatal = Some(SyntaxError::ArgumentStyle {
                span,
                named_expected,
            });
        }
    }

    fn too_deep(&self, span: Span, chain: bool) {
        let mut fatal = self.fatal.borrow_mut();
        if fatal.is_none() {
            let (span, limit) = (
                Span::point(span.start as usize),
                MAX_EXPRESSION_DEPTH as usize,
            );
            *fatal = Some(if chain {
                SyntaxError::TooLong { span, limit }
            } else {
                SyntaxError::TooDeep { span, limit }
            });
        }
    }
}

fn invalid(span: Span) -> Expr {
    Expr {
        kind: ExprKind::Literal(Literal::Invalid),
        span,
    }
}

fn binary_op(rule: Rule) -> BinaryOp {
    match rule {
        Rule::coalesce_op => BinaryOp::Coalesce,
        Rule::or_op => BinaryOp::Or,
        Rule::and_op => BinaryOp::And,
        Rule::eq_op => BinaryOp::Eq,
        Rule::ne_op => BinaryOp::Ne,
        Rule::lt_op => BinaryOp::Lt,
        Rule::le_op => BinaryOp::Le,
        Rule::gt_op => BinaryOp::Gt,
        Rule::ge_op => BinaryOp::Ge,
        Rule::per_op => BinaryOp::Per,
        Rule::add_op => BinaryOp::Add,
        Rule::sub_op => BinaryOp::Sub,
        Rule::mul_op => BinaryOp::Mul,
        Rule::div_op => BinaryOp::Div,
        Rule::rem_op => BinaryOp::Rem,
        rule => unreachable!("{rule:?} is not an infix operator"),
    }
}

/// The children of a pair without its keyword tokens.
fn significant<'i>(pair: Pair<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
    pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
}

fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::import_kw
            | Rule::as_kw
            | Rule::const_kw
            | Rule::type_kw
            | Rule::edges_kw
            | Rule::policy_kw
            | Rule::migration_kw
            | Rule::workflow_kw
            | Rule::extern_kw
            | Rule::op_kw
            | Rule::let_kw
            | Rule::return_kw
            | Rule::if_kw
            | Rule::else_kw
            | Rule::after_kw
            | Rule::on_kw
            | Rule::retry_kw
            | Rule::backoff_kw
            | Rule::timeout_kw
            | Rule::when_kw
            | Rule::schedule_kw
            | Rule::every_kw
            | Rule::event_kw
            | Rule::where_kw
    )
}

/// The grammar guarantees these children exist; a missing one is a bug in this file.
fn next<'i>(parts: &mut impl Iterator<Item = Pair<'i, Rule>>) -> Pair<'i, Rule> {
    parts.next().expect("the grammar guarantees this child")
}

fn first(pair: Pair<'_, Rule>) -> Pair<'_, Rule> {
    next(&mut pair.into_inner())
}

fn last(pair: Pair<'_, Rule>) -> Pair<'_, Rule> {
    pair.into_inner()
        .last()
        .expect("the grammar guarantees this child")
}
