//! Scenarios: a withdrawal with lists, history and the host's faults.

use proptest::prelude::*;
use proptest::sample::Index;
use riskgate_address::Canonical;
use riskgate_guest::{HOUR_MS, Withdrawal};

use crate::{Listed, Scenario};

use super::address::{ChainAddress, canonical, near_misses, spelling};
use super::withdrawal::{BurstSpec, Order, Share, burst, withdrawal, withdrawal_at};

/// The list name of the designated entry in [`listed_scenario`].
pub const DESIGNATED_LIST: &str = "testkit-designated";
/// The list name of unrelated entries (decoys) in every scenario.
pub const DECOY_LIST: &str = "testkit-decoys";

/// A scenario without lists, history or faults: `withdrawal` alone, the
/// policy configuration `{}`.
pub fn bare(withdrawal: Withdrawal) -> Scenario {
    Scenario {
        withdrawal,
        config: "{}".into(),
        lists: Vec::new(),
        history: Vec::new(),
        windows: Vec::new(),
        window_error: None,
    }
}

fn listed(list: &str, version: &str, a: &ChainAddress, label: Option<String>) -> Listed {
    Listed {
        list: list.into(),
        version: version.into(),
        chain: a.chain.clone(),
        address: a.address.clone(),
        label,
    }
}

/// Decoys: up to `n` addresses of any family, each in some spelling,
/// listed under [`DECOY_LIST`].
fn decoys(n: usize) -> impl Strategy<Value = Vec<Listed>> + Clone {
    prop::collection::vec(canonical().prop_flat_map(spelling), 0..=n)
        .prop_map(|ds| {
            ds.iter()
                .enumerate()
                .map(|(i, d)| listed(DECOY_LIST, "1", d, Some(format!("decoy {i}"))))
                .collect()
        })
        .boxed()
}

/// History: a burst of the withdrawal's account before it (or nothing).
fn history_before(w: &Withdrawal) -> BoxedStrategy<Vec<Withdrawal>> {
    let w = w.clone();
    let Ok(to) = riskgate_address::canonicalize(&w.chain, &w.destination) else {
        return Just(Vec::new()).boxed();
    };
    let spec = BurstSpec {
        share: Share::Account,
        len: 1..=12,
        window_ms: 2 * HOUR_MS,
        order: Order::Shuffled,
        family: Some(to.family()),
        ..BurstSpec::default()
    };
    prop_oneof![
        1 => Just(Vec::new()),
        2 => burst(spec).prop_map(move |mut ws| {
            // Moved to end before `w`, under its account, chain and asset.
            let last = ws.iter().map(|h| h.requested_at).max().unwrap_or(0);
            // Only what fits after 2009 (the host's earliest time).
            ws.retain(|h| {
                w.requested_at.saturating_sub(last - h.requested_at + 1)
                    >= super::withdrawal::REQUESTED_AT_MIN
            });
            for h in &mut ws {
                let back = last - h.requested_at + 1;
                h.requested_at = w.requested_at - back;
                h.account = w.account.clone();
                h.asset = w.asset.clone();
                h.decimals = w.decimals;
                if riskgate_address::canonicalize(&w.chain, &h.destination).is_ok() {
                    h.chain = w.chain.clone();
                } else {
                    h.chain = w.chain.clone();
                    h.destination = w.destination.clone();
                }
                h.id = format!("h-{}-{}", w.id, h.id);
            }
            ws
        }),
    ]
    .boxed()
}

/// A general scenario: any withdrawal, some decoy list entries, maybe a
/// burst of its account's history; no fault.
pub fn scenario() -> impl Strategy<Value = Scenario> + Clone {
    withdrawal()
        .prop_flat_map(|w| {
            (decoys(4), history_before(&w), Just(w)).prop_map(|(lists, history, w)| Scenario {
                lists,
                history,
                ..bare(w)
            })
        })
        .boxed()
}

/// A scenario whose destination is designated, with the designated entry.
#[derive(Debug, Clone)]
pub struct ListedScenario {
    pub scenario: Scenario,
    /// The entry (also in `scenario.lists`) that holds the destination.
    pub designated: Listed,
}

/// A destination listed in one spelling and withdrawn to in another (any
/// of [`super::spelling`]'s, on any chain that reads it), among decoys,
/// with or without history. The designated entry is in list
/// [`DESIGNATED_LIST`], version `1`, labelled `designated`.
///
/// ```
/// use proptest::prelude::*;
/// use riskgate_testkit::strategy::listed_scenario;
/// proptest!(|(case in listed_scenario())| {
///     let s = &case.scenario;
///     let typed = riskgate_address::canonicalize(&s.withdrawal.chain, &s.withdrawal.destination).unwrap();
///     let keys = riskgate_address::list_keys(&case.designated.address).unwrap();
///     assert!(keys.iter().any(|k| k.key() == typed.key()));
/// });
/// ```
pub fn listed_scenario() -> impl Strategy<Value = ListedScenario> + Clone {
    canonical()
        .prop_flat_map(|c| (spelling(c.clone()), spelling(c), decoys(6), any::<Index>()))
        .prop_flat_map(|(listed_as, typed, decoys, at)| {
            let w = super::withdrawal::requested_at()
                .prop_flat_map(move |t| withdrawal_at(typed.clone(), t));
            (Just(listed_as), w, Just(decoys), Just(at))
        })
        .prop_flat_map(|(listed_as, w, decoys, at)| {
            (
                Just(listed_as),
                history_before(&w),
                Just(w),
                Just(decoys),
                Just(at),
            )
        })
        .prop_map(|(listed_as, history, w, mut lists, at)| {
            let designated = listed(DESIGNATED_LIST, "1", &listed_as, Some("designated".into()));
            let i = at.index(lists.len() + 1);
            lists.insert(i, designated.clone());
            ListedScenario {
                scenario: Scenario {
                    lists,
                    history,
                    ..bare(w)
                },
                designated,
            }
        })
        .boxed()
}

/// A destination that no list holds, among decoys that include its near
/// misses ([`super::near_misses`]: the same bytes under another kind or
/// family), with or without history.
pub fn unlisted_scenario() -> impl Strategy<Value = Scenario> + Clone {
    canonical()
        .prop_flat_map(|c: Canonical| {
            let misses: Vec<Listed> = near_misses(&c)
                .iter()
                .map(|m| {
                    let a = ChainAddress {
                        chain: m.family().default_chain().into(),
                        address: m.as_str().into(),
                        family: m.family(),
                    };
                    listed(DECOY_LIST, "1", &a, Some("near miss".into()))
                })
                .collect();
            (spelling(c), decoys(4), Just(misses))
        })
        .prop_flat_map(|(typed, decoys, misses)| {
            let w = super::withdrawal::requested_at()
                .prop_flat_map(move |t| withdrawal_at(typed.clone(), t));
            (w, Just(decoys), Just(misses))
        })
        .prop_flat_map(|(w, decoys, misses)| {
            (history_before(&w), Just(w), Just(decoys), Just(misses))
        })
        .prop_map(|(history, w, mut lists, misses)| {
            // A decoy that happens to spell the destination is dropped.
            let key = riskgate_address::canonicalize(&w.chain, &w.destination)
                .map(|c| c.key().to_vec())
                .unwrap_or_default();
            lists.extend(misses);
            lists.retain(|l| {
                riskgate_address::list_keys(&l.address)
                    .map(|ks| ks.iter().all(|k| k.key() != key))
                    .unwrap_or(true)
            });
            Scenario {
                lists,
                history,
                ..bare(w)
            }
        })
        .boxed()
}

/// Arbitrary destination text, and mistyped addresses (one character
/// replaced: [`super::mistype`]), on any chain a policy may see: known
/// chain names and unknown ones. Which of them parse is for the caller to
/// ask `riskgate_address::canonicalize`; most do not.
pub fn unscreenable_scenario() -> impl Strategy<Value = Scenario> + Clone {
    let chain = prop_oneof![
        3 => super::address::family().prop_map(|f| f.default_chain().to_string()),
        1 => super::withdrawal::evm_chain().prop_map(str::to_string),
        1 => "[a-z][a-z0-9-]{0,20}",
    ];
    let text = prop_oneof![
        2 => ".{0,80}",
        2 => "[a-zA-Z0-9]{1,120}",
        3 => (super::address::address(), any::<Index>(), any::<Index>()).prop_map(|(a, at, with)| {
            super::address::mistype(&a.address, at, with).unwrap_or(a.address)
        }),
    ];
    (withdrawal(), chain, text, decoys(3))
        .prop_map(|(mut w, chain, text, lists)| {
            w.chain = chain;
            w.destination = text;
            Scenario { lists, ..bare(w) }
        })
        .boxed()
}

/// [`scenario`] and [`listed_scenario`]'s scenarios with the velocity
/// store failing ([`Scenario::window_error`]).
pub fn faulty_scenario() -> impl Strategy<Value = Scenario> + Clone {
    (
        prop_oneof![
            scenario(),
            listed_scenario().prop_map(|c| c.scenario),
            unlisted_scenario(),
        ],
        "[a-z ]{1,40}",
    )
        .prop_map(|(mut s, why)| {
            s.window_error = Some(format!("velocity store unavailable: {why}"));
            s
        })
        .boxed()
}
