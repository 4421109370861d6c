//! The node's own log lines: one JSON object per line on stderr (the format `log.emit`
//! uses for workflows), so one collector reads both.

use serde_json::{Map, Value};

/// A warning: `message`, plus any context fields (`run`, `peer`, …).
pub fn warn(message: &str, context: &[(&str, &str)]) {
    write("warn", message, context);
}

/// A failure that takes the node out of service.
pub fn error(message: &str, context: &[(&str, &str)]) {
    write("error", message, context);
}

/// Something an operator may want to follow (a step taken, an outcome delivered).
pub fn info(message: &str, context: &[(&str, &str)]) {
    write("info", message, context);
}

fn write(level: &str, message: &str, context: &[(&str, &str)]) {
    let mut line = Map::new();
    line.insert("level".into(), Value::from(level));
    for (key, value) in context {
        line.insert((*key).into(), Value::from(*value));
    }
    line.insert("message".into(), Value::from(message));
    eprintln!("{}", Value::Object(line));
}
