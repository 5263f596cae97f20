//! Running a policy on the host target, for unit tests.
//!
//! On `wasm32` the [`host`](crate::host) functions call the component's
//! imports. On every other target they call the [`Host`] installed on the
//! current thread by [`with_host`]; with none installed they panic with a
//! message naming the call. [`Instance`] configures and evaluates a
//! [`Policy`] through the same code [`export_policy!`](crate::export_policy)
//! exports.
//!
//! The `riskgate-testkit` crate's mock host implements [`Host`] from a
//! scenario (designated lists, velocity history) with the real host's
//! address canonicalisation and window semantics; a hand-written [`Host`]
//! suits a test that wants full control.

use crate::__export::Slot;
use crate::{
    Decision, Evidence, Level, PackedWithdrawal, Policy, PolicyInfo, Scope, ScreenError,
    WindowQuery, WindowStats, Withdrawal,
};
use std::cell::Cell;
use std::ptr::NonNull;

/// What a policy's host imports answer when it runs natively.
///
/// The methods mirror the WIT imports of `riskgate:policy@0.1.2`
/// (`screening.screen`, whose answer `screening.screen-hits` also gives,
/// `velocity.window`, `velocity.windows`, `log.log`).
pub trait Host {
    /// Canonicalises `address` for `chain` and answers the designated-set
    /// entries holding it (empty when none does).
    fn screen(&mut self, chain: &str, address: &str) -> Result<Vec<Evidence>, ScreenError>;
    /// Statistics of the allowed withdrawals under the current withdrawal's
    /// key for `scope` in the `window_ms` ending at its requested-at.
    fn window(&mut self, scope: Scope, window_ms: u64) -> Result<WindowStats, String>;
    /// Every query's [`Host::window`] answer, in order (`velocity.windows`,
    /// one host call). By default, [`Host::window`] for each.
    fn windows(&mut self, queries: &[WindowQuery]) -> Vec<Result<WindowStats, String>> {
        queries
            .iter()
            .map(|q| self.window(q.scope, q.window_ms))
            .collect()
    }
    /// A log line from the policy.
    fn log(&mut self, level: Level, message: &str);
}

type HostPtr = NonNull<dyn Host + 'static>;

thread_local! {
    /// The host installed by the innermost [`with_host`] on this thread;
    /// `None` outside it and while one of its methods runs.
    static CURRENT: Cell<Option<HostPtr>> = const { Cell::new(None) };
}

/// Puts back the host that was current before, even when unwinding.
struct Restore(Option<HostPtr>);

impl Drop for Restore {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// Runs `f` with `host` answering this thread's [`host`](crate::host)
/// calls, then puts back whatever host was installed before (also when `f`
/// panics). Calls nest: the innermost host answers.
pub fn with_host<H: Host, R>(host: &mut H, f: impl FnOnce() -> R) -> R {
    let ptr: NonNull<dyn Host + '_> = NonNull::from(host as &mut dyn Host);
    // SAFETY: only the lifetime is erased. The pointer is reachable only
    // through `CURRENT`, which `Restore` resets before this function
    // returns or unwinds, so it is never used after `host`'s borrow ends;
    // `call` takes it out while it is in use, so no second `&mut` to the
    // host is ever made from it.
    let ptr: HostPtr = unsafe { std::mem::transmute::<NonNull<dyn Host + '_>, HostPtr>(ptr) };
    let _restore = Restore(CURRENT.with(|c| c.replace(Some(ptr))));
    f()
}

/// Whether a [`Host`] is installed on this thread (and not busy answering a call).
pub fn is_installed() -> bool {
    CURRENT.with(|c| c.get().is_some())
}

/// Runs `f` on the installed host; panics when none is.
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub(crate) fn call<R>(what: &str, f: impl FnOnce(&mut dyn Host) -> R) -> R {
    let Some(mut ptr) = CURRENT.with(Cell::take) else {
        panic!(
            "riskgate_guest::host::{what} was called natively with no host installed: run the \
             policy inside riskgate_guest::native::with_host (riskgate-testkit's mock host \
             installs one), or build it for wasm32-unknown-unknown"
        );
    };
    let _restore = Restore(Some(ptr));
    // SAFETY: the pointer came from the `&mut` that `with_host` holds for
    // the whole time it is installed; it was taken out of `CURRENT` above,
    // so this is the only reference made from it until `_restore` puts it
    // back.
    f(unsafe { ptr.as_mut() })
}

/// A policy configured natively: the component's `configure` and
/// `evaluate`, run by the same code the export runs.
///
/// Host calls made by [`evaluate`](Self::evaluate) go to the [`Host`] that
/// [`with_host`] installed around it.
pub struct Instance<P> {
    slot: Slot<P>,
}

impl<P: Policy> Instance<P> {
    /// An instance not configured yet: [`evaluate`](Self::evaluate) holds
    /// with `gate.not_configured`, as the component would.
    pub fn new() -> Self {
        Instance { slot: Slot::new() }
    }

    /// An instance configured with `config` (JSON, `{}` for none); the
    /// policy's error when it refuses it.
    pub fn configure(config: &str) -> Result<Self, String> {
        let instance = Self::new();
        instance.slot.configure(config)?;
        Ok(instance)
    }

    /// Reconfigures this instance.
    pub fn reconfigure(&self, config: &str) -> Result<(), String> {
        self.slot.configure(config)
    }

    /// What the component's `info` export answers.
    pub fn info() -> PolicyInfo {
        Slot::<P>::info()
    }

    /// Decides `withdrawal`, calling the installed [`Host`].
    pub fn evaluate(&self, withdrawal: &Withdrawal) -> Decision {
        self.slot.evaluate(withdrawal)
    }

    /// Decides a packed withdrawal (contract 0.1.2's `evaluate-packed`,
    /// the entry the host calls), calling the installed [`Host`].
    pub fn evaluate_packed(&self, withdrawal: &PackedWithdrawal) -> Decision {
        self.slot.evaluate_packed(withdrawal)
    }
}

impl<P: Policy> Default for Instance<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P> std::fmt::Debug for Instance<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("policy", &std::any::type_name::<P>())
            .finish()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::host;

    #[derive(Default)]
    struct Recorder {
        calls: Vec<String>,
    }

    impl Host for Recorder {
        fn screen(&mut self, chain: &str, address: &str) -> Result<Vec<Evidence>, ScreenError> {
            self.calls.push(format!("screen {chain} {address}"));
            if chain == "nowhere" {
                return Err(ScreenError::UnsupportedChain(chain.into()));
            }
            Ok(vec![Evidence {
                list: "l".into(),
                list_version: "1".into(),
                label: None,
                address: address.to_lowercase(),
            }])
        }
        fn window(&mut self, scope: Scope, window_ms: u64) -> Result<WindowStats, String> {
            self.calls.push(format!("window {scope:?} {window_ms}"));
            // A host call made from inside a host call finds no host.
            assert!(!is_installed());
            Ok(WindowStats {
                count: window_ms,
                sum: 2,
                usd_cents: 3,
            })
        }
        fn log(&mut self, level: Level, message: &str) {
            self.calls.push(format!("log {level:?} {message}"));
        }
    }

    #[test]
    fn calls_reach_the_installed_host_and_it_is_removed_after() {
        let mut r = Recorder::default();
        assert!(!is_installed());
        let hits = with_host(&mut r, || {
            assert!(is_installed());
            host::log(Level::Info, "hello");
            let stats = host::window(Scope::Account, 7).unwrap();
            assert_eq!(stats.count, 7);
            assert!(host::screen("nowhere", "x").is_err());
            host::screen("ethereum", "0xAB").unwrap()
        });
        assert!(!is_installed());
        assert_eq!(hits[0].address, "0xab");
        assert_eq!(
            r.calls,
            [
                "log Level::Info hello",
                "window Scope::Account 7",
                "screen nowhere x",
                "screen ethereum 0xAB"
            ]
        );
    }

    #[test]
    fn the_innermost_host_answers_and_the_outer_one_comes_back() {
        let mut outer = Recorder::default();
        let mut inner = Recorder::default();
        with_host(&mut outer, || {
            host::log(Level::Debug, "a");
            with_host(&mut inner, || host::log(Level::Debug, "b"));
            host::log(Level::Debug, "c");
        });
        assert_eq!(outer.calls, ["log Level::Debug a", "log Level::Debug c"]);
        assert_eq!(inner.calls, ["log Level::Debug b"]);
    }

    #[test]
    fn a_panic_inside_uninstalls_the_host() {
        let mut r = Recorder::default();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            with_host(&mut r, || panic!("boom"))
        }));
        assert!(caught.is_err());
        assert!(!is_installed());
    }

    #[test]
    #[should_panic(
        expected = "riskgate_guest::host::window was called natively with no host installed"
    )]
    fn a_call_without_a_host_panics_naming_it() {
        let _ = host::window(Scope::Asset, 1);
    }

    struct Echo(String);

    impl Policy for Echo {
        const NAME: &'static str = "echo";
        const VERSION: &'static str = "1.2.3";
        fn configure(config: &str) -> Result<Self, String> {
            if config == "bad" {
                return Err("bad config".into());
            }
            Ok(Echo(config.to_string()))
        }
        fn evaluate(&self, w: &Withdrawal) -> Decision {
            host::log(Level::Info, &self.0);
            Decision::hold("echo.held", w.id.clone())
        }
    }

    fn withdrawal() -> Withdrawal {
        Withdrawal {
            id: "w-1".into(),
            account: "a".into(),
            asset: "ETH".into(),
            chain: "ethereum".into(),
            destination: "0x00".into(),
            amount: 1,
            decimals: 18,
            usd_cents: None,
            requested_at: 1,
            account_created_at: None,
            credential_changed_at: None,
            destination_first_used_at: None,
        }
    }

    #[test]
    fn instance_configures_and_evaluates_like_the_export() {
        assert_eq!(
            Instance::<Echo>::configure("bad").unwrap_err(),
            "bad config"
        );
        let info = Instance::<Echo>::info();
        assert_eq!(
            (info.name.as_str(), info.version.as_str()),
            ("echo", "1.2.3")
        );

        let unconfigured = Instance::<Echo>::new();
        let d = unconfigured.evaluate(&withdrawal());
        assert_eq!(d.verdict, crate::Verdict::Hold);
        assert_eq!(d.reasons[0].code, "gate.not_configured");

        let policy = Instance::<Echo>::configure("{\"x\":1}").unwrap();
        let mut r = Recorder::default();
        let d = with_host(&mut r, || policy.evaluate(&withdrawal()));
        assert_eq!(d.reasons[0].code, "echo.held");
        assert_eq!(d.reasons[0].detail, "w-1");
        assert_eq!(r.calls, ["log Level::Info {\"x\":1}"]);
    }

    /// The host's packing of a withdrawal (`PolicyInput::fill` in
    /// riskgate-runtime), written again here.
    fn pack(w: &Withdrawal) -> PackedWithdrawal {
        let strings = [&w.id, &w.account, &w.asset, &w.chain];
        PackedWithdrawal {
            text: strings.iter().map(|s| s.as_str()).collect::<String>() + &w.destination,
            lengths: strings
                .iter()
                .enumerate()
                .map(|(i, s)| (s.len() as u64) << (16 * i))
                .sum(),
            amount: w.amount,
            decimals: w.decimals,
            usd_cents: w.usd_cents,
            requested_at: w.requested_at,
            account_created_at: w.account_created_at,
            credential_changed_at: w.credential_changed_at,
            destination_first_used_at: w.destination_first_used_at,
        }
    }

    struct Mirror;

    impl Policy for Mirror {
        const NAME: &'static str = "mirror";
        const VERSION: &'static str = "1.0.0";
        fn configure(_: &str) -> Result<Self, String> {
            Ok(Mirror)
        }
        fn evaluate(&self, w: &Withdrawal) -> Decision {
            Decision::hold("mirror.seen", format!("{w:?}"))
        }
    }

    fn arb_text() -> impl proptest::strategy::Strategy<Value = String> {
        // Any text, multi-byte characters, whitespace and NULs included.
        proptest::string::string_regex("(?s:.{0,40})").unwrap()
    }

    proptest::proptest! {
        /// Whatever the strings and numbers, the packed entry decides on
        /// exactly the withdrawal `evaluate` gets, call after call on one
        /// instance (its buffers reused).
        #[test]
        fn the_packed_entry_sees_the_same_withdrawal(
            calls in proptest::collection::vec(
                (
                    [arb_text(), arb_text(), arb_text(), arb_text(), arb_text()],
                    proptest::prelude::any::<(u64, u8, Option<u64>, u64)>(),
                    proptest::prelude::any::<(Option<u64>, Option<u64>, Option<u64>)>(),
                ),
                1..6,
            )
        ) {
            let policy = Instance::<Mirror>::configure("{}").unwrap();
            for ([id, account, asset, chain, destination], (amount, decimals, usd_cents, requested_at), (created, changed, first)) in calls {
                let w = Withdrawal {
                    id, account, asset, chain, destination, amount, decimals, usd_cents,
                    requested_at, account_created_at: created,
                    credential_changed_at: changed, destination_first_used_at: first,
                };
                proptest::prop_assert_eq!(policy.evaluate_packed(&pack(&w)), policy.evaluate(&w));
            }
        }
    }

    #[test]
    fn lengths_that_do_not_cut_the_text_are_held() {
        let policy = Instance::<Mirror>::configure("{}").unwrap();
        let good = pack(&withdrawal());
        let held = |packed: PackedWithdrawal| {
            let d = policy.evaluate_packed(&packed);
            assert_eq!(d.verdict, crate::Verdict::Hold);
            assert_eq!(d.reasons[0].code, "mirror.malformed_input", "{packed:?}");
        };
        // Past the end of the text.
        held(PackedWithdrawal {
            text: "w-1aETHethereu".into(),
            ..good.clone()
        });
        // Inside a character: `é` is two bytes, the id's length cuts it.
        held(PackedWithdrawal {
            text: "\u{e9}aETHethereum0x00".into(),
            lengths: good.lengths - 2,
            ..good.clone()
        });
        // Exactly the lengths: the destination may be empty (the host
        // refuses an empty field; the SDK passes it on).
        let d = policy.evaluate_packed(&PackedWithdrawal {
            text: "w-1aETHethereum".into(),
            ..good
        });
        assert_eq!(d.reasons[0].code, "mirror.seen");
        assert!(d.reasons[0].detail.contains(r#"destination: """#), "{d:?}");
    }
}
