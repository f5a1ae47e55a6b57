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

/// `mi_option_allow_thp` in the `mi_option_e` enumeration of mimalloc 3 (the version the
/// `mimalloc` crate builds by default; it is 37 in mimalloc 2). Both indices were read from the
/// `mimalloc.h` of libmimalloc-sys 0.1.49; check them again when that crate is upgraded.
const MI_OPTION_ALLOW_THP: std::ffi::c_int = 43;

/// No transparent huge pages. mimalloc asks for them by default (`madvise`), and then the first
/// touch of any part of a 2 MiB region makes the kernel clear all of it: a quarter of ingest's
/// samples were `clear_page_erms` under huge-page faults, and the resident set counted the
/// partly used regions whole. Measured at 100,000 PNRs, three runs alternated with three with
/// huge pages: ingest 10.9, 11.2 and 9.9 CPU s against 13.4, 13.4 and 12.7, and the run's peak
/// 923–951 MiB against 1,008–1,030 (docs/performance.md, change 32). `MIMALLOC_ALLOW_THP` in
/// the environment still decides when set.
///
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
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: sets a plain integer option; mimalloc reads it each time it maps memory.
        unsafe { mi_option_set(MI_OPTION_ALLOW_THP, 0) };
        // What mimalloc itself does at start-up with `MIMALLOC_ALLOW_THP=0`, so that a system
        // whose transparent huge pages are `always` does not give them either. Failure (an old
        // kernel) only leaves the system's setting in force.
        #[cfg(target_os = "linux")]
        // SAFETY: PR_SET_THP_DISABLE takes integer arguments and changes only this process.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0)
        };
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
