//! The edgeflow runtime (DESIGN.md §4–§5): the Raft-replicated coordination and state
//! layer every edge node runs (openraft over redb storage, a binary transport between
//! nodes, an HTTP API for clients), the executor that runs workflow DAGs on it, and the
//! driver that runs submitted workflows on a cluster.

pub mod api;
pub mod cluster_link;
pub mod command;
pub mod config;
pub mod deployments;
pub mod dispatch;
pub mod driver;
pub mod encoding;
pub mod executor;
pub mod fd_limit;
pub mod heartbeat;
pub mod latency;
pub mod member;
pub mod migrations;
pub mod network;
pub mod node;
pub mod op;
pub mod op_host;
pub mod peer_reply;
pub mod quotas;
pub mod raft_types;
pub mod state;
pub mod storage;
pub mod system;
pub mod tokens;
pub mod triggers;
pub mod trust;
pub mod user_ops;
pub mod worker;
pub mod workloads;
