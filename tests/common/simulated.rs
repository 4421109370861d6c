//! A worker the tests play themselves over HTTP: registered like any other, heartbeating
//! whatever the test wants it to report, taking and reporting steps by hand.

use super::cluster::Cluster;
use super::{http, stderr};
use serde_json::json;

/// A worker the test plays itself over HTTP: registered like any other, heartbeating
/// what the test wants it to report.
pub struct SimulatedWorker {
    pub id: u64,
    pub token: String,
}

impl SimulatedWorker {
    pub fn register(cluster: &Cluster, id: u64, edge: &str) -> SimulatedWorker {
        let token = super::strong_token(&format!("simulated-{id}"));
        let token_file = cluster.dir.join(format!("sim-{id}.token"));
        std::fs::write(&token_file, &token).expect("token");
        let config = cluster.dir.join(format!("sim-{id}.toml"));
        std::fs::write(
            &config,
            format!(
                "id = {id}\nedge = \"{edge}\"\nrole = \"worker\"\ndata_dir = \"{}\"\n\
                 api_listen = \"127.0.0.1:9\"\ntoken_file = \"{}\"\n\n[labels]\nregion = \"sim\"\n\n\
                 [timeouts]\nfleet_heartbeat = \"10s\"\n",
                cluster.dir.join("sim-data").display(),
                token_file.display()
            ),
        )
        .expect("config");
        let added = cluster.cli(1, &["worker", "add", "--config", &config.to_string_lossy()]);
        assert!(added.status.success(), "{}", stderr(&added));
        SimulatedWorker { id, token }
    }

    /// Sends one heartbeat through node `via`; the status and the cluster's answer.
    pub fn beat(
        &self,
        cluster: &Cluster,
        via: u64,
        running: u64,
        stopping: bool,
        stopped: bool,
    ) -> http::Reply {
        self.beat_as(
            cluster,
            via,
            self.id,
            &self.token,
            running,
            stopping,
            stopped,
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub fn beat_as(
        &self,
        cluster: &Cluster,
        via: u64,
        id: u64,
        token: &str,
        running: u64,
        stopping: bool,
        stopped: bool,
    ) -> http::Reply {
        let body = json!({
            "edge": "sim", "api": "http://127.0.0.1:9", "heartbeat_interval_ms": 10_000,
            "labels": {"region": "sim"},
            "beat": {"running": running, "metrics": {"cpu": 0.5, "memory": 0.25, "disk": 0.1, "load": 1.0},
                     "latency_ms": 2.0, "stopping": stopping, "stopped": stopped}
        });
        http::request(
            cluster.url(via),
            "POST",
            &format!("/v1/fleet/{id}/heartbeat"),
            Some(token),
            Some(body.to_string().as_bytes()),
        )
        .expect("heartbeat answered")
    }
}

impl SimulatedWorker {
    /// The steps assigned to this worker that it has not seen (its long poll, waiting
    /// up to `wait_ms`), through node `via`.
    pub fn take_work(&self, cluster: &Cluster, via: u64, wait_ms: u64) -> Vec<serde_json::Value> {
        let reply = http::get(
            cluster.url(via),
            &format!("/v1/fleet/{}/work?wait_ms={wait_ms}", self.id),
            Some(&self.token),
        )
        .expect("work answered");
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["work"].as_array().cloned().unwrap_or_default()
    }
}
