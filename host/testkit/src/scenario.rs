//! One decision's input and the host's answers: what a fixture case, a
//! property or a unit test sets up. The native mock host ([`crate::mock`])
//! and the component harness (`component`, feature `component`) both decide
//! a [`Scenario`], so the same fixtures and properties run either way.

use riskgate_guest::{Scope, Withdrawal};

/// A withdrawal, the policy configuration and what the host answers.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The withdrawal decided.
    pub withdrawal: Withdrawal,
    /// The policy's configuration, JSON (`{}` when none).
    pub config: String,
    /// Designated addresses the host holds, in any spelling: the host
    /// canonicalises them (and the screened address) as the real one does.
    pub lists: Vec<Listed>,
    /// Earlier allowed withdrawals (of any account): the velocity store's
    /// history, with the real host's keys and scopes.
    pub history: Vec<Withdrawal>,
    /// Explicit window figures: a `window` query for this scope and window
    /// length answers these instead of a figure computed from `history`.
    pub windows: Vec<WindowFigure>,
    /// When set, every `window` query fails with this message, as when the
    /// velocity store is unavailable: a policy must not allow then.
    pub window_error: Option<String>,
}

/// One designated address of one list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// List name, e.g. `ofac-sdn`.
    pub list: String,
    /// List version, e.g. `2024-09-27`.
    pub version: String,
    /// Chain the address is on (a chain name the address crate knows).
    pub chain: String,
    /// The address, in any spelling.
    pub address: String,
    /// Entity label, when the list has one.
    pub label: Option<String>,
}

/// What a `window(scope, window_ms)` query answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowFigure {
    pub scope: Scope,
    pub window_ms: u64,
    pub count: u64,
    pub sum: u64,
    pub usd_cents: u64,
}
