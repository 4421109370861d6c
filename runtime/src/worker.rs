//! A worker node (`role = "worker"`): it does not vote or store the Raft log. It
//! heartbeats to the cluster's API — state, system metrics, the steps in hand, the round
//! trip of its previous heartbeat — and follows what the cluster answers: the lifecycle
//! state, and whether to drain. It long-polls for the steps assigned to it, runs them
//! against the cluster's API, and keeps each outcome in its outbox until the cluster
//! has it. On shutdown (or drain) it takes no new steps, finishes those in hand
//! (`terminating`), delivers their outcomes, and sends a last heartbeat so it reads as
//! offline rather than unknown.

use crate::api::{FinishedStep, HeartbeatBody, WorkItem};
use crate::cluster_link::{ClusterLink, LinkError};
use crate::config::NodeConfig;
use crate::dispatch::in_hand::StepsInHand;
use crate::dispatch::outbox::Outbox;
use crate::dispatch::perform::perform;
use crate::dispatch::remote_host::RemoteHost;
use crate::op::Registry;
use crate::quotas::EdgeQuotas;
use crate::state::assignments::{key, StepWork};
use crate::state::fleet::{Beat, EdgeLabels};
use crate::system::SystemSampler;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How long one long poll for work is held by the cluster.
const POLL_WAIT: Duration = Duration::from_secs(20);
/// The wait before trying the cluster again after it could not be reached.
const RETRY_AFTER: Duration = Duration::from_millis(500);
/// How long a step taken is remembered, so an assignment seen twice runs once.
const REMEMBER_TAKEN: Duration = Duration::from_secs(3_600);
/// How long a stopping worker keeps trying to deliver its outbox.
const FINAL_DELIVERY: Duration = Duration::from_secs(5);

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
    link: Arc<ClusterLink>,
    api: String,
    registry: Registry,
    outbox: Outbox,
    in_hand: StepsInHand,
    /// Steps taken (running, or their outcome kept), by key, with when.
    taken: Mutex<HashMap<String, Instant>>,
    /// Rung when an outcome is kept, for the delivery loop.
    outcome_kept: Notify,
    /// This edge's rate-limit leases and budgets, shared by every step it runs.
    quotas: Arc<EdgeQuotas>,
}

impl Worker {
    pub fn new(
        config: NodeConfig,
        token: String,
        ca: Option<&[u8]>,
        registry: Registry,
    ) -> Result<Worker, WorkerError> {
        let scheme = config.scheme();
        let voters = config
            .peers
            .iter()
            .map(|p| format!("{scheme}://{}", p.api))
            .collect();
        let link = ClusterLink::new(voters, token, ca).map_err(WorkerError::Setup)?;
        let outbox = Outbox::open(&config.data_dir).map_err(WorkerError::Setup)?;
        let api = config.api_url();
        let quotas = Arc::new(EdgeQuotas::new(&config.edge, false));
        Ok(Worker {
            config,
            link: Arc::new(link),
            api,
            registry,
            outbox,
            in_hand: StepsInHand::default(),
            taken: Mutex::new(HashMap::new()),
            outcome_kept: Notify::new(),
            quotas,
        })
    }

    /// The relay of the events this worker accepts, sharing its link and outbox.
    pub fn event_relay(&self) -> Arc<crate::triggers::relay::EventRelay> {
        crate::triggers::relay::EventRelay::new(
            self.link.clone(),
            self.outbox.clone(),
            self.config.events.outbox,
        )
    }

    /// Works until `stop` completes or the cluster asks the worker to drain; then
    /// finishes the steps in hand, delivers their outcomes and reports itself offline.
    pub async fn serve(self, stop: impl Future<Output = ()>) -> Result<(), WorkerError> {
        let worker = Arc::new(self);
        for waiting in worker.outbox.waiting().await.map_err(WorkerError::Setup)? {
            worker.take(&key(&waiting.run_id, &waiting.step));
        }
        let taking = tokio::spawn(worker.clone().take_work());
        let delivering = tokio::spawn(worker.clone().deliver_forever());
        let mut sampler = SystemSampler::new(&worker.config.data_dir);
        let beating = worker.beat_until(stop, &mut sampler).await;
        taking.abort();
        let latency_ms = beating?;
        // Terminating: finish what is in hand, still heartbeating.
        let every = worker.heartbeat_every();
        while worker.in_hand.count() > 0 {
            let stopping = Beat {
                stopping: true,
                ..worker.beat(&mut sampler, latency_ms)
            };
            let _ = worker.send(stopping).await;
            tokio::time::sleep(every.min(Duration::from_millis(200))).await;
        }
        delivering.abort();
        let host = RemoteHost {
            link: worker.link.clone(),
            edge: worker.config.edge.clone(),
            quotas: worker.quotas.clone(),
        };
        let _ = tokio::time::timeout(FINAL_DELIVERY, worker.quotas.surrender(&host)).await;
        let deadline = Instant::now() + FINAL_DELIVERY;
        while !worker.deliver_outbox().await && Instant::now() < deadline {
            tokio::time::sleep(RETRY_AFTER).await;
        }
        let last = Beat {
            stopped: true,
            ..worker.beat(&mut sampler, latency_ms)
        };
        worker.send(last).await.map(|_| ())
    }

    fn heartbeat_every(&self) -> Duration {
        Duration::from_millis(self.config.timeouts.fleet_heartbeat)
    }

    fn beat(&self, sampler: &mut SystemSampler, latency_ms: Option<f64>) -> Beat {
        Beat {
            running: self.in_hand.count(),
            ratelimit: self.quotas.decisions(),
            ..Beat::idle(sampler.sample(), latency_ms)
        }
    }

    /// Heartbeats until `stop` or a drain; the latency of the last heartbeat.
    async fn beat_until(
        &self,
        stop: impl Future<Output = ()>,
        sampler: &mut SystemSampler,
    ) -> Result<Option<f64>, WorkerError> {
        let mut latency_ms = None;
        let mut ticks = tokio::time::interval(self.heartbeat_every());
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = &mut stop => return Ok(latency_ms),
            }
            let beat = self.beat(sampler, latency_ms);
            let started = Instant::now();
            match self.send(beat).await {
                Ok(answer) => {
                    latency_ms = Some(started.elapsed().as_secs_f64() * 1e3);
                    if answer.get("drain").and_then(Value::as_bool) == Some(true) {
                        return Ok(latency_ms);
                    }
                }
                Err(refused @ WorkerError::Refused { .. }) => return Err(refused),
                // The cluster is unreachable: keep beating, it may come back.
                Err(WorkerError::Setup(_)) => latency_ms = None,
            }
        }
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
        let path = format!("/v1/fleet/{}/heartbeat", self.config.id);
        self.link
            .post(&path, &body)
            .await
            .map_err(|error| match error {
                LinkError::Refused { url, reason } | LinkError::Rejected { url, reason } => {
                    WorkerError::Refused { url, reason }
                }
                LinkError::Unreachable(reason) => WorkerError::Setup(reason),
            })
    }

    /// Whether a step is new to this worker (and now taken).
    fn take(&self, key: &str) -> bool {
        let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        taken.retain(|_, at| at.elapsed() < REMEMBER_TAKEN);
        taken.insert(key.to_string(), Instant::now()).is_none()
    }

    /// Long-polls for the steps assigned to this worker and starts each new one.
    async fn take_work(self: Arc<Self>) {
        let mut after = 0;
        loop {
            let path = format!(
                "/v1/fleet/{}/work?after={after}&wait_ms={}",
                self.config.id,
                POLL_WAIT.as_millis()
            );
            let answer = match self.link.get(&path, POLL_WAIT).await {
                Ok(answer) => answer,
                Err(_) => {
                    // Unreachable or refused: the heartbeats report and decide.
                    tokio::time::sleep(RETRY_AFTER).await;
                    continue;
                }
            };
            let items: Vec<WorkItem> = answer
                .get("work")
                .cloned()
                .and_then(|work| serde_json::from_value(work).ok())
                .unwrap_or_default();
            for item in items {
                after = after.max(item.seq);
                if self.take(&key(&item.work.run_id, &item.work.step)) {
                    tokio::spawn(self.clone().run_step(item.seq, item.work));
                }
            }
        }
    }

    /// Runs a step (assigned at `seq`) and keeps its outcome in the outbox.
    async fn run_step(self: Arc<Self>, seq: u64, work: StepWork) {
        let holding = self.in_hand.hold();
        tracing::info!(run = %work.run_id, step = %work.step, "running a placed step");
        let host = Arc::new(RemoteHost {
            link: self.link.clone(),
            edge: self.config.edge.clone(),
            quotas: self.quotas.clone(),
        });
        let performed = perform(&self.registry, host, &work).await;
        let finished = FinishedStep {
            run_id: work.run_id,
            step: work.step,
            seq,
            outcome: performed.outcome,
            attempts: performed.attempts,
            started_at_us: performed.started_at_us,
        };
        let (run, step) = (finished.run_id.as_str(), finished.step.as_str());
        match self.outbox.keep(&finished).await {
            Ok(()) => tracing::info!(run, step, "kept a placed step's outcome in the outbox"),
            Err(error) => tracing::warn!(run, step, "{error}"),
        }
        drop(holding);
        self.outcome_kept.notify_one();
    }

    /// Delivers the outbox whenever an outcome is kept, and retries what could not be.
    async fn deliver_forever(self: Arc<Self>) {
        loop {
            let all_delivered = self.deliver_outbox().await;
            let retry = if all_delivered {
                POLL_WAIT
            } else {
                RETRY_AFTER
            };
            let _ = tokio::time::timeout(retry, self.outcome_kept.notified()).await;
        }
    }

    /// Sends every outcome in the outbox; whether all were delivered.
    async fn deliver_outbox(&self) -> bool {
        let waiting = match self.outbox.waiting().await {
            Ok(waiting) => waiting,
            Err(error) => {
                tracing::warn!("{error}");
                return false;
            }
        };
        let path = format!("/v1/fleet/{}/finished", self.config.id);
        for finished in waiting {
            let (run, step) = (finished.run_id.as_str(), finished.step.as_str());
            match self.link.post(&path, &finished).await {
                Ok(_) => tracing::info!(run, step, "delivered a placed step's outcome"),
                // Refused for good: it can never be delivered, so it leaves the outbox
                // too, and the log says so.
                Err(refused @ LinkError::Rejected { .. }) => tracing::warn!(
                    run,
                    step,
                    "the cluster refused a placed step's outcome: {refused}"
                ),
                Err(_) => return false,
            }
            if let Err(error) = self.outbox.delivered(&finished).await {
                tracing::warn!("{error}");
            }
        }
        true
    }
}
