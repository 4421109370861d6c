//! A request whose `Content-Length` is over what its route takes is answered 413 before
//! its body is read — also when the client sent `Expect: 100-continue`, which must not
//! be told to go on with gigabytes. (Bodies without a length are still cut off at the
//! limit while they are read.)

use super::{runs, MAX_BODY_BYTES};
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The most a request to `path` may carry.
fn limit(method: &Method, path: &str) -> usize {
    if method == Method::POST && (path == "/v1/runs" || path == "/v1/deployments") {
        runs::MAX_SUBMISSION_BYTES
    } else {
        MAX_BODY_BYTES
    }
}

pub async fn refuse_oversized(request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let most = limit(request.method(), request.uri().path());
    match announced {
        Some(length) if length > most as u64 => (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(serde_json::json!({
                "error": format!("the body is {length} bytes; this route takes at most {most}")
            })),
        )
            .into_response(),
        _ => next.run(request).await,
    }
}
