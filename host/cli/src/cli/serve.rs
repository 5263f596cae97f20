//! `riskgate serve`: the gate over HTTP (see `riskgate_serve`).

use super::EXIT_USAGE;
use super::check::{GateArgs, build_reported, load_error};
use super::velocity::VelocityArgs;
use clap::Args;
use riskgate_serve::Service;
use riskgate_serve::config::{Config, DecisionLogConfig, ListenAddr};
use riskgate_serve::decision_log::{DecisionLog, LogOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
pub struct ServeArgs {
    /// A TOML configuration file (see README): policies with sha256 pins
    /// and modes, lists, velocity, decision log, limits, admin token,
    /// signatures. Without it, the gate flags below (by default the bundled
    /// policies and sample list).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    gate: GateArgs,
    /// Address to listen on (port 0 picks a free one; the bound address is
    /// printed on stderr), or `unix:PATH` for a Unix domain socket (for a
    /// client on the same machine; a stale socket file is replaced, the
    /// file is removed at exit). Default: the config's, else 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR:PORT|unix:PATH")]
    listen: Option<ListenAddr>,
    /// With `--listen unix:PATH`: the socket file's permission bits, in
    /// octal (`660`: owner and group may connect). Default: the config's,
    /// else what the umask gives.
    #[arg(long, value_name = "OCTAL", value_parser = octal_mode)]
    socket_mode: Option<u32>,
    /// Write the decision log in DIR (without a config).
    #[arg(long, value_name = "DIR")]
    decision_log: Option<PathBuf>,
    /// Return a decision only once its log record is synced to disk.
    #[arg(long, requires = "decision_log")]
    durable_log: bool,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    // The signal handlers first: a SIGTERM or SIGHUP while the gate is
    // built (or before the listener is bound) is taken then, never the
    // default action that kills the process.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let signals = {
        let _in = runtime.enter();
        Signals::install()?
    };
    // Test hooks (crash tests) read now; unset in production.
    riskgate_serve::fault::init();
    let mut config = match &args.config {
        Some(path) => {
            if args.gate.any_given() || args.decision_log.is_some() {
                eprintln!(
                    "error: --config holds the policies, lists, velocity store and decision log; \
                     give them there, not as flags"
                );
                return Ok(ExitCode::from(EXIT_USAGE));
            }
            match Config::from_file(path) {
                Ok(c) => c,
                Err(e) => return Ok(load_error(&e.what, e.message)),
            }
        }
        None => {
            let mut c = args.gate.config();
            c.decision_log = args.decision_log.clone().map(|dir| DecisionLogConfig {
                dir,
                durable: args.durable_log,
                max_bytes: riskgate_serve::decision_log::DEFAULT_MAX_BYTES,
                keep: 0,
            });
            c
        }
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(mode) = args.socket_mode {
        config.socket_mode = Some(mode);
    }
    if config.socket_mode.is_some() && !matches!(config.listen, ListenAddr::Unix(_)) {
        eprintln!(
            "error: a socket mode is for a unix:PATH listen address, not {}",
            config.listen
        );
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let velocity = match velocity_of(&config).open() {
        Ok(v) => v,
        Err(e) => return Ok(load_error("velocity", e)),
    };
    let built = match build_reported(&config, velocity.clone()) {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    let log = match &config.decision_log {
        None => None,
        Some(d) => {
            let options = LogOptions {
                dir: config.resolve(&d.dir),
                durable: d.durable,
                max_bytes: d.max_bytes,
                keep: d.keep,
            };
            match DecisionLog::open(&options) {
                Ok(log) => Some(log),
                Err(e) => return Ok(load_error("decision log", e)),
            }
        }
    };
    let listen = config.listen.clone();
    let socket_mode = config.socket_mode;
    let server = config.server.clone();
    let service = match Service::new(config, args.config.clone(), built, velocity, log) {
        Ok(s) => Arc::new(s),
        Err(e) => return Ok(load_error(&e.what, e.message)),
    };
    let Signals { stop, hangup } = signals;
    let code = runtime.block_on(async move {
        let serving = |shown: String| {
            tokio::spawn(reload_on_hangup(service.clone(), hangup));
            eprintln!("riskgate serve: listening on {shown}");
        };
        match &listen {
            ListenAddr::Tcp(addr) => {
                let listener = match tokio::net::TcpListener::bind(addr).await {
                    Ok(l) => l,
                    Err(e) => return Ok(load_error(&format!("listen {listen}"), e)),
                };
                serving(format!("http://{}", listener.local_addr()?));
                riskgate_serve::run(listener, service, server, stop).await?;
            }
            ListenAddr::Unix(path) => {
                let (listener, file) = match riskgate_serve::server::bind_unix(path, socket_mode) {
                    Ok(l) => l,
                    Err(e) => return Ok(load_error(&format!("listen {listen}"), e)),
                };
                serving(listen.to_string());
                riskgate_serve::run(listener, service, server, stop).await?;
                drop(file);
            }
        }
        eprintln!("riskgate serve: stopped");
        anyhow::Ok(ExitCode::SUCCESS)
    });
    // A decision still on the blocking pool after the grace period does
    // not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    code
}

/// Permission bits in octal (`660`, `0660` or `0o660`).
fn octal_mode(s: &str) -> Result<u32, String> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    match u32::from_str_radix(digits, 8) {
        Ok(m) if m <= 0o777 => Ok(m),
        _ => Err(format!(
            "`{s}` is not permission bits in octal (000 to 777)"
        )),
    }
}

/// The velocity store `config` names (a directory relative to the
/// config file's).
pub(super) fn velocity_of(config: &Config) -> VelocityArgs {
    VelocityArgs {
        velocity: config.velocity.as_ref().map(|v| {
            if v == "memory" || v.contains("://") {
                v.clone()
            } else {
                config.resolve(Path::new(v)).display().to_string()
            }
        }),
    }
}

/// The signals `serve` handles, installed before anything else.
struct Signals {
    /// Ctrl-C or SIGTERM.
    stop: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
    #[cfg(not(unix))]
    hangup: (),
}

impl Signals {
    #[cfg(unix)]
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let hangup = signal(SignalKind::hangup())?;
        Ok(Signals {
            stop: Box::pin(async move {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }),
            hangup,
        })
    }

    #[cfg(not(unix))]
    fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            stop: Box::pin(async {
                let _ = tokio::signal::ctrl_c().await;
            }),
            hangup: (),
        })
    }
}

/// SIGHUP: reload, as `POST /v1/admin/reload` does; the outcome on stderr.
#[cfg(unix)]
async fn reload_on_hangup(service: Arc<Service>, mut hangups: tokio::signal::unix::Signal) {
    {
        while hangups.recv().await.is_some() {
            let service = service.clone();
            match tokio::task::spawn_blocking(move || service.reload()).await {
                Ok(r) if r.ok => eprintln!(
                    "riskgate serve: reloaded (SIGHUP): generation {}{}",
                    r.generation,
                    if r.restart_required.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; needs a restart to change: {}",
                            r.restart_required.join(", ")
                        )
                    }
                ),
                Ok(r) => eprintln!(
                    "riskgate serve: reload (SIGHUP) failed, still serving generation {}: {}",
                    r.generation,
                    r.error.unwrap_or_default()
                ),
                Err(e) => eprintln!("riskgate serve: reload (SIGHUP) did not finish: {e}"),
            }
        }
    }
}

#[cfg(not(unix))]
async fn reload_on_hangup(_service: Arc<Service>, _hangups: ()) {}
