//! A single-node cluster on disk: writes commit through Raft, reads are linearizable,
//! and everything committed survives a restart (also past a snapshot and log purge).

use edgeflow_runtime::command::{Command, Response};
use edgeflow_runtime::node::Node;
use serde_json::json;

fn put(key: &str, value: serde_json::Value) -> Command {
    Command::Put {
        ns: "test".into(),
        key: key.into(),
        value,
        if_version: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_writes_survive_a_restart() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    {
        let node = Node::start_single(dir.path(), "local")
            .await
            .expect("node starts");
        let response = node.write(put("a", json!(1))).await.expect("write commits");
        assert_eq!(
            response,
            Response::Put {
                success: true,
                version: 1
            }
        );
        let response = node.write(put("a", json!(2))).await.expect("write commits");
        assert_eq!(
            response,
            Response::Put {
                success: true,
                version: 2
            }
        );
        let value = node
            .read(|state| state.get("test", "a").cloned())
            .await
            .expect("read");
        assert_eq!(value.map(|v| (v.value, v.version)), Some((json!(2), 2)));
        node.shutdown().await.expect("clean shutdown");
    }
    let node = Node::start_single(dir.path(), "local")
        .await
        .expect("node restarts");
    let value = node
        .read(|state| state.get("test", "a").cloned())
        .await
        .expect("read");
    assert_eq!(value.map(|v| (v.value, v.version)), Some((json!(2), 2)));
    node.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_intact_after_snapshots_and_log_purges() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let writes = 5_200; // more than the 5,000 entries between snapshots
    {
        let node = Node::start_single(dir.path(), "local")
            .await
            .expect("node starts");
        for i in 0..writes {
            node.write(put(&format!("k{}", i % 100), json!(i)))
                .await
                .expect("write commits");
        }
        node.shutdown().await.expect("clean shutdown");
    }
    let node = Node::start_single(dir.path(), "local")
        .await
        .expect("node restarts");
    let (count, last) = node
        .read(|state| {
            (
                state.scan("test", "", 1_000).len(),
                state.get("test", "k99").map(|v| v.version),
            )
        })
        .await
        .expect("read");
    assert_eq!(count, 100);
    assert_eq!(last, Some(writes / 100));
    node.shutdown().await.expect("clean shutdown");
}
