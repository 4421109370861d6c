  ;; The core ABI's memory and a bump allocator from 1024 upwards, spliced into the
  ;; test modules of wasm/tests/sandbox.rs and tests/wasm.rs.
  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 1024))
  (func (export "alloc") (param $len i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $len)))
    (local.get $at))
