//! SDK for riskgate policy authors.
//!
//! A policy is a type implementing [`Policy`], exported with one line:
//!
//! ```ignore
//! use riskgate_guest::prelude::*;
//!
//! struct AlwaysAllow;
//!
//! impl Policy for AlwaysAllow {
//!     const NAME: &'static str = "always-allow";
//!     const VERSION: &'static str = "0.1.0";
//!     fn configure(_config: &str) -> Result<Self, String> { Ok(AlwaysAllow) }
//!     fn evaluate(&self, _w: &Withdrawal) -> Decision { Decision::allow() }
//! }
//!
//! riskgate_guest::export_policy!(AlwaysAllow);
//! ```
//!
//! Build the crate as a `cdylib` for `wasm32-unknown-unknown` and encode it
//! as a component (the `riskgate-guest-build` crate does both). The bindings
//! come from the WIT package in the repository's `wit/` directory, the single
//! source of truth for the host/guest contract.

extern crate self as riskgate_guest;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "gate-policy",
        pub_export_macro: true,
        export_macro_name: "__export_gate_policy",
        default_bindings_module: "riskgate_guest::bindings",
        runtime_path: "riskgate_guest::wit_bindgen::rt",
        additional_derives: [PartialEq, Eq],
    });
}

#[doc(hidden)]
pub use wit_bindgen;

pub use bindings::exports::riskgate::policy::policy::Guest as __Guest;
pub use bindings::riskgate::policy::log::Level;
pub use bindings::riskgate::policy::screening::ScreenError;
pub use bindings::riskgate::policy::types::{
    Decision, Evidence, PolicyInfo, Reason, Verdict, Withdrawal,
};
pub use bindings::riskgate::policy::velocity::{Scope, WindowStats};

/// Everything a policy usually needs.
pub mod prelude {
    pub use crate::{
        Decision, Evidence, Level, Policy, Reason, Scope, ScreenError, Verdict, WindowStats,
        Withdrawal, host,
    };
}

/// One minute, in milliseconds.
pub const MINUTE_MS: u64 = 60_000;
/// One hour, in milliseconds.
pub const HOUR_MS: u64 = 60 * MINUTE_MS;
/// One day, in milliseconds.
pub const DAY_MS: u64 = 24 * HOUR_MS;

/// A riskgate policy.
///
/// `configure` runs once per instance with the JSON configuration the
/// exchange supplied (`{}` when none); an `Err` refuses the policy at load
/// with that message. `evaluate` must be a pure function of the withdrawal,
/// the configuration and the host's answers.
pub trait Policy: Sized + 'static {
    /// Short name, used as the prefix of reason codes.
    const NAME: &'static str;
    /// Semantic version of the policy.
    const VERSION: &'static str;
    /// Parses and validates the configuration.
    fn configure(config: &str) -> Result<Self, String>;
    /// Decides one withdrawal.
    fn evaluate(&self, withdrawal: &Withdrawal) -> Decision;
}

impl Decision {
    /// A decision with no reasons that allows the withdrawal.
    pub fn allow() -> Self {
        Decision {
            verdict: Verdict::Allow,
            reasons: Vec::new(),
        }
    }

    /// A decision holding the withdrawal for review, with one reason.
    pub fn hold(code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::allow().with(Verdict::Hold, Reason::new(code, detail))
    }

    /// A decision denying the withdrawal, with one reason.
    pub fn deny(code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::allow().with(Verdict::Deny, Reason::new(code, detail))
    }

    /// Adds a reason and raises the verdict to `verdict` if that is more
    /// severe (deny > hold > allow); a verdict is never lowered.
    pub fn with(mut self, verdict: Verdict, reason: Reason) -> Self {
        self.push(verdict, reason);
        self
    }

    /// In-place form of [`Decision::with`].
    pub fn push(&mut self, verdict: Verdict, reason: Reason) {
        if severity(verdict) > severity(self.verdict) {
            self.verdict = verdict;
        }
        self.reasons.push(reason);
    }
}

fn severity(v: Verdict) -> u8 {
    match v {
        Verdict::Allow => 0,
        Verdict::Hold => 1,
        Verdict::Deny => 2,
    }
}

impl Reason {
    /// A reason without evidence.
    pub fn new(code: impl Into<String>, detail: impl Into<String>) -> Self {
        Reason {
            code: code.into(),
            detail: detail.into(),
            evidence: Vec::new(),
        }
    }

    /// Attaches designated-set evidence.
    pub fn with_evidence(mut self, evidence: Vec<Evidence>) -> Self {
        self.evidence = evidence;
        self
    }
}

/// The host's imports, wrapped for convenience.
pub mod host {
    use super::bindings::riskgate::policy::{log, screening, velocity};
    use super::{Evidence, Level, Scope, ScreenError, WindowStats};

    /// Screens `address` on `chain` against every designated set the host holds.
    pub fn screen(chain: &str, address: &str) -> Result<Vec<Evidence>, ScreenError> {
        screening::screen(chain, address)
    }

    /// Statistics of allowed withdrawals for the current withdrawal's key in `scope`
    /// over the window of `window_ms` ending at its requested-at.
    pub fn window(scope: Scope, window_ms: u64) -> Result<WindowStats, String> {
        velocity::window(scope, window_ms)
    }

    /// Logs through the host (bounded there; never affects the decision).
    pub fn log(level: Level, message: &str) {
        log::log(level, message)
    }
}

/// Exports a [`Policy`] implementation as the component's `policy` interface.
///
/// ```ignore
/// riskgate_guest::export_policy!(MyPolicy);
/// ```
#[macro_export]
macro_rules! export_policy {
    ($ty:ty) => {
        const _: () = {
            ::std::thread_local! {
                static __RISKGATE_POLICY: ::std::cell::RefCell<::std::option::Option<$ty>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }

            struct __RiskgateExport;

            impl $crate::__Guest for __RiskgateExport {
                fn info() -> $crate::PolicyInfo {
                    $crate::PolicyInfo {
                        name: <$ty as $crate::Policy>::NAME.into(),
                        version: <$ty as $crate::Policy>::VERSION.into(),
                    }
                }

                fn configure(config: ::std::string::String) -> ::std::result::Result<(), ::std::string::String> {
                    let policy = <$ty as $crate::Policy>::configure(&config)?;
                    __RISKGATE_POLICY.with(|slot| *slot.borrow_mut() = ::std::option::Option::Some(policy));
                    ::std::result::Result::Ok(())
                }

                fn evaluate(withdrawal: $crate::Withdrawal) -> $crate::Decision {
                    __RISKGATE_POLICY.with(|slot| match &*slot.borrow() {
                        ::std::option::Option::Some(policy) => <$ty as $crate::Policy>::evaluate(policy, &withdrawal),
                        // The host always configures before evaluating; holding is the
                        // only safe answer if it somehow did not.
                        ::std::option::Option::None => $crate::Decision::hold(
                            "gate.not_configured",
                            "policy evaluated before configure",
                        ),
                    })
                }
            }

            $crate::bindings::__export_gate_policy!(__RiskgateExport with_types_in $crate::bindings);
        };
    };
}
