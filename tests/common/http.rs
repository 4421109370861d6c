//! A minimal HTTP/1.1 client for the tests: one request per connection, so a test sees
//! exactly what the node answered (status and body), with no client library between.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
}

/// The status, headers and body of a raw HTTP/1.1 response (`None`: no status line).
fn parse(response: &[u8]) -> Option<Reply> {
    let response = String::from_utf8_lossy(response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    Some(Reply {
        status,
        body: body.to_string(),
        headers,
    })
}

impl Reply {
    /// The value of header `name` (lower case), if the answer had it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A request's head: one request per connection, JSON, with the token when given
/// and `extra` headers.
fn head(
    method: &str,
    path: &str,
    address: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
    length: usize,
) -> String {
    let mut headers = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    for (name, value) in extra {
        headers.push_str(&format!("{name}: {value}\r\n"));
    }
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{headers}Content-Type: application/json\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )
}

/// `base` is `http://host:port`.
pub fn request(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> std::io::Result<Reply> {
    request_with_headers(base, method, path, token, &[], body)
}

/// `request` with `extra` headers.
pub fn request_with_headers(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
    body: Option<&[u8]>,
) -> std::io::Result<Reply> {
    let address = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or_default();
    stream.write_all(head(method, path, address, token, extra, body.len()).as_bytes())?;
    // A node may answer (413) before reading a large body and close; that is an answer.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    Ok(parse(&response).unwrap_or(Reply {
        status: 0,
        body: String::new(),
        headers: Vec::new(),
    }))
}

pub fn get(base: &str, path: &str, token: Option<&str>) -> std::io::Result<Reply> {
    request(base, "GET", path, token, None)
}

/// How a call with a deadline ended without an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoAnswer {
    /// Nothing was sent: the connection was refused or could not be made in time.
    NotSent(String),
    /// The request went out and no complete answer came back in time: it may have
    /// taken effect.
    Lost(String),
}

/// Like `request`, but the whole call must finish within `timeout`, and it says
/// whether a failed request was sent at all (a harness records a lost answer as an
/// operation of unknown outcome, a refused connection as one that did not happen).
pub fn call(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
    timeout: Duration,
) -> Result<Reply, NoAnswer> {
    let address = base.trim_start_matches("http://").trim_end_matches('/');
    let socket: std::net::SocketAddr = address
        .parse()
        .map_err(|e| NoAnswer::NotSent(format!("{address}: {e}")))?;
    let mut stream = TcpStream::connect_timeout(&socket, timeout)
        .map_err(|e| NoAnswer::NotSent(e.to_string()))?;
    let deadline = std::time::Instant::now() + timeout;
    let lost = |e: std::io::Error| NoAnswer::Lost(e.to_string());
    stream.set_write_timeout(Some(timeout)).map_err(lost)?;
    let body = body.unwrap_or_default();
    stream
        .write_all(head(method, path, address, token, &[], body.len()).as_bytes())
        .map_err(lost)?;
    stream.write_all(body).map_err(lost)?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(NoAnswer::Lost(format!("no answer within {timeout:?}")));
        }
        stream.set_read_timeout(Some(left)).map_err(lost)?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(lost(e)),
        }
    }
    parse(&response).ok_or_else(|| NoAnswer::Lost("the answer was cut short".into()))
}

/// A call answered 200 with a JSON body, or `None` (no answer in time, another status,
/// not JSON).
pub fn call_json(
    base: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
    timeout: Duration,
) -> Option<serde_json::Value> {
    let body = body.map(|b| b.to_string());
    let reply = call(
        base,
        method,
        path,
        Some(token),
        body.as_ref().map(|b| b.as_bytes()),
        timeout,
    )
    .ok()
    .filter(|reply| reply.status == 200)?;
    serde_json::from_str(&reply.body).ok()
}
