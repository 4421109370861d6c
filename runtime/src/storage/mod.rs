//! Durable storage for the Raft layer under the node's data dir: one redb database for
//! the log, the vote, the committed log id and the stored bundles, and the latest
//! snapshot in a file of its own (so writing it never holds up the log). Every write
//! that Raft relies on is committed with fsync before it is acknowledged; log writes
//! are committed many at a time by one writer thread.

mod bundle_store;
mod database;
mod log_store;
mod log_tail;
mod log_writer;
mod snapshot_file;
pub mod state_store;

pub use bundle_store::BundleStore;
pub use database::{open, StorageError};
pub use log_store::LogStore;
pub use state_store::StateStore;
