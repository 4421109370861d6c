//! One extern op backed by a module: encodes the arguments, calls the engine, and
//! accepts the output only when it fits the declared result type.

use super::code::PreparedModule;
use crate::op::{Args, Op, OpContext, OpError};
use edgeflow_compiler::conform::conform;
use edgeflow_compiler::ir::ExternOp;
use edgeflow_compiler::value::Value;
use futures::future::BoxFuture;
use std::sync::Arc;

pub struct UserOp {
    pub declaration: ExternOp,
    pub module: Arc<dyn PreparedModule>,
}

impl UserOp {
    fn input(args: &Args) -> Result<Vec<u8>, OpError> {
        let object: serde_json::Map<String, serde_json::Value> = args
            .0
            .iter()
            .map(|(name, value)| (name.clone(), value.to_json()))
            .collect();
        serde_json::to_vec(&object).map_err(|e| OpError::Failed(e.to_string()))
    }

    /// The output as a value of the declared type, or what is wrong with it.
    fn output(&self, bytes: &[u8]) -> Result<Value, OpError> {
        let op = &self.declaration.path;
        let json: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| OpError::Shape {
                op: op.clone(),
                problem: format!(
                    "the output is not JSON ({e}); it begins {:?}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(60)])
                ),
            })?;
        conform(&json, &self.declaration.result).map_err(|problem| OpError::Shape {
            op: op.clone(),
            problem,
        })
    }
}

impl Op for UserOp {
    fn call<'a>(
        &'a self,
        context: &'a OpContext,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<Value, OpError>> {
        Box::pin(async move {
            let output = self
                .module
                .call(Self::input(args)?, context.timeout)
                .await
                .map_err(|reason| OpError::Sandbox {
                    op: self.declaration.path.clone(),
                    reason,
                })?;
            for line in &output.log {
                tracing::info!(op = %self.declaration.path, "{line}");
            }
            self.output(&output.bytes)
        })
    }
}
