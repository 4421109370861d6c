//! Workers simulated in the benchmark process: registered through `POST /v1/workers`
//! with their own tokens, heartbeating through the API like a worker process would.

use serde_json::json;
use std::sync::Arc;

pub struct SimulatedWorker {
    pub node: u64,
    pub edge: String,
    pub region: &'static str,
    pub token: String,
}

impl SimulatedWorker {
    /// Worker number `index` of a simulated fleet in `region`, node ids from `first_node`.
    pub fn new(index: u64, first_node: u64, region: &'static str) -> SimulatedWorker {
        SimulatedWorker {
            node: first_node + index,
            edge: format!("{region}{index}"),
            region,
            token: format!("{region}-worker-{index}"),
        }
    }

    /// `count` workers in `region`, node ids from `first_node`, each registered through
    /// `url` with the operator's token.
    pub async fn register_fleet(
        count: u64,
        first_node: u64,
        region: &'static str,
        http: &reqwest::Client,
        url: &str,
        operator: &str,
    ) -> Vec<Arc<SimulatedWorker>> {
        let mut fleet = Vec::new();
        for index in 0..count {
            let worker = SimulatedWorker::new(index, first_node, region);
            worker.register(http, url, operator).await;
            fleet.push(Arc::new(worker));
        }
        fleet
    }

    /// Registers the worker through `url` with the operator's token.
    pub async fn register(&self, http: &reqwest::Client, url: &str, operator: &str) {
        let body = json!({
            "id": self.node, "edge": self.edge, "api": "http://127.0.0.1:9",
            "token_sha256": edgeflow_runtime::member::token_sha256(&self.token),
            "labels": {"region": self.region}, "heartbeat_interval_ms": 1_000,
        });
        let reply = http
            .post(format!("{url}/v1/workers"))
            .bearer_auth(operator)
            .json(&body)
            .send()
            .await
            .expect("register");
        assert!(
            reply.status().is_success(),
            "{}",
            reply.text().await.unwrap_or_default()
        );
    }

    /// One heartbeat (idle, fixed metrics) through `url`; whether it was accepted.
    pub async fn beat(&self, http: &reqwest::Client, url: &str) -> bool {
        let beat = json!({
            "edge": self.edge, "api": "http://127.0.0.1:9",
            "heartbeat_interval_ms": 1_000, "labels": {"region": self.region},
            "beat": {"running": 0, "metrics": {"cpu": 0.2, "memory": 0.3, "disk": 0.4, "load": 0.5},
                     "latency_ms": 1.0, "stopping": false, "stopped": false}
        });
        http.post(format!("{url}/v1/fleet/{}/heartbeat", self.node))
            .bearer_auth(&self.token)
            .json(&beat)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }
}
