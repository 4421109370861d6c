//! The IR (DESIGN.md §3): what the runtime executes. Every name is resolved, every
//! constant folded, every op argument filled in (defaults included), every workflow a
//! petgraph DAG of steps that keep their source position. Serialised with serde; the
//! same source always gives the same bytes and hash.

use crate::types::Type;
use crate::value::{Matcher, Value};
use edgeflow_grammar::ast::{BinaryOp, UnaryOp};
use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

/// Bumped whenever the bundle format changes incompatibly.
pub const IR_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Program {
    pub version: u32,
    /// `sha256:` and the hex digest of the bundle with this field empty.
    pub hash: String,
    pub edges: Vec<Edge>,
    pub policies: Vec<Policy>,
    pub migrations: Vec<Migration>,
    /// User ops implemented by WebAssembly modules.
    pub extern_ops: Vec<ExternOp>,
    /// The modules' bytes, base64, by `wasm_path` (filled in by `edgeflow compile`).
    pub wasm_modules: std::collections::BTreeMap<String, String>,
    pub workflows: Vec<Workflow>,
}

/// Where something was written: file as shown to the user, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SourcePos {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub offset: u32,
    pub length: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub name: String,
    pub doc: Option<String>,
    pub region: String,
    pub zone: Option<String>,
    pub labels: Vec<String>,
    pub compliance: Vec<String>,
    pub capacity: Option<Capacity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    pub cpu: f64,
    /// Bytes.
    pub memory: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub name: String,
    pub doc: Option<String>,
    pub matcher: Matcher,
    pub limit: Rate,
    pub burst: i64,
    pub scope: String,
    pub by: Vec<String>,
    pub algorithm: String,
    pub on_exceed: OnExceed,
    /// `None`: every edge.
    pub edges: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    pub count: i64,
    /// Nanoseconds.
    pub per: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExceed {
    Reject,
    /// Nanoseconds.
    Delay(i64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Migration {
    pub name: String,
    pub doc: Option<String>,
    pub from: String,
    pub to: String,
    pub workloads: Vec<String>,
    pub strategy: String,
    /// Nanoseconds.
    pub max_downtime: i64,
    pub sync_interval: i64,
    /// Bytes.
    pub delta_threshold: u64,
    /// Minutes after midnight, start and end.
    pub window: Option<(u16, u16)>,
    /// Bits per second; `None` is unlimited.
    pub bandwidth: Option<u64>,
    pub compression: bool,
    pub checkpoint_every: i64,
    pub batch_size: i64,
    pub priority: i64,
    pub validate: bool,
    pub auto_rollback: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternOp {
    pub path: String,
    pub params: Vec<Param>,
    pub result: Type,
    /// As written: relative to the declaring file.
    pub wasm_path: String,
    pub export: String,
    pub at: SourcePos,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub doc: Option<String>,
    pub ty: Type,
    /// `None`: required at run time.
    pub default: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Workflow {
    pub name: String,
    pub doc: Option<String>,
    pub params: Vec<Param>,
    pub triggers: Vec<Trigger>,
    /// Steps are nodes in source order; an edge runs from a step to one that needs it.
    pub graph: DiGraph<Step, Dependency>,
    pub output: Option<Expr>,
    pub output_type: Type,
    pub at: SourcePos,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Schedule {
        cron: String,
    },
    /// Nanoseconds.
    Every {
        interval: i64,
    },
    Event {
        event_type: String,
        filter: Option<Expr>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    pub doc: Option<String>,
    pub kind: StepKind,
    pub modifiers: Modifiers,
    pub output_type: Type,
    pub at: SourcePos,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Every parameter of the op in declaration order, defaults filled in.
    Op {
        op: String,
        args: Vec<(String, Expr)>,
    },
    Pure(Expr),
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Modifiers {
    pub after: Vec<StepId>,
    pub placement: Option<Expr>,
    pub retry: Option<Retry>,
    pub timeout: Option<Expr>,
    pub guard: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retry {
    pub attempts: u32,
    pub backoff: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dependency {
    /// The consumer reads these fields of the producer's output (`*`: all of it).
    Data { fields: Vec<String> },
    /// `after`: ordering without data.
    After,
}

/// A step's index in its workflow's graph.
pub type StepId = u32;

pub fn node(id: StepId) -> NodeIndex {
    NodeIndex::new(id as usize)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    Const(Value),
    Param(String),
    Step(StepId),
    Trigger,
    List(Vec<Expr>),
    Record(Vec<(String, Expr)>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Field(Box<Expr>, String),
    OptionalField(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    Call(Builtin, Vec<Expr>),
}

impl Expr {
    pub fn as_const(&self) -> Option<&Value> {
        match self {
            Expr::Const(value) => Some(value),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Builtin {
    Min,
    Max,
    Abs,
    Len,
    Sum,
    Contains,
    Keys,
    Int,
    Float,
    String,
    Bool,
    Time,
    Now,
}

impl Builtin {
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Min => "min",
            Builtin::Max => "max",
            Builtin::Abs => "abs",
            Builtin::Len => "len",
            Builtin::Sum => "sum",
            Builtin::Contains => "contains",
            Builtin::Keys => "keys",
            Builtin::Int => "int",
            Builtin::Float => "float",
            Builtin::String => "string",
            Builtin::Bool => "bool",
            Builtin::Time => "time",
            Builtin::Now => "now",
        }
    }
}
