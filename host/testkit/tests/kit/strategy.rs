//! The strategies generate what they promise: valid addresses of every
//! family and chain name, spellings the host reads as one key (and only
//! those), valid withdrawals, bursts within their window, scenarios whose
//! lists hold (or do not hold) the destination.

use std::collections::{BTreeSet, HashSet};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use riskgate_address::{
    BNB_TICKER_CHAINS, Canonical, Family, Kind, canonicalize, chain_names, list_keys,
};
use riskgate_guest::Withdrawal;
use riskgate_testkit::properties::is_listed;
use riskgate_testkit::strategy::{self, BurstSpec, Order, Share};

/// `n` values of `s` from a deterministic runner.
fn sample<S: Strategy>(s: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| s.new_tree(&mut runner).expect("a value").current())
        .collect()
}

fn kind_class(c: &Canonical) -> String {
    match c.kind() {
        Kind::Witness(v) if v >= 2 => format!("{}/future-witness", c.family()),
        k => format!("{}/{k:?}/{}", c.family(), c.payload().len()),
    }
}

#[test]
fn every_family_kind_and_chain_name_is_generated() {
    let addresses = sample(strategy::address(), 6_000);
    let families: BTreeSet<Family> = addresses.iter().map(|a| a.family).collect();
    assert_eq!(families.len(), Family::ALL.len(), "{families:?}");
    let chains: HashSet<&str> = addresses.iter().map(|a| a.chain.as_str()).collect();
    let mut known: Vec<&str> = Family::ALL.into_iter().flat_map(chain_names).collect();
    known.extend(BNB_TICKER_CHAINS);
    for name in known {
        assert!(
            chains.contains(name),
            "no address generated on chain {name}"
        );
    }
    let kinds: HashSet<String> = addresses
        .iter()
        .map(|a| kind_class(&a.canonical()))
        .collect();
    for expected in [
        "evm/Account/20",
        "bitcoin/P2pkh/20",
        "bitcoin/P2sh/20",
        "bitcoin/Witness(0)/20",
        "bitcoin/Witness(0)/32",
        "bitcoin/Witness(1)/32",
        "bitcoin/future-witness",
        "litecoin/Witness(0)/20",
        "litecoin/P2sh/20",
        "bitcoin-gold/Witness(1)/32",
        "bitcoin-cash/P2pkh/20",
        "bitcoin-cash/P2sh/64",
        "dogecoin/P2sh/20",
        "zcash/P2pkh/20",
        "dash/P2sh/20",
        "monero/Account/64",
        "monero/Subaddress/64",
        "solana/Account/32",
        "xrp/Account/20",
        "tron/Account/20",
        "bnb-beacon/Account/20",
    ] {
        assert!(
            kinds.contains(expected),
            "{expected} never generated: {kinds:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// A generated address parses on its chain, in its family, and is the
    /// host's canonical text of its key (the standard's encoding and the
    /// host's agree).
    #[test]
    fn a_generated_address_is_canonical_on_its_chain(a in strategy::address()) {
        let c = canonicalize(&a.chain, &a.address).unwrap();
        prop_assert_eq!(c.family(), a.family);
        prop_assert_eq!(c.as_str(), a.address.as_str());
        prop_assert!(strategy::chains_for(&c, &a.address).contains(&a.chain.as_str()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every spelling of an address, on every chain it is offered on, is
    /// the address's key, and a list entry in that spelling stores it.
    #[test]
    fn every_spelling_is_the_same_key(c in strategy::canonical()) {
        let all = strategy::every_spelling(&c);
        prop_assert!(all.len() >= 2);
        for a in &all {
            let read = canonicalize(&a.chain, &a.address)
                .map_err(|e| TestCaseError::fail(format!("{a:?}: {e}")))?;
            prop_assert_eq!(read.key(), c.key(), "{:?}", a);
            let stored = list_keys(&a.address).unwrap();
            prop_assert!(stored.iter().any(|k| k.key() == c.key()), "{:?} listed misses the key", a);
        }
    }

    /// Randomised spellings (tags, payment ids, hex case, whitespace) too.
    #[test]
    fn a_random_spelling_is_the_same_key(
        (c, typed) in strategy::canonical().prop_flat_map(|c| (Just(c.clone()), strategy::spelling(c)))
    ) {
        let read = canonicalize(&typed.chain, &typed.address).unwrap();
        prop_assert_eq!(read.key(), c.key());
        prop_assert_eq!(typed.family, c.family());
    }

    /// Another address never shares the key, in any of its spellings on
    /// any chain, read on the chain or as a list entry.
    #[test]
    fn a_different_address_never_shares_the_key(a in strategy::canonical(), b in strategy::canonical()) {
        prop_assume!(a.key() != b.key());
        for s in strategy::every_spelling(&a) {
            let read = canonicalize(&s.chain, &s.address).unwrap();
            prop_assert_ne!(read.key(), b.key());
            prop_assert!(list_keys(&s.address).unwrap().iter().all(|k| k.key() != b.key()));
        }
    }

    /// One mistyped character never reads as the same key: refused, or
    /// another address.
    #[test]
    fn a_mistyped_spelling_is_never_the_key(
        (c, typed) in strategy::canonical().prop_flat_map(|c| (Just(c.clone()), strategy::spelling(c))),
        at in any::<prop::sample::Index>(),
        with in any::<prop::sample::Index>(),
    ) {
        let wrong = strategy::mistype(&typed.address, at, with).unwrap();
        if let Ok(read) = canonicalize(&typed.chain, &wrong) {
            prop_assert_ne!(read.key(), c.key(), "{} read as {}", wrong, typed.address);
        }
    }

    /// Near misses are valid addresses, and none is the address.
    #[test]
    fn near_misses_are_other_addresses(c in strategy::canonical()) {
        for m in strategy::near_misses(&c) {
            prop_assert_ne!(m.key(), c.key());
            prop_assert!(list_keys(m.as_str()).unwrap().iter().all(|k| k.key() != c.key()));
        }
    }
}

#[test]
fn the_spellings_include_every_form_the_host_reads() {
    let key = |family: Family, kind: Kind, payload: &[u8]| {
        Canonical::from_key(&[&[family.tag(), kind.byte()][..], payload].concat()).unwrap()
    };
    let offered = |c: &Canonical| -> HashSet<(String, String)> {
        strategy::every_spelling(c)
            .into_iter()
            .map(|a| (a.chain, a.address))
            .collect()
    };
    let h20 = [0x5a; 20];
    // EVM: lower, upper, EIP-55, `0X`, padded; every EVM chain name.
    let evm = key(Family::Evm, Kind::Account, &h20);
    let s = offered(&evm);
    let digits = &evm.as_str()[2..];
    for chain in chain_names(Family::Evm) {
        for text in [
            evm.as_str().to_string(),
            format!("0x{}", digits.to_lowercase()),
            format!("0x{}", digits.to_uppercase()),
            format!("0X{}", digits.to_lowercase()),
            format!("\t{} ", evm.as_str()),
        ] {
            assert!(
                s.contains(&(chain.to_string(), text.clone())),
                "{chain} {text}"
            );
        }
    }
    // Bitcoin Cash: prefixed, bare, upper, legacy; on every BCH chain.
    let bch = key(Family::BitcoinCash, Kind::P2pkh, &h20);
    let s = offered(&bch);
    let bare = bch.as_str().trim_start_matches("bitcoincash:").to_string();
    let legacy = bs58::encode([&[0u8][..], &h20].concat())
        .with_check()
        .into_string();
    for text in [
        bch.as_str().to_string(),
        bare.clone(),
        bare.to_uppercase(),
        legacy,
    ] {
        assert!(
            s.contains(&("bitcoin-cash".to_string(), text.clone())),
            "{text}"
        );
        assert!(s.contains(&("bch".to_string(), text.clone())), "{text}");
    }
    // Bitcoin P2PKH on Bitcoin SV too; segwit upper case, not on Bitcoin SV.
    let p2pkh = key(Family::Bitcoin, Kind::P2pkh, &h20);
    assert!(offered(&p2pkh).contains(&("bitcoin-sv".to_string(), p2pkh.as_str().to_string())));
    let wpkh = key(Family::Bitcoin, Kind::Witness(0), &h20);
    let s = offered(&wpkh);
    assert!(s.contains(&("bitcoin".to_string(), wpkh.as_str().to_uppercase())));
    assert!(!s.iter().any(|(chain, _)| chain == "bitcoin-sv"));
    // Dogecoin P2SH: Verge reads its own `E...`, Dogecoin its `9/A...`.
    let doge = key(Family::Dogecoin, Kind::P2sh, &h20);
    let verge = bs58::encode([&[0x21u8][..], &h20].concat())
        .with_check()
        .into_string();
    let s = offered(&doge);
    assert!(s.contains(&("verge".to_string(), verge.clone())));
    assert!(!s.contains(&("dogecoin".to_string(), verge)));
    assert!(!s.contains(&("verge".to_string(), doge.as_str().to_string())));
    // Tron: `T...`, hex lower, upper and mixed.
    let tron = key(Family::Tron, Kind::Account, &h20);
    let s = offered(&tron);
    for text in [
        format!("41{}", hex::encode(h20)),
        format!("41{}", hex::encode_upper(h20)),
    ] {
        assert!(s.contains(&("tron".to_string(), text.clone())), "{text}");
    }
    // XRP X-addresses, Monero integrated addresses.
    let xrp = key(Family::Xrp, Kind::Account, &h20);
    assert!(offered(&xrp).iter().any(|(_, t)| t.starts_with('X')));
    let xmr = key(Family::Monero, Kind::Account, &[9; 64]);
    assert!(offered(&xmr).iter().any(|(_, t)| t.len() == 106));
    // BNB Beacon on the `bnb` ticker chain too.
    let bnb = key(Family::BnbBeacon, Kind::Account, &h20);
    assert!(offered(&bnb).contains(&("bnb".to_string(), bnb.as_str().to_uppercase())));
}

use riskgate_testkit::mock::to_model;

#[test]
fn the_time_range_is_the_hosts() {
    assert_eq!(
        strategy::REQUESTED_AT_MIN,
        riskgate_model::caps::REQUESTED_AT_MIN
    );
    assert_eq!(
        strategy::REQUESTED_AT_MAX,
        riskgate_model::caps::REQUESTED_AT_MAX
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// A generated withdrawal passes the host's input checks, its
    /// destination parses on its chain, its asset is one of the chain's.
    #[test]
    fn a_generated_withdrawal_is_valid(w in strategy::withdrawal()) {
        prop_assert_eq!(to_model(&w).validate(), Ok(()));
        let c = canonicalize(&w.chain, &w.destination).unwrap();
        prop_assert!(strategy::assets(c.family(), &w.chain).contains(&(w.asset.as_str(), w.decimals)));
        prop_assert!(w.amount >= 1);
    }
}

#[test]
fn amounts_and_times_reach_their_edges() {
    let ws = sample(strategy::withdrawal(), 3_000);
    assert!(ws.iter().any(|w| w.amount == 1));
    assert!(ws.iter().any(|w| w.amount == u64::MAX));
    assert!(
        ws.iter()
            .any(|w| w.requested_at == strategy::REQUESTED_AT_MIN)
    );
    assert!(
        ws.iter()
            .any(|w| w.requested_at == strategy::REQUESTED_AT_MAX)
    );
    assert!(ws.iter().any(|w| w.usd_cents.is_none()));
    assert!(ws.iter().any(|w| w.destination_first_used_at.is_none()));
    assert!(
        ws.iter()
            .any(|w| w.credential_changed_at.is_some_and(|t| t > w.requested_at))
    );
}

fn check_burst(spec: &BurstSpec, ws: &[Withdrawal]) -> Result<(), TestCaseError> {
    prop_assert!(spec.len.contains(&ws.len()));
    let ids: HashSet<&str> = ws.iter().map(|w| w.id.as_str()).collect();
    prop_assert_eq!(ids.len(), ws.len(), "ids repeat");
    let lo = ws.iter().map(|w| w.requested_at).min().unwrap();
    let hi = ws.iter().map(|w| w.requested_at).max().unwrap();
    prop_assert!(hi - lo < spec.window_ms);
    let first = &ws[0];
    let key = |w: &Withdrawal| {
        canonicalize(&w.chain, &w.destination)
            .unwrap()
            .key()
            .to_vec()
    };
    for w in ws {
        prop_assert_eq!(to_model(w).validate(), Ok(()));
        prop_assert_eq!(&w.chain, &first.chain);
        prop_assert_eq!(&w.asset, &first.asset);
        prop_assert!(w.amount <= spec.max_amount);
        match spec.share {
            Share::Account => prop_assert_eq!(&w.account, &first.account),
            Share::Destination => prop_assert_eq!(key(w), key(first)),
            Share::AccountDestination => {
                prop_assert_eq!(&w.account, &first.account);
                prop_assert_eq!(key(w), key(first));
            }
        }
    }
    if spec.order == Order::InOrder {
        prop_assert!(
            ws.windows(2)
                .all(|p| p[0].requested_at <= p[1].requested_at)
        );
    }
    Ok(())
}

#[test]
fn bursts_share_what_they_say_within_their_window() {
    for share in [
        Share::Account,
        Share::Destination,
        Share::AccountDestination,
    ] {
        for order in [Order::InOrder, Order::Shuffled] {
            let spec = BurstSpec {
                share,
                order,
                len: 1..=15,
                window_ms: 600_000,
                max_amount: 500,
                ..BurstSpec::default()
            };
            let bursts = sample(strategy::burst(spec.clone()), 300);
            for ws in &bursts {
                if let Err(e) = check_burst(&spec, ws) {
                    panic!("{share:?} {order:?}: {e}: {ws:#?}");
                }
            }
            if order == Order::Shuffled {
                assert!(
                    bursts
                        .iter()
                        .any(|ws| ws.windows(2).any(|p| p[0].requested_at > p[1].requested_at)),
                    "no shuffled burst is out of order"
                );
            }
            if share == Share::Destination {
                assert!(
                    bursts.iter().any(|ws| {
                        ws.iter()
                            .map(|w| w.destination.as_str())
                            .collect::<HashSet<_>>()
                            .len()
                            > 1
                    }),
                    "one destination is never spelled two ways"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    /// A listed scenario's lists hold its destination (by the designated
    /// entry); its history is earlier, of its account.
    #[test]
    fn a_listed_scenario_holds_its_destination(case in strategy::listed_scenario()) {
        let s = &case.scenario;
        prop_assert_eq!(is_listed(s), Some(true));
        prop_assert!(s.lists.contains(&case.designated));
        let typed = canonicalize(&s.withdrawal.chain, &s.withdrawal.destination).unwrap();
        prop_assert!(list_keys(&case.designated.address).unwrap().iter().any(|k| k.key() == typed.key()));
        for h in &s.history {
            prop_assert!(h.requested_at < s.withdrawal.requested_at);
            prop_assert_eq!(&h.account, &s.withdrawal.account);
            prop_assert_eq!(to_model(h).validate(), Ok(()));
        }
    }

    /// An unlisted scenario's lists never hold its destination.
    #[test]
    fn an_unlisted_scenario_does_not_hold_its_destination(s in strategy::unlisted_scenario()) {
        prop_assert_eq!(is_listed(&s), Some(false));
    }
}

#[test]
fn unlisted_scenarios_carry_near_misses() {
    let scenarios = sample(strategy::unlisted_scenario(), 200);
    assert!(scenarios.iter().any(|s| {
        s.lists
            .iter()
            .any(|l| l.label.as_deref() == Some("near miss"))
    }));
}
