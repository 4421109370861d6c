//! The engine of a migration, run by the node of its target edge: it pulls the
//! records from the source node (never through the leader), imports them into its own
//! store, and moves the migration through its phases with one Raft proposal per
//! transition and per progress report — so a restarted target continues from the last
//! report, a new leader changes nothing, and every node reports the same. Phases:
//! planning (room on the target), pre_sync (the source's change mark), sync (snapshot
//! copy, then delta rounds as the strategy says), cutover (freeze, final delta, switch,
//! thaw), validation (count and digest on both sides), cleanup (the source's copy
//! removed); then the next workload, or completed.

use super::plan::{MigrationPlan, Strategy};
use super::registry::{MigrationAnswer, MigrationCommand, MigrationRecord, Phase, Progress};
use super::room::Room;
use super::throttle::Throttle;
use super::transfer::{self, Batch, ExportFrom, ExportRequest};
use crate::command::{Command, Response};
use crate::member::NodeInfo;
use crate::node::Node;
use crate::workloads::{Prepared, Queued, RememberedId, SideOp, Write};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often a driver looks for migrations to drive.
const LOOK_EVERY: Duration = Duration::from_millis(250);
/// How long a paused, preempted or waiting migration sleeps between looks.
const IDLE: Duration = Duration::from_millis(200);
/// Progress is reported at least this often while copying (a restart re-sends at most
/// this much), and at checkpoints.
const REPORT_EVERY: Duration = Duration::from_secs(1);
/// A source's freeze ends by itself after this unless renewed (the target died).
const FREEZE_HOLD: Duration = Duration::from_secs(10);
/// Batches being imported while the next is fetched and hashed.
const IMPORTS_IN_FLIGHT: usize = 2;
/// How often a freezing copy renews the source's freeze.
const FREEZE_RENEW_EVERY: Duration = Duration::from_secs(1);
/// Differing keys a failed validation names.
const DIFFERING_KEYS_SHOWN: usize = 5;
/// How long a request to the source may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);
/// Write ids asked of the source at a time.
const WRITE_IDS_PER_PAGE: usize = 1_000;
/// How far before its mark the last copy of write ids starts again (a clock's step).
const WRITE_ID_SLACK_MS: u64 = 1_000;

/// Why a step stopped.
enum Stop {
    /// It cannot succeed: the migration fails with this.
    Fatal(String),
    /// Try again later (the source is down, say): shown as the migration's `waiting`.
    Retry(String),
}

type Step = Result<(), Stop>;

/// A fetched batch being hashed for the store.
type Preparing = tokio::task::JoinHandle<Result<Prepared, Stop>>;

fn retry(reason: impl std::fmt::Display) -> Stop {
    Stop::Retry(reason.to_string())
}

/// Looks for migrations this node's edge is the target of, and drives each (once).
pub async fn drive_forever(node: Arc<Node>) {
    let running: Arc<Mutex<HashSet<String>>> = Arc::default();
    loop {
        let name = node.name.clone();
        let mine: Vec<String> = node
            .read_local(|state| {
                state
                    .migrations
                    .list()
                    .filter(|m| m.plan.to == name && needs_driving(m))
                    .map(|m| m.id.clone())
                    .collect()
            })
            .await;
        for id in mine {
            let fresh = running
                .lock()
                .map(|mut r| r.insert(id.clone()))
                .unwrap_or(false);
            if fresh {
                let (node, running) = (node.clone(), running.clone());
                tokio::spawn(async move {
                    let mut driver = Driver {
                        node,
                        id: id.clone(),
                        frozen_since: None,
                    };
                    driver.run().await;
                    if let Ok(mut running) = running.lock() {
                        running.remove(&id);
                    }
                });
            }
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
}

fn needs_driving(record: &MigrationRecord) -> bool {
    !record.phase.is_over() || (record.phase == Phase::RolledBack && !record.target_cleaned)
}

fn minute_of_day() -> u16 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    ((secs / 60) % 1_440) as u16
}

struct Driver {
    node: Arc<Node>,
    id: String,
    /// When this driver froze the source's writes (the downtime runs from there).
    frozen_since: Option<Instant>,
}

impl Driver {
    async fn record(&self) -> Option<MigrationRecord> {
        let id = self.id.clone();
        self.node
            .read_local(move |state| state.migrations.get(&id).cloned())
            .await
    }

    /// Proposes `command`, once every record imported so far is on disk (a proposal
    /// may report progress, and progress covers only what a crash keeps).
    async fn propose(&self, command: MigrationCommand) -> Result<MigrationAnswer, Stop> {
        let workload = self
            .record()
            .await
            .and_then(|r| r.workload().map(str::to_string));
        self.node
            .workload_store()
            .sync(workload.as_deref().unwrap_or_default())
            .await
            .map_err(|e| Stop::Fatal(format!("the target's store: {e}")))?;
        match self.node.write(Command::Migration(command)).await {
            Ok(Response::Migration(answer)) => Ok(answer),
            Ok(other) => Err(Stop::Fatal(format!("unexpected answer: {other:?}"))),
            Err(error) => Err(retry(error)),
        }
    }

    async fn run(&mut self) {
        loop {
            let Some(record) = self.record().await else {
                return;
            };
            if record.phase == Phase::RolledBack {
                self.clean_target(&record).await;
                return;
            }
            if record.phase.is_over() {
                return;
            }
            if !record.may_move() {
                tokio::time::sleep(IDLE).await;
                continue;
            }
            if !record.plan.in_window(minute_of_day()) {
                let reason = "outside its window".to_string();
                if record.waiting.as_ref() != Some(&reason) {
                    let _ = self.wait_for(Some(reason)).await;
                }
                tokio::time::sleep(IDLE).await;
                continue;
            }
            let step = match record.phase {
                Phase::Planning => self.plan(&record).await,
                Phase::PreSync => self.pre_sync(&record).await,
                Phase::Sync => self.sync(&record).await,
                Phase::Cutover => self.cutover(&record).await,
                Phase::Validation => self.validate(&record).await,
                Phase::Cleanup => self.cleanup(&record).await,
                Phase::Completed | Phase::RolledBack | Phase::Failed => return,
            };
            match step {
                Ok(()) => {
                    if record.waiting.is_some() {
                        let _ = self.wait_for(None).await;
                    }
                }
                Err(Stop::Fatal(reason)) => {
                    let _ = self
                        .advance(
                            &record,
                            Phase::Failed,
                            record.progress.clone(),
                            Some(reason),
                        )
                        .await;
                }
                Err(Stop::Retry(reason)) => {
                    let _ = self.wait_for(Some(reason)).await;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn wait_for(&self, reason: Option<String>) -> Result<MigrationAnswer, Stop> {
        self.propose(MigrationCommand::Waiting {
            id: self.id.clone(),
            reason,
        })
        .await
    }

    async fn advance(
        &self,
        record: &MigrationRecord,
        to: Phase,
        progress: Progress,
        error: Option<String>,
    ) -> Step {
        let downtime_ms = self
            .frozen_since
            .filter(|_| record.phase == Phase::Cutover)
            .map(|since| since.elapsed().as_millis() as u64);
        self.propose(MigrationCommand::Advance {
            id: self.id.clone(),
            from: record.phase,
            to,
            progress,
            downtime_ms,
            error,
        })
        .await
        .map(|_| ())
    }

    fn source(&self, plan: &MigrationPlan) -> Result<NodeInfo, Stop> {
        self.node
            .member_on_edge(&plan.from)
            .ok_or_else(|| retry(format!("no member serves the source edge `{}`", plan.from)))
    }

    fn workload(record: &MigrationRecord) -> Result<String, Stop> {
        record
            .workload()
            .map(str::to_string)
            .ok_or_else(|| Stop::Fatal("the migration has no workload left".into()))
    }

    async fn side(
        &self,
        member: &NodeInfo,
        workload: &str,
        op: SideOp,
    ) -> Result<serde_json::Value, Stop> {
        self.node
            .side(member, workload, op)
            .await
            .map_err(|e| retry(format!("the source: {e}")))
    }

    /// Room on the target for every workload as the source holds it now.
    async fn plan(&mut self, record: &MigrationRecord) -> Step {
        let source = self.source(&record.plan)?;
        let mut needed = 0u64;
        for workload in &record.plan.workloads {
            let summary = self.side(&source, workload, SideOp::Summary).await?;
            needed = needed.saturating_add(summary["bytes"].as_u64().unwrap_or(0));
        }
        let room = Room::on(&self.node, &record.plan.workloads)
            .await
            .map_err(|e| Stop::Fatal(format!("the target's store: {e}")))?;
        if let Some(refusal) = room.refusal(&record.plan.to, needed) {
            return Err(Stop::Fatal(refusal));
        }
        self.advance(record, Phase::PreSync, record.progress.clone(), None)
            .await
    }

    /// The source's change mark for this workload, a clean slate on the target, and
    /// (bulk, emergency) the freeze for the whole copy.
    async fn pre_sync(&mut self, record: &MigrationRecord) -> Step {
        let source = self.source(&record.plan)?;
        let workload = Self::workload(record)?;
        if record.plan.strategy.freezes_for_the_copy() {
            self.freeze(&source, &workload).await?;
        }
        let summary = self.side(&source, &workload, SideOp::Summary).await?;
        self.node
            .workload_store()
            .write(&workload, vec![Write::Drop])
            .await
            .map_err(|e| Stop::Fatal(format!("the target's store: {e}")))?;
        let progress = Progress {
            workload_index: record.progress.workload_index,
            cursor: None,
            snapshot_done: false,
            synced_seq: summary["seq"].as_u64().unwrap_or(0),
            total_bytes: summary["bytes"].as_u64().unwrap_or(0),
            records_copied: 0,
            copied_this_workload: 0,
            ..record.progress.clone()
        };
        self.advance(record, Phase::Sync, progress, None).await
    }

    async fn freeze(&mut self, source: &NodeInfo, workload: &str) -> Step {
        self.renew_freeze(source, workload).await?;
        self.frozen_since.get_or_insert_with(Instant::now);
        Ok(())
    }

    /// Holds the source's writes to `workload` for `FREEZE_HOLD` more.
    async fn renew_freeze(&self, source: &NodeInfo, workload: &str) -> Step {
        let hold_ms = FREEZE_HOLD.as_millis() as u64;
        self.side(source, workload, SideOp::Freeze { hold_ms })
            .await
            .map(|_| ())
    }

    async fn fetch(
        &self,
        source: &NodeInfo,
        request: &ExportRequest,
    ) -> Result<(Batch, usize), Stop> {
        let forwarder = self
            .node
            .forwarder()
            .ok_or_else(|| Stop::Fatal("the embedded node migrates nothing".into()))?;
        let reply = forwarder
            .post(source, "/v1/migrations/export", request, FETCH_TIMEOUT)
            .await
            .map_err(|e| retry(format!("the source {}: {e}", source.api)))?;
        if !reply.status().is_success() {
            let status = reply.status();
            let text = crate::peer_reply::error_text(reply).await;
            return Err(retry(format!("the source answered {status}: {text}")));
        }
        transfer::receive(reply).await.map_err(retry)
    }

    /// The writes that import `batch`, with their records' hashes worked out.
    async fn prepare(batch: Batch) -> Result<Prepared, Stop> {
        let writes = batch
            .records
            .into_iter()
            .map(|copied| Write::Import {
                key: copied.key,
                value: copied.value,
                version: copied.version,
            })
            .collect();
        Prepared::of(writes)
            .await
            .map_err(|e| Stop::Fatal(format!("the target's store: {e}")))
    }

    /// Copies batches from `from` on until the source has no more; the records and
    /// bytes copied, or none when the migration stopped being this driver's to move.
    /// Two halves run at once, one batch apart: `fetch_ahead` fetches, paces and hashes
    /// the next batch while `import_fetched` queues the one before it behind up to
    /// `IMPORTS_IN_FLIGHT` others — so the network, the source's store and this one's
    /// writer all work together. The snapshot copy checks after every batch that it
    /// may go on, and reports its progress (checkpoints included) as it goes; progress
    /// only ever covers batches already imported, and every import started has ended
    /// when this returns.
    async fn copy(
        &mut self,
        source: &NodeInfo,
        record: &MigrationRecord,
        from: ExportFrom,
        progress: &mut Progress,
        throttle: &mut Throttle,
    ) -> Result<Option<(usize, u64)>, Stop> {
        let workload = Self::workload(record)?;
        let snapshot = matches!(from, ExportFrom::Keys { .. });
        let freezes = record.plan.strategy.freezes_for_the_copy();
        if freezes {
            self.freeze(source, &workload).await?;
        }
        let request = ExportRequest {
            workload,
            from,
            limit: record.plan.batch_size,
            compress: record.plan.compression,
        };
        let driver = &*self;
        let (fetched, batches) = tokio::sync::mpsc::channel(1);
        let fetching = async {
            driver
                .fetch_ahead(source, request, freezes, throttle, fetched)
                .await;
            std::future::pending::<std::convert::Infallible>().await
        };
        let mut in_flight = VecDeque::new();
        let copied = tokio::select! {
            copied = driver.import_fetched(record, snapshot, progress, batches, &mut in_flight) => copied,
            never = fetching => match never {},
        };
        for (import, _) in in_flight {
            let _ = import.applied().await;
        }
        copied
    }

    /// The fetching half of `copy`: each batch in turn, paced by the bandwidth cap,
    /// hashed and handed on; ends after the last batch, at the first failure (handed
    /// on too), or when the importing half stops taking batches. A freezing copy
    /// renews the source's freeze as it goes.
    async fn fetch_ahead(
        &self,
        source: &NodeInfo,
        mut request: ExportRequest,
        freezes: bool,
        throttle: &mut Throttle,
        batches: tokio::sync::mpsc::Sender<Result<(Fetched, Preparing), Stop>>,
    ) {
        let mut renewed = Instant::now();
        loop {
            let next = self
                .fetch_next(source, &mut request, freezes, &mut renewed, throttle)
                .await;
            let done = next.as_ref().map_or(true, |(fetched, _)| fetched.done);
            if batches.send(next).await.is_err() || done {
                return;
            }
        }
    }

    async fn fetch_next(
        &self,
        source: &NodeInfo,
        request: &mut ExportRequest,
        freezes: bool,
        renewed: &mut Instant,
        throttle: &mut Throttle,
    ) -> Result<(Fetched, Preparing), Stop> {
        if freezes && renewed.elapsed() >= FREEZE_RENEW_EVERY {
            self.renew_freeze(source, &request.workload).await?;
            *renewed = Instant::now();
        }
        let (batch, wire) = self.fetch(source, request).await?;
        throttle.pace(wire).await;
        let fetched = Fetched {
            records: batch.records.len(),
            bytes: batch.bytes(),
            wire,
            last_key: batch.records.last().map(|r| r.key.clone()),
            last_seq: batch.last_seq,
            done: batch.done,
        };
        request.from = match &request.from {
            ExportFrom::Keys { after } => ExportFrom::Keys {
                after: fetched.last_key.clone().or(after.clone()),
            },
            ExportFrom::Changes { since } => ExportFrom::Changes {
                since: (*since).max(batch.last_seq),
            },
        };
        // Hashed on its own task, so the next batch is fetched meanwhile.
        Ok((fetched, tokio::spawn(Self::prepare(batch))))
    }

    /// The importing half of `copy`: queues each batch fetched for import and counts
    /// it as copied once imported.
    async fn import_fetched(
        &self,
        record: &MigrationRecord,
        snapshot: bool,
        progress: &mut Progress,
        mut batches: tokio::sync::mpsc::Receiver<Result<(Fetched, Preparing), Stop>>,
        in_flight: &mut VecDeque<(Queued, Fetched)>,
    ) -> Result<Option<(usize, u64)>, Stop> {
        let workload = Self::workload(record)?;
        let checkpoint_every = Duration::from_millis(record.plan.checkpoint_every_ms);
        let report_every = REPORT_EVERY.min(checkpoint_every);
        let (mut reported, mut checkpointed) = (Instant::now(), Instant::now());
        let mut clock = CopyClock::start();
        let (mut records, mut bytes) = (0, 0);
        loop {
            let Some(next) = batches.recv().await else {
                return Err(retry("the copy's fetching stopped"));
            };
            let (fetched, preparing) = next?;
            let prepared = preparing
                .await
                .map_err(|e| Stop::Fatal(format!("hashing a batch: {e}")))??;
            let done = fetched.done;
            let queued = self
                .node
                .workload_store()
                .import_unsynced(&workload, prepared)
                .map_err(|e| Stop::Fatal(format!("the target's store: {e}")))?;
            in_flight.push_back((queued, fetched));
            while in_flight.len() > IMPORTS_IN_FLIGHT || (done && !in_flight.is_empty()) {
                let Some((import, fetched)) = in_flight.pop_front() else {
                    break;
                };
                import
                    .applied()
                    .await
                    .map_err(|e| Stop::Fatal(format!("the target's store: {e}")))?;
                records += fetched.records;
                bytes += fetched.bytes;
                progress.records_copied += fetched.records as u64;
                progress.bytes_copied += fetched.bytes;
                progress.copied_this_workload += fetched.bytes;
                progress.bytes_sent += fetched.wire as u64;
                progress.copy_ms += clock.lap_ms();
                match snapshot {
                    true => {
                        if fetched.last_key.is_some() {
                            progress.cursor = fetched.last_key;
                        }
                        progress.snapshot_done = fetched.done;
                    }
                    false => progress.synced_seq = progress.synced_seq.max(fetched.last_seq),
                }
            }
            if done {
                return Ok(Some((records, bytes)));
            }
            if snapshot {
                if !self.still_mine(Phase::Sync).await {
                    return Ok(None);
                }
                if reported.elapsed() >= report_every {
                    let checkpoint = checkpointed.elapsed() >= checkpoint_every;
                    self.report(Phase::Sync, progress, checkpoint).await?;
                    reported = Instant::now();
                    if checkpoint {
                        checkpointed = Instant::now();
                    }
                }
            }
        }
    }

    /// Whether the migration may still move (not paused, rolled back or moved on).
    async fn still_mine(&self, phase: Phase) -> bool {
        self.record()
            .await
            .is_some_and(|r| r.phase == phase && r.may_move())
    }

    async fn report(&self, phase: Phase, progress: &Progress, checkpoint: bool) -> Step {
        self.propose(MigrationCommand::Progress {
            id: self.id.clone(),
            phase,
            progress: progress.clone(),
            checkpoint,
        })
        .await
        .map(|_| ())
    }

    /// Applies every change after `progress.synced_seq`; how many and their bytes.
    async fn delta_round(
        &mut self,
        source: &NodeInfo,
        record: &MigrationRecord,
        progress: &mut Progress,
        throttle: &mut Throttle,
    ) -> Result<(usize, u64), Stop> {
        let from = ExportFrom::Changes {
            since: progress.synced_seq,
        };
        let copied = self.copy(source, record, from, progress, throttle).await?;
        Ok(copied.unwrap_or_default())
    }

    async fn sync(&mut self, record: &MigrationRecord) -> Step {
        let source = self.source(&record.plan)?;
        let mut progress = record.progress.clone();
        let mut throttle = Throttle::new(record.plan.bandwidth_bytes);
        if !progress.snapshot_done {
            let from = ExportFrom::Keys {
                after: progress.cursor.clone(),
            };
            let copied = self
                .copy(&source, record, from, &mut progress, &mut throttle)
                .await?;
            if copied.is_none() {
                return Ok(());
            }
        }
        loop {
            if !self.still_mine(Phase::Sync).await {
                return Ok(());
            }
            let (changes, bytes) = self
                .delta_round(&source, record, &mut progress, &mut throttle)
                .await?;
            let small = match record.plan.strategy {
                Strategy::Live | Strategy::Staged => changes < record.plan.batch_size,
                Strategy::Incremental => bytes < record.plan.delta_threshold_bytes,
                Strategy::Bulk | Strategy::Emergency => true,
            };
            if small {
                break;
            }
            self.report(Phase::Sync, &progress, false).await?;
            if record.plan.strategy == Strategy::Incremental {
                tokio::time::sleep(Duration::from_millis(record.plan.sync_interval_ms)).await;
            }
        }
        let workload = Self::workload(record)?;
        progress.write_ids_from_ms = self.copy_write_ids(&source, &workload, 0).await?;
        self.report(Phase::Sync, &progress, true).await?;
        self.advance(record, Phase::Cutover, progress, None).await
    }

    /// Freezes the source's writes, copies the last changes, switches the placement to
    /// the target (the source mirrored from then on), and lets writes through again.
    async fn cutover(&mut self, record: &MigrationRecord) -> Step {
        let source = self.source(&record.plan)?;
        let workload = Self::workload(record)?;
        self.freeze(&source, &workload).await?;
        let mut progress = record.progress.clone();
        let mut throttle = Throttle::new(None);
        let mut copied = self
            .delta_round(&source, record, &mut progress, &mut throttle)
            .await
            .map(|_| ());
        if copied.is_ok() {
            let from_ms = progress.write_ids_from_ms;
            copied = self
                .copy_write_ids(&source, &workload, from_ms)
                .await
                .map(|_| ());
        }
        if let Err(stop) = copied {
            let _ = self.side(&source, &workload, SideOp::Thaw).await;
            self.frozen_since = None;
            return Err(stop);
        }
        let downtime_ms = self
            .frozen_since
            .map_or(0, |since| since.elapsed().as_millis() as u64);
        let switched = self
            .propose(MigrationCommand::Cutover {
                id: self.id.clone(),
                downtime_ms,
            })
            .await;
        let thawed = self.side(&source, &workload, SideOp::Thaw).await;
        let switched = switched?;
        thawed?;
        if !matches!(switched, MigrationAnswer::Done { .. }) {
            self.frozen_since = None;
            return Ok(());
        }
        let next = match record.plan.validate {
            true => Phase::Validation,
            false => Phase::Cleanup,
        };
        let step = self.advance(record, next, progress, None).await;
        self.frozen_since = None;
        step
    }

    /// Remembers here the write ids the source applied from `from_ms` on (a little
    /// before, in case its clock stepped back: one remembered twice is remembered once),
    /// so that a write sent again after the move is still applied once; when it began.
    async fn copy_write_ids(
        &self,
        source: &NodeInfo,
        workload: &str,
        from_ms: u64,
    ) -> Result<u64, Stop> {
        let began = crate::node::now_ms();
        let mut after = (from_ms.saturating_sub(WRITE_ID_SLACK_MS), String::new());
        loop {
            let asked = SideOp::WriteIds {
                after_ms: after.0,
                after_id: after.1.clone(),
                limit: WRITE_IDS_PER_PAGE,
            };
            let page = self.side(source, workload, asked).await?;
            let malformed = |e: serde_json::Error| retry(format!("the source's write ids: {e}"));
            let ids: Vec<RememberedId> =
                serde_json::from_value(page["ids"].clone()).map_err(malformed)?;
            let Some(last) = serde_json::from_value::<Option<(u64, String)>>(page["last"].clone())
                .map_err(malformed)?
            else {
                return Ok(began);
            };
            let writes = ids
                .into_iter()
                .map(RememberedId::write)
                .collect::<Result<Vec<_>, _>>()
                .map_err(retry)?;
            self.node
                .workload_store()
                .write(workload, writes)
                .await
                .map_err(|e| Stop::Fatal(format!("the target's store: {e}")))?;
            after = last;
        }
    }

    /// Count and digest equal on both sides (writes held meanwhile, so none is on one
    /// side only); otherwise roll back (or fail) naming the first keys that differ.
    async fn validate(&mut self, record: &MigrationRecord) -> Step {
        let source = self.source(&record.plan)?;
        let workload = Self::workload(record)?;
        let (theirs, ours) = {
            let _held = self.node.serial().one_at_a_time(&workload).await;
            let theirs = self.side(&source, &workload, SideOp::Summary).await?;
            let ours = self
                .node
                .workload_store()
                .summary(&workload)
                .await
                .map_err(|e| Stop::Fatal(format!("the target's store: {e}")))?;
            (theirs, ours)
        };
        let same = theirs["records"].as_u64() == Some(ours.records)
            && theirs["digest"].as_str() == Some(ours.digest.to_hex().as_str());
        if same {
            return self
                .advance(record, Phase::Cleanup, record.progress.clone(), None)
                .await;
        }
        let differing = self.differing_keys(&source, &workload).await?;
        let reason = format!(
            "validation failed: the source has {} records, the target {}; keys that differ: {}",
            theirs["records"],
            ours.records,
            differing.join(", ")
        );
        if record.plan.auto_rollback {
            self.propose(MigrationCommand::Rollback {
                id: self.id.clone(),
                checkpoint: None,
                error: Some(reason),
            })
            .await
            .map(|_| ())
        } else {
            Err(Stop::Fatal(reason))
        }
    }

    /// The first keys whose record differs between the sides (a merge of both in key
    /// order, a batch at a time).
    async fn differing_keys(&self, source: &NodeInfo, workload: &str) -> Result<Vec<String>, Stop> {
        let store = self.node.workload_store();
        let mut differing = Vec::new();
        let (mut theirs_after, mut ours_after) = (None::<String>, None::<String>);
        let (mut theirs, mut ours) = (
            Vec::new().into_iter().peekable(),
            Vec::new().into_iter().peekable(),
        );
        let (mut theirs_done, mut ours_done) = (false, false);
        while differing.len() < DIFFERING_KEYS_SHOWN {
            if theirs.peek().is_none() && !theirs_done {
                let request = ExportRequest {
                    workload: workload.to_string(),
                    from: ExportFrom::Keys {
                        after: theirs_after.clone(),
                    },
                    limit: 1_000,
                    compress: false,
                };
                let (batch, _) = self.fetch(source, &request).await?;
                theirs_done = batch.done;
                theirs_after = batch.records.last().map(|r| r.key.clone()).or(theirs_after);
                theirs = batch
                    .records
                    .into_iter()
                    .map(|r| (r.key, r.value.unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .peekable();
            }
            if ours.peek().is_none() && !ours_done {
                let (records, done) = store
                    .export_keys(
                        workload,
                        ours_after.clone(),
                        1_000,
                        transfer::MAX_BATCH_BYTES,
                    )
                    .await
                    .map_err(|e| Stop::Fatal(format!("the target's store: {e}")))?;
                ours_done = done;
                ours_after = records.last().map(|(k, _)| k.clone()).or(ours_after);
                ours = records
                    .into_iter()
                    .map(|(k, r)| (k, r.value))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .peekable();
            }
            match (theirs.peek(), ours.peek()) {
                (None, None) => break,
                (Some(_), None) => differing.extend(theirs.next().map(|(k, _)| k)),
                (None, Some(_)) => differing.extend(ours.next().map(|(k, _)| k)),
                (Some((a, _)), Some((b, _))) if a < b => {
                    differing.extend(theirs.next().map(|(k, _)| k))
                }
                (Some((a, _)), Some((b, _))) if a > b => {
                    differing.extend(ours.next().map(|(k, _)| k))
                }
                (Some(_), Some(_)) => {
                    let (key, value) = theirs.next().unwrap_or_default();
                    let (_, ours_value) = ours.next().unwrap_or_default();
                    if value != ours_value {
                        differing.push(key);
                    }
                }
            }
        }
        Ok(differing)
    }

    /// Removes the source's copy; then the next workload, or done.
    async fn cleanup(&mut self, record: &MigrationRecord) -> Step {
        let source = self.source(&record.plan)?;
        let workload = Self::workload(record)?;
        self.side(&source, &workload, SideOp::Drop).await?;
        let index = record.progress.workload_index + 1;
        let (next, progress) = match index < record.plan.workloads.len() {
            true => (
                Phase::PreSync,
                Progress {
                    workload_index: index,
                    cursor: None,
                    snapshot_done: false,
                    synced_seq: 0,
                    total_bytes: 0,
                    copied_this_workload: 0,
                    ..record.progress.clone()
                },
            ),
            false => (Phase::Completed, record.progress.clone()),
        };
        self.advance(record, next, progress, None).await
    }

    /// After a rollback: the source takes writes again (a freeze of ours ends now) and
    /// the target's copy goes.
    async fn clean_target(&mut self, record: &MigrationRecord) {
        let Some(workload) = record.workload().map(str::to_string) else {
            return;
        };
        if let Ok(source) = self.source(&record.plan) {
            let _ = self.side(&source, &workload, SideOp::Thaw).await;
        }
        let dropped = self
            .node
            .workload_store()
            .write(&workload, vec![Write::Drop])
            .await;
        if dropped.is_ok() {
            let _ = self
                .propose(MigrationCommand::TargetCleaned {
                    id: self.id.clone(),
                })
                .await;
        }
    }
}

/// What a fetched batch adds to the progress once imported.
struct Fetched {
    records: usize,
    bytes: u64,
    wire: usize,
    last_key: Option<String>,
    last_seq: u64,
    done: bool,
}

/// The copy's own time, in whole milliseconds summed without losing the remainders.
struct CopyClock {
    counted_until: Instant,
}

impl CopyClock {
    fn start() -> CopyClock {
        CopyClock {
            counted_until: Instant::now(),
        }
    }

    /// Milliseconds since the last lap (the part of a millisecond left over counts in
    /// the next).
    fn lap_ms(&mut self) -> u64 {
        let ms = self.counted_until.elapsed().as_millis() as u64;
        self.counted_until += Duration::from_millis(ms);
        ms
    }
}
