//! Triggers on a real 3-node cluster: an `on every` schedule fires once per tick, also
//! across a SIGKILL of the leader; `triggers list` shows the next fire time; CloudEvents
//! from the official Python SDK, in structured, binary and batch mode, start each
//! matching workflow once — a resent event starts nothing new, a false `where` starts
//! nothing, a malformed event is refused and starts nothing.

mod common;

use common::cluster::Cluster;
use common::gate::Gate;
use common::{stderr, stdout};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn program(cluster: &Cluster, name: &str, source: &str) -> PathBuf {
    let file = cluster.dir.join(format!("{name}.edgeflow"));
    std::fs::write(&file, source).expect("program written");
    let applied = cluster.cli(1, &["apply", &file.to_string_lossy()]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    file
}

/// The runs of `workflow`, as `runs --workflow W --format json` lists them.
fn runs_of(cluster: &Cluster, via: u64, workflow: &str) -> Vec<Value> {
    let listed = cluster.cli(via, &["runs", "--workflow", workflow, "--format", "json"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    serde_json::from_slice::<Value>(&listed.stdout)
        .expect("JSON")
        .as_array()
        .cloned()
        .expect("an array of runs")
}

/// Waits until `duration` has passed since `from` (the behaviour under test is time).
fn until(from: Instant, duration: Duration) {
    if let Some(left) = duration.checked_sub(from.elapsed()) {
        std::thread::sleep(left);
    }
}

#[test]
fn an_interval_fires_once_per_tick_across_a_leader_kill() {
    let cluster = Cluster::up("triggers-every", 3);
    let armed = Instant::now();
    program(
        &cluster,
        "beat",
        "workflow beat() on every 2s {\n  let noted = log.emit(message: \"tick\")\n  return { time: trigger.time, ok: noted.success }\n}\n",
    );
    until(armed, Duration::from_secs(10));
    let first = runs_of(&cluster, 2, "beat");
    assert!(
        (4..=6).contains(&first.len()),
        "{} runs in 10 s: {first:?}",
        first.len()
    );
    let listed = cluster.cli(3, &["triggers", "list", "--format", "json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    let beat = &listed["triggers"][0];
    assert_eq!(beat["id"], "beat/beat#0", "{listed}");
    assert_eq!(beat["kind"], "every");
    assert!(
        beat["next_fire"].is_string() && beat["last_run"].is_string(),
        "{beat}"
    );

    let leader = cluster.leader_among(&[1, 2, 3]);
    cluster.kill(leader);
    let killed = Instant::now();
    let survivor = if leader == 1 { 2 } else { 1 };
    until(killed, Duration::from_secs(10));
    let all = runs_of(&cluster, survivor, "beat");
    let ticks: Vec<&str> = all
        .iter()
        .map(|run| run["trigger"]["time"].as_str().expect("a tick time"))
        .collect();
    let distinct: BTreeSet<&str> = ticks.iter().copied().collect();
    assert_eq!(distinct.len(), ticks.len(), "a tick fired twice: {ticks:?}");
    // 20 s of ticks every 2 s, less at most the failover's.
    assert!(
        (8..=11).contains(&all.len()),
        "{} runs in 20 s: {ticks:?}",
        all.len()
    );
    for run in &all {
        assert_eq!(run["trigger"]["kind"], "schedule", "{run}");
        assert_eq!(run["trigger"]["type"], "every", "{run}");
    }
    cluster.start(leader);
}

#[test]
fn a_cron_schedule_shows_its_next_fire_time() {
    let cluster = Cluster::up("triggers-cron", 1);
    program(
        &cluster,
        "nightly",
        "workflow nightly() on schedule \"0 2 * * *\" {\n  let noted = log.emit(message: \"compaction\")\n  return noted.success\n}\n",
    );
    let listed = cluster.cli(1, &["triggers", "list", "--format", "json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    let next = listed["triggers"][0]["next_fire"]
        .as_str()
        .expect("next fire");
    assert!(next.ends_with("T02:00:00Z"), "{listed}");
    let table = cluster.cli(1, &["triggers", "list"]);
    assert!(
        common::stdout(&table).contains("nightly/nightly#0"),
        "{}",
        common::stdout(&table)
    );
    // Removing the deployment disarms it.
    let removed = cluster.cli(1, &["deployments", "remove", "nightly"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    let listed = cluster.cli(1, &["triggers", "list", "--format", "json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    assert_eq!(listed["triggers"], json!([]));
}

/// Sends `events` with the CloudEvents Python SDK in `mode` to node 2; the answers in
/// order.
fn send(cluster: &Cluster, token: &str, mode: &str, events: Value) -> Vec<Value> {
    sender(cluster.url(2), token, &[mode], events.to_string())
}

fn sender(url: &str, token: &str, args: &[&str], input: String) -> Vec<Value> {
    let mut child = Command::new("python3")
        .arg(common::root().join("tests/events/send.py"))
        .args([url, token])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (.ci/run installs the cloudevents package)");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("events written");
    let output = child.wait_with_output().expect("sender ends");
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON answer"))
        .collect()
}

fn reading(id: &str, celsius: f64) -> Value {
    json!({"id": id, "source": "/sensors/hall", "type": "sensor.temperature", "data": {"celsius": celsius}})
}

#[test]
fn cloud_events_start_each_matching_workflow_once() {
    let cluster = Cluster::up("triggers-events", 3);
    program(&cluster, "alerts", OVERHEAT);
    let token = cluster.token(1);
    let structured = send(&cluster, &token, "structured", json!([reading("e1", 35.0)]));
    assert_eq!(structured[0]["status"], 202, "{structured:?}");
    let first_run = structured[0]["body"]["run_ids"].clone();
    assert_eq!(
        first_run.as_array().map(Vec::len),
        Some(1),
        "{structured:?}"
    );
    assert_eq!(structured[0]["body"]["duplicate"], false);
    // A resend (same source and id), in another mode even: the same run, nothing new.
    let resent = send(&cluster, &token, "binary", json!([reading("e1", 35.0)]));
    assert_eq!(resent[0]["status"], 202, "{resent:?}");
    assert_eq!(resent[0]["body"]["duplicate"], true);
    assert_eq!(resent[0]["body"]["run_ids"], first_run);
    let binary = send(&cluster, &token, "binary", json!([reading("e2", 40.0)]));
    assert_eq!(
        binary[0]["body"]["run_ids"].as_array().map(Vec::len),
        Some(1)
    );
    // A batch: one cool reading (the `where` is false: no run), one hot.
    let batch = send(
        &cluster,
        &token,
        "batch",
        json!([reading("e3", 20.0), reading("e4", 50.0)]),
    );
    assert_eq!(batch[0]["status"], 202, "{batch:?}");
    assert_eq!(batch[0]["body"]["events"][0]["run_ids"], json!([]));
    assert_eq!(
        batch[0]["body"]["events"][1]["run_ids"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // An event type nobody listens to: accepted, no runs.
    let other = send(
        &cluster,
        &token,
        "structured",
        json!([{"id": "o1", "source": "/x", "type": "door.opened", "data": {}}]),
    );
    assert_eq!(other[0]["status"], 202);
    assert_eq!(other[0]["body"]["run_ids"], json!([]));

    // Malformed: refused with the problem named, nothing started.
    for (body, content_type, problem) in [
        (
            r#"{"specversion":"1.0","source":"/s","type":"sensor.temperature","data":{"celsius":99}}"#,
            "application/cloudevents+json",
            "id",
        ),
        (
            r#"[{"specversion":"1.0","id":"e9","source":"/s","type":"sensor.temperature"},{"specversion":"1.0","id":"e10"}]"#,
            "application/cloudevents-batch+json",
            "event 1 of the batch",
        ),
        (r#"{"celsius": 99}"#, "application/json", "not a CloudEvent"),
    ] {
        let refused = sender(
            cluster.url(1),
            &token,
            &["raw", content_type],
            body.to_string(),
        );
        let refused = &refused[0];
        assert_eq!(refused["status"], 400, "{refused}");
        let error = refused["body"]["error"].as_str().unwrap_or_default();
        assert!(error.contains(problem), "{refused}");
    }
    // e9 of the refused batch was not accepted: sent alone now, it starts its run.
    let e9 = send(&cluster, &token, "structured", json!([reading("e9", 90.0)]));
    assert_eq!(e9[0]["body"]["duplicate"], false, "{e9:?}");

    let deadline = Instant::now() + Duration::from_secs(30);
    let runs = loop {
        let runs = runs_of(&cluster, 3, "overheat");
        if runs.iter().all(|r| r["status"] != "running") {
            break runs;
        }
        assert!(Instant::now() < deadline, "runs never finished: {runs:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let ids: BTreeSet<&str> = runs
        .iter()
        .map(|r| {
            r["trigger"]["data"]["celsius"].as_f64().map_or("?", |c| {
                if c > 30.0 {
                    "hot"
                } else {
                    "cool"
                }
            })
        })
        .collect();
    assert_eq!(runs.len(), 4, "e1, e2, e4 and e9 once each: {runs:?}");
    assert_eq!(ids, BTreeSet::from(["hot"]));
    for run in &runs {
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(run["trigger"]["type"], "sensor.temperature");
        assert_eq!(run["trigger"]["source"], "/sensors/hall");
    }
}

const OVERHEAT: &str = "workflow overheat() on event \"sensor.temperature\" where float(trigger.data.celsius) > 30.0 {\n  let noted = log.emit(message: \"hot at \" + trigger.source)\n  return { source: trigger.source, ok: noted.success }\n}\n";

/// The API address a node's configuration file gives it.
fn api_of(cluster: &Cluster, id: u64) -> String {
    let config = std::fs::read_to_string(cluster.config(id)).expect("config");
    let listen = config
        .lines()
        .find_map(|line| line.strip_prefix("api_listen = \""))
        .expect("api_listen")
        .trim_end_matches('"');
    format!("http://{listen}")
}

#[test]
fn a_worker_cut_off_keeps_events_and_delivers_each_once_on_reconnect() {
    let cluster = Cluster::up_with_workers("triggers-worker", 3, 1);
    let uplink = Gate::default();
    cluster.add_worker(103, "site", "region = \"eu\"", Some(&uplink));
    program(&cluster, "alerts", OVERHEAT);
    let (site, token) = (api_of(&cluster, 103), cluster.token(1));
    let hot = |n: u64| json!([{"id": format!("s{n}"), "source": "/site/oven", "type": "sensor.temperature", "data": {"celsius": 50, "n": n}}]);
    // Connected: relayed to the cluster at once.
    let relayed = sender(&site, &token, &["structured"], hot(1).to_string());
    assert_eq!(relayed[0]["status"], 202, "{relayed:?}");
    assert_eq!(
        relayed[0]["body"]["run_ids"].as_array().map(Vec::len),
        Some(1)
    );
    // A bad token is the cluster's to refuse, also through the worker.
    let wrong = sender(&site, "not-a-token", &["structured"], hot(1).to_string());
    assert_eq!(wrong[0]["status"], 403, "{wrong:?}");
    let none = sender(&site, "", &["structured"], hot(1).to_string());
    assert_eq!(none[0]["status"], 401, "{none:?}");
    // Every other kind of token, relayed: only a member's and a client's with the
    // `events` scope are let through (the cluster decides, the worker passes it on).
    let client = |scope: &str, description: &str| {
        let created = cluster.cli(
            1,
            &[
                "token",
                "create",
                "--scope",
                scope,
                "--description",
                description,
            ],
        );
        assert!(created.status.success(), "{}", stderr(&created));
        stdout(&created).trim().to_string()
    };
    let events = client("events", "sensors");
    let reader = client("state:read", "dashboards");
    let revoked = client("events", "retired sensors");
    let listed = cluster.cli(1, &["token", "list", "--format", "json"]);
    let listed: Value = serde_json::from_str(&stdout(&listed)).expect("JSON");
    let revoked_id = listed["tokens"]
        .as_array()
        .and_then(|tokens| {
            tokens
                .iter()
                .find(|t| t["description"] == "retired sensors")
        })
        .and_then(|t| t["id"].as_str())
        .expect("the token to revoke is listed")
        .to_string();
    let revoke = cluster.cli(1, &["token", "revoke", &revoked_id]);
    assert!(revoke.status.success(), "{}", stderr(&revoke));
    let own = std::fs::read_to_string(cluster.token_file(103)).expect("worker token");
    let other = std::fs::read_to_string(cluster.dir.join("w1.token")).expect("worker token");
    for (kind, token, status) in [
        ("a client's with `events`", events.as_str(), 202),
        ("a client's without `events`", reader.as_str(), 403),
        ("a revoked client's", revoked.as_str(), 403),
        ("this worker's own", own.trim(), 403),
        ("another worker's", other.trim(), 403),
    ] {
        // The event sent first again: accepted, it starts nothing new.
        let answer = sender(&site, token, &["structured"], hot(1).to_string());
        assert_eq!(answer[0]["status"], status, "{kind}: {answer:?}");
    }

    uplink.cut();
    for n in [2, 3, 4, 2] {
        let kept = sender(&site, &token, &["structured"], hot(n).to_string());
        assert_eq!(kept[0]["status"], 202, "{kept:?}");
        assert_eq!(kept[0]["body"]["queued"], true, "{kept:?}");
    }
    // Malformed events are refused by the worker itself, cut off or not.
    let malformed = sender(
        &site,
        &token,
        &["raw", "application/cloudevents+json"],
        r#"{"specversion":"1.0","source":"/site","type":"sensor.temperature"}"#.into(),
    );
    assert_eq!(malformed[0]["status"], 400, "{malformed:?}");
    uplink.reconnect();

    let deadline = Instant::now() + Duration::from_secs(30);
    let runs = loop {
        let runs = runs_of(&cluster, 1, "overheat");
        if runs.len() >= 4 && runs.iter().all(|r| r["status"] != "running") {
            break runs;
        }
        assert!(
            Instant::now() < deadline,
            "the kept events never arrived: {runs:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut seen: Vec<u64> = runs
        .iter()
        .map(|r| r["trigger"]["data"]["n"].as_u64().expect("n"))
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        vec![1, 2, 3, 4],
        "every event's run exists once: {runs:?}"
    );

    // A full outbox refuses (507) rather than drop: the site restarted with 1 KiB of it.
    cluster.kill(103);
    let mut config = std::fs::read_to_string(cluster.config(103)).expect("config");
    config.push_str("\n[events]\noutbox = \"1KiB\"\n");
    std::fs::write(cluster.config(103), config).expect("config written");
    uplink.cut();
    cluster.start(103);
    let deadline = Instant::now() + Duration::from_secs(20);
    while common::http::get(&site, "/healthz", None).map_or(0, |r| r.status) != 200 {
        assert!(Instant::now() < deadline, "the site never came back");
        std::thread::sleep(Duration::from_millis(20));
    }
    let statuses: Vec<Value> = (10..20)
        .map(|n| sender(&site, &token, &["structured"], hot(n).to_string())[0].clone())
        .collect();
    assert_eq!(statuses[0]["status"], 202, "{statuses:?}");
    let full = statuses
        .iter()
        .find(|answer| answer["status"] == 507)
        .unwrap_or_else(|| panic!("never full: {statuses:?}"));
    assert!(
        full["body"]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("outbox is full"),
        "{full}"
    );
    uplink.reconnect();
}
