//! Store and forward on a worker: a worker accepts `POST /v1/events` too, for the
//! sensors on its site. It checks the events, then relays the request to the cluster
//! with the sender's own token (the cluster decides who may post). When no voter
//! answers, the request is kept durably in the worker's outbox (the one its step
//! outcomes use) and answered 202 with `"queued": true`; the forwarder sends the kept
//! requests in order once the cluster is back, and the cluster's dedup by (`source`,
//! `id`) makes a request forwarded twice (a crash between sending and forgetting it)
//! start nothing twice. The outbox is bounded: full, the worker answers 507.

use super::events;
use crate::cluster_link::{ClusterLink, LinkError};
use crate::dispatch::outbox::Outbox;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long the forwarder waits before trying an unreachable cluster again.
const RETRY_EVERY: Duration = Duration::from_millis(500);

/// A request kept for later: what the cluster needs to decide on it.
#[derive(Debug, Serialize, Deserialize)]
struct KeptRequest {
    token: String,
    headers: Vec<(String, String)>,
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
}

pub struct EventRelay {
    link: Arc<ClusterLink>,
    outbox: Outbox,
    capacity_bytes: u64,
    kept: Notify,
}

/// The headers of an event request that carry it: its content type and `ce-*`.
fn carried(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            name == "content-type" || name.starts_with("ce-")
        })
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
        .collect()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then(|| token.to_string())
}

impl EventRelay {
    pub fn new(link: Arc<ClusterLink>, outbox: Outbox, capacity_bytes: u64) -> Arc<EventRelay> {
        Arc::new(EventRelay {
            link,
            outbox,
            capacity_bytes,
            kept: Notify::new(),
        })
    }

    /// `POST /v1/events` on a worker.
    pub async fn accept(&self, headers: &HeaderMap, body: &[u8]) -> (StatusCode, Value) {
        let Some(token) = bearer(headers) else {
            return (
                StatusCode::UNAUTHORIZED,
                json!({"error": "a bearer token is required (a member's, or a client token with the `events` scope)"}),
            );
        };
        let now = jiff::Timestamp::now().to_string();
        if let Err(problem) = events::parse(headers, body, &now) {
            return (
                StatusCode::BAD_REQUEST,
                json!({"error": problem.to_string()}),
            );
        }
        let carried = carried(headers);
        let backlog = !matches!(self.outbox.oldest_event().await, Ok(None));
        if !backlog {
            match self.link.relay("/v1/events", &token, &carried, body).await {
                Ok(answer) => return (StatusCode::ACCEPTED, answer),
                Err(LinkError::Refused { reason, .. }) => {
                    return (StatusCode::FORBIDDEN, json!({"error": reason}))
                }
                Err(LinkError::Rejected { reason, .. }) => {
                    return (StatusCode::BAD_REQUEST, json!({"error": reason}))
                }
                Err(LinkError::Unreachable(_)) => {}
            }
        }
        let kept = KeptRequest {
            token,
            headers: carried,
            body: body.to_vec(),
        };
        match self
            .outbox
            .queue_event(crate::encoding::encode(&kept), self.capacity_bytes)
            .await
        {
            Ok(true) => {
                self.kept.notify_one();
                (StatusCode::ACCEPTED, json!({"queued": true, "run_ids": []}))
            }
            Ok(false) => (
                StatusCode::INSUFFICIENT_STORAGE,
                json!({"error": format!(
                    "the worker's event outbox is full ({} bytes held while the cluster is out of reach); try again later",
                    self.capacity_bytes
                )}),
            ),
            Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, json!({"error": reason})),
        }
    }

    /// Sends the kept requests, oldest first, whenever the cluster answers.
    pub async fn forward_forever(self: Arc<Self>) {
        loop {
            let oldest = match self.outbox.oldest_event().await {
                Ok(Some(oldest)) => oldest,
                Ok(None) => {
                    let _ =
                        tokio::time::timeout(Duration::from_secs(1), self.kept.notified()).await;
                    continue;
                }
                Err(reason) => {
                    log("the event outbox cannot be read", &reason);
                    tokio::time::sleep(RETRY_EVERY).await;
                    continue;
                }
            };
            let (seq, bytes) = oldest;
            let Ok(kept) = crate::encoding::decode::<KeptRequest>(&bytes) else {
                log(
                    "an unreadable kept event request is dropped",
                    &seq.to_string(),
                );
                let _ = self.outbox.event_forwarded(seq).await;
                continue;
            };
            match self
                .link
                .relay("/v1/events", &kept.token, &kept.headers, &kept.body)
                .await
            {
                Ok(_) => {}
                Err(LinkError::Unreachable(_)) => {
                    tokio::time::sleep(RETRY_EVERY).await;
                    continue;
                }
                Err(refused) => log(
                    "the cluster refused a kept event request",
                    &refused.to_string(),
                ),
            }
            if let Err(reason) = self.outbox.event_forwarded(seq).await {
                log("a forwarded event request cannot be forgotten", &reason);
                tokio::time::sleep(RETRY_EVERY).await;
            }
        }
    }
}

fn log(message: &str, detail: &str) {
    tracing::warn!(detail, "{message}");
}
