//! The gate's configuration: a TOML file for `riskgate serve --config`, or
//! the same structure built from command-line flags (`check`, and `serve`
//! without a config). [`Config::build`] turns it into a [`Gate`]; a reload
//! builds a new one from the file read anew.
//!
//! Relative paths in a file are resolved against the file's directory.
//! Every policy is admitted by the gate (`riskgate::admission`) before it
//! is compiled: a `sha256` pin that does not match refuses the policy, and
//! with `require_signature` a policy file is compiled only after its
//! signature (`FILE.sig` unless `signature` says otherwise) verified
//! against a trusted key, and kept only when the name and version it
//! reports are the ones signed. Bundled policies are part of the binary
//! and need no signature.
//!
//! `[[reviewer]]` names the people who approve or reject holds over HTTP,
//! each with a token file; `[review]` says how many distinct approvals a
//! hold needs (by reason-code prefix) and when a pending hold expires. Both
//! apply again at every reload.

use riskgate::admission::{Admission, SignatureFrom};
use riskgate::engine::Limits;
use riskgate::gate::{Gate, GateError, Mode};
use riskgate::lists::{self, ImportError};
use riskgate::policy::PolicySource;
use riskgate::screening::{DesignatedSet, Screener};
use riskgate::signing;
use riskgate::velocity::Velocity;
use riskgate::{bundled, cache};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where `serve` listens: `ADDR:PORT`, or `unix:PATH` for a Unix
    /// domain socket (a relative path from the file's directory).
    #[serde(default = "default_listen")]
    pub listen: ListenAddr,
    /// The permission bits of a `unix:` listen address's socket file
    /// (`0o660`: owner and group may connect); none: what the process's
    /// umask gives. Connecting needs write permission on the file.
    #[serde(default)]
    pub socket_mode: Option<u32>,
    #[serde(default)]
    pub admin: AdminConfig,
    /// The reviewers of holds (none: holds are not approved or rejected
    /// over HTTP).
    #[serde(default, rename = "reviewer")]
    pub reviewers: Vec<ReviewerConfig>,
    /// How holds are reviewed.
    #[serde(default)]
    pub review: ReviewConfig,
    /// Refuse every policy file without a valid signature by a trusted key.
    #[serde(default)]
    pub require_signature: bool,
    /// Public key files (`riskgate policy keygen`) whose signatures count.
    #[serde(default)]
    pub trusted_keys: Vec<PathBuf>,
    /// The policy chain, in order (none: the bundled policies).
    #[serde(default, rename = "policy")]
    pub policies: Vec<PolicyConfig>,
    /// The designated sets (none: the bundled sample list).
    #[serde(default, rename = "list")]
    pub lists: Vec<ListConfig>,
    /// Start even when a designated set is empty (by default an empty set
    /// refuses the start: it would let every address through).
    #[serde(default)]
    pub allow_empty_list: bool,
    /// Serve the valid lines of every plain or CSV list that has lines that
    /// are not addresses (each reported); by default such a list refuses the
    /// start.
    #[serde(default)]
    pub skip_invalid: bool,
    /// Velocity state: a directory, `redis://…` or `memory` (as
    /// `--velocity`; none: the default durable store).
    #[serde(default)]
    pub velocity: Option<String>,
    #[serde(default)]
    pub decision_log: Option<DecisionLogConfig>,
    #[serde(default)]
    pub limits: LimitsConfig,
    /// The HTTP edge: timeouts, connection and request-head limits.
    #[serde(default)]
    pub server: ServerConfig,
    /// AOT cache directory (none: the default one).
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Compile every policy afresh.
    #[serde(default)]
    pub no_cache: bool,
    /// Directory relative paths are resolved against.
    #[serde(skip)]
    pub base: PathBuf,
}

fn default_listen() -> ListenAddr {
    DEFAULT_LISTEN
        .parse()
        .expect("the default listen address parses")
}

/// Where `serve` listens: a TCP address, or a Unix domain socket for a
/// client on the same machine (a sidecar: no TCP stack between the two,
/// and the socket file's permissions say who may connect).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum ListenAddr {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// What [`Config::restart_required`] can name, in its order (the
/// `restart_required` enum of `docs/openapi.json`): the listen address
/// (with the socket mode), the velocity store, the decision log, the admin
/// token and `[server]`.
pub const RESTART_REQUIRED: [&str; 5] = ["listen", "velocity", "decision_log", "admin", "server"];

/// The prefix of a Unix domain socket's path in a listen address.
pub const UNIX_PREFIX: &str = "unix:";

impl std::str::FromStr for ListenAddr {
    type Err = String;

    /// `ADDR:PORT`, or `unix:PATH`.
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(path) = s.strip_prefix(UNIX_PREFIX) {
            if path.is_empty() {
                return Err(format!("`{s}`: no socket path after `{UNIX_PREFIX}`"));
            }
            return Ok(ListenAddr::Unix(PathBuf::from(path)));
        }
        s.parse()
            .map(ListenAddr::Tcp)
            .map_err(|e| format!("`{s}` is neither ADDR:PORT nor {UNIX_PREFIX}PATH ({e})"))
    }
}

impl TryFrom<String> for ListenAddr {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl std::fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListenAddr::Tcp(a) => write!(f, "{a}"),
            ListenAddr::Unix(p) => write!(f, "{UNIX_PREFIX}{}", p.display()),
        }
    }
}

/// `[admin]`: the bearer token of the admin endpoints (none: they are off).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    pub token: Option<String>,
    /// A file holding the token (first line).
    pub token_file: Option<PathBuf>,
}

/// `[[reviewer]]`: a person who approves or rejects holds
/// (`POST /v1/holds/{id}/approve`, `/reject`, the `/review` page).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReviewerConfig {
    /// Recorded with each action (`riskgate::review::check_reviewer`:
    /// letters, digits, `.`, `_`, `-`, `@`).
    pub name: String,
    /// A file holding the reviewer's bearer token (its content, trimmed).
    pub token_file: PathBuf,
}

/// `[review]`: how holds are reviewed ([`riskgate::ReviewPolicy`]).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReviewConfig {
    /// Distinct approvals a hold needs when one of its reason codes starts
    /// with the prefix (`{ "screening." = 2 }`: four eyes); the largest
    /// that applies wins, 1 when none does.
    #[serde(default)]
    pub approvals_required: BTreeMap<String, u32>,
    /// A hold still pending this long after its requested-at expires (none:
    /// holds never expire).
    pub expire_after_ms: Option<u64>,
}

impl ReviewConfig {
    /// Most approvals a prefix may require.
    pub const MAX_APPROVALS: u32 = 16;
    /// Longest expiry: a year.
    pub const MAX_EXPIRE_AFTER_MS: u64 = 365 * 86_400_000;

    fn check(&self) -> Result<(), ConfigError> {
        for (prefix, &n) in &self.approvals_required {
            let ok = prefix.len() <= 64
                && prefix
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
            if !ok {
                return Err(fail(
                    "review",
                    format!(
                        "approvals_required: prefix {prefix:?} cannot start a reason code \
                         (at most 64 of a-z, 0-9, `.`, `_`, `-`)"
                    ),
                ));
            }
            if !(1..=Self::MAX_APPROVALS).contains(&n) {
                return Err(fail(
                    "review",
                    format!(
                        "approvals_required: {prefix:?} = {n}: a count is 1 to {}",
                        Self::MAX_APPROVALS
                    ),
                ));
            }
        }
        if let Some(ms) = self.expire_after_ms
            && !(1..=Self::MAX_EXPIRE_AFTER_MS).contains(&ms)
        {
            return Err(fail(
                "review",
                format!(
                    "`expire_after_ms` is 1 to {} ms (a year)",
                    Self::MAX_EXPIRE_AFTER_MS
                ),
            ));
        }
        Ok(())
    }

    /// The policy handed to the gate.
    pub fn policy(&self) -> riskgate::ReviewPolicy {
        riskgate::ReviewPolicy {
            approvals_required: self
                .approvals_required
                .iter()
                .map(|(prefix, &n)| (prefix.clone(), n))
                .collect(),
            expire_after: self.expire_after_ms.map(Duration::from_millis),
        }
    }
}

/// A configured reviewer: the name, and the sha256 of the token (the token
/// itself is not kept).
#[derive(Clone, PartialEq, Eq)]
pub struct Reviewer {
    pub name: String,
    digest: [u8; 32],
}

impl std::fmt::Debug for Reviewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reviewer")
            .field("name", &self.name)
            .finish()
    }
}

/// The reviewers of a generation, looked up by token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reviewers(Vec<Reviewer>);

impl Reviewers {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|r| r.name.as_str())
    }

    /// The reviewer whose token is `token`. Every reviewer's digest is
    /// compared in full, whichever matches: the time taken says nothing of
    /// the tokens.
    pub fn who(&self, token: &str) -> Option<&str> {
        let digest = token_digest(token);
        let mut found = None;
        for r in &self.0 {
            let diff = r
                .digest
                .iter()
                .zip(&digest)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if diff == 0 {
                found = Some(r.name.as_str());
            }
        }
        found
    }
}

/// sha256 of a token, what reviewers are compared by.
pub fn token_digest(token: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes()).into()
}

/// `[[policy]]`: one policy of the chain.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// A component file.
    pub path: Option<PathBuf>,
    /// Or a bundled policy: `sanctions` or `velocity`.
    pub bundled: Option<String>,
    /// Hex sha256 the component must have.
    pub sha256: Option<String>,
    /// The policy's configuration, inline (handed to it as JSON).
    pub config: Option<toml::Table>,
    /// Or a JSON file holding it.
    pub config_file: Option<PathBuf>,
    #[serde(default)]
    pub mode: Mode,
    /// The signature file (default: the component path + `.sig`).
    pub signature: Option<PathBuf>,
    /// Fuel of one call of this policy (default: `[limits] fuel`).
    pub fuel: Option<u64>,
}

/// `[[list]]`: one designated set.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ListConfig {
    /// Name it is served under (required for a plain list).
    pub name: Option<String>,
    /// A list file in any format `riskgate lists import` reads (detected
    /// from its content, compressed or not; imported as that command
    /// does, failing closed) or a compiled set file.
    pub path: Option<PathBuf>,
    /// Or the bundled list: `sample`.
    pub bundled: Option<String>,
    /// Accept this list when it is empty (as `allow_empty_list`).
    #[serde(default)]
    pub allow_empty: bool,
    /// Serve the valid lines of a plain or CSV list that has lines that are
    /// not addresses (each reported); without it such a list refuses the
    /// start (as `skip_invalid`).
    #[serde(default)]
    pub skip_invalid: bool,
}

/// `[decision_log]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DecisionLogConfig {
    pub dir: PathBuf,
    /// A decision is returned only once its record is synced to disk.
    #[serde(default)]
    pub durable: bool,
    /// Rotate at this size, in bytes.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Rotated files kept (0: all).
    #[serde(default)]
    pub keep: usize,
}

fn default_max_bytes() -> u64 {
    crate::decision_log::DEFAULT_MAX_BYTES
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Wall-clock backstop of one policy call, in microseconds (fuel is
    /// the budget; this only catches what fuel cannot).
    #[serde(default = "default_deadline_us")]
    pub deadline_us: u64,
    /// Fuel of one policy call, for each `[[policy]]` without its own.
    #[serde(default = "default_fuel")]
    pub fuel: u64,
    /// Memory cap of one policy instance, in MiB.
    #[serde(default = "default_memory_mib")]
    pub memory_mib: usize,
    /// Largest distance between requested_at and this host's clock, in ms
    /// (0: no check, for replays of recorded streams).
    #[serde(default = "default_skew_ms")]
    pub max_clock_skew_ms: u64,
    /// Most withdrawals whose policies run at once (default: the number of
    /// cores), so that a policy's wall-clock deadline measures its own
    /// work, not its wait for a core. Raise it for a Redis velocity store,
    /// whose round trips inside policy calls leave the core idle.
    #[serde(default)]
    pub parallel_calls: Option<usize>,
}

fn default_deadline_us() -> u64 {
    riskgate::engine::DEFAULT_DEADLINE.as_micros() as u64
}
fn default_fuel() -> u64 {
    riskgate::engine::DEFAULT_FUEL
}
fn default_memory_mib() -> usize {
    riskgate::engine::DEFAULT_MEMORY_LIMIT >> 20
}
fn default_skew_ms() -> u64 {
    riskgate::gate::DEFAULT_MAX_CLOCK_SKEW.as_millis() as u64
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            deadline_us: default_deadline_us(),
            fuel: default_fuel(),
            memory_mib: default_memory_mib(),
            max_clock_skew_ms: default_skew_ms(),
            parallel_calls: None,
        }
    }
}

/// `[server]`: how `serve` holds its connections (needs a restart to
/// change). Every timeout is in ms and at least 1.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// From when a connection starts waiting for a request's head (its
    /// first byte after accept or after the previous response) until the
    /// head is complete; a client trickling its head is cut off.
    pub header_read_timeout_ms: u64,
    /// Reading a request's body, once its head is in: 408 after this.
    pub body_read_timeout_ms: u64,
    /// A keep-alive connection with no request for this long is closed.
    pub idle_timeout_ms: u64,
    /// Connections held at once; beyond it, new connections wait in the
    /// listen backlog until one closes (they are not accepted).
    pub max_connections: usize,
    /// On SIGTERM: requests in flight get at most this long to finish,
    /// then the process exits.
    pub shutdown_grace_ms: u64,
    /// Longest request target (path and query): 414 beyond it.
    pub max_uri_bytes: usize,
    /// Largest request head (request line and headers): 431 beyond it.
    pub max_header_bytes: usize,
}

impl ServerConfig {
    /// Largest `max_uri_bytes`: below hyper's own limit, which answers a
    /// bare 414.
    pub const URI_CAP: usize = 32 << 10;
    /// Largest `max_header_bytes`: below hyper's read buffer, beyond which
    /// it answers a bare 431.
    pub const HEADER_CAP: usize = 256 << 10;
    /// Most header fields in a request; hyper answers a bare 431 beyond.
    pub const MAX_HEADERS: usize = 100;

    fn check(&self) -> Result<(), ConfigError> {
        for (name, v) in [
            ("header_read_timeout_ms", self.header_read_timeout_ms),
            ("body_read_timeout_ms", self.body_read_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("shutdown_grace_ms", self.shutdown_grace_ms),
        ] {
            if v == 0 || v > 86_400_000 {
                return Err(fail("server", format!("`{name}` is 1 to 86400000 ms")));
            }
        }
        if self.max_connections == 0 || self.max_connections > 1 << 20 {
            return Err(fail("server", "`max_connections` is 1 to 1048576"));
        }
        if !(256..=Self::URI_CAP).contains(&self.max_uri_bytes) {
            return Err(fail(
                "server",
                format!("`max_uri_bytes` is 256 to {}", Self::URI_CAP),
            ));
        }
        if !(1024..=Self::HEADER_CAP).contains(&self.max_header_bytes) {
            return Err(fail(
                "server",
                format!("`max_header_bytes` is 1024 to {}", Self::HEADER_CAP),
            ));
        }
        Ok(())
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }
    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_millis(self.body_read_timeout_ms)
    }
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            idle_timeout_ms: 60_000,
            max_connections: 1024,
            shutdown_grace_ms: 10_000,
            max_uri_bytes: 8 << 10,
            max_header_bytes: 32 << 10,
        }
    }
}

impl Default for Config {
    /// The bundled policies and sample list, on the default address.
    fn default() -> Self {
        Config {
            listen: default_listen(),
            socket_mode: None,
            admin: AdminConfig::default(),
            reviewers: Vec::new(),
            review: ReviewConfig::default(),
            require_signature: false,
            trusted_keys: Vec::new(),
            policies: Vec::new(),
            lists: Vec::new(),
            allow_empty_list: false,
            skip_invalid: false,
            velocity: None,
            decision_log: None,
            limits: LimitsConfig::default(),
            server: ServerConfig::default(),
            cache_dir: None,
            no_cache: false,
            base: PathBuf::new(),
        }
    }
}

/// Why a configuration cannot be used. `what` names the file or the part.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {message}")]
pub struct ConfigError {
    pub what: String,
    pub message: String,
}

fn fail(what: impl Into<String>, message: impl std::fmt::Display) -> ConfigError {
    ConfigError {
        what: what.into(),
        message: message.to_string(),
    }
}

/// A `sha256` pin as bytes (its form is checked at parse).
fn pin(hex_text: &str) -> Result<[u8; 32], ConfigError> {
    hex::decode(hex_text)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            fail(
                "config",
                format!("sha256 pin `{hex_text}` is not 64 hex digits"),
            )
        })
}

/// A policy as loaded: what `GET /v1/policies` and the decision log show.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolicyMeta {
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub mode: Mode,
    pub origin: String,
    /// Key id of the trusted key whose signature was verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    /// The configuration handed to the policy (JSON text): written to the
    /// decision log's generation record, not shown by `GET /v1/policies`.
    #[serde(skip)]
    pub config: String,
    /// Fuel of one call of the policy.
    #[serde(skip)]
    pub fuel: u64,
}

/// A built gate and what was noticed on the way.
pub struct Built {
    pub gate: Gate,
    pub policies: Vec<PolicyMeta>,
    /// List entries skipped, one line each.
    pub warnings: Vec<String>,
}

impl Config {
    /// Reads and checks a TOML file (a relative `unix:` listen path
    /// resolved against the file's directory, as every other path in it).
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| fail(&shown, e))?;
        let mut config = Config::parse(&text).map_err(|e| fail(&shown, e.message))?;
        config.base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        if let ListenAddr::Unix(socket) = &config.listen {
            config.listen = ListenAddr::Unix(config.resolve(socket));
        }
        Ok(config)
    }

    /// Parses TOML text (relative paths stay relative to the working
    /// directory).
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| fail("config", e))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if let Some(mode) = self.socket_mode
            && mode > 0o777
        {
            return Err(fail(
                "socket_mode",
                format!("{mode:#o} is more than permission bits (at most 0o777)"),
            ));
        }
        for (i, p) in self.policies.iter().enumerate() {
            let what = format!("policy {}", i + 1);
            if p.path.is_some() == p.bundled.is_some() {
                return Err(fail(what, "give exactly one of `path` and `bundled`"));
            }
            if p.config.is_some() && p.config_file.is_some() {
                return Err(fail(what, "give at most one of `config` and `config_file`"));
            }
            if p.fuel == Some(0) {
                return Err(fail(what, "`fuel` must be positive"));
            }
            if let Some(pin) = &p.sha256
                && (pin.len() != 64 || hex::decode(pin).is_err())
            {
                return Err(fail(what, "`sha256` is 64 hex digits"));
            }
        }
        for (i, l) in self.lists.iter().enumerate() {
            if l.path.is_some() == l.bundled.is_some() {
                return Err(fail(
                    format!("list {}", i + 1),
                    "give exactly one of `path` and `bundled`",
                ));
            }
        }
        if self.require_signature && self.trusted_keys.is_empty() {
            return Err(fail(
                "config",
                "`require_signature` needs at least one of `trusted_keys`",
            ));
        }
        self.server.check()?;
        if self.admin.token.is_some() && self.admin.token_file.is_some() {
            return Err(fail(
                "admin",
                "give at most one of `token` and `token_file`",
            ));
        }
        for (i, r) in self.reviewers.iter().enumerate() {
            let what = format!("reviewer {}", i + 1);
            riskgate::review::check_reviewer(&r.name).map_err(|e| fail(&what, e))?;
            if self.reviewers[..i].iter().any(|o| o.name == r.name) {
                return Err(fail(what, format!("two reviewers are named `{}`", r.name)));
            }
        }
        self.review.check()?;
        Ok(())
    }

    /// The reviewers, each token read from its file (trimmed): refused when
    /// a token is empty, holds whitespace or a control character, is
    /// another reviewer's, or is the admin token `admin` (the running one;
    /// the file's own is checked too).
    pub fn reviewers(&self, admin: Option<&str>) -> Result<Reviewers, ConfigError> {
        let own_admin = self.admin_token()?;
        let mut out: Vec<Reviewer> = Vec::with_capacity(self.reviewers.len());
        for r in &self.reviewers {
            let path = self.resolve(&r.token_file);
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| fail(&shown, format!("reviewer `{}`: {e}", r.name)))?;
            let token = text.trim();
            if token.is_empty() {
                return Err(fail(
                    shown,
                    format!("reviewer `{}`: the token file is empty", r.name),
                ));
            }
            if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(fail(
                    shown,
                    format!(
                        "reviewer `{}`: a token is one word (no space, newline or control character)",
                        r.name
                    ),
                ));
            }
            if admin == Some(token) || own_admin.as_deref() == Some(token) {
                return Err(fail(
                    shown,
                    format!("reviewer `{}`: the token is the admin token", r.name),
                ));
            }
            let digest = token_digest(token);
            if let Some(other) = out.iter().find(|o| o.digest == digest) {
                return Err(fail(
                    shown,
                    format!(
                        "reviewer `{}`: the token is also reviewer `{}`'s",
                        r.name, other.name
                    ),
                ));
            }
            out.push(Reviewer {
                name: r.name.clone(),
                digest,
            });
        }
        Ok(Reviewers(out))
    }

    /// `path` resolved against the config's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() || self.base.as_os_str().is_empty() {
            path.to_path_buf()
        } else {
            self.base.join(path)
        }
    }

    /// The admin token, if admin endpoints are on.
    pub fn admin_token(&self) -> Result<Option<String>, ConfigError> {
        if let Some(t) = &self.admin.token {
            return Ok(Some(t.clone()).filter(|t| !t.is_empty()));
        }
        match &self.admin.token_file {
            None => Ok(None),
            Some(file) => {
                let path = self.resolve(file);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| fail(path.display().to_string(), e))?;
                let token = text.lines().next().unwrap_or("").trim().to_string();
                if token.is_empty() {
                    return Err(fail(path.display().to_string(), "the token file is empty"));
                }
                Ok(Some(token))
            }
        }
    }

    /// Engine limits.
    pub fn engine_limits(&self) -> Limits {
        Limits {
            deadline: Duration::from_micros(self.limits.deadline_us),
            memory: self.limits.memory_mib.saturating_mul(1 << 20),
            fuel: self.limits.fuel,
        }
    }

    fn cache(&self) -> Option<PathBuf> {
        if self.no_cache {
            None
        } else {
            match &self.cache_dir {
                Some(dir) => Some(self.resolve(dir)),
                None => cache::default_dir(),
            }
        }
    }

    /// The designated sets, with the entries skipped.
    pub fn screener(&self) -> Result<(Screener, Vec<String>), ConfigError> {
        if self.lists.is_empty() {
            return Ok((bundled::sample_screener(), Vec::new()));
        }
        let mut sets: Vec<DesignatedSet> = Vec::new();
        let mut warnings = Vec::new();
        for list in &self.lists {
            let set = match (&list.bundled, &list.path) {
                (Some(b), _) if b == bundled::SAMPLE_LIST_NAME => bundled::sample_set(),
                (Some(b), _) => {
                    return Err(fail(
                        format!("list bundled:{b}"),
                        "the only bundled list is `sample`",
                    ));
                }
                (None, Some(path)) => {
                    let path = self.resolve(path);
                    let shown = path.display().to_string();
                    let skip_invalid = self.skip_invalid || list.skip_invalid;
                    let allow_empty = self.allow_empty_list || list.allow_empty;
                    let (set, rejected) =
                        lists::open_list(&path, list.name.as_deref(), skip_invalid, allow_empty)
                            .map_err(|e| match e {
                                lists::OpenError::Import(
                                    ImportError::Empty { .. } | ImportError::NoAddresses { .. },
                                ) => fail(
                                    &shown,
                                    format!(
                                        "{e}: refusing to start on it, it would let every \
                                         address through (allow it with --allow-empty-list / \
                                         `allow_empty_list = true`)"
                                    ),
                                ),
                                e => fail(&shown, e),
                            })?;
                    warnings.extend(rejected.iter().map(|r| {
                        format!(
                            "{shown}:{}: skipped `{}`: {}",
                            r.location.line, r.text, r.reason
                        )
                    }));
                    set
                }
                (None, None) => unreachable!("checked at parse"),
            };
            if set.is_empty() && !(self.allow_empty_list || list.allow_empty) {
                let shown = match &list.path {
                    Some(path) => self.resolve(path).display().to_string(),
                    None => format!("list {}", set.name()),
                };
                return Err(fail(
                    shown,
                    format!(
                        "designated set `{}` is empty (no address): refusing to start, it would \
                         let every address through (import the list with `riskgate lists \
                         import`, or allow it with --allow-empty-list / `allow_empty_list = true`)",
                        set.name()
                    ),
                ));
            }
            if sets.iter().any(|s| s.name() == set.name()) {
                return Err(fail(
                    format!("list {}", set.name()),
                    "two lists have this name",
                ));
            }
            sets.push(set);
        }
        Ok((Screener::new(sets), warnings))
    }

    fn trusted(&self) -> Result<Vec<ed25519_dalek::VerifyingKey>, ConfigError> {
        self.trusted_keys
            .iter()
            .map(|k| {
                let path = self.resolve(k);
                signing::read_public_key(&path).map_err(|e| fail(path.display().to_string(), e))
            })
            .collect()
    }

    /// Reads, checks and loads everything into a gate over `velocity`
    /// (each policy file admitted by the gate: see [`riskgate::admission`]).
    pub fn build(&self, velocity: Arc<Velocity>) -> Result<Built, ConfigError> {
        let trusted = self.trusted()?;
        let mut builder = Gate::builder()
            .trusted_keys(trusted)
            .require_signatures(self.require_signature);
        let mut modes = Vec::new();
        let mut configs = Vec::new();
        let defaults: Vec<PolicyConfig> = if self.policies.is_empty() {
            ["sanctions", "velocity"]
                .map(|b| PolicyConfig {
                    bundled: Some(b.into()),
                    ..PolicyConfig::default()
                })
                .into()
        } else {
            Vec::new()
        };
        let policies = if self.policies.is_empty() {
            &defaults
        } else {
            &self.policies
        };
        for p in policies {
            let (origin, bytes): (String, Arc<[u8]>) = match (&p.bundled, &p.path) {
                (Some(name), _) => {
                    let origin = format!("bundled:{name}");
                    let source = bundled::policies()
                        .into_iter()
                        .find(|s| s.origin == origin)
                        .ok_or_else(|| {
                            fail(&origin, "no such bundled policy (`sanctions`, `velocity`)")
                        })?;
                    (origin, source.bytes)
                }
                (None, Some(path)) => {
                    let path = self.resolve(path);
                    let origin = path.display().to_string();
                    let bytes = std::fs::read(&path).map_err(|e| fail(&origin, e))?;
                    (origin, Arc::from(bytes))
                }
                (None, None) => unreachable!("checked at parse"),
            };
            let admission = Admission {
                sha256: p.sha256.as_deref().map(pin).transpose()?,
                signature: match (&p.path, &p.signature) {
                    (Some(_), Some(explicit)) => Some(SignatureFrom::File(self.resolve(explicit))),
                    (Some(path), None) if self.require_signature => Some(SignatureFrom::File(
                        signing::signature_path(&self.resolve(path)),
                    )),
                    _ => None,
                },
                bundled: p.bundled.is_some(),
                ..Admission::default()
            };
            let config = match (&p.config, &p.config_file) {
                (Some(table), _) => serde_json::to_string(table).map_err(|e| fail(&origin, e))?,
                (None, Some(file)) => {
                    let file = self.resolve(file);
                    std::fs::read_to_string(&file)
                        .map_err(|e| fail(&origin, format!("config {}: {e}", file.display())))?
                }
                (None, None) => "{}".to_string(),
            };
            configs.push(config.clone());
            let source = PolicySource {
                origin,
                bytes,
                config,
                fuel: p.fuel,
            };
            builder = builder.admitted_policy(source, p.mode, admission);
            modes.push(p.mode);
        }
        let (screener, warnings) = self.screener()?;
        let skew = (self.limits.max_clock_skew_ms > 0)
            .then(|| Duration::from_millis(self.limits.max_clock_skew_ms));
        builder = builder
            .limits(self.engine_limits())
            .cache_dir(self.cache())
            .screener(screener)
            .velocity(velocity)
            .max_clock_skew(skew);
        if let Some(n) = self.limits.parallel_calls {
            builder = builder.parallel_calls(n);
        }
        builder = builder.review(self.review.policy());
        let mut warnings = warnings;
        if let Some((prefix, n)) = self.review.approvals_required.iter().max_by_key(|e| e.1)
            && !self.reviewers.is_empty()
            && *n as usize > self.reviewers.len()
        {
            warnings.push(format!(
                "review: holds with a reason starting {prefix:?} need {n} approvals, \
                 but only {} reviewer(s) are configured",
                self.reviewers.len()
            ));
        }
        let gate = match builder.build() {
            Ok((gate, _)) => gate,
            Err(GateError::Policy { origin, source }) => return Err(fail(origin, source)),
            Err(GateError::Admission { origin, source }) => return Err(fail(origin, source)),
            Err(e) => return Err(fail("gate", e)),
        };
        let metas = gate
            .policies()
            .iter()
            .zip(modes)
            .zip(gate.signed_by())
            .zip(configs)
            .map(|(((policy, mode), signed_by), config)| PolicyMeta {
                name: policy.name().to_string(),
                version: policy.version().to_string(),
                sha256: hex::encode(policy.sha256()),
                mode,
                origin: policy.origin().to_string(),
                signed_by: signed_by.clone(),
                config,
                fuel: policy.fuel(),
            })
            .collect();
        Ok(Built {
            gate,
            policies: metas,
            warnings,
        })
    }

    /// What differs from `running` that a reload cannot change (they need
    /// a restart): the listen address, velocity store, decision log, admin
    /// token and `[server]` settings. (`[[reviewer]]` and `[review]` change
    /// at a reload.)
    pub fn restart_required(&self, running: &Config) -> Vec<&'static str> {
        let changed = [
            self.listen != running.listen || self.socket_mode != running.socket_mode,
            self.velocity != running.velocity,
            self.decision_log != running.decision_log,
            self.admin != running.admin,
            self.server != running.server,
        ];
        RESTART_REQUIRED
            .into_iter()
            .zip(changed)
            .filter_map(|(name, changed)| changed.then_some(name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses_and_mistakes_are_named() {
        let c = Config::parse(
            r#"
            listen = "127.0.0.1:9000"
            velocity = "memory"
            require_signature = true
            trusted_keys = ["keys/release.pub"]
            [admin]
            token = "s3cret"
            [limits]
            deadline_us = 2000
            max_clock_skew_ms = 0
            [decision_log]
            dir = "log"
            durable = true
            [[policy]]
            path = "sanctions.wasm"
            sha256 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
            [[policy]]
            bundled = "velocity"
            mode = "shadow"
            config = { limits = [] }
            [[list]]
            name = "ofac"
            path = "ofac.set"
            "#,
        )
        .unwrap();
        assert_eq!(c.listen, ListenAddr::Tcp("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(c.policies[1].mode, Mode::Shadow);
        assert_eq!(c.limits.memory_mib, 16);
        assert!(c.decision_log.as_ref().unwrap().durable);
        assert_eq!(c.admin_token().unwrap().as_deref(), Some("s3cret"));

        for (bad, says) in [
            (
                "[[policy]]\nmode = \"enforce\"",
                "exactly one of `path` and `bundled`",
            ),
            (
                "[[policy]]\nbundled = \"x\"\nmode = \"loud\"",
                "unknown variant",
            ),
            (
                "[[policy]]\nbundled = \"x\"\nsha256 = \"abc\"",
                "64 hex digits",
            ),
            ("require_signature = true", "trusted_keys"),
            ("listen = \"nowhere\"", "listen"),
            ("listen = \"unix:\"", "no socket path"),
            ("socket_mode = 0o1777", "at most 0o777"),
            ("colour = \"red\"", "unknown field"),
            ("[server]\nidle_timeout_ms = 0", "idle_timeout_ms"),
            ("[server]\nmax_connections = 0", "max_connections"),
            ("[server]\nmax_uri_bytes = 1000000", "max_uri_bytes"),
            ("[server]\nmax_header_bytes = 10", "max_header_bytes"),
            ("[server]\nkeepalive = 1", "unknown field"),
        ] {
            let e = Config::parse(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn reviewers_and_review_settings_parse_and_are_checked() {
        let c = Config::parse(
            r#"
            [[reviewer]]
            name = "alice"
            token_file = "alice.token"
            [[reviewer]]
            name = "bob@example.com"
            token_file = "/etc/riskgate/bob.token"
            [review]
            approvals_required = { "screening." = 2, "velocity.usd" = 3 }
            expire_after_ms = 86400000
            "#,
        )
        .unwrap();
        assert_eq!(c.reviewers[1].name, "bob@example.com");
        let policy = c.review.policy();
        assert_eq!(
            policy.approvals_required,
            [
                ("screening.".to_string(), 2),
                ("velocity.usd".to_string(), 3)
            ]
        );
        assert_eq!(policy.expire_after, Some(Duration::from_secs(86_400)));
        assert_eq!(
            Config::parse("").unwrap().review.policy(),
            riskgate::ReviewPolicy::default()
        );

        let reviewer =
            |name: &str| format!("[[reviewer]]\nname = \"{name}\"\ntoken_file = \"t\"\n");
        for (bad, says) in [
            (reviewer("al ice"), "reviewer name"),
            (reviewer(""), "reviewer name"),
            (
                format!("{}{}", reviewer("a"), reviewer("a")),
                "two reviewers are named `a`",
            ),
            ("[[reviewer]]\nname = \"a\"\n".to_string(), "token_file"),
            (
                "[[reviewer]]\nname = \"a\"\ntoken_file = \"t\"\ntoken = \"x\"\n".to_string(),
                "unknown field",
            ),
            (
                "[review]\napprovals_required = { \"screening.\" = 0 }".to_string(),
                "1 to 16",
            ),
            (
                "[review]\napprovals_required = { \"Screening.\" = 2 }".to_string(),
                "cannot start a reason code",
            ),
            (
                "[review]\nexpire_after_ms = 0".to_string(),
                "expire_after_ms",
            ),
            ("[review]\nexpire_after = 5".to_string(), "unknown field"),
        ] {
            let e = Config::parse(&bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn reviewer_tokens_are_read_and_refused_when_unusable() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("a.token", "  tok-a\n");
        write("b.token", "tok-b");
        let file = dir.path().join("riskgate.toml");
        let config = |extra: &str| {
            std::fs::write(
                &file,
                format!(
                    "[[reviewer]]\nname = \"a\"\ntoken_file = \"a.token\"\n\
                     [[reviewer]]\nname = \"b\"\ntoken_file = \"b.token\"\n{extra}"
                ),
            )
            .unwrap();
            Config::from_file(&file).unwrap()
        };
        let reviewers = config("").reviewers(None).unwrap();
        assert_eq!(reviewers.names().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(reviewers.who("tok-a"), Some("a"));
        assert_eq!(reviewers.who("tok-b"), Some("b"));
        assert_eq!(reviewers.who("tok-"), None);
        assert_eq!(reviewers.who(""), None);
        assert!(!format!("{reviewers:?}").contains("digest"));
        // The running admin token, or the file's own.
        let e = config("").reviewers(Some("tok-b")).unwrap_err().to_string();
        assert!(
            e.contains("reviewer `b`: the token is the admin token"),
            "{e}"
        );
        let e = config("[admin]\ntoken = \"tok-a\"\n")
            .reviewers(None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("reviewer `a`: the token is the admin token"),
            "{e}"
        );
        write("b.token", "tok-a\n");
        let e = config("").reviewers(None).unwrap_err().to_string();
        assert!(e.contains("the token is also reviewer `a`'s"), "{e}");
        write("b.token", "\n \n");
        let e = config("").reviewers(None).unwrap_err().to_string();
        assert!(e.contains("b.token") && e.contains("empty"), "{e}");
        std::fs::remove_file(dir.path().join("b.token")).unwrap();
        let e = config("").reviewers(None).unwrap_err().to_string();
        assert!(e.contains("b.token") && e.contains("reviewer `b`"), "{e}");
    }

    #[test]
    fn the_openapi_document_names_every_setting_a_reload_cannot_change() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../../docs/openapi.json")).unwrap();
        let named = &doc["components"]["schemas"]["ReloadReport"]["properties"]["restart_required"]
            ["items"]["enum"];
        assert_eq!(*named, serde_json::json!(RESTART_REQUIRED));
    }

    #[test]
    fn a_unix_socket_listen_address_parses_and_resolves_against_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gate.toml");
        std::fs::write(&file, "listen = \"unix:run/gate.sock\"\n").unwrap();
        let c = Config::from_file(&file).unwrap();
        assert_eq!(c.listen, ListenAddr::Unix(dir.path().join("run/gate.sock")));
        assert_eq!(
            c.listen.to_string(),
            format!("unix:{}", dir.path().join("run/gate.sock").display())
        );
        std::fs::write(&file, "listen = \"unix:/run/riskgate/gate.sock\"\n").unwrap();
        let c = Config::from_file(&file).unwrap();
        assert_eq!(c.listen, ListenAddr::Unix("/run/riskgate/gate.sock".into()));
        assert_eq!(c.socket_mode, None);
        let moded = Config::parse("listen = \"unix:/x.sock\"\nsocket_mode = 0o660\n").unwrap();
        assert_eq!(moded.socket_mode, Some(0o660));
        // A reload of the same file asks for no restart.
        assert!(
            Config::from_file(&file)
                .unwrap()
                .restart_required(&c)
                .is_empty()
        );
        assert_eq!(
            "[::1]:8080".parse::<ListenAddr>().unwrap(),
            ListenAddr::Tcp("[::1]:8080".parse().unwrap())
        );
    }

    #[test]
    fn the_review_policy_reaches_the_gate_and_a_short_team_is_warned_of() {
        let c = Config::parse(
            "velocity = \"memory\"\n[[reviewer]]\nname = \"a\"\ntoken_file = \"t\"\n\
             [review]\napprovals_required = { \"velocity.\" = 2 }\nexpire_after_ms = 1000\n",
        )
        .unwrap();
        let built = c.build(Arc::default()).unwrap();
        let policy = built.gate.review_policy();
        assert_eq!(policy.approvals_required, [("velocity.".to_string(), 2)]);
        assert_eq!(policy.expire_after, Some(Duration::from_secs(1)));
        assert!(
            built
                .warnings
                .iter()
                .any(|w| w.contains("need 2 approvals")),
            "{:?}",
            built.warnings
        );
    }

    #[test]
    fn the_example_in_docs_parses() {
        let c = Config::parse(include_str!("../../../docs/riskgate.example.toml")).unwrap();
        assert_eq!(c.policies.len(), 3);
        assert_eq!(c.policies[1].mode, Mode::Shadow);
        assert!(c.require_signature && c.decision_log.unwrap().durable);
        assert_eq!(c.server.shutdown_grace_ms, 10_000);
        assert_eq!(c.server, ServerConfig::default());
        assert_eq!(c.reviewers.len(), 2);
        assert_eq!(
            c.review.policy().expire_after,
            Some(Duration::from_secs(3 * 86_400))
        );
    }

    #[test]
    fn server_settings_default_and_need_a_restart() {
        let running = Config::parse("").unwrap();
        assert_eq!(running.server, ServerConfig::default());
        let fresh = Config::parse("[server]\nidle_timeout_ms = 5000\nmax_connections = 8").unwrap();
        assert_eq!(fresh.server.idle_timeout_ms, 5000);
        assert_eq!(fresh.server.header_read_timeout_ms, 10_000);
        assert_eq!(fresh.restart_required(&running), ["server"]);
    }

    #[test]
    fn pins_and_modes_are_applied_when_built() {
        let mut c = Config::parse("velocity = \"memory\"\n[[policy]]\nbundled = \"sanctions\"\n[[policy]]\nbundled = \"velocity\"\nmode = \"shadow\"").unwrap();
        let built = c.build(Arc::default()).unwrap();
        assert_eq!(built.gate.modes(), [Mode::Enforce, Mode::Shadow]);
        assert_eq!(built.policies[1].mode, Mode::Shadow);
        let real = built.policies[0].sha256.clone();
        c.policies[0].sha256 = Some("0".repeat(64));
        let e = c.build(Arc::default()).err().unwrap().to_string();
        assert!(e.contains("pins") && e.contains(&real), "{e}");
        c.policies[0].sha256 = Some(real.to_uppercase());
        c.build(Arc::default()).unwrap();
    }
}
