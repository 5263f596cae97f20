//! Testing riskgate policies, natively and as compiled components.
//!
//! - [`strategy`]: proptest strategies for withdrawals, valid addresses of
//!   every chain family, every spelling of one address, bursts in time.
//! - [`mock`]: a mock host for a policy's native unit tests (lists,
//!   velocity history or window figures), installed behind
//!   `riskgate_guest::host`.
//! - [`fixture`]: the TOML fixture format of `riskgate policy test`, its
//!   parser and the native runner.
//! - [`properties`]: ready-made properties.
//! - `component` (feature `component`): the same fixtures and properties on
//!   a compiled component in the real host.

pub mod fixture;
pub mod mock;
pub mod properties;
pub mod scenario;
pub mod strategy;

pub use scenario::{Listed, Scenario, WindowFigure};

#[cfg(feature = "component")]
pub mod component;
