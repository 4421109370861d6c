//! Ops written as plain functions: `OpFn(state_get)` implements `Op` for a function
//! that takes the context and arguments and returns a boxed future.

use edgeflow_compiler::value::Value;
use edgeflow_runtime::op::{Args, Op, OpContext, OpError};
use futures::future::BoxFuture;

pub type OpFuture<'a> = BoxFuture<'a, Result<Value, OpError>>;

pub struct OpFn(pub for<'a> fn(&'a OpContext, &'a Args) -> OpFuture<'a>);

impl Op for OpFn {
    fn call<'a>(&'a self, context: &'a OpContext, args: &'a Args) -> OpFuture<'a> {
        (self.0)(context, args)
    }
}
