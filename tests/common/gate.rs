//! A TCP gate owned by a test: ports that forward to a node's API until the test cuts
//! them (every open connection is closed, new ones are closed on arrival) and open
//! again when it reconnects them. Stands for a site's flaky uplink.

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct Gate {
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Gate {
    /// A new port forwarding to `target`; its address.
    pub fn front(&self, target: SocketAddr) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("gate port");
        let address = listener.local_addr().expect("gate address");
        let gate = self.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if gate.cut.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                gate.forward(client, server);
            }
        });
        address
    }

    fn forward(&self, client: TcpStream, server: TcpStream) {
        let (Ok(client_copy), Ok(server_copy)) = (client.try_clone(), server.try_clone()) else {
            return;
        };
        {
            let mut open = self.open.lock().expect("open connections");
            open.extend(client.try_clone());
            open.extend(server.try_clone());
        }
        pipe(client, server);
        pipe(server_copy, client_copy);
    }

    /// Cuts the uplink: closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for stream in self.open.lock().expect("open connections").drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    pub fn reconnect(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` on a thread until either side closes.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
    });
}
