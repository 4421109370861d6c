//! Constants and type aliases: each is checked once, on first use or in item order,
//! and memoised; a definition that depends on itself is E0400.

use crate::checker::{Checker, ConstInfo, Memo};
use crate::expr::Scope;
use crate::module::{ItemRef, ModuleId};
use crate::problem::Problem;
use crate::scope::Binding;
use crate::suggest::did_you_mean;
use crate::types::{builtin_type, Type, BUILTIN_TYPE_NAMES};
use edgeflow_grammar::ast::{ItemKind, TypeExpr, TypeExprKind};

impl Checker {
    pub(crate) fn const_info(&mut self, module: ModuleId, index: usize) -> ConstInfo {
        match self.consts.get(&(module, index)) {
            Some(Memo::Done(info)) => return info.clone(),
            Some(Memo::InProgress) => {
                self.report_const_cycle(module, index);
                return ConstInfo {
                    ty: Type::Unknown,
                    value: None,
                };
            }
            None => {}
        }
        let ItemKind::Const(constant) = &self.module(module).item(index).kind else {
            return ConstInfo {
                ty: Type::Unknown,
                value: None,
            };
        };
        let constant = constant.clone();
        self.consts.insert((module, index), Memo::InProgress);
        self.const_stack.push((module, index));
        let mut scope = Scope::constant(module);
        let typed = match &constant.ty {
            Some(declared) => {
                let declared = self.resolve_type(module, declared);
                let typed = self.expect(&mut scope, &constant.value, &declared);
                let ty = if typed.ty.is_unknown() {
                    typed.ty
                } else {
                    declared
                };
                crate::expr::Typed { ty, ir: typed.ir }
            }
            None => self.expr(&mut scope, &constant.value),
        };
        self.const_stack.pop();
        let value = match typed.ir.as_const() {
            Some(value) if !typed.ty.is_unknown() => Some(value.clone()),
            Some(_) => None,
            None if typed.ty.is_unknown() => None,
            None => {
                let problem = Problem::NotConstant {
                    what: format!("const `{}`", constant.name.name),
                };
                self.report(module, problem, constant.value.span);
                None
            }
        };
        let ty = if value.is_some() {
            typed.ty
        } else {
            Type::Unknown
        };
        let info = ConstInfo { ty, value };
        self.consts
            .insert((module, index), Memo::Done(info.clone()));
        info
    }

    /// A constant was needed while computing itself: report the chain once, at the
    /// constant that started it.
    fn report_const_cycle(&mut self, module: ModuleId, index: usize) {
        let Some(position) = self.const_stack.iter().position(|c| *c == (module, index)) else {
            return;
        };
        let chain: Vec<(ModuleId, usize)> = self.const_stack[position..].to_vec();
        let mut names: Vec<String> = chain
            .iter()
            .map(|(m, i)| self.item_name(*m, ItemRef::Const(*i)))
            .collect();
        names.push(names[0].clone());
        if let ItemKind::Const(constant) = &self.module(module).item(index).kind {
            let span = constant.name.span;
            self.report(
                module,
                Problem::Cycle {
                    what: "constants",
                    cycle: names,
                },
                span,
            );
        }
    }

    /// The type a `type` alias stands for.
    pub(crate) fn alias_type(&mut self, module: ModuleId, index: usize) -> Type {
        match self.aliases.get(&(module, index)) {
            Some(Memo::Done(ty)) => return ty.clone(),
            Some(Memo::InProgress) => {
                if let ItemKind::TypeDef(def) = &self.module(module).item(index).kind {
                    let name = def.name.clone();
                    let problem = Problem::Cycle {
                        what: "type aliases",
                        cycle: vec![name.name.clone(), name.name],
                    };
                    self.report(module, problem, name.span);
                }
                self.aliases
                    .insert((module, index), Memo::Done(Type::Unknown));
                return Type::Unknown;
            }
            None => {}
        }
        let ItemKind::TypeDef(def) = &self.module(module).item(index).kind else {
            return Type::Unknown;
        };
        let target = def.ty.clone();
        self.aliases.insert((module, index), Memo::InProgress);
        let ty = self.resolve_type(module, &target);
        if let Some(Memo::InProgress) = self.aliases.get(&(module, index)) {
            self.aliases.insert((module, index), Memo::Done(ty.clone()));
        }
        match self.aliases.get(&(module, index)) {
            Some(Memo::Done(ty)) => ty.clone(),
            _ => Type::Unknown,
        }
    }

    /// The type a type expression names (E0200 for an unknown type name).
    pub(crate) fn resolve_type(&mut self, module: ModuleId, expr: &TypeExpr) -> Type {
        let base = match &expr.kind {
            TypeExprKind::Named(ident) => {
                if let Some(ty) = builtin_type(&ident.name) {
                    ty
                } else {
                    match self.resolve_global(module, &ident.name) {
                        Some(Binding::Global(owner, ItemRef::Type(index))) => {
                            self.alias_type(owner, index)
                        }
                        Some(Binding::Poisoned) => Type::Unknown,
                        _ => {
                            let mut candidates: Vec<String> =
                                BUILTIN_TYPE_NAMES.iter().map(|s| s.to_string()).collect();
                            candidates.extend(self.type_alias_names(module));
                            let suggestion =
                                did_you_mean(&ident.name, candidates.iter().map(String::as_str));
                            let problem = Problem::UnknownType {
                                name: ident.name.clone(),
                                suggestion,
                            };
                            self.report(module, problem, ident.span);
                            Type::Unknown
                        }
                    }
                }
            }
            TypeExprKind::List(inner) => Type::List(Box::new(self.resolve_type(module, inner))),
            TypeExprKind::Record(fields) => {
                let mut resolved: Vec<(String, Type)> = Vec::with_capacity(fields.len());
                for (name, ty) in fields {
                    let ty = self.resolve_type(module, ty);
                    if resolved.iter().any(|(n, _)| *n == name.name) {
                        let problem = Problem::Duplicate {
                            name: name.name.clone(),
                            what: "record field",
                        };
                        self.report(module, problem, name.span);
                        continue;
                    }
                    resolved.push((name.name.clone(), ty));
                }
                Type::Record(resolved.into())
            }
        };
        if expr.optional {
            base.optional()
        } else {
            base
        }
    }

    fn type_alias_names(&self, module: ModuleId) -> Vec<String> {
        let mut names = Vec::new();
        let mut modules = vec![module];
        modules.extend(self.module(module).glob_imports());
        for id in modules {
            for (name, item) in &self.module(id).items {
                if matches!(item, ItemRef::Type(_)) {
                    names.push(name.clone());
                }
            }
        }
        names
    }
}
