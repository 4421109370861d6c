//! Ops: their signatures come from `extern op` declarations — the standard library's in
//! `stdlib/prelude.edgeflow`, the user's own next to their workflows. This file resolves
//! an op path, checks a call's named arguments against the signature (E0201, E0205,
//! E0206) and fills in defaults.

use crate::checker::Checker;
use crate::expr::{Scope, Typed};
use crate::ir::{self, Expr};
use crate::module::ModuleId;
use crate::problem::Problem;
use crate::suggest::did_you_mean;
use crate::types::Type;
use crate::value::Value;
use edgeflow_grammar::ast::{self, ExprKind, ItemKind, Literal};
use std::collections::HashSet;
use std::rc::Rc;

#[derive(Debug, Clone, PartialEq)]
pub struct OpSignature {
    pub path: String,
    pub params: Vec<ir::Param>,
    pub result: Type,
    /// `wasm(path, export)` for user ops; `None` for host ops of the runtime.
    pub wasm: Option<(String, String)>,
}

/// A checked op call: the op and its complete argument list.
pub(crate) struct CheckedCall {
    pub op: String,
    pub args: Vec<(String, Expr)>,
    pub result: Type,
}

impl Checker {
    /// The signature of the extern op declared by item `index` of `module`.
    pub(crate) fn op_signature(&mut self, module: ModuleId, index: usize) -> Rc<OpSignature> {
        if let Some(signature) = self.op_signatures.get(&(module, index)) {
            return signature.clone();
        }
        let ItemKind::ExternOp(op) = &self.module(module).item(index).kind else {
            unreachable!("op_signature is called only for extern op items");
        };
        let op = op.clone();
        let params = self.params(module, &op.params);
        let result = self.resolve_type(module, &op.result);
        let wasm = op
            .body
            .as_ref()
            .and_then(|body| self.wasm_body(module, body));
        let signature = Rc::new(OpSignature {
            path: op.path.name.clone(),
            params,
            result,
            wasm,
        });
        self.op_signatures
            .insert((module, index), signature.clone());
        signature
    }

    /// Parameters with resolved types and constant defaults (E0203 for duplicates).
    pub(crate) fn params(&mut self, module: ModuleId, params: &[ast::Param]) -> Vec<ir::Param> {
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(params.len());
        for param in params {
            let ty = self.resolve_type(module, &param.ty);
            if !seen.insert(param.name.name.clone()) {
                let problem = Problem::Duplicate {
                    name: param.name.name.clone(),
                    what: "parameter",
                };
                self.report(module, problem, param.name.span);
                continue;
            }
            let default = param.default.as_ref().and_then(|default| {
                let typed = self.expect(&mut Scope::constant(module), default, &ty);
                match typed.ir {
                    Expr::Const(value) if !typed.ty.is_unknown() => Some(value),
                    _ if typed.ty.is_unknown() => None,
                    _ => {
                        let what = format!("the default of `{}`", param.name.name);
                        self.report(module, Problem::NotConstant { what }, default.span);
                        None
                    }
                }
            });
            let default = default.or_else(|| ty.is_optional().then_some(Value::None));
            out.push(ir::Param {
                name: param.name.name.clone(),
                doc: param.doc.clone(),
                ty,
                default,
            });
        }
        out
    }

    fn wasm_body(&mut self, module: ModuleId, body: &ast::Expr) -> Option<(String, String)> {
        if let ExprKind::Call(callee, args) = &body.kind {
            if callee.name == "wasm" {
                if let [path, export] = args.as_slice() {
                    if let (
                        ExprKind::Literal(Literal::String(p)),
                        ExprKind::Literal(Literal::String(e)),
                    ) = (&path.kind, &export.kind)
                    {
                        return Some((p.clone(), e.clone()));
                    }
                }
            }
        }
        let problem = Problem::TypeMismatch {
            expected: "wasm(\"module.wasm\", \"export\")".into(),
            found: "another expression".into(),
            note: Some(
                "an extern op's body names a WebAssembly module and its export, as string literals"
                    .into(),
            ),
        };
        self.report(module, problem, body.span);
        None
    }

    pub(crate) fn check_extern_op(
        &mut self,
        module: ModuleId,
        index: usize,
    ) -> Option<ir::ExternOp> {
        let signature = self.op_signature(module, index);
        let (wasm_path, export) = signature.wasm.clone()?;
        let path_span = match &self.module(module).item(index).kind {
            ItemKind::ExternOp(op) => op.path.span,
            _ => return None,
        };
        Some(ir::ExternOp {
            at: self.source_pos(module, path_span),
            path: signature.path.clone(),
            params: signature.params.clone(),
            result: signature.result.clone(),
            wasm_path,
            export,
        })
    }

    /// The op a path names from `module`: its own extern ops, those of unaliased
    /// imports, `alias.op` for aliased imports, then the standard library.
    fn find_op(&self, module: ModuleId, path: &str) -> Option<(ModuleId, usize)> {
        let here = self.module(module);
        if let Some(index) = here.ops.get(path) {
            return Some((module, *index));
        }
        for target in here.glob_imports() {
            if let Some(index) = self.module(target).ops.get(path) {
                return Some((target, *index));
            }
        }
        if let Some((alias, rest)) = path.split_once('.') {
            let aliased = here
                .imports
                .iter()
                .find(|i| i.alias.as_deref() == Some(alias));
            if let Some(target) = aliased.and_then(|i| i.target) {
                if let Some(index) = self.module(target).ops.get(rest) {
                    return Some((target, *index));
                }
            }
        }
        self.module(self.prelude)
            .ops
            .get(path)
            .map(|index| (self.prelude, *index))
    }

    /// The paths of the standard library's ops, sorted.
    pub fn prelude_op_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self.module(self.prelude).ops.keys().cloned().collect();
        paths.sort();
        paths
    }

    fn visible_ops(&self, module: ModuleId) -> Vec<String> {
        let here = self.module(module);
        let mut paths: Vec<String> = here.ops.keys().cloned().collect();
        for target in here.glob_imports() {
            paths.extend(self.module(target).ops.keys().cloned());
        }
        paths.extend(self.module(self.prelude).ops.keys().cloned());
        paths
    }

    /// Checks an op call that is the whole right side of a step. Once the op is known
    /// its result type is too, even when an argument is wrong, so later steps are
    /// still checked.
    pub(crate) fn op_call(&mut self, scope: &mut Scope, call: &ast::OpCall) -> Option<CheckedCall> {
        let Some((owner, index)) = self.find_op(scope.module, &call.path.name) else {
            let candidates = self.visible_ops(scope.module);
            let suggestion = did_you_mean(&call.path.name, candidates.iter().map(String::as_str));
            let problem = Problem::UnknownOp {
                path: call.path.name.clone(),
                suggestion,
            };
            self.report(scope.module, problem, call.path.span);
            for (_, value) in &call.args {
                self.expr(scope, value);
            }
            return None;
        };
        let signature = self.op_signature(owner, index);
        let mut given: Vec<(String, Typed)> = Vec::with_capacity(call.args.len());
        for (name, value) in &call.args {
            if given.iter().any(|(n, _)| *n == name.name) {
                let problem = Problem::Duplicate {
                    name: name.name.clone(),
                    what: "argument",
                };
                self.report(scope.module, problem, name.span);
                continue;
            }
            let Some(param) = signature.params.iter().find(|p| p.name == name.name) else {
                let suggestion =
                    did_you_mean(&name.name, signature.params.iter().map(|p| p.name.as_str()));
                let problem = Problem::UnknownArgument {
                    callee: signature.path.clone(),
                    argument: name.name.clone(),
                    suggestion,
                };
                self.report(scope.module, problem, name.span);
                self.expr(scope, value);
                continue;
            };
            let typed = self.expect(scope, value, &param.ty);
            given.push((name.name.clone(), typed));
        }
        let missing: Vec<String> = signature
            .params
            .iter()
            .filter(|p| p.default.is_none() && !given.iter().any(|(n, _)| *n == p.name))
            .map(|p| p.name.clone())
            .collect();
        if !missing.is_empty() {
            let problem = Problem::MissingArgument {
                callee: signature.path.clone(),
                arguments: missing,
            };
            self.report(scope.module, problem, call.path.span);
        }
        let args = signature
            .params
            .iter()
            .map(|param| {
                let value = match given.iter().position(|(n, _)| *n == param.name) {
                    Some(position) => given.swap_remove(position).1.ir,
                    None => Expr::Const(param.default.clone().unwrap_or(Value::None)),
                };
                (param.name.clone(), value)
            })
            .collect();
        Some(CheckedCall {
            op: signature.path.clone(),
            args,
            result: signature.result.clone(),
        })
    }
}
