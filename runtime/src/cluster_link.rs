//! A worker's way to the cluster: the voters' APIs, tried in turn, starting with the
//! one that answered last. A voter that cannot be reached, or has no leader, sends the
//! request on to the next; a refusal (401/403) or a rejected request (another 4xx) is
//! the cluster's answer and is not retried elsewhere.

use reqwest::StatusCode;
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How long one request may take, unless it says otherwise (a long poll).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub enum LinkError {
    /// The cluster does not accept this node's token here.
    Refused { url: String, reason: String },
    /// The cluster understood the request and said no.
    Rejected { url: String, reason: String },
    /// No voter answered.
    Unreachable(String),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Refused { url, reason } => write!(f, "{url} refused this node: {reason}"),
            LinkError::Rejected { url, reason } => write!(f, "{url}: {reason}"),
            LinkError::Unreachable(reason) => write!(f, "no voter answered ({reason})"),
        }
    }
}

impl std::error::Error for LinkError {}

pub struct ClusterLink {
    http: reqwest::Client,
    /// The voters' API base URLs.
    voters: Vec<String>,
    token: String,
    /// The voter that answered last.
    preferred: AtomicUsize,
}

impl ClusterLink {
    /// A link to `voters` (base URLs), trusting `ca` (PEM) for HTTPS when given.
    pub fn new(
        voters: Vec<String>,
        token: String,
        ca: Option<&[u8]>,
    ) -> Result<ClusterLink, String> {
        let mut builder = reqwest::Client::builder().timeout(REQUEST_TIMEOUT);
        if let Some(pem) = ca {
            let certificate = reqwest::Certificate::from_pem(pem)
                .map_err(|e| format!("the CA certificate: {e}"))?;
            builder = builder.add_root_certificate(certificate);
        }
        let http = builder.build().map_err(|e| e.to_string())?;
        Ok(ClusterLink {
            http,
            voters,
            token,
            preferred: AtomicUsize::new(0),
        })
    }

    /// POSTs a JSON body to `path`; the JSON answer.
    pub async fn post(&self, path: &str, body: &impl Serialize) -> Result<Value, LinkError> {
        self.send(|base| self.http.post(format!("{base}{path}")).json(body))
            .await
    }

    /// GETs `path`, allowing `wait` for the answer (a long poll).
    pub async fn get(&self, path: &str, wait: Duration) -> Result<Value, LinkError> {
        self.send(|base| {
            self.http
                .get(format!("{base}{path}"))
                .timeout(wait + REQUEST_TIMEOUT)
        })
        .await
    }

    /// POSTs `body` with `headers` to `path` on behalf of a caller whose bearer token
    /// is `token` (a worker relaying what it accepted): the cluster decides with the
    /// caller's token, not this node's.
    pub async fn relay(
        &self,
        path: &str,
        token: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Value, LinkError> {
        self.send_as(token, |base| {
            let mut request = self.http.post(format!("{base}{path}")).body(body.to_vec());
            for (name, value) in headers {
                request = request.header(name, value);
            }
            request
        })
        .await
    }

    async fn send(
        &self,
        request: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Value, LinkError> {
        self.send_as(&self.token, request).await
    }

    async fn send_as(
        &self,
        token: &str,
        request: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Value, LinkError> {
        let count = self.voters.len();
        let first = self.preferred.load(Ordering::Relaxed);
        let mut unreachable = Vec::new();
        for offset in 0..count {
            let index = (first + offset) % count;
            let base = &self.voters[index];
            let reply = match request(base).bearer_auth(token).send().await {
                Ok(reply) => reply,
                Err(error) => {
                    unreachable.push(format!("{base}: {error}"));
                    continue;
                }
            };
            let status = reply.status();
            let url = reply.url().to_string();
            let read =
                crate::peer_reply::json(reply, crate::peer_reply::MAX_JSON_REPLY_BYTES).await;
            let answer = match read {
                Ok(answer) => answer,
                Err(error) if status.is_success() => {
                    return Err(LinkError::Rejected {
                        url,
                        reason: format!("the answer could not be read: {error}"),
                    });
                }
                Err(_) => Value::Null,
            };
            let reason = || {
                answer
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or(status.as_str())
                    .to_string()
            };
            if status.is_success() {
                self.preferred.store(index, Ordering::Relaxed);
                return Ok(answer);
            }
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                return Err(LinkError::Refused {
                    url,
                    reason: reason(),
                });
            }
            if status.is_client_error() && status != StatusCode::MISDIRECTED_REQUEST {
                return Err(LinkError::Rejected {
                    url,
                    reason: reason(),
                });
            }
            unreachable.push(format!("{base}: {}", reason()));
        }
        if count == 0 {
            unreachable.push("the configuration names no voter (`peers`)".into());
        }
        Err(LinkError::Unreachable(unreachable.join("; ")))
    }
}
