//! A cluster whose nodes have a `[tls]` table: Raft between nodes is mutual TLS, the API
//! is HTTPS, and the CLI trusts the cluster's CA (`--ca`). Plain connections to either
//! port get nothing; a client that does not trust the CA is refused.

mod common;

use common::{free_port, stderr, stdout, KillOnDrop};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A CA, and one certificate it signed for 127.0.0.1 (every node uses it here).
fn certificates(dir: &Path) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "edgeflow test CA");
    let ca = ca.self_signed(&ca_key).expect("CA certificate");
    let node_key = KeyPair::generate().expect("node key");
    let mut node = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("node params");
    node.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let node = node
        .signed_by(&node_key, &ca, &ca_key)
        .expect("node certificate");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write");
    std::fs::write(dir.join("node.pem"), node.pem()).expect("write");
    std::fs::write(dir.join("node.key"), node_key.serialize_pem()).expect("write");
}

fn edgeflow(args: &[&str]) -> std::process::Output {
    Command::new(common::bin())
        .args(args)
        .output()
        .expect("edgeflow runs")
}

#[test]
fn a_cluster_with_tls_serves_https_and_refuses_plain_connections() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cluster-tls");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    certificates(&dir);
    let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
    let token = |id: usize| common::strong_token(&format!("tls-token-{id}"));
    let hash = |id: usize| edgeflow_runtime::member::token_sha256(&token(id));
    let mut nodes = KillOnDrop::default();
    for id in 1..=3usize {
        let (raft, api) = ports[id - 1];
        std::fs::write(dir.join(format!("{id}.token")), token(id)).expect("token");
        let mut config = format!(
            "id = {id}\nedge = \"node_{id}\"\nrole = \"voter\"\ndata_dir = \"{dir}/data-{id}\"\n\
             raft_listen = \"127.0.0.1:{raft}\"\napi_listen = \"127.0.0.1:{api}\"\n\
             token_file = \"{dir}/{id}.token\"\n",
            dir = dir.display()
        );
        for peer in (1..=3).filter(|p| *p != id) {
            let (peer_raft, peer_api) = ports[peer - 1];
            config.push_str(&format!(
                "\n[[peers]]\nid = {peer}\nraft = \"127.0.0.1:{peer_raft}\"\napi = \"127.0.0.1:{peer_api}\"\n\
                 token_sha256 = \"{}\"\n",
                hash(peer)
            ));
        }
        config.push_str(&format!(
            "\n[tls]\ncert = \"{dir}/node.pem\"\nkey = \"{dir}/node.key\"\nca = \"{dir}/ca.pem\"\n",
            dir = dir.display()
        ));
        let path = dir.join(format!("{id}.toml"));
        std::fs::write(&path, config).expect("config");
        let log = std::fs::File::create(dir.join(format!("{id}.log"))).expect("log");
        nodes.0.push(
            Command::new(common::bin())
                .args(["node", "--config"])
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("node starts"),
        );
    }
    let url = |id: usize| format!("https://127.0.0.1:{}", ports[id - 1].1);
    let ca = dir.join("ca.pem").to_string_lossy().to_string();
    let token_file = |id: usize| {
        dir.join(format!("{id}.token"))
            .to_string_lossy()
            .to_string()
    };
    let cli = |id: usize, args: &[&str]| {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend([
            "--cluster".into(),
            url(id),
            "--token-file".into(),
            token_file(id),
        ]);
        all.extend(["--ca".into(), ca.clone()]);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        edgeflow(&all)
    };

    // The API answers over HTTPS once the process is up.
    let deadline = Instant::now() + Duration::from_secs(20);
    for id in 1..=3 {
        while !cli(id, &["cluster", "status"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "node {id} never answered over HTTPS"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let init = cli(1, &["cluster", "init"]);
    assert!(init.status.success(), "{}", stderr(&init));
    for id in 2..=3 {
        let config = dir.join(format!("{id}.toml")).to_string_lossy().to_string();
        let added = cli(1, &["cluster", "add", "--config", &config]);
        assert!(added.status.success(), "add {id}: {}", stderr(&added));
    }
    let promoted = cli(1, &["cluster", "promote", "2", "3"]);
    assert!(promoted.status.success(), "{}", stderr(&promoted));
    let status = cli(3, &["cluster", "status", "--format", "json"]);
    let status: serde_json::Value = serde_json::from_str(&stdout(&status)).expect("JSON");
    assert_eq!(
        status["members"].as_array().map(Vec::len),
        Some(3),
        "{status}"
    );
    assert!(status["members"][1]["api"]
        .as_str()
        .is_some_and(|a| a.starts_with("https://")));

    let put = cli(2, &["state", "put", "tls", "k", "\"secret\""]);
    assert!(put.status.success(), "{}", stderr(&put));
    let got = cli(3, &["state", "get", "tls", "k"]);
    assert!(stdout(&got).contains("\"secret\""), "{}", stdout(&got));

    // Without the CA the CLI cannot verify the node, and says so.
    let untrusted = edgeflow(&[
        "cluster",
        "status",
        "--cluster",
        &url(1),
        "--token-file",
        &token_file(1),
    ]);
    assert_eq!(untrusted.status.code(), Some(1));
    assert!(
        stderr(&untrusted).contains("cannot reach"),
        "{}",
        stderr(&untrusted)
    );
    // Plain HTTP to the API and a plain hello to the Raft port get no answer.
    for port in [ports[0].1, ports[0].0] {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .expect("timeout");
        let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        assert!(!text.contains("200 OK") && !text.contains("ok"), "{text}");
    }
}
