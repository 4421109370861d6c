//! The abstract syntax tree: what a `.edgeflow` file says, with a byte span on every
//! node so that later phases can point diagnostics at the exact source text.
//!
//! The AST knows nothing of types or names: `Name` is just a word at a place. Literals are
//! already decoded into their units (nanoseconds, bytes, bits per second) because that is
//! lexical knowledge; a literal that could not be decoded is `Literal::Invalid` and its
//! error is reported by the parser.

use crate::span::Span;

/// A word with the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// One parsed file: the items that parsed, and the items that did not (so that their
/// names can still be known and references to them do not cascade into more errors).
#[derive(Debug, Clone, Default)]
pub struct File {
    pub items: Vec<Item>,
    pub broken_items: Vec<BrokenItem>,
}

/// What could be recovered of an item that failed to parse: its kind keyword and the
/// names it would have declared.
#[derive(Debug, Clone)]
pub struct BrokenItem {
    pub keyword: String,
    pub names: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Item {
    /// The `///` lines directly above the item, without the slashes.
    pub doc: Option<String>,
    pub span: Span,
    pub kind: ItemKind,
}

#[derive(Debug, Clone)]
pub enum ItemKind {
    Import(Import),
    Const(Const),
    TypeDef(TypeDef),
    Edges(Vec<Declaration>),
    Policy(Declaration),
    Migration(Declaration),
    Workflow(Workflow),
    ExternOp(ExternOp),
}

#[derive(Debug, Clone)]
pub struct Import {
    /// The path as written, unescaped.
    pub path: String,
    pub path_span: Span,
    pub alias: Option<Ident>,
}

#[derive(Debug, Clone)]
pub struct Const {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub value: Expr,
}

#[derive(Debug, Clone)]
pub struct TypeDef {
    pub name: Ident,
    pub ty: TypeExpr,
}

/// An edge, policy or migration: a name and a list of `field: value` pairs.
#[derive(Debug, Clone)]
pub struct Declaration {
    pub doc: Option<String>,
    pub name: Ident,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub doc: Option<String>,
    pub name: Ident,
    pub value: Expr,
}

#[derive(Debug, Clone)]
pub struct Workflow {
    pub name: Ident,
    pub params: Vec<Param>,
    pub return_type: Option<TypeExpr>,
    pub triggers: Vec<Trigger>,
    pub steps: Vec<Step>,
    pub output: Option<Expr>,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub doc: Option<String>,
    pub name: Ident,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
}

#[derive(Debug, Clone)]
pub enum Trigger {
    Schedule {
        cron: String,
        span: Span,
    },
    Every {
        interval: Expr,
    },
    Event {
        event_type: String,
        span: Span,
        filter: Option<Expr>,
    },
}

#[derive(Debug, Clone)]
pub struct Step {
    pub doc: Option<String>,
    pub name: Ident,
    pub value: Expr,
    pub modifiers: Vec<Modifier>,
}

#[derive(Debug, Clone)]
pub enum Modifier {
    After(Vec<Ident>),
    On(Expr),
    Retry {
        attempts: i64,
        attempts_span: Span,
        backoff: Option<Expr>,
    },
    Timeout(Expr),
    When(Expr),
}

impl Modifier {
    /// The keyword that introduces the modifier, as written in source.
    pub fn keyword(&self) -> &'static str {
        match self {
            Modifier::After(_) => "after",
            Modifier::On(_) => "on",
            Modifier::Retry { .. } => "retry",
            Modifier::Timeout(_) => "timeout",
            Modifier::When(_) => "when",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ExternOp {
    pub path: Ident,
    pub params: Vec<Param>,
    pub result: TypeExpr,
    pub body: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub optional: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeExprKind {
    Named(Ident),
    List(Box<TypeExpr>),
    Record(Vec<(Ident, TypeExpr)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Literal(Literal),
    Name(Ident),
    List(Vec<Expr>),
    Record(Vec<(Ident, Expr)>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Field(Box<Expr>, Ident),
    OptionalField(Box<Expr>, Ident),
    Index(Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `a.b(name: value, …)`: an op call; only valid as the whole right side of a step.
    OpCall(OpCall),
    /// `name(value, …)`: a builtin function call.
    Call(Ident, Vec<Expr>),
    /// `( expr )`, kept so that spans and the readable IR show what was written.
    Paren(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct OpCall {
    pub path: Ident,
    pub args: Vec<(Ident, Expr)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryOp {
    Coalesce,
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Per,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Coalesce => "??",
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Per => "per",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }
}

impl UnaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            UnaryOp::Not => "!",
            UnaryOp::Neg => "-",
        }
    }
}

/// A literal, decoded into base units.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Int(i64),
    Float(f64),
    String(String),
    Bool(bool),
    None,
    /// Nanoseconds.
    Duration(i64),
    /// Bytes.
    Size(u64),
    /// Bits per second.
    Bandwidth(u64),
    /// Minutes after midnight, start and end; the end may be before the start (wraps).
    Window {
        start: u16,
        end: u16,
    },
    /// A literal that could not be decoded; its error was already reported.
    Invalid,
}
