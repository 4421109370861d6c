//! The sequential specification the KV history is checked against: one key of the
//! cluster's state as a versioned register. Every write bumps the key's version by one,
//! a compare-and-set writes only at the version it names (0: absent), a delete leaves
//! the version where it was so that re-creating the key continues from it — versions
//! never repeat (docs/language.md). stateright's `LinearizabilityTester` searches for
//! an order of the recorded operations that this specification accepts.

use serde::{Deserialize, Serialize};
use stateright::semantics::SequentialSpec;

/// What a client asked of one key. Values are unique per write (client and counter),
/// so a read names the write it saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvOp {
    Read,
    Write(String),
    CompareAndSet { expected: u64, value: String },
    Delete,
}

/// What the cluster answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvRet {
    /// The value and its version, or absent.
    Read(Option<(String, u64)>),
    /// The version written.
    Written(u64),
    /// A compare-and-set that did not match: the key's version at the time (0: absent).
    Mismatch(u64),
    /// Whether a key was there to delete.
    Deleted(bool),
}

/// One key: its live value, and the last version it was written at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct VersionedRegister {
    value: Option<(String, u64)>,
    last_version: u64,
}

impl VersionedRegister {
    fn write(&mut self, value: &str) -> KvRet {
        self.last_version += 1;
        self.value = Some((value.to_string(), self.last_version));
        KvRet::Written(self.last_version)
    }
}

impl SequentialSpec for VersionedRegister {
    type Op = KvOp;
    type Ret = KvRet;

    fn invoke(&mut self, op: &KvOp) -> KvRet {
        match op {
            KvOp::Read => KvRet::Read(self.value.clone()),
            KvOp::Write(value) => self.write(value),
            KvOp::CompareAndSet { expected, value } => {
                let current = self.value.as_ref().map_or(0, |(_, version)| *version);
                if current == *expected {
                    self.write(value)
                } else {
                    KvRet::Mismatch(current)
                }
            }
            KvOp::Delete => KvRet::Deleted(self.value.take().is_some()),
        }
    }
}
