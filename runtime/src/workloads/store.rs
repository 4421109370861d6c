//! The records of the workloads this node serves, in its own redb file beside the Raft
//! database (`workloads.redb`): a workload can be large, so its records are never in the
//! Raft log or the replicated state, only its placement is. Each record keeps its
//! version (one more per write of the key) and the sequence number of its last change;
//! a per-workload summary (records, bytes, content digest, last sequence number) is kept
//! in the same transaction as every write, so `workload show` costs one read. The
//! changes index (sequence number → key, deletions included) is what a migration's
//! delta rounds read. Imports (a migration's copy, a mirrored write) take a sequence
//! number but stay out of the changes index: a migration from this node reads only the
//! changes made after it began, and no import happens here then (one migration moves a
//! workload at a time) — which spares a bulk copy one B-tree insert in two.
//!
//! Writes go to one writer thread that commits whatever is waiting in one fsynced
//! transaction (group commit): a write is acknowledged once durable, and concurrent
//! writers share the fsync rather than queueing for redb's single write transaction.
//! A value of `LOG_MIN_BYTES` or more is appended to its workload's value log and its
//! row points there (`value_log.rs`): a bulk copy then costs the B-tree a small row per
//! record instead of the record itself; the writer compacts the log while idle.

use super::compaction::{self, Compaction, Stepped};
use super::digest::{record_hash, ContentDigest};
use super::row::{Held, Row};
use super::value_log::{LogWriter, Pointer, ReadError, Segments, LOG_MIN_BYTES};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::{HashMap, HashSet};
use std::io;
use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;
use tokio::sync::oneshot;

/// The store's file inside a data dir.
pub const STORE_FILE: &str = "workloads.redb";

/// (workload, key) → version, sequence number and the value's JSON bytes, or where
/// they are in the value log (`row.rs`).
pub(super) const RECORDS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("records");
/// (workload, sequence number) → the key changed then (its latest change only).
const CHANGES: TableDefinition<(&str, u64), &str> = TableDefinition::new("changes");
/// workload → its summary.
const SUMMARIES: TableDefinition<&str, &[u8]> = TableDefinition::new("summaries");
/// (workload, write id) → when it was applied (ms) and what it did: a write sent
/// again with the same id (a retry, a replayed step) is answered from here.
const APPLIED: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("applied");
/// (workload, when applied in ms, write id): the order `APPLIED` is forgotten in.
const APPLIED_AT: TableDefinition<(&str, u64, &str), ()> = TableDefinition::new("applied_at");
/// Value log segment → the workload it belongs to and its live bytes (those of the
/// entries a row points at).
pub(super) const SEGMENTS: TableDefinition<u64, (&str, u64)> = TableDefinition::new("segments");
/// How long a write id is remembered.
pub const WRITE_ID_KEPT: std::time::Duration = std::time::Duration::from_secs(3_600);
/// Expired write ids forgotten per write at most (the rest on later writes).
const FORGET_PER_WRITE: usize = 16;

/// Write requests one transaction takes at most.
const GROUP_COMMIT_MAX: usize = 256;
/// The most bytes of rows the writer holds in its open transaction of imports before
/// it commits them, without an fsync: well under the page cache, which an open
/// transaction that outgrows it spills to the file and reads back. (A value in the
/// value log counts as its pointer.)
const OPEN_MAX: usize = 4 * 1024 * 1024;
/// The most bytes of imports (values included) committed without an fsync before one.
const UNSYNCED_MAX: usize = 64 * 1024 * 1024;
/// Reads of a value whose segment went away meanwhile, at most.
const READ_ATTEMPTS: usize = 5;
/// Writes carrying more bytes than this are hashed on a blocking thread.
const HASH_INLINE_BYTES: usize = 64 * 1024;
/// redb's page cache for the workload store (16 MiB keeps a migration target within
/// 64 MB of its idle memory: +50 MiB measured for 1 GB, +65 with 32 MiB).
const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// A record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub version: u64,
    /// The sequence number of the write that made it.
    pub seq: u64,
    /// Its value, JSON.
    pub value: Vec<u8>,
}

/// What a workload holds on this node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub records: u64,
    /// Keys' and values' bytes.
    pub bytes: u64,
    /// The last sequence number handed out (0: never written).
    pub seq: u64,
    pub digest: ContentDigest,
}

impl Summary {
    fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(56);
        for number in [self.records, self.bytes, self.seq] {
            bytes.extend_from_slice(&number.to_le_bytes());
        }
        bytes.extend_from_slice(&self.digest.to_bytes());
        bytes
    }

    fn decode(bytes: &[u8]) -> io::Result<Summary> {
        if bytes.len() != 56 {
            return Err(io::Error::other("a workload summary is damaged"));
        }
        let number = |at: usize| {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(raw)
        };
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&bytes[24..56]);
        Ok(Summary {
            records: number(0),
            bytes: number(8),
            seq: number(16),
            digest: ContentDigest::from_bytes(&digest),
        })
    }
}

/// One change to a workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Writes `value` (JSON) under `key`; with `if_version`, only if the key's version
    /// is that (0: only if absent).
    Put {
        key: String,
        value: Vec<u8>,
        if_version: Option<u64>,
    },
    Delete {
        key: String,
    },
    /// `write` (a put or a delete) unless a write with this id was applied in the last
    /// `WRITE_ID_KEPT`: then what that one did, and nothing more.
    Once {
        id: String,
        write: Box<Write>,
    },
    /// A write id as another node remembers it (`record`: its `APPLIED` value), so
    /// that a workload moved here, or back, still applies each write once.
    Remember {
        id: String,
        record: Vec<u8>,
    },
    /// Every record of the workload, and its summary.
    Drop,
    /// Sets `key` to exactly this record (none: absent), as copied from another node:
    /// a migration's import, a mirrored write. Applying it twice changes nothing more.
    Import {
        key: String,
        value: Option<Vec<u8>>,
        version: u64,
    },
}

/// What the row of a new value needs worked out: the record's hash, and the value's
/// CRC-32 when it goes to the value log.
#[derive(Debug, Clone, Copy)]
struct Checks {
    hash: [u8; 32],
    crc32: Option<u32>,
}

impl Checks {
    fn of(key: &str, value: &[u8]) -> Checks {
        Checks {
            hash: record_hash(key, value),
            crc32: (value.len() >= LOG_MIN_BYTES).then(|| crc32fast::hash(value)),
        }
    }
}

impl Write {
    /// The checks of the record it leaves (none: it leaves none).
    fn new_checks(&self) -> Option<Checks> {
        match self {
            Write::Once { write, .. } => write.new_checks(),
            Write::Put { key, value, .. }
            | Write::Import {
                key,
                value: Some(value),
                ..
            } => Some(Checks::of(key, value)),
            _ => None,
        }
    }
}

fn written_bytes(writes: &[Write]) -> usize {
    writes.iter().map(Write::bytes).sum()
}

impl Write {
    /// The value bytes it writes.
    fn bytes(&self) -> usize {
        match self {
            Write::Put { value, .. }
            | Write::Import {
                value: Some(value), ..
            } => value.len(),
            Write::Once { write, .. } => write.bytes(),
            _ => 0,
        }
    }

    /// The bytes it puts in the B-tree's rows: a logged value's pointer, not the value.
    fn row_bytes(&self) -> usize {
        match self.bytes() {
            value if value >= LOG_MIN_BYTES => Pointer::ENCODED_BYTES,
            value => value,
        }
    }
}

fn row_bytes(writes: &[Write]) -> usize {
    writes.iter().map(Write::row_bytes).sum()
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Put { success: bool, version: u64 },
    Deleted(bool),
    Dropped,
    Imported,
}

impl Written {
    /// Its record in `APPLIED`, after the time it was applied (a put or a delete).
    fn encode_applied(self, at_ms: u64) -> Vec<u8> {
        let mut bytes = at_ms.to_le_bytes().to_vec();
        match self {
            Written::Put { success, version } => {
                bytes.push(u8::from(success));
                bytes.extend_from_slice(&version.to_le_bytes());
            }
            Written::Deleted(deleted) => bytes.push(2 + u8::from(deleted)),
            Written::Dropped | Written::Imported => {}
        }
        bytes
    }

    /// When it was applied and what it did, from its record in `APPLIED`.
    fn decode_applied(bytes: &[u8]) -> io::Result<(u64, Written)> {
        let damaged = || io::Error::other("a remembered write id is damaged");
        let number = |range: std::ops::Range<usize>| -> io::Result<u64> {
            let raw: [u8; 8] = bytes
                .get(range)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(damaged)?;
            Ok(u64::from_le_bytes(raw))
        };
        let at_ms = number(0..8)?;
        let written = match bytes.get(8) {
            Some(flag @ (0 | 1)) if bytes.len() == 17 => Written::Put {
                success: *flag == 1,
                version: number(9..17)?,
            },
            Some(flag @ (2 | 3)) if bytes.len() == 9 => Written::Deleted(*flag == 3),
            _ => return Err(damaged()),
        };
        Ok((at_ms, written))
    }
}

/// Writes with their records' hashes (and logged values' CRC-32s) worked out — the
/// digest's hashing is most of a large import's cost, and done before the writes are
/// queued it runs beside the one writer thread instead of inside it.
pub struct Prepared {
    writes: Vec<Write>,
    new_checks: Vec<Option<Checks>>,
}

impl Prepared {
    pub async fn of(writes: Vec<Write>) -> io::Result<Prepared> {
        let hash = |writes: Vec<Write>| {
            let new_checks = writes.iter().map(Write::new_checks).collect();
            Prepared { writes, new_checks }
        };
        match written_bytes(&writes) > HASH_INLINE_BYTES {
            true => tokio::task::spawn_blocking(move || hash(writes))
                .await
                .map_err(io_error),
            false => Ok(hash(writes)),
        }
    }
}

/// Writes queued for the writer thread.
pub struct Queued(oneshot::Receiver<io::Result<Vec<Written>>>);

impl Queued {
    /// What each write did, once applied.
    pub async fn applied(self) -> io::Result<Vec<Written>> {
        self.0.await.map_err(|_| writer_stopped())?
    }
}

fn writer_stopped() -> io::Error {
    io::Error::other("the workload store's writer stopped")
}

struct Request {
    /// The workload written (a `sync`: the workload whose imports it makes durable).
    workload: String,
    writes: Vec<Write>,
    /// Each write's new record's hash, worked out before the writer thread sees it.
    new_checks: Vec<Option<Checks>>,
    /// Answered only once on disk (else once applied: see `import_unsynced`).
    durable: bool,
    reply: oneshot::Sender<io::Result<Vec<Written>>>,
}

#[derive(Clone)]
pub struct WorkloadStore {
    db: Arc<Database>,
    writer: mpsc::Sender<Request>,
    segments: Arc<Segments>,
}

pub(super) fn io_error(error: impl std::fmt::Display) -> io::Error {
    io::Error::other(error.to_string())
}

impl WorkloadStore {
    /// Opens (creating if needed) the store in `data_dir` and starts its writer thread.
    pub fn open(data_dir: &Path) -> io::Result<WorkloadStore> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(STORE_FILE);
        let db = open_waiting_for_close(&path)
            .map_err(|e| io::Error::other(format!("cannot open {}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(io_error)?;
        txn.open_table(RECORDS).map_err(io_error)?;
        txn.open_table(CHANGES).map_err(io_error)?;
        txn.open_table(SUMMARIES).map_err(io_error)?;
        txn.open_table(APPLIED).map_err(io_error)?;
        txn.open_table(APPLIED_AT).map_err(io_error)?;
        let mut known = HashMap::new();
        for entry in txn
            .open_table(SEGMENTS)
            .map_err(io_error)?
            .iter()
            .map_err(io_error)?
        {
            let (segment, owner) = entry.map_err(io_error)?;
            known.insert(segment.value(), owner.value().0.to_string());
        }
        txn.commit().map_err(io_error)?;
        let log = LogWriter::open(data_dir, &known)?;
        let segments = log.segments();
        let db = Arc::new(db);
        let (writer, requests) = mpsc::channel();
        let writing = db.clone();
        std::thread::Builder::new()
            .name("workload-writer".into())
            .spawn(move || write_forever(&writing, log, &requests))?;
        Ok(WorkloadStore {
            db,
            writer,
            segments,
        })
    }

    /// Applies `writes` to `workload` in order, durably; what each did.
    pub async fn write(&self, workload: &str, writes: Vec<Write>) -> io::Result<Vec<Written>> {
        let prepared = Prepared::of(writes).await?;
        self.submit(workload, prepared, true)?.applied().await
    }

    /// Queues `prepared` for `workload` behind every write queued before it, durable by
    /// the next `sync` (or sooner): a migration's bulk copy, which queues the next batch
    /// while one is applied, and only reports progress after a `sync` — so it pays for
    /// one commit every `UNSYNCED_MAX` bytes rather than one per batch. Until then the
    /// imports are invisible to readers.
    pub fn import_unsynced(&self, workload: &str, prepared: Prepared) -> io::Result<Queued> {
        self.submit(workload, prepared, false)
    }

    /// Makes every write applied so far durable; fails if imports into `workload`
    /// were answered and then lost to a storage error.
    pub async fn sync(&self, workload: &str) -> io::Result<()> {
        let nothing = Prepared {
            writes: Vec::new(),
            new_checks: Vec::new(),
        };
        self.submit(workload, nothing, true)?
            .applied()
            .await
            .map(|_| ())
    }

    fn submit(&self, workload: &str, prepared: Prepared, durable: bool) -> io::Result<Queued> {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            workload: workload.to_string(),
            writes: prepared.writes,
            new_checks: prepared.new_checks,
            durable,
            reply,
        };
        self.writer.send(request).map_err(|_| writer_stopped())?;
        Ok(Queued(answer))
    }

    /// Runs `read` on a blocking thread with a snapshot of the store; again, on a
    /// fresh snapshot, when a value it was reading moved meanwhile (its segment was
    /// compacted or dropped).
    async fn reading<T: Send + 'static>(
        &self,
        read: impl Fn(&Database, &Segments) -> Result<T, ReadError> + Send + 'static,
    ) -> io::Result<T> {
        let (db, segments) = (self.db.clone(), self.segments.clone());
        tokio::task::spawn_blocking(move || {
            let mut attempts = 0;
            loop {
                attempts += 1;
                match read(&db, &segments) {
                    Err(ReadError::Gone) if attempts < READ_ATTEMPTS => continue,
                    outcome => return outcome.map_err(io::Error::from),
                }
            }
        })
        .await
        .map_err(io_error)?
    }

    pub async fn get(&self, workload: &str, key: &str) -> io::Result<Option<StoredRecord>> {
        let (workload, key) = (workload.to_string(), key.to_string());
        self.reading(move |db, segments| {
            let txn = db.begin_read().map_err(io_error)?;
            let table = txn.open_table(RECORDS).map_err(io_error)?;
            match table
                .get((workload.as_str(), key.as_str()))
                .map_err(io_error)?
            {
                Some(bytes) => stored(bytes.value(), segments).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    /// Records whose key starts with `prefix`, in key order, at most `limit`.
    pub async fn scan(
        &self,
        workload: &str,
        prefix: &str,
        limit: usize,
    ) -> io::Result<Vec<(String, StoredRecord)>> {
        let (workload, prefix) = (workload.to_string(), prefix.to_string());
        self.reading(move |db, segments| {
            let txn = db.begin_read().map_err(io_error)?;
            let table = txn.open_table(RECORDS).map_err(io_error)?;
            let start = (workload.as_str(), prefix.as_str());
            let mut found = Vec::new();
            for entry in table.range(start..).map_err(io_error)? {
                if found.len() >= limit {
                    break;
                }
                let (name, bytes) = entry.map_err(io_error)?;
                let (owner, key) = name.value();
                if owner != workload || !key.starts_with(prefix.as_str()) {
                    break;
                }
                found.push((key.to_string(), Row::decode(bytes.value())?));
            }
            materialize(found, segments)
        })
        .await
    }

    /// Records after `after` (from the first: none) in key order: at most `limit`, and
    /// no more once `max_bytes` of keys and values are taken; whether none are left.
    pub async fn export_keys(
        &self,
        workload: &str,
        after: Option<String>,
        limit: usize,
        max_bytes: usize,
    ) -> io::Result<(Vec<(String, StoredRecord)>, bool)> {
        let workload = workload.to_string();
        self.reading(move |db, segments| {
            let txn = db.begin_read().map_err(io_error)?;
            let table = txn.open_table(RECORDS).map_err(io_error)?;
            let start = (workload.as_str(), after.as_deref().unwrap_or(""));
            let mut found = Vec::new();
            let mut bytes = 0;
            for entry in table.range(start..).map_err(io_error)? {
                let (name, row) = entry.map_err(io_error)?;
                let (owner, key) = name.value();
                if owner != workload {
                    return Ok((materialize(found, segments)?, true));
                }
                if after.as_deref() == Some(key) {
                    continue;
                }
                if found.len() >= limit || bytes >= max_bytes {
                    return Ok((materialize(found, segments)?, false));
                }
                let row = Row::decode(row.value())?;
                bytes += key.len() + row.value_len();
                found.push((key.to_string(), row));
            }
            Ok((materialize(found, segments)?, true))
        })
        .await
    }

    /// Keys changed after sequence number `since`, in the order they last changed, each
    /// with what it holds now (none: deleted): at most `limit`, and no more once
    /// `max_bytes` are taken; the last sequence number covered, and whether that is the
    /// latest.
    #[allow(clippy::type_complexity)]
    pub async fn export_changes(
        &self,
        workload: &str,
        since: u64,
        limit: usize,
        max_bytes: usize,
    ) -> io::Result<(Vec<(String, Option<StoredRecord>)>, u64, bool)> {
        let workload = workload.to_string();
        self.reading(move |db, segments| {
            let txn = db.begin_read().map_err(io_error)?;
            let changes = txn.open_table(CHANGES).map_err(io_error)?;
            let records = txn.open_table(RECORDS).map_err(io_error)?;
            let range =
                (workload.as_str(), since.saturating_add(1))..=(workload.as_str(), u64::MAX);
            let mut found = Vec::new();
            let (mut bytes, mut last) = (0, since);
            for entry in changes.range(range).map_err(io_error)? {
                if found.len() >= limit || bytes >= max_bytes {
                    return Ok((found, last, false));
                }
                let (at, key) = entry.map_err(io_error)?;
                let key = key.value().to_string();
                let record = match records
                    .get((workload.as_str(), key.as_str()))
                    .map_err(io_error)?
                {
                    Some(row) => Some(stored(row.value(), segments)?),
                    None => None,
                };
                bytes += key.len() + record.as_ref().map_or(0, |r| r.value.len());
                last = at.value().1;
                found.push((key, record));
            }
            Ok((found, last, true))
        })
        .await
    }

    /// The write ids remembered for `workload` after `after` (when applied, id), in the
    /// order they were applied, at most `limit`, each with its `APPLIED` value.
    pub async fn write_ids(
        &self,
        workload: &str,
        after: (u64, String),
        limit: usize,
    ) -> io::Result<Vec<(u64, String, Vec<u8>)>> {
        let workload = workload.to_string();
        self.reading(move |db, _| {
            let txn = db.begin_read().map_err(io_error)?;
            let order = txn.open_table(APPLIED_AT).map_err(io_error)?;
            let applied = txn.open_table(APPLIED).map_err(io_error)?;
            let start = (workload.as_str(), after.0, after.1.as_str());
            let end = (workload.as_str(), u64::MAX, "");
            let mut found = Vec::new();
            for entry in order.range(start..end).map_err(io_error)? {
                let (key, _) = entry.map_err(io_error)?;
                let (_, at_ms, id) = key.value();
                if (at_ms, id) == (after.0, after.1.as_str()) {
                    continue;
                }
                if found.len() >= limit {
                    break;
                }
                if let Some(record) = applied.get((workload.as_str(), id)).map_err(io_error)? {
                    found.push((at_ms, id.to_string(), record.value().to_vec()));
                }
            }
            Ok(found)
        })
        .await
    }

    /// What this node remembers of write id `id` of `workload` (its `APPLIED` value).
    pub async fn remembered(&self, workload: &str, id: &str) -> io::Result<Option<Vec<u8>>> {
        let (workload, id) = (workload.to_string(), id.to_string());
        self.reading(move |db, _| {
            let txn = db.begin_read().map_err(io_error)?;
            let applied = txn.open_table(APPLIED).map_err(io_error)?;
            let found = applied
                .get((workload.as_str(), id.as_str()))
                .map_err(io_error)?;
            Ok(found.map(|record| record.value().to_vec()))
        })
        .await
    }

    pub async fn summary(&self, workload: &str) -> io::Result<Summary> {
        let workload = workload.to_string();
        self.reading(move |db, _| {
            let txn = db.begin_read().map_err(io_error)?;
            let table = txn.open_table(SUMMARIES).map_err(io_error)?;
            match table.get(workload.as_str()).map_err(io_error)? {
                Some(bytes) => Ok(Summary::decode(bytes.value())?),
                None => Ok(Summary::default()),
            }
        })
        .await
    }

    /// Keys' and values' bytes of every workload here but those named.
    pub async fn bytes_held_except(&self, but: &[String]) -> io::Result<u64> {
        let but = but.to_vec();
        self.reading(move |db, _| {
            let txn = db.begin_read().map_err(io_error)?;
            let table = txn.open_table(SUMMARIES).map_err(io_error)?;
            let mut bytes = 0u64;
            for entry in table.iter().map_err(io_error)? {
                let (workload, summary) = entry.map_err(io_error)?;
                if !but.iter().any(|name| name == workload.value()) {
                    bytes = bytes.saturating_add(Summary::decode(summary.value())?.bytes);
                }
            }
            Ok(bytes)
        })
        .await
    }
}

/// The record a row holds, its value read from the log when it is there.
fn stored(row: &[u8], segments: &Segments) -> Result<StoredRecord, ReadError> {
    let row = Row::decode(row)?;
    let (version, seq) = (row.version, row.seq);
    Ok(StoredRecord {
        version,
        seq,
        value: row.value(segments)?,
    })
}

/// The records `rows` hold, their logged values read together (see
/// `Segments::read_many`).
fn materialize(
    rows: Vec<(String, Row)>,
    segments: &Segments,
) -> Result<Vec<(String, StoredRecord)>, ReadError> {
    let pointers: Vec<_> = rows
        .iter()
        .filter_map(|(_, row)| match &row.held {
            Held::Logged(pointer) => Some(*pointer),
            Held::Inline(_) => None,
        })
        .collect();
    let mut logged = segments.read_many(&pointers)?.into_iter();
    let mut records = Vec::with_capacity(rows.len());
    for (key, row) in rows {
        let value = match row.held {
            Held::Inline(value) => value,
            Held::Logged(_) => logged
                .next()
                .ok_or_else(|| io::Error::other("a logged value was not read"))?,
        };
        let (version, seq) = (row.version, row.seq);
        records.push((
            key,
            StoredRecord {
                version,
                seq,
                value,
            },
        ));
    }
    Ok(records)
}

/// Opens the file; right after this process closed it, redb may still hold it a moment.
fn open_waiting_for_close(path: &Path) -> Result<Database, redb::DatabaseError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match Database::builder().set_cache_size(CACHE_BYTES).create(path) {
            Err(redb::DatabaseError::DatabaseAlreadyOpen)
                if std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

/// The writer thread: each turn takes every waiting request (up to
/// `GROUP_COMMIT_MAX`). Unsynced imports are applied to a transaction left open across
/// turns — committing one per batch costs more than the batch — and answered at once;
/// `OPEN_MAX` bytes of them commit it without an fsync, `UNSYNCED_MAX` with one;
/// anything else (a write, a `sync`) commits it with the turn's requests, fsynced,
/// before they are answered. Ends when the store is dropped.
fn write_forever(db: &Database, log: LogWriter, requests: &mpsc::Receiver<Request>) {
    let mut writer = Writer {
        db,
        open: None,
        unsynced: 0,
        lost: HashSet::new(),
        log,
        dropped: Vec::new(),
        compaction: None,
        maybe_garbage: true,
        uncompactable: HashSet::new(),
    };
    loop {
        // Compaction runs a step at a time, only while no request waits.
        let first = match requests.try_recv() {
            Ok(request) => request,
            Err(mpsc::TryRecvError::Disconnected) => return,
            Err(mpsc::TryRecvError::Empty) if writer.has_compaction_work() => {
                writer.compact_step();
                continue;
            }
            Err(mpsc::TryRecvError::Empty) => match requests.recv() {
                Ok(request) => request,
                Err(_) => return,
            },
        };
        let mut group = vec![first];
        while group.len() < GROUP_COMMIT_MAX {
            match requests.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        writer.take(group);
    }
}

/// Imports applied and answered but not yet committed.
struct OpenImports {
    txn: redb::WriteTransaction,
    bytes: usize,
    /// Of them, the bytes in the B-tree's rows (see `OPEN_MAX`).
    row_bytes: usize,
    workloads: HashSet<String>,
}

struct Writer<'db> {
    db: &'db Database,
    open: Option<OpenImports>,
    /// Bytes of imports committed without an fsync since the last one.
    unsynced: usize,
    /// Workloads whose answered imports a failed transaction took with it: their
    /// imports and syncs fail until the workload is dropped (a copy starts again).
    lost: HashSet<String>,
    log: LogWriter,
    /// Segments of workloads dropped, deleted once the drop is durable.
    dropped: Vec<u64>,
    /// The segment being compacted, between steps.
    compaction: Option<Compaction>,
    /// Some logged value was replaced or deleted since compaction last found nothing.
    maybe_garbage: bool,
    /// Segments compaction failed on (a damaged entry): left as they are.
    uncompactable: HashSet<u64>,
}

impl Writer<'_> {
    fn take(&mut self, group: Vec<Request>) {
        let (refused, group): (Vec<Request>, Vec<Request>) =
            group.into_iter().partition(|r| self.refuses(r));
        for request in refused {
            let error = format!(
                "imports into workload `{}` were lost to a storage error; copy it again",
                request.workload
            );
            let _ = request.reply.send(Err(io::Error::other(error)));
        }
        if group.is_empty() {
            return;
        }
        let open_bytes = self.open.as_ref().map_or(0, |open| open.bytes);
        let open_row_bytes = self.open.as_ref().map_or(0, |open| open.row_bytes);
        let bytes: usize = group.iter().map(|r| written_bytes(&r.writes)).sum();
        let row_bytes: usize = group.iter().map(|r| row_bytes(&r.writes)).sum();
        let durable = group.iter().any(|r| r.durable);
        let fsync = durable || self.unsynced + open_bytes + bytes >= UNSYNCED_MAX;
        let commit = fsync || open_row_bytes + row_bytes >= OPEN_MAX;
        let nothing_to_do = self.open.is_none() && self.unsynced == 0;
        if durable && nothing_to_do && group.iter().all(|r| r.writes.is_empty()) {
            return answer(group, Ok(Vec::new()));
        }
        let (mut txn, mut workloads) = match self.open.take() {
            Some(open) => (open.txn, open.workloads),
            None => match self.db.begin_write() {
                Ok(txn) => (txn, HashSet::new()),
                Err(error) => return answer(group, Err(error.to_string())),
            },
        };
        // `workloads`: those with imports answered before this turn, lost if it fails.
        let mut effects = LogEffects {
            log: &mut self.log,
            live: HashMap::new(),
            dropped: &mut self.dropped,
            released: false,
        };
        let applied = apply_group(&txn, &group, &mut effects);
        self.maybe_garbage |= effects.released;
        let outcome = match (applied, commit) {
            (Ok(results), false) => {
                workloads.extend(group.iter().map(|r| r.workload.clone()));
                self.open = Some(OpenImports {
                    txn,
                    bytes: open_bytes + bytes,
                    row_bytes: open_row_bytes + row_bytes,
                    workloads,
                });
                Ok(results)
            }
            (Ok(results), true) => {
                let durability = match fsync {
                    true => redb::Durability::Immediate,
                    false => redb::Durability::None,
                };
                // The values rows point at are in their files first (fsynced
                // first, for a durable commit).
                let values_written = match fsync {
                    true => self.log.sync(),
                    false => self.log.flush(),
                };
                let committed = values_written
                    .map_err(|e| e.to_string())
                    .and_then(|()| txn.set_durability(durability).map_err(|e| e.to_string()))
                    .and_then(|()| txn.commit().map_err(|e| e.to_string()));
                match committed {
                    Ok(()) => {
                        self.unsynced = match fsync {
                            true => 0,
                            false => self.unsynced + open_bytes + bytes,
                        };
                        // Only once the drop is durable: a crash cannot bring back
                        // rows pointing into a deleted file.
                        if fsync {
                            self.delete_dropped();
                        }
                        Ok(results)
                    }
                    Err(error) => {
                        self.lost.extend(workloads);
                        self.forget_appends();
                        Err(error)
                    }
                }
            }
            (Err(error), _) => {
                self.lost.extend(workloads);
                self.forget_appends();
                Err(error.to_string())
            }
        };
        if outcome.is_ok() {
            for request in &group {
                if request.writes.contains(&Write::Drop) {
                    self.lost.remove(&request.workload);
                }
            }
        }
        answer_each(group, outcome);
    }

    /// After a transaction is lost: its appends are garbage (their segments unknown to
    /// the store, deleted when it next opens) and its drops did not happen.
    fn forget_appends(&mut self) {
        self.log.abandon_active();
        self.dropped.clear();
    }

    /// Deletes the segments of workloads whose drop is now durable.
    fn delete_dropped(&mut self) {
        let dropped = std::mem::take(&mut self.dropped);
        if let Err(error) = self.log.delete(&dropped) {
            // Unknown to the store now, the files go when it next opens.
            tracing::warn!(%error, "could not delete a dropped workload's value segments");
        }
    }

    fn has_compaction_work(&self) -> bool {
        self.open.is_none() && (self.compaction.is_some() || self.maybe_garbage)
    }

    /// One step of compacting the segment most worth it (choosing it first).
    fn compact_step(&mut self) {
        let mut compaction = match self.compaction.take() {
            Some(compaction) => compaction,
            None => match compaction::choose(self.db, &self.log, &self.uncompactable) {
                Ok(Some(chosen)) => chosen,
                Ok(None) => return self.maybe_garbage = false,
                Err(error) => {
                    tracing::error!(%error, "cannot choose a value segment to compact");
                    return self.maybe_garbage = false;
                }
            },
        };
        let segment = compaction.segment();
        let stepped = (|| -> io::Result<Stepped> {
            let txn = self.db.begin_write().map_err(io_error)?;
            let stepped = compaction::step(&txn, &mut self.log, &mut compaction)?;
            self.log.sync()?;
            txn.commit().map_err(io_error)?;
            Ok(stepped)
        })();
        match stepped {
            Ok(Stepped::More) => {
                self.unsynced = 0;
                self.delete_dropped();
                self.compaction = Some(compaction);
            }
            Ok(Stepped::Done) => {
                self.unsynced = 0;
                self.delete_dropped();
                if let Err(error) = self.log.delete(&[segment]) {
                    tracing::warn!(%error, segment, "could not delete a compacted value segment");
                }
            }
            Ok(Stepped::Gone) => {}
            Err(error) => {
                tracing::error!(%error, segment, "compacting a value segment failed; it is left as it is");
                self.log.abandon_active();
                self.uncompactable.insert(segment);
            }
        }
    }

    /// Whether `request` would build on imports that were lost.
    fn refuses(&self, request: &Request) -> bool {
        self.lost.contains(&request.workload)
            && (request.writes.is_empty()
                || request
                    .writes
                    .iter()
                    .any(|write| matches!(write, Write::Import { .. })))
    }
}

/// Gives every request of `group` the same answer.
fn answer(group: Vec<Request>, outcome: Result<Vec<Written>, String>) {
    for request in group {
        let reply = outcome.clone().map_err(io::Error::other);
        let _ = request.reply.send(reply);
    }
}

/// Gives each request of `group` its own results, or all the same error.
fn answer_each(group: Vec<Request>, outcome: Result<Vec<Vec<Written>>, String>) {
    match outcome {
        Ok(results) => {
            for (request, result) in group.into_iter().zip(results) {
                let _ = request.reply.send(Ok(result));
            }
        }
        Err(error) => answer(group, Err(error)),
    }
}

/// What a group's writes do to the value log beside their rows.
struct LogEffects<'a> {
    log: &'a mut LogWriter,
    /// Each segment's change in live bytes, written to `SEGMENTS` once per group.
    live: HashMap<u64, i64>,
    /// Segments of dropped workloads.
    dropped: &'a mut Vec<u64>,
    /// A logged value was replaced or deleted: there may be garbage to compact.
    released: bool,
}

fn apply_group(
    txn: &redb::WriteTransaction,
    group: &[Request],
    effects: &mut LogEffects,
) -> io::Result<Vec<Vec<Written>>> {
    let mut results = Vec::with_capacity(group.len());
    let mut segments = txn.open_table(SEGMENTS).map_err(io_error)?;
    let mut records = txn.open_table(RECORDS).map_err(io_error)?;
    let mut changes = txn.open_table(CHANGES).map_err(io_error)?;
    let mut summaries = txn.open_table(SUMMARIES).map_err(io_error)?;
    let mut applied = txn.open_table(APPLIED).map_err(io_error)?;
    let mut applied_at = txn.open_table(APPLIED_AT).map_err(io_error)?;
    let now_ms = crate::node::now_ms();
    for request in group {
        if request.writes.is_empty() {
            results.push(Vec::new());
            continue;
        }
        let workload = request.workload.as_str();
        let mut summary = match summaries.get(workload).map_err(io_error)? {
            Some(bytes) => Summary::decode(bytes.value())?,
            None => Summary::default(),
        };
        let mut done = Vec::with_capacity(request.writes.len());
        for (write, new_checks) in request.writes.iter().zip(&request.new_checks) {
            let mut tables = Tables {
                records: &mut records,
                changes: &mut changes,
                applied: &mut applied,
                applied_at: &mut applied_at,
                segments: &mut segments,
                effects,
                now_ms,
            };
            done.push(tables.apply(workload, write, *new_checks, &mut summary)?);
        }
        if summary == Summary::default() {
            summaries.remove(workload).map_err(io_error)?;
        } else {
            summaries
                .insert(workload, summary.encode().as_slice())
                .map_err(io_error)?;
        }
        results.push(done);
    }
    for (segment, change) in effects.live.drain() {
        compaction::add_live(&mut segments, segment, change)?;
        effects.released |= change < 0;
    }
    Ok(results)
}

struct Tables<'a, 'txn, 'log> {
    records: &'a mut redb::Table<'txn, (&'static str, &'static str), &'static [u8]>,
    changes: &'a mut redb::Table<'txn, (&'static str, u64), &'static str>,
    applied: &'a mut redb::Table<'txn, (&'static str, &'static str), &'static [u8]>,
    applied_at: &'a mut redb::Table<'txn, (&'static str, u64, &'static str), ()>,
    segments: &'a mut redb::Table<'txn, u64, (&'static str, u64)>,
    effects: &'a mut LogEffects<'log>,
    now_ms: u64,
}

impl Tables<'_, '_, '_> {
    fn apply(
        &mut self,
        workload: &str,
        write: &Write,
        new_checks: Option<Checks>,
        summary: &mut Summary,
    ) -> io::Result<Written> {
        let checks_of =
            |key: &str, value: &[u8]| new_checks.unwrap_or_else(|| Checks::of(key, value));
        match write {
            Write::Put {
                key,
                value,
                if_version,
            } => {
                let old = self.remove_record(workload, key, summary)?;
                let version = old.as_ref().map_or(0, |r| r.version);
                if if_version.is_some_and(|expected| expected != version) {
                    if let Some(old) = old {
                        let hash = old.hash(key);
                        self.restore(workload, key, &old, hash, summary)?;
                    }
                    return Ok(Written::Put {
                        success: false,
                        version,
                    });
                }
                summary.seq += 1;
                let checks = checks_of(key, value);
                let hash = checks.hash;
                let row = Row {
                    version: version + 1,
                    seq: summary.seq,
                    held: self.hold(workload, key, value, checks)?,
                };
                self.restore(workload, key, &row, hash, summary)?;
                Ok(Written::Put {
                    success: true,
                    version: row.version,
                })
            }
            Write::Delete { key } => match self.remove_record(workload, key, summary)? {
                Some(_) => {
                    // The deletion is a change too (a migration's delta carries it).
                    summary.seq += 1;
                    self.changes
                        .insert((workload, summary.seq), key.as_str())
                        .map_err(io_error)?;
                    Ok(Written::Deleted(true))
                }
                None => Ok(Written::Deleted(false)),
            },
            Write::Import {
                key,
                value,
                version,
            } => {
                summary.seq += 1;
                let replaced = match value {
                    Some(value) => {
                        let checks = checks_of(key, value);
                        let hash = checks.hash;
                        let row = Row {
                            version: *version,
                            seq: summary.seq,
                            held: self.hold(workload, key, value, checks)?,
                        };
                        let old = self
                            .records
                            .insert((workload, key.as_str()), row.encode().as_slice())
                            .map_err(io_error)?
                            .map(|old| Row::decode(old.value()))
                            .transpose()?;
                        self.count_live(key, &row, 1);
                        summary.records += 1;
                        summary.bytes += (key.len() + value.len()) as u64;
                        summary.digest.add(&hash);
                        old
                    }
                    None => {
                        let old = self
                            .records
                            .remove((workload, key.as_str()))
                            .map_err(io_error)?;
                        old.map(|old| Row::decode(old.value())).transpose()?
                    }
                };
                if let Some(old) = replaced {
                    self.forget(workload, key, &old, summary)?;
                }
                Ok(Written::Imported)
            }
            Write::Once { id, write } => self.apply_once(workload, id, write, new_checks, summary),
            Write::Remember { id, record } => {
                let (at_ms, _) = Written::decode_applied(record)?;
                let known = self
                    .applied
                    .get((workload, id.as_str()))
                    .map_err(io_error)?
                    .is_some();
                if !known {
                    self.applied
                        .insert((workload, id.as_str()), record.as_slice())
                        .map_err(io_error)?;
                    self.applied_at
                        .insert((workload, at_ms, id.as_str()), ())
                        .map_err(io_error)?;
                }
                Ok(Written::Imported)
            }
            Write::Drop => {
                // Every key of `workload` sorts before (`workload` + NUL, "").
                let after = format!("{workload}\0");
                self.records
                    .retain_in((workload, "")..(after.as_str(), ""), |_, _| false)
                    .map_err(io_error)?;
                self.applied
                    .retain_in((workload, "")..(after.as_str(), ""), |_, _| false)
                    .map_err(io_error)?;
                self.applied_at
                    .retain_in((workload, 0, "")..(after.as_str(), 0, ""), |_, _| false)
                    .map_err(io_error)?;
                self.changes
                    .retain_in((workload, 0)..=(workload, u64::MAX), |_, _| false)
                    .map_err(io_error)?;
                self.drop_segments(workload)?;
                *summary = Summary::default();
                Ok(Written::Dropped)
            }
        }
    }

    /// `write` once per `id` (see `Write::Once`); forgets a few expired ids.
    fn apply_once(
        &mut self,
        workload: &str,
        id: &str,
        write: &Write,
        new_checks: Option<Checks>,
        summary: &mut Summary,
    ) -> io::Result<Written> {
        if !matches!(write, Write::Put { .. } | Write::Delete { .. }) {
            return Err(io::Error::other("only a put or a delete has a write id"));
        }
        self.forget_expired_ids(workload)?;
        let remembered = match self.applied.get((workload, id)).map_err(io_error)? {
            Some(bytes) => Some(Written::decode_applied(bytes.value())?),
            None => None,
        };
        if let Some((_, written)) = remembered {
            return Ok(written);
        }
        let written = self.apply(workload, write, new_checks, summary)?;
        self.applied
            .insert(
                (workload, id),
                written.encode_applied(self.now_ms).as_slice(),
            )
            .map_err(io_error)?;
        self.applied_at
            .insert((workload, self.now_ms, id), ())
            .map_err(io_error)?;
        Ok(written)
    }

    fn forget_expired_ids(&mut self, workload: &str) -> io::Result<()> {
        let kept_ms = WRITE_ID_KEPT.as_millis() as u64;
        let before = self.now_ms.saturating_sub(kept_ms);
        let expired: Vec<(u64, String)> = self
            .applied_at
            .range((workload, 0, "")..(workload, before, ""))
            .map_err(io_error)?
            .take(FORGET_PER_WRITE)
            .map(|entry| {
                entry
                    .map(|(key, _)| {
                        let (_, at, id) = key.value();
                        (at, id.to_string())
                    })
                    .map_err(io_error)
            })
            .collect::<io::Result<_>>()?;
        for (at, id) in expired {
            self.applied_at
                .remove((workload, at, id.as_str()))
                .map_err(io_error)?;
            self.applied
                .remove((workload, id.as_str()))
                .map_err(io_error)?;
        }
        Ok(())
    }

    /// Takes a record out, and out of the summary and the changes index.
    fn remove_record(
        &mut self,
        workload: &str,
        key: &str,
        summary: &mut Summary,
    ) -> io::Result<Option<Row>> {
        let old = match self.records.remove((workload, key)).map_err(io_error)? {
            Some(old) => Row::decode(old.value())?,
            None => return Ok(None),
        };
        self.forget(workload, key, &old, summary)?;
        Ok(Some(old))
    }

    /// Takes a record already out of the records table out of the summary, the changes
    /// index and its segment's live bytes.
    fn forget(
        &mut self,
        workload: &str,
        key: &str,
        old: &Row,
        summary: &mut Summary,
    ) -> io::Result<()> {
        self.changes.remove((workload, old.seq)).map_err(io_error)?;
        self.count_live(key, old, -1);
        summary.records = summary.records.saturating_sub(1);
        summary.bytes = summary
            .bytes
            .saturating_sub((key.len() + old.value_len()) as u64);
        summary.digest.subtract(&old.hash(key));
        Ok(())
    }

    /// Puts a record in, and in the summary, the changes index and its segment's live
    /// bytes.
    fn restore(
        &mut self,
        workload: &str,
        key: &str,
        row: &Row,
        hash: [u8; 32],
        summary: &mut Summary,
    ) -> io::Result<()> {
        self.records
            .insert((workload, key), row.encode().as_slice())
            .map_err(io_error)?;
        self.changes
            .insert((workload, row.seq), key)
            .map_err(io_error)?;
        self.count_live(key, row, 1);
        summary.records += 1;
        summary.bytes += (key.len() + row.value_len()) as u64;
        summary.digest.add(&hash);
        Ok(())
    }

    /// How a value will be held: inline when short, else appended to the value log
    /// (a segment it starts is registered in this transaction).
    fn hold(
        &mut self,
        workload: &str,
        key: &str,
        value: &[u8],
        checks: Checks,
    ) -> io::Result<Held> {
        let Some(crc32) = checks.crc32 else {
            return Ok(Held::Inline(value.to_vec()));
        };
        let (pointer, created) =
            self.effects
                .log
                .append(workload, key, value, checks.hash, crc32)?;
        if created {
            self.segments
                .insert(pointer.segment, (workload, 0))
                .map_err(io_error)?;
        }
        Ok(Held::Logged(pointer))
    }

    /// Counts a logged row's entry into (`sign` 1) or out of (-1) its segment's live
    /// bytes.
    fn count_live(&mut self, key: &str, row: &Row, sign: i64) {
        if let Held::Logged(pointer) = &row.held {
            let bytes = i64::try_from(pointer.entry_bytes(key)).unwrap_or(i64::MAX);
            *self.effects.live.entry(pointer.segment).or_default() += sign * bytes;
        }
    }

    /// Unregisters every segment of `workload` (deleted once this commits); its next
    /// value starts a new one.
    fn drop_segments(&mut self, workload: &str) -> io::Result<()> {
        let mut owned = Vec::new();
        for entry in self.segments.iter().map_err(io_error)? {
            let (segment, owner) = entry.map_err(io_error)?;
            if owner.value().0 == workload {
                owned.push(segment.value());
            }
        }
        for segment in &owned {
            self.segments.remove(segment).map_err(io_error)?;
            self.effects.live.remove(segment);
        }
        self.effects.log.retire(workload);
        self.effects.dropped.extend(owned);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, value: &str, if_version: Option<u64>) -> Write {
        Write::Put {
            key: key.into(),
            value: value.as_bytes().to_vec(),
            if_version,
        }
    }

    #[tokio::test]
    async fn writes_keep_versions_summary_and_digest_and_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = WorkloadStore::open(dir.path()).expect("store");
        let written = store
            .write(
                "w",
                vec![
                    put("a", "1", None),
                    put("a", "2", Some(1)),
                    put("a", "3", Some(1)),
                    put("b", "4", Some(0)),
                    Write::Delete { key: "b".into() },
                    Write::Delete { key: "b".into() },
                ],
            )
            .await
            .expect("written");
        assert_eq!(
            written,
            [
                Written::Put {
                    success: true,
                    version: 1
                },
                Written::Put {
                    success: true,
                    version: 2
                },
                Written::Put {
                    success: false,
                    version: 2
                },
                Written::Put {
                    success: true,
                    version: 1
                },
                Written::Deleted(true),
                Written::Deleted(false),
            ]
        );
        store
            .write("other", vec![put("a", "2", None)])
            .await
            .expect("written");
        let summary = store.summary("w").await.expect("summary");
        assert_eq!((summary.records, summary.bytes, summary.seq), (1, 2, 4));
        // The same records in another workload, written another way: the same digest.
        assert_eq!(
            store.summary("other").await.expect("summary").digest,
            summary.digest
        );
        let record = store.get("w", "a").await.expect("read").expect("a record");
        assert_eq!((record.version, record.value.as_slice()), (2, &b"2"[..]));
        drop(store);
        let store = WorkloadStore::open(dir.path()).expect("reopened");
        assert_eq!(store.summary("w").await.expect("summary"), summary);
        store.write("w", vec![Write::Drop]).await.expect("dropped");
        assert_eq!(
            store.summary("w").await.expect("summary"),
            Summary::default()
        );
        assert!(store.scan("w", "", 10).await.expect("scan").is_empty());
        assert_eq!(store.scan("other", "", 10).await.expect("scan").len(), 1);
    }

    fn import(key: &str, value: &[u8], version: u64) -> Write {
        Write::Import {
            key: key.into(),
            value: Some(value.to_vec()),
            version,
        }
    }

    /// Imports queued one behind another apply in the order queued (a later batch of
    /// a delta may carry a newer value of the same key), whatever their sizes, and a
    /// `sync` makes them survive a reopen.
    #[tokio::test]
    async fn queued_imports_apply_in_order_and_a_sync_keeps_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = WorkloadStore::open(dir.path()).expect("store");
        // The first batch is large (hashed on a blocking thread), the second small.
        let big = vec![b'x'; HASH_INLINE_BYTES + 1];
        let first = Prepared::of(vec![import("k", &big, 1), import("a", b"1", 1)])
            .await
            .expect("prepared");
        let second = Prepared::of(vec![import("k", b"2", 2)])
            .await
            .expect("prepared");
        let first = store.import_unsynced("w", first).expect("queued");
        let second = store.import_unsynced("w", second).expect("queued");
        second.applied().await.expect("applied");
        first.applied().await.expect("applied");
        store.sync("w").await.expect("synced");
        let summary = store.summary("w").await.expect("summary");
        drop(store);
        let store = WorkloadStore::open(dir.path()).expect("reopened");
        let record = store.get("w", "k").await.expect("read").expect("k");
        assert_eq!((record.version, record.value.as_slice()), (2, &b"2"[..]));
        assert_eq!(store.summary("w").await.expect("summary"), summary);
        assert_eq!((summary.records, summary.bytes), (2, 4));
        // Imports stay out of the changes index; a write made here is in it.
        let (changed, _, _) = store
            .export_changes("w", 0, 10, 1 << 20)
            .await
            .expect("changes");
        assert!(changed.is_empty(), "{changed:?}");
        store
            .write("w", vec![put("a", "3", None)])
            .await
            .expect("written");
        let (changed, _, _) = store
            .export_changes("w", 0, 10, 1 << 20)
            .await
            .expect("changes");
        let keys: Vec<&str> = changed.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, ["a"]);
        // The digest is the one a plain write of the same records gives.
        store
            .write("same", vec![put("k", "2", None), put("a", "1", None)])
            .await
            .expect("written");
        assert_eq!(
            store.summary("same").await.expect("summary").digest,
            summary.digest
        );
    }

    fn once(id: &str, write: Write) -> Write {
        Write::Once {
            id: id.into(),
            write: Box::new(write),
        }
    }

    /// A write sent again with its id is answered as the first time and changes
    /// nothing; another id, or the same id after the workload is dropped, applies.
    #[tokio::test]
    async fn a_write_with_an_id_applies_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = WorkloadStore::open(dir.path()).expect("store");
        let first = store
            .write("w", vec![once("a", put("k", "1", None))])
            .await
            .expect("written");
        let again = store
            .write("w", vec![once("a", put("k", "1", None))])
            .await
            .expect("written");
        let applied = Written::Put {
            success: true,
            version: 1,
        };
        assert_eq!((first[0], again[0]), (applied, applied));
        let other = store
            .write("w", vec![once("b", put("k", "2", None))])
            .await
            .expect("written");
        assert_eq!(
            other[0],
            Written::Put {
                success: true,
                version: 2
            }
        );
        let delete = || once("d", Write::Delete { key: "k".into() });
        for _ in 0..2 {
            let deleted = store.write("w", vec![delete()]).await.expect("written");
            assert_eq!(deleted[0], Written::Deleted(true));
        }
        // Remembered across a reopen; forgotten with the workload.
        drop(store);
        let store = WorkloadStore::open(dir.path()).expect("reopened");
        let again = store
            .write("w", vec![once("a", put("k", "3", None))])
            .await
            .expect("written");
        assert_eq!(again[0], applied);
        assert!(store.get("w", "k").await.expect("read").is_none());
        store.write("w", vec![Write::Drop]).await.expect("dropped");
        let fresh = store
            .write("w", vec![once("a", put("k", "3", None))])
            .await
            .expect("written");
        assert_eq!(fresh[0], applied);
        assert!(store.get("w", "k").await.expect("read").is_some());
    }
}
