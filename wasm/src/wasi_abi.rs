//! The WASI ABI, for modules built for `wasm32-wasip1` by any toolchain: `_start`
//! reads the input JSON on stdin and writes the output on stdout; stderr lines become
//! log lines. No files, sockets, environment or arguments; the wall clock is frozen
//! at the Unix epoch (a monotonic clock is offered).

use crate::error::WasmError;
use crate::inspect::WASI_START;
use crate::limiter::MemoryLimiter;
use crate::log_lines::LogLines;
use crate::sandbox::{CallLimits, Output};
use std::time::Duration;
use wasmtime::{Engine, InstancePre, Linker, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{HostWallClock, I32Exit, WasiCtxBuilder};

/// Bytes of stderr kept per call.
const STDERR_BYTES_MAX: usize = 64 << 10;

/// A WASI instance's host state.
pub struct WasiState {
    wasi: WasiP1Ctx,
    limiter: MemoryLimiter,
}

pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<WasiState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut WasiState| &mut state.wasi)?;
    Ok(linker)
}

/// A wall clock that always reads the Unix epoch: a user op cannot tell the time.
struct FrozenWallClock;

impl HostWallClock for FrozenWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

pub fn call(
    engine: &Engine,
    pre: &InstancePre<WasiState>,
    input: &[u8],
    limits: &CallLimits<'_>,
) -> Result<Output, WasmError> {
    let output_limit = limits.settings.output_limit_bytes as usize;
    let stdout = MemoryOutputPipe::new(output_limit);
    let stderr = MemoryOutputPipe::new(STDERR_BYTES_MAX);
    let wasi = WasiCtxBuilder::new()
        .stdin(MemoryInputPipe::new(input.to_vec()))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .wall_clock(FrozenWallClock)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build_p1();
    let state = WasiState {
        wasi,
        limiter: MemoryLimiter::new(limits.settings.memory_limit_bytes),
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    store.set_epoch_deadline(limits.epoch_ticks);
    let failed = |store: &Store<WasiState>, error: wasmtime::Error| {
        limits.classify(error, store.data().limiter.refused)
    };
    let instance = pre.instantiate(&mut store).map_err(|e| failed(&store, e))?;
    let start = instance
        .get_typed_func::<(), ()>(&mut store, WASI_START)
        .map_err(|_| WasmError::MissingExport {
            name: WASI_START.into(),
            expected: "a function () -> ()",
        })?;
    let mut log = LogLines::default();
    let outcome = start.call(&mut store, ());
    log.push_text(&stderr.contents());
    match outcome {
        Ok(()) => {}
        Err(error) => match error.downcast_ref::<I32Exit>() {
            Some(I32Exit(0)) => {}
            Some(I32Exit(status)) => {
                let lines = log.into_lines();
                return Err(WasmError::Exit {
                    status: *status,
                    stderr: lines.last().cloned().unwrap_or_default(),
                });
            }
            None => return Err(failed(&store, error)),
        },
    }
    let bytes = stdout.contents();
    if bytes.len() >= output_limit {
        return Err(WasmError::OutputTooLarge {
            limit_bytes: output_limit as u64,
        });
    }
    Ok(Output {
        bytes: bytes.to_vec(),
        log: log.into_lines(),
    })
}
