//! The sandbox against modules written to misbehave: each limit fails the call with
//! its own error, and the sandbox keeps serving other calls afterwards.

use edgeflow_wasm::{inspect, Abi, Call, Sandbox, SandboxSettings, WasmError};
use std::time::Duration;

/// The memory and bump allocator the core modules below share.
const ALLOC: &str = include_str!("modules/bump_alloc.wat");

fn core_module(body: &str) -> Vec<u8> {
    let text = format!(
        "(module (import \"edgeflow\" \"log\" (func $log (param i32 i32))) {ALLOC} {body})"
    );
    wat::parse_str(text).expect("test module is valid WAT")
}

/// Answers its input unchanged, after logging "echoing".
fn echo() -> Vec<u8> {
    core_module(
        r#"(data (i32.const 0) "echoing")
           (func (export "run") (param $ptr i32) (param $len i32) (result i64)
             (call $log (i32.const 0) (i32.const 7))
             (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
                     (i64.extend_i32_u (local.get $len))))"#,
    )
}

fn with_run(body: &str) -> Vec<u8> {
    core_module(&format!(
        "(func (export \"run\") (param $ptr i32) (param $len i32) (result i64) {body})"
    ))
}

fn sandbox() -> Sandbox {
    Sandbox::new(SandboxSettings {
        default_timeout: Duration::from_millis(200),
        memory_limit_bytes: 4 << 20,
        ..SandboxSettings::default()
    })
    .expect("sandbox starts")
}

fn call(sandbox: &Sandbox, module: &[u8], export: &str, input: &str) -> Result<String, WasmError> {
    sandbox
        .call(&Call {
            module,
            export,
            input: input.as_bytes(),
            timeout: None,
        })
        .map(|output| String::from_utf8(output.bytes).expect("utf-8 output"))
}

#[test]
fn a_core_module_answers_its_output_and_its_log_lines() {
    let sandbox = sandbox();
    let output = sandbox
        .call(&Call {
            module: &echo(),
            export: "run",
            input: br#"{"items":["a","b"]}"#,
            timeout: None,
        })
        .expect("echo runs");
    assert_eq!(output.bytes, br#"{"items":["a","b"]}"#);
    assert_eq!(output.log, vec!["echoing".to_string()]);
}

#[test]
fn each_limit_fails_its_call_with_its_own_error_and_the_sandbox_keeps_serving() {
    let sandbox = sandbox();
    let endless = with_run("(loop $forever (br $forever)) (i64.const 0)");
    assert_eq!(
        call(&sandbox, &endless, "run", "{}"),
        Err(WasmError::TimeLimit {
            limit: Duration::from_millis(200)
        })
    );
    let hog = with_run(
        "(loop $more (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable",
    );
    assert_eq!(
        call(&sandbox, &hog, "run", "{}"),
        Err(WasmError::MemoryLimit {
            limit_bytes: 4 << 20
        })
    );
    let deep = core_module(
        r#"(func $down (param i32) (result i64) (call $down (i32.add (local.get 0) (i32.const 1))))
           (func (export "run") (param $ptr i32) (param $len i32) (result i64) (call $down (i32.const 0)))"#,
    );
    assert_eq!(
        call(&sandbox, &deep, "run", "{}"),
        Err(WasmError::StackOverflow)
    );
    let trapping = with_run("unreachable");
    assert!(matches!(
        call(&sandbox, &trapping, "run", "{}"),
        Err(WasmError::Trap { .. })
    ));
    // None of it harmed the sandbox.
    assert_eq!(call(&sandbox, &echo(), "run", "[1]"), Ok("[1]".to_string()));
}

#[test]
fn a_step_timeout_overrides_the_default_time_limit() {
    let sandbox = sandbox();
    let endless = with_run("(loop $forever (br $forever)) (i64.const 0)");
    let answer = sandbox.call(&Call {
        module: &endless,
        export: "run",
        input: b"{}",
        timeout: Some(Duration::from_millis(50)),
    });
    assert_eq!(
        answer.map(|o| o.bytes),
        Err(WasmError::TimeLimit {
            limit: Duration::from_millis(50)
        })
    );
}

#[test]
fn pointers_outside_memory_are_refused_not_followed() {
    let sandbox = sandbox();
    let garbage_alloc = wat::parse_str(
        r#"(module (memory (export "memory") 1)
             (func (export "alloc") (param i32) (result i32) (i32.const 0x7ffffff0))
             (func (export "run") (param i32 i32) (result i64) (i64.const 0)))"#,
    )
    .expect("valid WAT");
    assert!(matches!(
        call(&sandbox, &garbage_alloc, "run", "{}"),
        Err(WasmError::BadInputPointer {
            pointer: 0x7ffffff0,
            ..
        })
    ));
    let garbage_output = with_run("(i64.const 0x7ffffff000000064)");
    assert!(matches!(
        call(&sandbox, &garbage_output, "run", "{}"),
        Err(WasmError::BadOutputPointer {
            pointer: 0x7ffffff0,
            len: 100,
            ..
        })
    ));
}

#[test]
fn imports_beyond_the_log_function_are_refused_when_loading() {
    let sneaky = wat::parse_str(format!(
        r#"(module (import "env" "open_socket" (func (param i32) (result i32))) {ALLOC}
             (func (export "run") (param i32 i32) (result i64) (i64.const 0)))"#
    ))
    .expect("valid WAT");
    let refused = WasmError::ForbiddenImport {
        module: "env".into(),
        name: "open_socket".into(),
    };
    assert_eq!(inspect(&sneaky, "run"), Err(refused.clone()));
    assert_eq!(call(&sandbox(), &sneaky, "run", "{}"), Err(refused));
    // A core module may not reach for WASI either.
    let wasi_in_core = wat::parse_str(format!(
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))) {ALLOC}
             (func (export "run") (param i32 i32) (result i64) (i64.const 0)))"#
    ))
    .expect("valid WAT");
    assert!(matches!(
        inspect(&wasi_in_core, "run"),
        Err(WasmError::ForbiddenImport { .. })
    ));
    assert_eq!(inspect(&echo(), "run"), Ok(Abi::Core));
    assert!(matches!(
        inspect(&echo(), "main"),
        Err(WasmError::MissingExport { .. })
    ));
    assert!(matches!(
        inspect(b"not wasm", "run"),
        Err(WasmError::Invalid { .. })
    ));
}

/// A WASI command that copies stdin to stdout (up to 64 KiB).
fn wasi_echo(exit_status: Option<i32>) -> Vec<u8> {
    let exit = match exit_status {
        Some(status) => format!("(call $exit (i32.const {status}))"),
        None => String::new(),
    };
    wat::parse_str(format!(
        r#"(module
          (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 2)
          (data (i32.const 100) "said on stderr\n")
          (func (export "_start")
            (i32.store (i32.const 0) (i32.const 1024))
            (i32.store (i32.const 4) (i32.const 65536))
            (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
            (i32.store (i32.const 4) (i32.load (i32.const 8)))
            (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))
            (i32.store (i32.const 16) (i32.const 100))
            (i32.store (i32.const 20) (i32.const 15))
            (drop (call $write (i32.const 2) (i32.const 16) (i32.const 1) (i32.const 12)))
            {exit}))"#
    ))
    .expect("valid WAT")
}

#[test]
fn a_wasi_command_reads_stdin_and_answers_on_stdout() {
    let sandbox = sandbox();
    let output = sandbox
        .call(&Call {
            module: &wasi_echo(None),
            export: "_start",
            input: br#"{"n":1}"#,
            timeout: None,
        })
        .expect("WASI echo runs");
    assert_eq!(output.bytes, br#"{"n":1}"#);
    assert_eq!(output.log, vec!["said on stderr".to_string()]);
    assert_eq!(inspect(&wasi_echo(None), "_start"), Ok(Abi::Wasi));
    assert_eq!(
        call(&sandbox, &wasi_echo(Some(0)), "_start", "{}"),
        Ok("{}".into())
    );
    assert_eq!(
        call(&sandbox, &wasi_echo(Some(3)), "_start", "{}"),
        Err(WasmError::Exit {
            status: 3,
            stderr: "said on stderr".into()
        })
    );
}
