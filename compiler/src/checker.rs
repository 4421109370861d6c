//! The checker's session: the source map, every loaded module, the memo tables for
//! constants, type aliases and op signatures, and the diagnostics found so far. Loading
//! follows imports (E0207, E0208); checking walks every item of every module once.

use crate::diagnostic::Diagnostic;
use crate::module::{ItemRef, Module, ModuleId, ModuleImport, ModuleOutput};
use crate::ops::OpSignature;
use crate::problem::{Problem, Severity};
use crate::source_map::{read_source_file, FileId, Location, SourceMap};
use crate::types::Type;
use crate::value::Value;
use edgeflow_grammar::ast::{self, ItemKind};
use edgeflow_grammar::Span;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// The standard library's op signatures, checked by this same compiler.
pub const PRELUDE_SOURCE: &str = include_str!("../../stdlib/prelude.edgeflow");
pub const PRELUDE_NAME: &str = "stdlib/prelude.edgeflow";

/// A memo entry; `InProgress` detects definitions that depend on themselves.
pub(crate) enum Memo<T> {
    InProgress,
    Done(T),
}

/// A constant's type and, when it could be computed, its value.
#[derive(Clone)]
pub(crate) struct ConstInfo {
    pub ty: Type,
    pub value: Option<Value>,
}

/// A file that could not be read at all (not a diagnostic: exit status 2).
#[derive(Debug)]
pub struct LoadError {
    pub path: PathBuf,
    pub reason: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read {}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for LoadError {}

pub struct Checker {
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    error_count: usize,
    pub(crate) lower: bool,
    pub(crate) modules: Vec<Module>,
    by_path: HashMap<PathBuf, ModuleId>,
    /// The import chain being loaded, for cycle detection.
    loading: Vec<ModuleId>,
    pub(crate) prelude: ModuleId,
    pub(crate) consts: HashMap<(ModuleId, usize), Memo<ConstInfo>>,
    /// Constants being computed, innermost last, to name a cycle.
    pub(crate) const_stack: Vec<(ModuleId, usize)>,
    pub(crate) aliases: HashMap<(ModuleId, usize), Memo<Type>>,
    pub(crate) op_signatures: HashMap<(ModuleId, usize), Rc<OpSignature>>,
}

impl Default for Checker {
    fn default() -> Self {
        Checker::new()
    }
}

impl Checker {
    pub fn new() -> Checker {
        let mut checker = Checker {
            sources: SourceMap::default(),
            diagnostics: Vec::new(),
            error_count: 0,
            lower: true,
            modules: Vec::new(),
            by_path: HashMap::new(),
            loading: Vec::new(),
            prelude: ModuleId(0),
            consts: HashMap::new(),
            const_stack: Vec::new(),
            aliases: HashMap::new(),
            op_signatures: HashMap::new(),
        };
        checker.prelude = checker.add_module(PRELUDE_NAME.to_string(), None, PRELUDE_SOURCE.into());
        checker
    }

    /// Loads a file named by the user, and everything it imports.
    pub fn load_file(&mut self, path: &Path) -> Result<ModuleId, LoadError> {
        let load_error = |reason: String| LoadError {
            path: path.to_path_buf(),
            reason,
        };
        let canonical = path.canonicalize().map_err(|e| load_error(e.to_string()))?;
        if let Some(id) = self.by_path.get(&canonical) {
            return Ok(*id);
        }
        let text = read_source_file(path).map_err(load_error)?;
        Ok(self.add_module(path.display().to_string(), Some(canonical), text.into()))
    }

    /// Loads source text that has no file (tests, editors).
    pub fn load_source(&mut self, name: &str, text: &str) -> ModuleId {
        self.add_module(name.to_string(), None, text.into())
    }

    pub fn file_of(&self, module: ModuleId) -> FileId {
        self.modules[module.0 as usize].file
    }

    pub(crate) fn module(&self, id: ModuleId) -> &Module {
        &self.modules[id.0 as usize]
    }

    pub(crate) fn module_mut(&mut self, id: ModuleId) -> &mut Module {
        &mut self.modules[id.0 as usize]
    }

    /// Records a diagnostic.
    pub(crate) fn push(&mut self, diagnostic: Diagnostic) {
        if diagnostic.severity() == Severity::Error {
            self.error_count += 1;
        }
        self.diagnostics.push(diagnostic);
    }

    /// Errors found so far.
    pub fn error_count(&self) -> usize {
        self.error_count
    }

    /// Whether checking also builds the IR (the default). `edgeflow check` only needs
    /// the diagnostics, and skipping the IR saves time and memory on large inputs.
    pub fn set_lowering(&mut self, lower: bool) {
        self.lower = lower;
    }

    pub(crate) fn report(&mut self, module: ModuleId, problem: Problem, span: Span) {
        let at = Location {
            file: self.file_of(module),
            span,
        };
        self.push(Diagnostic::new(problem, at));
    }

    fn add_module(&mut self, name: String, path: Option<PathBuf>, text: Arc<str>) -> ModuleId {
        let dir = path
            .as_ref()
            .and_then(|p| p.parent().map(Path::to_path_buf));
        let file = self.sources.add(name, path.clone(), text.clone());
        let parsed = edgeflow_grammar::parse(&text);
        for error in parsed.errors {
            let span = error.span();
            self.push(Diagnostic::new(
                Problem::Syntax(error),
                Location { file, span },
            ));
        }
        let id = ModuleId(self.modules.len() as u32);
        let poisoned: HashSet<String> = parsed
            .file
            .broken_items
            .iter()
            .flat_map(|b| b.names.iter().cloned())
            .collect();
        self.modules.push(Module {
            file,
            dir,
            ast: Rc::new(parsed.file),
            imports: Vec::new(),
            items: HashMap::new(),
            ops: HashMap::new(),
            poisoned,
            glob_import_failed: false,
            output: ModuleOutput::default(),
        });
        if let Some(path) = path {
            self.by_path.insert(path, id);
        }
        self.loading.push(id);
        self.load_imports(id);
        self.loading.pop();
        self.build_symbol_table(id);
        id
    }

    fn load_imports(&mut self, id: ModuleId) {
        let imports: Vec<ast::Import> = self
            .module(id)
            .ast
            .items
            .iter()
            .filter_map(|item| match &item.kind {
                ItemKind::Import(import) => Some(import.clone()),
                _ => None,
            })
            .collect();
        for import in imports {
            let target = self.load_import(id, &import);
            let module = self.module_mut(id);
            if target.is_none() && import.alias.is_none() {
                module.glob_import_failed = true;
            }
            let alias = import.alias.map(|a| a.name);
            module.imports.push(ModuleImport { alias, target });
        }
    }

    fn load_import(&mut self, importer: ModuleId, import: &ast::Import) -> Option<ModuleId> {
        let module = self.module(importer);
        let Some(dir) = module.dir.clone() else {
            let problem = Problem::ImportNotFound {
                path: import.path.clone(),
                reason: "only files on disk can import".into(),
            };
            self.report(importer, problem, import.path_span);
            return None;
        };
        let importer_name = self.sources.get(module.file).name.clone();
        let not_found = |reason: String| Problem::ImportNotFound {
            path: import.path.clone(),
            reason,
        };
        let canonical = match dir.join(&import.path).canonicalize() {
            Ok(path) if path.is_file() => path,
            Ok(_) => {
                self.report(
                    importer,
                    not_found("it is a folder".into()),
                    import.path_span,
                );
                return None;
            }
            Err(error) => {
                self.report(importer, not_found(error.to_string()), import.path_span);
                return None;
            }
        };
        if let Some(&existing) = self.by_path.get(&canonical) {
            if let Some(position) = self.loading.iter().position(|m| *m == existing) {
                let mut cycle: Vec<String> = self.loading[position..]
                    .iter()
                    .map(|m| self.sources.get(self.file_of(*m)).name.clone())
                    .collect();
                cycle.push(self.sources.get(self.file_of(existing)).name.clone());
                self.report(importer, Problem::ImportCycle { cycle }, import.path_span);
            }
            return Some(existing);
        }
        let text = match read_source_file(&canonical) {
            Ok(text) => text,
            Err(error) => {
                self.report(importer, not_found(error), import.path_span);
                return None;
            }
        };
        let display = Path::new(&importer_name).parent().map_or_else(
            || PathBuf::from(&import.path),
            |parent| parent.join(&import.path),
        );
        Some(self.add_module(display.display().to_string(), Some(canonical), text.into()))
    }

    /// Registers every top-level name of a module, reporting duplicates (E0203).
    fn build_symbol_table(&mut self, id: ModuleId) {
        let mut names: Vec<(String, Span, ItemRef)> = Vec::new();
        let mut ops: Vec<(String, Span, usize)> = Vec::new();
        let mut import_index = 0;
        for (index, item) in self.module(id).ast.items.iter().enumerate() {
            match &item.kind {
                ItemKind::Import(import) => {
                    if let Some(alias) = &import.alias {
                        names.push((alias.name.clone(), alias.span, ItemRef::Alias(import_index)));
                    }
                    import_index += 1;
                }
                ItemKind::Const(c) => {
                    names.push((c.name.name.clone(), c.name.span, ItemRef::Const(index)))
                }
                ItemKind::TypeDef(t) => {
                    names.push((t.name.name.clone(), t.name.span, ItemRef::Type(index)))
                }
                ItemKind::Edges(edges) => {
                    for (j, edge) in edges.iter().enumerate() {
                        names.push((
                            edge.name.name.clone(),
                            edge.name.span,
                            ItemRef::Edge(index, j),
                        ));
                    }
                }
                ItemKind::Policy(p) => {
                    names.push((p.name.name.clone(), p.name.span, ItemRef::Policy(index)))
                }
                ItemKind::Migration(m) => {
                    names.push((m.name.name.clone(), m.name.span, ItemRef::Migration(index)))
                }
                ItemKind::Workflow(w) => {
                    names.push((w.name.name.clone(), w.name.span, ItemRef::Workflow(index)))
                }
                ItemKind::ExternOp(op) => ops.push((op.path.name.clone(), op.path.span, index)),
            }
        }
        let file = self.file_of(id);
        let mut first_spans: HashMap<String, Span> = HashMap::new();
        for (name, span, item) in names {
            if let Some(first) = first_spans.get(&name) {
                let diagnostic = Diagnostic::new(
                    Problem::Duplicate {
                        name: name.clone(),
                        what: "name",
                    },
                    Location { file, span },
                )
                .with_related(Location { file, span: *first }, "first defined here");
                self.push(diagnostic);
                continue;
            }
            first_spans.insert(name.clone(), span);
            self.module_mut(id).items.insert(name, item);
        }
        let is_prelude = id == self.prelude;
        let mut first_op_spans: HashMap<String, Span> = HashMap::new();
        for (path, span, index) in ops {
            let in_prelude = !is_prelude && self.module(self.prelude).ops.contains_key(&path);
            if first_op_spans.contains_key(&path) || in_prelude {
                self.report(
                    id,
                    Problem::Duplicate {
                        name: path,
                        what: "op",
                    },
                    span,
                );
                continue;
            }
            first_op_spans.insert(path.clone(), span);
            self.module_mut(id).ops.insert(path, index);
        }
    }

    /// Checks every loaded module that has not been checked yet.
    pub fn check_all(&mut self) {
        for index in 0..self.modules.len() {
            self.check_module(ModuleId(index as u32));
        }
    }

    fn check_module(&mut self, id: ModuleId) {
        if self.module(id).output.checked {
            return;
        }
        self.module_mut(id).output.checked = true;
        let ast = self.module(id).ast.clone();
        for (index, item) in ast.items.iter().enumerate() {
            self.check_item(id, index, item);
        }
    }

    fn check_item(&mut self, id: ModuleId, index: usize, item: &ast::Item) {
        match &item.kind {
            ItemKind::Import(_) => {}
            ItemKind::Const(_) => {
                self.const_info(id, index);
            }
            ItemKind::TypeDef(_) => {
                self.alias_type(id, index);
            }
            ItemKind::Edges(edges) => {
                for edge in edges {
                    if let Some(ir) = self.check_edge(id, edge) {
                        self.module_mut(id).output.edges.push(ir);
                    }
                }
            }
            ItemKind::Policy(policy) => {
                if let Some(ir) = self.check_policy(id, policy) {
                    self.module_mut(id).output.policies.push(ir);
                }
            }
            ItemKind::Migration(migration) => {
                if let Some(ir) = self.check_migration(id, migration) {
                    self.module_mut(id).output.migrations.push(ir);
                }
            }
            ItemKind::ExternOp(_) => {
                if let Some(ir) = self.check_extern_op(id, index) {
                    self.module_mut(id).output.extern_ops.push(ir);
                }
            }
            ItemKind::Workflow(workflow) => {
                if let Some(ir) = self.check_workflow(id, workflow, item.doc.clone()) {
                    self.module_mut(id).output.workflows.push(ir);
                }
            }
        }
    }

    /// The modules a program is made of: the entry and everything it imports, in
    /// load order (not the prelude).
    pub fn closure(&self, entry: ModuleId) -> Vec<ModuleId> {
        let mut seen = vec![entry];
        let mut index = 0;
        while index < seen.len() {
            for import in &self.module(seen[index]).imports {
                if let Some(target) = import.target {
                    if !seen.contains(&target) {
                        seen.push(target);
                    }
                }
            }
            index += 1;
        }
        seen.sort();
        seen
    }
}
