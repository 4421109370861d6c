//! The types of the language (LANGUAGE.md §3) and the one question the checker asks of
//! them: is a value of this type accepted where that type is expected?

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Type {
    Int,
    Float,
    Bool,
    String,
    Duration,
    Size,
    Bandwidth,
    Rate,
    Window,
    Time,
    Edge,
    Policy,
    Migration,
    Json,
    List(Box<Type>),
    /// Fields in the order written; shared, since op result types are cloned per step.
    Record(Arc<[(String, Type)]>),
    Optional(Box<Type>),
    /// `route(..)`, `key(..)`, `descriptor(..)`: only a policy's `match` takes one.
    Matcher,
    /// `delay(..)`: only a policy's `on_exceed` takes one.
    Delay,
    /// The element type of `[]` and the payload of `none`: fits anywhere.
    Never,
    /// The type of an expression that already has an error: accepted everywhere, so
    /// one mistake is reported once.
    Unknown,
}

/// Why a value is not accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    /// A `T?` where a `T` is needed (E0302).
    Optional,
    /// Any other difference (E0300).
    Different,
    /// A record lacks a field the expected record type has.
    MissingField(String),
}

impl Type {
    pub fn optional(self) -> Type {
        match self {
            Type::Optional(_) | Type::Unknown => self,
            other => Type::Optional(Box::new(other)),
        }
    }

    pub fn is_optional(&self) -> bool {
        matches!(self, Type::Optional(_))
    }

    /// `T` for `T?`, the type itself otherwise.
    pub fn unwrap_optional(&self) -> &Type {
        match self {
            Type::Optional(inner) => inner,
            other => other,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Type::Unknown)
    }

    pub fn is_number(&self) -> bool {
        matches!(self, Type::Int | Type::Float)
    }

    /// Types that carry a unit, for the E0301 rule.
    pub fn is_unit(&self) -> bool {
        matches!(
            self,
            Type::Duration | Type::Size | Type::Bandwidth | Type::Rate
        )
    }

    /// One of the references to declared items.
    pub fn is_declared_kind(&self) -> bool {
        matches!(self, Type::Edge | Type::Policy | Type::Migration)
    }

    pub fn field(&self, name: &str) -> Option<&Type> {
        match self {
            Type::Record(fields) => fields.iter().find(|(n, _)| n == name).map(|(_, t)| t),
            _ => None,
        }
    }

    /// Is a value of type `actual` accepted where `self` is expected?
    pub fn accepts(&self, actual: &Type) -> Result<(), Mismatch> {
        use Type::*;
        match (self, actual) {
            (Unknown, _) | (_, Unknown) | (_, Never) => Ok(()),
            (Json, _) => Ok(()),
            (Optional(expected), Optional(actual)) => expected.accepts(actual),
            (Optional(expected), actual) => expected.accepts(actual),
            (expected, Optional(actual)) => match expected.accepts(actual) {
                Ok(()) => Err(Mismatch::Optional),
                Err(_) => Err(Mismatch::Different),
            },
            (Float, Int) => Ok(()),
            (List(expected), List(actual)) => expected.accepts(actual),
            (Record(expected), Record(actual)) => {
                for (name, expected_type) in expected.iter() {
                    match actual.iter().find(|(n, _)| n == name) {
                        Some((_, actual_type)) => expected_type.accepts(actual_type)?,
                        None if expected_type.is_optional() => {}
                        None => return Err(Mismatch::MissingField(name.clone())),
                    }
                }
                Ok(())
            }
            (expected, actual) if expected == actual => Ok(()),
            _ => Err(Mismatch::Different),
        }
    }

    /// The one type both branches of an `if` (or elements of a list) can be seen as.
    pub fn unify(&self, other: &Type) -> Option<Type> {
        use Type::*;
        match (self, other) {
            (Unknown, _) | (_, Unknown) => Some(Unknown),
            (Never, t) | (t, Never) => Some(t.clone()),
            (Optional(a), Optional(b)) => a.unify(b).map(Type::optional),
            (Optional(a), b) | (b, Optional(a)) => a.unify(b).map(Type::optional),
            (Int, Float) | (Float, Int) => Some(Float),
            (List(a), List(b)) => a.unify(b).map(|t| List(Box::new(t))),
            (Record(a), Record(b)) if a.len() == b.len() => {
                let mut fields = Vec::with_capacity(a.len());
                for (name, a_type) in a.iter() {
                    let b_type = b.iter().find(|(n, _)| n == name).map(|(_, t)| t)?;
                    fields.push((name.clone(), a_type.unify(b_type)?));
                }
                Some(Record(fields.into()))
            }
            (Json, _) | (_, Json) => Some(Json),
            (a, b) if a == b => Some(a.clone()),
            _ => None,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Int => f.write_str("int"),
            Type::Float => f.write_str("float"),
            Type::Bool => f.write_str("bool"),
            Type::String => f.write_str("string"),
            Type::Duration => f.write_str("duration"),
            Type::Size => f.write_str("size"),
            Type::Bandwidth => f.write_str("bandwidth"),
            Type::Rate => f.write_str("rate"),
            Type::Window => f.write_str("window"),
            Type::Time => f.write_str("time"),
            Type::Edge => f.write_str("edge"),
            Type::Policy => f.write_str("policy"),
            Type::Migration => f.write_str("migration"),
            Type::Json => f.write_str("json"),
            Type::List(inner) => write!(f, "[{inner}]"),
            Type::Record(fields) => {
                f.write_str("{ ")?;
                for (i, (name, ty)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}: {ty}")?;
                }
                f.write_str(if fields.is_empty() { "}" } else { " }" })
            }
            Type::Optional(inner) => write!(f, "{inner}?"),
            Type::Matcher => f.write_str("matcher"),
            Type::Delay => f.write_str("delay"),
            Type::Never => f.write_str("none"),
            Type::Unknown => f.write_str("?"),
        }
    }
}

/// The type named by a built-in type name, if it is one.
pub fn builtin_type(name: &str) -> Option<Type> {
    Some(match name {
        "int" => Type::Int,
        "float" => Type::Float,
        "bool" => Type::Bool,
        "string" => Type::String,
        "duration" => Type::Duration,
        "size" => Type::Size,
        "bandwidth" => Type::Bandwidth,
        "rate" => Type::Rate,
        "window" => Type::Window,
        "time" => Type::Time,
        "edge" => Type::Edge,
        "policy" => Type::Policy,
        "migration" => Type::Migration,
        "json" => Type::Json,
        _ => return None,
    })
}

pub const BUILTIN_TYPE_NAMES: &[&str] = &[
    "int",
    "float",
    "bool",
    "string",
    "duration",
    "size",
    "bandwidth",
    "rate",
    "window",
    "time",
    "edge",
    "policy",
    "migration",
    "json",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[(&str, Type)]) -> Type {
        Type::Record(
            fields
                .iter()
                .map(|(n, t)| (n.to_string(), t.clone()))
                .collect(),
        )
    }

    #[test]
    fn optional_is_accepted_only_where_optional_is_expected() {
        let opt = Type::String.optional();
        assert_eq!(opt.accepts(&Type::String), Ok(()));
        assert_eq!(Type::String.accepts(&opt), Err(Mismatch::Optional));
        assert_eq!(Type::Int.accepts(&opt), Err(Mismatch::Different));
    }

    #[test]
    fn records_are_structural() {
        let wanted = record(&[("a", Type::Int)]);
        assert_eq!(
            wanted.accepts(&record(&[("a", Type::Int), ("b", Type::Bool)])),
            Ok(())
        );
        assert_eq!(
            wanted.accepts(&record(&[])),
            Err(Mismatch::MissingField("a".into()))
        );
    }

    #[test]
    fn json_takes_anything_and_int_widens() {
        assert_eq!(
            Type::Json.accepts(&Type::List(Box::new(Type::Edge))),
            Ok(())
        );
        assert_eq!(Type::Float.accepts(&Type::Int), Ok(()));
        assert_eq!(Type::Int.accepts(&Type::Float), Err(Mismatch::Different));
        assert_eq!(Type::Int.accepts(&Type::Json), Err(Mismatch::Different));
    }

    #[test]
    fn branches_unify() {
        assert_eq!(Type::Int.unify(&Type::Float), Some(Type::Float));
        assert_eq!(
            Type::Never.optional().unify(&Type::Int),
            Some(Type::Int.optional())
        );
        assert_eq!(Type::Int.unify(&Type::String), None);
    }
}
