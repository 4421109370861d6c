//! The replicated key-value state as a user reaches it — HTTP, the CLI and workflows:
//! compare-and-set that never succeeds on a new incarnation of a key (versions never
//! repeat, also across a delete), and keys that could never be named refused everywhere.

mod common;

use common::cluster::Cluster;
use common::{edgeflow, http, stderr, stdout};
use serde_json::json;

#[test]
fn compare_and_set_never_succeeds_on_a_new_incarnation_of_a_key() {
    let cluster = Cluster::up("state-compare-and-set", 1);
    let token = cluster.token(1);
    let put = |query: &str, body: &str| {
        http::request(
            cluster.url(1),
            "PUT",
            &format!("/v1/state/cas/k{query}"),
            Some(&token),
            Some(body.as_bytes()),
        )
        .expect("answer")
    };
    let created = put("?if_version=0", "\"first\"");
    assert_eq!(
        (created.status, created.json()["version"].clone()),
        (200, json!(1))
    );
    let taken = put("?if_version=0", "\"second\"");
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert_eq!(taken.json()["version"], 1, "{}", taken.body);
    // Delete and re-create: the new incarnation continues at version 2, so a writer
    // still holding version 1 of the old one cannot overwrite it (ABA).
    let deleted = http::request(
        cluster.url(1),
        "DELETE",
        "/v1/state/cas/k",
        Some(&token),
        None,
    )
    .expect("answer");
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let recreated = put("?if_version=0", "\"again\"");
    assert_eq!(
        (recreated.status, recreated.json()["version"].clone()),
        (200, json!(2))
    );
    let stale = put("?if_version=1", "\"stale writer\"");
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert!(stale.body.contains("at version 2, not 1"), "{}", stale.body);
    assert_eq!(cluster.get(1, "cas", "k", false).json()["value"], "again");
    let bad = put("?if_version=-1", "1");
    assert_eq!(bad.status, 400, "{}", bad.body);
    // Integers past 64 bits are refused, not turned into floats.
    let huge = put("", r#"{"counter": 18446744073709551616}"#);
    assert_eq!(huge.status, 400, "{}", huge.body);
    assert!(
        huge.body.contains("does not fit in 64 bits"),
        "{}",
        huge.body
    );

    // The CLI: `state put --if-version`.
    let stale = cluster.cli(
        1,
        &["state", "put", "cas", "k", "\"cli\"", "--if-version", "1"],
    );
    assert_eq!(stale.status.code(), Some(1), "{}", stderr(&stale));
    assert!(
        stderr(&stale).contains("at version 2, not 1"),
        "{}",
        stderr(&stale)
    );
    let written = cluster.cli(
        1,
        &["state", "put", "cas", "k", "\"cli\"", "--if-version", "2"],
    );
    assert!(written.status.success(), "{}", stderr(&written));
    let answer: serde_json::Value = serde_json::from_str(stdout(&written).trim()).expect("JSON");
    assert_eq!(answer["version"], 3);
}

#[test]
fn keys_that_cannot_be_named_are_refused_everywhere() {
    let cluster = Cluster::up("state-unnamable", 1);
    let token = cluster.token(1);
    for path in [
        "/v1/state/ns/.",
        "/v1/state/ns/..",
        "/v1/state/ns/%2E%2E",
        "/v1/state/./k",
    ] {
        let reply =
            http::request(cluster.url(1), "PUT", path, Some(&token), Some(b"1")).expect("answer");
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert!(
            reply.body.contains("cannot be used"),
            "{path}: {}",
            reply.body
        );
    }
    // An empty segment is not a route at all.
    let empty = http::request(
        cluster.url(1),
        "PUT",
        "/v1/state//k",
        Some(&token),
        Some(b"1"),
    )
    .expect("answer");
    assert_ne!(empty.status, 200, "{}", empty.body);
    let cli = cluster.cli(1, &["state", "put", "ns", "", "1"]);
    assert_ne!(cli.status.code(), Some(0));
    assert!(stderr(&cli).contains("cannot be used"), "{}", stderr(&cli));

    // A workflow's op says so too, naming the key.
    let dir = tempdir("state-unnamable-workflow");
    let file = dir.join("keys.edgeflow");
    std::fs::write(
        &file,
        "workflow dots() {\n  let put = state.put(ns: \"n\", key: \"..\", value: 1)\n  return { ok: put.success }\n}\n",
    )
    .expect("write");
    let run = edgeflow(&["run", &file.to_string_lossy(), "--ephemeral"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("the key `..` cannot be used"),
        "{}",
        stderr(&run)
    );
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}
