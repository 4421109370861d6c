//! The Raft transport's wire format: length-delimited frames (a 4-byte big-endian
//! length, then a MessagePack body). A connection opens with a `Hello` naming the
//! sending node and carrying its token; after a `Welcome`, each frame is one `Envelope`
//! whose id pairs a response with its request, so many calls share one connection.

use crate::command::{Request, Response};
use crate::encoding;
use crate::raft_types::{SnapshotMeta, TypeConfig, Vote};
use bytes::Bytes;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use tokio_util::codec::LengthDelimitedCodec;

/// The largest frame either side accepts (a snapshot travels in chunks well below it).
pub const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

/// Bumped when frames change incompatibly; a peer speaking another version is refused.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest `Hello` (and answer to it) either side reads: a node id and a token.
pub const MAX_HELLO_BYTES: usize = 4 * 1024;

/// The codec both sides frame a TCP stream with, until the `Hello` is answered: nothing
/// large is buffered for a peer that has not shown its token yet. After a `Welcome` each
/// side raises the limit to `MAX_FRAME_BYTES`.
pub fn hello_codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(MAX_HELLO_BYTES)
        .new_codec()
}

/// The first frame on a connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub version: u32,
    /// The sending node's id; `token` must be that node's.
    pub from: u64,
    pub token: String,
}

/// The answer to `Hello`; after a rejection the server closes the connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum HelloReply {
    Welcome,
    Rejected(String),
}

/// One call or its answer; `id` is chosen by the caller and echoed back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub id: u64,
    pub body: T,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Call {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<TypeConfig>),
    /// Would the peer vote for this candidate? Asked before a real election, so a node
    /// cut off from the cluster does not raise the term when it returns.
    PreVote(VoteRequest<TypeConfig>),
    /// One chunk of a snapshot: `data` at `offset` of `total` bytes. The last chunk's
    /// answer is the installation's; the others are acknowledged with `ChunkReceived`.
    SnapshotChunk {
        vote: Vote,
        meta: SnapshotMeta,
        offset: u64,
        total: u64,
        /// MessagePack `bin`: copied, not decoded byte by byte.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// A client write a follower forwards to the leader.
    Write(Request),
    /// A follower asks the leader for the log index a linearizable read must wait for.
    ReadIndex,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Answer {
    AppendEntries(AppendEntriesResponse<TypeConfig>),
    Vote(VoteResponse<TypeConfig>),
    Snapshot(SnapshotResponse<TypeConfig>),
    /// A snapshot chunk was stored; send the next.
    ChunkReceived,
    Written(Response),
    ReadIndex(u64),
    Failed(RemoteError),
}

/// Why a peer could not answer a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RemoteError {
    /// The call needs the leader and this node is not it.
    NotLeader { leader: Option<u64> },
    /// Raft refused or failed (the message says why).
    Raft(String),
    /// The frame did not decode; the connection is closed after this answer.
    Malformed(String),
    /// The call was not admitted (`admission`): who sent it may not say it.
    Refused(String),
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteError::NotLeader { leader: Some(id) } => {
                write!(f, "not the leader (node {id} is)")
            }
            RemoteError::NotLeader { leader: None } => write!(f, "not the leader (none known)"),
            RemoteError::Raft(reason) => write!(f, "{reason}"),
            RemoteError::Malformed(reason) => {
                write!(f, "the peer could not read a frame: {reason}")
            }
            RemoteError::Refused(reason) => write!(f, "the peer refused the call: {reason}"),
        }
    }
}

/// A frame that does not decode.
#[derive(Debug, Clone, PartialEq)]
pub struct MalformedFrame(pub String);

impl fmt::Display for MalformedFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed frame: {}", self.0)
    }
}

impl std::error::Error for MalformedFrame {}

pub fn encode<T: Serialize>(value: &T) -> Bytes {
    Bytes::from(encoding::encode(value))
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, MalformedFrame> {
    encoding::decode(bytes).map_err(|e| MalformedFrame(e.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;

    fn round_trip<T: Serialize + DeserializeOwned>(value: &T) -> T {
        decode(&encode(value)).expect("decodes what it encoded")
    }

    #[test]
    fn requests_round_trip_with_and_without_idempotency_keys() {
        for key in [None, Some("run/step/1".to_string())] {
            let request = Request {
                at_ms: 7,
                command: Command::Put {
                    ns: "n".into(),
                    key: "k".into(),
                    value: serde_json::json!({"a": [1, 2.5, "x", null]}),
                    if_version: Some(0),
                },
                idempotency_key: key,
            };
            let Envelope { id, body } = round_trip(&Envelope {
                id: 9,
                body: Call::Write(request.clone()),
            });
            assert_eq!(id, 9);
            match body {
                Call::Write(decoded) => assert_eq!(decoded, request),
                other => panic!("decoded as {other:?}"),
            }
        }
    }

    #[test]
    fn a_snapshot_chunk_travels_as_its_bytes_not_as_a_list_of_numbers() {
        // Encoded as a list, each byte over 127 took two bytes on the wire and one
        // decoder call: in a debug build a 4 MiB chunk took longer than a heartbeat, and
        // a follower far behind never caught up (tests/cluster.rs, under CI load).
        let data: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8 | 0x80).collect();
        let chunk = Envelope {
            id: 1,
            body: Call::SnapshotChunk {
                vote: Vote::new(1, 1),
                meta: SnapshotMeta::default(),
                offset: 0,
                total: data.len() as u64,
                data: data.clone(),
            },
        };
        let frame = encode(&chunk);
        assert!(
            frame.len() < data.len() + 256,
            "{} bytes on the wire for {} bytes of snapshot",
            frame.len(),
            data.len()
        );
        match round_trip(&chunk).body {
            Call::SnapshotChunk { data: decoded, .. } => assert_eq!(decoded, data),
            other => panic!("decoded as {other:?}"),
        }
    }

    #[test]
    fn bytes_sent_as_a_list_by_an_older_node_still_decode() {
        #[derive(Serialize)]
        struct AsList {
            data: Vec<u8>,
        }
        #[derive(Deserialize)]
        struct AsBin {
            #[serde(with = "serde_bytes")]
            data: Vec<u8>,
        }
        let data = vec![0, 127, 128, 255];
        let decoded: AsBin = decode(&encode(&AsList { data: data.clone() })).expect("decodes");
        assert_eq!(decoded.data, data);
    }

    #[test]
    fn hello_round_trips_and_garbage_is_malformed() {
        let hello = Hello {
            version: PROTOCOL_VERSION,
            from: 3,
            token: "secret".into(),
        };
        assert_eq!(round_trip(&hello), hello);
        assert!(decode::<Hello>(b"\xff\x00garbage").is_err());
        assert!(decode::<Envelope<Call>>(&[]).is_err());
    }
}
