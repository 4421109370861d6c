//! Migrations of workloads between edges (DESIGN.md §8): the records move node to node
//! (source → target, never through the leader), throttled and compressed as declared,
//! checkpointed into the replicated state so a restart resumes, verified before the
//! source's copy is removed, and reversible until then.
//!
//! `plan.rs` is a declaration as the runtime carries it out; `registry.rs` this
//! subsystem's slice of the state (phases, progress, checkpoints); `transfer.rs` the
//! batches on the wire; `room.rs` whether a target has room; `throttle.rs` the bandwidth cap; `driver.rs` the target node's
//! engine; `api.rs` the routes.

pub mod api;
mod control;
pub mod driver;
mod plan;
mod registry;
mod room;
mod throttle;
pub mod transfer;

pub use control::{
    ask, eta_ns, pause, percent, phase_shown, record, resume, rollback, start, status,
    MigrationAsk, MigrationError, MigrationReply,
};
pub use plan::{MigrationPlan, Strategy};
pub use registry::{
    Checkpoint, MigrationAnswer, MigrationCommand, MigrationRecord, Migrations, Phase, Progress,
};
pub use room::Room;
