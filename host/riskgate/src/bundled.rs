//! What ships inside the binary: the bundled policy components (built from
//! `policies/` by the build script) and a small sample designated list.

use crate::policy::PolicySource;
use crate::screening::{DEFAULT_FP_RATE, DesignatedSet, Screener};
use std::sync::Arc;

mod components {
    include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
}

pub use components::{SANCTIONS, VELOCITY};

/// The sample designated list: one real OFAC designation and synthetic
/// entries. Not a substitute for the real lists.
pub const SAMPLE_LIST: &str = include_str!("../data/sample-list.txt");

/// Name of the bundled sample list.
pub const SAMPLE_LIST_NAME: &str = "sample";

/// The addresses of the sample list, as written there.
pub fn sample_addresses() -> Vec<String> {
    SAMPLE_LIST
        .lines()
        .filter_map(|l| l.split('#').next())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The bundled policies with their default configurations, in chain order.
pub fn policies() -> Vec<PolicySource> {
    vec![
        PolicySource {
            origin: "bundled:sanctions".into(),
            bytes: Arc::from(SANCTIONS),
            config: "{}".into(),
            fuel: None,
        },
        PolicySource {
            origin: "bundled:velocity".into(),
            bytes: Arc::from(VELOCITY),
            config: "{}".into(),
            fuel: None,
        },
    ]
}

/// The bundled sample list as a designated set.
pub fn sample_set() -> DesignatedSet {
    let (set, skipped) = DesignatedSet::from_plain_text(
        SAMPLE_LIST_NAME,
        None,
        "bundled:sample-list.txt",
        SAMPLE_LIST,
        DEFAULT_FP_RATE,
    )
    .expect("the bundled sample list builds");
    debug_assert!(skipped.is_empty(), "bundled sample list has bad entries");
    set
}

/// A screener holding only the sample list.
pub fn sample_screener() -> Screener {
    Screener::new(vec![sample_set()])
}
