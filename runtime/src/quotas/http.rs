//! The HTTP faces of rate limiting, on every node: `POST /v1/ratelimit/check` for any
//! gateway (a policy by name and key, or a route and descriptors) and
//! `GET /v1/ratelimit/auth/{policy}?key=…` for nginx's `auth_request` (204 or 429). Both
//! answer with `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (whole
//! seconds) and, when denied, `Retry-After`. Each decision is made on this node from its
//! lease (no round trip to the leader while the lease lasts).

use super::check::{check_described, decide, select, Target, Verdict, MAX_TEXT_BYTES};
use super::matcher::Described;
use crate::api::{json_body, ApiError, ApiState};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgeflow_compiler::value::format_duration;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The most tokens one check may ask for.
const MAX_TOKENS: u64 = u32::MAX as u64;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    route: Option<String>,
    #[serde(default)]
    descriptors: BTreeMap<String, DescriptorValue>,
    #[serde(default = "one")]
    tokens: u64,
}

fn one() -> u64 {
    1
}

/// A descriptor value: text, or a number or boolean taken as its text.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DescriptorValue {
    Text(String),
    Number(serde_json::Number),
    Bool(bool),
}

impl DescriptorValue {
    fn into_text(self) -> String {
        match self {
            DescriptorValue::Text(text) => text,
            DescriptorValue::Number(number) => number.to_string(),
            DescriptorValue::Bool(b) => b.to_string(),
        }
    }
}

pub async fn check(State(state): State<Arc<ApiState>>, body: Bytes) -> Response {
    match check_inner(&state, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn check_inner(state: &ApiState, body: &[u8]) -> Result<Response, ApiError> {
    let body: CheckBody = json_body(body)
        .map_err(|e| ApiError::BadRequest(format!("not a rate-limit check: {}", e.message())))?;
    check_tokens(body.tokens)?;
    let descriptors: BTreeMap<String, String> = body
        .descriptors
        .into_iter()
        .map(|(name, value)| (name, value.into_text()))
        .collect();
    match (&body.policy, &body.route) {
        (Some(name), None) if descriptors.is_empty() => {
            let key = body.key.as_deref().unwrap_or("");
            check_text("policy", name)?;
            check_text("key", key)?;
            let verdict = decide_on(state, Target::Policy { name, key }, body.tokens).await?;
            Ok(answer(verdict, true))
        }
        (None, route) if body.key.is_none() => {
            check_described(route.as_deref(), &descriptors).map_err(ApiError::BadRequest)?;
            let target = Target::Described(Described {
                route: route.as_deref(),
                descriptors: &descriptors,
            });
            let verdict = decide_on(state, target, body.tokens).await?;
            Ok(answer(verdict, true))
        }
        _ => Err(ApiError::BadRequest(
            "a check names either `policy` (with an optional `key`) or a `route` and/or `descriptors`, not both".into(),
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthQuery {
    #[serde(default)]
    key: String,
    #[serde(default = "one")]
    tokens: u64,
}

/// nginx's `auth_request` subrequest: 204 when admitted, 429 when not, no body.
pub async fn auth(
    State(state): State<Arc<ApiState>>,
    Path(policy): Path<String>,
    Query(query): Query<AuthQuery>,
) -> Response {
    let decided = async {
        check_tokens(query.tokens)?;
        check_text("policy", &policy)?;
        check_text("key", &query.key)?;
        let target = Target::Policy {
            name: &policy,
            key: &query.key,
        };
        decide_on(&state, target, query.tokens).await
    };
    match decided.await {
        Ok(verdict) => answer(verdict, false),
        Err(error) => error.into_response(),
    }
}

fn check_tokens(tokens: u64) -> Result<(), ApiError> {
    if tokens == 0 || tokens > MAX_TOKENS {
        return Err(ApiError::BadRequest(format!(
            "`tokens` must be from 1 to {MAX_TOKENS}, not {tokens}"
        )));
    }
    Ok(())
}

fn check_text(what: &str, text: &str) -> Result<(), ApiError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(ApiError::BadRequest(format!(
            "`{what}` is at most {MAX_TEXT_BYTES} bytes, not {}",
            text.len()
        )));
    }
    Ok(())
}

async fn decide_on(state: &ApiState, target: Target<'_>, tokens: u64) -> Result<Verdict, ApiError> {
    let quotas = state.node.quotas();
    let selected = state
        .node
        .read_local(|s| select(s.deployments.active_policies(), target, quotas.edge()))
        .await;
    if let (Target::Policy { name, .. }, true) = (target, selected.is_empty()) {
        return Err(ApiError::NotFound(format!(
            "no policy `{name}` is deployed on this edge (`edgeflow policy list` shows those that are)"
        )));
    }
    let host: Arc<dyn crate::op_host::OpHost> = state.node.clone();
    decide(quotas, &host, &selected, target, tokens)
        .await
        .map_err(|error| match error {
            super::QuotaError::Node(error) => ApiError::Node(error),
            other => ApiError::BadRequest(other.to_string()),
        })
}

/// Whole seconds, rounded up (`Retry-After` and `X-RateLimit-Reset`).
fn seconds(ns: u64) -> u64 {
    ns.div_ceil(1_000_000_000)
}

/// A duration rounded up to the millisecond, as `edgeflow` writes durations.
fn duration_text(ns: u64) -> String {
    let ms = ns.div_ceil(1_000_000);
    format_duration(i64::try_from(ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX))
}

/// 200 (or 204 without a body) when admitted, 429 when not; the binding policy's figures
/// in the body and the headers.
fn answer(verdict: Verdict, with_body: bool) -> Response {
    let allowed = verdict.allowed();
    let status = match (allowed, with_body) {
        (false, _) => StatusCode::TOO_MANY_REQUESTS,
        (true, true) => StatusCode::OK,
        (true, false) => StatusCode::NO_CONTENT,
    };
    let mut headers = HeaderMap::new();
    let mut body =
        json!({ "allowed": allowed, "remaining": null, "limit": null, "reset_after": null });
    if let Some(binding) = verdict.binding() {
        let mut header = |name: &'static str, value: u64| {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        };
        header("x-ratelimit-limit", binding.limit);
        header("x-ratelimit-remaining", binding.remaining);
        header("x-ratelimit-reset", seconds(binding.reset_after_ns));
        body["remaining"] = json!(binding.remaining);
        body["limit"] = json!(binding.limit);
        body["reset_after"] = json!(duration_text(binding.reset_after_ns));
        if !allowed {
            header("retry-after", seconds(binding.retry_after_ns).max(1));
            body["retry_after"] = json!(duration_text(binding.retry_after_ns));
        }
    }
    body["policies"] = Value::from(
        verdict
            .policies
            .iter()
            .map(|p| {
                json!({
                    "policy": p.policy, "allowed": p.allowed, "shadow": p.shadow,
                    "remaining": p.remaining, "limit": p.limit,
                })
            })
            .collect::<Vec<_>>(),
    );
    if with_body {
        (status, headers, Json(body)).into_response()
    } else {
        (status, headers).into_response()
    }
}
