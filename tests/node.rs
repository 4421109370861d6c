//! `edgeflow node` as a real process on a 127.0.0.1 port: a voter without peers serves
//! its API; probes answer without a token, everything else needs the node's own token.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the node when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request; the status code and body.
fn get(port: u16, path: &str, token: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string());
    Ok((status, body))
}

#[test]
fn a_single_voter_serves_probes_and_token_protected_metrics() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("node-api");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    std::fs::write(dir.join("token"), "secret-1\n").expect("token file");
    let config = dir.join("node.toml");
    std::fs::write(
        &config,
        format!(
            "id = 1\nedge = \"local\"\nrole = \"voter\"\ndata_dir = \"{}\"\nraft_listen = \"127.0.0.1:1\"\n\
             api_listen = \"127.0.0.1:{port}\"\ntoken_file = \"{}\"\n",
            dir.join("data").display(),
            dir.join("token").display()
        ),
    )
    .expect("config file");
    let child = Command::new(env!("CARGO_BIN_EXE_edgeflow"))
        .args(["node", "--config", &config.to_string_lossy()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts");
    let _running = Running(child);

    // Readiness is the synchronisation: poll the probe until the node has a leader.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok((200, _)) = get(port, "/readyz", None) {
            break;
        }
        assert!(Instant::now() < deadline, "the node never became ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(get(port, "/healthz", None).expect("healthz").0, 200);
    assert_eq!(get(port, "/metrics", None).expect("no token").0, 401);
    assert_eq!(
        get(port, "/metrics", Some("wrong")).expect("wrong token").0,
        401
    );
    let (status, body) = get(port, "/metrics", Some("secret-1")).expect("metrics");
    assert_eq!(status, 200);
    assert!(body.contains("edgeflow_raft_leader 1"), "{body}");
    assert!(
        body.contains("edgeflow_runs{status=\"running\"} 0"),
        "{body}"
    );
}
