//! The record of a run: every operation a client made, as invoke and return times (µs
//! since the harness started) with the answer. An operation whose answer was lost or
//! timed out is `Indeterminate` — it may have taken effect — never `Failed`; `Failed`
//! is kept for answers in which the cluster said it did nothing. A client whose
//! operation is indeterminate continues as a new process (the checker lets the old one
//! take effect at any later point, or never), as Jepsen's histories do.

use crate::register::{KvOp, KvRet};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What a client asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Kv {
        key: String,
        op: KvOp,
    },
    Campaign {
        group: String,
        candidate: String,
        ttl_ms: u64,
    },
    Resign {
        group: String,
        holder: String,
    },
    Leader {
        group: String,
    },
    Order {
        group: String,
        events: usize,
    },
    Propose {
        group: String,
        value: String,
    },
}

impl Op {
    /// The operation's kind, for the summary table.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Kv { op: KvOp::Read, .. } => "kv read",
            Op::Kv {
                op: KvOp::Write(_), ..
            } => "kv write",
            Op::Kv {
                op: KvOp::CompareAndSet { .. },
                ..
            } => "kv compare-and-set",
            Op::Kv {
                op: KvOp::Delete, ..
            } => "kv delete",
            Op::Campaign { .. } => "elect",
            Op::Resign { .. } => "resign",
            Op::Leader { .. } => "get_leader",
            Op::Order { .. } => "global_order",
            Op::Propose { .. } => "propose",
        }
    }
}

/// What the cluster answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    Kv(KvRet),
    Leadership {
        success: bool,
        holder: Option<String>,
        term: u64,
    },
    Resigned(bool),
    Leader {
        holder: Option<String>,
        term: u64,
    },
    Order(Vec<u64>),
    Proposed {
        index: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Ok(Answer),
    /// The cluster answered that nothing was done.
    Failed(String),
    /// No answer, or one saying the outcome is unknown: it may have been applied.
    Indeterminate(String),
}

/// One operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The logical process: a client continues as a new one after an indeterminate
    /// operation.
    pub process: u32,
    /// The node it was sent to.
    pub node: u64,
    pub op: Op,
    pub invoked_us: u64,
    pub returned_us: u64,
    pub outcome: Outcome,
}

/// Where the clients write their entries.
pub struct Recorder {
    started: Instant,
    next_process: AtomicU32,
    entries: Mutex<Vec<Entry>>,
}

impl Recorder {
    pub fn new(started: Instant) -> Recorder {
        Recorder {
            started,
            next_process: AtomicU32::new(0),
            entries: Mutex::new(Vec::new()),
        }
    }

    /// Microseconds since the harness started.
    pub fn now_us(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }

    pub fn new_process(&self) -> u32 {
        self.next_process.fetch_add(1, Ordering::Relaxed)
    }

    pub fn record(&self, entry: Entry) {
        self.entries.lock().expect("history").push(entry);
    }

    /// Every entry, by invocation time.
    pub fn entries(&self) -> Vec<Entry> {
        let mut entries = self.entries.lock().expect("history").clone();
        entries.sort_by_key(|e| (e.invoked_us, e.process));
        entries
    }
}
