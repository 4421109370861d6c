//! The load generator's client: one keep-alive HTTP/1.1 connection per simulated client,
//! driven with hyper's connection API. A pooled client (reqwest) spends about as much
//! CPU per request as a node does on a 2-core machine, which would measure the load
//! generator more than the cluster.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: String,
    authorization: String,
}

impl Connection {
    /// Connects to the node at `url` (`http://HOST:PORT`), presenting `token`.
    pub async fn open(url: &str, token: &str) -> Connection {
        let host = url.trim_start_matches("http://").to_string();
        let stream = TcpStream::connect(&host).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(connection);
        Connection {
            sender,
            host,
            authorization: format!("Bearer {}", token.trim()),
        }
    }

    /// Sends a request and reads the whole answer; returns its status.
    pub async fn send(&mut self, method: Method, path: &str, body: &'static [u8]) -> StatusCode {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, &self.host)
            .header(hyper::header::AUTHORIZATION, &self.authorization)
            .body(Full::new(Bytes::from_static(body)))
            .expect("request");
        self.sender.ready().await.expect("connection ready");
        let response = self.sender.send_request(request).await.expect("response");
        let status = response.status();
        response.into_body().collect().await.expect("body");
        status
    }
}
