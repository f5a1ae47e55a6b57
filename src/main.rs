//! The `paxrisk` binary: parse arguments, run, exit with the code DESIGN.md defines.

use std::io::IsTerminal;

use clap::Parser;

/// mimalloc instead of glibc malloc: ingest builds and drops millions of small strings from
/// several threads, and glibc spent about a third of the run walking its free lists.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    /// mimalloc's option setter (`mi_option_set` in `mimalloc.h`), from the library the allocator
    /// links in.
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in the `mi_option_e` enumeration of mimalloc 2 and 3.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// Freed memory goes back to the OS after a second unused instead of mimalloc's 10 ms: ingest
/// frees and allocates hundreds of megabytes per round of files, and with the default the kernel
/// zeroed fresh pages for about 15% of ingest's time (`perf`: `clear_page_erms`). Measured at
/// 100,000 PNRs: user + system time of `paxrisk ingest` from 23.3 s to 19.4 s. `MIMALLOC_PURGE_DELAY`
/// in the environment still decides when set.
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a plain integer option; mimalloc reads it at each purge decision.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 1000) };
    }
}

fn main() {
    tune_allocator();
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
