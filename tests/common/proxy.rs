//! A fault-injecting TCP proxy in front of each node's Raft port, owned by a test. A
//! node reaches a peer only through the peer's proxy (the cluster records the proxy's
//! address as the peer's Raft address); the proxy reads each connection's `Hello` to
//! learn which node is calling, and drops connections between nodes the test has
//! partitioned apart.

use edgeflow_runtime::network::wire::{self, Hello};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Links {
    /// Node pairs (from, to) that cannot talk.
    blocked: BTreeSet<(u64, u64)>,
    /// Open proxied connections: (from, to) and both sockets.
    open: Vec<((u64, u64), TcpStream, TcpStream)>,
}

#[derive(Clone, Default)]
pub struct Proxy {
    links: Arc<Mutex<Links>>,
}

impl Proxy {
    /// Starts forwarding a new listening port to node `to` at `target`; returns the
    /// port's address.
    pub fn front(&self, to: u64, target: SocketAddr) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy port");
        let address = listener.local_addr().expect("proxy address");
        let links = self.links.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let links = links.clone();
                std::thread::spawn(move || forward(client, to, target, &links));
            }
        });
        address
    }

    /// Cuts every link between the groups (links within a group stay).
    pub fn partition(&self, groups: &[&[u64]]) {
        let mut links = self.links.lock().expect("links");
        for (a, group) in groups.iter().enumerate() {
            for (b, other) in groups.iter().enumerate() {
                if a != b {
                    for from in *group {
                        for to in *other {
                            links.blocked.insert((*from, *to));
                        }
                    }
                }
            }
        }
        let blocked = links.blocked.clone();
        links.open.retain(|(pair, client, server)| {
            let cut = blocked.contains(pair);
            if cut {
                let _ = client.shutdown(Shutdown::Both);
                let _ = server.shutdown(Shutdown::Both);
            }
            !cut
        });
    }

    pub fn heal(&self) {
        self.links.lock().expect("links").blocked.clear();
    }
}

fn forward(mut client: TcpStream, to: u64, target: SocketAddr, links: &Mutex<Links>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(5)));
    let mut length = [0u8; 4];
    if client.read_exact(&mut length).is_err() {
        return;
    }
    let mut hello = vec![0; u32::from_be_bytes(length) as usize];
    if client.read_exact(&mut hello).is_err() {
        return;
    }
    let Ok(Hello { from, .. }) = wire::decode::<Hello>(&hello) else {
        return;
    };
    let _ = client.set_read_timeout(None);
    let mut guard = links.lock().expect("links");
    if guard.blocked.contains(&(from, to)) {
        return; // Dropped: the caller sees the connection close.
    }
    let Ok(mut server) = TcpStream::connect(target) else {
        return;
    };
    if server
        .write_all(&length)
        .and_then(|()| server.write_all(&hello))
        .is_err()
    {
        return;
    }
    let (Ok(client_copy), Ok(server_copy)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let (Ok(client_reg), Ok(server_reg)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    guard.open.push(((from, to), client_reg, server_reg));
    drop(guard);
    std::thread::spawn(move || pipe(client_copy, server));
    pipe(server_copy, client);
}

/// Copies bytes one way until either side closes, then closes both.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
