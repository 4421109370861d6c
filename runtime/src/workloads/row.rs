//! A record's row in the workload store's `RECORDS` table: its version, the sequence
//! number of its last change, and its value — inline, or where it is in the value log
//! (`value_log.rs`). The inline form is the store's first format (the value's JSON
//! right after the two numbers), so stores written before the value log read as they
//! are; a value log pointer is marked by a byte no JSON text starts with.

use super::digest::record_hash;
use super::value_log::{Pointer, ReadError, Segments};
use std::io;

/// The byte after the two numbers that marks a value log pointer.
const LOGGED: u8 = 1;
/// The byte that marks an inline value which itself starts with a marker byte (not
/// JSON, but a row must not depend on that).
const INLINE: u8 = 0;

/// Where a record's value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    Inline(Vec<u8>),
    Logged(Pointer),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub version: u64,
    pub seq: u64,
    pub held: Held,
}

impl Row {
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(17 + self.stored_len());
        bytes.extend_from_slice(&self.version.to_le_bytes());
        bytes.extend_from_slice(&self.seq.to_le_bytes());
        match &self.held {
            Held::Logged(pointer) => {
                bytes.push(LOGGED);
                pointer.encode_into(&mut bytes);
            }
            Held::Inline(value) => {
                if value.first().is_none_or(|first| *first <= LOGGED) {
                    bytes.push(INLINE);
                }
                bytes.extend_from_slice(value);
            }
        }
        bytes
    }

    pub fn decode(bytes: &[u8]) -> io::Result<Row> {
        if bytes.len() < 16 {
            return Err(io::Error::other("a workload record is cut short"));
        }
        let number = |range: std::ops::Range<usize>| {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&bytes[range]);
            u64::from_le_bytes(raw)
        };
        let rest = &bytes[16..];
        let held = match rest.first() {
            Some(&LOGGED) => Held::Logged(Pointer::decode(&rest[1..])?),
            Some(&INLINE) => Held::Inline(rest[1..].to_vec()),
            _ => Held::Inline(rest.to_vec()),
        };
        Ok(Row {
            version: number(0..8),
            seq: number(8..16),
            held,
        })
    }

    fn stored_len(&self) -> usize {
        match &self.held {
            Held::Inline(value) => value.len() + 1,
            Held::Logged(_) => Pointer::ENCODED_BYTES + 1,
        }
    }

    /// The value's length.
    pub fn value_len(&self) -> usize {
        match &self.held {
            Held::Inline(value) => value.len(),
            Held::Logged(pointer) => pointer.len as usize,
        }
    }

    /// The record's hash (`digest::record_hash`), without reading a logged value.
    pub fn hash(&self, key: &str) -> [u8; 32] {
        match &self.held {
            Held::Inline(value) => record_hash(key, value),
            Held::Logged(pointer) => pointer.hash,
        }
    }

    /// The value itself, read from the log when it is there.
    pub fn value(self, segments: &Segments) -> Result<Vec<u8>, ReadError> {
        match self.held {
            Held::Inline(value) => Ok(value),
            Held::Logged(pointer) => segments.read(&pointer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_first_format_rows_read_as_inline() {
        let pointer = Pointer {
            segment: 7,
            offset: 1_000,
            len: 300,
            crc32: 42,
            hash: [9; 32],
        };
        for held in [
            Held::Inline(b"\"json\"".to_vec()),
            Held::Inline(vec![1, 2, 3]),
            Held::Inline(Vec::new()),
            Held::Logged(pointer),
        ] {
            let row = Row {
                version: 3,
                seq: 11,
                held,
            };
            assert_eq!(Row::decode(&row.encode()).expect("decoded"), row);
        }
        let mut first_format = 5u64.to_le_bytes().to_vec();
        first_format.extend_from_slice(&6u64.to_le_bytes());
        first_format.extend_from_slice(b"{\"a\":1}");
        let row = Row::decode(&first_format).expect("decoded");
        assert_eq!(row.held, Held::Inline(b"{\"a\":1}".to_vec()));
        assert!(Row::decode(&[0; 10]).is_err());
        let mut damaged = Row {
            version: 1,
            seq: 1,
            held: Held::Logged(pointer),
        }
        .encode();
        damaged.truncate(40);
        assert!(Row::decode(&damaged).is_err());
    }
}
