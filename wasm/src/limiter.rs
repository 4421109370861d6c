//! Caps an instance's memory and tables, and remembers a refusal: a module that
//! traps after its `memory.grow` failed is reported as over its memory limit, not as
//! an anonymous trap.

use wasmtime::ResourceLimiter;

/// Table elements an instance may have.
const TABLE_ELEMENTS_MAX: usize = 100_000;

pub struct MemoryLimiter {
    limit_bytes: u64,
    pub refused: bool,
}

impl MemoryLimiter {
    pub fn new(limit_bytes: u64) -> MemoryLimiter {
        MemoryLimiter {
            limit_bytes,
            refused: false,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired as u64 <= self.limit_bytes;
        self.refused |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= TABLE_ELEMENTS_MAX)
    }
}
