//! The `paxrisk` binary: parse arguments, run, exit with the code DESIGN.md defines.

use clap::Parser;

fn main() {
    let cli = paxrisk::cli::Cli::parse();
    std::process::exit(paxrisk::cli::run_cli(cli));
}
