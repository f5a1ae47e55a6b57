//! `paxrisk bench`: the nightly run on a generated data set, timed stage by stage.
//!
//! The data set (`DATA/pnrs-<N>-seed-<S>/`) is generated on first use and reused afterwards. The
//! benchmark first reads every input byte once (the physical floor any ingest must pay), times
//! ingest's front end on one thread ([`FrontEnd`]: reading, hashing and lexing, what ingest does to
//! every byte before mapping; the rest of ingest's CPU time is mapping and loading), then runs
//! exactly what `paxrisk run` runs ([`crate::run::run`]), measuring for each stage the wall time,
//! the process CPU time (user + system, all threads) and the peak resident memory within the
//! stage (Linux: `/proc/self/clear_refs` resets the high-water mark at each stage start). It
//! reports a Markdown table and a JSON file, with the machine and content hashes of the scored
//! outputs, so that an optimisation can be shown not to change a single row. The machine's pace
//! ([`pace`]) is measured before and after the run, so that a report shows how fast the machine
//! was when it ran: a report from a slow period can be told from one of a slow build.
//!
//! `--repeat N` runs the nightly N times in a row: the figures are of the median run by total
//! wall time, every run is listed after them, and the runs must give the same rows.

pub mod pace;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Context;
use arrow::array::RecordBatch;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::run::{Progress, RunArgs};

/// What to benchmark.
#[derive(Debug, Clone)]
pub struct BenchArgs {
    /// PNRs in the data set.
    pub pnrs: usize,
    /// Generator seed.
    pub seed: u64,
    /// Folder that caches generated data sets.
    pub data: PathBuf,
    /// Rule pack.
    pub rules: PathBuf,
    /// Folder for the report and the run folder.
    pub out: PathBuf,
    /// Also write the landing Parquet set (as `paxrisk run --landing`).
    pub landing: bool,
    /// Worker threads.
    pub threads: Option<usize>,
    /// The query engine's memory limit in bytes (`run --memory-limit`).
    pub memory_limit: Option<usize>,
    /// Runs, back to back (`--repeat`, at least one).
    pub repeat: usize,
}

/// One stage as measured.
#[derive(Debug, Clone, Serialize)]
pub struct StageFigures {
    /// Stage name, as in the run's manifest.
    pub stage: String,
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// Process CPU seconds (user + system) spent in the stage.
    pub cpu_s: f64,
    /// Of `cpu_s`, the seconds the kernel spent for the process (system time): mostly clearing the
    /// pages the stage touches for the first time.
    pub system_s: f64,
    /// Minor page faults in the stage: pages of memory the process touched for the first time, or
    /// again after they were given back to the system.
    pub minor_faults: u64,
    /// Peak resident memory during the stage, MiB: since the stage started where the high-water
    /// mark can be reset (see `Report::peak_rss_per_stage`), else since the process started; None
    /// without Linux `/proc`.
    pub peak_rss_mib: Option<f64>,
    /// The stage's own summary line.
    pub detail: String,
}

/// A whole run: its stages together.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Totals {
    /// Wall seconds.
    pub total_wall_s: f64,
    /// CPU seconds.
    pub total_cpu_s: f64,
    /// System CPU seconds (part of `total_cpu_s`).
    pub total_system_s: f64,
    /// Minor page faults.
    pub total_minor_faults: u64,
    /// Highest peak of any stage, MiB.
    pub peak_rss_mib: Option<f64>,
}

impl Totals {
    fn of(stages: &[StageFigures]) -> Totals {
        Totals {
            total_wall_s: stages.iter().map(|s| s.wall_s).sum(),
            total_cpu_s: stages.iter().map(|s| s.cpu_s).sum(),
            total_system_s: stages.iter().map(|s| s.system_s).sum(),
            total_minor_faults: stages.iter().map(|s| s.minor_faults).sum(),
            peak_rss_mib: stages.iter().filter_map(|s| s.peak_rss_mib).reduce(f64::max),
        }
    }
}

/// One run of the benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct RunFigures {
    /// Its place in the order of the runs, from 1.
    pub run: usize,
    /// The stages in order.
    pub stages: Vec<StageFigures>,
    /// The whole run.
    #[serde(flatten)]
    pub totals: Totals,
    /// SHA-256 of the rows of each scored output, run id left out (see `Report::content_sha256`).
    pub content_sha256: Vec<(String, String)>,
    /// The run folder.
    pub run_dir: String,
}

impl RunFigures {
    fn new(run: usize, stages: Vec<StageFigures>, content_sha256: Vec<(String, String)>, run_dir: String) -> Self {
        RunFigures { run, totals: Totals::of(&stages), stages, content_sha256, run_dir }
    }

    /// Wall and CPU seconds of stage `name` (zero when it did not run).
    fn stage(&self, name: &str) -> (f64, f64) {
        self.stages.iter().find(|s| s.stage == name).map_or((0.0, 0.0), |s| (s.wall_s, s.cpu_s))
    }
}

/// The run that a repeated benchmark reports stage by stage: the median by total wall time (the
/// lower of the two middle ones of an even number), as a 0-based index.
fn median_run(runs: &[RunFigures]) -> usize {
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| runs[a].totals.total_wall_s.total_cmp(&runs[b].totals.total_wall_s));
    order.get(runs.len().saturating_sub(1) / 2).copied().unwrap_or(0)
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Tool version.
    pub tool_version: String,
    /// The build the figures are of ([`build_kind`]).
    pub build: String,
    /// When the benchmark ran (UTC).
    pub started_utc: String,
    /// The machine.
    pub machine: Machine,
    /// The machine's pace before the input was read ([`pace`]).
    pub pace_start: pace::Pace,
    /// The machine's pace after the run.
    pub pace_end: pace::Pace,
    /// Data set folder.
    pub data_set: String,
    /// PNRs asked for.
    pub pnrs: usize,
    /// Generator seed.
    pub seed: u64,
    /// Input files.
    pub input_files: u64,
    /// Input bytes.
    pub input_bytes: u64,
    /// PNR versions loaded (a PNR in three pushes counts three).
    pub pnr_versions_loaded: u64,
    /// Travellers scored.
    pub travellers_scored: u64,
    /// Active rules.
    pub active_rules: usize,
    /// Seconds to read every input byte once, single thread (the physical floor).
    pub read_floor_s: f64,
    /// What ingest does to every byte before it maps anything, timed on one thread.
    pub front_end: FrontEnd,
    /// The stages in order.
    pub stages: Vec<StageFigures>,
    /// The whole run.
    #[serde(flatten)]
    pub totals: Totals,
    /// Whether the peak of each stage is its own (`/proc/self/clear_refs` could be written).
    pub peak_rss_per_stage: bool,
    /// Ingest input MB/s (10^6 bytes per wall second).
    pub ingest_mb_per_s: f64,
    /// Ingest input MB per CPU second (throughput per core).
    pub ingest_mb_per_cpu_s: f64,
    /// Ingest PNR versions per wall second.
    pub ingest_pnrs_per_s: f64,
    /// Ingest wall time over the read floor.
    pub ingest_over_read_floor: f64,
    /// Whole-run wall microseconds per PNR (for comparing sizes).
    pub us_per_pnr: f64,
    /// SHA-256 of each scored output's rows with the run id left out: equal hashes mean the same
    /// rows in the same order.
    pub content_sha256: Vec<(String, String)>,
    /// The run folder the benchmark wrote.
    pub run_dir: String,
    /// Runs asked for (`--repeat`).
    pub repeat: usize,
    /// The run (from 1) that the figures above are of: the median of the runs by total wall
    /// time, the lower middle one of an even number; 1 for a single run.
    pub median_run: usize,
    /// Whether every run gave the same rows (the same `content_sha256`).
    pub rows_agree: bool,
    /// Every run, in the order they ran (one for a single run).
    pub runs: Vec<RunFigures>,
}

/// Ingest's front end timed on its own: every input file read, hashed and lexed on one thread,
/// the work ingest does to every byte before it maps a single segment.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct FrontEnd {
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// Process CPU seconds (user + system).
    pub cpu_s: f64,
    /// System CPU seconds.
    pub system_s: f64,
    /// Minor page faults.
    pub minor_faults: u64,
    /// Of `wall_s`, the seconds spent hashing (each file's SHA-256 and each message's `push_id`).
    pub hash_s: f64,
    /// Of `wall_s`, the seconds spent lexing and splitting into messages, and dropping them and
    /// their arena.
    pub lex_s: f64,
    /// Messages read (each part of a multi-part push counted on its own).
    pub messages: u64,
    /// Segments lexed.
    pub segments: u64,
    /// Input MB (10^6 bytes) per CPU second.
    pub mb_per_cpu_s: f64,
    /// The part of the ingest stage's CPU time that the front end's CPU time is.
    pub share_of_ingest_cpu: f64,
}

/// The machine the figures come from.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// CPU model (Linux `/proc/cpuinfo`).
    pub cpu: String,
    /// Logical cores available to the process.
    pub cores: usize,
    /// Memory, GiB (Linux `/proc/meminfo`).
    pub memory_gib: f64,
    /// Operating system and architecture.
    pub os: String,
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().find(|l| l.starts_with("MemTotal:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse::<f64>().ok()))
        .map(|kib| kib / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        memory_gib,
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
    }
}

/// What the process has used so far, all threads together.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    /// CPU seconds, user and system.
    cpu_s: f64,
    /// System CPU seconds.
    system_s: f64,
    /// Minor page faults.
    minor_faults: u64,
}

impl Usage {
    /// Now (`getrusage`); zero where it fails.
    fn now() -> Usage {
        // SAFETY: getrusage only writes into the struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
            return Usage::default();
        }
        let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
        Usage {
            cpu_s: t(u.ru_utime) + t(u.ru_stime),
            system_s: t(u.ru_stime),
            minor_faults: u64::try_from(u.ru_minflt).unwrap_or(0),
        }
    }

    /// What was used from `before` until now.
    fn since(before: Usage) -> Usage {
        let after = Usage::now();
        Usage {
            cpu_s: after.cpu_s - before.cpu_s,
            system_s: after.system_s - before.system_s,
            minor_faults: after.minor_faults.saturating_sub(before.minor_faults),
        }
    }
}

/// Resets the resident-memory high-water mark (Linux); false where that is not possible.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The resident-memory high-water mark since the last reset, MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Records each stage of a run.
struct Meter {
    current: Mutex<Option<(String, Instant, Usage)>>,
    stages: Mutex<Vec<StageFigures>>,
}

impl Progress for Meter {
    fn start(&self, stage: &str) {
        let _ = reset_peak_rss();
        if let Ok(mut c) = self.current.lock() {
            *c = Some((stage.to_string(), Instant::now(), Usage::now()));
        }
    }

    fn finish(&self, stage: &str, detail: &str) {
        let Some((name, started, before)) = self.current.lock().ok().and_then(|mut c| c.take()) else { return };
        let used = Usage::since(before);
        let figures = StageFigures {
            stage: if name == stage { name } else { stage.to_string() },
            wall_s: started.elapsed().as_secs_f64(),
            cpu_s: used.cpu_s,
            system_s: used.system_s,
            minor_faults: used.minor_faults,
            peak_rss_mib: peak_rss_mib(),
            detail: detail.to_string(),
        };
        tracing::info!(stage = figures.stage, wall = figures.wall_s, cpu = figures.cpu_s, "measured");
        if let Ok(mut s) = self.stages.lock() {
            s.push(figures);
        }
    }
}

/// The generated data set for `args`, made on first use.
fn data_set(args: &BenchArgs) -> anyhow::Result<PathBuf> {
    let dir = args.data.join(format!("pnrs-{}-seed-{}", args.pnrs, args.seed));
    let meta = dir.join("generate.json");
    if meta.exists() {
        let text = std::fs::read_to_string(&meta).with_context(|| format!("reading {}", meta.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not a generator summary", meta.display()))?;
        let p = &v["parameters"];
        if p["pnrs"].as_u64() != Some(args.pnrs as u64) || p["seed"].as_u64() != Some(args.seed) {
            anyhow::bail!("{} was generated with other parameters; remove the folder to regenerate", dir.display());
        }
        eprintln!("paxrisk bench: reusing the data set {}", dir.display());
        return Ok(dir);
    }
    if dir.exists() {
        anyhow::bail!(
            "{} exists without generate.json (an interrupted generation?); remove it to regenerate",
            dir.display()
        );
    }
    eprintln!("paxrisk bench: generating {} PNRs (seed {}) into {}", args.pnrs, args.seed, dir.display());
    let cfg = crate::generate::GenerateConfig::with_defaults(args.pnrs, args.seed, dir.clone(), args.rules.clone());
    crate::generate::generate(&cfg)?;
    Ok(dir)
}

/// Reads every byte of `files` once; returns (bytes, seconds).
fn read_floor(files: &[PathBuf]) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    for f in files {
        let mut file = std::fs::File::open(f).with_context(|| format!("opening {}", f.display()))?;
        loop {
            let n = file.read(&mut buf).with_context(|| format!("reading {}", f.display()))?;
            if n == 0 {
                break;
            }
            total += n as u64;
        }
    }
    Ok((total, started.elapsed().as_secs_f64()))
}

/// Ingest's front end over `files`, on this thread: each file read whole, its SHA-256 taken (the
/// manifest's input hash), its bytes lexed into segments (in an arena of the file's own) and
/// split into messages ([`crate::edifact::interchange::read_messages`]), and each message's bytes
/// hashed into its `push_id` ([`crate::ingest::ids::push_id`]), as `ingest` does before any
/// mapping. The messages and their arena are dropped file by file, as ingest drops them.
/// `share_of_ingest_cpu` is left to the caller.
fn front_end(files: &[PathBuf]) -> anyhow::Result<FrontEnd> {
    let started = Instant::now();
    let before = Usage::now();
    let (mut bytes_total, mut messages, mut segments) = (0u64, 0u64, 0u64);
    let (mut hashing, mut lexing) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    for (k, f) in files.iter().enumerate() {
        let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        bytes_total += bytes.len() as u64;
        let t0 = Instant::now();
        std::hint::black_box(Sha256::digest(&bytes));
        let t1 = Instant::now();
        let arena = crate::edifact::arena_for(&bytes);
        let parsed = crate::edifact::interchange::read_messages(&bytes, u32::try_from(k).unwrap_or(u32::MAX), &arena);
        let t2 = Instant::now();
        segments += parsed.segments as u64;
        for m in &parsed.messages {
            messages += 1;
            let parts = m.spans.iter().map(|&(_, start, end)| bytes.get(start..end).unwrap_or_default());
            std::hint::black_box(crate::ingest::ids::push_id(parts));
        }
        let t3 = Instant::now();
        drop(parsed);
        drop(arena);
        hashing += (t1 - t0) + (t3 - t2);
        lexing += (t2 - t1) + t3.elapsed();
    }
    let used = Usage::since(before);
    Ok(FrontEnd {
        wall_s: started.elapsed().as_secs_f64(),
        cpu_s: used.cpu_s,
        system_s: used.system_s,
        minor_faults: used.minor_faults,
        hash_s: hashing.as_secs_f64(),
        lex_s: lexing.as_secs_f64(),
        messages,
        segments,
        mb_per_cpu_s: bytes_total as f64 / 1e6 / used.cpu_s.max(1e-9),
        share_of_ingest_cpu: 0.0,
    })
}

/// SHA-256 over a table's rows, every column but `run_id`, in order, fed a batch at a time.
///
/// Only one batch's values are held as text at once: a 5 M run's scores (8.6 million rows) held
/// whole as text took the benchmark to 11 GiB after a run whose stages peaked at 8.8.
struct ContentHasher {
    hash: Sha256,
    keep: Vec<usize>,
}

impl ContentHasher {
    /// Starts with the names of the hashed columns of `schema`.
    fn new(schema: &arrow::datatypes::Schema) -> ContentHasher {
        let keep: Vec<usize> = (0..schema.fields().len()).filter(|&i| schema.field(i).name() != "run_id").collect();
        let mut hash = Sha256::new();
        for &i in &keep {
            hash.update(schema.field(i).name().as_bytes());
            hash.update([0x1f]);
        }
        ContentHasher { hash, keep }
    }

    /// Adds the rows of `batch`, which has the schema given to [`ContentHasher::new`].
    fn update(&mut self, batch: &RecordBatch) -> anyhow::Result<()> {
        let columns: Vec<Vec<Option<String>>> =
            self.keep.iter().map(|&i| crate::audit::texts(batch.column(i).as_ref())).collect::<anyhow::Result<_>>()?;
        for row in 0..batch.num_rows() {
            self.hash.update([0x1e]);
            for c in &columns {
                match &c[row] {
                    Some(v) => self.hash.update(v.as_bytes()),
                    None => self.hash.update([0]),
                }
                self.hash.update([0x1f]);
            }
        }
        Ok(())
    }

    /// The hash, hex.
    fn finish(self) -> String {
        hex::encode(self.hash.finalize())
    }
}

/// [`ContentHasher`] over the rows of a Parquet file, read 64 Ki rows at a time.
pub fn parquet_content_hash(path: &std::path::Path) -> anyhow::Result<String> {
    crate::audit::without_panic(path, || {
        let reader = crate::audit::parquet_batches(path, 64 * 1024)?;
        let mut h = ContentHasher::new(&arrow::record_batch::RecordBatchReader::schema(&reader));
        for batch in reader {
            h.update(&batch.with_context(|| format!("{}: not a readable Parquet file", path.display()))?)?;
        }
        Ok(h.finish())
    })
}

/// Runs the benchmark and writes its report; returns it.
pub fn bench(args: &BenchArgs) -> anyhow::Result<(Report, PathBuf)> {
    let started_utc = chrono::Utc::now();
    // A broken pack is found before the data set is generated, which at 5 M PNRs takes half an
    // hour, rather than by the run after it.
    if let Err(errors) = crate::run::load_pack(&args.rules) {
        anyhow::bail!(
            "the rule pack {} is broken ({}); nothing was generated or run:\n{}",
            args.rules.display(),
            crate::rules::pack::PackError::count(&errors),
            errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
        );
    }
    let dir = data_set(args)?;
    let files = crate::ingest::find_inputs(std::slice::from_ref(&dir))?;
    let pace_start = pace::measure(pace::BENCH_WORK);
    let (input_bytes, read_floor_s) = read_floor(&files)?;
    let mut front_end = front_end(&files)?;

    let repeat = args.repeat.max(1);
    let peak_per_stage = reset_peak_rss();
    let mut runs = Vec::with_capacity(repeat);
    let mut manifest = None;
    let landing = args.landing.then(|| args.out.join("landing").join(format!("pnrs-{}-seed-{}", args.pnrs, args.seed)));
    let as_of = chrono::DateTime::parse_from_rfc3339("2026-12-15T00:00:00Z")?.to_utc();
    for k in 1..=repeat {
        // Each run of a repeated benchmark in a folder of its own: two short runs can start in
        // the same second, and a run's folder is named after its start and its inputs.
        let run_out = if repeat == 1 { args.out.join("runs") } else { args.out.join("runs").join(format!("run-{k}")) };
        // Each run writes the landing set afresh.
        if let Some(l) = &landing {
            let _ = std::fs::remove_dir_all(l);
        }
        let run_args = RunArgs {
            input: vec![dir.clone()],
            rules: args.rules.clone(),
            out: run_out,
            as_of: Some(as_of),
            landing: landing.clone(),
            threads: args.threads,
            memory_limit: args.memory_limit,
            command_line: std::env::args().collect(),
        };
        let meter = Meter { current: Mutex::new(None), stages: Mutex::new(Vec::new()) };
        let outcome = crate::run::run(&run_args, &meter).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut content_sha256 = Vec::new();
        for name in ["scores", "review", "hits"] {
            let file = format!("{name}.parquet");
            content_sha256.push((file.clone(), parquet_content_hash(&outcome.dir.join(file))?));
        }
        let stages = meter.stages.into_inner().unwrap_or_default();
        runs.push(RunFigures::new(k, stages, content_sha256, outcome.dir.display().to_string()));
        manifest = Some(outcome.manifest);
    }
    let Some(m) = manifest else { anyhow::bail!("no run was made") };
    let pace_end = pace::measure(pace::BENCH_WORK);
    let median = runs[median_run(&runs)].clone();
    let rows_agree = runs.iter().all(|r| r.content_sha256 == runs[0].content_sha256);
    let (ingest_wall, ingest_cpu) = median.stage("ingest");
    front_end.share_of_ingest_cpu = front_end.cpu_s / ingest_cpu.max(1e-9);
    let pnrs_loaded = m.totals.pnrs_loaded;
    let report = Report {
        tool_version: crate::VERSION.to_string(),
        build: build_kind(),
        started_utc: started_utc.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        machine: machine(),
        pace_start,
        pace_end,
        data_set: dir.display().to_string(),
        pnrs: args.pnrs,
        seed: args.seed,
        input_files: files.len() as u64,
        input_bytes,
        pnr_versions_loaded: pnrs_loaded,
        travellers_scored: m.results.travellers_scored,
        active_rules: m.rule_pack.rules.iter().filter(|r| r.status != "deprecated").count(),
        read_floor_s,
        front_end,
        totals: median.totals,
        peak_rss_per_stage: peak_per_stage,
        ingest_mb_per_s: input_bytes as f64 / 1e6 / ingest_wall.max(1e-9),
        ingest_mb_per_cpu_s: input_bytes as f64 / 1e6 / ingest_cpu.max(1e-9),
        ingest_pnrs_per_s: pnrs_loaded as f64 / ingest_wall.max(1e-9),
        ingest_over_read_floor: ingest_wall / read_floor_s.max(1e-9),
        us_per_pnr: median.totals.total_wall_s * 1e6 / args.pnrs.max(1) as f64,
        stages: median.stages.clone(),
        content_sha256: median.content_sha256.clone(),
        run_dir: median.run_dir.clone(),
        repeat,
        median_run: median.run,
        rows_agree,
        runs,
    };

    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let stem = format!(
        "bench-{}-pnrs{}-{}",
        args.pnrs,
        if args.landing { "-landing" } else { "" },
        started_utc.format("%Y%m%dT%H%M%SZ")
    );
    let json = args.out.join(format!("{stem}.json"));
    std::fs::write(&json, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", json.display()))?;
    let md = args.out.join(format!("{stem}.md"));
    let mut text = Vec::new();
    markdown(&mut text, &report)?;
    std::fs::write(&md, &text).with_context(|| format!("writing {}", md.display()))?;
    Ok((report, md))
}

/// The build of this binary: `release` or `debug`, with `, PGO` when `scripts/build-pgo.sh` made it
/// (its optimised build sets `PAXRISK_BUILD_PGO`), so that a report says which build its figures
/// are of: the same source runs 12-18% faster with PGO (docs/performance.md, change 65).
pub fn build_kind() -> String {
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    match option_env!("PAXRISK_BUILD_PGO") {
        Some(_) => format!("{profile}, PGO"),
        None => profile.to_string(),
    }
}

/// A peak in MiB as the tables show it, `n/a` where it is not known.
fn mib(v: Option<f64>) -> String {
    v.map(|m| format!("{m:.0}")).unwrap_or_else(|| "n/a".into())
}

/// The report as Markdown.
pub fn markdown(w: &mut impl Write, r: &Report) -> std::io::Result<()> {
    let thousands = |n: u64| format!("{:.0}", n as f64 / 1000.0);
    writeln!(
        w,
        "### {} PNRs (seed {}), paxrisk {} ({} build), {}",
        r.pnrs, r.seed, r.tool_version, r.build, r.started_utc
    )?;
    writeln!(w)?;
    writeln!(
        w,
        "Machine: {}, {} cores, {:.1} GiB, {}. Input: {} files, {:.1} MB, {} PNR versions; {} travellers scored by {} active rules.",
        r.machine.cpu,
        r.machine.cores,
        r.machine.memory_gib,
        r.machine.os,
        r.input_files,
        r.input_bytes as f64 / 1e6,
        r.pnr_versions_loaded,
        r.travellers_scored,
        r.active_rules
    )?;
    writeln!(w)?;
    if r.repeat > 1 {
        writeln!(
            w,
            "Machine's pace before the first run and after the last: {}.",
            pace::describe(&r.pace_start, &r.pace_end)
        )?;
        writeln!(w)?;
        writeln!(
            w,
            "{} runs, one after the other in one process; the table is of run {}, the median by total wall time (all runs below).",
            r.repeat, r.median_run
        )?;
    } else {
        writeln!(w, "Machine's pace before and after the run: {}.", pace::describe(&r.pace_start, &r.pace_end))?;
    }
    writeln!(w)?;
    writeln!(w, "| stage | wall s | CPU s | of it system s | page faults (thousands) | peak RSS MiB | detail |")?;
    writeln!(w, "|---|---:|---:|---:|---:|---:|---|")?;
    writeln!(
        w,
        "| read input bytes (floor) | {:.2} | | | | | {:.0} MB/s, one thread |",
        r.read_floor_s,
        r.input_bytes as f64 / 1e6 / r.read_floor_s.max(1e-9)
    )?;
    let f = &r.front_end;
    writeln!(
        w,
        "| read, hash and lex (ingest's front end) | {:.2} | {:.2} | {:.2} | {} | | {:.0} MB/s, one thread: hashing {:.2} s, lexing {:.2} s; {} messages or parts, {} segments |",
        f.wall_s,
        f.cpu_s,
        f.system_s,
        thousands(f.minor_faults),
        r.input_bytes as f64 / 1e6 / f.wall_s.max(1e-9),
        f.hash_s,
        f.lex_s,
        f.messages,
        f.segments
    )?;
    for s in &r.stages {
        writeln!(
            w,
            "| {} | {:.2} | {:.2} | {:.2} | {} | {} | {} |",
            s.stage,
            s.wall_s,
            s.cpu_s,
            s.system_s,
            thousands(s.minor_faults),
            mib(s.peak_rss_mib),
            s.detail
        )?;
    }
    writeln!(
        w,
        "| **total** | **{:.2}** | **{:.2}** | **{:.2}** | **{}** | **{}** | {:.0} µs per PNR |",
        r.totals.total_wall_s,
        r.totals.total_cpu_s,
        r.totals.total_system_s,
        thousands(r.totals.total_minor_faults),
        mib(r.totals.peak_rss_mib),
        r.us_per_pnr
    )?;
    if !r.peak_rss_per_stage {
        writeln!(w, "\nPeak RSS is the process's peak so far: the high-water mark could not be reset per stage.")?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "Ingest: {:.1} MB/s wall, {:.1} MB per CPU second, {:.0} PNR versions/s, {:.1}× the read floor. \
         Its front end alone (read, hash and lex, one thread): {:.1} MB per CPU second, {:.0}% of ingest's CPU time.",
        r.ingest_mb_per_s,
        r.ingest_mb_per_cpu_s,
        r.ingest_pnrs_per_s,
        r.ingest_over_read_floor,
        f.mb_per_cpu_s,
        100.0 * f.share_of_ingest_cpu
    )?;
    writeln!(w)?;
    for (name, hash) in &r.content_sha256 {
        writeln!(w, "- rows of `{name}` (run id left out): SHA-256 `{hash}`")?;
    }
    if r.runs.len() > 1 {
        runs_markdown(w, &r.runs, r.median_run, r.input_bytes)?;
    }
    Ok(())
}

/// The runs of a repeated benchmark, one line each, with the spread of their totals and whether
/// they gave the same rows. `median_run` is the run (from 1) the stage table is of.
fn runs_markdown(w: &mut impl Write, runs: &[RunFigures], median_run: usize, input_bytes: u64) -> std::io::Result<()> {
    writeln!(w)?;
    writeln!(
        w,
        "| run | total wall s | total CPU s | ingest wall / CPU s | MB per CPU s | views wall / CPU s | peak RSS MiB |"
    )?;
    writeln!(w, "|---:|---:|---:|---:|---:|---:|---:|")?;
    for run in runs {
        let (iw, ic) = run.stage("ingest");
        let (vw, vc) = run.stage("views");
        writeln!(
            w,
            "| {}{} | {:.2} | {:.2} | {:.2} / {:.2} | {:.1} | {:.2} / {:.2} | {} |",
            run.run,
            if run.run == median_run { " (median)" } else { "" },
            run.totals.total_wall_s,
            run.totals.total_cpu_s,
            iw,
            ic,
            input_bytes as f64 / 1e6 / ic.max(1e-9),
            vw,
            vc,
            mib(run.totals.peak_rss_mib)
        )?;
    }
    let walls = runs.iter().map(|run| run.totals.total_wall_s);
    let (min, max) = walls.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), t| (lo.min(t), hi.max(t)));
    if let Some(median) = runs.iter().find(|run| run.run == median_run) {
        writeln!(w)?;
        writeln!(
            w,
            "Total wall time: {min:.2} to {max:.2} s over {} runs, median {:.2} s.",
            runs.len(),
            median.totals.total_wall_s
        )?;
    }
    let differ: Vec<String> = runs
        .iter()
        .filter(|run| runs.first().is_some_and(|first| run.content_sha256 != first.content_sha256))
        .map(|run| run.run.to_string())
        .collect();
    if differ.is_empty() {
        writeln!(w, "Every run gave the same rows (the hashes above).")?;
    } else {
        let (which, verb) = if differ.len() == 1 { ("run", "differs") } else { ("runs", "differ") };
        writeln!(
            w,
            "**The runs gave different rows**: {which} {} {verb} from run 1 (their hashes are in the JSON report).",
            differ.join(", ")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};

    use super::*;

    /// `n` rows of a number, a text with some NULLs and a run id.
    fn table(n: i64, run_id: &str) -> RecordBatch {
        RecordBatch::try_from_iter([
            ("n", Arc::new(Int64Array::from_iter_values(0..n)) as arrow::array::ArrayRef),
            ("t", Arc::new(StringArray::from_iter((0..n).map(|i| (i % 7 != 0).then(|| format!("v{i}")))))),
            ("run_id", Arc::new(StringArray::from_iter_values((0..n).map(|_| run_id)))),
        ])
        .unwrap()
    }

    /// A run of `wall` seconds (ingest a quarter of it, views half) whose scores hash to `hash`.
    fn run(k: usize, wall: f64, hash: &str) -> RunFigures {
        let stage = |name: &str, wall_s: f64| StageFigures {
            stage: name.into(),
            wall_s,
            cpu_s: 2.0 * wall_s,
            system_s: 0.1 * wall_s,
            minor_faults: 1000,
            peak_rss_mib: Some(100.0 * k as f64),
            detail: String::new(),
        };
        let stages = vec![stage("ingest", wall / 4.0), stage("views", wall / 2.0), stage("write", wall / 4.0)];
        RunFigures::new(k, stages, vec![("scores.parquet".into(), hash.into())], format!("runs/run-{k}"))
    }

    #[test]
    fn a_repeated_benchmark_reports_its_median_run_and_every_run() {
        let runs = vec![run(1, 60.0, "a"), run(2, 44.0, "a"), run(3, 50.0, "a"), run(4, 48.0, "a")];
        assert_eq!(runs[2].totals.total_wall_s, 50.0);
        assert_eq!(runs[2].totals.total_cpu_s, 100.0);
        assert_eq!(runs[2].totals.total_minor_faults, 3000);
        assert_eq!(runs[2].totals.peak_rss_mib, Some(300.0));
        assert_eq!(runs[2].stage("views"), (25.0, 50.0));
        assert_eq!(runs[2].stage("rules"), (0.0, 0.0), "a stage that did not run");
        // The lower middle one of four (44, 48, 50, 60), the middle one of three, the only one.
        assert_eq!(runs[median_run(&runs)].run, 4);
        assert_eq!(runs[median_run(&runs[..3])].run, 3);
        assert_eq!(median_run(&runs[..1]), 0);

        let mut md = Vec::new();
        runs_markdown(&mut md, &runs, 4, 2_000_000_000).unwrap();
        let md = String::from_utf8(md).unwrap();
        assert!(md.contains("| 4 (median) | 48.00 | 96.00 | 12.00 / 24.00 | 83.3 | 24.00 / 48.00 | 400 |"), "{md}");
        assert!(md.contains("| 1 | 60.00 |"), "{md}");
        assert!(md.contains("Total wall time: 44.00 to 60.00 s over 4 runs, median 48.00 s."), "{md}");
        assert!(md.contains("Every run gave the same rows"), "{md}");

        // Runs that disagree are named.
        let runs = vec![run(1, 60.0, "a"), run(2, 44.0, "b"), run(3, 50.0, "a"), run(4, 48.0, "c")];
        let mut md = Vec::new();
        runs_markdown(&mut md, &runs, 4, 2_000_000_000).unwrap();
        let md = String::from_utf8(md).unwrap();
        assert!(md.contains("**The runs gave different rows**: runs 2, 4 differ from run 1"), "{md}");
        assert!(!md.contains("Every run gave the same rows"), "{md}");
        let runs = vec![run(1, 60.0, "a"), run(2, 44.0, "a"), run(3, 50.0, "b")];
        let mut md = Vec::new();
        runs_markdown(&mut md, &runs, 3, 2_000_000_000).unwrap();
        let md = String::from_utf8(md).unwrap();
        assert!(md.contains("**The runs gave different rows**: run 3 differs from run 1"), "{md}");
    }

    #[test]
    fn the_front_end_reads_hashes_and_lexes_every_file() {
        let dir = std::env::temp_dir().join(format!("paxrisk-front-end-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // One interchange of two messages of three segments each, 8 segments with UNB and UNZ
        // (UNA is not one), and a file of one message of 3 segments without an envelope.
        let two = "UNA:+.? 'UNB+IATA:1+1A+DE+130520:1200+1'UNH+1+PNRGOV:11:1:IA+LH0400'MSG+:22'UNT+3+1'\
                   UNH+2+PNRGOV:11:1:IA+LH0402'MSG+:22'UNT+3+2'UNZ+2+1'";
        let one = "UNH+1+PAXLST:D:05B:UN:IATA+X'BGM+745'UNT+3+1'";
        let files = [dir.join("two.edi"), dir.join("one.edi")];
        std::fs::write(&files[0], two).unwrap();
        std::fs::write(&files[1], one).unwrap();
        let f = front_end(&files).unwrap();
        assert_eq!((f.messages, f.segments), (3, 11), "{f:?}");
        assert!(f.cpu_s >= 0.0 && f.system_s <= f.cpu_s + 1e-5 && f.wall_s >= 0.0, "{f:?}");
        assert!(f.mb_per_cpu_s > 0.0, "{f:?}");
        assert!(f.hash_s > 0.0 && f.lex_s > 0.0 && f.hash_s + f.lex_s <= f.wall_s, "{f:?}");
        // A file that cannot be read is named.
        let gone = dir.join("gone.edi");
        let e = front_end(std::slice::from_ref(&gone)).unwrap_err();
        assert!(format!("{e:#}").contains(&gone.display().to_string()), "{e:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_content_hash_of_a_file_read_in_batches_is_that_of_its_rows_at_once() {
        let dir = std::env::temp_dir().join(format!("paxrisk-content-hash-{}", std::process::id()));
        let whole = table(150_000, "run-a");
        let path = dir.join("a.parquet");
        crate::landing::parquet_out::write_batch(&path, &whole, &[]).unwrap();
        // Three batches of at most 64 Ki rows, against one of them all.
        let mut at_once = ContentHasher::new(&whole.schema());
        at_once.update(&whole).unwrap();
        let at_once = at_once.finish();
        assert_eq!(parquet_content_hash(&path).unwrap(), at_once);
        // The run id is left out; any other value counts.
        let other_run = dir.join("b.parquet");
        crate::landing::parquet_out::write_batch(&other_run, &table(150_000, "run-b"), &[]).unwrap();
        assert_eq!(parquet_content_hash(&other_run).unwrap(), at_once);
        let one_row_less = dir.join("c.parquet");
        crate::landing::parquet_out::write_batch(&one_row_less, &whole.slice(0, 149_999), &[]).unwrap();
        assert_ne!(parquet_content_hash(&one_row_less).unwrap(), at_once);
        // A damaged file is an error naming it.
        let damaged = dir.join("d.parquet");
        std::fs::write(&damaged, b"PAR1 not parquet").unwrap();
        let e = parquet_content_hash(&damaged).unwrap_err().to_string();
        assert!(e.contains("d.parquet") && e.contains("not a readable Parquet file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
