//! The sandbox's costs per call (docs/wasm.md; BENCHMARKS.md): a warm call of a small
//! core-ABI op with its JSON in and out, the same through the WASI ABI, and the first
//! call of a module never seen (inspection and compilation included).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use edgeflow_wasm::{Call, Sandbox, SandboxSettings};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};

/// Answers its input unchanged; `salt` makes each module's bytes (and hash) unique.
fn echo(salt: u64) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
          (memory (export "memory") 1)
          (global $next (mut i32) (i32.const 1024))
          (data (i32.const 0) "{salt}")
          (func (export "alloc") (param $len i32) (result i32)
            (local $at i32)
            (local.set $at (global.get $next))
            (global.set $next (i32.add (global.get $next) (local.get $len)))
            (local.get $at))
          (func (export "run") (param $ptr i32) (param $len i32) (result i64)
            (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
                    (i64.extend_i32_u (local.get $len)))))"#
    ))
    .expect("valid WAT")
}

fn wasi_echo() -> Vec<u8> {
    wat::parse_str(
        r#"(module
          (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 2)
          (func (export "_start")
            (i32.store (i32.const 0) (i32.const 1024))
            (i32.store (i32.const 4) (i32.const 65536))
            (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
            (i32.store (i32.const 4) (i32.load (i32.const 8)))
            (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))))"#,
    )
    .expect("valid WAT")
}

fn small_input() -> serde_json::Value {
    json!({"items": ["sensor-1", "sensor-2", "sensor-1", "sensor-3"], "case_sensitive": true})
}

fn call_with_json(sandbox: &Sandbox, module: &[u8], export: &str) -> serde_json::Value {
    let input = serde_json::to_vec(&small_input()).expect("JSON");
    let output = sandbox
        .call(&Call {
            module,
            export,
            input: &input,
            timeout: None,
        })
        .expect("call succeeds");
    serde_json::from_slice(&output.bytes).expect("JSON output")
}

fn sandbox_calls(c: &mut Criterion) {
    let sandbox = Sandbox::new(SandboxSettings::default()).expect("sandbox");
    let core = echo(0);
    let wasi = wasi_echo();
    c.bench_function("wasm/core_call_small_json", |b| {
        b.iter(|| call_with_json(&sandbox, &core, "run"))
    });
    c.bench_function("wasm/wasi_call_small_json", |b| {
        b.iter(|| call_with_json(&sandbox, &wasi, "_start"))
    });
    let salt = AtomicU64::new(1);
    c.bench_function("wasm/first_call_new_module", |b| {
        b.iter_batched(
            || echo(salt.fetch_add(1, Ordering::Relaxed)),
            |module| call_with_json(&sandbox, &module, "run"),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, sandbox_calls);
criterion_main!(benches);
