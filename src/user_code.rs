//! The WebAssembly sandbox (`edgeflow-wasm`) as the runtime's `UserCode`: a module is
//! loaded once per op and called through its handle; calls run on blocking threads, at most as many at once as the sandbox has instance slots. The
//! sandbox (its instance pool and epoch thread) starts with the first module a node
//! loads, so a node that never runs user code pays nothing for it.

use edgeflow_runtime::config::WasmConfig;
use edgeflow_runtime::user_ops::{PreparedModule, UserCode, UserOutput};
use edgeflow_wasm::{Loaded, Sandbox, SandboxSettings};
use futures::future::BoxFuture;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

pub struct WasmCode {
    settings: SandboxSettings,
    sandbox: OnceLock<Result<Arc<Sandbox>, String>>,
    slots: Arc<Semaphore>,
}

impl WasmCode {
    /// The sandbox with the limits of a node's `[wasm]` table.
    pub fn start(config: &WasmConfig) -> Arc<dyn UserCode> {
        let settings = SandboxSettings {
            default_timeout: Duration::from_millis(config.timeout_ms),
            memory_limit_bytes: config.memory,
            ..SandboxSettings::default()
        };
        let slots = Arc::new(Semaphore::new(settings.instance_slots as usize));
        Arc::new(WasmCode {
            settings,
            sandbox: OnceLock::new(),
            slots,
        })
    }

    fn sandbox(&self) -> Result<Arc<Sandbox>, String> {
        self.sandbox
            .get_or_init(|| {
                Sandbox::new(self.settings.clone())
                    .map(Arc::new)
                    .map_err(|e| format!("the WebAssembly sandbox cannot start: {e}"))
            })
            .clone()
    }
}

impl UserCode for WasmCode {
    fn prepare(&self, module: &[u8], export: &str) -> Result<Arc<dyn PreparedModule>, String> {
        let sandbox = self.sandbox()?;
        let loaded = sandbox.load(module, export).map_err(|e| e.to_string())?;
        Ok(Arc::new(WasmModule {
            sandbox,
            loaded,
            slots: self.slots.clone(),
        }))
    }
}

/// A module loaded in the sandbox, with the node's instance slots.
struct WasmModule {
    sandbox: Arc<Sandbox>,
    loaded: Arc<Loaded>,
    slots: Arc<Semaphore>,
}

impl PreparedModule for WasmModule {
    fn call(
        &self,
        input: Vec<u8>,
        timeout: Option<Duration>,
    ) -> BoxFuture<'static, Result<UserOutput, String>> {
        let (sandbox, loaded, slots) = (
            self.sandbox.clone(),
            self.loaded.clone(),
            self.slots.clone(),
        );
        Box::pin(async move {
            let _slot = slots
                .acquire_owned()
                .await
                .map_err(|_| "the sandbox is shutting down".to_string())?;
            let ran = tokio::task::spawn_blocking(move || sandbox.run(&loaded, &input, timeout))
                .await
                .map_err(|e| format!("the sandbox's thread failed: {e}"))?;
            ran.map(|output| UserOutput {
                bytes: output.bytes,
                log: output.log,
            })
            .map_err(|e| e.to_string())
        })
    }
}
