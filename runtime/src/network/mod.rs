//! How Raft messages and forwarded client calls reach other nodes: a compact binary
//! protocol (`wire`) over persistent multiplexed TCP connections (`peers`), with mutual
//! TLS when configured (`tls`), served by `server`; `tcp` adapts it to openraft. A
//! single-node cluster has no peers (`NoPeers`).

pub mod accept;
mod admission;
mod no_peers;
pub mod peers;
pub mod server;
mod snapshot_chunks;
mod tcp;
pub mod tls;
pub mod wire;

pub use no_peers::NoPeers;
pub use peers::{CallError, Peers};
pub use tcp::TcpNetwork;
