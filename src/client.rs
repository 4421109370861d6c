//! The CLI's HTTP client for a running cluster: JSON requests with the bearer token,
//! following a follower's "ask the leader" answer (421 with `leader_api`), and errors
//! that say which node said what. An answer is read with a cap, like any peer's reply,
//! so a misbehaving server cannot grow the CLI's memory without end.

use edgeflow_runtime::peer_reply::{self, ReplyError, MAX_JSON_REPLY_BYTES};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// How many times a request follows a redirect to the leader.
const MAX_LEADER_HOPS: usize = 3;
/// Long enough for a learner to catch up (`cluster add` waits for it).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub enum ClientError {
    /// No HTTP answer from `url`.
    Unreachable { url: String, reason: String },
    /// The token was refused.
    Unauthorized { url: String },
    /// The node answered with an error.
    Refused {
        url: String,
        status: u16,
        message: String,
    },
    /// The answer was not the JSON expected.
    BadAnswer { url: String, reason: String },
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Unreachable { url, reason } => {
                write!(f, "cannot reach {url}: {reason}")
            }
            ClientError::Unauthorized { url } => write!(
                f,
                "{url} refused the token (401); pass the token file of a cluster member with --token-file"
            ),
            ClientError::Refused {
                url,
                status,
                message,
            } => write!(f, "{url} answered {status}: {message}"),
            ClientError::BadAnswer { url, reason } => {
                write!(f, "{url} gave an answer that could not be read: {reason}")
            }
        }
    }
}

impl std::error::Error for ClientError {}

pub struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    /// A client of the node at `base`; `ca` (PEM) is the only root it trusts for HTTPS.
    pub fn new(base: &str, token: String, ca: Option<&[u8]>) -> Result<Client, ClientError> {
        let unusable = |reason: String| ClientError::Unreachable {
            url: base.to_string(),
            reason,
        };
        let mut builder = reqwest::Client::builder().timeout(REQUEST_TIMEOUT);
        if let Some(pem) = ca {
            let certificate = reqwest::Certificate::from_pem(pem)
                .map_err(|e| unusable(format!("the CA certificate: {e}")))?;
            builder = builder.add_root_certificate(certificate);
        }
        let http = builder.build().map_err(|e| unusable(e.to_string()))?;
        Ok(Client {
            base: base.trim_end_matches('/').to_string(),
            token,
            http,
        })
    }

    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Value, ClientError> {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ClientError> {
        self.send_within(method, path, body, REQUEST_TIMEOUT).await
    }

    /// `GET` that gives up after `timeout` (each hop), for answers that have a fallback.
    pub async fn get_within(&self, path: &str, timeout: Duration) -> Result<Value, ClientError> {
        self.send_within(Method::GET, path, None, timeout).await
    }

    /// Any request that gives up after `timeout` (each hop): a long one, like a fill.
    pub async fn send_within(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        timeout: Duration,
    ) -> Result<Value, ClientError> {
        let mut base = self.base.clone();
        for _ in 0..=MAX_LEADER_HOPS {
            let url = format!("{base}{path}");
            let mut request = self
                .http
                .request(method.clone(), &url)
                .timeout(timeout)
                .bearer_auth(&self.token);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|e| ClientError::Unreachable {
                url: url.clone(),
                reason: without_url(&e),
            })?;
            let status = response.status();
            let body = match peer_reply::bytes(response, MAX_JSON_REPLY_BYTES).await {
                Ok(body) => body,
                Err(ReplyError::Transport(e)) => {
                    return Err(ClientError::Unreachable {
                        url,
                        reason: without_url(&e),
                    })
                }
                Err(e) => {
                    return Err(ClientError::BadAnswer {
                        url,
                        reason: e.to_string(),
                    })
                }
            };
            let answer: Value = serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
            match status {
                StatusCode::UNAUTHORIZED => return Err(ClientError::Unauthorized { url }),
                StatusCode::MISDIRECTED_REQUEST => {
                    match answer.get("leader_api").and_then(Value::as_str) {
                        Some(leader) => base = leader.trim_end_matches('/').to_string(),
                        None => return Err(refused(url, status, &answer)),
                    }
                }
                status if status.is_success() => return Ok(answer),
                status => return Err(refused(url, status, &answer)),
            }
        }
        Err(ClientError::BadAnswer {
            url: self.base.clone(),
            reason: format!("redirected to a leader more than {MAX_LEADER_HOPS} times"),
        })
    }
}

fn refused(url: String, status: StatusCode, answer: &Value) -> ClientError {
    let message = answer
        .get("error")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| answer.to_string());
    ClientError::Refused {
        url,
        status: status.as_u16(),
        message,
    }
}

/// reqwest's message without the URL it repeats (we print the URL ourselves).
fn without_url(error: &reqwest::Error) -> String {
    let mut message = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    /// A server whose every answer is an endless chunked stream of zeros; its base URL.
    async fn endless_server() -> String {
        let endless = || async {
            let chunk = bytes::Bytes::from(vec![b' '; 64 * 1024]);
            let chunks = futures::stream::repeat_with(move || {
                Ok::<_, std::convert::Infallible>(chunk.clone())
            });
            Body::from_stream(chunks)
        };
        let app = axum::Router::new().fallback(endless);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let address = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}")
    }

    #[tokio::test]
    async fn an_endless_answer_is_refused_at_the_cap() {
        let base = endless_server().await;
        let client = Client::new(&base, "token".into(), None).expect("a client");
        let error = client
            .get_within("/v1/runs", Duration::from_secs(30))
            .await
            .expect_err("an endless answer is not an answer");
        assert!(
            matches!(&error, ClientError::BadAnswer { reason, .. } if reason.contains("over the")),
            "{error}"
        );
    }
}
