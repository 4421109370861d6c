//! A voter that lost its data must not rejoin silently. A node whose storage is empty
//! is either new (not yet added: the cluster does not know it) or one whose disk was
//! wiped or replaced while the cluster still counts it as a member — then it would
//! answer "ready" and stay at log index 0 for ever, a silent hole in the quorum. Before
//! serving, an empty node asks its configured peers whether it is a member; if it is, it
//! refuses to start and says how to bring it back.

use super::Node;
use crate::config::NodeConfig;
use serde_json::Value;
use std::time::Duration;

/// How long to wait for each peer's answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(3);

impl Node {
    /// Whether this node's storage held nothing when it started: no vote, no log entry
    /// (read from the storage itself, before Raft ran).
    pub fn storage_is_empty(&self) -> bool {
        self.started_empty
    }
}

/// Refuses to go on when the storage is empty but a peer counts this node as a member.
/// `ca` is the cluster's CA (PEM) when the API is HTTPS.
pub async fn refuse_if_data_lost(
    node: &Node,
    config: &NodeConfig,
    token: &str,
    ca: Option<&[u8]>,
) -> Result<(), String> {
    if !node.storage_is_empty() || config.peers.is_empty() {
        return Ok(());
    }
    let mut builder = reqwest::Client::builder().timeout(ASK_TIMEOUT);
    if let Some(pem) = ca {
        let certificate =
            reqwest::Certificate::from_pem(pem).map_err(|e| format!("the CA certificate: {e}"))?;
        builder = builder.add_root_certificate(certificate);
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    let scheme = config.scheme();
    for peer in &config.peers {
        let url = format!("{scheme}://{}/v1/cluster/status?view=local", peer.api);
        let Ok(answer) = client.get(&url).bearer_auth(token).send().await else {
            continue;
        };
        if !answer.status().is_success() {
            // 401: the cluster does not know this node's token — a node not added yet.
            continue;
        }
        let read =
            crate::peer_reply::json::<Value>(answer, crate::peer_reply::MAX_JSON_REPLY_BYTES);
        let Ok(status) = read.await else {
            continue;
        };
        let member = status["members"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["id"].as_u64() == Some(config.id));
        if let Some(member) = member {
            let role = member["role"].as_str().unwrap_or("member");
            return Err(format!(
                "this node's storage in {} is empty, but the cluster (asked node {}) has node {} as a {role}: \
                 its data was lost. It will not rejoin as if nothing happened. To bring it back: \
                 `edgeflow cluster remove {id}`, start it again with its data dir empty, \
                 `edgeflow cluster add --config THIS_CONFIG`, then `edgeflow cluster promote {id}`",
                config.data_dir.display(),
                peer.id,
                config.id,
                id = config.id,
            ));
        }
        return Ok(());
    }
    Ok(())
}
