//! After the faults: every node must hold the same state. Each node's
//! `GET /v1/cluster/digest` gives the digest of its applied state and the log index it
//! was taken at; nodes that report the same index must report the same digest (else
//! they diverged), and all of them must reach a common index (else they did not
//! converge). Also each node's own copy of a coordination group.

use crate::common::cluster::Cluster;
use crate::common::http;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn get_json(
    cluster: &Cluster,
    id: u64,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Option<Value> {
    http::call_json(
        cluster.url(id),
        &cluster.token(1),
        method,
        path,
        body,
        Duration::from_secs(2),
    )
}

/// Waits (up to 30 s) until every node reports the same digest at the same applied
/// index. A node whose digest differs from another's at the same index has diverged.
pub fn await_same_state(cluster: &Cluster, nodes: u64) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen: BTreeMap<u64, BTreeMap<u64, String>> = BTreeMap::new();
    loop {
        let mut round = Vec::new();
        for id in 1..=nodes {
            let digest = get_json(cluster, id, "GET", "/v1/cluster/digest", None);
            if let Some(d) = &digest {
                if let (Some(index), Some(digest)) =
                    (d["applied_index"].as_u64(), d["digest"].as_str())
                {
                    seen.entry(index)
                        .or_default()
                        .insert(id, digest.to_string());
                    round.push((index, digest.to_string()));
                }
            }
        }
        for (index, by_node) in &seen {
            let mut digests: Vec<&String> = by_node.values().collect();
            digests.dedup();
            if digests.len() > 1 {
                return Err(format!(
                    "the nodes diverged: at applied index {index} their digests are {by_node:?}"
                ));
            }
        }
        if round.len() as u64 == nodes && round.windows(2).all(|w| w[0] == w[1]) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the nodes did not converge within 30 s: last digests {round:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The last `global_order` number of `group` in each node's own copy.
pub fn last_sequences(cluster: &Cluster, nodes: u64, group: &str) -> BTreeMap<u64, u64> {
    let query = json!({"query": {"group": {"group": group}}, "freshness": "local"});
    (1..=nodes)
        .filter_map(|id| {
            let answer = get_json(cluster, id, "POST", "/v1/ops/query", Some(&query))?;
            Some((id, answer["group"]["last_sequence"].as_u64()?))
        })
        .collect()
}

/// Waits until node `id`'s own copy of harness key `key` holds `value`.
pub fn await_local_value(cluster: &Cluster, id: u64, key: &str, value: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let path = format!(
        "/v1/state/{}/{key}?consistency=local",
        crate::client::NAMESPACE
    );
    while get_json(cluster, id, "GET", &path, None).is_none_or(|v| v["value"] != value) {
        assert!(
            Instant::now() < deadline,
            "node {id} never applied {key} = {value}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
