//! `time.sleep`: waits without holding anything else up (other ready steps run).

use crate::op_fn::{OpFn, OpFuture};
use crate::result::success;
use edgeflow_runtime::op::{Args, OpContext, OpError, Registry};
use std::time::Duration;

pub fn register(registry: &mut Registry) {
    registry.register("time.sleep", OpFn(sleep));
}

fn sleep<'a>(_context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
    Box::pin(async move {
        let nanos = args.duration("duration")?;
        let nanos = u64::try_from(nanos).map_err(|_| OpError::BadArgument {
            name: "duration".into(),
            expected: "0s or more",
        })?;
        tokio::time::sleep(Duration::from_nanos(nanos)).await;
        Ok(success(true))
    })
}
