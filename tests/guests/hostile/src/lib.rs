//! A hostile policy for the host's tests. It allows every withdrawal except
//! those whose id starts with a misbehaviour:
//!
//! - `loop-`: spins forever (fuel, or the wall-clock backstop),
//! - `grow-`: allocates until memory runs out (memory cap),
//! - `recurse-`: unbounded recursion (stack overflow),
//! - `trap-`: panics (which aborts: a trap),
//! - `panic-`: panics with the message `hostile guest panics: <rest of
//!   the id>` (the panic hook sends it through the log import first);
//!   `panic-long-`: the same followed by 4000 `z`,
//! - `calls-`: makes one host call of each kind and allows: screens the
//!   destination, screens `nochain`/`x` (an error), asks the account's
//!   one-day window, logs `hostile: calls` at info,
//! - `many-N-`: screens the destination N times, then allows,
//! - `log-`: floods the host log,
//! - `hold-`: holds normally (a policy verdict, not a fault),
//! - `burn-N-`: a fixed amount of work (N rounds of a hash), then allows:
//!   the same fuel on every call,
//! - `hit-`: screens the destination first (ignoring the answer), then
//!   does what the rest of the id asks (`hit-loop-`, `hit-trap-`...).
//!
//! A configuration of `{"fail": "message"}` is refused with that message;
//! one holding `"panic"` panics in `configure`.
//!
//! Like the SDK, it installs a panic hook that sends the panic's message
//! through the log import (`warn`, `panicked at …`) right before the trap.

use riskgate_guest::prelude::*;

struct Hostile;

impl Policy for Hostile {
    const NAME: &'static str = "hostile";
    const VERSION: &'static str = "0.0.1";

    fn configure(config: &str) -> Result<Self, String> {
        std::panic::set_hook(Box::new(|info| host::log(Level::Warn, &info.to_string())));
        if config.contains("\"panic\"") {
            panic!("hostile guest panics in configure");
        }
        if let Some(rest) = config.split("\"fail\"").nth(1) {
            let msg = rest.trim_start_matches([' ', ':', '"']);
            let msg = msg.split('"').next().unwrap_or("refused");
            return Err(msg.to_string());
        }
        Ok(Hostile)
    }

    fn evaluate(&self, w: &Withdrawal) -> Decision {
        let mut id = w.id.as_str();
        if let Some(rest) = id.strip_prefix("hit-") {
            let _ = std::hint::black_box(host::screen(&w.chain, &w.destination));
            id = rest;
        }
        if let Some(rest) = id.strip_prefix("panic-") {
            let tail = if rest.starts_with("long-") {
                "z".repeat(4000)
            } else {
                String::new()
            };
            panic!("hostile guest panics: {rest}{tail}");
        }
        if id.starts_with("calls-") {
            let _ = std::hint::black_box(host::screen(&w.chain, &w.destination));
            let _ = std::hint::black_box(host::screen("nochain", "x"));
            let _ = std::hint::black_box(host::window(Scope::Account, 86_400_000));
            host::log(Level::Info, "hostile: calls");
            return Decision::allow();
        }
        if let Some(rest) = id.strip_prefix("many-") {
            let n: u32 = rest
                .split('-')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            for _ in 0..n {
                let _ = std::hint::black_box(host::screen(&w.chain, &w.destination));
            }
            return Decision::allow();
        }
        if let Some(rest) = id.strip_prefix("burn-") {
            let rounds: u64 = rest
                .split('-')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            for i in 0..rounds {
                x = std::hint::black_box((x ^ i).rotate_left(5).wrapping_mul(0x100_0000_01b3));
            }
            return Decision::allow().with(
                Verdict::Allow,
                Reason::new("hostile.burnt", format!("{x:016x}")),
            );
        }
        if id.starts_with("loop-") {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        } else if id.starts_with("grow-") {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        } else if id.starts_with("recurse-") {
            let depth = recurse(std::hint::black_box(u64::MAX));
            Decision::hold("hostile.unreachable", format!("{depth}"))
        } else if id.starts_with("trap-") {
            panic!("hostile guest panics on purpose");
        } else if id.starts_with("log-") {
            for i in 0..100_000u32 {
                host::log(Level::Warn, &format!("flood {i} {}", "x".repeat(1000)));
            }
            Decision::allow()
        } else if id.starts_with("hold-") {
            Decision::hold("hostile.hold", "held on request")
        } else {
            Decision::allow()
        }
    }
}

#[inline(never)]
fn recurse(n: u64) -> u64 {
    let buf = std::hint::black_box([n; 32]);
    if n == 0 {
        return buf[0];
    }
    recurse(std::hint::black_box(n - 1)).wrapping_add(buf[1])
}

riskgate_guest::export_policy!(Hostile);
