//! Properties of the real policies in the real host, over generated inputs.

use proptest::prelude::*;
use riskgate::model::Verdict;
use riskgate::screening::{DEFAULT_FP_RATE, DesignatedSet, Screener};
use riskgate::{Gate, Mode, Withdrawal, bundled};
use riskgate_bench::demo;
use riskgate_tests::*;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

const EVM_CHAINS: [&str; 6] = ["ethereum", "bsc", "arbitrum", "polygon", "base", "optimism"];

/// One designated address of each kind, as listed and as it may be typed.
#[derive(Debug, Clone)]
enum Kind {
    Evm,
    P2pkh,
    P2sh,
    Wpkh,
    Wsh,
    Taproot,
    Tron,
}

fn encode(kind: &Kind, payload: &[u8; 32]) -> String {
    let h20 = &payload[..20];
    match kind {
        Kind::Evm => riskgate::address::eip55_checksum(h20.try_into().unwrap()),
        Kind::P2pkh => bs58::encode([&[0u8][..], h20].concat())
            .with_check()
            .into_string(),
        Kind::P2sh => bs58::encode([&[5u8][..], h20].concat())
            .with_check()
            .into_string(),
        Kind::Wpkh => {
            bech32::segwit::encode(bech32::hrp::BC, bech32::segwit::VERSION_0, h20).unwrap()
        }
        Kind::Wsh => {
            bech32::segwit::encode(bech32::hrp::BC, bech32::segwit::VERSION_0, payload).unwrap()
        }
        Kind::Taproot => {
            bech32::segwit::encode(bech32::hrp::BC, bech32::segwit::VERSION_1, payload).unwrap()
        }
        Kind::Tron => bs58::encode([&[0x41u8][..], h20].concat())
            .with_check()
            .into_string(),
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Evm),
        Just(Kind::P2pkh),
        Just(Kind::P2sh),
        Just(Kind::Wpkh),
        Just(Kind::Wsh),
        Just(Kind::Taproot),
        Just(Kind::Tron),
    ]
}

/// Ways a user may type an address that must all be caught.
fn typed_variants(kind: &Kind, listed: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match kind {
        Kind::Evm => {
            let body = &listed[2..];
            for chain in EVM_CHAINS {
                for typed in [
                    listed.to_string(),
                    format!("0x{}", body.to_lowercase()),
                    format!("0x{}", body.to_uppercase()),
                    format!("0X{}", body.to_lowercase()),
                    format!("  {listed}\t"),
                ] {
                    out.push((chain.to_string(), typed));
                }
            }
        }
        Kind::Wpkh | Kind::Wsh | Kind::Taproot => {
            out.push(("bitcoin".into(), listed.to_string()));
            out.push(("bitcoin".into(), listed.to_uppercase()));
        }
        Kind::P2pkh | Kind::P2sh => out.push(("bitcoin".into(), listed.to_string())),
        Kind::Tron => {
            out.push(("tron".into(), listed.to_string()));
            let raw = bs58::decode(listed).with_check(None).into_vec().unwrap();
            out.push(("tron".into(), hex::encode(&raw)));
            out.push(("tron".into(), hex::encode_upper(&raw)));
        }
    }
    out
}

/// A designated set of 2,000 generated addresses of every kind, and the
/// full bundled chain over it.
struct Designated {
    listed: Vec<(Kind, String)>,
    gate: Gate,
}

fn designated() -> &'static Designated {
    static CELL: OnceLock<Designated> = OnceLock::new();
    CELL.get_or_init(|| {
        let kinds = [
            Kind::Evm,
            Kind::P2pkh,
            Kind::P2sh,
            Kind::Wpkh,
            Kind::Wsh,
            Kind::Taproot,
            Kind::Tron,
        ];
        let mut listed = Vec::new();
        let mut text = String::new();
        for i in 0..2_000u32 {
            let payload: [u8; 32] =
                sha3::Keccak256::digest_bytes(format!("designated-{i}").as_bytes());
            let kind = kinds[i as usize % kinds.len()].clone();
            let addr = encode(&kind, &payload);
            text.push_str(&format!("{addr} # entity {i}\n"));
            listed.push((kind, addr));
        }
        let (set, skipped) =
            DesignatedSet::from_plain_text("generated", Some("1"), "test", &text, DEFAULT_FP_RATE)
                .unwrap();
        assert!(skipped.is_empty());
        let gate = gate(
            vec![sanctions("{}"), velocity("{}")],
            Screener::new(vec![set]),
        );
        Designated { listed, gate }
    })
}

trait DigestBytes {
    fn digest_bytes(data: &[u8]) -> [u8; 32];
}
impl DigestBytes for sha3::Keccak256 {
    fn digest_bytes(data: &[u8]) -> [u8; 32] {
        use sha3::Digest;
        sha3::Keccak256::digest(data).into()
    }
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);
fn unique() -> u64 {
    UNIQUE.fetch_add(1, Ordering::Relaxed)
}

fn base(id: String, chain: &str, destination: &str) -> Withdrawal {
    let mut w = withdrawal(&id, &format!("acct-{id}"), chain, destination, 1, T0);
    // Everything that could make velocity hold on its own, so only
    // screening decides between allow and deny.
    w.destination_first_used_at = None;
    w
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A designated address in any case or format variant, on any chain of
    /// its family, is never allowed: it is denied.
    #[test]
    fn a_designated_address_is_never_allowed(index in 0usize..2_000, pick in any::<prop::sample::Index>()) {
        let d = designated();
        let (kind, listed) = &d.listed[index];
        let variants = typed_variants(kind, listed);
        let (chain, typed) = pick.get(&variants);
        let decision = d.gate.evaluate(&base(format!("dn-{}", unique()), chain, typed));
        prop_assert_eq!(decision.verdict, Verdict::Deny, "{} on {}: {:?}", typed, chain, decision);
        prop_assert!(decision.hits.iter().any(|h| h.list == "generated"));
    }

    /// Random valid addresses that are not listed are never denied by screening.
    #[test]
    fn a_clean_address_is_never_denied(kind in kind(), payload in any::<[u8; 32]>(), pick in any::<prop::sample::Index>()) {
        let d = designated();
        let addr = encode(&kind, &payload);
        let variants = typed_variants(&kind, &addr);
        let (chain, typed) = pick.get(&variants);
        let decision = d.gate.evaluate(&base(format!("cl-{}", unique()), chain, typed));
        prop_assert_ne!(decision.verdict, Verdict::Deny, "{} on {}: {:?}", typed, chain, decision);
        prop_assert!(decision.hits.is_empty());
        prop_assert!(!decision.reasons.iter().any(|r| r.code.starts_with("sanctions.")), "{:?}", decision);
    }

    /// Arbitrary text as a destination never panics the gate and is never
    /// allowed unless it is a valid address.
    #[test]
    fn arbitrary_destinations_are_never_allowed_unless_valid(chain in prop::sample::select(vec!["ethereum", "bitcoin", "tron", "solana"]), text in ".{0,80}") {
        let d = designated();
        let decision = d.gate.evaluate(&base(format!("ar-{}", unique()), chain, &text));
        if riskgate::address::canonicalize(chain, &text).is_err() {
            prop_assert_ne!(decision.verdict, Verdict::Allow, "{:?}", decision);
        }
    }
}

/// A velocity gate shared by the window property; each case uses its own
/// accounts, so cases do not see each other's history.
fn velocity_gate() -> &'static Gate {
    static CELL: OnceLock<Gate> = OnceLock::new();
    CELL.get_or_init(|| {
        let config = r#"{"rules":[
            {"name":"count_1h","scope":"account","window":"1h","max_count":5},
            {"name":"sum_1h","scope":"account-asset","window":"1h","max_sum":1000},
            {"name":"sum_10m","scope":"account-asset","window":"10m","max_sum":400}
        ],"new_destination_hours":0,"credential_change_hours":0}"#;
        gate(vec![velocity(config)], Screener::default())
    })
}

fn check_windows(
    allowed: &[(u64, u64)],
    window: u64,
    max_count: usize,
    max_sum: u64,
) -> Result<(), TestCaseError> {
    match window_overshoot(allowed, window, max_count, max_sum) {
        Some(overshoot) => Err(TestCaseError::fail(overshoot)),
        None => Ok(()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// For any sequence of withdrawals, in order or not, the allowed count
    /// and sum in every window stay within the limits.
    #[test]
    fn allowed_totals_never_exceed_any_window(
        steps in prop::collection::vec((0usize..2, 1u64..450, 0u64..(3 * HOUR), any::<bool>()), 1..60)
    ) {
        let g = velocity_gate();
        let case = unique();
        let mut allowed: [Vec<(u64, u64)>; 2] = [Vec::new(), Vec::new()];
        let mut clock = T0;
        for (i, (account, amount, offset, jump_back)) in steps.into_iter().enumerate() {
            // Mostly forward in time, sometimes out of order.
            let at = if jump_back { clock.saturating_sub(offset) } else { clock += offset / 20; clock };
            let w = withdrawal(&format!("p{case}-{i}"), &format!("p{case}-acct{account}"), "ethereum", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", amount, at);
            let d = g.evaluate(&w);
            prop_assert!(!d.reasons.iter().any(|r| r.code.starts_with("gate.")), "{:?}", d);
            if d.verdict == Verdict::Allow {
                allowed[account].push((at, amount));
            }
        }
        for a in &allowed {
            check_windows(a, HOUR, 5, 1000)?;
            check_windows(a, 10 * 60_000, usize::MAX, 400)?;
        }
    }
}

/// Two gates, built alike, fed the same stream: identical decisions.
fn twin_gates() -> &'static (Gate, Gate) {
    static CELL: OnceLock<(Gate, Gate)> = OnceLock::new();
    CELL.get_or_init(|| {
        let make = || {
            gate(
                vec![sanctions("{}"), velocity("{}")],
                bundled::sample_screener(),
            )
        };
        (make(), make())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Evaluation is deterministic: the same inputs and state give the same
    /// verdicts, reasons and evidence.
    #[test]
    fn evaluation_is_deterministic(seed in any::<u64>()) {
        let (a, b) = twin_gates();
        let designated = bundled::sample_addresses();
        let case = unique();
        for g in demo::generate(400, seed, &designated) {
            let mut w = g.withdrawal;
            w.id = format!("det{case}-{}", w.id);
            w.account = format!("det{case}-{}", w.account);
            let da = a.evaluate(&w);
            let db = b.evaluate(&w);
            prop_assert_eq!(da.without_timing(), db.without_timing());
            // Replaying the same id returns the same decision.
            let again = a.evaluate(&w);
            prop_assert!(again.replayed);
            prop_assert_eq!(again.verdict, da.verdict);
        }
    }
}

/// The same chain with and without shadow policies in front of it (one of
/// them hostile), and the shadowed policy enforced alone.
fn shadow_gates() -> &'static (Gate, Gate, Gate) {
    static CELL: OnceLock<(Gate, Gate, Gate)> = OnceLock::new();
    CELL.get_or_init(|| {
        let plain = gate(vec![velocity("{}")], bundled::sample_screener());
        let shadowed = builder(Vec::new(), bundled::sample_screener())
            .policy_in(sanctions("{}"), Mode::Shadow)
            .policy_in(hostile("{}"), Mode::Shadow)
            .policy(velocity("{}"))
            .build()
            .expect("gate builds")
            .0;
        let alone = gate(vec![sanctions("{}")], bundled::sample_screener());
        (plain, shadowed, alone)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Shadow policies never change a decision, even when they deny or
    /// fault; each one's own verdict is reported in the trace.
    #[test]
    fn shadow_policies_never_change_a_decision(seed in any::<u64>(), traps in prop::collection::vec(any::<bool>(), 200)) {
        let (plain, shadowed, alone) = shadow_gates();
        let designated = bundled::sample_addresses();
        let case = unique();
        let mut trace = Vec::new();
        let mut denied_in_shadow = 0;
        for (g, trap) in demo::generate(200, seed, &designated).into_iter().zip(traps) {
            let mut w = g.withdrawal;
            // The hostile guest traps on ids starting `trap-`.
            w.id = format!("{}sh{case}-{}", if trap { "trap-" } else { "" }, w.id);
            w.account = format!("sh{case}-{}", w.account);
            let expected = plain.evaluate(&w);
            let got = shadowed.evaluate_traced(&w, &mut trace);
            prop_assert_eq!(got.without_timing(), expected.without_timing());
            if got.replayed {
                continue;
            }
            prop_assert_eq!(trace.len(), 3);
            prop_assert_eq!(trace[0].mode, Mode::Shadow);
            prop_assert_eq!(trace[0].verdict, alone.evaluate(&w).verdict);
            prop_assert_eq!(trace[1].fault, trap, "{:?}", trace[1]);
            prop_assert_eq!(trace[2].mode, Mode::Enforce);
            prop_assert!(trace[2].reasons.is_empty(), "an enforced policy's reasons are in the decision");
            denied_in_shadow += usize::from(trace[0].verdict == Verdict::Deny);
        }
        // The stream holds designated destinations, so the shadow policy
        // did deny some that the decision allowed or held.
        prop_assert!(denied_in_shadow > 0);
    }
}
