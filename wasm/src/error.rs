//! Why a user op's module could not be loaded or its call did not produce an output:
//! data, so the runtime can name the op and the limit in the step's error.

use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum WasmError {
    /// Not a WebAssembly module, or an invalid one.
    Invalid { reason: String },
    /// The module imports something the sandbox does not offer.
    ForbiddenImport { module: String, name: String },
    /// An export the ABI needs is missing or has the wrong type.
    MissingExport {
        name: String,
        expected: &'static str,
    },
    /// Compiling or linking failed in the engine.
    Load { reason: String },
    /// The call ran past its time limit.
    TimeLimit { limit: Duration },
    /// The module asked for more memory than an instance may have.
    MemoryLimit { limit_bytes: u64 },
    /// The call nested deeper than the stack allows.
    StackOverflow,
    /// The module trapped (`unreachable`, a bad memory access, a division by zero...).
    Trap { reason: String },
    /// A WASI module exited with a non-zero status.
    Exit { status: i32, stderr: String },
    /// `alloc` answered a pointer outside the module's memory.
    BadInputPointer {
        pointer: u32,
        len: u32,
        memory_bytes: u64,
    },
    /// The answered output lies outside the module's memory.
    BadOutputPointer {
        pointer: u32,
        len: u32,
        memory_bytes: u64,
    },
    /// The output is larger than the sandbox accepts.
    OutputTooLarge { limit_bytes: u64 },
    /// Every instance slot is in use.
    Busy { slots: u32 },
}

impl fmt::Display for WasmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WasmError::Invalid { reason } => write!(f, "not a valid WebAssembly module: {reason}"),
            WasmError::ForbiddenImport { module, name } => write!(
                f,
                "the module imports `{module}.{name}`, which the sandbox does not offer (core modules may import only `edgeflow.log`; WASI modules `wasi_snapshot_preview1`)"
            ),
            WasmError::MissingExport { name, expected } => {
                write!(f, "the module does not export `{name}` as {expected}")
            }
            WasmError::Load { reason } => write!(f, "the module cannot be loaded: {reason}"),
            WasmError::TimeLimit { limit } => {
                write!(f, "ran past its time limit of {}", human_duration(*limit))
            }
            WasmError::MemoryLimit { limit_bytes } => write!(
                f,
                "asked for more than its memory limit of {}",
                human_size(*limit_bytes)
            ),
            WasmError::StackOverflow => f.write_str("overflowed its stack (recursion too deep)"),
            WasmError::Trap { reason } => write!(f, "trapped: {reason}"),
            WasmError::Exit { status, stderr } if stderr.is_empty() => {
                write!(f, "exited with status {status}")
            }
            WasmError::Exit { status, stderr } => {
                write!(f, "exited with status {status}: {stderr}")
            }
            WasmError::BadInputPointer {
                pointer,
                len,
                memory_bytes,
            } => write!(
                f,
                "`alloc({len})` answered {pointer}, outside the module's {memory_bytes} bytes of memory"
            ),
            WasmError::BadOutputPointer {
                pointer,
                len,
                memory_bytes,
            } => write!(
                f,
                "its output ({len} bytes at {pointer}) lies outside the module's {memory_bytes} bytes of memory"
            ),
            WasmError::OutputTooLarge { limit_bytes } => write!(
                f,
                "its output is larger than the {} the sandbox accepts",
                human_size(*limit_bytes)
            ),
            WasmError::Busy { slots } => write!(
                f,
                "all {slots} sandbox instance slots on this node are in use; try again"
            ),
        }
    }
}

impl std::error::Error for WasmError {}

fn human_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

fn human_size(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    if bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}
