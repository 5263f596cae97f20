//! `riskgate serve`: the gate over HTTP (see `riskgate::serve`).

use super::check::{GateArgs, load_error};
use clap::Args;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    gate: GateArgs,
    /// Address to listen on (port 0 picks a free one; the bound address is
    /// printed on stderr).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    listen: SocketAddr,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let gate = match args.gate.build() {
        Ok(gate) => Arc::new(gate),
        Err(code) => return Ok(code),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(args.listen).await {
            Ok(l) => l,
            Err(e) => return Ok(load_error(&format!("listen {}", args.listen), e)),
        };
        eprintln!(
            "riskgate serve: listening on http://{}",
            listener.local_addr()?
        );
        riskgate::serve::run(listener, gate, shutdown()).await?;
        eprintln!("riskgate serve: stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// Ctrl-C or SIGTERM: stop taking connections and finish the requests in
/// flight.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
