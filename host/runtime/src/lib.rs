//! The riskgate runtime: the one wasmtime engine, loading policy components
//! (import allow-list, world check, AOT cache), the host imports they call
//! (screening, velocity, log) and the limits every call runs under (fuel,
//! the wall-clock backstop, memory).
//!
//! The gate (`riskgate::Gate`) drives it; nothing here knows about HTTP.

pub mod bindings;
pub mod cache;
pub mod engine;
mod exports;
pub mod host;
pub mod inspect;
pub mod policy;

pub use engine::Limits;
pub use policy::{LoadError, Policy, PolicyInput, PolicySource};
