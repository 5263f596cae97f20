//! The `riskgate` command: a thin shell over the library.

mod cli;

/// mimalloc in place of the system allocator: a decision allocates a few
/// dozen small blocks (strings, reasons, records, the JSON of a request),
/// on every core at once. An embedder of the library picks its own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
