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

pub mod address;
pub mod bench;
pub mod bundled;
pub mod cache;
pub mod demo;
pub mod engine;
#[doc(hidden)]
pub mod fuzz;
pub mod gate;
mod host;
pub mod lists;
pub mod model;
pub mod policy;
pub mod screening;
pub mod serve;
pub mod signing;
pub mod velocity;

pub use engine::Limits;
pub use gate::{Gate, GateBuilder, GateError};
pub use model::{Decision, Hit, Reason, Verdict, Withdrawal};
pub use policy::{LoadError, Policy, PolicySource};
