//! The policy-info custom section: a component's name and version readable
//! without instantiating it.
//!
//! [`export_policy!`](crate::export_policy) emits a custom section named
//! [`SECTION`] into the core module, holding the UTF-8 JSON
//! `{"name":"<NAME>","version":"<VERSION>"}` built at compile time from
//! [`Policy::NAME`](crate::Policy::NAME) and
//! [`Policy::VERSION`](crate::Policy::VERSION). Encoding the module as a
//! component keeps it inside the component's nested core module; the host
//! reads it with `riskgate::policy_info::read_policy_info`.
//!
//! A name or version that is empty, or holds a character JSON would have to
//! escape (`"`, `\`, a control character), fails to compile.
//!
//! ```
//! use riskgate_guest::prelude::*;
//! struct P;
//! impl Policy for P {
//!     const NAME: &'static str = "p";
//!     const VERSION: &'static str = "1.0.0";
//!     fn configure(_: &str) -> Result<Self, String> { Ok(P) }
//!     fn evaluate(&self, _: &Withdrawal) -> Decision { Decision::allow() }
//! }
//! riskgate_guest::export_policy!(P);
//! ```
//!
//! ```compile_fail
//! use riskgate_guest::prelude::*;
//! struct P;
//! impl Policy for P {
//!     const NAME: &'static str = "p\"q";
//!     const VERSION: &'static str = "1.0.0";
//!     fn configure(_: &str) -> Result<Self, String> { Ok(P) }
//!     fn evaluate(&self, _: &Withdrawal) -> Decision { Decision::allow() }
//! }
//! riskgate_guest::export_policy!(P);
//! ```
//!
//! ```compile_fail
//! use riskgate_guest::prelude::*;
//! struct P;
//! impl Policy for P {
//!     const NAME: &'static str = "p";
//!     const VERSION: &'static str = "";
//!     fn configure(_: &str) -> Result<Self, String> { Ok(P) }
//!     fn evaluate(&self, _: &Withdrawal) -> Decision { Decision::allow() }
//! }
//! riskgate_guest::export_policy!(P);
//! ```

/// Name of the custom section.
pub const SECTION: &str = "riskgate-policy-info";

const HEAD: &[u8] = b"{\"name\":\"";
const MIDDLE: &[u8] = b"\",\"version\":\"";
const TAIL: &[u8] = b"\"}";

/// Length of the section's JSON for `name` and `version`. Panics (at
/// compile time, in a constant) when either is empty or needs escaping.
pub const fn json_len(name: &str, version: &str) -> usize {
    check(name, "Policy::NAME");
    check(version, "Policy::VERSION");
    HEAD.len() + name.len() + MIDDLE.len() + version.len() + TAIL.len()
}

/// The section's JSON for `name` and `version`; `N` must be
/// [`json_len`]`(name, version)`.
pub const fn json<const N: usize>(name: &str, version: &str) -> [u8; N] {
    assert!(
        N == json_len(name, version),
        "policy info: the length does not match json_len"
    );
    let mut out = [0u8; N];
    let mut at = 0;
    at = put(&mut out, at, HEAD);
    at = put(&mut out, at, name.as_bytes());
    at = put(&mut out, at, MIDDLE);
    at = put(&mut out, at, version.as_bytes());
    put(&mut out, at, TAIL);
    out
}

const fn put<const N: usize>(out: &mut [u8; N], mut at: usize, bytes: &[u8]) -> usize {
    let mut i = 0;
    while i < bytes.len() {
        out[at] = bytes[i];
        at += 1;
        i += 1;
    }
    at
}

const fn check(text: &str, what: &str) {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        // `what` cannot be formatted in a const panic: one message per field.
        if what.len() == "Policy::NAME".len() {
            panic!("policy info: Policy::NAME is empty");
        } else {
            panic!("policy info: Policy::VERSION is empty");
        }
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f {
            panic!(
                "policy info: Policy::NAME and Policy::VERSION must not hold `\"`, `\\` or control characters"
            );
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_built_at_compile_time() {
        const LEN: usize = json_len("sanctions", "0.1.0");
        const JSON: [u8; LEN] = json("sanctions", "0.1.0");
        assert_eq!(
            std::str::from_utf8(&JSON).unwrap(),
            r#"{"name":"sanctions","version":"0.1.0"}"#
        );
    }

    #[test]
    fn non_ascii_text_is_kept_as_utf8() {
        let out: [u8; json_len("é", "1")] = json("é", "1");
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"name":"é","version":"1"}"#
        );
    }

    #[test]
    #[should_panic(expected = "must not hold")]
    fn a_quote_is_refused() {
        json_len("a\"b", "1");
    }

    #[test]
    #[should_panic(expected = "Policy::VERSION is empty")]
    fn an_empty_version_is_refused() {
        json_len("a", "");
    }

    #[test]
    #[should_panic(expected = "Policy::NAME is empty")]
    fn an_empty_name_is_refused() {
        json_len("", "1");
    }
}
