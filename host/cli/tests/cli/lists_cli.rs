//! End-to-end tests of `riskgate lists` (import, stats, check, diff) and of
//! `riskgate check --list` with compiled set files, run as a child process.

use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_riskgate");

const NOW: u64 = 1_750_000_000_000;
const DAY: u64 = 24 * 3_600_000;

/// Fixture entries (host/lists/tests/fixtures/lists): EIP-55 and lowercase forms.
const NORTHWIND_ETH: &str = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
const NORTHWIND_ETH_LOWER: &str = "0x098b716b8aaf21512996dc57eb0615e2383e2f96";
/// Mixed case with a broken EIP-55 checksum: invalid.
const NORTHWIND_ETH_BAD: &str = "0x098b716B8Aaf21512996dC57EB0615e2383E2f96";
const NORTHWIND_XBT: &str = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";
const TRON_AS_XBT: &str = "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq";
const GARNET_BECH32: &str = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
const XMR_HEX: &str = "5a2f1c9e8b7d6a4f3e2d1c0b9a8f7e6d5c4b3a29180f7e6d5c4b3a2918070605";
const BAD_CHECKSUM: &str = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3";
/// An EIP-55 test vector on no fixture list.
const CLEAN_EVM: &str = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359";
/// Distinct keys of every fixture: 2 EVM, 3 bitcoin, 1 tron, and the
/// `1...` and `3...` on their sibling chains: 2 bitcoin-cash, 1 litecoin.
const FIXTURE_KEYS: usize = 9;

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }

    fn assert_no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked"),
            "riskgate panicked; stderr:\n{}",
            self.stderr
        );
        assert_ne!(self.code(), Some(101), "stderr:\n{}", self.stderr);
    }

    fn expect(self, code: i32, what: &str) -> Run {
        self.assert_no_panic();
        assert_eq!(
            self.code(),
            Some(code),
            "{what}\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// A load failure: exit 2 and exactly one stderr line, `error: ...`.
    fn expect_load_error(self, what: &str) -> Run {
        let r = self.expect(2, what);
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{what}: one-line error:\n{}", r.stderr);
        assert!(lines[0].starts_with("error: "), "{what}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{what}: stdout:\n{}", r.stdout);
        r
    }
}

fn run_with(args: &[&str], input: &[u8]) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("RISKGATE_LOG")
        // The fixtures use fixed timestamps, not the wall clock.
        .env("RISKGATE_NO_CLOCK_CHECK", "true")
        // Each run starts with empty velocity state.
        .env("RISKGATE_VELOCITY", "memory")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn riskgate");
    let mut stdin = child.stdin.take().expect("stdin");
    // The child may exit without reading its input.
    let _ = stdin.write_all(input);
    drop(stdin);
    let out = child.wait_with_output().expect("wait for riskgate");
    Run {
        status: out.status,
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(args: &[&str]) -> Run {
    run_with(args, b"")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("paths are UTF-8")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../lists/tests/fixtures/lists")
        .join(name)
}

fn write(dir: &TempDir, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, contents).expect("write temp file");
    path
}

fn canonical(text: &str) -> String {
    riskgate::address::canonicalize_any(text)
        .expect("valid address")
        .to_string()
}

/// (fixture file, format arguments) of every supported format.
fn formats() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("plain.txt", vec!["--format", "plain", "--skip-invalid"]),
        (
            "addresses.csv",
            vec![
                "--format",
                "csv",
                "--column",
                "Wallet Address",
                "--skip-invalid",
            ],
        ),
        ("sdn.csv", vec!["--format", "ofac-csv"]),
        ("sdn.xml", vec!["--format", "ofac-xml"]),
        ("sdn_advanced.xml", vec!["--format", "ofac-advanced-xml"]),
    ]
}

/// `lists import ... -o DIR/NAME.set FIXTURE`; returns the set path.
fn import(dir: &TempDir, fixture_name: &str, format: &[&str], name: &str) -> (PathBuf, Run) {
    let set = dir.path().join(format!("{name}.set"));
    let file = fixture(fixture_name);
    let mut args = vec!["lists", "import", "--name", name, "-o", s(&set)];
    args.extend_from_slice(format);
    args.push(s(&file));
    let r = run(&args).expect(0, &format!("import {fixture_name}"));
    (set, r)
}

fn withdrawal(id: &str, chain: &str, destination: &str) -> Value {
    json!({
        "id": id,
        "account": format!("acct-{id}"),
        "asset": "ETH",
        "chain": chain,
        "destination": destination,
        "amount": 250_000_000_000_000_000u64,
        "decimals": 18,
        "usd_cents": 75_000,
        "requested_at": NOW,
        "account_created_at": NOW - 400 * DAY,
        "destination_first_used_at": NOW - 30 * DAY,
    })
}

/// `riskgate check --list SPEC` over withdrawals; the decisions.
fn check_with_list(spec: &str, ws: &[Value]) -> (Vec<Value>, Run) {
    let input: String = ws.iter().map(|w| format!("{w}\n")).collect();
    let r = run_with(
        &[
            "check",
            "--no-cache",
            "--deadline-us",
            "1000000",
            "--list",
            spec,
        ],
        input.as_bytes(),
    )
    .expect(0, &format!("check --list {spec}"));
    let decisions = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("decision is JSON"))
        .collect();
    (decisions, r)
}

fn hit_lists(d: &Value) -> Vec<String> {
    d["hits"]
        .as_array()
        .map(|hs| {
            hs.iter()
                .filter_map(|h| h["list"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

// ===========================================================================
// lists import
// ===========================================================================

#[test]
fn lists_import_every_fixture_format_to_a_compiled_set() {
    let dir = TempDir::new().unwrap();
    for (file, format) in formats() {
        let name = file.replace('.', "-");
        let (set, r) = import(&dir, file, &format, &name);
        let head = std::fs::read(&set).expect("set written");
        assert!(
            riskgate::screening::is_compiled_set(&head),
            "{file}: not a compiled set"
        );
        // Every rejected entry, as FILE:LINE: skipped `TEXT`: REASON.
        let shown = fixture(file).display().to_string();
        for bad in [XMR_HEX, BAD_CHECKSUM] {
            let line = r
                .stderr
                .lines()
                .find(|l| l.contains(&format!("skipped `{bad}`: ")))
                .unwrap_or_else(|| panic!("{file}: `{bad}` not reported:\n{}", r.stderr));
            assert!(line.starts_with(&format!("{shown}:")), "{file}: {line}");
            let lineno = line[shown.len() + 1..]
                .split(':')
                .next()
                .and_then(|n| n.parse::<usize>().ok());
            assert!(lineno.is_some_and(|n| n > 0), "{file}: {line}");
        }
        let summary = r
            .stderr
            .lines()
            .find(|l| l.starts_with(&format!("list {name}: ")))
            .unwrap_or_else(|| panic!("{file}: no summary:\n{}", r.stderr));
        for part in ["accepted", "rejected", "duplicates", "version"] {
            assert!(summary.contains(part), "{file}: {summary}");
        }
        assert!(
            summary.contains(&format!("{FIXTURE_KEYS} keys")),
            "{file}: {summary}"
        );
    }
}

#[test]
fn lists_import_without_output_prints_stats() {
    let file = fixture("sdn.xml");
    let r = run(&[
        "lists",
        "import",
        "--format",
        "ofac-xml",
        "--name",
        "sdn",
        s(&file),
    ])
    .expect(0, "import without -o");
    assert!(r.stdout.contains("name: sdn"), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!("count: {FIXTURE_KEYS}")),
        "{}",
        r.stdout
    );
    // SDN.XML carries its publication date: that is the list version.
    assert!(r.stdout.contains("version: 2024-09-27"), "{}", r.stdout);
}

#[test]
fn lists_import_of_a_missing_file_exits_2() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("missing.txt");
    let out = dir.path().join("out.set");
    let r = run(&[
        "lists",
        "import",
        "--format",
        "plain",
        "--name",
        "x",
        "-o",
        s(&out),
        s(&missing),
    ])
    .expect_load_error("import of a missing file");
    assert!(r.stderr.contains("missing.txt"), "{}", r.stderr);
    assert!(!out.exists(), "no set is written");
}

#[test]
fn lists_import_refuses_bad_format_and_fp_rate() {
    let file = fixture("plain.txt");
    for extra in [
        ["--format", "yaml", "--fp-rate", "0.001"],
        ["--format", "plain", "--fp-rate", "1.5"],
        ["--format", "plain", "--fp-rate", "0"],
    ] {
        let mut args = vec!["lists", "import", "--name", "x"];
        args.extend_from_slice(&extra);
        args.push(s(&file));
        run(&args).expect_load_error(&format!("{extra:?}"));
    }
}

#[test]
fn lists_import_lists_a_legacy_address_on_every_fork_with_or_without_a_hint() {
    let dir = TempDir::new().unwrap();
    let list = write(&dir, "bch.txt", format!("{NORTHWIND_XBT} # BCH wallet\n"));
    let set = dir.path().join("bch.set");
    run(&[
        "lists",
        "import",
        "--format",
        "plain",
        "--name",
        "bch",
        "--currency",
        "BCH",
        "-o",
        s(&set),
        s(&list),
    ])
    .expect(0, "import --currency BCH");
    for chain in ["bitcoin", "bitcoin-cash"] {
        let r = run(&["lists", "check", s(&set), NORTHWIND_XBT, "--chain", chain])
            .expect(0, &format!("listed on {chain}"));
        assert!(r.stdout.contains("BCH wallet"), "{chain}: {}", r.stdout);
    }
    // Without the hint, the same keys.
    let plain_set = dir.path().join("plain.set");
    run(&[
        "lists",
        "import",
        "--format",
        "plain",
        "--name",
        "plain",
        "-o",
        s(&plain_set),
        s(&list),
    ])
    .expect(0, "import without hint");
    for chain in ["bitcoin", "bitcoin-cash", "bitcoin-sv"] {
        run(&[
            "lists",
            "check",
            s(&plain_set),
            NORTHWIND_XBT,
            "--chain",
            chain,
        ])
        .expect(0, &format!("no hint: listed on {chain}"));
    }
}

// ===========================================================================
// lists stats
// ===========================================================================

#[test]
fn lists_stats_of_compiled_set_and_plain_list() {
    let dir = TempDir::new().unwrap();
    let (set, _) = import(&dir, "sdn.csv", &["--format", "ofac-csv"], "ofac");
    let r = run(&["lists", "stats", s(&set)]).expect(0, "stats of compiled set");
    for line in [
        "name: ofac".to_string(),
        format!("source: {}", fixture("sdn.csv").display()),
        format!("count: {FIXTURE_KEYS}"),
        "duplicates: 1".to_string(),
        "fp rate: 0.0001".to_string(),
        "family evm: 2".to_string(),
        "family bitcoin: 3".to_string(),
        "family tron: 1".to_string(),
        "family litecoin: 1".to_string(),
        "family bitcoin-cash: 2".to_string(),
    ] {
        assert!(
            r.stdout.lines().any(|l| l == line),
            "missing `{line}`:\n{}",
            r.stdout
        );
    }
    assert!(r.stdout.contains("version: "), "{}", r.stdout);
    assert!(r.stdout.contains("size: "), "{}", r.stdout);

    let plain = fixture("plain.txt");
    let r = run(&["lists", "stats", s(&plain)]).expect(0, "stats of plain list");
    assert!(r.stdout.contains("name: plain"), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!("count: {FIXTURE_KEYS}")),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains(BAD_CHECKSUM), "{}", r.stderr);
}

// ===========================================================================
// lists check
// ===========================================================================

#[test]
fn lists_check_listed_clean_and_invalid() {
    let dir = TempDir::new().unwrap();
    for (file, format) in formats() {
        let name = file.replace('.', "-");
        let (set, _) = import(&dir, file, &format, &name);
        let set = s(&set);
        for typed in [NORTHWIND_ETH, NORTHWIND_ETH_LOWER] {
            let r = run(&["lists", "check", set, typed]).expect(0, &format!("{file}: {typed}"));
            assert!(
                r.stdout.contains("NORTHWIND HEIST COLLECTIVE"),
                "{file}: label:\n{}",
                r.stdout
            );
            assert!(r.stdout.contains(&name), "{file}: list name:\n{}", r.stdout);
            assert!(
                r.stdout.contains(&canonical(NORTHWIND_ETH)),
                "{file}: canonical address:\n{}",
                r.stdout
            );
        }
        // Uppercase bech32 is the same address.
        run(&[
            "lists",
            "check",
            set,
            &GARNET_BECH32.to_ascii_uppercase(),
            "--chain",
            "bitcoin",
        ])
        .expect(0, &format!("{file}: uppercase bech32"));
        // The Tron address OFAC files under XBT is a Tron address.
        run(&["lists", "check", set, TRON_AS_XBT, "--chain", "tron"])
            .expect(0, &format!("{file}: tron"));

        let r = run(&["lists", "check", set, CLEAN_EVM]).expect(1, &format!("{file}: clean"));
        assert!(r.stdout.contains("not listed"), "{file}: {}", r.stdout);

        for (address, chain) in [
            (NORTHWIND_ETH_BAD, None),
            (BAD_CHECKSUM, None),
            ("not-an-address", None),
            (TRON_AS_XBT, Some("bitcoin")),
            (NORTHWIND_ETH, Some("no-such-chain")),
        ] {
            let mut args = vec!["lists", "check", set, address];
            if let Some(chain) = chain {
                args.extend_from_slice(&["--chain", chain]);
            }
            let r = run(&args).expect_load_error(&format!("{file}: invalid {address} {chain:?}"));
            assert!(r.stderr.contains("invalid"), "{}", r.stderr);
        }
    }
}

#[test]
fn lists_check_of_a_missing_or_truncated_set_exits_2() {
    let dir = TempDir::new().unwrap();
    let (set, _) = import(
        &dir,
        "plain.txt",
        &["--format", "plain", "--skip-invalid"],
        "p",
    );
    let bytes = std::fs::read(&set).unwrap();
    let truncated = write(&dir, "truncated.set", &bytes[..bytes.len() / 2]);
    let missing = dir.path().join("missing.set");
    for path in [&truncated, &missing] {
        run(&["lists", "check", s(path), NORTHWIND_ETH])
            .expect_load_error(&format!("check {}", path.display()));
        run(&["lists", "stats", s(path)]).expect_load_error(&format!("stats {}", path.display()));
    }
}

// ===========================================================================
// lists diff
// ===========================================================================

#[test]
fn lists_diff_between_plain_lists() {
    let dir = TempDir::new().unwrap();
    let old = write(
        &dir,
        "old.txt",
        format!("{NORTHWIND_ETH}\n{NORTHWIND_XBT}\n{TRON_AS_XBT} # delisted\n"),
    );
    // Same EVM address in another case: not a change.
    let new = write(
        &dir,
        "new.txt",
        format!("{NORTHWIND_ETH_LOWER}\n{NORTHWIND_XBT}\n{GARNET_BECH32} # new\n{CLEAN_EVM}\n"),
    );
    let r = run(&["lists", "diff", s(&old), s(&new)]).expect(0, "diff");
    let mut added: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("+ "))
        .collect();
    let removed: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("- "))
        .collect();
    added.sort_unstable();
    let mut want_added = vec![canonical(GARNET_BECH32), canonical(CLEAN_EVM)];
    want_added.sort();
    assert_eq!(added, want_added, "stdout:\n{}", r.stdout);
    assert_eq!(
        removed,
        vec![canonical(TRON_AS_XBT)],
        "stdout:\n{}",
        r.stdout
    );
    assert_eq!(r.stdout.lines().count(), 3, "stdout:\n{}", r.stdout);
    assert!(r.stderr.contains("2 added, 1 removed"), "{}", r.stderr);

    // Identical lists: nothing printed.
    let r = run(&["lists", "diff", s(&old), s(&old)]).expect(0, "diff of a list with itself");
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn lists_diff_between_compiled_set_and_plain_list() {
    let dir = TempDir::new().unwrap();
    let (set, _) = import(&dir, "sdn.xml", &["--format", "ofac-xml"], "sdn");
    let newer = write(&dir, "newer.txt", format!("{NORTHWIND_ETH}\n"));
    let r = run(&["lists", "diff", s(&set), s(&newer)]).expect(0, "diff set -> plain");
    assert!(
        r.stdout.lines().all(|l| l.starts_with("- ")),
        "{}",
        r.stdout
    );
    assert_eq!(r.stdout.lines().count(), FIXTURE_KEYS - 1, "{}", r.stdout);
    let missing = dir.path().join("missing.txt");
    run(&["lists", "diff", s(&set), s(&missing)]).expect_load_error("diff with a missing file");
}

// ===========================================================================
// check --list with compiled sets
// ===========================================================================

#[test]
fn check_list_compiled_set_denies_with_the_list_name() {
    let dir = TempDir::new().unwrap();
    let (set, _) = import(
        &dir,
        "sdn_advanced.xml",
        &["--format", "ofac-advanced-xml"],
        "ofac-adv",
    );
    let ws = [
        withdrawal("listed-bsc", "bsc", NORTHWIND_ETH_LOWER),
        withdrawal("listed-btc", "bitcoin", NORTHWIND_XBT),
        withdrawal("clean", "ethereum", CLEAN_EVM),
    ];
    for (spec, list) in [
        (format!("ofac-adv={}", set.display()), "ofac-adv"),
        (format!("renamed={}", set.display()), "renamed"),
        (set.display().to_string(), "ofac-adv"),
    ] {
        let (out, r) = check_with_list(&spec, &ws);
        assert_eq!(out.len(), 3, "{spec}: stderr:\n{}", r.stderr);
        for d in &out[..2] {
            assert_eq!(d["verdict"], "deny", "{spec}: {d}");
            assert_eq!(hit_lists(d), [list], "{spec}: {d}");
        }
        assert_eq!(
            out[0]["hits"][0]["label"], "NORTHWIND HEIST COLLECTIVE",
            "{spec}: {}",
            out[0]
        );
        assert_eq!(out[2]["verdict"], "allow", "{spec}: {}", out[2]);
        assert!(hit_lists(&out[2]).is_empty(), "{spec}: {}", out[2]);
    }
}

#[test]
fn check_list_plain_and_compiled_together() {
    let dir = TempDir::new().unwrap();
    let (set, _) = import(&dir, "sdn.csv", &["--format", "ofac-csv"], "ofac");
    let plain = write(&dir, "watch.txt", format!("{NORTHWIND_ETH} # watch\n"));
    let input = format!("{}\n", withdrawal("both", "ethereum", NORTHWIND_ETH));
    let r = run_with(
        &[
            "check",
            "--no-cache",
            "--deadline-us",
            "1000000",
            "--list",
            &format!("ofac={}", set.display()),
            "--list",
            &format!("watch={}", plain.display()),
        ],
        input.as_bytes(),
    )
    .expect(0, "two lists");
    let d: Value = serde_json::from_str(r.stdout.trim()).expect("JSON");
    assert_eq!(d["verdict"], "deny", "{d}");
    assert_eq!(hit_lists(&d), ["ofac", "watch"], "{d}");
}

#[test]
fn check_list_truncated_compiled_set_exits_2_with_one_line() {
    let dir = TempDir::new().unwrap();
    let (set, _) = import(
        &dir,
        "plain.txt",
        &["--format", "plain", "--skip-invalid"],
        "p",
    );
    let bytes = std::fs::read(&set).unwrap();
    for (name, len) in [
        ("half.set", bytes.len() / 2),
        ("short.set", bytes.len() - 1),
        ("magic-only.set", 4),
    ] {
        let truncated = write(&dir, name, &bytes[..len]);
        let spec = format!("p={}", truncated.display());
        let input = format!("{}\n", withdrawal("x", "ethereum", NORTHWIND_ETH));
        let r = run_with(&["check", "--no-cache", "--list", &spec], input.as_bytes())
            .expect_load_error(&format!("check --list {spec}"));
        assert!(r.stderr.contains(name), "{}", r.stderr);
    }
}

// ===========================================================================
// lists import fails closed
// ===========================================================================

/// `lists import --name x ARGS...`.
fn import_args(args: &[&str]) -> Run {
    let mut all = vec!["lists", "import", "--name", "x"];
    all.extend_from_slice(args);
    run(&all)
}

#[test]
fn lists_import_of_the_wrong_format_exits_2_naming_the_right_one() {
    let dir = TempDir::new().unwrap();
    let json = write(
        &dir,
        "list.json",
        r#"{"addresses": ["0x098B716B8Aaf21512996dC57EB0615e2383E2f96"]}"#,
    );
    let other_xml = write(
        &dir,
        "other.xml",
        "<?xml version=\"1.0\"?><Head><a/></Head>",
    );
    let sdn_xml = fixture("sdn.xml");
    let sdn_csv = fixture("sdn.csv");
    for (format, file, says) in [
        (
            "ofac-csv",
            s(&sdn_xml),
            vec!["looks like OFAC SDN.XML", "--format ofac-xml"],
        ),
        (
            "plain",
            s(&sdn_csv),
            vec!["looks like OFAC sdn.csv", "--format ofac-csv"],
        ),
        ("plain", s(&json), vec!["looks like JSON"]),
        (
            "ofac-xml",
            s(&other_xml),
            vec!["<Head>", "ofac-advanced-xml"],
        ),
        ("ofac-advanced-xml", s(&sdn_xml), vec!["--format ofac-xml"]),
    ] {
        let r = import_args(&["--format", format, file])
            .expect_load_error(&format!("{format} on {file}"));
        for part in says {
            assert!(r.stderr.contains(part), "{format} on {file}: {}", r.stderr);
        }
    }
}

#[test]
fn lists_import_of_empty_or_invalid_lists_exits_2() {
    let dir = TempDir::new().unwrap();
    let empty = write(&dir, "empty.txt", "");
    let comments_only = write(&dir, "c.txt", "# nothing here\n\n");
    for file in [&empty, &comments_only] {
        let r = import_args(&["--format", "plain", s(file)]).expect_load_error("empty list");
        assert!(r.stderr.contains("empty"), "{}", r.stderr);
    }
    // A line that is not an address: an error naming file and line, unless skipped.
    let plain = fixture("plain.txt");
    let r = import_args(&["--format", "plain", s(&plain)]).expect_load_error("invalid line");
    assert!(r.stderr.contains("plain.txt:line 12"), "{}", r.stderr);
    assert!(r.stderr.contains("--skip-invalid"), "{}", r.stderr);
    let r = import_args(&["--format", "plain", "--skip-invalid", s(&plain)]).expect(0, "skipped");
    assert!(
        r.stderr.contains("2 rejected (listed above)"),
        "{}",
        r.stderr
    );
    // No address at all in an OFAC file.
    let sdn = write(
        &dir,
        "sdn.csv",
        "1,\"A\",-0- ,\"X\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB 1970.\"\r\n\u{1a}",
    );
    let r = import_args(&["--format", "ofac-csv", s(&sdn)]).expect_load_error("no address");
    assert!(r.stderr.contains("no address found"), "{}", r.stderr);
}

/// (sdn.csv, sdn_comments.csv, addresses): one entity with 40 addresses,
/// its remarks cut at 1000 characters as OFAC does.
fn ofac_pair() -> (String, String, Vec<String>) {
    let addresses: Vec<String> = (0..40u8)
        .map(|i| {
            format!(
                "0x{}",
                hex::encode([i.wrapping_mul(37).wrapping_add(1); 20])
            )
        })
        .collect();
    let items: Vec<String> = addresses
        .iter()
        .map(|a| format!("alt. Digital Currency Address - ETH {a}"))
        .collect();
    let remarks = format!("{}; Linked To: LAZARUS GROUP.", items.join("; "));
    let (head, tail) = remarks.split_at(1000);
    let sdn = format!(
        "1,\"LAZARUS TEST\",-0- ,\"CYBER2\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"{head}\"\r\n\u{1a}"
    );
    let comments = format!("1,\"{tail}\"\r\n\u{1a}");
    (sdn, comments, addresses)
}

#[test]
fn lists_import_ofac_csv_takes_sdn_comments_and_fails_without() {
    let dir = TempDir::new().unwrap();
    let (sdn, comments, addresses) = ofac_pair();
    let sdn = write(&dir, "sdn.csv", sdn);
    let comments = write(&dir, "sdn_comments.csv", comments);
    let set = dir.path().join("ofac.set");
    run(&[
        "lists",
        "import",
        "--name",
        "ofac",
        "-o",
        s(&set),
        "--format",
        "ofac-csv",
        s(&sdn),
        s(&comments),
    ])
    .expect(0, "sdn.csv with comments");
    for a in &addresses {
        run(&["lists", "check", s(&set), a]).expect(0, &format!("{a} listed"));
    }
    let r = import_args(&["--format", "ofac-csv", s(&sdn)]).expect_load_error("sdn.csv alone");
    assert!(r.stderr.contains("1 entity"), "{}", r.stderr);
    assert!(r.stderr.contains("sdn_comments.csv"), "{}", r.stderr);
    // Detected without --format, from a directory holding both.
    let r = import_args(&[dir.path().to_str().unwrap()]);
    // The directory also holds ofac.set now: it is left out.
    let r = r.expect(0, "directory");
    assert!(r.stderr.contains("as ofac-csv"), "{}", r.stderr);
    assert!(r.stdout.contains("count: 40"), "{}", r.stdout);
}

#[test]
fn lists_import_reads_compressed_files() {
    use std::io::Write as _;
    let dir = TempDir::new().unwrap();
    let xml = std::fs::read(fixture("sdn.xml")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&xml).unwrap();
    let gz = write(&dir, "sdn.xml.gz", gz.finish().unwrap());
    for args in [vec!["--format", "ofac-xml", s(&gz)], vec![s(&gz)]] {
        let r = import_args(&args).expect(0, "gzip");
        assert!(
            r.stdout.contains(&format!("count: {FIXTURE_KEYS}")),
            "{}",
            r.stdout
        );
    }
    // Past the cap: refused, not cut.
    let r = import_args(&["--max-decompressed", "1000", s(&gz)]).expect_load_error("bomb");
    assert!(r.stderr.contains("decompression bomb"), "{}", r.stderr);
}

#[test]
fn check_refuses_an_empty_set_unless_allowed() {
    let dir = TempDir::new().unwrap();
    let empty = write(&dir, "empty.txt", "# no address\n");
    let spec = format!("empty={}", s(&empty));
    let w = withdrawal("w1", "ethereum", CLEAN_EVM);
    let r = run_with(
        &["check", "--no-cache", "--list", &spec],
        format!("{w}\n").as_bytes(),
    )
    .expect_load_error("empty set");
    assert!(r.stderr.contains("is empty"), "{}", r.stderr);
    assert!(r.stderr.contains("--allow-empty-list"), "{}", r.stderr);
    // A list in which no address is found: refused the same way.
    let prose = write(
        &dir,
        "prose.txt",
        "These are not addresses.\nNor is this.\n",
    );
    let spec = format!("prose={}", s(&prose));
    let r = run_with(&["check", "--no-cache", "--list", &spec], b"");
    r.assert_no_panic();
    assert_eq!(r.code(), Some(2), "{}", r.stderr);
    // sdn.csv is no longer read as a plain list with every line skipped: its
    // format is detected and its addresses imported.
    let spec = format!("ofac={}", s(&fixture("sdn.csv")));
    let r = run_with(&["check", "--no-cache", "--list", &spec], b"");
    assert_eq!(r.code(), Some(0), "{}", r.stderr);
    let r = run_with(
        &[
            "check",
            "--no-cache",
            "--deadline-us",
            "1000000",
            "--allow-empty-list",
            "--list",
            &format!("empty={}", s(&empty)),
        ],
        format!("{w}\n").as_bytes(),
    )
    .expect(0, "allowed");
    assert!(r.stdout.contains("\"w1\""), "{}", r.stdout);
}
