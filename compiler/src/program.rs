//! Assembles the IR bundle of an entry file: the IR of every module it imports, in
//! load order, with a content hash over the canonical serialised bytes.

use crate::checker::Checker;
use crate::ir::{Program, IR_VERSION};
use crate::module::ModuleId;
use sha2::{Digest, Sha256};

impl Checker {
    /// The program of `entry`. Call after `check_all`, and only when it found no errors.
    pub fn program(&self, entry: ModuleId) -> Program {
        let mut program = Program {
            version: IR_VERSION,
            hash: String::new(),
            edges: Vec::new(),
            policies: Vec::new(),
            migrations: Vec::new(),
            extern_ops: Vec::new(),
            wasm_modules: Default::default(),
            workflows: Vec::new(),
        };
        for id in self.closure(entry) {
            let output = &self.module(id).output;
            program.edges.extend(output.edges.iter().cloned());
            program.policies.extend(output.policies.iter().cloned());
            program.migrations.extend(output.migrations.iter().cloned());
            program.extern_ops.extend(output.extern_ops.iter().cloned());
            program.workflows.extend(output.workflows.iter().cloned());
        }
        program.hash = content_hash(&mut program);
        program
    }
}

/// `sha256:<hex>` of the bundle's JSON with an empty hash field. The hash field is
/// emptied in place for the computation and restored, so the program is not copied.
pub fn content_hash(program: &mut Program) -> String {
    let recorded = std::mem::take(&mut program.hash);
    let bytes = serde_json::to_vec(&*program).unwrap_or_default();
    program.hash = recorded;
    let digest = Sha256::digest(&bytes);
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hex}")
}

/// The bundle's bytes: deterministic JSON.
pub fn to_bundle(program: &Program) -> Vec<u8> {
    serde_json::to_vec_pretty(program).unwrap_or_default()
}

/// Reads a bundle written by `to_bundle`, verifying its version and hash.
pub fn from_bundle(bytes: &[u8]) -> Result<Program, BundleError> {
    let mut program: Program =
        serde_json::from_slice(bytes).map_err(|e| BundleError::Malformed(e.to_string()))?;
    if program.version != IR_VERSION {
        return Err(BundleError::Version {
            found: program.version,
        });
    }
    let expected = content_hash(&mut program);
    if expected != program.hash {
        return Err(BundleError::Hash {
            recorded: program.hash,
            computed: expected,
        });
    }
    Ok(program)
}

#[derive(Debug, Clone, PartialEq)]
pub enum BundleError {
    Malformed(String),
    Version { found: u32 },
    Hash { recorded: String, computed: String },
}

impl std::fmt::Display for BundleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BundleError::Malformed(reason) => write!(f, "not an edgeflow bundle: {reason}"),
            BundleError::Version { found } => {
                write!(f, "bundle format version {found} is not supported (this build reads {IR_VERSION})")
            }
            BundleError::Hash { recorded, computed } => {
                write!(f, "bundle content does not match its hash (recorded {recorded}, computed {computed})")
            }
        }
    }
}

impl std::error::Error for BundleError {}
