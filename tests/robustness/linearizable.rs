//! The linearizability verdict for every key, from stateright's `LinearizabilityTester`
//! with the versioned-register specification. Each key is checked on its own (a key is
//! an independent register, and linearizability is local), in a thread with a large
//! stack and a time budget: the search is exhaustive, so a key it cannot decide in
//! time is reported as undecided, never as passed. A key found not linearizable is
//! shrunk — operations dropped one at a time while the rest stays not linearizable —
//! to the small sub-history a person can read.

use crate::history::{Answer, Entry, Op, Outcome};
use crate::register::{KvOp, KvRet, VersionedRegister};
use serde::{Deserialize, Serialize};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One operation of one key, as the checker sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyOp {
    pub process: u32,
    pub op: KvOp,
    pub invoked_us: u64,
    /// `None`: indeterminate, it may take effect at any point after its invocation.
    pub returned: Option<(u64, KvRet)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Linearizable,
    /// Not linearizable: the smallest sub-history found that is still not.
    Violation {
        minimal: Vec<KeyOp>,
    },
    Undecided {
        after: Duration,
    },
    /// The recorded history itself is not well formed (a harness bug, not a verdict).
    Malformed {
        reason: String,
    },
}

/// Each key's operations: completed ones with their answers, indeterminate ones open.
/// Failed operations did nothing and are left out (a read without an answer too).
pub fn key_histories(entries: &[Entry]) -> BTreeMap<String, Vec<KeyOp>> {
    let mut keys: BTreeMap<String, Vec<KeyOp>> = BTreeMap::new();
    for entry in entries {
        let Op::Kv { key, op } = &entry.op else {
            continue;
        };
        let returned = match &entry.outcome {
            Outcome::Ok(Answer::Kv(ret)) => Some((entry.returned_us, ret.clone())),
            Outcome::Indeterminate(_) => None,
            _ => continue,
        };
        keys.entry(key.clone()).or_default().push(KeyOp {
            process: entry.process,
            op: op.clone(),
            invoked_us: entry.invoked_us,
            returned,
        });
    }
    keys
}

/// The invocations and returns in time order. Within one microsecond: first the
/// invocations of processes with no return then, then the returns of processes that
/// also invoke then, then those next invocations (a process made them one after the
/// other), then the other returns — so operations of different processes whose times
/// touch count as overlapping, never ordered on a tie the clock cannot resolve.
fn events(ops: &[KeyOp]) -> Vec<Event> {
    let mut by_time: BTreeMap<u64, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (index, op) in ops.iter().enumerate() {
        by_time.entry(op.invoked_us).or_default().0.push(index);
        if let Some((at, _)) = &op.returned {
            by_time.entry(*at).or_default().1.push(index);
        }
    }
    let mut events = Vec::with_capacity(ops.len() * 2);
    for (invokes, returns) in by_time.into_values() {
        let invoking: Vec<u32> = invokes.iter().map(|i| ops[*i].process).collect();
        let returning: Vec<u32> = returns.iter().map(|i| ops[*i].process).collect();
        let (own_returns, other_returns): (Vec<usize>, Vec<usize>) = returns
            .into_iter()
            .partition(|i| invoking.contains(&ops[*i].process));
        let (next_invokes, other_invokes): (Vec<usize>, Vec<usize>) = invokes
            .into_iter()
            .partition(|i| returning.contains(&ops[*i].process));
        events.extend(other_invokes.into_iter().map(Event::Invoke));
        events.extend(own_returns.into_iter().map(Event::Return));
        events.extend(next_invokes.into_iter().map(Event::Invoke));
        events.extend(other_returns.into_iter().map(Event::Return));
    }
    events
}

enum Event {
    Invoke(usize),
    Return(usize),
}

/// Whether `ops` are linearizable; an error when they are not a well-formed history (a
/// process with two operations in flight at once).
pub fn is_linearizable(ops: &[KeyOp]) -> Result<bool, String> {
    let mut tester = LinearizabilityTester::new(VersionedRegister::default());
    for event in events(ops) {
        match event {
            Event::Invoke(index) => tester
                .on_invoke(ops[index].process, ops[index].op.clone())
                .map(|_| ())?,
            Event::Return(index) => {
                let (_, ret) = ops[index].returned.clone().expect("a return has an answer");
                tester.on_return(ops[index].process, ret).map(|_| ())?
            }
        }
    }
    Ok(tester.is_consistent())
}

/// Runs `is_linearizable` on a thread with a 512 MiB stack (the search recurses once
/// per operation); `None` when it did not finish within `budget`.
fn decide(ops: Vec<KeyOp>, budget: Duration) -> Option<Result<bool, String>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(move || {
            let _ = sender.send(is_linearizable(&ops));
        })
        .expect("checker thread");
    receiver.recv_timeout(budget).ok()
}

/// The verdict on one key's history.
pub fn check_key(ops: &[KeyOp], budget: Duration) -> Verdict {
    let started = Instant::now();
    match decide(ops.to_vec(), budget) {
        Some(Ok(true)) => Verdict::Linearizable,
        None => Verdict::Undecided {
            after: started.elapsed(),
        },
        Some(Ok(false)) => Verdict::Violation {
            minimal: shrink(ops.to_vec(), budget),
        },
        Some(Err(reason)) => Verdict::Malformed { reason },
    }
}

/// Drops operations, last first, as long as what is left stays not linearizable — but
/// never a write whose value a remaining read returned, so the result still shows where
/// each value it reads came from.
fn shrink(mut ops: Vec<KeyOp>, budget: Duration) -> Vec<KeyOp> {
    let deadline = Instant::now() + budget;
    let mut index = ops.len();
    while index > 0 && Instant::now() < deadline {
        index -= 1;
        if is_read_elsewhere(&ops, index) {
            continue;
        }
        let mut fewer = ops.clone();
        fewer.remove(index);
        let left = deadline.saturating_duration_since(Instant::now());
        if decide(fewer.clone(), left) == Some(Ok(false)) {
            ops = fewer;
        }
    }
    ops
}

/// Whether `ops[index]` writes a value that another of `ops` read.
fn is_read_elsewhere(ops: &[KeyOp], index: usize) -> bool {
    let written = match &ops[index].op {
        KvOp::Write(value) | KvOp::CompareAndSet { value, .. } => value,
        _ => return false,
    };
    ops.iter().any(
        |op| matches!(&op.returned, Some((_, KvRet::Read(Some((value, _))))) if value == written),
    )
}
