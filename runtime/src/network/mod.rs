//! How Raft messages reach other nodes. A single-node cluster has no peers, so its
//! network never sends anything; the multi-node transport comes with `edgeflow node`.

mod no_peers;

pub use no_peers::NoPeers;
