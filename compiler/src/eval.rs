//! Evaluates IR expressions over values. The compiler uses it to fold constants (with an
//! environment that knows no steps, so anything depending on run-time data is
//! `NotConstant`); the runtime uses the same code for pure steps, guards and outputs, so
//! both agree on every operator's meaning.

use crate::ir::{Builtin, Expr, StepId};
use crate::value::Value;
use edgeflow_grammar::ast::{BinaryOp, UnaryOp};
use std::fmt;

/// What an expression can read besides constants.
pub trait Env {
    fn step(&self, id: StepId) -> Option<&Value>;
    fn param(&self, name: &str) -> Option<&Value>;
    fn trigger(&self) -> Option<&Value>;
    fn now(&self) -> Option<jiff::Timestamp>;
}

/// The environment of compile time: nothing is known but constants.
pub struct ConstEnv;

impl Env for ConstEnv {
    fn step(&self, _: StepId) -> Option<&Value> {
        None
    }
    fn param(&self, _: &str) -> Option<&Value> {
        None
    }
    fn trigger(&self) -> Option<&Value> {
        None
    }
    fn now(&self) -> Option<jiff::Timestamp> {
        None
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum EvalError {
    /// Depends on something known only at run time.
    NotConstant,
    DivisionByZero,
    Overflow {
        op: &'static str,
    },
    IndexOutOfRange {
        index: i64,
        len: usize,
    },
    MissingField {
        field: String,
    },
    NoneValue,
    Conversion {
        to: &'static str,
        value: String,
    },
    /// The checker let through something the evaluator cannot do: a compiler bug.
    Unsupported {
        what: String,
    },
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::NotConstant => f.write_str("the value is not known at compile time"),
            EvalError::DivisionByZero => f.write_str("division by zero"),
            EvalError::Overflow { op } => write!(f, "integer overflow in `{op}`"),
            EvalError::IndexOutOfRange { index, len } => {
                write!(f, "index {index} is out of range for a list of {len}")
            }
            EvalError::MissingField { field } => write!(f, "the value has no field `{field}`"),
            EvalError::NoneValue => f.write_str("the value is none"),
            EvalError::Conversion { to, value } => write!(f, "cannot convert {value} to {to}"),
            EvalError::Unsupported { what } => write!(f, "cannot evaluate {what}"),
        }
    }
}

type Result<T> = std::result::Result<T, EvalError>;

pub fn eval(expr: &Expr, env: &dyn Env) -> Result<Value> {
    match expr {
        Expr::Const(value) => Ok(value.clone()),
        Expr::Param(name) => env.param(name).cloned().ok_or(EvalError::NotConstant),
        Expr::Step(id) => env.step(*id).cloned().ok_or(EvalError::NotConstant),
        Expr::Trigger => env.trigger().cloned().ok_or(EvalError::NotConstant),
        Expr::List(items) => items
            .iter()
            .map(|e| eval(e, env))
            .collect::<Result<_>>()
            .map(Value::List),
        Expr::Record(fields) => fields
            .iter()
            .map(|(name, e)| Ok((name.clone(), eval(e, env)?)))
            .collect::<Result<_>>()
            .map(Value::Record),
        Expr::Unary(op, operand) => unary(*op, eval(operand, env)?),
        Expr::Binary(BinaryOp::And, left, right) => match eval(left, env)? {
            Value::Bool(false) => Ok(Value::Bool(false)),
            _ => eval(right, env),
        },
        Expr::Binary(BinaryOp::Or, left, right) => match eval(left, env)? {
            Value::Bool(true) => Ok(Value::Bool(true)),
            _ => eval(right, env),
        },
        Expr::Binary(BinaryOp::Coalesce, left, right) => match eval(left, env)? {
            Value::None => eval(right, env),
            value => Ok(value),
        },
        Expr::Binary(op, left, right) => binary(*op, eval(left, env)?, eval(right, env)?),
        Expr::Field(receiver, name) => field(eval(receiver, env)?, name),
        Expr::OptionalField(receiver, name) => match eval(receiver, env)? {
            Value::None => Ok(Value::None),
            value => field(value, name),
        },
        Expr::Index(receiver, index) => self::index(eval(receiver, env)?, eval(index, env)?),
        Expr::If(condition, then, otherwise) => match eval(condition, env)? {
            Value::Bool(true) => eval(then, env),
            _ => eval(otherwise, env),
        },
        Expr::Call(builtin, args) => {
            let args = args
                .iter()
                .map(|e| eval(e, env))
                .collect::<Result<Vec<_>>>()?;
            call(*builtin, args, env)
        }
    }
}

fn unsupported(what: impl fmt::Display) -> EvalError {
    EvalError::Unsupported {
        what: what.to_string(),
    }
}

fn unary(op: UnaryOp, value: Value) -> Result<Value> {
    match (op, value) {
        (UnaryOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
        (UnaryOp::Neg, Value::Int(i)) => i
            .checked_neg()
            .map(Value::Int)
            .ok_or(EvalError::Overflow { op: "-" }),
        (UnaryOp::Neg, Value::Float(x)) => Ok(Value::Float(-x)),
        (_, Value::None) => Err(EvalError::NoneValue),
        (op, value) => Err(unsupported(format_args!("`{}` on {value}", op.symbol()))),
    }
}

fn as_float(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

fn checked(result: Option<i64>, op: BinaryOp) -> Result<Value> {
    result
        .map(Value::Int)
        .ok_or(EvalError::Overflow { op: op.symbol() })
}

fn binary(op: BinaryOp, left: Value, right: Value) -> Result<Value> {
    use BinaryOp::*;
    use Value::*;
    match op {
        Eq => return Ok(Bool(equal(&left, &right))),
        Ne => return Ok(Bool(!equal(&left, &right))),
        Lt | Le | Gt | Ge => {
            let ordering = compare(&left, &right)
                .ok_or_else(|| unsupported(format_args!("comparing {left} and {right}")))?;
            return Ok(Bool(match op {
                Lt => ordering.is_lt(),
                Le => ordering.is_le(),
                Gt => ordering.is_gt(),
                _ => ordering.is_ge(),
            }));
        }
        _ => {}
    }
    match (op, &left, &right) {
        (Per, Int(count), Duration(per)) => Ok(Rate {
            count: *count,
            per: *per,
        }),
        (Div | Rem, Int(_), Int(0)) => Err(EvalError::DivisionByZero),
        (Add, Int(a), Int(b)) => checked(a.checked_add(*b), op),
        (Sub, Int(a), Int(b)) => checked(a.checked_sub(*b), op),
        (Mul, Int(a), Int(b)) => checked(a.checked_mul(*b), op),
        (Div, Int(a), Int(b)) => checked(a.checked_div(*b), op),
        (Rem, Int(a), Int(b)) => checked(a.checked_rem(*b), op),
        (Add | Sub | Mul | Div, Int(_) | Float(_), Int(_) | Float(_)) => {
            let (a, b) = (
                as_float(&left).unwrap_or(0.0),
                as_float(&right).unwrap_or(0.0),
            );
            if op == Div && b == 0.0 {
                return Err(EvalError::DivisionByZero);
            }
            Ok(Float(match op {
                Add => a + b,
                Sub => a - b,
                Mul => a * b,
                _ => a / b,
            }))
        }
        (Add, Duration(a), Duration(b)) => a
            .checked_add(*b)
            .map(Duration)
            .ok_or(EvalError::Overflow { op: "+" }),
        (Sub, Duration(a), Duration(b)) => a
            .checked_sub(*b)
            .map(Duration)
            .ok_or(EvalError::Overflow { op: "-" }),
        (Mul, Duration(a), Int(b)) => a
            .checked_mul(*b)
            .map(Duration)
            .ok_or(EvalError::Overflow { op: "*" }),
        (Add, Size(a), Size(b)) => a
            .checked_add(*b)
            .map(Size)
            .ok_or(EvalError::Overflow { op: "+" }),
        (Sub, Size(a), Size(b)) => a
            .checked_sub(*b)
            .map(Size)
            .ok_or(EvalError::Overflow { op: "-" }),
        (Mul, Size(a), Int(b)) => u64::try_from(*b)
            .ok()
            .and_then(|b| a.checked_mul(b))
            .map(Size)
            .ok_or(EvalError::Overflow { op: "*" }),
        (Add, String(a), String(b)) => Ok(String(format!("{a}{b}"))),
        (_, None, _) | (_, _, None) => Err(EvalError::NoneValue),
        _ => Err(unsupported(format_args!("{left} {} {right}", op.symbol()))),
    }
}

/// `==` as the language defines it: numbers compare across int and float.
pub fn equal(left: &Value, right: &Value) -> bool {
    match (as_float(left), as_float(right)) {
        (Some(a), Some(b))
            if matches!(left, Value::Float(_)) || matches!(right, Value::Float(_)) =>
        {
            a == b
        }
        _ => left == right,
    }
}

fn compare(left: &Value, right: &Value) -> Option<std::cmp::Ordering> {
    use Value::*;
    match (left, right) {
        (Int(a), Int(b)) => Some(a.cmp(b)),
        (Int(_) | Float(_), Int(_) | Float(_)) => as_float(left)?.partial_cmp(&as_float(right)?),
        (Duration(a), Duration(b)) => Some(a.cmp(b)),
        (Size(a), Size(b)) | (Bandwidth(a), Bandwidth(b)) => Some(a.cmp(b)),
        (Time(a), Time(b)) => Some(a.cmp(b)),
        (String(a), String(b)) => Some(a.cmp(b)),
        _ => Option::None,
    }
}

fn field(value: Value, name: &str) -> Result<Value> {
    match value {
        Value::Record(fields) => fields
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| EvalError::MissingField {
                field: name.to_string(),
            }),
        Value::None => Err(EvalError::NoneValue),
        other => Err(EvalError::MissingField {
            field: format!("{name} (on {other})"),
        }),
    }
}

fn index(receiver: Value, index: Value) -> Result<Value> {
    match (receiver, index) {
        (Value::List(items), Value::Int(i)) => {
            let len = items.len();
            usize::try_from(i)
                .ok()
                .and_then(|i| items.into_iter().nth(i))
                .ok_or(EvalError::IndexOutOfRange { index: i, len })
        }
        (Value::Record(fields), Value::String(key)) => field(Value::Record(fields), &key),
        (Value::None, _) | (_, Value::None) => Err(EvalError::NoneValue),
        (receiver, index) => Err(unsupported(format_args!("{receiver}[{index}]"))),
    }
}

fn call(builtin: Builtin, args: Vec<Value>, env: &dyn Env) -> Result<Value> {
    use Value::*;
    let conversion = |to: &'static str, value: &Value| EvalError::Conversion {
        to,
        value: value.to_string(),
    };
    match (builtin, args.as_slice()) {
        (Builtin::Now, []) => env.now().map(Time).ok_or(EvalError::NotConstant),
        (Builtin::Min | Builtin::Max, [a, b]) => {
            let ordering =
                compare(a, b).ok_or_else(|| unsupported(format_args!("min/max of {a} and {b}")))?;
            let pick_first = (builtin == Builtin::Min) == ordering.is_le();
            let picked = if pick_first { a } else { b };
            // Mixed int and float widen to float.
            match (a, b, picked) {
                (Float(_), Int(_), Int(i)) | (Int(_), Float(_), Int(i)) => Ok(Float(*i as f64)),
                _ => Ok(picked.clone()),
            }
        }
        (Builtin::Abs, [Int(i)]) => i
            .checked_abs()
            .map(Int)
            .ok_or(EvalError::Overflow { op: "abs" }),
        (Builtin::Abs, [Float(x)]) => Ok(Float(x.abs())),
        (Builtin::Len, [List(items)]) => Ok(Int(items.len() as i64)),
        (Builtin::Len, [String(s)]) => Ok(Int(s.chars().count() as i64)),
        (Builtin::Len, [Record(fields)]) => Ok(Int(fields.len() as i64)),
        (Builtin::Sum, [List(items)]) => sum(items),
        (Builtin::Contains, [List(items), needle]) => {
            Ok(Bool(items.iter().any(|i| equal(i, needle))))
        }
        (Builtin::Contains, [String(hay), String(needle)]) => {
            Ok(Bool(hay.contains(needle.as_str())))
        }
        (Builtin::Keys, [Record(fields)]) => Ok(List(
            fields.iter().map(|(k, _)| String(k.clone())).collect(),
        )),
        (Builtin::Int, [value]) => match value {
            Int(i) => Ok(Int(*i)),
            Float(x) if x.is_finite() && x.abs() < 9.2e18 => Ok(Int(x.trunc() as i64)),
            Bool(b) => Ok(Int(i64::from(*b))),
            String(s) => s
                .trim()
                .parse()
                .map(Int)
                .map_err(|_| conversion("int", value)),
            other => Err(conversion("int", other)),
        },
        (Builtin::Float, [value]) => match value {
            Int(i) => Ok(Float(*i as f64)),
            Float(x) => Ok(Float(*x)),
            String(s) => s
                .trim()
                .parse()
                .map(Float)
                .map_err(|_| conversion("float", value)),
            other => Err(conversion("float", other)),
        },
        (Builtin::Bool, [value]) => match value {
            Bool(b) => Ok(Bool(*b)),
            String(s) if s == "true" => Ok(Bool(true)),
            String(s) if s == "false" => Ok(Bool(false)),
            other => Err(conversion("bool", other)),
        },
        (Builtin::String, [value]) => Ok(String(match value {
            String(s) => s.clone(),
            other => other.to_string(),
        })),
        (Builtin::Time, [String(text)]) => text
            .parse::<jiff::Timestamp>()
            .map(Time)
            .map_err(|_| conversion("time", &args[0])),
        (_, args) if args.contains(&None) => Err(EvalError::NoneValue),
        (builtin, _) => Err(unsupported(format_args!(
            "{}(…) on these values",
            builtin.name()
        ))),
    }
}

fn sum(items: &[Value]) -> Result<Value> {
    if items.iter().all(|i| matches!(i, Value::Int(_))) {
        let mut total: i64 = 0;
        for item in items {
            if let Value::Int(i) = item {
                total = total
                    .checked_add(*i)
                    .ok_or(EvalError::Overflow { op: "sum" })?;
            }
        }
        return Ok(Value::Int(total));
    }
    let floats: Option<Vec<f64>> = items.iter().map(as_float).collect();
    floats
        .map(|f| Value::Float(f.iter().sum()))
        .ok_or_else(|| unsupported("sum of non-numbers"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(i: i64) -> Expr {
        Expr::Const(Value::Int(i))
    }

    fn bin(op: BinaryOp, a: Expr, b: Expr) -> Expr {
        Expr::Binary(op, Box::new(a), Box::new(b))
    }

    #[test]
    fn integer_division_rounds_toward_zero_and_remainder_keeps_the_sign() {
        assert_eq!(
            eval(&bin(BinaryOp::Div, int(-7), int(2)), &ConstEnv),
            Ok(Value::Int(-3))
        );
        assert_eq!(
            eval(&bin(BinaryOp::Rem, int(-7), int(2)), &ConstEnv),
            Ok(Value::Int(-1))
        );
        assert_eq!(
            eval(&bin(BinaryOp::Div, int(1), int(0)), &ConstEnv),
            Err(EvalError::DivisionByZero)
        );
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let e = bin(BinaryOp::Add, int(i64::MAX), int(1));
        assert_eq!(eval(&e, &ConstEnv), Err(EvalError::Overflow { op: "+" }));
    }

    #[test]
    fn mixed_numbers_widen() {
        let e = bin(BinaryOp::Add, int(1), Expr::Const(Value::Float(0.5)));
        assert_eq!(eval(&e, &ConstEnv), Ok(Value::Float(1.5)));
        assert!(equal(&Value::Int(1), &Value::Float(1.0)));
    }

    #[test]
    fn run_time_data_is_not_constant() {
        assert_eq!(eval(&Expr::Step(0), &ConstEnv), Err(EvalError::NotConstant));
        assert_eq!(
            eval(&Expr::Call(Builtin::Now, vec![]), &ConstEnv),
            Err(EvalError::NotConstant)
        );
    }
}
