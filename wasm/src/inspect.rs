//! What a module imports and exports, read without compiling it: `edgeflow compile`
//! refuses a module the sandbox would refuse, and the sandbox checks again on load
//! (a bundle may come from anywhere).

use crate::error::WasmError;
use wasmparser::{ExternalKind, Parser, Payload, TypeRef, Validator};

/// The export named `_start` makes a module a WASI command; anything else names a
/// core-ABI function.
pub const WASI_START: &str = "_start";
/// The one host import a core module may use.
pub const LOG_MODULE: &str = "edgeflow";
pub const LOG_FUNCTION: &str = "log";
/// The WASI snapshot a WASI module may import from.
pub const WASI_MODULE: &str = "wasi_snapshot_preview1";

/// How the host talks to a module (docs/wasm.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abi {
    /// `alloc(len) -> ptr`, the export `(ptr, len) -> (ptr << 32 | len)`.
    Core,
    /// `_start` reads the input on stdin and writes the output on stdout.
    Wasi,
}

impl Abi {
    pub fn of_export(export: &str) -> Abi {
        if export == WASI_START {
            Abi::Wasi
        } else {
            Abi::Core
        }
    }
}

/// Checks that `bytes` is a valid module the sandbox can run through `export`.
pub fn inspect(bytes: &[u8], export: &str) -> Result<Abi, WasmError> {
    Validator::new()
        .validate_all(bytes)
        .map_err(|e| WasmError::Invalid {
            reason: e.to_string(),
        })?;
    check_shape(bytes, export)
}

/// Checks only what the module imports and exports (the engine validates the rest when
/// it compiles the module).
pub(crate) fn check_shape(bytes: &[u8], export: &str) -> Result<Abi, WasmError> {
    let abi = Abi::of_export(export);
    let mut exports: Vec<(String, ExternalKind)> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| WasmError::Invalid {
            reason: e.to_string(),
        })?;
        match payload {
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    let import = import.map_err(|e| WasmError::Invalid {
                        reason: e.to_string(),
                    })?;
                    let allowed = match (abi, import.module, import.ty) {
                        (_, LOG_MODULE, TypeRef::Func(_)) => import.name == LOG_FUNCTION,
                        (Abi::Wasi, WASI_MODULE, TypeRef::Func(_)) => true,
                        _ => false,
                    };
                    if !allowed {
                        return Err(WasmError::ForbiddenImport {
                            module: import.module.to_string(),
                            name: import.name.to_string(),
                        });
                    }
                }
            }
            Payload::ExportSection(section) => {
                for item in section {
                    let item = item.map_err(|e| WasmError::Invalid {
                        reason: e.to_string(),
                    })?;
                    exports.push((item.name.to_string(), item.kind));
                }
            }
            _ => {}
        }
    }
    let has = |name: &str, kind: ExternalKind| exports.iter().any(|(n, k)| n == name && *k == kind);
    let required: &[(&str, ExternalKind, &'static str)] = match abi {
        Abi::Core => &[
            ("memory", ExternalKind::Memory, "a memory"),
            ("alloc", ExternalKind::Func, "a function (len: i32) -> i32"),
        ],
        Abi::Wasi => &[("memory", ExternalKind::Memory, "a memory")],
    };
    for (name, kind, expected) in required {
        if !has(name, *kind) {
            return Err(WasmError::MissingExport {
                name: name.to_string(),
                expected,
            });
        }
    }
    if !has(export, ExternalKind::Func) {
        return Err(WasmError::MissingExport {
            name: export.to_string(),
            expected: match abi {
                Abi::Core => "a function (ptr: i32, len: i32) -> i64",
                Abi::Wasi => "a function () -> ()",
            },
        });
    }
    Ok(abi)
}
