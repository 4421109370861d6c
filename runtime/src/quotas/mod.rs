//! Rate-limit policies enforced across the fleet (DESIGN.md §7): the quota subsystem.
//! `algorithm.rs` holds the four admission algorithms as deterministic state over an
//! explicit clock; `policy.rs` a policy as enforced (from the IR); `ledger.rs` the
//! replicated slice — every global budget, leased to edges through the `Quota` command,
//! tokens taken when leased so the fleet never admits more than the policy allows;
//! `edge.rs` an edge's local decisions from its leases (global) or its own budgets
//! (per-edge).

pub mod algorithm;
mod by_policy;
pub mod edge;
pub mod ledger;
pub mod policy;

pub use edge::{Admission, EdgeQuotas, QuotaError};
pub use ledger::{LeaseAnswer, Ledger, QuotaCommand, Usage};
pub use policy::{OnExceed, QuotaPolicy, Scope};
