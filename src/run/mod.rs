//! `paxrisk run`: the nightly batch, end to end.
//!
//! ingest → (landing Parquet) → views → rules → scores → outputs. The run folder is written
//! under a hidden temporary name (`OUT/.partial-<run-id>`) and renamed to `OUT/<run-id>` only
//! when every file and the manifest are complete, so a killed run never leaves anything that
//! looks like a finished one. A run is a pure function of its inputs, the rule pack and
//! `--as-of`: rows and their order are the same every time; only the run id (UTC start time plus
//! a hash of the three) and the durations differ.

pub mod manifest;
pub mod scores;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::ingest::{self, IngestConfig, Ingested};
use crate::landing::parquet_out;
use crate::landing::schema::{DiagnosticRow, RejectRow};
use crate::landing::staged::StagedLanding;
use crate::rules::engine::{Engine, Evaluation, LandingSet, ViewMode};
use crate::rules::pack::{Pack, PackError};
use crate::rules::sandbox::Limits;
use manifest::Manifest;

/// What `paxrisk run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// Input files and folders.
    pub input: Vec<PathBuf>,
    /// Rule pack.
    pub rules: PathBuf,
    /// Folder that receives the run folder.
    pub out: PathBuf,
    /// The as-of time; now when not given.
    pub as_of: Option<DateTime<Utc>>,
    /// Also write the landing tables here.
    pub landing: Option<PathBuf>,
    /// Worker threads.
    pub threads: Option<usize>,
    /// The query engine's memory limit in bytes; 70% of the machine's memory when not given.
    pub memory_limit: Option<usize>,
    /// The command line as given, for the manifest.
    pub command_line: Vec<String>,
}

/// Why a run could not be done (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The rule pack cannot be loaded or a rule does not compile.
    #[error("the rule pack is broken:\n{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Pack(Vec<PackError>),
    /// Anything else.
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

/// A finished run.
pub struct RunOutcome {
    /// The run folder.
    pub dir: PathBuf,
    /// The manifest written into it.
    pub manifest: Manifest,
    /// Exit code: 0, or 1 when input was rejected or a rule failed.
    pub exit_code: i32,
    /// The disk a run with `--landing` used; `None` for a run in memory.
    pub disk: Option<DiskUse>,
}

/// The disk a run over a landing set used, for planning a night's disk.
#[derive(Debug, Clone, Copy)]
pub struct DiskUse {
    /// The files of the run's landing batch.
    pub landing_bytes: u64,
    /// The most the views' Parquet work files held at once (deleted when the run ends).
    pub work_files_peak_bytes: u64,
}

/// Reports stage progress (a spinner on a terminal, nothing otherwise).
pub trait Progress {
    /// A stage starts.
    fn start(&self, stage: &str);
    /// The stage ended.
    fn finish(&self, stage: &str, detail: &str);
}

/// Progress that reports nothing (tests, libraries).
pub struct Quiet;

impl Progress for Quiet {
    fn start(&self, _: &str) {}
    fn finish(&self, _: &str, _: &str) {}
}

/// The run id: UTC start time, then 8 hex digits of a hash over the inputs' SHA-256, the pack
/// hash and the as-of time.
pub fn run_id(started: DateTime<Utc>, ingested: &Ingested, pack_hash: &str, as_of: DateTime<Utc>) -> String {
    let mut h = ingested.inputs_hasher();
    h.update(pack_hash.as_bytes());
    h.update(as_of.to_rfc3339_opts(SecondsFormat::Secs, true).as_bytes());
    format!("{}-{}", started.format("%Y%m%dT%H%M%SZ"), &hex::encode(h.finalize())[..8])
}

/// Test hook: `PAXRISK_TEST_ABORT_AFTER=<file name>` aborts the process right after that output
/// file is written, as a kill would. Used to prove that a killed run leaves no finished folder.
fn abort_hook(file: &str) {
    if std::env::var("PAXRISK_TEST_ABORT_AFTER").is_ok_and(|v| v == file) {
        std::process::abort();
    }
}

struct Stage {
    name: &'static str,
    started: Instant,
}

/// Loads the rule pack in `rules` and lints it: every fault of the pack, or the pack.
pub fn load_pack(rules: &Path) -> Result<Pack, Vec<PackError>> {
    let pack = Pack::load(rules)?;
    let lint = pack.lint();
    if !lint.is_empty() {
        return Err(lint);
    }
    Ok(pack)
}

/// Runs the nightly batch.
pub fn run(args: &RunArgs, progress: &dyn Progress) -> Result<RunOutcome, RunError> {
    let started = Utc::now();
    let as_of = args.as_of.unwrap_or_else(|| DateTime::from_timestamp(started.timestamp(), 0).unwrap_or(started));
    let mut durations: Vec<(String, f64)> = Vec::new();
    let stage = |name: &'static str| {
        progress.start(name);
        tracing::info!(stage = name, "stage started");
        Stage { name, started: Instant::now() }
    };
    let end = |s: Stage, detail: String, durations: &mut Vec<(String, f64)>| {
        let secs = s.started.elapsed().as_secs_f64();
        durations.push((s.name.to_string(), secs));
        tracing::info!(stage = s.name, seconds = secs, "{detail}");
        progress.finish(s.name, &detail);
    };

    let s = stage("load rule pack");
    let pack = load_pack(&args.rules).map_err(RunError::Pack)?;
    end(s, format!("{} rules ({} active)", pack.rules.len(), pack.active_rules().count()), &mut durations);

    let s = stage("ingest");
    let cfg = IngestConfig { arrow: true, ..IngestConfig::from_rule_pack(&args.rules)? };
    // With --landing the data tables go to the landing Parquet set while ingest runs, and the
    // views read them from there: memory stays bounded whatever the size of the night.
    let mut staged = match &args.landing {
        Some(dir) => {
            let known = vec![
                ("paxrisk.tool_version".to_string(), crate::VERSION.to_string()),
                ("paxrisk.rule_pack_hash".to_string(), pack.hash.clone()),
                ("paxrisk.as_of".to_string(), as_of.to_rfc3339_opts(SecondsFormat::Secs, true)),
            ];
            Some(
                StagedLanding::create(dir, known)
                    .with_context(|| format!("starting the landing set in {}", dir.display()))?,
            )
        }
        None => None,
    };
    let ingested = match staged.as_mut() {
        Some(staged) => ingest::ingest_paths_staged(&args.input, &cfg, staged),
        None => ingest::ingest_paths(&args.input, &cfg),
    }
    .map_err(anyhow::Error::from)?;
    let totals = ingested.totals();
    end(
        s,
        format!(
            "{} files, {} messages, {} PNRs, {} travellers loaded",
            ingested.files.len(),
            totals.messages_loaded,
            totals.counts.pnrs_loaded,
            totals.counts.travellers_loaded
        ),
        &mut durations,
    );
    let run_id = run_id(started, &ingested, &pack.hash, as_of);
    let metadata = vec![
        ("paxrisk.run_id".to_string(), run_id.clone()),
        ("paxrisk.tool_version".to_string(), crate::VERSION.to_string()),
        ("paxrisk.rule_pack_hash".to_string(), pack.hash.clone()),
        ("paxrisk.as_of".to_string(), as_of.to_rfc3339_opts(SecondsFormat::Secs, true)),
    ];

    let mut ingested = ingested;
    let mut landing = ingested.take_landing();
    let landed: Vec<(&'static str, u64)> = landing
        .iter()
        .map(|(name, b)| {
            let held: u64 = b.iter().map(|b| b.num_rows() as u64).sum();
            (*name, held + staged.as_ref().map_or(0, |s| s.rows(name)))
        })
        .collect();
    for (name, batches) in &landing {
        let bytes: usize = batches.iter().map(|b| b.get_array_memory_size()).sum();
        tracing::debug!(
            table = *name,
            batches = batches.len(),
            mib = bytes as f64 / 1048576.0,
            "landing table in Arrow"
        );
    }
    let mut set = None;
    let mut landing_bytes = 0;
    if let Some(dir) = &args.landing {
        let s = stage("landing");
        let batch = crate::cli::batch_id(&ingested);
        let mut written = match staged.take() {
            Some(staged) => {
                // The data tables are in the staged set; what is left in memory is the rejects and
                // diagnostics, which the views read from memory as well.
                landing.retain(|(name, _)| matches!(*name, RejectRow::TABLE | DiagnosticRow::TABLE));
                staged.commit(&batch).with_context(|| format!("moving the landing set into {}", dir.display()))?
            }
            None => Vec::new(),
        };
        written.extend(
            parquet_out::write_landing_batches(dir, &landing, &batch, &metadata)
                .with_context(|| format!("writing the landing tables to {}", dir.display()))?,
        );
        landing_bytes = parquet_out::files_bytes(&written).context("measuring the landing set")?;
        end(
            s,
            format!("{} files, {:.1} MB under {}", written.len(), landing_bytes as f64 / 1e6, dir.display()),
            &mut durations,
        );
        set = Some(LandingSet { dir: dir.clone(), batch });
    }

    let s = stage("views");
    let mut limits = Limits::default();
    if let Some(t) = args.threads {
        limits.threads = t.max(1);
    }
    if let Some(bytes) = args.memory_limit {
        limits.memory_bytes = bytes;
    }
    let engine = match &set {
        Some(set) => {
            let work = set.dir.join(format!(".work-{run_id}"));
            Engine::over_landing_set(&pack, limits, set, landing, work, crate::rules::engine::SLICE_ROWS)
        }
        None => Engine::with_landing(&pack, limits, landing, ViewMode::MaterialiseReleasing),
    }
    .map_err(|e| match e {
        crate::rules::engine::EngineError::Pack(p) => RunError::Pack(p),
        other => RunError::Other(other.into()),
    })?;
    let journeys = engine.view("traveller_journey").and_then(|v| v.rows).unwrap_or(0);
    // Only the views write work files: their peak is the run's.
    let work_files_peak_bytes = engine.work_files_peak_bytes();
    let detail = match work_files_peak_bytes {
        Some(bytes) => {
            format!("{journeys} travellers on pushed flights; work files held at most {:.1} MB", bytes as f64 / 1e6)
        }
        None => format!("{journeys} travellers on pushed flights"),
    };
    end(s, detail, &mut durations);

    let s = stage("rules");
    let compiled = engine.compile_active().map_err(RunError::Pack)?;
    let eval: Evaluation = engine.evaluate(&compiled);
    for f in &eval.failures {
        tracing::error!("{f}");
    }
    end(
        s,
        format!("{} rules, {} hits, {} failed", compiled.len(), eval.hits.len(), eval.failures.len()),
        &mut durations,
    );

    let s = stage("scores");
    let scored = scores::build(&engine, &pack, &eval, &run_id)?;
    end(s, format!("{} scored, {} on the review list", scored.travellers(), scored.review_rows()), &mut durations);

    let s = stage("write");
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let partial = args.out.join(format!(".partial-{run_id}"));
    let final_dir = args.out.join(&run_id);
    if final_dir.exists() {
        return Err(anyhow::anyhow!("{} exists already", final_dir.display()).into());
    }
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).with_context(|| format!("creating {}", partial.display()))?;
    // The scored tables are made as they are written (see `scores`); rejects and diagnostics are
    // in memory already.
    enum Output {
        Scored(scores::ScoredTable),
        Batches(Vec<arrow::record_batch::RecordBatch>),
    }
    let outputs: Vec<(&str, Output)> = vec![
        ("scores.parquet", Output::Scored(scores::ScoredTable::Scores)),
        ("review.parquet", Output::Scored(scores::ScoredTable::Review)),
        ("hits.parquet", Output::Scored(scores::ScoredTable::Hits)),
        ("rejects.parquet", Output::Batches(RejectRow::to_batches(&ingested.rows.rejects))),
        ("diagnostics.parquet", Output::Batches(DiagnosticRow::to_batches(&ingested.rows.diagnostics))),
    ];
    copy_pack(&pack, &partial.join(SAVED_PACK))?;
    // The files side by side, and each file's columns too (`parquet_out::write_stream`): scores
    // and hits take most of the stage. `files` keeps the order of `outputs`.
    let files = outputs
        .par_iter()
        .map(|(name, output)| -> anyhow::Result<manifest::OutputFile> {
            let path = partial.join(name);
            let rows = match output {
                Output::Scored(table) => scored.write(*table, &path, &metadata),
                Output::Batches(batches) => parquet_out::write_batches(&path, batches, &metadata)
                    .map(|()| batches.iter().map(|b| b.num_rows() as u64).sum())
                    .map_err(anyhow::Error::from),
            }
            .with_context(|| format!("writing {}", path.display()))?;
            let file = manifest::OutputFile { name: name.to_string(), rows, sha256: sha256_file(&path)? };
            abort_hook(name);
            Ok(file)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    end(s, format!("{} files", files.len()), &mut durations);

    let manifest = manifest::build(manifest::Inputs {
        run_id: &run_id,
        started,
        as_of,
        args,
        pack: &pack,
        ingested: &ingested,
        landed: &landed,
        eval: &eval,
        scored: &scored,
        outputs: files,
        durations,
    });
    let text = serde_json::to_string_pretty(&manifest).context("serialising the manifest")?;
    let mpath = partial.join("manifest.json");
    std::fs::write(&mpath, text + "\n").with_context(|| format!("writing {}", mpath.display()))?;
    sync_dir(&partial);
    abort_hook("manifest.json");
    std::fs::rename(&partial, &final_dir)
        .with_context(|| format!("renaming {} to {}", partial.display(), final_dir.display()))?;
    sync_dir(&args.out);
    let rejected = manifest.totals.messages_rejected + manifest.totals.pnrs_rejected + manifest.totals.files_rejected;
    let exit_code = if rejected > 0 || !eval.failures.is_empty() { 1 } else { 0 };
    let disk = work_files_peak_bytes.map(|work_files_peak_bytes| DiskUse { landing_bytes, work_files_peak_bytes });
    Ok(RunOutcome { dir: final_dir, manifest, exit_code, disk })
}

/// The folder of a run that holds its copy of the rule pack.
pub const SAVED_PACK: &str = "rule-pack";

/// Copies every file of the pack (those its hash covers) to `to`, keeping relative paths.
fn copy_pack(pack: &Pack, to: &Path) -> anyhow::Result<()> {
    for rel in &pack.files {
        let (from, dest) = (pack.dir.join(rel), to.join(rel));
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::copy(&from, &dest).with_context(|| format!("copying {} to {}", from.display(), dest.display()))?;
    }
    let copy = Pack::load(to)
        .map_err(|e| anyhow::anyhow!("the saved rule pack {} does not load: {}", to.display(), e.len()))?;
    anyhow::ensure!(
        copy.hash == pack.hash,
        "the saved rule pack {} differs from {} (hash)",
        to.display(),
        pack.dir.display()
    );
    Ok(())
}

pub(crate) fn sha256_file(path: &Path) -> anyhow::Result<String> {
    // Streamed: an output file of a national night is gigabytes.
    let mut file = std::fs::File::open(path).with_context(|| format!("reading back {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("reading back {}", path.display()))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Flushes a folder's entries to disk where the platform allows it.
fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}
