//! `riskgate holds list|show|approve|reject`: the review queue of held
//! withdrawals, through a running `riskgate serve` (`--url`, the holds
//! routes with a reviewer's bearer token) or directly on a velocity store
//! (the durable directory when no serve holds it, or Redis), with the
//! operator named by `--reviewer`.
//!
//! Exit status: 0 done, 1 refused or failed (unknown id, a conflict, a
//! problem document from the server, an unreachable server), 2 usage or a
//! store that cannot be opened.

use super::check::load_error;
use super::velocity::{OpenError, VelocityArgs};
use super::{EXIT_LOAD, EXIT_USAGE};
use clap::{Args, Subcommand};
use riskgate::model::{Decision, HoldState, ReviewAction};
use riskgate::review::AccountWindow;
use riskgate::velocity::HoldQuery;
use riskgate::{Gate, Hold, Resolution, ResolveError, ReviewPolicy};
use riskgate_serve::config::Config;
use riskgate_serve::decision_log::{DecisionLog, LogOptions};
use riskgate_serve::record::ResolutionRecord;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Exit status of a refused or failed action.
const EXIT_ERROR: u8 = 1;
/// How long a request to the server may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Holds listed when `--limit` is not given.
const DEFAULT_LIMIT: u64 = 100;

#[derive(Args)]
pub struct HoldsCmd {
    #[command(subcommand)]
    command: HoldsCommand,
    #[command(flatten)]
    target: TargetArgs,
}

/// Where the holds are: a server, or a store opened here.
#[derive(Args)]
struct TargetArgs {
    /// A running `riskgate serve` (http://HOST:PORT): act through its holds
    /// routes. Without it, the velocity store is opened here.
    #[arg(long, global = true, value_name = "URL")]
    url: Option<String>,
    /// With --url: the file holding the bearer token (a reviewer's; the
    /// admin token also reads). Default: $RISKGATE_TOKEN.
    #[arg(long, global = true, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Without --url: serve's config file, for its velocity store, its
    /// `[review]` table and its decision log.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Without --url: the velocity store, as `check --velocity` (default:
    /// $RISKGATE_VELOCITY, else the durable store in the state directory).
    /// A durable directory opens only while no `serve` holds it.
    #[arg(long, global = true, value_name = "DIR|redis://…")]
    velocity: Option<String>,
    /// Without --url: who approves or rejects (recorded on the hold).
    #[arg(long, global = true, value_name = "NAME")]
    reviewer: Option<String>,
    /// Without --url: append a resolution record for each action that
    /// changed a hold to the decision log in DIR (default: the config's
    /// `[decision_log]`, with --config).
    #[arg(long, global = true, value_name = "DIR")]
    decision_log: Option<PathBuf>,
    /// Print JSON (the server's shape) instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum HoldsCommand {
    /// List holds, oldest first: id, state, age, account, asset, amount,
    /// reasons, approvals.
    List {
        /// pending, approved, rejected, expired or all.
        #[arg(long, default_value = "pending", value_name = "STATE", value_parser = state_arg)]
        state: StateArg,
        /// Only holds with a reason whose code starts with PREFIX
        /// (`velocity.`).
        #[arg(long, value_name = "PREFIX")]
        reason: Option<String>,
        /// At most N holds.
        #[arg(long, default_value_t = DEFAULT_LIMIT, value_name = "N",
              value_parser = clap::value_parser!(u64).range(1..=100_000))]
        limit: u64,
    },
    /// Print one hold: its decision, review entries and the account's
    /// windows.
    Show {
        /// The withdrawal id.
        id: String,
    },
    /// Approve a hold (it counts in velocity from now once as many
    /// distinct reviewers as required approved it).
    Approve {
        /// The withdrawal id.
        id: String,
        /// Why (kept with the review entry).
        #[arg(long, default_value = "", value_name = "TEXT")]
        note: String,
    },
    /// Reject a hold (never paid, never counted).
    Reject {
        /// The withdrawal id.
        id: String,
        /// Why (kept with the review entry).
        #[arg(long, default_value = "", value_name = "TEXT")]
        note: String,
    },
}

/// A `--state`: one state, or every one.
#[derive(Clone, Copy)]
struct StateArg(Option<HoldState>);

impl StateArg {
    fn as_str(self) -> &'static str {
        self.0.map_or("all", HoldState::as_str)
    }
}

fn state_arg(s: &str) -> Result<StateArg, String> {
    if s == "all" {
        return Ok(StateArg(None));
    }
    s.parse()
        .map(|s| StateArg(Some(s)))
        .map_err(|e: String| format!("{}; or all", e.trim_end_matches(')')) + ")")
}

/// One of the account's windows beside a hold.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WindowDoc {
    window_ms: u64,
    count: u64,
    usd_cents: u64,
}

impl From<&AccountWindow> for WindowDoc {
    fn from(w: &AccountWindow) -> Self {
        WindowDoc {
            window_ms: w.window_ms,
            count: w.count,
            usd_cents: w.usd_cents,
        }
    }
}

/// A hold as the server answers it (`riskgate::Hold`, the account's
/// windows, and after an action whether it changed the hold).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct HoldDoc {
    id: String,
    state: HoldState,
    requested_at: u64,
    account: String,
    asset: String,
    chain: String,
    destination: String,
    decision: Decision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default)]
    windows: Vec<WindowDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    changed: Option<bool>,
}

impl HoldDoc {
    fn of(hold: &Hold, windows: &[AccountWindow], changed: Option<bool>) -> Self {
        HoldDoc {
            id: hold.id.clone(),
            state: hold.state,
            requested_at: hold.requested_at,
            account: hold.account.clone(),
            asset: hold.asset.clone(),
            chain: hold.chain.clone(),
            destination: hold.destination.clone(),
            decision: hold.decision.clone(),
            expires_at: hold.expires_at,
            windows: windows.iter().map(WindowDoc::from).collect(),
            changed,
        }
    }

    fn approvals(&self) -> (usize, u32) {
        self.decision
            .review
            .as_ref()
            .map_or((0, 1), |r| (r.approvers().len(), r.required))
    }
}

#[derive(Serialize, Deserialize)]
struct HoldList {
    holds: Vec<HoldDoc>,
}

/// An RFC 9457 problem document, as far as it is printed.
#[derive(Deserialize, Default)]
struct ProblemDoc {
    #[serde(default)]
    title: String,
    #[serde(default)]
    detail: String,
}

fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_USAGE)
}

fn failed(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_ERROR)
}

pub fn run(cmd: HoldsCmd) -> anyhow::Result<ExitCode> {
    let t = &cmd.target;
    if t.url.is_some() {
        for (given, flag, why) in [
            (t.config.is_some(), "--config", "the server has its own"),
            (t.velocity.is_some(), "--velocity", "the server has its own"),
            (
                t.reviewer.is_some(),
                "--reviewer",
                "the server names the reviewer by the token",
            ),
            (
                t.decision_log.is_some(),
                "--decision-log",
                "the server writes its own",
            ),
        ] {
            if given {
                return Ok(usage(format!(
                    "{flag} is for a local store, not with --url: {why}"
                )));
            }
        }
        return remote::run(&cmd.command, t);
    }
    if t.token_file.is_some() {
        return Ok(usage("--token-file goes with --url"));
    }
    local::run(&cmd.command, t)
}

/// Prints a hold, or every hold of a list, as asked.
fn print_hold(doc: &HoldDoc, json: bool, now: u64) -> anyhow::Result<()> {
    if json {
        emit(&(serde_json::to_string(doc)? + "\n"));
    } else {
        emit(&text::show(doc, now));
    }
    Ok(())
}

fn print_list(list: &HoldList, json: bool, state: StateArg, now: u64) -> anyhow::Result<()> {
    if json {
        emit(&(serde_json::to_string(list)? + "\n"));
    } else if list.holds.is_empty() {
        match state.0 {
            Some(s) => emit(&format!("no {s} holds\n")),
            None => emit("no holds\n"),
        }
    } else {
        emit(&text::table(&list.holds, now));
    }
    Ok(())
}

/// What an approve or reject did, on one line (text mode), then the hold.
fn print_resolved(doc: &HoldDoc, action: ReviewAction, json: bool, now: u64) -> anyhow::Result<()> {
    if json {
        emit(&(serde_json::to_string(doc)? + "\n"));
        return Ok(());
    }
    emit(&format!(
        "{}\n{}",
        text::outcome(doc, action),
        text::show(doc, now)
    ));
    Ok(())
}

/// Writes `text` to stdout; a reader that went away (`| head`) is not an
/// error.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The holds of a velocity store opened here.
mod local {
    use super::*;

    /// What the local flags resolve to.
    struct Local {
        velocity: VelocityArgs,
        review: Option<ReviewPolicy>,
        log: Option<LogOptions>,
    }

    fn resolve(t: &TargetArgs) -> Result<Local, ExitCode> {
        let Some(path) = &t.config else {
            let velocity = t.velocity.clone().or_else(|| {
                std::env::var("RISKGATE_VELOCITY")
                    .ok()
                    .filter(|v| !v.is_empty())
            });
            return Ok(Local {
                velocity: VelocityArgs { velocity },
                review: None,
                log: t.decision_log.clone().map(durable_log),
            });
        };
        if t.velocity.is_some() {
            return Err(usage(
                "--config names the velocity store; give one of --config and --velocity",
            ));
        }
        let config = Config::from_file(path).map_err(|e| load_error(&e.what, e.message))?;
        let log = match (&t.decision_log, &config.decision_log) {
            (Some(dir), _) => Some(durable_log(dir.clone())),
            (None, Some(d)) => Some(LogOptions {
                dir: config.resolve(&d.dir),
                durable: true,
                max_bytes: d.max_bytes,
                keep: d.keep,
            }),
            (None, None) => None,
        };
        Ok(Local {
            velocity: super::super::serve::velocity_of(&config),
            review: Some(config.review.policy()),
            log,
        })
    }

    fn durable_log(dir: PathBuf) -> LogOptions {
        LogOptions {
            durable: true,
            ..LogOptions::new(dir)
        }
    }

    fn open(local: &Local) -> Result<Arc<riskgate::velocity::Velocity>, ExitCode> {
        if local.velocity.is_memory() {
            return Err(usage(
                "an in-memory store holds nothing between commands: give --velocity DIR|redis://…, \
                 or --url of the running serve",
            ));
        }
        local.velocity.open_store().map_err(|e| match e {
            OpenError::Locked(path) => {
                eprintln!(
                    "error: velocity store {} is in use by another process (a running `riskgate serve`?): \
                     review its holds through it with --url http://HOST:PORT and --token-file FILE \
                     (or $RISKGATE_TOKEN)",
                    path.display()
                );
                ExitCode::from(EXIT_LOAD)
            }
            e => load_error("velocity", e),
        })
    }

    fn gate(
        velocity: Arc<riskgate::velocity::Velocity>,
        review: ReviewPolicy,
    ) -> Result<Gate, ExitCode> {
        Gate::builder()
            .velocity(velocity)
            .review(review)
            .build()
            .map(|(gate, _)| gate)
            .map_err(|e| load_error("gate", e))
    }

    pub(super) fn run(command: &HoldsCommand, t: &TargetArgs) -> anyhow::Result<ExitCode> {
        let local = match resolve(t) {
            Ok(l) => l,
            Err(code) => return Ok(code),
        };
        let acting = matches!(
            command,
            HoldsCommand::Approve { .. } | HoldsCommand::Reject { .. }
        );
        if acting && t.reviewer.is_none() {
            return Ok(usage(
                "approving or rejecting on a local store needs --reviewer NAME (who acts), \
                 or --url of the running serve",
            ));
        }
        if let Some(name) = &t.reviewer
            && let Err(e) = riskgate::review::check_reviewer(name)
        {
            return Ok(usage(e));
        }
        let velocity = match open(&local) {
            Ok(v) => v,
            Err(code) => return Ok(code),
        };
        let review = local.review.clone().unwrap_or_default();
        let gate = match gate(velocity.clone(), review) {
            Ok(g) => g,
            Err(code) => return Ok(code),
        };
        let now = gate.now();
        let windows = |gate: &Gate, hold: &Hold| gate.account_windows(hold, now);
        match command {
            HoldsCommand::List {
                state,
                reason,
                limit,
            } => {
                let query = HoldQuery {
                    state: state.0,
                    reason_prefix: reason.clone(),
                    requested_before: None,
                    limit: *limit as usize,
                };
                let holds = match gate.holds(&query) {
                    Ok(h) => h,
                    Err(e) => return Ok(failed(e)),
                };
                let mut docs = Vec::with_capacity(holds.len());
                for hold in &holds {
                    match windows(&gate, hold) {
                        Ok(w) => docs.push(HoldDoc::of(hold, &w, None)),
                        Err(e) => return Ok(failed(e)),
                    }
                }
                print_list(&HoldList { holds: docs }, t.json, *state, now)?;
                Ok(ExitCode::SUCCESS)
            }
            HoldsCommand::Show { id } => {
                let hold = match gate.hold(id) {
                    Ok(h) => h,
                    Err(e) => return Ok(refused(e)),
                };
                match windows(&gate, &hold) {
                    Ok(w) => print_hold(&HoldDoc::of(&hold, &w, None), t.json, now)?,
                    Err(e) => return Ok(failed(e)),
                }
                Ok(ExitCode::SUCCESS)
            }
            HoldsCommand::Approve { id, note } | HoldsCommand::Reject { id, note } => {
                let reviewer = t.reviewer.as_deref().expect("checked above");
                let action = if matches!(command, HoldsCommand::Approve { .. }) {
                    Resolution::approve(reviewer, note)
                } else {
                    Resolution::reject(reviewer, note)
                };
                // The log opens first: nothing changes when it cannot be
                // written.
                let log = match &local.log {
                    Some(options) => match DecisionLog::open(options) {
                        Ok(log) => Some(log),
                        Err(e) => return Ok(load_error("decision log", e)),
                    },
                    None => None,
                };
                let before = match gate.hold(id) {
                    Ok(h) => h,
                    Err(e) => return Ok(refused(e)),
                };
                // Without serve's config, a hold needs at least the
                // approvals it was recorded needing.
                let gate = match (&local.review, before.review()) {
                    (None, Some(r)) if r.required > 1 => {
                        let review = ReviewPolicy {
                            approvals_required: vec![(String::new(), r.required)],
                            expire_after: None,
                        };
                        match super::local::gate(velocity, review) {
                            Ok(g) => g,
                            Err(code) => return Ok(code),
                        }
                    }
                    _ => gate,
                };
                let (hold, changed, result) = match gate.resolve(id, &action) {
                    Ok(r) => (r.hold, r.changed, Ok(())),
                    // Expired now, past its expiry: that changed it.
                    Err(ResolveError::Conflict { hold, action }) => {
                        let changed =
                            before.state == HoldState::Pending && hold.state == HoldState::Expired;
                        let e = ResolveError::Conflict {
                            hold: hold.clone(),
                            action,
                        };
                        (*hold, changed, Err(e))
                    }
                    Err(e) => return Ok(refused(e)),
                };
                if changed && let Some(log) = &log {
                    let record = ResolutionRecord::of(&hold, decision_id(), wall_ms(), 0)
                        .expect("a resolved hold has a review entry");
                    let line = serde_json::to_vec(&record)?;
                    if let Err(e) = log.append(&line) {
                        eprintln!(
                            "error: the hold was {} in the velocity store, but its record could not be \
                             written to the decision log: {e}",
                            hold.state
                        );
                        return Ok(ExitCode::from(EXIT_ERROR));
                    }
                }
                if let Err(e) = result {
                    return Ok(refused(e));
                }
                let w = match windows(&gate, &hold) {
                    Ok(w) => w,
                    Err(e) => return Ok(failed(e)),
                };
                print_resolved(
                    &HoldDoc::of(&hold, &w, Some(changed)),
                    action.action,
                    t.json,
                    gate.now(),
                )?;
                Ok(ExitCode::SUCCESS)
            }
        }
    }

    /// A refusal of the gate: exit 1, or 2 for a request that cannot be
    /// right (a bad id, reviewer or note).
    fn refused(e: ResolveError) -> ExitCode {
        match e {
            ResolveError::BadRequest(_) | ResolveError::NoteTooLong { .. } => usage(e),
            ResolveError::Velocity(ref v) if v.is_unavailable() => load_error("velocity", v),
            e => failed(e),
        }
    }

    /// A decision-log record id unique to this command.
    fn decision_id() -> String {
        let mut node = [0u8; 16];
        let _ = getrandom::fill(&mut node);
        hex::encode(node)
    }
}

/// The holds routes of a running `riskgate serve`.
mod remote {
    use super::super::endpoint::{Endpoint, UrlError};
    use super::*;
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use hyper::{Method, Request, StatusCode, header};

    struct Client {
        endpoint: Endpoint,
        token: Option<String>,
        runtime: tokio::runtime::Runtime,
    }

    /// A failed exchange, printed as the command's error.
    enum Failure {
        Usage(String),
        Error(String),
    }

    impl Failure {
        fn exit(self) -> ExitCode {
            match self {
                Failure::Usage(m) => usage(m),
                Failure::Error(m) => failed(m),
            }
        }
    }

    impl Client {
        fn new(url: &str, token: Option<String>) -> Result<Client, Failure> {
            let endpoint = Endpoint::parse(url).map_err(|e| match e {
                UrlError::Usage { .. } => Failure::Usage(e.to_string()),
                UrlError::Resolve { .. } => Failure::Error(e.to_string()),
            })?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Failure::Error(format!("tokio: {e}")))?;
            Ok(Client {
                endpoint,
                token,
                runtime,
            })
        }

        /// One request; the status and body of any answer.
        fn call(
            &self,
            method: Method,
            path: &str,
            body: Option<&serde_json::Value>,
        ) -> Result<(StatusCode, Bytes), Failure> {
            let uri = format!("{}{path}", self.endpoint.base);
            let mut req = Request::builder()
                .method(method.clone())
                .uri(&uri)
                .header(header::HOST, &self.endpoint.authority)
                .header(header::ACCEPT, "application/json");
            if let Some(token) = &self.token {
                req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            let body = match body {
                Some(v) => {
                    req = req.header(header::CONTENT_TYPE, "application/json");
                    Bytes::from(v.to_string())
                }
                None => Bytes::new(),
            };
            let req = req
                .body(Full::new(body))
                .map_err(|e| Failure::Usage(format!("{method} {uri}: {e}")))?;
            let what = format!("{method} {}", self.endpoint.show(path));
            self.runtime.block_on(async move {
                let exchange = async {
                    let mut sender = self.endpoint.connect().await.map_err(|e| e.to_string())?;
                    let res = sender.send_request(req).await.map_err(|e| format!("{e}"))?;
                    let status = res.status();
                    let body = res
                        .into_body()
                        .collect()
                        .await
                        .map_err(|e| format!("{e}"))?
                        .to_bytes();
                    Ok::<_, String>((status, body))
                };
                match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
                    Ok(Ok(answer)) => Ok(answer),
                    Ok(Err(e)) => Err(Failure::Error(format!("{what}: {e}"))),
                    Err(_) => Err(Failure::Error(format!(
                        "{what}: no answer within {REQUEST_TIMEOUT:?}"
                    ))),
                }
            })
        }

        /// A 2xx answer's body parsed as `T`; anything else its problem
        /// document, as the error.
        fn json<T: serde::de::DeserializeOwned>(
            &self,
            method: Method,
            path: &str,
            body: Option<&serde_json::Value>,
        ) -> Result<(T, Bytes), Failure> {
            let (status, bytes) = self.call(method.clone(), path, body)?;
            if !status.is_success() {
                return Err(Failure::Error(self.problem(status, &bytes)));
            }
            let value = serde_json::from_slice(&bytes).map_err(|e| {
                Failure::Error(format!(
                    "{method} {path}: the answer is not what a riskgate serve sends ({e}): {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
                ))
            })?;
            Ok((value, bytes))
        }

        /// A problem document (or any other error answer) in one line.
        fn problem(&self, status: StatusCode, body: &[u8]) -> String {
            let doc: ProblemDoc = serde_json::from_slice(body).unwrap_or_default();
            let mut text = format!("{}", status.as_u16());
            let title = if doc.title.is_empty() {
                status.canonical_reason().unwrap_or("").to_string()
            } else {
                doc.title
            };
            if !title.is_empty() {
                text.push(' ');
                text.push_str(&title);
            }
            if !doc.detail.is_empty() {
                text.push_str(": ");
                text.push_str(&doc.detail);
            } else if serde_json::from_slice::<serde_json::Value>(body).is_err() && !body.is_empty()
            {
                text.push_str(": ");
                text.push_str(&String::from_utf8_lossy(&body[..body.len().min(300)]));
            }
            if status == StatusCode::UNAUTHORIZED && self.token.is_none() {
                text.push_str(
                    " (give a reviewer's token with --token-file FILE or $RISKGATE_TOKEN)",
                );
            }
            text
        }
    }

    fn token(t: &TargetArgs) -> Result<Option<String>, Failure> {
        let token = match &t.token_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| Failure::Usage(format!("--token-file {}: {e}", path.display())))?,
            ),
            None => std::env::var("RISKGATE_TOKEN").ok(),
        };
        let token = token
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        if let Some(t) = &token
            && (t.bytes().any(|b| !b.is_ascii_graphic()))
        {
            return Err(Failure::Usage(
                "the token holds a space or a character that is not printable ASCII".into(),
            ));
        }
        Ok(token)
    }

    /// `s` percent-encoded for a path segment or a query value.
    pub(super) fn encode(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    pub(super) fn run(command: &HoldsCommand, t: &TargetArgs) -> anyhow::Result<ExitCode> {
        let url = t.url.as_deref().expect("remote needs --url");
        let result = token(t).and_then(|token| Client::new(url, token));
        let client = match result {
            Ok(c) => c,
            Err(f) => return Ok(f.exit()),
        };
        let now = wall_ms();
        match command {
            HoldsCommand::List {
                state,
                reason,
                limit,
            } => {
                let mut path = format!("/v1/holds?state={}&limit={limit}", state.as_str());
                if let Some(prefix) = reason {
                    path.push_str("&reason=");
                    path.push_str(&encode(prefix));
                }
                match client.json::<HoldList>(Method::GET, &path, None) {
                    Ok((list, raw)) => {
                        if t.json {
                            emit(&format!("{}\n", String::from_utf8_lossy(&raw).trim_end()));
                        } else {
                            print_list(&list, false, *state, now)?;
                        }
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(f) => Ok(f.exit()),
                }
            }
            HoldsCommand::Show { id } => {
                let path = format!("/v1/holds/{}", encode(id));
                match client.json::<HoldDoc>(Method::GET, &path, None) {
                    Ok((doc, raw)) => {
                        if t.json {
                            emit(&format!("{}\n", String::from_utf8_lossy(&raw).trim_end()));
                        } else {
                            print_hold(&doc, false, now)?;
                        }
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(f) => Ok(f.exit()),
                }
            }
            HoldsCommand::Approve { id, note } | HoldsCommand::Reject { id, note } => {
                let action = if matches!(command, HoldsCommand::Approve { .. }) {
                    ReviewAction::Approve
                } else {
                    ReviewAction::Reject
                };
                let path = format!("/v1/holds/{}/{}", encode(id), action.as_str());
                let body = serde_json::json!({ "note": note });
                match client.json::<HoldDoc>(Method::POST, &path, Some(&body)) {
                    Ok((doc, raw)) => {
                        if t.json {
                            emit(&format!("{}\n", String::from_utf8_lossy(&raw).trim_end()));
                        } else {
                            print_resolved(&doc, action, false, wall_ms())?;
                        }
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(f) => Ok(f.exit()),
                }
            }
        }
    }
}

/// Text output.
mod text {
    use super::*;
    use std::fmt::Write as _;

    /// `ms` since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub(super) fn utc(ms: u64) -> String {
        riskgate_replay::report::utc_parts(ms).map_or_else(
            || format!("{ms} ms"),
            |(t, millis)| format!("{t}.{millis:03}Z"),
        )
    }

    /// A duration in ms, short: `45s`, `12m`, `5h`, `3d`.
    pub(super) fn span(ms: u64) -> String {
        let s = ms / 1000;
        match s {
            0..60 => format!("{s}s"),
            60..3600 => format!("{}m", s / 60),
            3600..86_400 => format!("{}h", s / 3600),
            _ => format!("{}d", s / 86_400),
        }
    }

    fn ago(t: u64, now: u64) -> String {
        if t <= now {
            format!("{} ago", span(now - t))
        } else {
            format!("in {}", span(t - now))
        }
    }

    pub(super) fn usd(cents: u64) -> String {
        format!("${}.{:02}", cents / 100, cents % 100)
    }

    fn window(ms: u64) -> String {
        match ms {
            _ if ms.is_multiple_of(86_400_000) => format!("{}d", ms / 86_400_000),
            _ if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
            _ => span(ms),
        }
    }

    fn reasons(doc: &HoldDoc) -> String {
        doc.decision
            .reasons
            .iter()
            .map(|r| r.code.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    fn amount(doc: &HoldDoc) -> (String, String) {
        match &doc.decision.review {
            Some(r) => (
                r.amount.to_string(),
                if r.usd_cents > 0 {
                    usd(r.usd_cents)
                } else {
                    "-".into()
                },
            ),
            None => ("?".into(), "?".into()),
        }
    }

    /// The list as a table.
    pub(super) fn table(holds: &[HoldDoc], now: u64) -> String {
        let header = [
            "ID",
            "STATE",
            "AGE",
            "ACCOUNT",
            "ASSET",
            "AMOUNT",
            "USD",
            "REASONS",
            "APPROVALS",
        ];
        let rows: Vec<[String; 9]> = holds
            .iter()
            .map(|h| {
                let (amount, usd) = amount(h);
                let (got, need) = h.approvals();
                [
                    h.id.clone(),
                    h.state.to_string(),
                    span(now.saturating_sub(h.requested_at)),
                    h.account.clone(),
                    h.asset.clone(),
                    amount,
                    usd,
                    reasons(h),
                    format!("{got}/{need}"),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let mut line = |cells: &[&str]| {
            let mut l = String::new();
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if i + 1 == cells.len() {
                    l.push_str(cell);
                } else {
                    let _ = write!(l, "{cell:<w$}  ");
                }
            }
            out.push_str(l.trim_end());
            out.push('\n');
        };
        line(&header);
        for row in &rows {
            line(&row.each_ref().map(String::as_str));
        }
        out
    }

    /// One hold, every field.
    pub(super) fn show(doc: &HoldDoc, now: u64) -> String {
        let mut out = String::new();
        let mut field = |name: &str, value: String| {
            let _ = writeln!(out, "{name:<12}{value}");
        };
        field("hold", doc.id.clone());
        let (got, need) = doc.approvals();
        field(
            "state",
            format!("{} ({got} of {need} approvals)", doc.state),
        );
        field(
            "requested",
            format!("{} ({})", utc(doc.requested_at), ago(doc.requested_at, now)),
        );
        if let Some(at) = doc.expires_at {
            field("expires", format!("{} ({})", utc(at), ago(at, now)));
        }
        field("account", doc.account.clone());
        field("asset", format!("{} on {}", doc.asset, doc.chain));
        field("destination", doc.destination.clone());
        let (amount, dollars) = amount(doc);
        field("amount", format!("{amount} (minor units), {dollars}"));
        for (i, r) in doc.decision.reasons.iter().enumerate() {
            let by = r
                .policy
                .as_deref()
                .map(|p| format!(" [{p}]"))
                .unwrap_or_default();
            field(
                if i == 0 { "reasons" } else { "" },
                format!("{}: {}{by}", r.code, r.detail),
            );
        }
        for (i, h) in doc.decision.hits.iter().enumerate() {
            let label = h
                .label
                .as_deref()
                .map(|l| format!(" ({l})"))
                .unwrap_or_default();
            field(
                if i == 0 { "hits" } else { "" },
                format!("{} {}: {}{label}", h.list, h.list_version, h.address),
            );
        }
        match &doc.decision.review {
            None => field("review", "none recorded (an earlier version's hold)".into()),
            Some(r) => {
                if r.entries.is_empty() {
                    field("review", "no action yet".into());
                }
                for (i, e) in r.entries.iter().enumerate() {
                    let note = if e.note.is_empty() {
                        String::new()
                    } else {
                        format!(" {:?}", e.note)
                    };
                    field(
                        if i == 0 { "review" } else { "" },
                        format!(
                            "{} {} by {}{note}",
                            utc(e.at),
                            e.action.as_str(),
                            e.reviewer
                        ),
                    );
                }
                if let Some(at) = r.resolved_at {
                    field("resolved", format!("{} ({})", utc(at), ago(at, now)));
                }
                if let Some(at) = r.counted_at {
                    field("counted", format!("in velocity from {}", utc(at)));
                }
            }
        }
        for (i, w) in doc.windows.iter().enumerate() {
            field(
                if i == 0 { "windows" } else { "" },
                format!(
                    "account {}: {} withdrawals, {}",
                    window(w.window_ms),
                    w.count,
                    usd(w.usd_cents)
                ),
            );
        }
        out
    }

    /// What an action did, one line.
    pub(super) fn outcome(doc: &HoldDoc, action: ReviewAction) -> String {
        let (got, need) = doc.approvals();
        let counted = doc
            .decision
            .review
            .as_ref()
            .and_then(|r| r.counted_at)
            .map(|at| format!("; counted in velocity from {}", utc(at)))
            .unwrap_or_default();
        match (doc.changed, action, doc.state) {
            (Some(false), _, _) => format!(
                "{}: unchanged, already {} ({got} of {need} approvals){counted}",
                doc.id, doc.state
            ),
            (_, ReviewAction::Approve, HoldState::Pending) => format!(
                "{}: approval recorded ({got} of {need}); still pending",
                doc.id
            ),
            _ => format!(
                "{}: {} ({got} of {need} approvals){counted}",
                doc.id, doc.state
            ),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn dates_and_spans() {
            assert_eq!(utc(0), "1970-01-01T00:00:00.000Z");
            assert_eq!(utc(1_795_564_800_123), "2026-11-25T00:00:00.123Z");
            assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
            assert_eq!(span(59_999), "59s");
            assert_eq!(span(3_600_000), "1h");
            assert_eq!(span(3 * 86_400_000 + 5), "3d");
            assert_eq!(usd(2005), "$20.05");
            assert_eq!(super::super::remote::encode("a b/é"), "a%20b%2F%C3%A9");
        }
    }
}
