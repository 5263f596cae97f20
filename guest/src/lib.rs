//! SDK for riskgate policy authors.
//!
//! A policy is a type implementing [`Policy`], exported with one line:
//!
//! ```
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
//! as a component (`riskgate policy build`, or the `riskgate-guest-build`
//! crate from a build script). The bindings come from the WIT package
//! `riskgate:policy@0.1.2` shipped inside this crate (`wit/policy.wit`, the
//! repository's single source of truth for the host/guest contract).
//!
//! # Testing on the host target
//!
//! [`export_policy!`] exports only on `wasm32`, so `cargo test` of a policy
//! crate builds and runs natively. There the [`host`] functions call the
//! thread's [`native::Host`], installed with [`native::with_host`] (the
//! `riskgate-testkit` crate's mock host implements it from a scenario), and
//! [`native::Instance`] configures and evaluates a policy through the same
//! code the export runs:
//!
//! ```
//! use riskgate_guest::native::{self, Host, Instance};
//! use riskgate_guest::prelude::*;
//!
//! struct Screen;
//! impl Policy for Screen {
//!     const NAME: &'static str = "screen";
//!     const VERSION: &'static str = "0.1.0";
//!     fn configure(_config: &str) -> Result<Self, String> { Ok(Screen) }
//!     fn evaluate(&self, w: &Withdrawal) -> Decision {
//!         match host::screen(&w.chain, &w.destination) {
//!             Ok(hits) if hits.is_empty() => Decision::allow(),
//!             Ok(_) => Decision::deny("screen.hit", "listed"),
//!             Err(_) => Decision::hold("screen.unscreenable", "cannot screen"),
//!         }
//!     }
//! }
//!
//! struct NothingListed;
//! impl Host for NothingListed {
//!     fn screen(&mut self, _chain: &str, _address: &str) -> Result<Vec<Evidence>, ScreenError> {
//!         Ok(Vec::new())
//!     }
//!     fn window(&mut self, _scope: Scope, _window_ms: u64) -> Result<WindowStats, String> {
//!         Err("no velocity in this test".into())
//!     }
//!     fn log(&mut self, _level: Level, _message: &str) {}
//! }
//!
//! # let w = Withdrawal {
//! #     id: "w-1".into(), account: "acct-1".into(), asset: "ETH".into(),
//! #     chain: "ethereum".into(),
//! #     destination: "0x52908400098527886e0f7030069857d2e4169ee7".into(),
//! #     amount: 1, decimals: 18, usd_cents: None, requested_at: 1_700_000_000_000,
//! #     account_created_at: None, credential_changed_at: None,
//! #     destination_first_used_at: None,
//! # };
//! let policy = Instance::<Screen>::configure("{}").unwrap();
//! let decision = native::with_host(&mut NothingListed, || policy.evaluate(&w));
//! assert_eq!(decision.verdict, Verdict::Allow);
//! ```

extern crate self as riskgate_guest;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
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

pub mod alloc;
pub mod native;
mod panic;
pub mod policy_info;

pub use panic::{PANIC_LOG_MAX, PANIC_LOG_PREFIX, panic_log_line};

/// The policy's global allocator on wasm32 (default feature `allocator`):
/// see [`alloc`].
#[cfg(all(target_arch = "wasm32", feature = "allocator"))]
#[global_allocator]
static ALLOCATOR: alloc::SizeClasses<std::alloc::System> =
    alloc::SizeClasses::new(std::alloc::System);

#[doc(hidden)]
pub use bindings::exports::riskgate::policy::policy::Guest as __Guest;
pub use bindings::riskgate::policy::log::Level;
pub use bindings::riskgate::policy::screening::ScreenError;
pub use bindings::riskgate::policy::types::{
    Decision, Evidence, PackedWithdrawal, PolicyInfo, Reason, Verdict, Withdrawal,
};
pub use bindings::riskgate::policy::velocity::{Scope, WindowQuery, WindowStats};

/// Everything a policy usually needs.
pub mod prelude {
    pub use crate::{
        Decision, Evidence, Level, Policy, Reason, Scope, ScreenError, Verdict, WindowQuery,
        WindowStats, Withdrawal, host,
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
///
/// On `wasm32` these call the component's imports. On any other target
/// they call the thread's [`native::Host`] (see [`native::with_host`]) and
/// panic, naming the call, when none is installed.
pub mod host {
    use super::{Evidence, Level, Scope, ScreenError, WindowQuery, WindowStats};

    /// Screens `address` on `chain` against every designated set the host
    /// holds; an empty list when none holds it.
    pub fn screen(chain: &str, address: &str) -> Result<Vec<Evidence>, ScreenError> {
        #[cfg(target_arch = "wasm32")]
        {
            // `screen-hits` (0.1.2): a clean answer crosses without an
            // allocation in this instance.
            super::bindings::riskgate::policy::screening::screen_hits(chain, address)
                .map(Option::unwrap_or_default)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            super::native::call("screen", |h| h.screen(chain, address))
        }
    }

    /// Statistics of allowed withdrawals for the current withdrawal's key in `scope`
    /// over the window of `window_ms` ending at its requested-at.
    pub fn window(scope: Scope, window_ms: u64) -> Result<WindowStats, String> {
        #[cfg(target_arch = "wasm32")]
        {
            super::bindings::riskgate::policy::velocity::window(scope, window_ms)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            super::native::call("window", |h| h.window(scope, window_ms))
        }
    }

    /// The answers of [`window`] to every query, in order, in one host call
    /// (contract 0.1.1): a policy with several rules asks once per
    /// decision, and the host reads each key once for all its windows.
    pub fn windows(queries: &[WindowQuery]) -> Vec<Result<WindowStats, String>> {
        #[cfg(target_arch = "wasm32")]
        {
            // `windows-flat` (0.1.2): the common answer, every query
            // answered, crosses as one list of numbers.
            match super::bindings::riskgate::policy::velocity::windows_flat(queries) {
                Ok(flat) => flat
                    .chunks_exact(3)
                    .map(|n| {
                        Ok(WindowStats {
                            count: n[0],
                            sum: n[1],
                            usd_cents: n[2],
                        })
                    })
                    .collect(),
                Err(answers) => answers,
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            super::native::call("windows", |h| h.windows(queries))
        }
    }

    /// Logs through the host (bounded there; never affects the decision).
    pub fn log(level: Level, message: &str) {
        #[cfg(target_arch = "wasm32")]
        {
            super::bindings::riskgate::policy::log::log(level, message)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            super::native::call("log", |h| h.log(level, message))
        }
    }
}

/// What [`export_policy!`] expands to call: one code path for the
/// component's exports and for [`native::Instance`].
#[doc(hidden)]
pub mod __export {
    use super::{Decision, PackedWithdrawal, Policy, PolicyInfo, Withdrawal};
    use std::cell::RefCell;

    /// The configured policy of one instance, and the withdrawal that
    /// `evaluate-packed` unpacks into (its strings' buffers reused from
    /// call to call).
    pub struct Slot<P>(RefCell<Option<P>>, RefCell<Withdrawal>);

    impl<P: Policy> Slot<P> {
        pub const fn new() -> Self {
            Slot(
                RefCell::new(None),
                RefCell::new(Withdrawal {
                    id: String::new(),
                    account: String::new(),
                    asset: String::new(),
                    chain: String::new(),
                    destination: String::new(),
                    amount: 0,
                    decimals: 0,
                    usd_cents: None,
                    requested_at: 0,
                    account_created_at: None,
                    credential_changed_at: None,
                    destination_first_used_at: None,
                }),
            )
        }

        /// `info`: the policy's name and version.
        pub fn info() -> PolicyInfo {
            PolicyInfo {
                name: P::NAME.into(),
                version: P::VERSION.into(),
            }
        }

        /// `configure`: parses the configuration and keeps the policy.
        /// The unpacking buffer gets its capacity here, so that no call
        /// grows it: a call burns the same fuel on a fresh instance as on
        /// a reused one.
        pub fn configure(&self, config: &str) -> Result<(), String> {
            let policy = P::configure(config)?;
            *self.0.borrow_mut() = Some(policy);
            let mut w = self.1.borrow_mut();
            let [id, account, asset, chain, destination] = FIELD_CAPACITY;
            w.id.reserve(id);
            w.account.reserve(account);
            w.asset.reserve(asset);
            w.chain.reserve(chain);
            w.destination.reserve(destination);
            Ok(())
        }

        /// `evaluate`: decides with the configured policy.
        pub fn evaluate(&self, withdrawal: &Withdrawal) -> Decision {
            match &*self.0.borrow() {
                Some(policy) => policy.evaluate(withdrawal),
                // The host always configures before evaluating; holding is the
                // only safe answer if it somehow did not.
                None => Decision::hold("gate.not_configured", "policy evaluated before configure"),
            }
        }

        /// `evaluate-packed` (0.1.2): unpacks the withdrawal and decides
        /// as `evaluate` would. Lengths that do not cut the text into five
        /// strings (the host never sends them) are held.
        pub fn evaluate_packed(&self, packed: &PackedWithdrawal) -> Decision {
            let mut w = self.1.borrow_mut();
            if !unpack(packed, &mut w) {
                return Decision::hold(
                    format!("{}.malformed_input", P::NAME),
                    "the packed withdrawal's lengths do not cut its text into five strings",
                );
            }
            self.evaluate(&w)
        }
    }

    /// The most bytes the host sends in id, account, asset, chain and
    /// destination (`riskgate_model::caps`; it refuses a longer field).
    pub const FIELD_CAPACITY: [usize; 5] = [128, 128, 32, 32, 256];

    /// Fills `out` from `packed`: its text cut by its lengths into id,
    /// account, asset, chain and destination. False, with `out`
    /// unspecified, when a cut falls outside the text or inside a
    /// character.
    pub fn unpack(packed: &PackedWithdrawal, out: &mut Withdrawal) -> bool {
        // Every field named: one the contract adds cannot be left stale.
        let PackedWithdrawal {
            text,
            lengths,
            amount,
            decimals,
            usd_cents,
            requested_at,
            account_created_at,
            credential_changed_at,
            destination_first_used_at,
        } = packed;
        let mut rest = text.as_str();
        for (i, field) in [
            &mut out.id,
            &mut out.account,
            &mut out.asset,
            &mut out.chain,
        ]
        .into_iter()
        .enumerate()
        {
            let len = usize::from((lengths >> (16 * i)) as u16);
            let Some((part, after)) = rest.split_at_checked(len) else {
                return false;
            };
            field.clear();
            field.push_str(part);
            rest = after;
        }
        out.destination.clear();
        out.destination.push_str(rest);
        out.amount = *amount;
        out.decimals = *decimals;
        out.usd_cents = *usd_cents;
        out.requested_at = *requested_at;
        out.account_created_at = *account_created_at;
        out.credential_changed_at = *credential_changed_at;
        out.destination_first_used_at = *destination_first_used_at;
        true
    }

    impl<P: Policy> Default for Slot<P> {
        fn default() -> Self {
            Self::new()
        }
    }

    pub use crate::panic::install_hook;
}

/// Exports a [`Policy`] implementation as the component's `policy` interface.
///
/// ```ignore
/// riskgate_guest::export_policy!(MyPolicy);
/// ```
///
/// On `wasm32` it exports `info`, `configure`, `evaluate` and (contract
/// 0.1.2) `evaluate-packed`, which unpacks the withdrawal into a buffer the
/// instance keeps and decides through the same `evaluate`; `configure`
/// first installs (once) a panic hook that logs the panic's message to the
/// host at [`Level::Warn`], prefixed with [`PANIC_LOG_PREFIX`], so the host
/// can tell why the call trapped. It also emits the custom section
/// [`policy_info::SECTION`] holding `{"name":…,"version":…}` (see
/// [`policy_info`]). A name or version that is empty or would need JSON
/// escaping is a compile-time error on every target.
///
/// On other targets it exports nothing, so `cargo test` links natively; run
/// the policy there with [`native::Instance`].
#[macro_export]
macro_rules! export_policy {
    ($ty:ty) => {
        const _: () = {
            const __RISKGATE_INFO_LEN: usize = $crate::policy_info::json_len(
                <$ty as $crate::Policy>::NAME,
                <$ty as $crate::Policy>::VERSION,
            );
            const __RISKGATE_INFO: [u8; __RISKGATE_INFO_LEN] = $crate::policy_info::json(
                <$ty as $crate::Policy>::NAME,
                <$ty as $crate::Policy>::VERSION,
            );

            #[cfg(target_arch = "wasm32")]
            #[unsafe(link_section = "riskgate-policy-info")]
            #[used]
            static __RISKGATE_POLICY_INFO: [u8; __RISKGATE_INFO_LEN] = __RISKGATE_INFO;

            #[cfg(target_arch = "wasm32")]
            ::std::thread_local! {
                static __RISKGATE_POLICY: $crate::__export::Slot<$ty> =
                    const { $crate::__export::Slot::new() };
            }

            #[cfg(target_arch = "wasm32")]
            struct __RiskgateExport;

            #[cfg(target_arch = "wasm32")]
            impl $crate::__Guest for __RiskgateExport {
                fn info() -> $crate::PolicyInfo {
                    $crate::__export::Slot::<$ty>::info()
                }

                fn configure(config: ::std::string::String) -> ::std::result::Result<(), ::std::string::String> {
                    $crate::__export::install_hook();
                    __RISKGATE_POLICY.with(|slot| slot.configure(&config))
                }

                fn evaluate(withdrawal: $crate::Withdrawal) -> $crate::Decision {
                    __RISKGATE_POLICY.with(|slot| slot.evaluate(&withdrawal))
                }

                fn evaluate_packed(withdrawal: $crate::PackedWithdrawal) -> $crate::Decision {
                    __RISKGATE_POLICY.with(|slot| slot.evaluate_packed(&withdrawal))
                }
            }

            #[cfg(target_arch = "wasm32")]
            $crate::bindings::__export_gate_policy!(__RiskgateExport with_types_in $crate::bindings);

            // Natively nothing is exported; this keeps the policy's
            // `configure` and `evaluate` in use for dead-code analysis.
            #[cfg(not(target_arch = "wasm32"))]
            #[allow(dead_code)]
            fn __riskgate_native() -> $crate::native::Instance<$ty> {
                $crate::native::Instance::new()
            }
        };
    };
}

#[cfg(test)]
mod tests {
    /// `wit/` in this crate is a link to the repository's `wit/`, the one
    /// source of the contract; a copy that drifted from it fails here. (In
    /// a packaged crate there is no repository `wit/` to compare with.)
    #[test]
    fn the_wit_is_the_repositorys() {
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let repo = here.join("../wit/policy.wit");
        if repo.is_file() && here.join("../host").is_dir() {
            let ours = std::fs::read(here.join("wit/policy.wit")).unwrap();
            assert!(
                ours == std::fs::read(&repo).unwrap(),
                "guest/wit/policy.wit differs from wit/policy.wit"
            );
        }
    }
}
