//! The one binary encoding of the runtime: MessagePack (compact, self-describing, so
//! JSON values inside commands round-trip). The Raft log, snapshots and the transport's
//! frames all use it.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;

/// Bytes that do not decode as the type expected.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for DecodeError {}

pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Serializing our own types into a Vec cannot fail: no type of ours has a fallible
    // `Serialize` and every map key is a string or an integer.
    // Fields by name, not position: a field left out when empty (`skip_serializing_if`)
    // cannot shift the ones after it, and a field added later decodes as its default.
    encode_sized(value, 128)
}

/// `encode`, into a buffer of `capacity` bytes from the start: a large value (a
/// migration's batch) is then written once instead of copied as the buffer doubles.
pub fn encode_sized<T: Serialize + ?Sized>(value: &T, capacity: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(capacity);
    match rmp_serde::encode::write_named(&mut bytes, value) {
        Ok(()) => bytes,
        // Not for our types (see `encode`).
        Err(_) => Vec::new(),
    }
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    rmp_serde::from_slice(bytes).map_err(|e| DecodeError(e.to_string()))
}
