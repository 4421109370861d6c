//! One engine per node: modules compiled once (keyed by content hash and export),
//! instantiated per call from a pooling allocator, each call bounded in time (epoch
//! deadline), memory (a limiter), stack and output.

use crate::core_abi::{self, CoreState};
use crate::error::WasmError;
use crate::inspect::{check_shape, Abi};
use crate::settings::SandboxSettings;
use crate::wasi_abi::{self, WasiState};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Module,
    PoolingAllocationConfig,
};

/// How often the engine's epoch advances: the granularity of time limits.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);
/// Modules kept compiled; past this the cache is emptied and refilled on demand.
const CACHED_MODULES_MAX: usize = 256;

/// Loaded modules by (content hash, export).
type ModuleCache = HashMap<([u8; 32], String), Arc<Loaded>>;

/// A module ready to instantiate.
pub enum Loaded {
    /// A core module and the export its op names.
    Core(InstancePre<CoreState>, String),
    Wasi(InstancePre<WasiState>),
}

/// One call of a user op.
pub struct Call<'a> {
    pub module: &'a [u8],
    pub export: &'a str,
    /// The op's arguments as a JSON object.
    pub input: &'a [u8],
    /// The step's `timeout`; the sandbox default when `None`.
    pub timeout: Option<Duration>,
}

/// What a call answered.
#[derive(Debug)]
pub struct Output {
    /// The output JSON's bytes (not yet parsed).
    pub bytes: Vec<u8>,
    /// What the module logged (core: `edgeflow.log`; WASI: stderr lines).
    pub log: Vec<String>,
}

pub struct Sandbox {
    engine: Engine,
    core_linker: Linker<CoreState>,
    wasi_linker: Linker<WasiState>,
    modules: Mutex<ModuleCache>,
    settings: SandboxSettings,
    ticking: Arc<AtomicBool>,
}

impl Sandbox {
    pub fn new(settings: SandboxSettings) -> Result<Sandbox, WasmError> {
        let load_error = |e: wasmtime::Error| WasmError::Load {
            reason: format!("{e:#}"),
        };
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(settings.instance_slots)
            .total_memories(settings.instance_slots)
            .total_tables(settings.instance_slots)
            .max_memories_per_module(1)
            .max_tables_per_module(1)
            .max_memory_size(settings.memory_limit_bytes as usize);
        let mut config = Config::new();
        config
            .epoch_interruption(true)
            .max_wasm_stack(settings.stack_bytes)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(load_error)?;
        let core_linker = core_abi::linker(&engine).map_err(load_error)?;
        let wasi_linker = wasi_abi::linker(&engine).map_err(load_error)?;
        let ticking = Arc::new(AtomicBool::new(true));
        let (ticker_engine, still_ticking) = (engine.clone(), ticking.clone());
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while still_ticking.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    ticker_engine.increment_epoch();
                }
            })
            .map_err(|e| WasmError::Load {
                reason: format!("cannot start the epoch thread: {e}"),
            })?;
        Ok(Sandbox {
            engine,
            core_linker,
            wasi_linker,
            modules: Mutex::new(HashMap::new()),
            settings,
            ticking,
        })
    }

    pub fn settings(&self) -> &SandboxSettings {
        &self.settings
    }

    /// The module compiled and linked, from the cache when it was loaded before.
    pub fn load(&self, module: &[u8], export: &str) -> Result<Arc<Loaded>, WasmError> {
        let key: ([u8; 32], String) = (Sha256::digest(module).into(), export.to_string());
        if let Some(loaded) = self.cached().get(&key) {
            return Ok(loaded.clone());
        }
        // Compiling validates the module; only its imports and exports are left to check.
        let abi = check_shape(module, export)?;
        let compiled = Module::new(&self.engine, module).map_err(|e| WasmError::Load {
            reason: format!("{e:#}"),
        })?;
        let link_error = |e: wasmtime::Error| WasmError::Load {
            reason: format!("{e:#}"),
        };
        let loaded = Arc::new(match abi {
            Abi::Core => Loaded::Core(
                self.core_linker
                    .instantiate_pre(&compiled)
                    .map_err(link_error)?,
                export.to_string(),
            ),
            Abi::Wasi => Loaded::Wasi(
                self.wasi_linker
                    .instantiate_pre(&compiled)
                    .map_err(link_error)?,
            ),
        });
        let mut cache = self.cached();
        if cache.len() >= CACHED_MODULES_MAX {
            cache.clear();
        }
        cache.insert(key, loaded.clone());
        Ok(loaded)
    }

    /// Loads the call's module (from the cache after the first time) and runs the call.
    pub fn call(&self, call: &Call<'_>) -> Result<Output, WasmError> {
        let loaded = self.load(call.module, call.export)?;
        self.run(&loaded, call.input, call.timeout)
    }

    /// Runs one call of a loaded module to completion on this thread (the runtime
    /// calls it from a blocking task).
    pub fn run(
        &self,
        loaded: &Loaded,
        input: &[u8],
        timeout: Option<Duration>,
    ) -> Result<Output, WasmError> {
        let timeout = timeout.unwrap_or(self.settings.default_timeout);
        let limits = CallLimits {
            timeout,
            epoch_ticks: timeout.as_nanos().div_ceil(EPOCH_TICK.as_nanos()) as u64 + 1,
            settings: &self.settings,
        };
        match loaded {
            Loaded::Core(pre, export) => core_abi::call(&self.engine, pre, export, input, &limits),
            Loaded::Wasi(pre) => wasi_abi::call(&self.engine, pre, input, &limits),
        }
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, ModuleCache> {
        // A panic while holding the lock cannot leave the map inconsistent.
        self.modules
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.ticking.store(false, Ordering::Relaxed);
    }
}

/// The bounds of one call.
pub struct CallLimits<'a> {
    pub timeout: Duration,
    pub epoch_ticks: u64,
    pub settings: &'a SandboxSettings,
}

impl CallLimits<'_> {
    /// What a failed call's error means, given whether memory growth was refused.
    pub fn classify(&self, error: wasmtime::Error, memory_refused: bool) -> WasmError {
        if let Some(trap) = error.downcast_ref::<wasmtime::Trap>() {
            return match trap {
                wasmtime::Trap::Interrupt => WasmError::TimeLimit {
                    limit: self.timeout,
                },
                wasmtime::Trap::StackOverflow => WasmError::StackOverflow,
                _ if memory_refused => self.memory_limit(),
                other => WasmError::Trap {
                    reason: other.to_string(),
                },
            };
        }
        if memory_refused {
            return self.memory_limit();
        }
        let reason = format!("{error:#}");
        if reason.contains("pooling allocator") || reason.contains("maximum concurrent") {
            return WasmError::Busy {
                slots: self.settings.instance_slots,
            };
        }
        WasmError::Trap { reason }
    }

    fn memory_limit(&self) -> WasmError {
        WasmError::MemoryLimit {
            limit_bytes: self.settings.memory_limit_bytes,
        }
    }
}
