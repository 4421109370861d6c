//! Rate-limit policies enforced across the fleet (DESIGN.md §7): the quota subsystem.
//! `algorithm.rs` holds the four admission algorithms as deterministic state over an
//! explicit clock; `policy.rs` a policy as enforced (from the IR); `ledger.rs` the
//! replicated slice — every global budget, leased to edges through the `Quota` command,
//! tokens taken when leased so the fleet never admits more than the policy allows;
//! `edge.rs` an edge's local decisions from its leases (global; `held.rs` the leases in
//! hand of one budget, refilled before they run dry) or its own budgets (per-edge). For gateways: `matcher.rs` selects the deployed policies a request
//! falls under (route, descriptors) and its budget key, `check.rs` makes one verdict
//! of their decisions, `http.rs` serves it (`/v1/ratelimit/check`, nginx's
//! `auth_request` form) and `api.rs` shows the policies and their usage
//! (`/v1/policies`).

pub mod algorithm;
pub mod api;
mod by_policy;
pub mod check;
pub mod edge;
mod held;
pub mod http;
pub mod ledger;
pub mod matcher;
pub mod policy;

pub use edge::{Admission, Decisions, EdgeQuotas, QuotaError};
pub use ledger::{LeaseAnswer, Ledger, QuotaCommand, Usage};
pub use matcher::PolicyMatch;
pub use policy::{OnExceed, QuotaPolicy, Scope};
