//! Proptest strategies for policy tests: valid addresses of every chain
//! family the host knows, every spelling of one address, withdrawals with
//! realistic fields, bursts of them in time, and whole [`Scenario`]s.
//!
//! Every address is checked with `riskgate_address::canonicalize` on its
//! chain before it is handed out, and every spelling is one the host reads
//! as the same designated-set key (the testkit's tests prove both over
//! thousands of cases).
//!
//! ```
//! use proptest::prelude::*;
//! use riskgate_testkit::strategy::{canonical, spelling};
//!
//! proptest!(|((c, typed) in canonical().prop_flat_map(|c| (Just(c.clone()), spelling(c))))| {
//!     // However it is typed, on whichever chain of its family, it is one key.
//!     let read = riskgate_address::canonicalize(&typed.chain, &typed.address).unwrap();
//!     prop_assert_eq!(read.key(), c.key());
//! });
//! ```
//!
//! [`Scenario`]: crate::Scenario

mod address;
mod scenario;
mod withdrawal;

pub use address::{
    ChainAddress, TRIMMED_WHITESPACE, address, address_of, canonical, canonical_of, chains_for,
    every_spelling, family, mistype, monero_integrated, near_misses, spelling, two_spellings,
    xrp_x_address,
};
pub use scenario::{
    DECOY_LIST, DESIGNATED_LIST, ListedScenario, bare, faulty_scenario, listed_scenario, scenario,
    unlisted_scenario, unscreenable_scenario,
};
pub use withdrawal::{
    BurstSpec, Order, REQUESTED_AT_MAX, REQUESTED_AT_MIN, Share, amount, asset, assets, burst,
    evm_chain, requested_at, usd_cents, withdrawal, withdrawal_at, withdrawal_of, withdrawal_to,
};
