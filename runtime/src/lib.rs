//! The edgeflow runtime (DESIGN.md §4–§5): the Raft-replicated coordination and state
//! layer every edge node runs, built on openraft with redb storage.
//!
//! Status: the replicated state machine and its durable storage exist and pass
//! openraft's storage test suite; the node, the executor and `edgeflow run` come next.

pub mod api;
pub mod command;
pub mod config;
pub mod driver;
pub mod encoding;
pub mod executor;
pub mod latency;
pub mod member;
pub mod network;
pub mod node;
pub mod op;
pub mod raft_types;
pub mod state;
pub mod storage;
pub mod trust;
