//! Fuzzes the whole front end: any bytes that are UTF-8 go through the parser, the
//! checker and (when there are no errors) lowering and the readable IR. Nothing may
//! panic, overflow the stack or hang.

#![no_main]

use edgeflow_compiler::Checker;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    let mut checker = Checker::new();
    let entry = checker.load_source("fuzz.edgeflow", source);
    checker.check_all();
    if checker.error_count() == 0 {
        let program = checker.program(entry);
        let _ = edgeflow_compiler::ir_text::ir_text(&program);
    }
    let _ = edgeflow_compiler::report::render_json(&checker.diagnostics, &checker.sources, 1);
});
