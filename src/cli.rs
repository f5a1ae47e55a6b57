//! The command line: argument parsing and the report printed for an operator.
//!
//! `main.rs` stays thin: it parses, calls [`run_cli`], and exits with the code returned.
//! Exit codes follow DESIGN.md: 0 success, 1 finished but some input was rejected, 2 could not
//! be done.

// The doc comments below are also `--help`, where `OUT/<run-id>` is meant literally.
#![allow(rustdoc::invalid_html_tags)]

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::ingest::{self, IngestConfig, Ingested};
use crate::landing::parquet_out;

/// paxrisk: air-passenger risk targeting over PNRGOV and PAXLST files.
#[derive(Debug, Parser)]
#[command(name = "paxrisk", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest only: read PNRGOV files, write the landing tables as Parquet, print the counts and
    /// the files written.
    ///
    /// Every message and every PNR ends up loaded or in the `rejects` table; tolerated faults go to
    /// `diagnostics`. Exit code 1 means some input was rejected (the rest was loaded).
    Ingest {
        /// Input files or folders (searched recursively; hidden files are skipped).
        #[arg(long, required = true, num_args = 1..)]
        input: Vec<PathBuf>,
        /// Folder to write the landing Parquet set into
        /// (`<table>/dep_date=YYYY-MM-DD/part-<seq>-<batch>.parquet`), table by table while ingest
        /// runs.
        #[arg(long)]
        landing: PathBuf,
        /// Rule pack whose `reference/airports.csv` and `lists/sensitive_ssr.csv` are used.
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// The nightly batch: ingest, views, rules, scores; writes a new run folder under --out.
    ///
    /// With no arguments it runs sample-data/ with the rules/ pack into out/. The run folder
    /// (OUT/<run-id>/) appears only when complete: scores.parquet, review.parquet, hits.parquet,
    /// rejects.parquet, diagnostics.parquet and manifest.json. Exit code 1: the run finished but
    /// some input was rejected or a rule failed; 2: it could not be done.
    #[cfg(feature = "engine")]
    Run {
        /// Input files or folders (searched recursively; hidden files are skipped).
        #[arg(long, num_args = 1.., default_value = "sample-data")]
        input: Vec<PathBuf>,
        /// Rule pack folder.
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
        /// Folder that receives the run folder.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// The time the run is as of (RFC 3339, e.g. 2026-11-28T22:00:00Z); default now. Two runs
        /// with the same inputs, rule pack and --as-of give the same rows in the same order.
        #[arg(long, value_parser = parse_as_of)]
        as_of: Option<chrono::DateTime<chrono::Utc>>,
        /// Write the landing tables as Parquet under this folder, and run from there: tables are
        /// written while ingest runs and views are computed into Parquet work files
        /// (`DIR/.work-<run-id>`, deleted at the end), so no table is held in memory (the views'
        /// hash joins still are, a slice at a time where a query's joins and groupings are keyed
        /// by one integer column and the largest table it slices has over 3 million rows).
        /// Slower; the rows are the same as without it. The summary gives the landing set's size
        /// and the most the work files held (uncompressed: about 2.9 GB per million PNRs).
        #[arg(long)]
        landing: Option<PathBuf>,
        /// Worker threads (default: one per core); also how many of a view's CTEs are computed at
        /// once.
        #[arg(long)]
        threads: Option<usize>,
        /// Memory the query engine may hold, in GiB (default: 70% of the machine's memory). Sorts
        /// and aggregates spill to disk beyond it; a join that cannot fit fails the run by name.
        #[arg(long, value_name = "GIB", value_parser = parse_gib)]
        memory_limit: Option<usize>,
    },
    /// Work on a rule pack: check, test, document, measure.
    #[cfg(feature = "engine")]
    Rules {
        /// What to do with the pack.
        #[command(subcommand)]
        action: RulesCommand,
    },
    /// Write synthetic PNRGOV pushes with planted smuggling scenarios and a labels file.
    ///
    /// Flights between Spain's hubs and real foreign airports, ordinary bookings, each flight pushed
    /// 72 h before departure (full), at 24 h (update, MSG 141) and at flight close (full, with
    /// check-in and bags). A share of files carry faults of real feeds (wrapped lines, other or no
    /// UNA, wrong UNT counts, missing optional segments); large pushes are multi-part. Writes
    /// OUT/pnrgov/*.edi, OUT/labels.parquet (traveller_id, scenario, planted) and OUT/generate.json.
    /// The same seed gives the same files.
    Generate {
        /// Number of PNRs.
        #[arg(long)]
        pnrs: usize,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// First departure day (YYYY-MM-DD).
        #[arg(long, default_value = crate::generate::DEFAULT_START)]
        start: chrono::NaiveDate,
        /// Days over which departures are spread.
        #[arg(long, default_value_t = crate::generate::DEFAULT_DAYS)]
        days: u32,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Share of travellers in planted scenarios.
        #[arg(long, default_value_t = crate::generate::DEFAULT_SCENARIO_SHARE)]
        scenario_share: f64,
        /// Share of travellers in decoys (honest travellers sharing one scenario feature).
        #[arg(long, default_value_t = crate::generate::DEFAULT_DECOY_SHARE)]
        decoy_share: f64,
        /// Share of push files with a feed fault.
        #[arg(long, default_value_t = crate::generate::DEFAULT_FAULT_SHARE)]
        fault_share: f64,
        /// Average PNRs per flight (sets the number of flights).
        #[arg(long, default_value_t = crate::generate::DEFAULT_PNRS_PER_FLIGHT)]
        pnrs_per_flight: usize,
        /// Rule pack whose reference tables (airports, countries) give the geography.
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Benchmark the nightly run on a generated data set, stage by stage.
    ///
    /// Checks the rule pack (a broken one is reported before anything is generated), generates N
    /// PNRs into DATA/pnrs-N-seed-S/ on first use (reused afterwards), reads every input byte once
    /// (the physical floor), times ingest's front end on one thread (files read, hashed and lexed
    /// into messages, each message's push_id hashed), then runs exactly what `paxrisk run` runs
    /// and reports wall time, CPU time (and the system part of it), minor page faults and peak
    /// resident memory per stage, ingest MB/s and PNRs/s (and the front end's share of ingest's
    /// CPU time), and content hashes of the scored outputs (equal hashes: the same rows). It also
    /// times three fixed pieces of work before and after the run (integer steps, random reads,
    /// fresh memory), the machine's pace, so that a report shows how fast the machine was when it
    /// ran. With --repeat, the run is made several times, and the table is of the median one,
    /// followed by every run's totals and a check that all gave the same rows.
    /// Writes OUT/bench-N-pnrs-<time>.md and .json and prints the Markdown.
    #[cfg(feature = "engine")]
    Bench {
        /// Number of PNRs in the data set.
        #[arg(long, default_value_t = 100_000)]
        pnrs: usize,
        /// Generator seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Folder that caches generated data sets.
        #[arg(long, default_value = "bench-data")]
        data: PathBuf,
        /// Rule pack.
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
        /// Folder for the reports and the run folders.
        #[arg(long, default_value = "bench-results")]
        out: PathBuf,
        /// Run as `paxrisk run --landing` does: the landing Parquet set written while ingesting,
        /// views computed into Parquet work files.
        #[arg(long)]
        landing: bool,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// As `paxrisk run --memory-limit`.
        #[arg(long, value_name = "GIB", value_parser = parse_gib)]
        memory_limit: Option<usize>,
        /// Run the nightly this many times (1 to 100), one after the other on the same data set:
        /// the table is of the median run by total wall time, followed by every run's totals.
        /// Exit code 1 when the runs give different rows.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
        repeat: u32,
    },
    /// Why each traveller of a PNR scored what it did, from a run folder alone.
    ///
    /// For each traveller of the PNR on each pushed flight: score, band, review-list status, the
    /// input file and byte offset, and every rule that fired with its version, weight, reason,
    /// title, description, references and SQL, taken from the rule pack saved in the run.
    /// Exit code 1: nobody matched.
    #[cfg(feature = "engine")]
    Explain {
        /// Run folder (OUT/<run-id>).
        run: PathBuf,
        /// Record locator of the PNR.
        #[arg(long, required_unless_present = "traveller", conflicts_with = "traveller")]
        locator: Option<String>,
        /// A traveller_id instead.
        #[arg(long)]
        traveller: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: ExplainFormat,
    },
    /// Read-only SQL over a run's Parquet files (scores, review, hits, rejects, diagnostics).
    ///
    /// Runs in the rules' sandbox: DDL, DML, COPY, SET and file access are refused.
    #[cfg(feature = "engine")]
    Query {
        /// Run folder.
        run: PathBuf,
        /// The SQL.
        sql: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: crate::audit::query::Format,
    },
    /// Check a run folder: `verify` against its manifest, `replay` against a fresh run.
    #[cfg(feature = "engine")]
    Audit {
        /// What to check.
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// Print every table, view and column a rule can use, with types and descriptions.
    #[cfg(feature = "engine")]
    Schema {
        /// Rule pack whose views, lists and reference tables are described.
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
    },
}

/// `paxrisk explain --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExplainFormat {
    /// Text for a reader.
    Text,
    /// JSON for tools.
    Json,
}

/// `paxrisk audit …`
#[cfg(feature = "engine")]
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Re-check a run folder against its manifest. Exit code 1 on any difference.
    ///
    /// Output files against their SHA-256 and row counts; the count invariants recomputed from
    /// the recorded counts; hits.parquet against the hits in scores.parquet; every score and band
    /// rebuilt from its hits; the saved rule pack and each rule file against their hashes; with
    /// --inputs, the input files' SHA-256.
    Verify {
        /// Run folder.
        run: PathBuf,
        /// The run's input files or folders, to check their hashes too.
        #[arg(long, num_args = 1..)]
        inputs: Vec<PathBuf>,
    },
    /// Run again with the saved rule pack and the recorded --as-of; confirm identical outputs.
    ///
    /// Exit code 1 when any output row, count or input differs (each difference is printed).
    Replay {
        /// Run folder.
        run: PathBuf,
        /// The run's input files or folders.
        #[arg(long, required = true, num_args = 1..)]
        inputs: Vec<PathBuf>,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
    },
}

/// `paxrisk rules …`
#[cfg(feature = "engine")]
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Parse, compile and lint every rule; errors name file and line. Exit 1 if any is found.
    ///
    /// Finds unknown keys, duplicate ids, file names that differ from ids, missing hit/no_hit
    /// tests, weights outside 0-100, use of a column marked sensitive, timestamp subtraction, and
    /// SQL that does not compile against the views.
    Check {
        /// Rule pack folder.
        #[arg(default_value = "rules")]
        dir: PathBuf,
    },
    /// Run every rule's inline tests on the real engine: one line per test, then the totals.
    Test {
        /// Rule pack folder.
        #[arg(default_value = "rules")]
        dir: PathBuf,
    },
    /// Write the rule catalogue as Markdown.
    Doc {
        /// Rule pack folder.
        #[arg(default_value = "rules")]
        dir: PathBuf,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Hit counts and hit rates per rule on real input, without writing a run.
    ///
    /// With --labels (the labels.parquet of `paxrisk generate`), also the detection quality:
    /// per-rule precision and recall against the planted travellers, recall per scenario, and
    /// the review list's recall and share of all travellers.
    Stats {
        /// Input files or folders.
        #[arg(long, required = true, num_args = 1..)]
        input: Vec<PathBuf>,
        /// Ground truth: a labels.parquet with traveller_id, scenario and planted columns.
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Rule pack folder.
        #[arg(default_value = "rules")]
        dir: PathBuf,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
    },
}

/// Parses `--as-of`: RFC 3339 with an offset, or a date (midnight UTC).
#[cfg(feature = "engine")]
fn parse_as_of(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("{s:?} is not a time like 2026-11-28T22:00:00Z or a date like 2026-11-28"))
}

/// A memory size in GiB (a positive number, fractions allowed), as bytes. Only the commands of
/// the rule engine take one.
#[cfg(feature = "engine")]
fn parse_gib(s: &str) -> Result<usize, String> {
    match s.trim().parse::<f64>() {
        Ok(g) if g.is_finite() && g > 0.0 => Ok((g * 1024.0 * 1024.0 * 1024.0) as usize),
        _ => Err(format!("{s:?} is not a positive number of GiB (e.g. 8 or 0.5)")),
    }
}

/// Runs the parsed command; returns the process exit code.
pub fn run_cli(cli: Cli) -> i32 {
    match cli.command {
        Command::Ingest { input, landing, rules, threads } => match ingest_command(&input, &landing, &rules, threads) {
            Ok(code) => code,
            Err(e) => {
                crate::error_text::print_error("ingest", e.as_ref());
                2
            }
        },
        #[cfg(feature = "engine")]
        Command::Run { input, rules, out, as_of, landing, threads, memory_limit } => {
            let args = crate::run::RunArgs {
                input,
                rules,
                out,
                as_of,
                landing,
                threads,
                memory_limit,
                command_line: std::env::args().collect(),
            };
            crate::run_cli::run(&args)
        }
        Command::Generate {
            pnrs,
            seed,
            start,
            days,
            out,
            scenario_share,
            decoy_share,
            fault_share,
            pnrs_per_flight,
            rules,
            threads,
        } => {
            let cfg = crate::generate::GenerateConfig {
                pnrs,
                seed,
                start,
                days,
                out,
                rules,
                scenario_share,
                decoy_share,
                fault_share,
                pnrs_per_flight,
            };
            match set_threads(threads).and_then(|()| generate_command(&cfg)) {
                Ok(()) => 0,
                Err(e) => {
                    crate::error_text::print_error("generate", e.as_ref());
                    2
                }
            }
        }
        #[cfg(feature = "engine")]
        Command::Rules { action } => crate::rules_cli::run(action),
        #[cfg(feature = "engine")]
        Command::Bench { pnrs, seed, data, rules, out, landing, threads, memory_limit, repeat } => {
            let repeat = repeat as usize;
            let args = crate::bench::BenchArgs { pnrs, seed, data, rules, out, landing, threads, memory_limit, repeat };
            let result = set_threads(threads).and_then(|()| crate::bench::bench(&args));
            match result {
                Ok((report, md)) => {
                    let mut out = std::io::stdout().lock();
                    let _ = crate::bench::markdown(&mut out, &report);
                    let _ = writeln!(out, "\nreport: {} (and .json)", md.display());
                    if report.rows_agree {
                        0
                    } else {
                        eprintln!(
                            "paxrisk bench: error: the {} runs gave different rows from the same input: the run is not deterministic",
                            report.repeat
                        );
                        1
                    }
                }
                Err(e) => {
                    crate::error_text::print_error("bench", e.as_ref());
                    2
                }
            }
        }
        #[cfg(feature = "engine")]
        Command::Explain { run, locator, traveller, format } => {
            let who = match (locator, traveller) {
                (Some(l), _) => crate::audit::explain::Who::Locator(l),
                (None, Some(t)) => crate::audit::explain::Who::Traveller(t),
                (None, None) => unreachable!("clap requires --locator or --traveller"),
            };
            crate::audit_cli::explain(&run, who, format)
        }
        #[cfg(feature = "engine")]
        Command::Query { run, sql, format } => crate::audit_cli::query(&run, &sql, format),
        #[cfg(feature = "engine")]
        Command::Audit { action } => crate::audit_cli::audit(action),
        #[cfg(feature = "engine")]
        Command::Schema { rules } => crate::rules_cli::schema(&rules),
    }
}

fn generate_command(cfg: &crate::generate::GenerateConfig) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let s = crate::generate::generate(cfg)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} PNRs ({} travellers) on {} flights: {} push files, {:.1} MB, {} PNR versions, {} multi-part and {} update pushes, in {:.1} s",
        s.pnrs,
        s.travellers,
        s.flights,
        s.files,
        s.bytes as f64 / 1e6,
        s.pnr_versions,
        s.multipart_messages,
        s.update_pushes,
        started.elapsed().as_secs_f64()
    )?;
    let planted: usize = s.planted.values().sum();
    let decoys: usize = s.decoys.values().sum();
    writeln!(out, "planted travellers: {planted} in {} scenario kinds; decoys: {decoys}", s.planted.len())?;
    for (k, n) in &s.planted {
        writeln!(out, "  {k:<32} {n:>6}")?;
    }
    if !s.faults.is_empty() {
        let f: Vec<String> = s.faults.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(out, "files with feed faults: {}", f.join(", "))?;
    }
    writeln!(out, "wrote {}/pnrgov/, labels.parquet, generate.json", cfg.out.display())?;
    Ok(())
}

pub(crate) fn set_threads(threads: Option<usize>) -> anyhow::Result<()> {
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .map_err(|e| anyhow::anyhow!("cannot set up {n} worker threads: {e}"))?;
    }
    Ok(())
}

fn ingest_command(
    input: &[PathBuf],
    landing: &std::path::Path,
    rules: &std::path::Path,
    threads: Option<usize>,
) -> anyhow::Result<i32> {
    set_threads(threads)?;
    use anyhow::Context;
    let cfg = IngestConfig {
        arrow: true,
        ..IngestConfig::from_rule_pack(rules).map_err(|e| anyhow::anyhow!("rule pack {}: {e}", rules.display()))?
    };
    // As `run --landing` does: the data tables go to the landing set while ingest runs (a staging
    // folder, moved into place once the batch id is known), so memory stays bounded whatever the
    // size of the input. Holding them all first took 17.9 GiB at a million PNRs.
    let tool = ("paxrisk.tool_version".to_string(), crate::VERSION.to_string());
    let mut staged = crate::landing::staged::StagedLanding::create(landing, vec![tool.clone()])
        .with_context(|| format!("starting the landing set in {}", landing.display()))?;
    let mut result = ingest::ingest_paths_staged(input, &cfg, &mut staged)?;
    let batch_id = batch_id(&result);
    let metadata = vec![tool, ("paxrisk.ingest_batch".to_string(), batch_id.clone())];
    // What is left in memory: rejects, diagnostics, and an empty batch for each data table that
    // had no row (written as an empty file, so that readers see its schema). Rows the staged set
    // did not take (none: ingest ends with a flush) would be written here as well.
    let mut rest = result.take_landing();
    rest.retain(|(name, batches)| {
        matches!(*name, crate::landing::schema::RejectRow::TABLE | crate::landing::schema::DiagnosticRow::TABLE)
            || batches.iter().any(|b| b.num_rows() > 0)
            || staged.rows(name) == 0
    });
    let mut written =
        staged.commit(&batch_id).with_context(|| format!("moving the landing set into {}", landing.display()))?;
    written.extend(
        parquet_out::write_landing_batches(landing, &rest, &batch_id, &metadata)
            .with_context(|| format!("writing the landing tables to {}", landing.display()))?,
    );
    let mut err = std::io::stderr().lock();
    write_report(&mut err, &result)?;
    let bytes = parquet_out::files_bytes(&written).context("measuring the landing set")?;
    writeln!(
        err,
        "landing: {} Parquet files, {:.1} MB under {}",
        written.len(),
        bytes as f64 / 1e6,
        landing.display()
    )?;
    let t = result.totals();
    Ok(
        if t.messages_rejected + t.counts.pnrs_rejected + result.files.iter().filter(|f| f.file_rejected).count() as u64
            > 0
        {
            1
        } else {
            0
        },
    )
}

/// Identifies an ingest by its inputs: a hash of the sorted input SHA-256 digests.
pub fn batch_id(result: &Ingested) -> String {
    use sha2::Digest;
    hex::encode(&result.inputs_hasher().finalize()[..8])
}

/// Prints the counts an operator checks after ingest: per file and in total, read / loaded /
/// rejected for messages, PNRs and travellers, PAXLST persons read / loaded; diagnostics by
/// code; sensitive drops.
pub fn write_report(w: &mut impl Write, result: &Ingested) -> std::io::Result<()> {
    writeln!(
        w,
        "{:<40} {:>8} {:>22} {:>22} {:>22} {:>12}",
        "file", "format", "messages read/ok/rej", "PNRs read/ok/rej", "travellers read/ok/rej", "API persons"
    )?;
    let line = |f: &ingest::FileReport| {
        let name = if f.path.chars().count() > 40 {
            let tail: String = f.path.chars().rev().take(39).collect::<Vec<_>>().into_iter().rev().collect();
            format!("…{tail}")
        } else {
            f.path.clone()
        };
        format!(
            "{:<40} {:>8} {:>22} {:>22} {:>22} {:>12}{}",
            name,
            f.format,
            format!("{}/{}/{}", f.messages_read, f.messages_loaded, f.messages_rejected),
            format!("{}/{}/{}", f.counts.pnrs_read, f.counts.pnrs_loaded, f.counts.pnrs_rejected),
            format!("{}/{}/{}", f.counts.travellers_read, f.counts.travellers_loaded, f.counts.travellers_rejected),
            format!("{}/{}", f.counts.api_persons_read, f.counts.api_persons_loaded),
            if f.file_rejected {
                "  FILE REJECTED".to_string()
            } else if let Some(first) = &f.duplicate_of {
                format!("  copy of {first}")
            } else if f.messages_duplicate > 0 {
                format!("  {} messages already loaded", f.messages_duplicate)
            } else {
                String::new()
            }
        )
    };
    for f in &result.files {
        writeln!(w, "{}", line(f))?;
    }
    let t = result.totals();
    writeln!(w, "{}", line(&ingest::FileReport { format: String::new(), ..t }))?;
    if !result.rows.rejects.is_empty() {
        writeln!(w, "rejects:")?;
        for r in &result.rows.rejects {
            writeln!(w, "  {}@{} {} {}: {}", r.source_file, r.source_offset, r.unit, r.code, r.message)?;
        }
    }
    let by_code = result.diagnostics_by_code();
    if !by_code.is_empty() {
        writeln!(w, "diagnostics by code:")?;
        for (code, n) in by_code {
            writeln!(w, "  {n:>8}  {code}")?;
        }
    }
    writeln!(w, "sensitive items dropped: {}", result.drops.total())?;
    Ok(())
}
