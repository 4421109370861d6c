//! Values: what constant expressions evaluate to at compile time and what steps produce
//! at run time. Shown in literal syntax (`1h30m`, `64MiB`) in the readable IR, and
//! encoded as JSON the way LANGUAGE.md §7 specifies.

use serde::{Deserialize, Serialize};
use std::fmt;

pub const NANOS_PER_MILLI: i64 = 1_000_000;
const NANOS_PER_SECOND: i64 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    /// Nanoseconds.
    Duration(i64),
    /// Bytes.
    Size(u64),
    /// Bits per second.
    Bandwidth(u64),
    Rate {
        count: i64,
        per: i64,
    },
    /// Minutes after midnight.
    Window {
        start: u16,
        end: u16,
    },
    Time(jiff::Timestamp),
    Edge(String),
    Policy(String),
    Migration(String),
    List(Vec<Value>),
    Record(Vec<(String, Value)>),
    Matcher(Matcher),
    /// `delay(d)` in a policy's `on_exceed`.
    Delay(i64),
    /// A bare word from a field's list of allowed words (`strategy: live`).
    Word(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Matcher {
    Route(String),
    Key(String),
    Descriptor(Vec<(String, Value)>),
}

impl Value {
    pub fn field(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Record(fields) => fields.iter().find(|(n, _)| n == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The JSON encoding of LANGUAGE.md §7.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as Json;
        match self {
            Value::None => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
            Value::String(s) | Value::Edge(s) | Value::Policy(s) | Value::Migration(s) => {
                Json::String(s.clone())
            }
            Value::Word(s) => Json::String(s.clone()),
            Value::Duration(nanos) => Json::String(format_duration(*nanos)),
            Value::Size(bytes) => Json::from(*bytes),
            Value::Bandwidth(bits) => Json::from(*bits),
            Value::Rate { count, per } => {
                serde_json::json!({ "count": count, "per": format_duration(*per) })
            }
            Value::Window { start, end } => Json::String(format_window(*start, *end)),
            Value::Time(t) => Json::String(t.to_string()),
            Value::List(items) => Json::Array(items.iter().map(Value::to_json).collect()),
            Value::Record(fields) => Json::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Value::Matcher(m) => Json::String(m.to_string()),
            Value::Delay(nanos) => Json::String(format!("delay({})", format_duration(*nanos))),
        }
    }

    /// A JSON document as a `json` value: objects become records, numbers ints or floats.
    pub fn from_json(json: &serde_json::Value) -> Value {
        use serde_json::Value as Json;
        match json {
            Json::Null => Value::None,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => Value::String(s.clone()),
            Json::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            Json::Object(map) => Value::Record(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

/// The shortest literal form of a duration: `250ms`, `1h30m`, `0s`.
pub fn format_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    if nanos < 0 {
        out.push('-');
    }
    let mut rest = nanos.unsigned_abs();
    for (unit, size) in [("d", 86_400u64), ("h", 3_600), ("m", 60), ("s", 1)] {
        let unit_nanos = size * NANOS_PER_SECOND as u64;
        if rest >= unit_nanos {
            out.push_str(&format!("{}{unit}", rest / unit_nanos));
            rest %= unit_nanos;
        }
    }
    if rest > 0 {
        let millis = rest / NANOS_PER_MILLI as u64;
        let sub_milli = rest % NANOS_PER_MILLI as u64;
        if sub_milli == 0 {
            out.push_str(&format!("{millis}ms"));
        } else {
            let fraction = format!("{:06}", sub_milli);
            out.push_str(&format!("{millis}.{}ms", fraction.trim_end_matches('0')));
        }
    }
    out
}

pub fn format_window(start: u16, end: u16) -> String {
    format!(
        "{:02}:{:02}..{:02}:{:02}",
        start / 60,
        start % 60,
        end / 60,
        end % 60
    )
}

/// The shortest exact literal for a size: `64MiB`, `100MB`, `17B`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 8] = [
        ("TiB", 1 << 40),
        ("TB", 1_000_000_000_000),
        ("GiB", 1 << 30),
        ("GB", 1_000_000_000),
        ("MiB", 1 << 20),
        ("MB", 1_000_000),
        ("KiB", 1 << 10),
        ("KB", 1_000),
    ];
    format_exact(bytes, &UNITS, "B")
}

/// The shortest exact literal for a bandwidth: `500Mbps`, `1Gbps`.
pub fn format_bandwidth(bits: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("Tbps", 1_000_000_000_000),
        ("Gbps", 1_000_000_000),
        ("Mbps", 1_000_000),
        ("Kbps", 1_000),
    ];
    format_exact(bits, &UNITS, "bps")
}

/// `value` in the largest unit (of `units`, largest first) that divides it exactly, or
/// in the base unit.
fn format_exact(value: u64, units: &[(&str, u64)], base: &str) -> String {
    units
        .iter()
        .find(|(_, size)| value != 0 && value.is_multiple_of(*size))
        .map_or_else(
            || format!("{value}{base}"),
            |(unit, size)| format!("{}{unit}", value / size),
        )
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Route(route) => write!(f, "route({route:?})"),
            Matcher::Key(key) => write!(f, "key({key:?})"),
            Matcher::Descriptor(fields) => {
                write!(f, "descriptor(")?;
                write_record(f, fields)?;
                write!(f, ")")
            }
        }
    }
}

fn write_record(f: &mut fmt::Formatter<'_>, fields: &[(String, Value)]) -> fmt::Result {
    if fields.is_empty() {
        return f.write_str("{}");
    }
    f.write_str("{ ")?;
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{name}: {value}")?;
    }
    f.write_str(" }")
}

/// Literal syntax, so that the readable IR reads like the source.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::None => f.write_str("none"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) if x.fract() == 0.0 && x.is_finite() => write!(f, "{x:.1}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Duration(nanos) => f.write_str(&format_duration(*nanos)),
            Value::Size(bytes) => f.write_str(&format_size(*bytes)),
            Value::Bandwidth(bits) => f.write_str(&format_bandwidth(*bits)),
            Value::Rate { count, per } => write!(f, "{count} per {}", format_duration(*per)),
            Value::Window { start, end } => f.write_str(&format_window(*start, *end)),
            Value::Time(t) => write!(f, "time({:?})", t.to_string()),
            Value::Edge(name)
            | Value::Policy(name)
            | Value::Migration(name)
            | Value::Word(name) => f.write_str(name),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Record(fields) => write_record(f, fields),
            Value::Matcher(m) => write!(f, "{m}"),
            Value::Delay(nanos) => write!(f, "delay({})", format_duration(*nanos)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_in_shortest_literal_form() {
        assert_eq!(format_duration(250 * NANOS_PER_MILLI), "250ms");
        assert_eq!(format_duration(5_400 * NANOS_PER_SECOND), "1h30m");
        assert_eq!(format_duration(90 * NANOS_PER_SECOND), "1m30s");
        assert_eq!(format_duration(2_500_000), "2.5ms");
        assert_eq!(format_duration(0), "0s");
    }

    #[test]
    fn sizes_and_bandwidths_pick_an_exact_unit() {
        assert_eq!(format_size(64 << 20), "64MiB");
        assert_eq!(format_size(100_000_000), "100MB");
        assert_eq!(format_size(17), "17B");
        assert_eq!(format_bandwidth(500_000_000), "500Mbps");
    }

    #[test]
    fn json_encoding_follows_the_reference() {
        let rate = Value::Rate {
            count: 1000,
            per: 60 * NANOS_PER_SECOND,
        };
        assert_eq!(
            rate.to_json(),
            serde_json::json!({"count": 1000, "per": "1m"})
        );
        assert_eq!(Value::Size(1024).to_json(), serde_json::json!(1024));
        assert_eq!(
            Value::Window {
                start: 120,
                end: 360
            }
            .to_json(),
            serde_json::json!("02:00..06:00")
        );
        assert_eq!(
            Value::Edge("us_east".into()).to_json(),
            serde_json::json!("us_east")
        );
    }
}
