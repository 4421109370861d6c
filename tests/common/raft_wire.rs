//! A raw connection to a node's Raft port, speaking frames by hand: how the tests play a
//! hostile or confused peer.

use super::cluster::Cluster;
use edgeflow_runtime::network::wire::{self, Hello, HelloReply};
use std::time::Duration;

/// A raw connection to a node's Raft port, speaking frames by hand.
pub struct RaftWire(pub std::net::TcpStream);

impl RaftWire {
    pub fn open(cluster: &Cluster, id: u64) -> RaftWire {
        let config = std::fs::read_to_string(cluster.config(id)).expect("config");
        let address = config
            .lines()
            .find_map(|l| l.strip_prefix("raft_listen = "))
            .expect("raft_listen")
            .trim_matches('"')
            .to_string();
        let stream = std::net::TcpStream::connect(address).expect("raft port");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        RaftWire(stream)
    }

    pub fn send(&mut self, payload: &[u8]) {
        use std::io::Write;
        let length = u32::try_from(payload.len()).expect("small frame");
        self.0.write_all(&length.to_be_bytes()).expect("send");
        self.0.write_all(payload).expect("send");
    }

    /// The next frame, or `None` once the node closed the connection.
    pub fn receive(&mut self) -> Option<Vec<u8>> {
        use std::io::Read;
        let mut length = [0u8; 4];
        self.0.read_exact(&mut length).ok()?;
        let mut payload = vec![0; u32::from_be_bytes(length) as usize];
        self.0.read_exact(&mut payload).ok()?;
        Some(payload)
    }

    pub fn hello_reply(&mut self, hello: &Hello) -> HelloReply {
        self.send(&wire::encode(hello));
        wire::decode(&self.receive().expect("a reply to hello")).expect("a hello reply")
    }
}
