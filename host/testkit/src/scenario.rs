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

/// The built-in withdrawal's `requested_at`: 2025-01-01T00:00:00Z, in ms.
pub const DEFAULT_REQUESTED_AT: u64 = 1_735_689_600_000;
/// The built-in withdrawal's destination: a valid EIP-55 Ethereum address
/// that no built-in list holds.
pub const DEFAULT_DESTINATION: &str = "0x52908400098527886E0F7030069857D2E4169EE7";
/// The built-in withdrawal's account.
pub const DEFAULT_ACCOUNT: &str = "acct-1";

/// A valid withdrawal: `id`, account [`DEFAULT_ACCOUNT`], 1 ETH (18
/// decimals) on `ethereum` to [`DEFAULT_DESTINATION`] at
/// [`DEFAULT_REQUESTED_AT`], no USD value and none of the optional
/// timestamps. Change the fields a test is about:
///
/// ```
/// use riskgate_testkit::scenario::withdrawal;
/// let w = riskgate_guest::Withdrawal { amount: 5, usd_cents: Some(500), ..withdrawal("w-1") };
/// assert_eq!(w.chain, "ethereum");
/// ```
pub fn withdrawal(id: &str) -> Withdrawal {
    Withdrawal {
        id: id.to_string(),
        account: DEFAULT_ACCOUNT.to_string(),
        asset: "ETH".to_string(),
        chain: "ethereum".to_string(),
        destination: DEFAULT_DESTINATION.to_string(),
        amount: 1_000_000_000_000_000_000,
        decimals: 18,
        usd_cents: None,
        requested_at: DEFAULT_REQUESTED_AT,
        account_created_at: None,
        credential_changed_at: None,
        destination_first_used_at: None,
    }
}

impl Scenario {
    /// `withdrawal` with configuration `{}`, no lists, no history, no
    /// explicit windows.
    pub fn new(withdrawal: Withdrawal) -> Self {
        Scenario {
            withdrawal,
            config: "{}".to_string(),
            lists: Vec::new(),
            history: Vec::new(),
            windows: Vec::new(),
            window_error: None,
        }
    }

    /// This scenario with configuration `config` (JSON).
    pub fn config(mut self, config: impl Into<String>) -> Self {
        self.config = config.into();
        self
    }

    /// This scenario with `address` (on `chain`) on list `list` of version `version`.
    pub fn listed(
        mut self,
        list: &str,
        version: &str,
        chain: &str,
        address: &str,
        label: Option<&str>,
    ) -> Self {
        self.lists.push(Listed {
            list: list.to_string(),
            version: version.to_string(),
            chain: chain.to_string(),
            address: address.to_string(),
            label: label.map(str::to_string),
        });
        self
    }

    /// This scenario with one more earlier allowed withdrawal.
    pub fn history(mut self, earlier: Withdrawal) -> Self {
        self.history.push(earlier);
        self
    }

    /// This scenario with an explicit answer for `window(scope, window_ms)`.
    pub fn window(
        mut self,
        scope: Scope,
        window_ms: u64,
        stats: riskgate_guest::WindowStats,
    ) -> Self {
        self.windows.push(WindowFigure {
            scope,
            window_ms,
            count: stats.count,
            sum: stats.sum,
            usd_cents: stats.usd_cents,
        });
        self
    }

    /// This scenario with every `window` query failing with `why`.
    pub fn window_error(mut self, why: impl Into<String>) -> Self {
        self.window_error = Some(why.into());
        self
    }

    /// The explicit figure for `(scope, window_ms)`, the last one given.
    pub fn window_figure(&self, scope: Scope, window_ms: u64) -> Option<&WindowFigure> {
        self.windows
            .iter()
            .rev()
            .find(|f| f.scope == scope && f.window_ms == window_ms)
    }
}
