//! `riskgate policy new NAME`: a standalone policy crate to start from.
//!
//! The crate builds with nothing but this binary, rustup's stable toolchain
//! and crates.io: `riskgate policy build` makes the component, `riskgate
//! policy test` runs its fixtures on it, `cargo test` runs its unit and
//! property tests natively. Until `riskgate-guest` and `riskgate-testkit`
//! are on crates.io, its manifest patches them to the copy this binary
//! carries, written by [`super::sdk::write`].

use super::sdk;
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct NewArgs {
    /// The policy's name: 1-32 lowercase ASCII letters, digits, `_` or
    /// `-`, starting with a letter (the crate's name and the prefix of its
    /// reason codes).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Directory to create (default: ./NAME). It must not exist, or be empty.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Where to write the SDK copy the crate is patched to (default: in
    /// riskgate's cache directory; see `riskgate policy sdk`).
    #[arg(long, value_name = "DIR")]
    pub sdk_dir: Option<PathBuf>,
}

/// The template: (path in the crate, contents with `{{…}}` placeholders).
const TEMPLATE: [(&str, &str); 7] = [
    ("Cargo.toml", include_str!("../../../template/Cargo.toml")),
    ("src/lib.rs", include_str!("../../../template/src/lib.rs")),
    (
        "fixtures/{{name}}.toml",
        include_str!("../../../template/fixtures/policy.toml"),
    ),
    (
        "tests/properties.rs",
        include_str!("../../../template/tests/properties.rs"),
    ),
    ("README.md", include_str!("../../../template/README.md")),
    (".gitignore", include_str!("../../../template/.gitignore")),
    ("policy.json", include_str!("../../../template/policy.json")),
];

/// Whether `name` is a valid policy name (the gate's rule) that also makes
/// a crate name.
pub fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && name != "gate"
        && !name.ends_with('-')
}

/// `limit-usd` → `LimitUsd`.
fn type_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn render(text: &str, name: &str, sdk: &Path) -> String {
    text.replace("{{name}}", name)
        .replace("{{crate}}", &name.replace('-', "_"))
        .replace("{{Type}}", &type_name(name))
        .replace("{{patches}}", &sdk::patch_entries(sdk))
        .replace("{{sdk_version}}", sdk::VERSION)
}

pub fn run(args: &NewArgs) -> Result<()> {
    if !valid_name(&args.name) {
        bail!(
            "`{}` is not a policy name: 1-32 lowercase ASCII letters, digits, `_` or `-`, starting with a letter, not `gate`",
            args.name
        );
    }
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .with_context(|| format!("{}", dir.display()))?
            .next()
            .is_some()
    {
        bail!("{} exists and is not empty", dir.display());
    }
    let sdk_dir = match &args.sdk_dir {
        Some(dir) => dir.clone(),
        None => sdk::default_dir()?,
    };
    let sdk = sdk::write(&sdk_dir)?;
    for (path, text) in TEMPLATE {
        let target = dir.join(render(path, &args.name, &sdk));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        riskgate::storage::write_atomic(&target, render(text, &args.name, &sdk).as_bytes())
            .with_context(|| format!("writing {}", target.display()))?;
    }
    println!("created  {}", dir.display());
    println!("sdk      {}", sdk.display());
    println!();
    println!("next:    cd {}", dir.display());
    println!("         riskgate policy build     # the component, checked");
    println!("         riskgate policy test      # fixtures/*.toml on the component");
    println!("         cargo test                # unit and property tests, natively");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in [
            "limit",
            "a",
            "limit-usd",
            "l2_x",
            "abcdefghijabcdefghijabcdefghijab",
        ] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "gate",
            "Limit",
            "1limit",
            "-x",
            "x-",
            "a b",
            "abcdefghijabcdefghijabcdefghijabc",
            "é",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert_eq!(type_name("limit"), "Limit");
        assert_eq!(type_name("limit-usd_v2"), "LimitUsdV2");
    }
}
