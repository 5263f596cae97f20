//! `riskgate address CHAIN ADDRESS`.

use clap::Args;
use std::io::Write;
use std::process::ExitCode;

#[derive(Args)]
pub struct AddressArgs {
    /// Chain name (ethereum, bsc, arbitrum, bitcoin, tron, ...), or `any` to infer it.
    chain: String,
    /// The address as typed.
    address: String,
}

pub fn run(args: AddressArgs) -> anyhow::Result<ExitCode> {
    let parsed = if args.chain == "any" {
        riskgate::address::canonicalize_any(&args.address)
    } else {
        riskgate::address::canonicalize(&args.chain, &args.address)
    };
    match parsed {
        Ok(canonical) => {
            writeln!(std::io::stdout().lock(), "{canonical}")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("invalid {} address: {e}", args.chain);
            Ok(ExitCode::FAILURE)
        }
    }
}
