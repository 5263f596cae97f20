//! riskgate: the withdrawal risk gate.
//!
//! The host runs sandboxed WebAssembly policy components (the WIT package in
//! `wit/` is the contract) over each withdrawal and answers allow, hold or
//! deny with reasons. See `ARCHITECTURE.md` for the map of modules.
//!
//! ```no_run
//! use riskgate::{Gate, bundled};
//! let (gate, _reports) = bundled::policies()
//!     .into_iter()
//!     .fold(Gate::builder().screener(bundled::sample_screener()), |b, p| b.policy(p))
//!     .build()
//!     .expect("bundled policies load");
//! ```

pub mod admission;
pub mod bundled;
pub mod explain;
pub mod gate;
pub mod policy_info;
pub mod review;
pub mod signing;

pub use riskgate_address as address;
pub use riskgate_lists as lists;
pub use riskgate_model as model;
use riskgate_runtime::host;
pub use riskgate_runtime::{cache, engine, inspect, policy};
pub use riskgate_screening as screening;
pub use riskgate_storage as storage;
pub use riskgate_velocity as velocity;

pub use admission::{Admission, AdmissionError};
pub use engine::Limits;
pub use explain::Explanation;
pub use gate::{
    Gate, GateBuilder, GateError, Mode, PolicyOutcome, ShadowDisagreement, shadow_disagreements,
};
pub use model::{Decision, GateCode, Hit, Reason, Verdict, Withdrawal};
pub use policy::{LoadError, Policy, PolicySource};
pub use review::{Hold, Resolution, ResolveError, Resolved, ReviewPolicy};

// The embedding example, run as a unit test (one test binary fewer to link).
// The example names the crate `riskgate`, as an embedder does.
#[cfg(test)]
extern crate self as riskgate;
#[cfg(test)]
mod tests_deferred;
#[cfg(test)]
mod tests_example;
#[cfg(test)]
mod tests_review;
