//! The core ABI: the host writes the input JSON at `alloc(len)`, calls the export
//! with (ptr, len), and reads the output at `result >> 32`, `result & 0xffffffff`.
//! The only import offered is `edgeflow.log(ptr, len)`.

use crate::error::WasmError;
use crate::inspect::{LOG_FUNCTION, LOG_MODULE};
use crate::limiter::MemoryLimiter;
use crate::log_lines::LogLines;
use crate::sandbox::{CallLimits, Output};
use wasmtime::{Caller, Engine, Extern, InstancePre, Linker, Store};

/// A core instance's host state.
pub struct CoreState {
    limiter: MemoryLimiter,
    log: LogLines,
}

pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<CoreState>> {
    let mut linker = Linker::new(engine);
    linker.func_wrap(
        LOG_MODULE,
        LOG_FUNCTION,
        |mut caller: Caller<'_, CoreState>, pointer: i32, len: i32| -> wasmtime::Result<()> {
            let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
                return Err(wasmtime::Error::msg(
                    "edgeflow.log: the module has no memory",
                ));
            };
            let (data, state) = memory.data_and_store_mut(&mut caller);
            let (start, len) = (pointer as u32 as usize, len as u32 as usize);
            let Some(line) = start.checked_add(len).and_then(|end| data.get(start..end)) else {
                return Err(wasmtime::Error::msg(format!(
                    "edgeflow.log: {len} bytes at {start} lie outside the module's memory"
                )));
            };
            state.log.push(line);
            Ok(())
        },
    )?;
    Ok(linker)
}

pub fn call(
    engine: &Engine,
    pre: &InstancePre<CoreState>,
    export: &str,
    input: &[u8],
    limits: &CallLimits<'_>,
) -> Result<Output, WasmError> {
    let state = CoreState {
        limiter: MemoryLimiter::new(limits.settings.memory_limit_bytes),
        log: LogLines::default(),
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    store.set_epoch_deadline(limits.epoch_ticks);
    let failed = |store: &Store<CoreState>, error: wasmtime::Error| {
        limits.classify(error, store.data().limiter.refused)
    };
    let instance = pre.instantiate(&mut store).map_err(|e| failed(&store, e))?;
    let memory = instance
        .get_memory(&mut store, "memory")
        .ok_or(WasmError::MissingExport {
            name: "memory".into(),
            expected: "a memory",
        })?;
    let alloc = instance
        .get_typed_func::<i32, i32>(&mut store, "alloc")
        .map_err(|_| WasmError::MissingExport {
            name: "alloc".into(),
            expected: "a function (len: i32) -> i32",
        })?;
    let run = instance
        .get_typed_func::<(i32, i32), i64>(&mut store, export)
        .map_err(|_| WasmError::MissingExport {
            name: export.to_string(),
            expected: "a function (ptr: i32, len: i32) -> i64",
        })?;
    let len = u32::try_from(input.len())
        .ok()
        .filter(|len| *len <= i32::MAX as u32)
        .ok_or(WasmError::OutputTooLarge {
            limit_bytes: i32::MAX as u64,
        })?;
    let pointer = alloc
        .call(&mut store, len as i32)
        .map_err(|e| failed(&store, e))? as u32;
    memory
        .write(&mut store, pointer as usize, input)
        .map_err(|_| WasmError::BadInputPointer {
            pointer,
            len,
            memory_bytes: memory.data_size(&store) as u64,
        })?;
    let answer = run
        .call(&mut store, (pointer as i32, len as i32))
        .map_err(|e| failed(&store, e))? as u64;
    let (out_pointer, out_len) = ((answer >> 32) as u32, answer as u32);
    if out_len as u64 > limits.settings.output_limit_bytes {
        return Err(WasmError::OutputTooLarge {
            limit_bytes: limits.settings.output_limit_bytes,
        });
    }
    let data = memory.data(&store);
    let bytes = (out_pointer as usize)
        .checked_add(out_len as usize)
        .and_then(|end| data.get(out_pointer as usize..end))
        .ok_or(WasmError::BadOutputPointer {
            pointer: out_pointer,
            len: out_len,
            memory_bytes: data.len() as u64,
        })?
        .to_vec();
    Ok(Output {
        bytes,
        log: store.into_data().log.into_lines(),
    })
}
