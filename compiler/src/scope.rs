//! Name resolution (LANGUAGE.md §4): steps, parameters and `trigger` first, then the
//! module's own consts and declarations, then what unaliased imports declare. Also the
//! workflow-local table of steps and parameters, which records what each expression
//! reads so that the checker can draw data edges and find unused names.

use crate::checker::Checker;
use crate::expr::Scope;
use crate::module::{ItemRef, ModuleId};
use crate::types::Type;
use edgeflow_grammar::ast::ItemKind;
use std::collections::HashMap;

/// What a name in an expression refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding {
    Step(usize),
    Param(usize),
    Trigger,
    Global(ModuleId, ItemRef),
    /// An import alias; `None` when the import failed (already reported).
    Namespace(Option<ModuleId>),
    /// A name from an item that failed to parse or an import that failed: unknown,
    /// but not reported again.
    Poisoned,
}

/// The steps and parameters of the workflow being checked.
#[derive(Debug, Default)]
pub(crate) struct Locals {
    pub steps: HashMap<String, usize>,
    /// A step's type once checked; `None` (unknown) for steps in a cycle.
    pub step_types: Vec<Option<Type>>,
    pub params: HashMap<String, usize>,
    pub param_types: Vec<Type>,
    pub has_trigger: bool,
    /// Steps are not visible in a trigger's `where` filter.
    pub steps_visible: bool,
    pub used_steps: Vec<bool>,
    pub used_params: Vec<bool>,
    /// What the expression being checked reads: (step, field or `*`).
    pub reads: Vec<(usize, String)>,
}

impl Locals {
    pub fn step_type(&self, index: usize) -> Type {
        self.step_types[index].clone().unwrap_or(Type::Unknown)
    }

    pub fn read_step(&mut self, index: usize) {
        self.used_steps[index] = true;
        self.reads.push((index, "*".to_string()));
    }

    /// Narrows the last whole-output read of `index` to one field.
    pub fn read_step_field(&mut self, index: usize, field: &str) {
        if let Some(last) = self
            .reads
            .iter_mut()
            .rev()
            .find(|(step, f)| *step == index && f == "*")
        {
            last.1 = field.to_string();
        }
    }

    pub fn names(&self) -> impl Iterator<Item = String> + '_ {
        let trigger = self.has_trigger.then(|| "trigger".to_string());
        self.steps
            .keys()
            .chain(self.params.keys())
            .cloned()
            .chain(trigger)
    }
}

impl Checker {
    pub(crate) fn resolve_name(&self, scope: &Scope, name: &str) -> Option<Binding> {
        if let Some(locals) = &scope.locals {
            if locals.steps_visible {
                if let Some(index) = locals.steps.get(name) {
                    return Some(Binding::Step(*index));
                }
            }
            if let Some(index) = locals.params.get(name) {
                return Some(Binding::Param(*index));
            }
            if locals.has_trigger && name == "trigger" {
                return Some(Binding::Trigger);
            }
        }
        self.resolve_global(scope.module, name)
    }

    pub(crate) fn resolve_global(&self, module_id: ModuleId, name: &str) -> Option<Binding> {
        let module = self.module(module_id);
        if let Some(item) = module.items.get(name) {
            return Some(match item {
                ItemRef::Alias(import) => Binding::Namespace(module.imports[*import].target),
                other => Binding::Global(module_id, *other),
            });
        }
        for target in module.glob_imports() {
            match self.module(target).items.get(name) {
                Some(ItemRef::Alias(_)) | None => {}
                Some(item) => return Some(Binding::Global(target, *item)),
            }
        }
        if module.poisoned.contains(name) || module.glob_import_failed {
            return Some(Binding::Poisoned);
        }
        if self
            .module(module_id)
            .glob_imports()
            .any(|t| self.module(t).poisoned.contains(name))
        {
            return Some(Binding::Poisoned);
        }
        None
    }

    /// The declared name of an item (the edge's name for an edge).
    pub(crate) fn item_name(&self, module: ModuleId, item: ItemRef) -> String {
        let module = self.module(module);
        let index = match item {
            ItemRef::Alias(import) => {
                return module.imports[import].alias.clone().unwrap_or_default()
            }
            ItemRef::Const(i) | ItemRef::Type(i) | ItemRef::Policy(i) | ItemRef::Migration(i) => i,
            ItemRef::Workflow(i) | ItemRef::Edge(i, _) => i,
        };
        match (&module.item(index).kind, item) {
            (ItemKind::Const(c), _) => c.name.name.clone(),
            (ItemKind::TypeDef(t), _) => t.name.name.clone(),
            (ItemKind::Edges(edges), ItemRef::Edge(_, j)) => edges[j].name.name.clone(),
            (ItemKind::Policy(d) | ItemKind::Migration(d), _) => d.name.name.clone(),
            (ItemKind::Workflow(w), _) => w.name.name.clone(),
            _ => String::new(),
        }
    }
}
