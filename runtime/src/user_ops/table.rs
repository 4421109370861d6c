//! The user ops of one program, by path: built from its extern ops and the modules
//! `edgeflow compile` embedded, each module checked before its first call.

use super::code::UserCode;
use super::op::UserOp;
use crate::op::{Op, OpError};
use base64::Engine;
use edgeflow_compiler::ir::{ExternOp, Program};
use std::collections::HashMap;
use std::sync::Arc;

/// An extern op's declaration and its module's bytes.
#[derive(Clone)]
pub struct UserModule {
    pub declaration: ExternOp,
    pub module: Arc<[u8]>,
}

impl UserModule {
    /// The module of op `path` in `program`, when it declares one and carries it.
    pub fn of(program: &Program, path: &str) -> Result<Option<UserModule>, String> {
        let Some(declaration) = program.extern_ops.iter().find(|op| op.path == path) else {
            return Ok(None);
        };
        let Some(encoded) = program.wasm_modules.get(&declaration.wasm_path) else {
            return Err(format!(
                "the module `{}` of op `{path}` is not in the program (build it with `edgeflow compile`)",
                declaration.wasm_path
            ));
        };
        let module = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| {
                format!(
                    "the module `{}` is not valid base64: {e}",
                    declaration.wasm_path
                )
            })?;
        Ok(Some(UserModule {
            declaration: declaration.clone(),
            module: module.into(),
        }))
    }
}

/// Why a declared user op cannot run.
#[derive(Clone)]
enum Unusable {
    NoSandbox,
    Broken(String),
}

#[derive(Default)]
pub struct UserOps {
    /// The program's content hash: a worker fetches a module by it.
    bundle: String,
    ops: HashMap<String, Result<Arc<dyn Op>, Unusable>>,
}

impl UserOps {
    /// Every extern op of `program`, its module checked (and compiled) now rather than
    /// at its first call.
    pub fn of(program: &Program, code: Option<&Arc<dyn UserCode>>) -> UserOps {
        let ops = program
            .extern_ops
            .iter()
            .map(|op| {
                let usable = match UserModule::of(program, &op.path) {
                    Ok(Some(module)) => user_op(module, code),
                    Ok(None) => Err(Unusable::Broken("no module".into())),
                    Err(reason) => Err(Unusable::Broken(reason)),
                };
                (op.path.clone(), usable)
            })
            .collect();
        UserOps {
            bundle: program.hash.clone(),
            ops,
        }
    }

    /// The bundle to fetch op `path`'s module from, when `path` is a user op.
    pub fn bundle_of(&self, path: &str) -> Option<String> {
        self.ops.contains_key(path).then(|| self.bundle.clone())
    }

    /// Op `path` ready to call, when the program declares it.
    pub fn get(&self, path: &str) -> Option<Result<Arc<dyn Op>, OpError>> {
        let found = self.ops.get(path)?;
        Some(found.clone().map_err(|unusable| unusable.error(path)))
    }
}

impl Unusable {
    fn error(self, path: &str) -> OpError {
        match self {
            Unusable::NoSandbox => OpError::NotAvailable {
                op: path.to_string(),
                reason: "this runtime was built without the WebAssembly sandbox",
            },
            Unusable::Broken(reason) => OpError::Sandbox {
                op: path.to_string(),
                reason,
            },
        }
    }
}

/// A checked op over `module`, or why it cannot run here.
fn user_op(module: UserModule, code: Option<&Arc<dyn UserCode>>) -> Result<Arc<dyn Op>, Unusable> {
    let code = code.ok_or(Unusable::NoSandbox)?;
    let prepared = code
        .prepare(&module.module, &module.declaration.export)
        .map_err(Unusable::Broken)?;
    Ok(Arc::new(UserOp {
        declaration: module.declaration,
        module: prepared,
    }))
}

/// Op `path` of a fetched module (a placed step on a worker), ready to call.
pub fn fetched_user_op(
    module: UserModule,
    code: Option<&Arc<dyn UserCode>>,
) -> Result<Arc<dyn Op>, OpError> {
    let path = module.declaration.path.clone();
    user_op(module, code).map_err(|unusable| unusable.error(&path))
}
