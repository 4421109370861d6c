//! Values from outside a program — `--input name=value` on the command line, a JSON
//! inputs file, the HTTP API — made into values of a declared type, with a clear error
//! when they do not fit.

use crate::types::Type;
use crate::value::Value;
use edgeflow_grammar::ast::Literal;
use serde_json::Value as Json;

/// Reads a JSON value as a value of `ty`. Durations, sizes and bandwidths may be given
/// in literal syntax (`"5s"`, `"64MiB"`, `"100Mbps"`) or, for sizes and bandwidths, as
/// numbers of bytes or bits per second; declared items by name.
pub fn conform(json: &Json, ty: &Type) -> Result<Value, String> {
    let mismatch = || format!("expected {ty}, found {json}");
    match (ty, json) {
        (Type::Optional(_), Json::Null) => Ok(Value::None),
        (Type::Optional(inner), _) => conform(json, inner),
        (Type::Json | Type::Unknown, _) => Ok(Value::from_json(json)),
        (Type::Int, Json::Number(n)) => n.as_i64().map(Value::Int).ok_or_else(mismatch),
        (Type::Float, Json::Number(n)) => n.as_f64().map(Value::Float).ok_or_else(mismatch),
        (Type::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
        (Type::String, Json::String(s)) => Ok(Value::String(s.clone())),
        (Type::Size, Json::Number(n)) => n.as_u64().map(Value::Size).ok_or_else(mismatch),
        (Type::Bandwidth, Json::Number(n)) => n.as_u64().map(Value::Bandwidth).ok_or_else(mismatch),
        (Type::Duration | Type::Size | Type::Bandwidth | Type::Window, Json::String(text)) => {
            unit_literal(text, ty).ok_or_else(mismatch)
        }
        (Type::Rate, Json::Object(map)) => {
            let count = map.get("count").and_then(Json::as_i64);
            let per = map
                .get("per")
                .and_then(|per| conform(per, &Type::Duration).ok());
            match (count, per) {
                (Some(count), Some(Value::Duration(per))) => Ok(Value::Rate { count, per }),
                _ => Err(format!(
                    "expected a rate {{\"count\": N, \"per\": \"1m\"}}, found {json}"
                )),
            }
        }
        (Type::Time, Json::String(text)) => text
            .parse()
            .map(Value::Time)
            .map_err(|e| format!("{text}: {e}")),
        (Type::Edge, Json::String(name)) => Ok(Value::Edge(name.clone())),
        (Type::Policy, Json::String(name)) => Ok(Value::Policy(name.clone())),
        (Type::Migration, Json::String(name)) => Ok(Value::Migration(name.clone())),
        (Type::List(element), Json::Array(items)) => items
            .iter()
            .map(|item| conform(item, element))
            .collect::<Result<_, _>>()
            .map(Value::List),
        (Type::Record(fields), Json::Object(map)) => {
            let mut out = Vec::with_capacity(fields.len());
            for (name, field_type) in fields.iter() {
                match map.get(name) {
                    Some(value) => out.push((
                        name.clone(),
                        conform(value, field_type).map_err(|e| format!("{name}: {e}"))?,
                    )),
                    None if field_type.is_optional() => out.push((name.clone(), Value::None)),
                    None => return Err(format!("missing field `{name}`")),
                }
            }
            Ok(Value::Record(out))
        }
        _ => Err(mismatch()),
    }
}

/// Reads a command-line value: strings as they are, everything else as JSON, falling
/// back to literal syntax (`5s`) for units.
pub fn conform_text(text: &str, ty: &Type) -> Result<Value, String> {
    if text == "none" && ty.is_optional() {
        return Ok(Value::None);
    }
    match ty.unwrap_optional() {
        Type::String
        | Type::Edge
        | Type::Policy
        | Type::Migration
        | Type::Duration
        | Type::Size
        | Type::Bandwidth
        | Type::Window
        | Type::Time => conform(&Json::String(text.to_string()), ty),
        _ => {
            let json: Json =
                serde_json::from_str(text).map_err(|_| format!("`{text}` is not a valid {ty}"))?;
            conform(&json, ty)
        }
    }
}

/// A duration in §7's output form, possibly compound (`1m30s`, `41666d16h`, `-2s`): the
/// sum of its number-and-unit parts.
fn compound_duration(text: &str) -> Option<i64> {
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let unit_at = rest.find(|c: char| c.is_ascii_alphabetic())?;
        let unit_len = rest[unit_at..]
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len() - unit_at);
        let (number, unit) = (&rest[..unit_at], &rest[unit_at..unit_at + unit_len]);
        match edgeflow_grammar::literal::decode_with_unit(number, unit).ok()? {
            Literal::Duration(nanos) => total = total.checked_add(nanos)?,
            _ => return None,
        }
        rest = &rest[unit_at + unit_len..];
    }
    Some(if negative { -total } else { total })
}

fn unit_literal(text: &str, ty: &Type) -> Option<Value> {
    if *ty == Type::Duration {
        return compound_duration(text).map(Value::Duration);
    }
    let literal = if text.contains("..") {
        edgeflow_grammar::literal::decode_window(text).ok()?
    } else {
        let split = text.find(|c: char| c.is_ascii_alphabetic())?;
        edgeflow_grammar::literal::decode_with_unit(&text[..split], &text[split..]).ok()?
    };
    match (literal, ty) {
        (Literal::Duration(nanos), Type::Duration) => Some(Value::Duration(nanos)),
        (Literal::Size(bytes), Type::Size) => Some(Value::Size(bytes)),
        (Literal::Bandwidth(bits), Type::Bandwidth) => Some(Value::Bandwidth(bits)),
        (Literal::Window { start, end }, Type::Window) => Some(Value::Window { start, end }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_back_what_the_output_encoding_writes() {
        for nanos in [
            0,
            1_500_000,
            90_000_000_000,
            3_600_000_000_000_000_000,
            -2_000_000_000,
        ] {
            let text = crate::value::format_duration(nanos);
            assert_eq!(
                conform(&Json::String(text.clone()), &Type::Duration),
                Ok(Value::Duration(nanos)),
                "{text}"
            );
        }
        assert!(conform(&Json::String("5x".into()), &Type::Duration).is_err());
        assert!(conform(&Json::String("s".into()), &Type::Duration).is_err());
        assert!(conform(&Json::String("1m30".into()), &Type::Duration).is_err());
    }

    #[test]
    fn command_line_values_take_the_parameter_type() {
        assert_eq!(conform_text("400", &Type::Int), Ok(Value::Int(400)));
        assert_eq!(
            conform_text("cache", &Type::String),
            Ok(Value::String("cache".into()))
        );
        assert_eq!(
            conform_text("5s", &Type::Duration),
            Ok(Value::Duration(5_000_000_000))
        );
        assert_eq!(
            conform_text("[\"a\"]", &Type::List(Box::new(Type::String))),
            Ok(Value::List(vec![Value::String("a".into())]))
        );
        assert_eq!(conform_text("none", &Type::Int.optional()), Ok(Value::None));
        assert!(conform_text("many", &Type::Int).is_err());
        assert!(conform_text("5q", &Type::Duration).is_err());
    }
}
