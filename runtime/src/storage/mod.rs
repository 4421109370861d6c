//! Durable storage for the Raft layer in one redb database under the node's data dir:
//! the log, the vote, the committed log id, the latest snapshot and the stored bundles. Every write that
//! Raft relies on is committed with fsync before it is acknowledged; log writes are
//! committed many at a time by one writer thread.

mod bundle_store;
mod database;
mod log_store;
mod log_tail;
mod log_writer;
pub mod state_store;

pub use bundle_store::BundleStore;
pub use database::{open, StorageError};
pub use log_store::LogStore;
pub use state_store::StateStore;
