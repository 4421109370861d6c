//! The builtin pure functions of LANGUAGE.md §4: `min`, `len`, conversions, `time`, and
//! the compile-time-only `route`/`key`/`descriptor` of a policy's `match`.

use crate::checker::Checker;
use crate::expr::{Scope, Typed};
use crate::ir::{Builtin, Expr};
use crate::problem::Problem;
use crate::suggest::did_you_mean;
use crate::types::Type;
use crate::value::{Matcher, Value};
use edgeflow_grammar::ast::{self, ExprKind, Ident, Literal};
use edgeflow_grammar::Span;

/// Every builtin name, for "did you mean".
const BUILTIN_NAMES: &[&str] = &[
    "min",
    "max",
    "abs",
    "len",
    "sum",
    "contains",
    "keys",
    "int",
    "float",
    "string",
    "bool",
    "time",
    "now",
    "route",
    "key",
    "descriptor",
    "delay",
    "wasm",
];

impl Checker {
    pub(crate) fn builtin_call(
        &mut self,
        scope: &mut Scope,
        callee: &Ident,
        args: &[ast::Expr],
        span: Span,
    ) -> Typed {
        let name = callee.name.as_str();
        let (builtin, arity) = match name {
            "min" => (Some(Builtin::Min), 2),
            "max" => (Some(Builtin::Max), 2),
            "abs" => (Some(Builtin::Abs), 1),
            "len" => (Some(Builtin::Len), 1),
            "sum" => (Some(Builtin::Sum), 1),
            "contains" => (Some(Builtin::Contains), 2),
            "keys" => (Some(Builtin::Keys), 1),
            "int" => (Some(Builtin::Int), 1),
            "float" => (Some(Builtin::Float), 1),
            "string" => (Some(Builtin::String), 1),
            "bool" => (Some(Builtin::Bool), 1),
            "time" => (Some(Builtin::Time), 1),
            "now" => (Some(Builtin::Now), 0),
            "route" | "key" | "descriptor" => (None, 1),
            "delay" | "wasm" => {
                let place = if name == "delay" {
                    "a policy's `on_exceed`"
                } else {
                    "the body of an `extern op`"
                };
                let problem = Problem::TypeMismatch {
                    expected: "a value".into(),
                    found: format!("{name}(…)"),
                    note: Some(format!("`{name}(…)` is only valid as {place}")),
                };
                self.report(scope.module, problem, callee.span);
                return Typed::unknown();
            }
            _ => {
                let suggestion = did_you_mean(name, BUILTIN_NAMES.iter().copied());
                let problem = Problem::UnknownName {
                    name: name.to_string(),
                    suggestion,
                    note: None,
                };
                self.report(scope.module, problem, callee.span);
                for arg in args {
                    self.expr(scope, arg);
                }
                return Typed::unknown();
            }
        };
        let typed: Vec<Typed> = args.iter().map(|arg| self.expr(scope, arg)).collect();
        if !self.check_arity(scope, callee, args, arity) {
            return Typed::unknown();
        }
        if typed.iter().any(|t| t.ty.is_unknown()) {
            return Typed::unknown();
        }
        for (arg, expr) in typed.iter().zip(args) {
            if arg.ty.is_optional() && name != "string" {
                let problem = Problem::OptionalUsed {
                    ty: arg.ty.to_string(),
                };
                self.report(scope.module, problem, expr.span);
                return Typed::unknown();
            }
        }
        let Some(builtin) = builtin else {
            return self.matcher(scope, name, &typed[0], &args[0]);
        };
        let types: Vec<&Type> = typed.iter().map(|t| &t.ty).collect();
        let Some(result) = self.builtin_result(scope, builtin, &types, args) else {
            return Typed::unknown();
        };
        if builtin == Builtin::Time {
            if let ExprKind::Literal(Literal::String(text)) = &args[0].kind {
                if let Err(error) = text.parse::<jiff::Timestamp>() {
                    let problem = Problem::BadTime {
                        text: text.clone(),
                        reason: error.to_string(),
                    };
                    self.report(scope.module, problem, args[0].span);
                    return Typed::unknown();
                }
            }
        }
        let ir = Expr::Call(builtin, typed.into_iter().map(|t| t.ir).collect());
        self.fold(scope, result, ir, span)
    }

    fn check_arity(
        &mut self,
        scope: &Scope,
        callee: &Ident,
        args: &[ast::Expr],
        arity: usize,
    ) -> bool {
        if args.len() < arity {
            let missing = (args.len() + 1..=arity).map(|i| format!("#{i}")).collect();
            let problem = Problem::MissingArgument {
                callee: callee.name.clone(),
                arguments: missing,
            };
            self.report(scope.module, problem, callee.span);
            return false;
        }
        if let Some(extra) = args.get(arity) {
            let problem = Problem::TooManyArguments {
                callee: callee.name.clone(),
                expected: arity,
                found: args.len(),
            };
            self.report(scope.module, problem, extra.span);
            return false;
        }
        true
    }

    /// The result type of a builtin for these argument types, or a reported E0300.
    fn builtin_result(
        &mut self,
        scope: &Scope,
        builtin: Builtin,
        types: &[&Type],
        args: &[ast::Expr],
    ) -> Option<Type> {
        use Type::*;
        let result = match (builtin, types) {
            (Builtin::Now, []) => Some(Time),
            (Builtin::Min | Builtin::Max, [a, b]) => match (a, b) {
                (Int, Int) => Some(Int),
                (Int | Float, Int | Float) => Some(Float),
                (Duration, Duration) => Some(Duration),
                (Size, Size) => Some(Size),
                _ => None,
            },
            (Builtin::Abs, [Int]) => Some(Int),
            (Builtin::Abs, [Float]) => Some(Float),
            (Builtin::Len, [List(_) | String | Json]) => Some(Int),
            (Builtin::Sum, [List(element)]) => match element.as_ref() {
                Int | Never => Some(Int),
                Float => Some(Float),
                _ => None,
            },
            (Builtin::Contains, [List(element), needle]) => {
                element.unify(needle.unwrap_optional()).map(|_| Bool)
            }
            (Builtin::Contains, [String, String]) => Some(Bool),
            (Builtin::Contains, [Json, _]) => Some(Bool),
            (Builtin::Keys, [Record(_) | Json]) => Some(List(Box::new(String))),
            (Builtin::Int, [Json | Int | Float | String | Bool]) => Some(Int),
            (Builtin::Float, [Json | Int | Float | String]) => Some(Float),
            (Builtin::Bool, [Json | Bool | String]) => Some(Bool),
            (Builtin::String, [_]) => Some(String),
            (Builtin::Time, [String | Json]) => Some(Time),
            _ => None,
        };
        if result.is_none() {
            let at = args.first().map_or(Span::default(), |a| a.span);
            let found: Vec<std::string::String> = types.iter().map(|t| t.to_string()).collect();
            let problem = Problem::TypeMismatch {
                expected: builtin_signature(builtin).into(),
                found: format!("({})", found.join(", ")),
                note: Some(format!(
                    "`{}` takes {}",
                    builtin.name(),
                    builtin_signature(builtin)
                )),
            };
            self.report(scope.module, problem, at);
        }
        result
    }

    /// `route("/x")`, `key("k")`, `descriptor({..})`: constants of a policy's `match`.
    fn matcher(&mut self, scope: &Scope, name: &str, arg: &Typed, expr: &ast::Expr) -> Typed {
        if !scope.matcher_allowed {
            let problem = Problem::TypeMismatch {
                expected: "a value".into(),
                found: format!("{name}(…)"),
                note: Some(format!("`{name}(…)` is only valid as a policy's `match`")),
            };
            self.report(scope.module, problem, expr.span);
            return Typed::unknown();
        }
        let matcher = match (name, arg.ir.as_const(), &arg.ty) {
            ("route", Some(Value::String(route)), Type::String) => Matcher::Route(route.clone()),
            ("key", Some(Value::String(key)), Type::String) => Matcher::Key(key.clone()),
            ("descriptor", Some(Value::Record(fields)), Type::Record(_)) => {
                Matcher::Descriptor(fields.clone())
            }
            _ => {
                let expected = if name == "descriptor" {
                    "a constant record"
                } else {
                    "a constant string"
                };
                let problem = Problem::TypeMismatch {
                    expected: expected.into(),
                    found: arg.ty.to_string(),
                    note: None,
                };
                self.report(scope.module, problem, expr.span);
                return Typed::unknown();
            }
        };
        Typed::constant(Type::Matcher, Value::Matcher(matcher))
    }
}

fn builtin_signature(builtin: Builtin) -> &'static str {
    match builtin {
        Builtin::Min | Builtin::Max => "two numbers, durations or sizes",
        Builtin::Abs => "an int or a float",
        Builtin::Len => "a list, a string or json",
        Builtin::Sum => "a list of ints or floats",
        Builtin::Contains => "a list and an element, or two strings",
        Builtin::Keys => "a record or json",
        Builtin::Int => "json, a number, a string or a bool",
        Builtin::Float => "json, a number or a string",
        Builtin::Bool => "json, a bool or a string",
        Builtin::String => "any value",
        Builtin::Time => "an RFC 3339 string",
        Builtin::Now => "no arguments",
    }
}
