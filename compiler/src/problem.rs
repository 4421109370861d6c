//! Everything the checker can find wrong, as data: each variant carries the facts (names,
//! types, candidates) and knows its stable code, its message and its help. Rendering —
//! human or JSON — happens at the edge, from these facts.

use edgeflow_grammar::SyntaxError;

#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    Syntax(SyntaxError),
    UnknownName {
        name: String,
        suggestion: Option<String>,
        note: Option<&'static str>,
    },
    UnknownType {
        name: String,
        suggestion: Option<String>,
    },
    UnknownOp {
        path: String,
        suggestion: Option<String>,
    },
    WrongKind {
        name: String,
        found: &'static str,
        expected: &'static str,
    },
    Duplicate {
        name: String,
        what: &'static str,
    },
    UnknownField {
        field: String,
        on: String,
        suggestion: Option<String>,
    },
    UnknownArgument {
        callee: String,
        argument: String,
        suggestion: Option<String>,
    },
    MissingArgument {
        callee: String,
        arguments: Vec<String>,
    },
    TooManyArguments {
        callee: String,
        expected: usize,
        found: usize,
    },
    ImportNotFound {
        path: String,
        reason: String,
    },
    ImportCycle {
        cycle: Vec<String>,
    },
    TypeMismatch {
        expected: String,
        found: String,
        note: Option<String>,
    },
    UnknownWord {
        field: String,
        word: String,
        allowed: Vec<&'static str>,
    },
    NotConstant {
        what: String,
    },
    UnitMismatch {
        op: &'static str,
        left: String,
        right: String,
    },
    OptionalUsed {
        ty: String,
    },
    NestedOpCall {
        path: String,
    },
    BadOperator {
        op: &'static str,
        operands: Vec<String>,
    },
    Cycle {
        what: &'static str,
        cycle: Vec<String>,
    },
    BadTime {
        text: String,
        reason: String,
    },
    AfterUnknown {
        name: String,
        suggestion: Option<String>,
    },
    FieldNotAllowed {
        field: String,
        declaration: &'static str,
        suggestion: Option<String>,
    },
    MissingField {
        fields: Vec<&'static str>,
        declaration: &'static str,
    },
    OutOfRange {
        what: String,
        detail: String,
    },
    SameEdge {
        edge: String,
    },
    BadCron {
        reason: String,
    },
    UnusedStep {
        name: String,
    },
    UnusedParam {
        name: String,
    },
    Shadows {
        name: String,
        what: &'static str,
    },
    IgnoredForStrategy {
        field: String,
        strategy: String,
        reason: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl Problem {
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Syntax(error) => match error {
                SyntaxError::Unterminated { .. } => "E0101",
                SyntaxError::MalformedLiteral { .. } => "E0102",
                _ => "E0100",
            },
            Problem::UnknownName { .. } | Problem::UnknownType { .. } => "E0200",
            Problem::UnknownOp { .. } => "E0201",
            Problem::WrongKind { .. } => "E0202",
            Problem::Duplicate { .. } => "E0203",
            Problem::UnknownField { .. } => "E0204",
            Problem::UnknownArgument { .. } | Problem::TooManyArguments { .. } => "E0205",
            Problem::MissingArgument { .. } => "E0206",
            Problem::ImportNotFound { .. } => "E0207",
            Problem::ImportCycle { .. } => "E0208",
            Problem::TypeMismatch { .. }
            | Problem::UnknownWord { .. }
            | Problem::NotConstant { .. } => "E0300",
            Problem::UnitMismatch { .. } => "E0301",
            Problem::OptionalUsed { .. } => "E0302",
            Problem::NestedOpCall { .. } => "E0303",
            Problem::BadOperator { .. } => "E0304",
            Problem::Cycle { .. } => "E0400",
            Problem::BadTime { .. } => "E0102",
            Problem::AfterUnknown { .. } => "E0401",
            Problem::FieldNotAllowed { .. } => "E0500",
            Problem::MissingField { .. } => "E0501",
            Problem::OutOfRange { .. } => "E0502",
            Problem::SameEdge { .. } => "E0503",
            Problem::BadCron { .. } => "E0504",
            Problem::UnusedStep { .. } => "W0100",
            Problem::UnusedParam { .. } => "W0101",
            Problem::Shadows { .. } => "W0102",
            Problem::IgnoredForStrategy { .. } => "W0104",
        }
    }

    pub fn severity(&self) -> Severity {
        if self.code().starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }

    pub fn message(&self) -> String {
        match self {
            Problem::Syntax(error) => error.to_string(),
            Problem::UnknownName { name, .. } => format!("unknown name `{name}`"),
            Problem::UnknownType { name, .. } => format!("unknown type `{name}`"),
            Problem::UnknownOp { path, .. } => format!("unknown op `{path}`"),
            Problem::WrongKind {
                name,
                found,
                expected,
            } => {
                format!("`{name}` is {found}, but {expected} is needed here")
            }
            Problem::Duplicate { name, what } => {
                format!("{what} `{name}` is defined more than once")
            }
            Problem::UnknownField { field, on, .. } => format!("no field `{field}` on `{on}`"),
            Problem::UnknownArgument {
                callee, argument, ..
            } => {
                format!("`{callee}` has no argument `{argument}`")
            }
            Problem::MissingArgument { callee, arguments } => {
                format!(
                    "`{callee}` is missing required argument{} {}",
                    plural(arguments.len()),
                    quoted(arguments)
                )
            }
            Problem::TooManyArguments {
                callee,
                expected,
                found,
            } => {
                format!(
                    "`{callee}` takes {expected} argument{}, but {found} were given",
                    plural(*expected)
                )
            }
            Problem::ImportNotFound { path, .. } => format!("imported file `{path}` not found"),
            Problem::ImportCycle { cycle } => format!("import cycle: {}", cycle.join(" → ")),
            Problem::TypeMismatch {
                expected, found, ..
            } => {
                format!("type mismatch: expected `{expected}`, found `{found}`")
            }
            Problem::UnknownWord { field, word, .. } => {
                format!("`{word}` is not a valid `{field}`")
            }
            Problem::NotConstant { what } => format!("{what} must be a constant expression"),
            Problem::UnitMismatch { op, left, right } => {
                format!("unit mismatch: `{left} {op} {right}` mixes units")
            }
            Problem::OptionalUsed { ty } => {
                format!("optional value of type `{ty}` used where a value is required")
            }
            Problem::NestedOpCall { path } => {
                format!("op call `{path}(…)` must be the whole right side of a step")
            }
            Problem::BadOperator { op, operands } => match operands.as_slice() {
                [operand] => format!("operator `{op}` is not defined for `{operand}`"),
                [left, right] => {
                    format!("operator `{op}` is not defined for `{left}` and `{right}`")
                }
                _ => format!("operator `{op}` is not defined for these operands"),
            },
            Problem::Cycle { what, cycle } => {
                format!("dependency cycle between {what}: {}", cycle.join(" → "))
            }
            Problem::BadTime { text, reason } => {
                format!("`{text}` is not an RFC 3339 time: {reason}")
            }
            Problem::AfterUnknown { name, .. } => format!("`after` names unknown step `{name}`"),
            Problem::FieldNotAllowed {
                field, declaration, ..
            } => {
                format!("field `{field}` is not allowed in {declaration}")
            }
            Problem::MissingField {
                fields,
                declaration,
            } => {
                let names: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
                format!(
                    "{declaration} is missing required field{} {}",
                    plural(fields.len()),
                    quoted(&names)
                )
            }
            Problem::OutOfRange { what, detail } => format!("{what} is out of range: {detail}"),
            Problem::SameEdge { edge } => {
                format!("migration source and target are the same edge `{edge}`")
            }
            Problem::BadCron { reason } => format!("invalid cron expression: {reason}"),
            Problem::UnusedStep { name } => {
                format!("step `{name}` is never used and has no effect")
            }
            Problem::UnusedParam { name } => format!("parameter `{name}` is never used"),
            Problem::Shadows { name, what } => {
                format!("`{name}` shadows the {what} of the same name")
            }
            Problem::IgnoredForStrategy {
                field, strategy, ..
            } => {
                format!("field `{field}` is ignored for strategy `{strategy}`")
            }
        }
    }

    /// What the primary label under the code says.
    pub fn label(&self) -> String {
        match self {
            Problem::Syntax(SyntaxError::Unterminated { .. }) => "opened here".into(),
            Problem::Syntax(SyntaxError::Unexpected { .. }) => "unexpected here".into(),
            Problem::Syntax(SyntaxError::ArgumentStyle { .. }) => "this argument".into(),
            Problem::Syntax(SyntaxError::KeywordAsName { .. }) => "a keyword".into(),
            Problem::Syntax(_) => "here".into(),
            Problem::UnknownName { .. } | Problem::UnknownType { .. } => {
                "not found in scope".into()
            }
            Problem::UnknownOp { .. } => "no op with this name".into(),
            Problem::WrongKind { found, .. } => format!("this is {found}"),
            Problem::Duplicate { .. } => "defined again here".into(),
            Problem::UnknownField { .. } => "unknown field".into(),
            Problem::UnknownArgument { .. } => "unknown argument".into(),
            Problem::TooManyArguments { .. } => "extra argument".into(),
            Problem::MissingArgument { .. } => "missing arguments in this call".into(),
            Problem::ImportNotFound { .. } => "no such file".into(),
            Problem::ImportCycle { .. } => "this import closes the cycle".into(),
            Problem::TypeMismatch { found, .. } => format!("this is `{found}`"),
            Problem::UnknownWord { .. } => "unknown word".into(),
            Problem::NotConstant { .. } => "not known at compile time".into(),
            Problem::UnitMismatch { left, .. } => format!("this is `{left}`"),
            Problem::OptionalUsed { .. } => "this may be none".into(),
            Problem::NestedOpCall { .. } => "op call inside an expression".into(),
            Problem::BadOperator { operands, .. } => {
                format!("this is `{}`", operands.first().map_or("?", String::as_str))
            }
            Problem::Cycle { .. } => "depends on itself".into(),
            Problem::BadTime { .. } => "malformed time".into(),
            Problem::AfterUnknown { .. } => "no step with this name".into(),
            Problem::FieldNotAllowed { .. } => "not allowed here".into(),
            Problem::MissingField { .. } => "declared here".into(),
            Problem::OutOfRange { .. } => "out of range".into(),
            Problem::SameEdge { .. } => "same as `from`".into(),
            Problem::BadCron { .. } => "invalid schedule".into(),
            Problem::UnusedStep { .. } => "never used".into(),
            Problem::UnusedParam { .. } => "never used".into(),
            Problem::Shadows { .. } => "shadows a declaration".into(),
            Problem::IgnoredForStrategy { .. } => "ignored".into(),
        }
    }

    pub fn help(&self) -> Option<String> {
        let did_you_mean = |s: &Option<String>| s.as_ref().map(|s| format!("did you mean `{s}`?"));
        match self {
            Problem::Syntax(SyntaxError::MalformedLiteral { problem, .. }) => problem.help(),
            Problem::Syntax(_) => None,
            Problem::TooManyArguments { .. } => Some("remove the extra arguments".into()),
            Problem::UnknownName {
                suggestion, note, ..
            } => did_you_mean(suggestion).or_else(|| note.map(str::to_string)),
            Problem::UnknownType { suggestion, .. }
            | Problem::UnknownOp { suggestion, .. }
            | Problem::UnknownField { suggestion, .. }
            | Problem::UnknownArgument { suggestion, .. }
            | Problem::AfterUnknown { suggestion, .. }
            | Problem::FieldNotAllowed { suggestion, .. } => did_you_mean(suggestion),
            Problem::WrongKind { expected, .. } => Some(format!("pass the name of {expected}")),
            Problem::Duplicate { .. } => Some("rename one of them".into()),
            Problem::MissingArgument { arguments, .. } => Some(format!(
                "add {}",
                arguments
                    .iter()
                    .map(|a| format!("`{a}: …`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Problem::ImportNotFound { reason, .. } => Some(format!(
                "{reason}; import paths are relative to the importing file"
            )),
            Problem::ImportCycle { .. } => {
                Some("move the shared items into a file both can import".into())
            }
            Problem::TypeMismatch { note, .. } => note.clone(),
            Problem::UnknownWord { allowed, .. } => {
                Some(format!("valid words: {}", allowed.join(", ")))
            }
            Problem::NotConstant { .. } => Some(
                "use literals, consts and declared names; steps and now() are not known yet".into(),
            ),
            Problem::UnitMismatch { op: "per", .. } => Some(
                "a rate is `count per duration`: the right side of `per` is a duration, like `100 per 1m`".into(),
            ),
            Problem::UnitMismatch { .. } => {
                Some("convert one side so both have the same unit".into())
            }
            Problem::OptionalUsed { .. } => {
                Some("provide a fallback with `?? value`, or read a field with `?.`".into())
            }
            Problem::NestedOpCall { .. } => {
                Some("bind the call to its own step: `let r = op(…)`, then use `r`".into())
            }
            Problem::BadOperator { operands, .. } if operands.iter().any(|o| o == "json") => {
                Some("convert the json value first: int(x), float(x), string(x) or bool(x)".into())
            }
            Problem::BadOperator { .. } => None,
            Problem::Cycle { .. } => {
                Some("nothing can depend, directly or through others, on itself".into())
            }
            Problem::BadTime { .. } => Some("write it like \"2025-01-20T10:00:00Z\"".into()),
            Problem::MissingField { .. } => None,
            Problem::OutOfRange { .. } => None,
            Problem::SameEdge { .. } => {
                Some("a migration moves a workload to a different edge".into())
            }
            Problem::BadCron { .. } => {
                Some("five fields: minute hour day-of-month month day-of-week".into())
            }
            Problem::UnusedStep { name } => Some(format!(
                "remove it, or use `{name}` in a later step or the return value"
            )),
            Problem::UnusedParam { name } => Some(format!("remove it, or prefix it: `_{name}`")),
            Problem::Shadows { .. } => Some("rename the step to keep both visible".into()),
            Problem::IgnoredForStrategy { reason, .. } => Some(reason.to_string()),
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
