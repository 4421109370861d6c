//! What can be asked of a workload's records, as data — so the same request is served
//! from this node's store or sent on to the node that serves the workload
//! (`route.rs`), whichever the caller reached — and how the serving node answers it.

use super::fill::fill;
use super::store::{StoredRecord, WorkloadStore, Write, Written};
use super::WorkloadError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The longest record key.
pub const MAX_KEY_BYTES: usize = 1_024;
/// The longest write id (`once`).
pub const MAX_WRITE_ID_BYTES: usize = 512;
/// The most records one scan answers.
pub const MAX_SCAN: usize = 10_000;
/// The largest value `fill` writes.
pub const MAX_FILL_VALUE_BYTES: u64 = 1024 * 1024;
/// The most records one `fill` writes.
pub const MAX_FILL_RECORDS: u64 = 100_000_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RecordOp {
    Get {
        key: String,
    },
    /// With `once`, a write id: sent again with it (a retry, a replayed step), the
    /// put is answered as the first time and not applied again.
    Put {
        key: String,
        value: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        if_version: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        once: Option<String>,
    },
    Delete {
        key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        once: Option<String>,
    },
    Scan {
        #[serde(default)]
        prefix: String,
        limit: usize,
    },
    /// Records, bytes and content digest.
    Summary,
    /// `records` records of `size` bytes of random text each, from `seed`.
    Fill {
        records: u64,
        size: u64,
        #[serde(default)]
        seed: u64,
    },
    /// Every record (the workload is being removed).
    Drop,
}

impl RecordOp {
    /// Whether the op changes records (routed to whichever side takes writes).
    pub fn writes(&self) -> bool {
        matches!(
            self,
            RecordOp::Put { .. } | RecordOp::Delete { .. } | RecordOp::Fill { .. } | RecordOp::Drop
        )
    }

    /// Refuses what can never be served, before it is sent anywhere.
    pub fn check(&self) -> Result<(), WorkloadError> {
        let bad = |reason: String| Err(WorkloadError::BadInput(reason));
        match self {
            RecordOp::Get { key } | RecordOp::Put { key, .. } | RecordOp::Delete { key, .. }
                if key.is_empty() || key.len() > MAX_KEY_BYTES =>
            {
                return bad(format!(
                    "a record key is 1 to {MAX_KEY_BYTES} bytes, not {}",
                    key.len()
                ));
            }
            RecordOp::Put { once: Some(id), .. } | RecordOp::Delete { once: Some(id), .. }
                if id.is_empty() || id.len() > MAX_WRITE_ID_BYTES =>
            {
                return bad(format!(
                    "a write id is 1 to {MAX_WRITE_ID_BYTES} bytes, not {}",
                    id.len()
                ));
            }
            RecordOp::Scan { limit, .. } if *limit > MAX_SCAN => {
                return bad(format!("a scan answers at most {MAX_SCAN} records"));
            }
            RecordOp::Fill { records, size, .. } => {
                if *records > MAX_FILL_RECORDS {
                    return bad(format!("fill writes at most {MAX_FILL_RECORDS} records"));
                }
                if *size == 0 || *size > MAX_FILL_VALUE_BYTES {
                    return bad(format!(
                        "a filled value is 1 to {MAX_FILL_VALUE_BYTES} bytes, not {size}"
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// A record as answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordView {
    pub key: String,
    pub value: Value,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum RecordAnswer {
    Record {
        record: Option<RecordView>,
    },
    Put {
        success: bool,
        version: u64,
    },
    Deleted {
        deleted: bool,
    },
    Records {
        items: Vec<RecordView>,
    },
    Summary {
        records: u64,
        bytes: u64,
        digest: String,
    },
    Filled {
        records: u64,
    },
    Dropped,
}

fn view(key: String, record: StoredRecord) -> Result<RecordView, WorkloadError> {
    let value = serde_json::from_slice(&record.value)
        .map_err(|e| WorkloadError::Storage(format!("record `{key}` is damaged: {e}")))?;
    Ok(RecordView {
        key,
        value,
        version: record.version,
    })
}

fn storage(error: std::io::Error) -> WorkloadError {
    WorkloadError::Storage(error.to_string())
}

/// Serves `op` on `workload` from this node's store.
pub async fn serve_here(
    store: &WorkloadStore,
    workload: &str,
    op: RecordOp,
) -> Result<RecordAnswer, WorkloadError> {
    op.check()?;
    let write_one = |write: Write, once: Option<String>| async move {
        let write = match once {
            Some(id) => Write::Once {
                id,
                write: Box::new(write),
            },
            None => write,
        };
        let written = store.write(workload, vec![write]).await.map_err(storage)?;
        written
            .into_iter()
            .next()
            .ok_or_else(|| WorkloadError::Storage("the store answered nothing".into()))
    };
    match op {
        RecordOp::Get { key } => {
            let record = store.get(workload, &key).await.map_err(storage)?;
            let record = record.map(|r| view(key, r)).transpose()?;
            Ok(RecordAnswer::Record { record })
        }
        RecordOp::Put {
            key,
            value,
            if_version,
            once,
        } => {
            let value =
                serde_json::to_vec(&value).map_err(|e| WorkloadError::BadInput(e.to_string()))?;
            let put = Write::Put {
                key,
                value,
                if_version,
            };
            match write_one(put, once).await? {
                Written::Put { success, version } => Ok(RecordAnswer::Put { success, version }),
                other => Err(WorkloadError::Storage(format!("unexpected: {other:?}"))),
            }
        }
        RecordOp::Delete { key, once } => match write_one(Write::Delete { key }, once).await? {
            Written::Deleted(deleted) => Ok(RecordAnswer::Deleted { deleted }),
            other => Err(WorkloadError::Storage(format!("unexpected: {other:?}"))),
        },
        RecordOp::Scan { prefix, limit } => {
            let found = store
                .scan(workload, &prefix, limit)
                .await
                .map_err(storage)?;
            let items = found
                .into_iter()
                .map(|(key, record)| view(key, record))
                .collect::<Result<_, _>>()?;
            Ok(RecordAnswer::Records { items })
        }
        RecordOp::Summary => {
            let summary = store.summary(workload).await.map_err(storage)?;
            Ok(RecordAnswer::Summary {
                records: summary.records,
                bytes: summary.bytes,
                digest: summary.digest.to_hex(),
            })
        }
        RecordOp::Fill {
            records,
            size,
            seed,
        } => {
            fill(store, workload, records, size, seed)
                .await
                .map_err(storage)?;
            Ok(RecordAnswer::Filled { records })
        }
        RecordOp::Drop => {
            write_one(Write::Drop, None).await?;
            Ok(RecordAnswer::Dropped)
        }
    }
}
