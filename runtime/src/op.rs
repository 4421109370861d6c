//! The contract between the executor and the standard library (DESIGN.md §2): an op is
//! called with its evaluated arguments and a context (the host it may ask of the
//! cluster, and which run, step and attempt is calling), and answers a value or an
//! error. The binary hands the stdlib's registry to the executor.

use crate::node::NodeError;
use crate::op_host::OpHost;
use crate::user_ops::{fetched_user_op, UserCode};
use edgeflow_compiler::value::Value;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// Who is calling: enough to make every state change idempotent per
/// (run, step, attempt).
pub struct OpContext {
    pub host: Arc<dyn OpHost>,
    /// The op being called (its prelude path).
    pub op: String,
    pub run_id: String,
    pub step: String,
    pub attempt: u32,
    /// The rate-limit policies of the run's program, for `ratelimit.*`.
    pub policies: Arc<Vec<edgeflow_compiler::ir::Policy>>,
    /// The migrations of the run's program, for `migrate.start`.
    pub migrations: Arc<Vec<edgeflow_compiler::ir::Migration>>,
    /// The step's `timeout`, which also bounds a user op's CPU time in its sandbox.
    pub timeout: Option<std::time::Duration>,
}

impl OpContext {
    /// The key that makes this attempt's state change exactly-once across replays.
    pub fn idempotency_key(&self) -> String {
        format!("{}/{}/{}", self.run_id, self.step, self.attempt)
    }
}

/// An op's arguments by name, in the op's declaration order, defaults filled in.
pub struct Args(pub Vec<(String, Value)>);

impl Args {
    pub fn get(&self, name: &str) -> Result<&Value, OpError> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| OpError::BadArgument {
                name: name.to_string(),
                expected: "a value",
            })
    }

    pub fn string(&self, name: &str) -> Result<&str, OpError> {
        match self.get(name)? {
            Value::String(s) => Ok(s),
            _ => Err(OpError::BadArgument {
                name: name.to_string(),
                expected: "a string",
            }),
        }
    }

    pub fn int(&self, name: &str) -> Result<i64, OpError> {
        match self.get(name)? {
            Value::Int(i) => Ok(*i),
            _ => Err(OpError::BadArgument {
                name: name.to_string(),
                expected: "an int",
            }),
        }
    }

    pub fn optional_int(&self, name: &str) -> Result<Option<i64>, OpError> {
        match self.get(name)? {
            Value::None => Ok(None),
            Value::Int(i) => Ok(Some(*i)),
            _ => Err(OpError::BadArgument {
                name: name.to_string(),
                expected: "an int or none",
            }),
        }
    }

    /// A duration in nanoseconds.
    pub fn duration(&self, name: &str) -> Result<i64, OpError> {
        match self.get(name)? {
            Value::Duration(nanos) => Ok(*nanos),
            _ => Err(OpError::BadArgument {
                name: name.to_string(),
                expected: "a duration",
            }),
        }
    }

    /// Any value, in its JSON encoding.
    pub fn json(&self, name: &str) -> Result<serde_json::Value, OpError> {
        Ok(self.get(name)?.to_json())
    }
}

#[derive(Debug)]
pub enum OpError {
    /// The op is declared in the prelude but this runtime does not provide it yet.
    NotAvailable {
        op: String,
        reason: &'static str,
    },
    /// No implementation at all: not in the standard library, not a user op of the program.
    Unknown {
        op: String,
    },
    BadArgument {
        name: String,
        expected: &'static str,
    },
    Node(NodeError),
    /// A user op's module could not run, or stopped at one of its limits.
    Sandbox {
        op: String,
        reason: String,
    },
    /// A user op answered something that is not its declared result type.
    Shape {
        op: String,
        problem: String,
    },
    Failed(String),
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpError::NotAvailable { op, reason } => {
                write!(f, "`{op}` is not available in this runtime yet: {reason}")
            }
            OpError::Unknown { op } => write!(
                f,
                "op `{op}` has no implementation here: neither the standard library nor the program's `extern op … = wasm(…)` provides it"
            ),
            OpError::BadArgument { name, expected } => {
                write!(f, "argument `{name}` must be {expected}")
            }
            OpError::Node(error) => write!(f, "{error}"),
            OpError::Sandbox { op, reason } => write!(f, "op `{op}` {reason}"),
            OpError::Shape { op, problem } => write!(f, "{op}: {problem}"),
            OpError::Failed(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for OpError {}

impl From<NodeError> for OpError {
    fn from(error: NodeError) -> OpError {
        OpError::Node(error)
    }
}

pub trait Op: Send + Sync {
    fn call<'a>(
        &'a self,
        context: &'a OpContext,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<Value, OpError>>;
}

/// User ops fetched for placed steps, kept per (bundle, op) up to this many.
const FETCHED_USER_OPS_MAX: usize = 256;

/// User ops fetched for placed steps, by (bundle, op).
type FetchedUserOps = HashMap<(String, String), Arc<dyn Op>>;

/// Ops by path: the standard library's, and the engine that runs user ops.
#[derive(Default, Clone)]
pub struct Registry {
    ops: HashMap<String, Arc<dyn Op>>,
    user_code: Option<Arc<dyn UserCode>>,
    fetched: Arc<Mutex<FetchedUserOps>>,
}

impl Registry {
    /// Runs user (WebAssembly) ops with `code`.
    pub fn with_user_code(mut self, code: Arc<dyn UserCode>) -> Registry {
        self.user_code = Some(code);
        self
    }

    pub fn user_code(&self) -> Option<&Arc<dyn UserCode>> {
        self.user_code.as_ref()
    }

    /// User op `op` of program `bundle`, fetched from `host` the first time.
    pub async fn fetched_user_op(
        &self,
        host: &dyn OpHost,
        bundle: &str,
        op: &str,
    ) -> Result<Arc<dyn Op>, OpError> {
        let key = (bundle.to_string(), op.to_string());
        if let Some(found) = self.fetched_ops().get(&key) {
            return Ok(found.clone());
        }
        let module = host.user_module(bundle, op).await?;
        let ready = fetched_user_op(module, self.user_code.as_ref())?;
        let mut fetched = self.fetched_ops();
        if fetched.len() >= FETCHED_USER_OPS_MAX {
            fetched.clear();
        }
        fetched.insert(key, ready.clone());
        Ok(ready)
    }

    fn fetched_ops(&self) -> std::sync::MutexGuard<'_, FetchedUserOps> {
        // Entries are inserted whole: a poisoned map is still consistent.
        self.fetched
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn register(&mut self, path: &str, op: impl Op + 'static) {
        self.ops.insert(path.to_string(), Arc::new(op));
    }

    pub fn get(&self, path: &str) -> Option<Arc<dyn Op>> {
        self.ops.get(path).cloned()
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.ops.keys().map(String::as_str)
    }
}
