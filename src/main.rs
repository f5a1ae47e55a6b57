//! The `paxrisk` binary: parse arguments, run, exit with the code DESIGN.md defines.

use std::io::IsTerminal;

use clap::Parser;

/// mimalloc instead of glibc malloc: ingest builds and drops millions of small strings from
/// several threads, and glibc spent about a third of the run walking its free lists.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Logs go to stderr through `tracing`; RUST_LOG selects them (default: warnings and errors).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = paxrisk::cli::Cli::parse();
    std::process::exit(paxrisk::cli::run_cli(cli));
}
