//! Reading what another node answers, with a cap: a reply is a peer's input like any
//! other, so its size is bounded before it is buffered — `Content-Length` is checked
//! up front, and a body without one (chunked) is counted as it arrives and dropped
//! once over the cap, instead of growing this node's memory without end.

use serde::de::DeserializeOwned;
use std::fmt;

/// A JSON answer from another node: an error message, a status, a record, a page.
pub const MAX_JSON_REPLY_BYTES: usize = 64 * 1024 * 1024;
/// An error's text, kept only to be shown.
pub const MAX_ERROR_REPLY_BYTES: usize = 64 * 1024;

/// Why a reply could not be read.
#[derive(Debug)]
pub enum ReplyError {
    TooLarge { limit: usize },
    Transport(reqwest::Error),
    NotJson(serde_json::Error),
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::TooLarge { limit } => {
                write!(f, "the reply is over the {limit} bytes accepted")
            }
            ReplyError::Transport(error) => write!(f, "{error}"),
            ReplyError::NotJson(error) => write!(f, "the reply is not the JSON expected: {error}"),
        }
    }
}

impl ReplyError {
    /// Whether the connection failed before anything was sent.
    pub fn is_connect(&self) -> bool {
        matches!(self, ReplyError::Transport(error) if error.is_connect())
    }
}

/// The whole body of `reply`, refused past `limit` bytes.
pub async fn bytes(mut reply: reqwest::Response, limit: usize) -> Result<Vec<u8>, ReplyError> {
    let declared = reply.content_length().unwrap_or(0);
    if declared > limit as u64 {
        return Err(ReplyError::TooLarge { limit });
    }
    let mut body = Vec::with_capacity(declared as usize);
    while let Some(chunk) = reply.chunk().await.map_err(ReplyError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(ReplyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The body of `reply` as JSON, refused past `limit` bytes.
pub async fn json<T: DeserializeOwned>(
    reply: reqwest::Response,
    limit: usize,
) -> Result<T, ReplyError> {
    let body = bytes(reply, limit).await?;
    serde_json::from_slice(&body).map_err(ReplyError::NotJson)
}

/// An error reply's text (cut to `MAX_ERROR_REPLY_BYTES`; empty when unreadable).
pub async fn error_text(reply: reqwest::Response) -> String {
    let body = bytes(reply, MAX_ERROR_REPLY_BYTES)
        .await
        .unwrap_or_default();
    String::from_utf8_lossy(&body).into_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use std::time::Duration;

    /// A server on 127.0.0.1 whose `/endless` streams zeros for ever (chunked, no
    /// length; with a migration batch's headers, claiming a small one), `/declared`
    /// claims a huge length and `/small` answers `{"ok":true}`; its base URL.
    pub(crate) async fn hostile_server() -> String {
        let endless = || async {
            let chunk = bytes::Bytes::from(vec![0u8; 64 * 1024]);
            let chunks = futures::stream::repeat_with(move || {
                Ok::<_, std::convert::Infallible>(chunk.clone())
            });
            axum::response::Response::builder()
                .header(crate::migrations::transfer::CRC_HEADER, "0")
                .header(crate::migrations::transfer::RAW_BYTES_HEADER, "100")
                .body(Body::from_stream(chunks))
                .unwrap_or_default()
        };
        let declared = || async {
            axum::response::Response::builder()
                .header("content-length", "1099511627776")
                .body(Body::from_stream(futures::stream::pending::<
                    Result<bytes::Bytes, std::convert::Infallible>,
                >()))
                .unwrap_or_default()
        };
        let app = axum::Router::new()
            .route("/endless", get(endless))
            .route("/declared", get(declared))
            .route("/small", get(|| async { r#"{"ok":true}"# }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let address = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}")
    }

    async fn reply(url: String) -> reqwest::Response {
        reqwest::get(url).await.expect("the server answers")
    }

    #[tokio::test]
    async fn an_endless_reply_is_refused_at_the_cap_not_buffered() {
        let base = hostile_server().await;
        let read = tokio::time::timeout(
            Duration::from_secs(20),
            bytes(reply(format!("{base}/endless")).await, 1024 * 1024),
        )
        .await
        .expect("the read ends at the cap instead of going on for ever");
        assert!(matches!(
            read,
            Err(ReplyError::TooLarge { limit: 1_048_576 })
        ));
    }

    #[tokio::test]
    async fn a_declared_length_over_the_cap_is_refused_before_reading() {
        let base = hostile_server().await;
        let read = json::<serde_json::Value>(reply(format!("{base}/declared")).await, 1024).await;
        assert!(matches!(read, Err(ReplyError::TooLarge { limit: 1024 })));
    }

    #[tokio::test]
    async fn a_reply_within_the_cap_is_read() {
        let base = hostile_server().await;
        let answer: serde_json::Value = json(reply(format!("{base}/small")).await, 1024)
            .await
            .expect("a small JSON reply");
        assert_eq!(answer, serde_json::json!({"ok": true}));
        let text = error_text(reply(format!("{base}/small")).await).await;
        assert_eq!(text, r#"{"ok":true}"#);
    }
}
