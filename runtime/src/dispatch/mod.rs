//! How placed steps reach the nodes that run them (DESIGN.md §5–§6). The driver
//! records an assignment and the state machine picks the node (`state::assignments`);
//! a voter runs the steps assigned to it from its own copy of the state (`voter.rs`); a
//! worker long-polls the API for them, runs them against the cluster through the API
//! (`remote_host.rs`), and keeps each outcome in a durable outbox until the cluster has
//! it (`outbox.rs`). Both run a step the same way (`perform.rs`).

pub mod in_hand;
pub mod outbox;
pub mod perform;
pub mod remote_host;
pub mod signals;
pub mod voter;
