//! `edgeflow node` as a real process on 127.0.0.1 ports: a new voter waits for
//! `edgeflow cluster init`; probes answer without a token, everything else needs the
//! token of a cluster member; a configuration with a typo is refused before start.

mod common;

use common::http;
use common::{free_port, stderr, stdout, KillOnDrop};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn edgeflow(args: &[&str]) -> std::process::Output {
    Command::new(common::bin())
        .args(args)
        .output()
        .expect("edgeflow runs")
}

#[test]
fn a_new_voter_waits_for_init_then_serves_probes_and_token_protected_metrics() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("node-api");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (raft_port, api_port) = (free_port(), free_port());
    let token_file = dir.join("token");
    std::fs::write(
        &token_file,
        format!("{}\n", common::strong_token("secret-1")),
    )
    .expect("token file");
    let config = dir.join("node.toml");
    std::fs::write(
        &config,
        format!(
            "id = 1\nedge = \"local\"\nrole = \"voter\"\ndata_dir = \"{}\"\nraft_listen = \"127.0.0.1:{raft_port}\"\n\
             api_listen = \"127.0.0.1:{api_port}\"\ntoken_file = \"{}\"\n",
            dir.join("data").display(),
            token_file.display()
        ),
    )
    .expect("config file");
    let child = Command::new(common::bin())
        .args(["node", "--config", &config.to_string_lossy()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts");
    let _running = KillOnDrop(vec![child]);
    let url = format!("http://127.0.0.1:{api_port}");

    // The health probe is the synchronisation: poll until the API answers.
    let deadline = Instant::now() + Duration::from_secs(20);
    while http::get(&url, "/healthz", None).map_or(0, |r| r.status) != 200 {
        assert!(Instant::now() < deadline, "the node never answered");
        std::thread::sleep(Duration::from_millis(20));
    }
    let not_ready = http::get(&url, "/readyz", None).expect("readyz");
    assert_eq!(not_ready.status, 503);
    assert!(
        not_ready.body.contains("cluster init"),
        "{}",
        not_ready.body
    );

    let token_arg = token_file.to_string_lossy().to_string();
    let init = edgeflow(&[
        "cluster",
        "init",
        "--cluster",
        &url,
        "--token-file",
        &token_arg,
    ]);
    assert!(init.status.success(), "{}", stderr(&init));
    assert!(
        stdout(&init).contains("leader: node 1"),
        "{}",
        stdout(&init)
    );
    let again = edgeflow(&[
        "cluster",
        "init",
        "--cluster",
        &url,
        "--token-file",
        &token_arg,
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already initialized"),
        "{}",
        stderr(&again)
    );

    assert_eq!(
        http::get(&url, "/readyz", None).expect("readyz").status,
        200
    );
    assert_eq!(
        http::get(&url, "/metrics", None).expect("no token").status,
        401
    );
    assert_eq!(
        http::get(&url, "/metrics", Some("wrong"))
            .expect("wrong token")
            .status,
        401
    );
    let metrics =
        http::get(&url, "/metrics", Some(&common::strong_token("secret-1"))).expect("metrics");
    assert_eq!(metrics.status, 200);
    for line in [
        "edgeflow_raft_leader 1",
        "edgeflow_runs{status=\"running\"} 0",
        "edgeflow_proposal_seconds_count",
        "edgeflow_steps{status=\"completed\"} 0",
        "edgeflow_members{role=\"voter\",state=\"leader\"} 1",
    ] {
        assert!(metrics.body.contains(line), "{line} in {}", metrics.body);
    }
}

#[test]
fn a_configuration_with_a_typo_is_refused_with_key_and_line() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("node-typo");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("typo.toml");
    std::fs::write(
        &config,
        "id = 1\nedge = \"e\"\nrole = \"voter\"\ndata_dir = \"d\"\nraft_lisen = \"127.0.0.1:1\"\n\
         api_listen = \"127.0.0.1:2\"\ntoken_file = \"t\"\n",
    )
    .expect("config file");
    let output = edgeflow(&["node", "--config", &config.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2));
    let said = stderr(&output);
    assert!(said.contains("typo.toml:5:1"), "{said}");
    assert!(said.contains("raft_lisen"), "{said}");
    assert!(!dir.join("d").exists(), "nothing was created");
}
