//! Durable storage for the Raft layer in one redb database under the node's data dir:
//! the log, the vote, the committed log id and the latest snapshot. Every write that
//! Raft relies on is committed with fsync before it is acknowledged; log writes are
//! committed many at a time by one writer thread.

mod database;
mod log_store;
mod log_tail;
mod log_writer;
pub mod state_store;

pub use database::{open, StorageError};
pub use log_store::LogStore;
pub use state_store::StateStore;
