//! `POST /v1/events` (CloudEvents in, the runs they started out) and `GET /v1/triggers`
//! (every armed trigger, its next fire time and its latest tick).

use super::command::{TriggerAnswer, TriggerCommand};
use super::events::{self, IncomingEvent};
use super::matching::{runs_for, Programs};
use super::spec::TriggerKind;
use crate::api::{ApiError, ApiState};
use crate::command::{Command, Response};
use crate::node::now_ms;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

/// Parsed programs of the deployments events are matched against.
fn programs() -> &'static Programs {
    static PROGRAMS: OnceLock<Programs> = OnceLock::new();
    PROGRAMS.get_or_init(Programs::default)
}

/// What one event got: the runs it started (or, resent, started the first time).
async fn accept_one(state: &ApiState, event: &IncomingEvent) -> Result<Value, ApiError> {
    let runs = runs_for(&state.node, programs(), event)
        .await
        .map_err(ApiError::Conflict)?;
    let command = Command::Trigger(TriggerCommand::Event {
        source: event.source.clone(),
        id: event.id.clone(),
        runs,
    });
    let (run_ids, duplicate) = match state.node.write(command).await? {
        Response::Trigger(TriggerAnswer::Started { run_ids }) => (run_ids, false),
        Response::Trigger(TriggerAnswer::Duplicate { run_ids }) => (run_ids, true),
        Response::Trigger(TriggerAnswer::Refused { reason }) => {
            return Err(ApiError::Conflict(reason))
        }
        other => {
            return Err(ApiError::Conflict(format!(
                "an answer this node does not expect: {other:?}"
            )))
        }
    };
    Ok(json!({
        "id": event.id,
        "source": event.source,
        "run_ids": run_ids,
        "duplicate": duplicate,
    }))
}

/// `POST /v1/events`: 202 with the runs each event started; 400 for a malformed one
/// (nothing of the request is accepted then).
pub async fn accept(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let now = jiff::Timestamp::now().to_string();
    let events =
        events::parse(&headers, &body, &now).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let answers =
        futures::future::join_all(events.iter().map(|event| accept_one(&state, event))).await;
    let answers: Vec<Value> = answers.into_iter().collect::<Result<_, _>>()?;
    let body = match answers.as_slice() {
        [only] if !is_batch(&headers) => only.clone(),
        _ => {
            let run_ids: Vec<Value> = answers
                .iter()
                .flat_map(|a| a["run_ids"].as_array().cloned().unwrap_or_default())
                .collect();
            json!({ "run_ids": run_ids, "events": answers })
        }
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}

fn is_batch(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("cloudevents-batch"))
}

/// `GET /v1/triggers`: every armed trigger.
pub async fn list(State(state): State<Arc<ApiState>>) -> Json<Value> {
    let now = now_ms();
    let triggers: Vec<Value> = state
        .node
        .read_local(|s| {
            s.deployments
                .triggers()
                .map(|(deployment, trigger)| {
                    let id = trigger.id(&deployment.name);
                    let fired = s.triggers.fired(&id);
                    let (kind, spec) = match &trigger.kind {
                        TriggerKind::Schedule { cron } => ("schedule", json!(cron)),
                        TriggerKind::Every { interval_ms } => ("every", json!(interval_ms)),
                        TriggerKind::Event { event_type } => ("event", json!(event_type)),
                    };
                    let next = trigger.next_tick(now).and_then(rfc3339);
                    json!({
                        "id": id,
                        "deployment": deployment.name,
                        "workflow": trigger.workflow,
                        "kind": kind,
                        "spec": spec,
                        "next_fire": next,
                        "last_tick": fired.and_then(|f| rfc3339(f.tick_ms)),
                        "last_run": fired.and_then(|f| f.run_id.clone()),
                        "last_skipped": fired.is_some_and(|f| f.skipped),
                        "skipped_total": fired.map_or(0, |f| f.skipped_total),
                    })
                })
                .collect()
        })
        .await;
    Json(json!({ "triggers": triggers }))
}

fn rfc3339(ms: u64) -> Option<String> {
    jiff::Timestamp::from_millisecond(ms as i64)
        .ok()
        .map(|t| t.to_string())
}
