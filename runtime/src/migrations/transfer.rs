//! Batches of records on the wire between a migration's source and target: encoded
//! once (MessagePack, values as raw bytes), compressed with zstd when the migration
//! asks, checksummed (CRC-32 of the bytes sent), and bounded on both sides — the source
//! stops filling a batch at `MAX_BATCH_BYTES`, the target refuses a body or a
//! decompressed size above its caps before allocating for it.

use serde::{Deserialize, Serialize};

/// Keys' and values' bytes a batch carries at most (a record larger than this goes
/// alone).
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// The largest encoded batch the target accepts (decompressed).
pub const MAX_RAW_BYTES: usize = 64 * 1024 * 1024;
/// zstd's level: fast, for a copy that must keep up with the network.
const ZSTD_LEVEL: i32 = 1;

pub const CRC_HEADER: &str = "x-edgeflow-crc32";
pub const RAW_BYTES_HEADER: &str = "x-edgeflow-raw-bytes";
pub const COMPRESSED_HEADER: &str = "x-edgeflow-compressed";

/// Where a batch starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExportFrom {
    /// The snapshot copy: records after this key, in key order.
    Keys { after: Option<String> },
    /// A delta: keys changed after this sequence number, as they are now.
    Changes { since: u64 },
}

/// `POST /v1/migrations/export`: what the target asks of the source.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    pub workload: String,
    pub from: ExportFrom,
    pub limit: usize,
    pub compress: bool,
}

/// One record as copied (no value: deleted at the source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copied {
    pub key: String,
    pub version: u64,
    #[serde(with = "serde_bytes")]
    pub value: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub records: Vec<Copied>,
    /// For a delta: the last sequence number it covers.
    pub last_seq: u64,
    /// Nothing is left after it (of the snapshot, or of the changes so far).
    pub done: bool,
}

impl Batch {
    /// Keys' and values' bytes.
    pub fn bytes(&self) -> u64 {
        self.records
            .iter()
            .map(|r| (r.key.len() + r.value.as_ref().map_or(0, Vec::len)) as u64)
            .sum()
    }
}

/// A batch ready to send.
pub struct Sealed {
    pub body: Vec<u8>,
    pub crc32: u32,
    pub raw_bytes: usize,
    pub compressed: bool,
}

pub fn seal(batch: &Batch, compress: bool) -> Result<Sealed, String> {
    // Each record adds its key, value and a few bytes of framing.
    let capacity = batch.bytes() as usize + batch.records.len() * 32 + 64;
    let raw = crate::encoding::encode_sized(batch, capacity);
    let raw_bytes = raw.len();
    let body = match compress {
        true => zstd::bulk::compress(&raw, ZSTD_LEVEL).map_err(|e| e.to_string())?,
        false => raw,
    };
    Ok(Sealed {
        crc32: crc32fast::hash(&body),
        body,
        raw_bytes,
        compressed: compress,
    })
}

/// The batch the source answered with, and its bytes on the wire: the body is read
/// up to `MAX_RAW_BYTES` at most (a source that sends more is refused before it is
/// all buffered), then opened.
pub async fn receive(reply: reqwest::Response) -> Result<(Batch, usize), String> {
    let header = |name: &str| {
        reply
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    };
    let (Some(crc), Some(raw)) = (header(CRC_HEADER), header(RAW_BYTES_HEADER)) else {
        return Err("the source's batch has no checksum".into());
    };
    let compressed = header(COMPRESSED_HEADER) == Some(1);
    let body = crate::peer_reply::bytes(reply, MAX_RAW_BYTES)
        .await
        .map_err(|e| format!("the source's batch: {e}"))?;
    let crc = u32::try_from(crc).map_err(|_| "the source's checksum is not a CRC-32")?;
    let raw = usize::try_from(raw).unwrap_or(usize::MAX);
    Ok((open(&body, crc, raw, compressed)?, body.len()))
}

/// The batch in a received body, checked against its checksum and size.
pub fn open(body: &[u8], crc32: u32, raw_bytes: usize, compressed: bool) -> Result<Batch, String> {
    if crc32fast::hash(body) != crc32 {
        return Err("a batch arrived damaged (its CRC-32 does not match)".into());
    }
    if raw_bytes > MAX_RAW_BYTES {
        return Err(format!(
            "a batch of {raw_bytes} bytes is over the {MAX_RAW_BYTES} accepted"
        ));
    }
    let raw;
    let encoded = match compressed {
        true => {
            raw = zstd::bulk::decompress(body, raw_bytes).map_err(|e| e.to_string())?;
            raw.as_slice()
        }
        false => body,
    };
    crate::encoding::decode(encoded).map_err(|e| format!("a batch does not decode: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that streams a body without end, claiming a small batch, is refused
    /// at `MAX_RAW_BYTES` instead of filling the target's memory.
    #[tokio::test]
    async fn an_endless_batch_is_refused_at_the_cap() {
        let base = crate::peer_reply::tests::hostile_server().await;
        let reply = reqwest::Client::new()
            .get(format!("{base}/endless"))
            .send()
            .await
            .expect("the source answers");
        let received = tokio::time::timeout(std::time::Duration::from_secs(60), receive(reply))
            .await
            .expect("the target stops reading at the cap");
        let error = received.expect_err("an endless batch is refused");
        assert!(error.contains("over the"), "{error}");
    }

    #[test]
    fn a_batch_round_trips_and_damage_is_caught() {
        let batch = Batch {
            records: vec![
                Copied {
                    key: "a".into(),
                    version: 3,
                    value: Some(b"\"x\"".to_vec()),
                },
                Copied {
                    key: "gone".into(),
                    version: 0,
                    value: None,
                },
            ],
            last_seq: 9,
            done: true,
        };
        for compress in [false, true] {
            let sealed = seal(&batch, compress).expect("sealed");
            let opened = open(&sealed.body, sealed.crc32, sealed.raw_bytes, compress);
            assert_eq!(opened.as_ref(), Ok(&batch));
            let mut damaged = sealed.body.clone();
            damaged[0] ^= 1;
            assert!(open(&damaged, sealed.crc32, sealed.raw_bytes, compress).is_err());
            assert!(open(&sealed.body, sealed.crc32, MAX_RAW_BYTES + 1, compress).is_err());
        }
    }
}
