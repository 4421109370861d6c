//! Envoy's global rate-limit service on a real node (`[ratelimit] grpc_listen`), called by
//! a client that grpcio-tools generates from Envoy's own proto files
//! (`tests/envoy/rls_client.py`; `.ci/run` installs grpcio-tools): the domain names the
//! deployment, descriptors select its policies, statuses carry the current limit, the
//! remaining tokens and the time until reset; tokens are checked like the HTTP API's.

mod common;

use common::cluster::Cluster;
use common::{stderr, stdout};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const GATEWAY: &str = r#"
policy generate_api {
  match: route("/api/v1/generate")
  limit: 3 per 1h
  scope: global
}

policy per_user {
  match: key("user")
  limit: 2 per 1h
  by: ["user"]
  scope: global
}
"#;

/// The proto folder of the envoy-types crate this build uses.
fn envoy_protos() -> PathBuf {
    let metadata = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .current_dir(common::root())
        .output()
        .expect("cargo metadata runs");
    assert!(metadata.status.success(), "{}", stderr(&metadata));
    let metadata: Value = serde_json::from_slice(&metadata.stdout).expect("JSON");
    let manifest = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "envoy-types")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("envoy-types is a dependency");
    Path::new(manifest)
        .parent()
        .expect("crate folder")
        .join("proto")
}

fn python(args: &[&str]) -> Value {
    let script = common::root().join("tests/envoy/rls_client.py");
    let output = Command::new("python3")
        .arg(&script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "rls_client.py {args:?}: {} (needs `pip install grpcio grpcio-tools`, which .ci/run does)",
        stderr(&output)
    );
    serde_json::from_str(stdout(&output).trim()).expect("JSON from the client")
}

struct Client {
    stubs: String,
    target: String,
}

impl Client {
    fn call(&self, token: Option<&str>, domain: &str, descriptors: &[&str], hits: u32) -> Value {
        let mut args = vec![
            "call",
            "--stubs",
            &self.stubs,
            "--target",
            &self.target,
            "--domain",
            domain,
        ];
        if let Some(token) = token {
            args.extend(["--token", token]);
        }
        for descriptor in descriptors {
            args.extend(["--descriptor", descriptor]);
        }
        let hits = hits.to_string();
        args.extend(["--hits", &hits]);
        python(&args)
    }
}

#[test]
fn envoys_should_rate_limit_is_answered_from_the_deployed_policies() {
    let cluster = Cluster::up_with_workers("ratelimit-envoy", 1, 1);
    let port = common::free_port();
    let config = cluster.config(1);
    let mut toml = std::fs::read_to_string(&config).expect("config");
    toml.push_str(&format!(
        "\n[ratelimit]\ngrpc_listen = \"127.0.0.1:{port}\"\n"
    ));
    std::fs::write(&config, toml).expect("config written");
    cluster.kill(1);
    cluster.start(1);
    cluster.await_healthy(1);
    let file = cluster.dir.join("gateway.edgeflow");
    std::fs::write(&file, GATEWAY).expect("policy file");
    let applied = cluster.cli(1, &["apply", file.to_str().expect("path")]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    let created = cluster.cli(1, &["token", "create", "--scope", "ratelimit"]);
    let gateway_token = stdout(&created).trim().to_string();
    let created = cluster.cli(1, &["token", "create", "--scope", "submit"]);
    let submit_token = stdout(&created).trim().to_string();

    let stubs = cluster.dir.join("stubs");
    let protos = envoy_protos();
    let generated = python(&[
        "generate",
        "--proto",
        protos.to_str().expect("path"),
        "--out",
        stubs.to_str().expect("path"),
    ]);
    assert!(generated["generated"].as_u64().is_some_and(|n| n > 5));
    let client = Client {
        stubs: stubs.to_string_lossy().to_string(),
        target: format!("127.0.0.1:{port}"),
    };
    let token = Some(gateway_token.as_str());

    // Three hits of the route's budget, then over the limit.
    for remaining in [2, 1, 0] {
        let answer = client.call(token, "gateway", &["path=/api/v1/generate"], 1);
        assert_eq!(answer["overall_code"], "OK", "{answer}");
        let status = &answer["statuses"][0];
        assert_eq!(status["code"], "OK");
        assert_eq!(
            status["current_limit"],
            json!({"name": "generate_api", "requests_per_unit": 3, "unit": "HOUR"})
        );
        assert_eq!(status["limit_remaining"], remaining, "{answer}");
        assert!(status["duration_until_reset_s"]
            .as_i64()
            .is_some_and(|s| s > 0));
    }
    let over = client.call(token, "gateway", &["path=/api/v1/generate"], 1);
    assert_eq!(over["overall_code"], "OVER_LIMIT", "{over}");
    assert_eq!(over["statuses"][0]["code"], "OVER_LIMIT");

    // Per-user budgets, hits_addend, and one descriptor over the limit makes the whole
    // request over it; a descriptor no policy matches is OK without a limit.
    let alice = client.call(token, "gateway", &["user=alice"], 2);
    assert_eq!(alice["overall_code"], "OK", "{alice}");
    let mixed = client.call(
        token,
        "gateway",
        &["user=bob", "user=alice", "tier=free"],
        1,
    );
    assert_eq!(mixed["overall_code"], "OVER_LIMIT", "{mixed}");
    let codes: Vec<&Value> = mixed["statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .map(|s| &s["code"])
        .collect();
    assert_eq!(codes, [&json!("OK"), &json!("OVER_LIMIT"), &json!("OK")]);
    assert!(
        mixed["statuses"][2].get("current_limit").is_none(),
        "{mixed}"
    );

    // Errors Envoy can act on: an unknown domain, bad descriptors, tokens.
    let unknown = client.call(token, "nope", &["path=/x"], 1);
    assert_eq!(unknown["error"], "NOT_FOUND", "{unknown}");
    let no_descriptors = client.call(token, "gateway", &[], 1);
    assert_eq!(
        no_descriptors["error"], "INVALID_ARGUMENT",
        "{no_descriptors}"
    );
    let anonymous = client.call(None, "gateway", &["path=/x"], 1);
    assert_eq!(anonymous["error"], "UNAUTHENTICATED", "{anonymous}");
    let wrong = client.call(Some(&"x".repeat(64)), "gateway", &["path=/x"], 1);
    assert_eq!(wrong["error"], "UNAUTHENTICATED", "{wrong}");
    let other_scope = client.call(Some(&submit_token), "gateway", &["path=/x"], 1);
    assert_eq!(other_scope["error"], "PERMISSION_DENIED", "{other_scope}");
    let worker_token = std::fs::read_to_string(cluster.dir.join("w1.token")).expect("worker token");
    let worker = client.call(Some(worker_token.trim()), "gateway", &["path=/x"], 1);
    assert_eq!(worker["error"], "PERMISSION_DENIED", "{worker}");
    let member = client.call(Some(&cluster.token(1)), "gateway", &["path=/x"], 1);
    assert_eq!(member["overall_code"], "OK", "{member}");
    // Revoked: refused from then on.
    let listed = cluster.cli(1, &["token", "list", "--format", "json"]);
    let listed: Value = serde_json::from_str(&stdout(&listed)).expect("JSON");
    let id = listed["tokens"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["scopes"] == json!(["ratelimit"]))
        .and_then(|t| t["id"].as_str())
        .expect("the gateway's token")
        .to_string();
    assert!(cluster.cli(1, &["token", "revoke", &id]).status.success());
    let revoked = client.call(token, "gateway", &["path=/x"], 1);
    assert_eq!(revoked["error"], "UNAUTHENTICATED", "{revoked}");
}
