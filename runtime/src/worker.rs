//! A worker node (`role = "worker"`): it does not vote or store the Raft log. It
//! heartbeats to the cluster's API — state, system metrics, the round trip of its
//! previous heartbeat — and follows what the cluster answers: the lifecycle state, and
//! whether to drain (finish and stop). On shutdown it sends a last heartbeat so it reads
//! as offline rather than unknown.

use crate::api::HeartbeatBody;
use crate::config::NodeConfig;
use crate::state::fleet::{Beat, EdgeLabels};
use crate::system::SystemSampler;
use serde_json::Value;
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub enum WorkerError {
    /// The cluster refused this worker (not registered, removed, wrong token).
    Refused {
        url: String,
        reason: String,
    },
    Setup(String),
}

impl fmt::Display for WorkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerError::Refused { url, reason } => {
                write!(f, "{url} refused this worker: {reason}")
            }
            WorkerError::Setup(reason) => write!(f, "{reason}"),
        }
    }
}

impl std::error::Error for WorkerError {}

/// Labels from the configuration, as the registry keeps them.
pub fn labels(config: &NodeConfig) -> EdgeLabels {
    EdgeLabels {
        region: config.labels.region.clone(),
        zone: config.labels.zone.clone(),
        compliance: config.labels.compliance.clone(),
        cpus: config.labels.capacity.as_ref().map(|c| c.cpu),
        memory_bytes: config.labels.capacity.as_ref().map(|c| c.memory),
    }
}

pub struct Worker {
    config: NodeConfig,
    token: String,
    http: reqwest::Client,
    /// The voters' API base URLs, tried in turn.
    cluster: Vec<String>,
    api: String,
}

impl Worker {
    pub fn new(
        config: NodeConfig,
        token: String,
        ca: Option<&[u8]>,
    ) -> Result<Worker, WorkerError> {
        let scheme = config.scheme();
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(5));
        if let Some(pem) = ca {
            let certificate = reqwest::Certificate::from_pem(pem)
                .map_err(|e| WorkerError::Setup(format!("the CA certificate: {e}")))?;
            builder = builder.add_root_certificate(certificate);
        }
        let http = builder
            .build()
            .map_err(|e| WorkerError::Setup(e.to_string()))?;
        let cluster = config
            .peers
            .iter()
            .map(|p| format!("{scheme}://{}", p.api))
            .collect();
        let api = config.api_url();
        Ok(Worker {
            config,
            token,
            http,
            cluster,
            api,
        })
    }

    /// Heartbeats until `stop` completes or the cluster asks the worker to drain;
    /// then reports itself offline.
    pub async fn serve(self, stop: impl Future<Output = ()>) -> Result<(), WorkerError> {
        let every = Duration::from_millis(self.config.timeouts.fleet_heartbeat);
        let mut sampler = SystemSampler::new(&self.config.data_dir);
        let mut latency_ms = None;
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = &mut stop => break,
            }
            let beat = Beat::idle(sampler.sample(), latency_ms);
            let started = Instant::now();
            match self.send(beat).await {
                Ok(answer) => {
                    latency_ms = Some(started.elapsed().as_secs_f64() * 1e3);
                    if answer.get("drain").and_then(Value::as_bool) == Some(true) {
                        break;
                    }
                }
                Err(refused @ WorkerError::Refused { .. }) => return Err(refused),
                // The cluster is unreachable: keep beating, it may come back.
                Err(WorkerError::Setup(_)) => latency_ms = None,
            }
        }
        let last = Beat {
            stopped: true,
            ..Beat::idle(sampler.sample(), latency_ms)
        };
        self.send(last).await.map(|_| ())
    }

    /// One heartbeat, to the first voter that answers.
    async fn send(&self, beat: Beat) -> Result<Value, WorkerError> {
        let body = HeartbeatBody {
            edge: self.config.edge.clone(),
            api: self.api.clone(),
            labels: labels(&self.config),
            heartbeat_interval_ms: self.config.timeouts.fleet_heartbeat,
            beat,
        };
        let mut unreachable = Vec::new();
        for base in &self.cluster {
            let url = format!("{base}/v1/fleet/{}/heartbeat", self.config.id);
            let reply = self
                .http
                .post(&url)
                .bearer_auth(&self.token)
                .json(&body)
                .send()
                .await;
            let reply = match reply {
                Ok(reply) => reply,
                Err(error) => {
                    unreachable.push(format!("{base}: {error}"));
                    continue;
                }
            };
            let status = reply.status();
            let answer: Value = reply.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                return Ok(answer);
            }
            if status == reqwest::StatusCode::UNAUTHORIZED
                || status == reqwest::StatusCode::FORBIDDEN
            {
                return Err(WorkerError::Refused {
                    url,
                    reason: answer
                        .get("error")
                        .and_then(Value::as_str)
                        .unwrap_or("refused")
                        .to_string(),
                });
            }
            unreachable.push(format!("{base}: {status}"));
        }
        Err(WorkerError::Setup(format!(
            "no voter took the heartbeat ({})",
            unreachable.join("; ")
        )))
    }
}
