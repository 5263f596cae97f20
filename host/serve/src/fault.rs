//! Test hooks: faults injected at named points of `riskgate serve`, for
//! crash tests only. Each hook reads its environment variable once (the
//! first time it is reached, or at startup through [`init`]); unset, a hook
//! costs one relaxed load.
//!
//! - `RISKGATE_FAULT_AFTER_RESOLVE=abort`: the process aborts right after
//!   `Gate::resolve` returned a changed hold, before the answer and the
//!   decision-log record: what the velocity store recorded must stand on
//!   its own after a restart (the approval and its velocity contribution
//!   together, or neither).
//!
//! Never set these in production.

use std::sync::OnceLock;

/// The variable of the hook after a review action.
pub const AFTER_RESOLVE: &str = "RISKGATE_FAULT_AFTER_RESOLVE";

/// What a hook does when reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `std::process::abort()`: no destructor, no flush, no answer.
    Abort,
}

fn read(var: &str) -> Option<Fault> {
    match std::env::var(var).ok()?.as_str() {
        "abort" => Some(Fault::Abort),
        "" => None,
        other => {
            eprintln!("warning: {var}={other}: unknown fault (only `abort`); ignored");
            None
        }
    }
}

fn after_resolve_fault() -> Option<Fault> {
    static FAULT: OnceLock<Option<Fault>> = OnceLock::new();
    *FAULT.get_or_init(|| {
        let fault = read(AFTER_RESOLVE);
        if fault.is_some() {
            eprintln!("warning: test hook {AFTER_RESOLVE} is set: the first review action that changes a hold aborts the process");
        }
        fault
    })
}

/// Reads every hook's variable now (at startup), so a bad value is
/// reported before serving.
pub fn init() {
    let _ = after_resolve_fault();
}

/// The hook after `Gate::resolve` returned: call it with the resolution's
/// `changed`, before answering or logging.
pub fn after_resolve(changed: bool) {
    if changed && after_resolve_fault() == Some(Fault::Abort) {
        std::process::abort();
    }
}
