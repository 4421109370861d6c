//! A module is one parsed source file plus its symbol table: which names its items
//! declare, which files it imports and under which alias. Built once when the file is
//! loaded; the checker reads it to resolve names.

use crate::ir;
use crate::source_map::FileId;
use edgeflow_grammar::ast;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::rc::Rc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleId(pub u32);

/// What a top-level name refers to: the item's index in the module's AST (and the
/// declaration's index inside an `edges` block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemRef {
    Const(usize),
    Type(usize),
    Edge(usize, usize),
    Policy(usize),
    Migration(usize),
    Workflow(usize),
    /// An import's alias (index into `Module::imports`).
    Alias(usize),
}

impl ItemRef {
    /// "a const", "an edge", … for messages.
    pub fn describe(self) -> &'static str {
        match self {
            ItemRef::Const(_) => "a const",
            ItemRef::Type(_) => "a type",
            ItemRef::Edge(..) => "an edge",
            ItemRef::Policy(_) => "a policy",
            ItemRef::Migration(_) => "a migration",
            ItemRef::Workflow(_) => "a workflow",
            ItemRef::Alias(_) => "an import alias",
        }
    }
}

#[derive(Debug)]
pub struct ModuleImport {
    pub alias: Option<String>,
    /// `None` when the file was not found (already reported).
    pub target: Option<ModuleId>,
}

#[derive(Debug)]
pub struct Module {
    pub file: FileId,
    /// The folder imports are relative to; `None` for the built-in prelude.
    pub dir: Option<PathBuf>,
    /// Shared so that checking can walk it while the checker changes other state.
    pub ast: Rc<ast::File>,
    pub imports: Vec<ModuleImport>,
    pub items: HashMap<String, ItemRef>,
    /// Extern ops by path, to the item index.
    pub ops: HashMap<String, usize>,
    /// Names declared by items that failed to parse: references to them are not errors.
    pub poisoned: HashSet<String>,
    /// An unaliased import failed, so any unknown name might have come from it.
    pub glob_import_failed: bool,
    pub output: ModuleOutput,
}

/// The IR of one module's items, filled in when it is checked.
#[derive(Debug, Default)]
pub struct ModuleOutput {
    pub checked: bool,
    pub edges: Vec<ir::Edge>,
    pub policies: Vec<ir::Policy>,
    pub migrations: Vec<ir::Migration>,
    pub extern_ops: Vec<ir::ExternOp>,
    pub workflows: Vec<ir::Workflow>,
}

impl Module {
    pub fn item(&self, index: usize) -> &ast::Item {
        &self.ast.items[index]
    }

    /// The unaliased imports that loaded, whose items are visible here by bare name.
    pub fn glob_imports(&self) -> impl Iterator<Item = ModuleId> + '_ {
        self.imports
            .iter()
            .filter(|i| i.alias.is_none())
            .filter_map(|i| i.target)
    }
}
