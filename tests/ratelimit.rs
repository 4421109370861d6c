//! Rate-limit policies deployed to a real cluster (`edgeflow apply`) and enforced through
//! every interface a gateway uses: the HTTP check (by policy, by route and descriptors),
//! nginx's `auth_request` form, with the headers clients read; `policy` and
//! `deployments` as an operator sees them; shadow mode; submitted runs using the
//! deployed policy. Periods are long (1h) so no token refills during a test: counts are
//! exact.

mod common;

use common::cluster::Cluster;
use common::http::{self, Reply};
use common::{stderr, stdout};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const LIMITS: &str = r#"
/// Five calls an hour for the whole fleet.
policy generate_api {
  match: route("/api/v1/generate")
  limit: 5 per 1h
  scope: global
}

/// Three an hour per user, on every edge alike.
policy per_user {
  match: key("user")
  limit: 3 per 1h
  by: ["user"]
}

workflow limited(user: string = "run-user") {
  let first = ratelimit.acquire(policy: per_user, key: user)
  return { allowed: first.allowed }
}
"#;

/// The same policy name as `LIMITS`, with a budget that would admit everything: a run of
/// it must use the deployed `generate_api`, not its own.
const GENEROUS: &str = r#"
policy generate_api {
  match: route("/api/v1/generate")
  limit: 1000 per 1h
}

policy only_here {
  match: route("/elsewhere")
  limit: 1000 per 1h
}

workflow try_generate() {
  let deployed = ratelimit.acquire(policy: generate_api)
  let own = ratelimit.acquire(policy: only_here)
  return { deployed: deployed.allowed, own: own.allowed }
}
"#;

fn write_file(cluster: &Cluster, name: &str, text: &str) -> PathBuf {
    let path = cluster.dir.join(name);
    std::fs::write(&path, text).expect("file written");
    path
}

fn check(cluster: &Cluster, via: u64, body: &Value) -> Reply {
    let token = cluster.token(via);
    http::request(
        cluster.url(via),
        "POST",
        "/v1/ratelimit/check",
        Some(&token),
        Some(body.to_string().as_bytes()),
    )
    .expect("answer")
}

fn cli_json(cluster: &Cluster, args: &[&str]) -> Value {
    let output = cluster.cli(1, args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    serde_json::from_str(&stdout(&output)).expect("JSON")
}

#[test]
fn deployed_policies_are_enforced_through_the_http_check_and_nginx_form() {
    let cluster = Cluster::up("ratelimit-http", 3);
    let limits = write_file(&cluster, "limits.edgeflow", LIMITS);
    let limits = limits.to_str().expect("path");
    let applied = cli_json(&cluster, &["apply", limits, "--format", "json"]);
    for via in 1..=3 {
        cluster.await_policy(via, "generate_api");
    }
    assert_eq!(applied["name"], "limits");
    assert_eq!(applied["version"], 1);
    assert_eq!(applied["policies"], json!(["generate_api", "per_user"]));
    let listed = cli_json(&cluster, &["deployments", "list", "--format", "json"]);
    assert_eq!(listed["deployments"][0]["name"], "limits");
    assert_eq!(listed["deployments"][0]["workflows"], json!(["limited"]));
    let policies = cli_json(&cluster, &["policy", "list", "--format", "json"]);
    assert_eq!(policies["policies"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        policies["policies"][0]["match"],
        "route(\"/api/v1/generate\")"
    );

    // One budget for the fleet: five admitted through node 2, then every node refuses.
    let generate = json!({"route": "/api/v1/generate", "tokens": 1});
    for n in 1..=5 {
        let reply = check(&cluster, 2, &generate);
        assert_eq!(reply.status, 200, "request {n}: {}", reply.body);
        assert_eq!(reply.json()["allowed"], true);
        assert_eq!(reply.header("x-ratelimit-limit"), Some("5"));
        assert!(reply.header("x-ratelimit-remaining").is_some());
        assert!(reply.header("retry-after").is_none());
    }
    for via in [2, 1, 3] {
        let refused = check(&cluster, via, &generate);
        assert_eq!(refused.status, 429, "via {via}: {}", refused.body);
        let body = refused.json();
        assert_eq!(body["allowed"], false);
        assert_eq!(body["limit"], 5);
        assert!(body["retry_after"].is_string(), "{body}");
        let retry: u64 = refused
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in seconds");
        // One token refills in 12 minutes.
        assert!((1..=720).contains(&retry), "Retry-After {retry}");
        assert_eq!(refused.header("x-ratelimit-remaining"), Some("0"));
        assert!(refused.header("x-ratelimit-reset").is_some());
    }

    // A budget per user: alice's three, then 429; bob still has his.
    let alice = json!({"descriptors": {"user": "alice"}});
    for _ in 0..3 {
        assert_eq!(check(&cluster, 3, &alice).status, 200);
    }
    assert_eq!(check(&cluster, 1, &alice).status, 429);
    assert_eq!(
        check(&cluster, 1, &json!({"descriptors": {"user": "bob"}})).status,
        200
    );
    // By policy and key: the same budgets.
    let carol = json!({"policy": "per_user", "key": "carol", "tokens": 3});
    assert_eq!(check(&cluster, 2, &carol).status, 200);
    assert_eq!(check(&cluster, 2, &carol).status, 429);
    // nginx's auth_request form: 204 while admitted, then 429, no body.
    let token = cluster.token(1);
    let auth = |key: &str| {
        http::get(
            cluster.url(1),
            &format!("/v1/ratelimit/auth/per_user?key={key}"),
            Some(&token),
        )
        .expect("answer")
    };
    for _ in 0..3 {
        let admitted = auth("dave");
        assert_eq!(admitted.status, 204, "{}", admitted.body);
        assert!(admitted.header("x-ratelimit-limit").is_some());
    }
    let refused = auth("dave");
    assert_eq!(refused.status, 429);
    assert!(refused.header("retry-after").is_some());

    // A request no policy matches is admitted, with no limit to report.
    let free = check(&cluster, 1, &json!({"route": "/health"}));
    assert_eq!(free.status, 200, "{}", free.body);
    assert_eq!(free.json()["limit"], Value::Null);

    // Bad input: 400 or 404 naming the problem, nothing decided.
    let bad = [
        (json!({"policy": "nope"}), 404, "no policy `nope`"),
        (json!({"policy": "per_user", "tokens": 0}), 400, "tokens"),
        (
            json!({"policy": "per_user", "route": "/api/v1/generate"}),
            400,
            "not both",
        ),
        (json!({"policy": "per_user", "color": "red"}), 400, "color"),
        (
            json!({"policy": "per_user", "key": "k".repeat(600)}),
            400,
            "at most",
        ),
        (
            json!({"policy": "per_user", "tokens": 4}),
            400,
            "never be admitted",
        ),
        (json!({"policy": 7}), 400, "not a rate-limit check"),
    ];
    for (body, status, says) in bad {
        let reply = check(&cluster, 1, &body);
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert!(reply.body.contains(says), "{body}: {}", reply.body);
    }
    let too_many: serde_json::Map<String, Value> =
        (0..65).map(|i| (format!("d{i}"), json!("v"))).collect();
    assert_eq!(
        check(&cluster, 1, &json!({"descriptors": too_many})).status,
        400
    );

    // The operator's view: the budget of a key, and each edge's decisions (from their
    // heartbeats).
    let deadline = Instant::now() + Duration::from_secs(10);
    let shown = loop {
        let shown = cli_json(
            &cluster,
            &["policy", "show", "generate_api", "--format", "json"],
        );
        let admitted: u64 = shown["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["admitted"].as_u64())
            .sum();
        if admitted == 5 || Instant::now() > deadline {
            break shown;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(shown["usage"]["used"], 5, "{shown}");
    assert_eq!(shown["usage"]["remaining"], 0, "{shown}");
    let denied: u64 = shown["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["denied"].as_u64())
        .sum();
    assert!(denied >= 3, "{shown}");
    let alice_budget = cli_json(
        &cluster,
        &[
            "policy", "show", "per_user", "--key", "alice", "--format", "json",
        ],
    );
    assert_eq!(alice_budget["usage"]["used"], 3, "{alice_budget}");
    let human = cluster.cli(1, &["policy", "show", "generate_api"]);
    assert!(
        stdout(&human).contains("5 used, 0 remaining of 5"),
        "{}",
        stdout(&human)
    );
}

#[test]
fn deployments_replace_shadow_remove_and_win_over_a_runs_own_policy() {
    let cluster = Cluster::up("ratelimit-deployments", 3);
    let limits = write_file(&cluster, "limits.edgeflow", LIMITS);
    let limits = limits.to_str().expect("path");
    let generous = write_file(&cluster, "generous.edgeflow", GENEROUS);
    let generous = generous.to_str().expect("path");
    assert!(cluster.cli(1, &["apply", limits]).status.success());
    cluster.await_policy(1, "generate_api");
    let generate = json!({"route": "/api/v1/generate"});
    for _ in 0..5 {
        assert_eq!(check(&cluster, 1, &generate).status, 200);
    }
    assert_eq!(check(&cluster, 1, &generate).status, 429);

    // A run whose program declares `generate_api` generously uses the deployed one (now
    // spent); a policy only its program has is its own.
    let submitted = cluster.cli(2, &["submit", generous, "--wait", "--format", "json"]);
    assert!(submitted.status.success(), "{}", stderr(&submitted));
    let output: Value = serde_json::from_str(&stdout(&submitted)).expect("JSON");
    assert_eq!(output, json!({"deployed": false, "own": true}));

    // A policy name is active in one deployment only: applying it under another name is
    // refused, and nothing changes.
    let clash = cluster.cli(1, &["apply", generous]);
    assert_eq!(clash.status.code(), Some(1));
    assert!(
        stderr(&clash).contains("active in deployment `limits`"),
        "{}",
        stderr(&clash)
    );

    // Shadow mode: the same policies decide and count, and never deny.
    let shadow = cli_json(&cluster, &["apply", limits, "--shadow", "--format", "json"]);
    assert_eq!(
        (shadow["version"].clone(), shadow["shadow"].clone()),
        (json!(2), json!(true))
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let admitted = loop {
        let reply = check(&cluster, 3, &generate);
        if reply.status != 429 || Instant::now() > deadline {
            break reply;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(admitted.status, 200, "{}", admitted.body);
    let body = admitted.json();
    assert_eq!(body["allowed"], true);
    assert_eq!(body["policies"][0]["allowed"], false, "{body}");
    assert_eq!(body["policies"][0]["shadow"], true, "{body}");
    let listed = cli_json(
        &cluster,
        &["deployments", "show", "limits", "--format", "json"],
    );
    assert_eq!(listed["version"], 2);
    assert_eq!(listed["shadow"], true);
    assert_eq!(listed["policies"][1]["by"], json!(["user"]));

    // Removed: its policies are no longer enforced anywhere, the generous file can be
    // applied, and a check by the removed name is 404.
    let removed = cluster.cli(1, &["deployments", "remove", "limits"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    // Node 2 stops enforcing them as soon as it has applied the removal.
    let deadline = Instant::now() + Duration::from_secs(5);
    while check(&cluster, 2, &json!({"policy": "per_user"})).status != 404 {
        assert!(
            Instant::now() < deadline,
            "node 2 still enforces a removed policy"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let gone = cluster.cli(1, &["deployments", "show", "limits"]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(cluster.cli(1, &["apply", generous]).status.success());
    cluster.await_policy(2, "generate_api");
    assert_eq!(check(&cluster, 2, &generate).status, 200);
    let missing = cluster.cli(1, &["deployments", "remove", "limits"]);
    assert!(
        stderr(&missing).contains("no deployment `limits`"),
        "{}",
        stderr(&missing)
    );

    // Bad input to apply: a file with errors, an impossible name, no cluster.
    let broken = write_file(&cluster, "broken.edgeflow", "policy p { limit: 0 per 1s }");
    let refused = cluster.cli(1, &["apply", broken.to_str().expect("path")]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    let bad_name = cluster.cli(1, &["apply", limits, "--name", "no/slashes"]);
    assert_eq!(bad_name.status.code(), Some(1));
    assert!(
        stderr(&bad_name).contains("deployment name"),
        "{}",
        stderr(&bad_name)
    );
    let nowhere = common::edgeflow(&["apply", limits]);
    assert_eq!(nowhere.status.code(), Some(2), "{}", stderr(&nowhere));
}

/// nginx's master process, stopped with SIGTERM (it stops its workers; SIGKILL would
/// leave them behind).
struct Nginx(std::process::Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// nginx's configuration in examples/nginx with this test's ports and token, inside the
/// `http` block of a minimal main configuration, beside a toy upstream.
fn nginx_config(
    dir: &std::path::Path,
    listen: u16,
    upstream: u16,
    node: &str,
    token: &str,
) -> PathBuf {
    let example = std::fs::read_to_string(common::root().join("examples/nginx/ratelimit.conf"))
        .expect("the example nginx configuration");
    let site = example
        .replace("${LISTEN}", &listen.to_string())
        .replace("${UPSTREAM}", &format!("127.0.0.1:{upstream}"))
        .replace("${EDGEFLOW_NODE}", node.trim_start_matches("http://"))
        .replace("${EDGEFLOW_TOKEN}", token);
    let temp = dir.join("nginx-temp");
    std::fs::create_dir_all(&temp).expect("temp dir");
    let temp = temp.display();
    let main = format!(
        "worker_processes 1;\nerror_log {dir}/nginx-error.log;\npid {dir}/nginx.pid;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {temp};\n  proxy_temp_path {temp};\n\
         fastcgi_temp_path {temp};\n  uwsgi_temp_path {temp};\n  scgi_temp_path {temp};\n\
         server {{ listen 127.0.0.1:{upstream}; location / {{ return 200 \"generated\\n\"; }} }}\n\
         {site}\n}}\n",
        dir = dir.display(),
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, main).expect("nginx.conf");
    path
}

#[test]
fn nginx_in_front_refuses_the_request_past_the_budget() {
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|path| std::path::Path::new(path).exists())
        .expect("nginx is not installed: install Debian's nginx-light (.ci/run does)");
    let cluster = Cluster::up("ratelimit-nginx", 1);
    let policy = write_file(
        &cluster,
        "gateway.edgeflow",
        "policy generate_api {\n  match: route(\"/api/v1/generate\")\n  limit: 1000 per 1d\n  scope: global\n}\n",
    );
    let applied = cluster.cli(1, &["apply", policy.to_str().expect("path")]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    let client = cluster.cli(1, &["token", "create", "--scope", "ratelimit"]);
    assert!(client.status.success(), "{}", stderr(&client));
    let client_token = stdout(&client).trim().to_string();
    let (listen, upstream) = (common::free_port(), common::free_port());
    let config = nginx_config(
        &cluster.dir,
        listen,
        upstream,
        cluster.url(1),
        &client_token,
    );
    let tested = std::process::Command::new(nginx)
        .args(["-t", "-q", "-c"])
        .arg(&config)
        .output()
        .expect("nginx -t runs");
    assert!(tested.status.success(), "{}", stderr(&tested));
    let _nginx = Nginx(
        std::process::Command::new(nginx)
            .args(["-g", "daemon off;", "-c"])
            .arg(&config)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nginx starts"),
    );
    let front = format!("http://127.0.0.1:{listen}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while http::get(&front, "/", None).is_err() {
        assert!(Instant::now() < deadline, "nginx did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    for n in 1..=1_000 {
        let reply = http::get(&front, "/api/v1/generate", None).expect("nginx answers");
        assert_eq!(reply.status, 200, "request {n}: {}", reply.body);
        assert_eq!(reply.body, "generated\n");
    }
    let refused = http::get(&front, "/api/v1/generate", None).expect("nginx answers");
    assert_eq!(refused.status, 429, "the 1,001st request: {}", refused.body);
    let retry: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After from the node");
    assert!(retry >= 1, "{retry}");
}

const ON_A_WORKER: &str = r#"
edges {
  w1 { region: "lab" }
}

policy worker_calls {
  match: route("/worker")
  limit: 2 per 1h
  scope: global
}

workflow on_worker() {
  let a = ratelimit.acquire(policy: worker_calls) on w1
  let b = ratelimit.acquire(policy: worker_calls) on w1 after a
  let c = ratelimit.acquire(policy: worker_calls) on w1 after b
  let usage = ratelimit.usage(policy: worker_calls) on w1 after c
  return { a: a.allowed, b: b.allowed, c: c.allowed, used: usage.used }
}
"#;

#[test]
fn a_worker_decides_from_its_own_lease_of_the_deployed_policy() {
    let cluster = Cluster::up_with_workers("ratelimit-worker", 1, 1);
    let file = write_file(&cluster, "on_worker.edgeflow", ON_A_WORKER);
    let file = file.to_str().expect("path");
    // Not deployed: a step on a worker has no policies of its own to use.
    let undeployed = cluster.cli(1, &["submit", file, "--wait"]);
    assert_eq!(undeployed.status.code(), Some(1));
    assert!(
        stderr(&undeployed).contains("edgeflow apply"),
        "{}",
        stderr(&undeployed)
    );
    assert!(cluster.cli(1, &["apply", file]).status.success());
    let submitted = cluster.cli(1, &["submit", file, "--wait", "--format", "json"]);
    assert!(submitted.status.success(), "{}", stderr(&submitted));
    let output: Value = serde_json::from_str(&stdout(&submitted)).expect("JSON");
    assert_eq!(output, json!({"a": true, "b": true, "c": false, "used": 2}));
    // The ledger's leases are the worker's own: it may not lease for another edge.
    let worker_token = std::fs::read_to_string(cluster.dir.join("w1.token"))
        .expect("worker token")
        .trim()
        .to_string();
    let policy = cli_json(
        &cluster,
        &["policy", "show", "worker_calls", "--format", "json"],
    );
    assert_eq!(policy["usage"]["used"], 2, "{policy}");
    let lease = |edge: &str| {
        let mut fields = json!({
            "op": "quota", "action": "lease", "key": "", "edge": edge, "need": 1, "want": 1,
        });
        fields["policy"] = json!({
            "name": policy["name"], "algorithm": "token_bucket",
            "limit": {"count": 2, "per_ns": 3_600_000_000_000u64, "burst": 2},
            "scope": "global", "by": [], "on_exceed": "reject",
        });
        http::request(
            cluster.url(1),
            "POST",
            "/v1/ops/write",
            Some(&worker_token),
            Some(json!({"command": fields}).to_string().as_bytes()),
        )
        .expect("answer")
    };
    let forged = lease("node_1");
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(forged.body.contains("its own edge"), "{}", forged.body);
    let own = lease("w1");
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(
        own.json()["granted"],
        0,
        "the budget is spent: {}",
        own.body
    );
}
