//! `riskgate load`: drives a running `riskgate serve` with withdrawals over
//! keep-alive HTTP/1.1 connections and reports throughput and latency.
//!
//! The withdrawals are the demo stream (`riskgate_bench::demo`), serialised once
//! into templates; a request only writes in what must be fresh: the id
//! (`load-RUN-SEQ`, unique per run), the account's run-and-pass prefix
//! (`RUN.PASS.acct-…`, so velocity windows of an earlier run or pass over
//! the pool do not hold everything of this one) and the timestamps
//! (`requested_at` is the wall clock at send time, the others keep their
//! distance from it, so "credential changed an hour ago" stays true).
//!
//! Closed loop by default: each connection has one request in flight and
//! sends the next when the answer is in. With `--rate` the sends are
//! scheduled (connection `c` takes slots `c`, `c + N`, ... of a global
//! schedule) and a request that waits because its connection is still busy
//! is timed from its scheduled slot, so a slow server is not hidden by the
//! generator backing off (coordinated omission). A request whose connection
//! was idle is timed from its actual send: the lateness of the generator's
//! own timer (tokio's is 1 ms) is not the server's, and is reported apart.

use super::endpoint::{ConnectError, Endpoint};
use anyhow::{Context, bail};
use clap::Args;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode, Uri, header};
use riskgate::model::GateCode;
use riskgate::{Verdict, bundled};
use riskgate_bench::demo;
use serde::Deserialize;
use serde_json::json;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::time::{sleep, sleep_until, timeout};

/// A request unanswered for this long counts as a timeout (and its
/// connection is replaced).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause before reconnecting after a failed connect.
const RECONNECT_PAUSE: Duration = Duration::from_millis(20);

#[derive(Args)]
pub struct LoadArgs {
    /// Base URL of the server; requests go to {URL}/v1/evaluate. A server
    /// on a Unix domain socket (`serve --listen unix:PATH`): `unix:PATH`.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Keep-alive HTTP/1.1 connections, each with one request in flight.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    connections: u32,
    /// Measured seconds.
    #[arg(long, default_value = "10", value_name = "SECS", value_parser = seconds)]
    duration: f64,
    /// Seconds of load before the measurement starts (not measured).
    #[arg(long, default_value = "2", value_name = "SECS", value_parser = seconds)]
    warmup: f64,
    /// Withdrawals per request: 1 sends one object, more a JSON array of
    /// them (each counted as an evaluation).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=riskgate_serve::MAX_BATCH as i64))]
    batch: u32,
    /// Open loop: requests per second across all connections, on a fixed
    /// schedule (latency counted from the scheduled send). Default: closed
    /// loop, as fast as the answers come.
    #[arg(long, value_name = "REQ_PER_S")]
    rate: Option<f64>,
    /// Tokio worker threads of the generator (1 leaves the other cores to
    /// the server).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: u32,
    /// Seed of the demo stream the withdrawals come from.
    #[arg(long, default_value_t = 2025)]
    seed: u64,
    /// Withdrawals generated up front and cycled through (each pass with
    /// fresh ids, accounts and timestamps).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1_000..=10_000_000))]
    pool: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// The server's process id, when it runs on this machine: its CPU time
    /// over the measured seconds (from /proc) is reported per request, and
    /// beside it the service overhead measured in the server: that CPU
    /// time per request minus the gate's own time deciding the request's
    /// withdrawals (their `latency_ns`).
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,
}

/// CPU time (user + system) of process `pid` so far, from /proc.
fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| Duration::from_secs_f64(ticks as f64 / hz as f64))
}

fn seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() && (0.0..=86_400.0).contains(&v) {
        Ok(v)
    } else {
        Err("seconds between 0 and 86400".into())
    }
}

/// Why one request failed.
#[derive(Debug, thiserror::Error)]
enum RequestError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("transport: {0}")]
    Transport(#[source] hyper::Error),
    #[error("no answer within {REQUEST_TIMEOUT:?}")]
    Timeout,
    #[error("status {status}: {body}")]
    Status { status: StatusCode, body: String },
    #[error("bad body: {0}")]
    BadBody(String),
}

/// Where the requests go.
struct Target {
    endpoint: Endpoint,
    /// `{base}/v1/evaluate`.
    uri: Uri,
}

impl Target {
    fn parse(url: &str) -> anyhow::Result<Target> {
        let endpoint = Endpoint::parse(url)?;
        let uri: Uri = format!("{}/v1/evaluate", endpoint.base).parse()?;
        Ok(Target { endpoint, uri })
    }
}

/// A withdrawal of the pool, serialised but for its fresh parts.
struct Template {
    /// From the account name (after the run prefix) up to `requested_at`:
    /// `acct-000123","asset":"ETH",…,"usd_cents":500`.
    middle: Box<str>,
    /// `,"field":` and its distance in ms from `requested_at`.
    times: Vec<(&'static str, i64)>,
}

impl Template {
    fn new(w: &riskgate::Withdrawal) -> Template {
        use std::fmt::Write as _;
        let text = |s: &str| serde_json::to_string(s).expect("a string serialises");
        let mut middle = text(&w.account)[1..].to_string();
        for (key, value) in [
            ("asset", &w.asset),
            ("chain", &w.chain),
            ("destination", &w.destination),
        ] {
            let _ = write!(middle, ",\"{key}\":{}", text(value));
        }
        let _ = write!(
            middle,
            ",\"amount\":{},\"decimals\":{}",
            w.amount, w.decimals
        );
        if let Some(usd) = w.usd_cents {
            let _ = write!(middle, ",\"usd_cents\":{usd}");
        }
        let at = w.requested_at as i64;
        let times = [
            (",\"account_created_at\":", w.account_created_at),
            (",\"credential_changed_at\":", w.credential_changed_at),
            (
                ",\"destination_first_used_at\":",
                w.destination_first_used_at,
            ),
        ]
        .into_iter()
        .filter_map(|(key, t)| t.map(|t| (key, t as i64 - at)))
        .collect();
        Template {
            middle: middle.into(),
            times,
        }
    }
}

/// The withdrawals to send and how to make each request's body.
struct Pool {
    templates: Vec<Template>,
    /// `load-RUN-`: the id is this and the sequence number.
    id_prefix: String,
    run: String,
}

impl Pool {
    fn new(n: usize, seed: u64, run: String) -> Pool {
        let designated = bundled::sample_addresses();
        let templates = demo::generate(n, seed, &designated)
            .iter()
            .map(|g| Template::new(&g.withdrawal))
            .collect();
        Pool {
            templates,
            id_prefix: format!("load-{run}-"),
            run,
        }
    }

    /// The body of the request whose withdrawals are `seq..seq + batch`.
    fn body(&self, seq: u64, batch: u32, now_ms: u64, out: &mut Vec<u8>) {
        let mut num = itoa::Buffer::new();
        out.clear();
        if batch > 1 {
            out.push(b'[');
        }
        for i in 0..u64::from(batch) {
            if i > 0 {
                out.push(b',');
            }
            let seq = seq + i;
            let n = self.templates.len() as u64;
            let t = &self.templates[(seq % n) as usize];
            out.extend_from_slice(b"{\"id\":\"");
            out.extend_from_slice(self.id_prefix.as_bytes());
            out.extend_from_slice(num.format(seq).as_bytes());
            out.extend_from_slice(b"\",\"account\":\"");
            out.extend_from_slice(self.run.as_bytes());
            out.push(b'.');
            out.extend_from_slice(num.format(seq / n).as_bytes());
            out.push(b'.');
            out.extend_from_slice(t.middle.as_bytes());
            out.extend_from_slice(b",\"requested_at\":");
            out.extend_from_slice(num.format(now_ms).as_bytes());
            for (key, delta) in &t.times {
                out.extend_from_slice(key.as_bytes());
                let at = (now_ms as i64).saturating_add(*delta).max(0);
                out.extend_from_slice(num.format(at).as_bytes());
            }
            out.push(b'}');
        }
        if batch > 1 {
            out.push(b']');
        }
    }

    /// Whether `id` is the one sent as sequence number `seq`.
    fn is_id(&self, id: &str, seq: u64) -> bool {
        id.strip_prefix(&self.id_prefix)
            .and_then(|n| n.parse::<u64>().ok())
            == Some(seq)
    }
}

/// The part of a decision the generator checks and counts.
#[derive(Deserialize)]
struct DecisionView<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    verdict: Verdict,
    #[serde(default, borrow)]
    reasons: Vec<ReasonView<'a>>,
    #[serde(default)]
    replayed: bool,
    /// The gate's own time for the decision, ns.
    #[serde(default)]
    latency_ns: u64,
}

#[derive(Deserialize)]
struct ReasonView<'a> {
    #[serde(borrow)]
    code: Cow<'a, str>,
}

#[derive(Deserialize)]
struct BatchView<'a> {
    #[serde(borrow)]
    decisions: Vec<DecisionView<'a>>,
}

/// Failed requests by kind.
#[derive(Default, Clone)]
struct Errors {
    connect: u64,
    transport: u64,
    timeout: u64,
    status: BTreeMap<u16, u64>,
    bad_body: u64,
}

impl Errors {
    fn add(&mut self, e: &RequestError) {
        match e {
            RequestError::Connect(_) => self.connect += 1,
            RequestError::Transport(_) => self.transport += 1,
            RequestError::Timeout => self.timeout += 1,
            RequestError::Status { status, .. } => {
                *self.status.entry(status.as_u16()).or_default() += 1
            }
            RequestError::BadBody(_) => self.bad_body += 1,
        }
    }

    fn total(&self) -> u64 {
        self.connect
            + self.transport
            + self.timeout
            + self.bad_body
            + self.status.values().sum::<u64>()
    }

    fn merge(&mut self, o: &Errors) {
        self.connect += o.connect;
        self.transport += o.transport;
        self.timeout += o.timeout;
        self.bad_body += o.bad_body;
        for (code, n) in &o.status {
            *self.status.entry(*code).or_default() += n;
        }
    }
}

/// Counts of one phase (warm-up or measured).
#[derive(Default, Clone)]
struct Counts {
    /// Requests answered 200 with the expected decisions.
    requests: u64,
    evaluations: u64,
    allow: u64,
    hold: u64,
    deny: u64,
    /// Decisions with a `gate.*` reason, and those codes.
    faults: u64,
    fault_codes: BTreeMap<String, u64>,
    replayed: u64,
    /// The gate's own time deciding the answered withdrawals (the sum of
    /// their `latency_ns`).
    decided_ns: u64,
    errors: Errors,
}

impl Counts {
    fn merge(&mut self, o: &Counts) {
        self.requests += o.requests;
        self.evaluations += o.evaluations;
        self.allow += o.allow;
        self.hold += o.hold;
        self.deny += o.deny;
        self.faults += o.faults;
        for (code, n) in &o.fault_codes {
            *self.fault_codes.entry(code.clone()).or_default() += n;
        }
        self.replayed += o.replayed;
        self.decided_ns += o.decided_ns;
        self.errors.merge(&o.errors);
    }

    fn decision(&mut self, d: &DecisionView<'_>) {
        self.evaluations += 1;
        match d.verdict {
            Verdict::Allow => self.allow += 1,
            Verdict::Hold => self.hold += 1,
            Verdict::Deny => self.deny += 1,
        }
        let mut fault = false;
        for r in d.reasons.iter().filter(|r| GateCode::is_gate(&r.code)) {
            fault = true;
            *self.fault_codes.entry(r.code.to_string()).or_default() += 1;
        }
        self.faults += u64::from(fault);
        self.replayed += u64::from(d.replayed);
    }
}

/// What one connection saw.
struct Stats {
    warmup: Counts,
    measured: Counts,
    /// Latency of the measured successful requests, ns.
    latency: Histogram<u64>,
    /// Of each measured request's latency, what is not the gate deciding
    /// its withdrawals (the sum of their `latency_ns`): HTTP, scheduling,
    /// parsing and encoding, the syncs, on both ends; ns.
    overhead: Histogram<u64>,
    /// Open loop: how late the generator sent a request its idle connection
    /// was scheduled to send, ns.
    lag: Histogram<u64>,
    /// Open loop: scheduled requests not sent by the end.
    unsent: u64,
    first_error: Option<String>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1_000, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

impl Stats {
    fn new() -> Stats {
        Stats {
            warmup: Counts::default(),
            measured: Counts::default(),
            latency: histogram(),
            overhead: histogram(),
            lag: histogram(),
            unsent: 0,
            first_error: None,
        }
    }

    fn error(&mut self, measured: bool, e: RequestError) {
        let counts = if measured {
            &mut self.measured
        } else {
            &mut self.warmup
        };
        counts.errors.add(&e);
        if self.first_error.is_none() {
            self.first_error = Some(e.to_string());
        }
    }

    fn merge(&mut self, o: &Stats) {
        self.warmup.merge(&o.warmup);
        self.measured.merge(&o.measured);
        self.latency.add(&o.latency).expect("same bounds");
        self.overhead.add(&o.overhead).expect("same bounds");
        self.lag.add(&o.lag).expect("same bounds");
        self.unsent += o.unsent;
        if self.first_error.is_none() {
            self.first_error.clone_from(&o.first_error);
        }
    }
}

/// Shared by every connection.
struct Run {
    target: Target,
    pool: Pool,
    batch: u32,
    connections: u32,
    /// Open loop: requests per second.
    rate: Option<f64>,
    start: Instant,
    warm_end: Instant,
    end: Instant,
    /// Next withdrawal sequence number.
    seq: AtomicU64,
}

type Sender = SendRequest<Full<Bytes>>;

async fn connect(target: &Target) -> Result<Sender, RequestError> {
    Ok(target.endpoint.connect().await?)
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One request: its status and body.
async fn exchange(sender: &mut Sender, req: Request<Full<Bytes>>) -> Result<Bytes, RequestError> {
    let res = sender
        .send_request(req)
        .await
        .map_err(RequestError::Transport)?;
    let status = res.status();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(RequestError::Transport)?
        .to_bytes();
    if status != StatusCode::OK {
        let body = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        return Err(RequestError::Status { status, body });
    }
    Ok(body)
}

/// Checks an answer and counts its decisions; the sum of their
/// `latency_ns` (the gate's own time deciding them).
fn tally(run: &Run, seq: u64, body: &[u8], counts: &mut Counts) -> Result<u64, RequestError> {
    let bad = |what: String| RequestError::BadBody(what);
    let decisions: Vec<DecisionView<'_>> = if run.batch > 1 {
        serde_json::from_slice::<BatchView<'_>>(body)
            .map_err(|e| bad(format!("not a batch of decisions: {e}")))?
            .decisions
    } else {
        vec![
            serde_json::from_slice::<DecisionView<'_>>(body)
                .map_err(|e| bad(format!("not a decision: {e}")))?,
        ]
    };
    if decisions.len() != run.batch as usize {
        return Err(bad(format!(
            "{} decisions for {} withdrawals",
            decisions.len(),
            run.batch
        )));
    }
    for (i, d) in decisions.iter().enumerate() {
        if !run.pool.is_id(&d.id, seq + i as u64) {
            return Err(bad(format!("decision {i} is for `{}`", d.id)));
        }
    }
    counts.requests += 1;
    for d in &decisions {
        counts.decision(d);
    }
    let decided = decisions.iter().map(|d| d.latency_ns).sum();
    counts.decided_ns += decided;
    Ok(decided)
}

/// One connection's loop until the end of the run.
async fn drive(run: Arc<Run>, index: u32, mut sender: Option<Sender>) -> Stats {
    let mut stats = Stats::new();
    let mut buf = Vec::with_capacity(512 * run.batch as usize);
    // Open loop: this connection's next slot of the global schedule, and
    // when its previous request was answered.
    let mut slot = u64::from(index);
    let mut free_at = run.start;
    loop {
        let scheduled = match run.rate {
            Some(rate) => {
                let at = run.start + Duration::from_secs_f64(slot as f64 / rate);
                if at >= run.end {
                    break;
                }
                if Instant::now() >= run.end {
                    // Behind schedule: count what will not be sent.
                    let total = (run.end - run.start).as_secs_f64() * rate;
                    let slots = ((total - slot as f64) / f64::from(run.connections)).ceil();
                    stats.unsent += slots.max(0.0) as u64;
                    break;
                }
                slot += u64::from(run.connections);
                if at > Instant::now() {
                    sleep_until(at.into()).await;
                }
                Some(at)
            }
            None => None,
        };
        let now = Instant::now();
        if scheduled.is_none() && now >= run.end {
            break;
        }
        let measured = scheduled.unwrap_or(now) >= run.warm_end;
        let s = match &mut sender {
            Some(s) if !s.is_closed() => s,
            _ => match connect(&run.target).await {
                Ok(s) => sender.insert(s),
                Err(e) => {
                    sender = None;
                    stats.error(measured, e);
                    sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            },
        };
        if let Err(e) = s.ready().await {
            sender = None;
            stats.error(measured, RequestError::Transport(e));
            continue;
        }
        let seq = run.seq.fetch_add(u64::from(run.batch), Ordering::Relaxed);
        run.pool.body(seq, run.batch, wall_ms(), &mut buf);
        let req = Request::builder()
            .method(Method::POST)
            .uri(run.target.uri.clone())
            .header(header::HOST, run.target.endpoint.authority.as_str())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::copy_from_slice(&buf)))
            .expect("a valid request");
        let sent = Instant::now();
        let from = match scheduled {
            // The connection was busy at the slot: the wait is the server's.
            Some(at) if free_at > at => at,
            Some(at) => {
                stats.lag.saturating_record((sent - at).as_nanos() as u64);
                sent
            }
            None => sent,
        };
        let answer = timeout(REQUEST_TIMEOUT, exchange(s, req)).await;
        let done = Instant::now();
        free_at = done;
        let result = match answer {
            Err(_) => Err(RequestError::Timeout),
            Ok(Err(e)) => Err(e),
            Ok(Ok(body)) => {
                let counts = if measured {
                    &mut stats.measured
                } else {
                    &mut stats.warmup
                };
                tally(&run, seq, &body, counts)
            }
        };
        match result {
            Ok(decided_ns) if measured => {
                let latency = (done - from).as_nanos() as u64;
                stats.latency.saturating_record(latency);
                stats
                    .overhead
                    .saturating_record(latency.saturating_sub(decided_ns));
            }
            Ok(_) => {}
            Err(e) => {
                if matches!(e, RequestError::Timeout | RequestError::Transport(_)) {
                    sender = None;
                }
                stats.error(measured, e);
            }
        }
    }
    stats
}

/// CPU time of this process so far (user + system, every thread).
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

pub fn run(args: LoadArgs) -> anyhow::Result<ExitCode> {
    if let Some(rate) = args.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        bail!("--rate must be a positive number of requests per second");
    }
    if args.duration <= 0.0 {
        bail!("--duration must be above zero");
    }
    let target = Target::parse(&args.url)?;
    let run_id = format!(
        "{:08x}",
        getrandom::u32().map_err(|e| anyhow::anyhow!("random run id: {e}"))?
    );
    let made = Instant::now();
    let pool = Pool::new(args.pool as usize, args.seed, run_id.clone());
    let pool_time = made.elapsed();

    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads as usize)
            .enable_all()
            .build()?
    };
    let (stats, cpu, server_cpu) = runtime.block_on(async {
        // Connect first, so the run starts with every connection open.
        let mut senders = Vec::new();
        let mut early = Stats::new();
        for _ in 0..args.connections {
            match connect(&target).await {
                Ok(s) => senders.push(Some(s)),
                Err(e) => {
                    early.error(args.warmup == 0.0, e);
                    senders.push(None);
                }
            }
        }
        let start = Instant::now();
        let warm_end = start + Duration::from_secs_f64(args.warmup);
        let end = warm_end + Duration::from_secs_f64(args.duration);
        let run = Arc::new(Run {
            target,
            pool,
            batch: args.batch,
            connections: args.connections,
            rate: args.rate,
            start,
            warm_end,
            end,
            seq: AtomicU64::new(0),
        });
        let tasks: Vec<_> = senders
            .into_iter()
            .zip(0..)
            .map(|(sender, i)| tokio::spawn(drive(run.clone(), i, sender)))
            .collect();
        sleep_until(warm_end.into()).await;
        let cpu0 = cpu_time();
        let server0 = args.server_pid.and_then(process_cpu);
        sleep_until(end.into()).await;
        let cpu = cpu_time().saturating_sub(cpu0);
        let server_cpu = args
            .server_pid
            .and_then(process_cpu)
            .zip(server0)
            .map(|(b, a)| b.saturating_sub(a));
        let mut stats = early;
        for task in tasks {
            stats.merge(&task.await.context("a connection task panicked")?);
        }
        anyhow::Ok((stats, cpu, server_cpu))
    })?;

    let report = Report {
        args: &args,
        run_id: &run_id,
        stats: &stats,
        cpu,
        server_cpu,
        pool_time,
    };
    if args.json {
        println!("{}", report.json());
    } else {
        report.table(&mut std::io::stdout().lock())?;
    }
    if let Some(e) = &stats.first_error {
        eprintln!("riskgate load: first error: {e}");
    }
    let failed = stats.measured.errors.total() + stats.warmup.errors.total();
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

struct Report<'a> {
    args: &'a LoadArgs,
    run_id: &'a str,
    stats: &'a Stats,
    cpu: Duration,
    /// The server's CPU time over the measured seconds (`--server-pid`).
    server_cpu: Option<Duration>,
    pool_time: Duration,
}

impl Report<'_> {
    fn per_s(&self, n: u64) -> f64 {
        n as f64 / self.args.duration
    }

    fn us(h: &Histogram<u64>, q: f64) -> f64 {
        if h.is_empty() {
            0.0
        } else {
            h.value_at_quantile(q) as f64 / 1e3
        }
    }

    fn percentiles(h: &Histogram<u64>) -> [(&'static str, f64); 6] {
        [
            ("p50", Self::us(h, 0.50)),
            ("p90", Self::us(h, 0.90)),
            ("p99", Self::us(h, 0.99)),
            ("p999", Self::us(h, 0.999)),
            ("max", h.max() as f64 / 1e3),
            ("mean", h.mean() / 1e3),
        ]
    }

    /// Server CPU per measured request, and what of it is not the gate
    /// deciding (minus the mean of the requests' summed `latency_ns`), µs.
    fn server_per_request_us(&self) -> Option<(f64, f64)> {
        let m = &self.stats.measured;
        let cpu = self.server_cpu?.as_secs_f64() * 1e6 / m.requests.max(1) as f64;
        let decided = m.decided_ns as f64 / 1e3 / m.requests.max(1) as f64;
        Some((cpu, cpu - decided))
    }

    /// Generator CPU per measured request, µs.
    fn cpu_per_request_us(&self) -> f64 {
        let m = &self.stats.measured;
        let n = m.requests + m.errors.total();
        self.cpu.as_secs_f64() * 1e6 / n.max(1) as f64
    }

    fn json(&self) -> serde_json::Value {
        let (a, s, m) = (self.args, self.stats, &self.stats.measured);
        let pct = |h: &Histogram<u64>| {
            Self::percentiles(h)
                .into_iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect::<serde_json::Map<_, _>>()
        };
        let errors = |e: &Errors| {
            json!({
                "total": e.total(),
                "connect": e.connect,
                "transport": e.transport,
                "timeout": e.timeout,
                "status": e.status.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
                "bad_body": e.bad_body,
            })
        };
        json!({
            "url": a.url,
            "run_id": self.run_id,
            "connections": a.connections,
            "batch": a.batch,
            "threads": a.threads,
            "rate": a.rate,
            "duration_s": a.duration,
            "warmup_s": a.warmup,
            "seed": a.seed,
            "requests": m.requests,
            "evaluations": m.evaluations,
            "requests_per_s": self.per_s(m.requests),
            "evaluations_per_s": self.per_s(m.evaluations),
            "errors": errors(&m.errors),
            "verdicts": { "allow": m.allow, "hold": m.hold, "deny": m.deny },
            "faults": m.faults,
            "fault_codes": m.fault_codes,
            "replayed": m.replayed,
            "latency_us": pct(&s.latency),
            "overhead_us": pct(&s.overhead),
            "send_lag_us": a.rate.map(|_| pct(&s.lag)),
            "unsent": s.unsent,
            "warmup": {
                "requests": s.warmup.requests,
                "evaluations": s.warmup.evaluations,
                "errors": errors(&s.warmup.errors),
            },
            "generator_cpu_cores": self.cpu.as_secs_f64() / a.duration,
            "generator_cpu_us_per_request": self.cpu_per_request_us(),
            "decision_us_per_request": m.decided_ns as f64 / 1e3 / m.requests.max(1) as f64,
            "server_cpu_us_per_request": self.server_per_request_us().map(|(c, _)| c),
            "server_overhead_us_per_request": self.server_per_request_us().map(|(_, o)| o),
        })
    }

    fn table(&self, out: &mut impl Write) -> std::io::Result<()> {
        let (a, s, m) = (self.args, self.stats, &self.stats.measured);
        let mode = match a.rate {
            Some(r) => format!("open loop at {r:.0} req/s"),
            None => "closed loop".into(),
        };
        writeln!(
            out,
            "riskgate load: {} — {} connections, {mode}, batch {}, {} thread(s), {} s after {} s warm-up (run {})",
            self.args.url, a.connections, a.batch, a.threads, a.duration, a.warmup, self.run_id
        )?;
        writeln!(
            out,
            "pool: {} demo withdrawals (seed {}), made in {:.2} s",
            a.pool,
            a.seed,
            self.pool_time.as_secs_f64()
        )?;
        writeln!(out)?;
        writeln!(out, "{:<13} {:>12} {:>14}", "", "count", "per second")?;
        writeln!(
            out,
            "{:<13} {:>12} {:>14.0}",
            "requests",
            m.requests,
            self.per_s(m.requests)
        )?;
        writeln!(
            out,
            "{:<13} {:>12} {:>14.0}",
            "evaluations",
            m.evaluations,
            self.per_s(m.evaluations)
        )?;
        let e = &m.errors;
        let status: Vec<String> = e.status.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        writeln!(
            out,
            "{:<13} {:>12}   connect {}, transport {}, timeout {}, status {{{}}}, bad body {}",
            "errors",
            e.total(),
            e.connect,
            e.transport,
            e.timeout,
            status.join(", "),
            e.bad_body
        )?;
        if s.warmup.errors.total() > 0 {
            writeln!(
                out,
                "{:<13} {:>12}",
                "warm-up errs",
                s.warmup.errors.total()
            )?;
        }
        writeln!(out)?;
        let share = |n: u64| 100.0 * n as f64 / m.evaluations.max(1) as f64;
        writeln!(
            out,
            "verdicts: allow {} ({:.1}%), hold {} ({:.1}%), deny {} ({:.1}%); gate faults {}; replayed {}",
            m.allow,
            share(m.allow),
            m.hold,
            share(m.hold),
            m.deny,
            share(m.deny),
            m.faults,
            m.replayed
        )?;
        if !m.fault_codes.is_empty() {
            let codes: Vec<String> = m
                .fault_codes
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            writeln!(out, "gate fault reasons: {}", codes.join(", "))?;
        }
        writeln!(out)?;
        let line = |out: &mut dyn Write, what: &str, h: &Histogram<u64>| {
            let cells: Vec<String> = Self::percentiles(h)
                .iter()
                .map(|(k, v)| format!("{k} {:>8.3}", v / 1e3))
                .collect();
            writeln!(out, "{what:<13} {}   (ms)", cells.join("  "))
        };
        line(out, "latency", &s.latency)?;
        line(out, "overhead", &s.overhead)?;
        if a.rate.is_some() {
            line(out, "send lag", &s.lag)?;
            if s.unsent > 0 {
                writeln!(
                    out,
                    "behind schedule: {} requests not sent by the end",
                    s.unsent
                )?;
            }
        }
        writeln!(
            out,
            "generator CPU: {:.2} cores, {:.1} µs per request",
            self.cpu.as_secs_f64() / a.duration,
            self.cpu_per_request_us()
        )?;
        let m = &self.stats.measured;
        writeln!(
            out,
            "gate's own time (latency_ns): {:.1} µs per request; overhead: latency minus it",
            m.decided_ns as f64 / 1e3 / m.requests.max(1) as f64
        )?;
        if let Some((cpu, overhead)) = self.server_per_request_us() {
            writeln!(
                out,
                "server CPU: {:.2} cores, {cpu:.1} µs per request, of which {overhead:.1} µs beyond the gate's own time",
                self.server_cpu.unwrap_or_default().as_secs_f64() / a.duration,
            )?;
        }
        Ok(())
    }
}
