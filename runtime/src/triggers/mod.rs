//! Triggers: schedules (`on schedule`, `on every`) and CloudEvents (`on event`) that
//! start the workflows of deployed programs (docs/triggers.md). `spec.rs` is a trigger
//! as a deployment arms it; `registry.rs` this subsystem's slice of the replicated
//! state (the tick each schedule fired, the events seen); `command.rs` its commands,
//! which record a tick or an event together with the runs it starts; `scheduler.rs`
//! the leader's loop that proposes each due tick; `events.rs` CloudEvents in their
//! three HTTP modes; `matching.rs` which deployed workflows an event starts; `api.rs`
//! `POST /v1/events` and `GET /v1/triggers`; `relay.rs` a worker's store and forward.

pub mod api;
mod command;
pub mod events;
pub mod matching;
mod registry;
pub mod relay;
pub mod scheduler;
mod spec;

pub use command::{TriggerAnswer, TriggerCommand, TriggeredRun, RUNS_PER_EVENT_MAX};
pub use matching::trigger_value;
pub use registry::{Fired, Triggers, DEDUP_EVENTS_MAX, DEDUP_WINDOW_MS};
pub use spec::{DeployedTrigger, TriggerKind};
