//! Building op results: records with the field names of the prelude's result types.

use edgeflow_compiler::value::Value;

pub fn record(fields: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Record(
        fields
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect(),
    )
}

pub fn success(ok: bool) -> Value {
    record([("success", Value::Bool(ok))])
}

pub fn int(value: u64) -> Value {
    Value::Int(i64::try_from(value).unwrap_or(i64::MAX))
}
