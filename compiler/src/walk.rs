//! Walks over AST expressions, for the analyses that only need to know which names an
//! expression mentions (step dependencies) before it is type-checked.

use edgeflow_grammar::ast::{Expr, ExprKind};

/// Calls `visit` with every bare name in `expr` (not field names, op paths or
/// argument names). Iterative, so deep expressions cannot exhaust the stack.
pub fn names<'e>(expr: &'e Expr, visit: &mut impl FnMut(&'e str)) {
    let mut pending: Vec<&Expr> = vec![expr];
    while let Some(expr) = pending.pop() {
        match &expr.kind {
            ExprKind::Literal(_) => {}
            ExprKind::Name(ident) => visit(&ident.name),
            ExprKind::List(items) | ExprKind::Call(_, items) => pending.extend(items.iter().rev()),
            ExprKind::Record(entries) => pending.extend(entries.iter().rev().map(|(_, e)| e)),
            ExprKind::OpCall(call) => pending.extend(call.args.iter().rev().map(|(_, e)| e)),
            ExprKind::Unary(_, inner)
            | ExprKind::Paren(inner)
            | ExprKind::Field(inner, _)
            | ExprKind::OptionalField(inner, _) => pending.push(inner),
            ExprKind::Binary(_, left, right) | ExprKind::Index(left, right) => {
                pending.push(right);
                pending.push(left);
            }
            ExprKind::If(condition, then, otherwise) => {
                pending.push(otherwise);
                pending.push(then);
                pending.push(condition);
            }
        }
    }
}
