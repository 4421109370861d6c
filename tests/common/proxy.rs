//! A fault-injecting TCP proxy in front of each node's Raft port, owned by a test. A
//! node reaches a peer only through the peer's proxy (the cluster records the proxy's
//! address as the peer's Raft address); the proxy reads each connection's `Hello` to
//! learn which node is calling, and drops connections between nodes the test has
//! partitioned apart. It can also cut one direction only (connections `from` opens to
//! `to`), delay what it forwards, and reset connections at random — a lossy link as
//! TCP shows it to the application (stalls, then a broken connection).

use edgeflow_runtime::network::wire::{self, Hello};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Links {
    /// Node pairs (from, to): `from` cannot open connections to `to`.
    blocked: BTreeSet<(u64, u64)>,
    /// Open proxied connections: (from, to) and both sockets.
    open: Vec<((u64, u64), TcpStream, TcpStream)>,
    /// Added to every chunk forwarded either way: a fixed delay plus up to `jitter`.
    delay: Duration,
    jitter: Duration,
    /// Chance (per thousand) that forwarding a chunk resets its connection instead.
    resets_per_mille: u32,
}

/// How the proxy treats what it forwards, read for every chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkQuality {
    pub delay: Duration,
    pub jitter: Duration,
    pub resets_per_mille: u32,
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
                std::thread::spawn(move || forward(client, to, target, links));
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

    /// Cuts one direction: `from` can no longer open connections to `to` (and those it
    /// has are closed); `to` still reaches `from`.
    pub fn cut_one_way(&self, from: u64, to: u64) {
        let mut links = self.links.lock().expect("links");
        links.blocked.insert((from, to));
        links.open.retain(|(pair, client, server)| {
            let cut = *pair == (from, to);
            if cut {
                let _ = client.shutdown(Shutdown::Both);
                let _ = server.shutdown(Shutdown::Both);
            }
            !cut
        });
    }

    /// Delay, jitter and random resets from now on, on every link.
    pub fn degrade(&self, quality: LinkQuality) {
        let mut links = self.links.lock().expect("links");
        links.delay = quality.delay;
        links.jitter = quality.jitter;
        links.resets_per_mille = quality.resets_per_mille;
    }

    /// Every link open and clean again.
    pub fn heal(&self) {
        let mut links = self.links.lock().expect("links");
        links.blocked.clear();
        links.delay = Duration::ZERO;
        links.jitter = Duration::ZERO;
        links.resets_per_mille = 0;
    }
}

fn forward(mut client: TcpStream, to: u64, target: SocketAddr, links: Arc<Mutex<Links>>) {
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
    let links_out = links.clone();
    std::thread::spawn(move || pipe(client_copy, server, &links_out));
    pipe(server_copy, client, &links);
}

/// What to do with the next chunk: wait this long first, or reset the connection.
fn next_chunk(links: &Mutex<Links>) -> Option<Duration> {
    let links = links.lock().expect("links");
    if links.resets_per_mille > 0 && fastrand::u32(0..1000) < links.resets_per_mille {
        return None;
    }
    let jitter = links.jitter.as_millis() as u64;
    Some(links.delay + Duration::from_millis(fastrand::u64(0..=jitter)))
}

/// Copies bytes one way until either side closes (or a reset), then closes both.
fn pipe(mut from: TcpStream, mut to: TcpStream, links: &Mutex<Links>) {
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        match next_chunk(links) {
            None => break,
            Some(wait) if !wait.is_zero() => std::thread::sleep(wait),
            Some(_) => {}
        }
        if to.write_all(&chunk[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
