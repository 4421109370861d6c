//! CloudEvents 1.0 over HTTP, in its three modes: structured
//! (`application/cloudevents+json`), binary (`ce-*` headers, the body is the data) and
//! batch (`application/cloudevents-batch+json`). The official SDK parses and validates
//! them; what a workflow sees is the `trigger` value made from one.

use axum::http::HeaderMap;
use base64::Engine;
use cloudevents::event::{AttributesReader, Data};
use serde_json::{json, Value};

/// Events one batch may carry.
pub const BATCH_EVENTS_MAX: usize = 1_000;
const BATCH_CONTENT_TYPE: &str = "application/cloudevents-batch+json";

/// One accepted event, as a trigger sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingEvent {
    pub id: String,
    pub source: String,
    pub event_type: String,
    /// RFC 3339; the time it was accepted when the event carries none.
    pub time: String,
    pub data: Value,
}

impl IncomingEvent {
    /// `trigger` for a run this event starts.
    pub fn trigger_json(&self) -> Value {
        json!({
            "kind": "event",
            "type": self.event_type,
            "source": self.source,
            "time": self.time,
            "data": self.data,
        })
    }
}

/// Why a request carries no acceptable events.
#[derive(Debug, Clone, PartialEq)]
pub enum EventError {
    /// Not a CloudEvent: the problem as the SDK names it (a missing `id`, say), and for
    /// a batch which event.
    Malformed {
        index: Option<usize>,
        reason: String,
    },
    TooMany {
        count: usize,
    },
    Empty,
}

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventError::Malformed {
                index: Some(index),
                reason,
            } => write!(
                f,
                "event {index} of the batch is not a CloudEvent: {reason}"
            ),
            EventError::Malformed {
                index: None,
                reason,
            } => write!(f, "not a CloudEvent: {reason}"),
            EventError::TooMany { count } => write!(
                f,
                "a batch carries at most {BATCH_EVENTS_MAX} events, not {count}"
            ),
            EventError::Empty => f.write_str("the batch carries no events"),
        }
    }
}

/// The events of a `POST /v1/events` request, whichever mode it uses.
pub fn parse(
    headers: &HeaderMap,
    body: &[u8],
    now: &str,
) -> Result<Vec<IncomingEvent>, EventError> {
    let batch = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with(BATCH_CONTENT_TYPE));
    if !batch {
        let event = cloudevents::binding::http::to_event(headers, body.to_vec()).map_err(|e| {
            EventError::Malformed {
                index: None,
                reason: e.to_string(),
            }
        })?;
        return Ok(vec![incoming(&event, now)]);
    }
    let items: Vec<Value> = serde_json::from_slice(body).map_err(|e| EventError::Malformed {
        index: None,
        reason: format!("a batch is a JSON array of events: {e}"),
    })?;
    if items.len() > BATCH_EVENTS_MAX {
        return Err(EventError::TooMany { count: items.len() });
    }
    if items.is_empty() {
        return Err(EventError::Empty);
    }
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            serde_json::from_value::<cloudevents::Event>(item)
                .map(|event| incoming(&event, now))
                .map_err(|e| EventError::Malformed {
                    index: Some(index),
                    reason: e.to_string(),
                })
        })
        .collect()
}

fn incoming(event: &cloudevents::Event, now: &str) -> IncomingEvent {
    let data = match event.data() {
        None => Value::Null,
        Some(Data::Json(value)) => value.clone(),
        Some(Data::String(text)) => {
            serde_json::from_str(text).unwrap_or(Value::String(text.clone()))
        }
        Some(Data::Binary(bytes)) => match serde_json::from_slice(bytes) {
            Ok(value) => value,
            Err(_) => Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
        },
    };
    IncomingEvent {
        id: event.id().to_string(),
        source: event.source().to_string(),
        event_type: event.ty().to_string(),
        time: event
            .time()
            .map_or_else(|| now.to_string(), |t| t.to_rfc3339()),
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    const NOW: &str = "2026-12-06T00:00:00Z";

    #[test]
    fn the_three_modes_give_the_same_event() {
        let structured = parse(
            &headers(&[("content-type", "application/cloudevents+json")]),
            br#"{"specversion":"1.0","id":"1","source":"/s","type":"t.x","data":{"c":21}}"#,
            NOW,
        )
        .expect("structured");
        let binary = parse(
            &headers(&[
                ("content-type", "application/json"),
                ("ce-specversion", "1.0"),
                ("ce-id", "1"),
                ("ce-source", "/s"),
                ("ce-type", "t.x"),
            ]),
            br#"{"c":21}"#,
            NOW,
        )
        .expect("binary");
        let batch = parse(
            &headers(&[("content-type", "application/cloudevents-batch+json")]),
            br#"[{"specversion":"1.0","id":"1","source":"/s","type":"t.x","data":{"c":21}}]"#,
            NOW,
        )
        .expect("batch");
        assert_eq!(structured, binary);
        assert_eq!(structured, batch);
        assert_eq!(structured[0].data, json!({"c": 21}));
        assert_eq!(structured[0].time, NOW);
    }

    #[test]
    fn malformed_events_are_refused_naming_the_problem() {
        let missing_id = parse(
            &headers(&[("content-type", "application/cloudevents+json")]),
            br#"{"specversion":"1.0","source":"/s","type":"t"}"#,
            NOW,
        );
        assert!(
            matches!(&missing_id, Err(EventError::Malformed { reason, .. }) if reason.contains("id")),
            "{missing_id:?}"
        );
        let second_bad = parse(
            &headers(&[("content-type", "application/cloudevents-batch+json")]),
            br#"[{"specversion":"1.0","id":"1","source":"/s","type":"t"},{"specversion":"1.0","id":"2","source":"/s"}]"#,
            NOW,
        );
        assert!(
            matches!(
                second_bad,
                Err(EventError::Malformed { index: Some(1), .. })
            ),
            "{second_bad:?}"
        );
        assert_eq!(
            parse(
                &headers(&[("content-type", "application/cloudevents-batch+json")]),
                b"[]",
                NOW
            ),
            Err(EventError::Empty)
        );
    }
}
