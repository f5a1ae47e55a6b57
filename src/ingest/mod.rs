//! The ingest stage: find input files, detect their format, parse them in parallel and map
//! every message to landing-table rows, losing nothing.
//!
//! Files are parsed in parallel (rayon), and so are the messages of a large file. Results are
//! collected in input order, so the rows are the same whatever the thread count. With
//! [`IngestConfig::arrow`] (what a run uses) the merge moves each message's rows into the Arrow
//! record batches they end up in (`landing::schema::DataBuilders`), each value written once, so
//! the whole input is never held as Rust rows at once. Every message
//! ends up in `push` or `rejects`, and so does every PNR; [`FileReport`] carries the counts that
//! prove it.

pub mod ids;
pub mod paxlst_map;
pub mod pnrgov_map;
pub mod sensitive;
pub mod times;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::edifact::interchange::{self, Message};
use arrow::record_batch::RecordBatch;

use crate::landing::schema::{DataBuilders, DiagnosticRow, RejectRow, Rows, Shared};
use crate::landing::staged::StagedLanding;
use crate::reference::Airports;
use pnrgov_map::{Counts, MapContext};
use sensitive::{SensitiveCodes, SensitiveDrops};

/// Input larger than this is refused as a whole: it cannot be a PNR push file, and reading it
/// would hold that much memory.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// A message (all its parts) longer than this is rejected: a push of one flight is a few MB at
/// most, and a longer one is broken framing. It keeps every value of a landing row within a
/// record batch's text column (`landing::schema::TEXT_BATCH_LIMIT`, a value being at most twice
/// the length of the message text it comes from).
pub const MAX_MESSAGE_BYTES: usize = crate::landing::schema::TEXT_BATCH_LIMIT / 4;

/// Errors that stop ingest altogether (as opposed to bad input, which is rejected and reported).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// An input path given on the command line does not exist or cannot be listed.
    #[error("input {path}: {source}")]
    Input {
        /// The path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Writing the landing Parquet set failed (`run --landing`).
    #[error("writing the landing tables: {0}")]
    Landing(#[from] crate::landing::parquet_out::WriteError),
}

/// The format of an input file, detected from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PNRGOV EDIFACT.
    Pnrgov,
    /// PAXLST EDIFACT.
    Paxlst,
    /// EDIFACT of another message type.
    OtherEdifact,
    /// Not recognised.
    Unknown,
}

impl Format {
    /// Name as shown in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pnrgov => "PNRGOV",
            Format::Paxlst => "PAXLST",
            Format::OtherEdifact => "EDIFACT",
            Format::Unknown => "unknown",
        }
    }
}

/// What ingest found in one input file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReport {
    /// Path as given or found.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Detected format.
    pub format: String,
    /// Messages whose (first) part is in this file.
    pub messages_read: u64,
    /// Of those, loaded into `push`.
    pub messages_loaded: u64,
    /// Of those, rejected.
    pub messages_rejected: u64,
    /// Of those, not loaded because the identical message (same push_id) was already loaded
    /// from an earlier file or place: a file given twice, or pushes that overlap.
    pub messages_duplicate: u64,
    /// The earlier input file with the same SHA-256, when this file is a copy of it.
    pub duplicate_of: Option<String>,
    /// PNRs and travellers read, loaded and rejected.
    pub counts: Counts,
    /// True when the whole file was rejected.
    pub file_rejected: bool,
}

impl FileReport {
    /// Counts one message of this file, loaded or rejected, with its PNRs and travellers.
    fn record_message(&mut self, loaded: bool, c: &Counts) {
        self.messages_read += 1;
        if loaded {
            self.messages_loaded += 1;
        } else {
            self.messages_rejected += 1;
        }
        self.counts.add(c);
    }

    /// Counts one message that duplicates an earlier one: read, but neither loaded nor rejected.
    fn record_duplicate(&mut self, c: &Counts) {
        self.messages_read += 1;
        self.messages_duplicate += 1;
        self.counts.pnrs_read += c.pnrs_read;
        self.counts.pnrs_duplicate += c.pnrs_read;
        self.counts.travellers_read += c.travellers_read;
        self.counts.travellers_duplicate += c.travellers_read;
        self.counts.api_persons_read += c.api_persons_read;
        self.counts.api_persons_duplicate += c.api_persons_read;
    }

    /// The nothing-lost invariants of this report: (what, read, loaded + rejected + duplicate).
    pub fn invariants(&self) -> [(&'static str, u64, u64); 4] {
        let c = &self.counts;
        [
            ("messages", self.messages_read, self.messages_loaded + self.messages_rejected + self.messages_duplicate),
            ("pnrs", c.pnrs_read, c.pnrs_loaded + c.pnrs_rejected + c.pnrs_duplicate),
            ("travellers", c.travellers_read, c.travellers_loaded + c.travellers_rejected + c.travellers_duplicate),
            ("API persons", c.api_persons_read, c.api_persons_loaded + c.api_persons_duplicate),
        ]
    }
}

/// One message mapped to rows, before duplicates are dropped.
struct MessageOutcome {
    push_id: String,
    source_offset: usize,
    rows: Rows,
    counts: Counts,
    drops: SensitiveDrops,
    loaded: bool,
}

impl MessageOutcome {
    fn new(push_id: String, source_offset: usize, mapped: (Rows, Counts, SensitiveDrops, bool)) -> Self {
        let (rows, counts, drops, loaded) = mapped;
        MessageOutcome { push_id, source_offset, rows, counts, drops, loaded }
    }
}

/// Messages already loaded, by push_id, with where they came from.
#[derive(Default)]
struct Seen {
    pushes: std::collections::HashMap<String, (String, usize)>,
    /// Arrow mode: the batches being built from the rows of the messages taken.
    builders: Option<DataBuilders>,
}

impl Seen {
    /// Adds a mapped message to the result, unless the identical message was loaded before.
    fn take(&mut self, result: &mut Ingested, origin: usize, mut m: MessageOutcome) {
        let file = result.files[origin].path.clone();
        if m.loaded {
            if let Some((first_file, first_offset)) = self.pushes.get(&m.push_id) {
                result.files[origin].record_duplicate(&m.counts);
                result.rows.diagnostics.push(DiagnosticRow {
                    source_file: file,
                    source_offset: m.source_offset as i64,
                    push_id: Some(m.push_id.clone()),
                    severity: "info".into(),
                    code: "DUPLICATE_MESSAGE".into(),
                    message: format!(
                        "identical to the message at byte {first_offset} of {first_file}, which was loaded; not loaded again"
                    ),
                });
                return;
            }
            self.pushes.insert(m.push_id.clone(), (file, m.source_offset));
        }
        result.files[origin].record_message(m.loaded, &m.counts);
        result.drops.merge(&m.drops);
        if let Some(builders) = &mut self.builders {
            builders.take(&mut m.rows, &mut result.landing);
        }
        result.rows.append(m.rows);
    }

    /// Finishes the batches being built (Arrow mode).
    fn finish(&mut self, result: &mut Ingested) {
        if let Some(builders) = &mut self.builders {
            builders.finish(&mut result.landing);
        }
    }

    /// Arrow bytes of the batches being built.
    fn held_bytes(&self) -> usize {
        self.builders.as_ref().map_or(0, DataBuilders::held_bytes)
    }
}

/// Everything ingest produced.
#[derive(Debug, Default)]
pub struct Ingested {
    /// Landing rows of all inputs, in input order.
    pub rows: Rows,
    /// One report per input file, in input order.
    pub files: Vec<FileReport>,
    /// Sensitive items dropped, by code.
    pub drops: SensitiveDrops,
    /// In Arrow mode ([`IngestConfig::arrow`]): the data tables as record batches of up to
    /// `BATCH_ROWS` rows, in the order of `Rows::DATA_TABLES`, and `rows` holds only rejects and
    /// diagnostics. Every list is empty otherwise, and after a staged landing set took them.
    pub landing: [Vec<RecordBatch>; Rows::DATA_TABLES.len()],
    /// Whether `landing` holds the tables' in-memory form (`landing::compact`): Arrow mode without
    /// a landing set.
    pub compact: bool,
}

impl Ingested {
    /// Sum of the per-file reports.
    pub fn totals(&self) -> FileReport {
        let mut t = FileReport { path: "total".into(), ..Default::default() };
        for f in &self.files {
            t.size += f.size;
            t.messages_read += f.messages_read;
            t.messages_loaded += f.messages_loaded;
            t.messages_rejected += f.messages_rejected;
            t.messages_duplicate += f.messages_duplicate;
            t.counts.add(&f.counts);
        }
        t
    }

    /// A SHA-256 hasher fed with the inputs' own SHA-256 digests, sorted: the identity of the
    /// input set whatever the order or names of the files. Ingest batch ids and run ids build on it.
    pub fn inputs_hasher(&self) -> Sha256 {
        let mut digests: Vec<&str> = self.files.iter().map(|f| f.sha256.as_str()).collect();
        digests.sort_unstable();
        let mut h = Sha256::new();
        for d in digests {
            h.update(d.as_bytes());
            h.update(b"\n");
        }
        h
    }

    /// Moves the landing tables out as record batches, in the order of `all_schemas`: the data
    /// tables (from Arrow mode, or converted from the rows now), then `rejects` and
    /// `diagnostics`, whose rows stay (a run writes them out).
    pub fn take_landing(&mut self) -> Vec<(&'static str, Vec<RecordBatch>)> {
        let data: Vec<Vec<RecordBatch>> = if self.compact || self.landing.iter().any(|t| !t.is_empty()) {
            // Arrow mode (with no message loaded, every data table is empty).
            std::mem::take(&mut self.landing).into()
        } else {
            self.rows.take_data_batches()
        };
        let mut out: Vec<(&'static str, Vec<RecordBatch>)> = Rows::DATA_TABLES.into_iter().zip(data).collect();
        // A table no message had rows for still needs its schema.
        for ((name, batches), (table, _, schema)) in out.iter_mut().zip(crate::landing::schema::all_schemas()) {
            debug_assert_eq!(*name, table, "DATA_TABLES follows all_schemas");
            if batches.is_empty() {
                let schema = if self.compact { crate::landing::compact::compact_schema(&schema) } else { schema };
                batches.push(RecordBatch::new_empty(schema));
            }
        }
        out.push((RejectRow::TABLE, RejectRow::to_batches(&self.rows.rejects)));
        out.push((DiagnosticRow::TABLE, DiagnosticRow::to_batches(&self.rows.diagnostics)));
        out
    }

    /// Diagnostics counted by code, most frequent first.
    pub fn diagnostics_by_code(&self) -> Vec<(String, u64)> {
        let mut m: BTreeMap<String, u64> = BTreeMap::new();
        for d in &self.rows.diagnostics {
            *m.entry(d.code.clone()).or_default() += 1;
        }
        let mut v: Vec<_> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }
}

/// Reference data ingest needs.
pub struct IngestConfig {
    /// Airports with time zones.
    pub airports: Airports,
    /// Sensitive SSR codes.
    pub sensitive: SensitiveCodes,
    /// Arrow mode: move each message's rows into record batches as soon as it is mapped (see
    /// [`Ingested::landing`]). Off by default, where every row stays in [`Ingested::rows`].
    pub arrow: bool,
    /// With a staged landing set ([`ingest_paths_staged`]): the Arrow bytes of landing rows held
    /// before they are written out. [`LANDING_FLUSH_BYTES`] unless set.
    pub flush_bytes: usize,
}

impl IngestConfig {
    /// Loads `reference/airports.csv` and `lists/sensitive_ssr.csv` from a rule pack folder.
    pub fn from_rule_pack(dir: &Path) -> anyhow::Result<IngestConfig> {
        Ok(IngestConfig {
            airports: Airports::load(&dir.join("reference").join("airports.csv"))?,
            sensitive: SensitiveCodes::load(&dir.join("lists").join("sensitive_ssr.csv"))?,
            arrow: false,
            flush_bytes: LANDING_FLUSH_BYTES,
        })
    }
}

/// Expands the input paths: files as given, folders searched recursively. Sorted, so that the
/// order (and so every output) does not depend on the file system.
pub fn find_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, IngestError> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| IngestError::Input { path: p.clone(), source })?;
        if meta.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// File extensions skipped when a folder is searched: documentation and metadata, never pushes.
pub const SKIPPED_IN_FOLDERS: &[&str] = &["md", "json", "parquet"];

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), IngestError> {
    let entries = std::fs::read_dir(dir).map_err(|source| IngestError::Input { path: dir.into(), source })?;
    for e in entries {
        let e = e.map_err(|source| IngestError::Input { path: dir.into(), source })?;
        let path = e.path();
        let name = e.file_name();
        // Hidden files (editor swap files, .DS_Store) are never airline pushes.
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        // A drop folder's documentation and metadata (a README, the generator's labels and
        // manifest) are not pushes either; name such a file explicitly to have it read.
        if path
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| SKIPPED_IN_FOLDERS.contains(&x.to_ascii_lowercase().as_str()))
        {
            continue;
        }
        let ft = e.file_type().map_err(|source| IngestError::Input { path: path.clone(), source })?;
        if ft.is_dir() {
            walk(&path, out)?;
        } else if ft.is_file() || ft.is_symlink() {
            out.push(path);
        }
    }
    Ok(())
}

/// Detects the format from the first bytes: the message type named in the first UNH.
pub fn detect_format(bytes: &[u8]) -> Format {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let pnrgov = memchr::memmem::find(head, b"PNRGOV");
    // Only a PAXLST before the first PNRGOV counts, so the search stops there instead of reading
    // the rest of a PNRGOV file's head (the two names cannot overlap).
    let paxlst = memchr::memmem::find(&head[..pnrgov.unwrap_or(head.len())], b"PAXLST");
    match (pnrgov, paxlst) {
        (_, Some(_)) => Format::Paxlst,
        (Some(_), None) => Format::Pnrgov,
        (None, None) => {
            let t = trim_start(head);
            if t.starts_with(b"UNA") || t.starts_with(b"UNB") || t.starts_with(b"UNH") {
                Format::OtherEdifact
            } else {
                Format::Unknown
            }
        }
    }
}

/// Skips leading whitespace and a UTF-8 byte-order mark.
fn trim_start(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

/// The first bytes at `offset`, for a reject row: at most 120 bytes, control bytes as `.`.
pub fn raw_prefix(bytes: &[u8], offset: usize) -> Option<String> {
    let slice = bytes.get(offset..)?;
    let slice = &slice[..slice.len().min(120)];
    let text = String::from_utf8_lossy(slice);
    Some(text.chars().map(|c| if c.is_control() { '.' } else { c }).collect())
}

fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return true;
    }
    let control = head.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\r' | b'\n' | b'\t' | 0x0c)).count();
    control * 10 > head.len()
}

/// Per-file outcome before cross-file reassembly and duplicate removal.
struct FileOutcome {
    report: FileReport,
    /// File-level rows (whole-file rejects, envelope diagnostics).
    rows: Rows,
    /// Mapped messages in file order.
    messages: Vec<MessageOutcome>,
    pending: Vec<Message<'static>>,
}

fn reject_file(report: &mut FileReport, rows: &mut Rows, bytes: &[u8], code: &str, message: String) {
    report.file_rejected = true;
    rows.rejects.push(RejectRow {
        source_file: report.path.clone(),
        source_offset: 0,
        unit: "file".into(),
        code: code.into(),
        message,
        raw_prefix: raw_prefix(bytes, 0).filter(|s| !s.is_empty()),
    });
}

/// Ingests the given paths (files, or folders searched recursively).
pub fn ingest_paths(paths: &[PathBuf], cfg: &IngestConfig) -> Result<Ingested, IngestError> {
    let files = find_inputs(paths)?;
    Ok(ingest_files(&files, cfg))
}

/// Ingests exactly these files, in this order.
pub fn ingest_files(files: &[PathBuf], cfg: &IngestConfig) -> Ingested {
    match ingest_files_staged(files, cfg, None) {
        Ok(result) => result,
        Err(e) => unreachable!("ingest without a landing set has nothing to write: {e}"),
    }
}

/// Landing rows held in Arrow (by a run with `--landing`) before they are written out: about a
/// twelfth of the landing tables of a million PNRs.
pub const LANDING_FLUSH_BYTES: usize = 512 * 1024 * 1024;

/// Ingests the given paths in Arrow mode, writing the landing tables to `staged` as they grow
/// past `cfg.flush_bytes`, so that memory stays bounded whatever the input size. The data tables
/// of the result are then empty: they are in the staged set.
pub fn ingest_paths_staged(
    paths: &[PathBuf],
    cfg: &IngestConfig,
    staged: &mut StagedLanding,
) -> Result<Ingested, IngestError> {
    debug_assert!(cfg.arrow, "a staged landing set is written from Arrow mode");
    let files = find_inputs(paths)?;
    ingest_files_staged(&files, cfg, Some(staged))
}

/// Writes the landing batches held in `result` and `seen` to `staged` when they hold `at_least`
/// bytes.
fn flush(
    result: &mut Ingested,
    seen: &mut Seen,
    staged: &mut Option<&mut StagedLanding>,
    at_least: usize,
) -> Result<(), IngestError> {
    let Some(staged) = staged else { return Ok(()) };
    let held: usize =
        result.landing.iter().flatten().map(|b| b.get_array_memory_size()).sum::<usize>() + seen.held_bytes();
    if held < at_least || held == 0 {
        return Ok(());
    }
    seen.finish(result);
    for (table, batches) in Rows::DATA_TABLES.into_iter().zip(result.landing.iter_mut()) {
        staged.write(table, batches)?;
        batches.clear();
    }
    Ok(())
}

fn ingest_files_staged(
    files: &[PathBuf],
    cfg: &IngestConfig,
    mut staged: Option<&mut StagedLanding>,
) -> Result<Ingested, IngestError> {
    let names: Vec<Shared> = files.iter().map(|p| Shared::from(p.display().to_string())).collect();
    // Tables that stay in memory take their compact form; a landing set gets plain text.
    let mut result = Ingested { compact: cfg.arrow && staged.is_none(), ..Ingested::default() };
    let mut pending: Vec<Message<'static>> = Vec::new();
    let mut seen = Seen { builders: cfg.arrow.then(|| DataBuilders::new(result.compact)), ..Seen::default() };
    let mut by_hash: BTreeMap<String, String> = BTreeMap::new();
    // Files are mapped in parallel a round at a time and merged in input order, so that at most
    // two rounds' per-message results are in memory besides the merged ones. A round is merged
    // (on one thread: checking duplicates, moving rows into Arrow) while the next is mapped, so
    // that no core waits for the merge.
    let mut mapped: Option<(usize, Vec<FileOutcome>)> = None;
    for (round, chunk) in files.chunks(FILES_PER_ROUND).enumerate() {
        let first = round * FILES_PER_ROUND;
        let map_round = || -> Vec<FileOutcome> {
            chunk.par_iter().enumerate().map(|(i, p)| ingest_one(p, (first + i) as u32, &names, cfg)).collect()
        };
        let (outcomes, merged) = match mapped.take() {
            None => (map_round(), Ok(())),
            Some((before, outcomes)) => rayon::join(map_round, || {
                merge_round(&mut result, &mut seen, &mut by_hash, &mut pending, before, outcomes);
                flush(&mut result, &mut seen, &mut staged, cfg.flush_bytes)
            }),
        };
        merged?;
        mapped = Some((first, outcomes));
    }
    if let Some((before, outcomes)) = mapped {
        merge_round(&mut result, &mut seen, &mut by_hash, &mut pending, before, outcomes);
        flush(&mut result, &mut seen, &mut staged, cfg.flush_bytes)?;
    }
    // Parts of multi-part pushes whose other parts were in other files.
    if !pending.is_empty() {
        let re = interchange::reassemble(pending);
        let mut messages: Vec<Message<'static>> = re.complete;
        let mut incomplete: BTreeMap<(String, String, String), Vec<Message<'static>>> = BTreeMap::new();
        for m in re.pending {
            let key = (
                m.message_type.clone().unwrap_or_default(),
                m.envelope.sender.clone().unwrap_or_default(),
                m.common_access_ref.clone().unwrap_or_default(),
            );
            incomplete.entry(key).or_default().push(m);
        }
        // A transfer that never completed is still read, from the parts that arrived.
        for (_, mut parts) in incomplete {
            parts.sort_by_key(|m| (m.part.map(|p| p.seq).unwrap_or(0), m.origin, m.offset));
            messages.push(interchange::join_parts(parts));
        }
        messages.sort_by_key(|m| (m.origin, m.offset));
        for msg in messages {
            let origin = msg.origin as usize;
            let raw_of = |o: u32, off: usize| std::fs::read(&files[o as usize]).ok().and_then(|b| raw_prefix(&b, off));
            let ctx = MapContext { files: &names, raw: &raw_of, airports: &cfg.airports, sensitive: &cfg.sensitive };
            let push_id = push_id_from_files(&msg, files);
            let mapped = map_one(&msg, push_id.clone(), &ctx);
            let m = MessageOutcome::new(push_id, msg.offset, mapped);
            seen.take(&mut result, origin, m);
        }
    }
    seen.finish(&mut result);
    flush(&mut result, &mut seen, &mut staged, 0)?;
    Ok(result)
}

/// Files mapped in parallel per round of the merge (see [`ingest_files`]). Two rounds' rows are
/// held at once, as Rust rows until the merge moves them into Arrow: 256 files per round held
/// 50 MiB more at 100,000 PNRs than 128, for no gain in speed.
pub const FILES_PER_ROUND: usize = 128;

/// Merges one round of file outcomes (files `first..`) into `result`, in input order.
fn merge_round(
    result: &mut Ingested,
    seen: &mut Seen,
    by_hash: &mut BTreeMap<String, String>,
    pending: &mut Vec<Message<'static>>,
    first: usize,
    outcomes: Vec<FileOutcome>,
) {
    for (i, o) in outcomes.into_iter().enumerate() {
        let origin = first + i;
        let mut report = o.report;
        if !report.sha256.is_empty() {
            match by_hash.get(&report.sha256) {
                Some(first) => report.duplicate_of = Some(first.clone()),
                None => {
                    by_hash.insert(report.sha256.clone(), report.path.clone());
                }
            }
        }
        result.rows.append(o.rows);
        result.files.push(report);
        for m in o.messages {
            seen.take(result, origin, m);
        }
        pending.extend(o.pending);
    }
}

fn push_id_from_files(msg: &Message<'_>, files: &[PathBuf]) -> String {
    let mut cache: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    let mut slices: Vec<Vec<u8>> = Vec::new();
    for &(o, start, end) in &msg.spans {
        let bytes = cache.entry(o).or_insert_with(|| std::fs::read(&files[o as usize]).unwrap_or_default());
        slices.push(bytes.get(start..end).unwrap_or_default().to_vec());
    }
    ids::push_id(slices.iter().map(|s| s.as_slice()))
}

/// Maps one whole message; a message of a type we do not ingest is rejected as a unit.
fn map_one(msg: &Message<'_>, push_id: String, ctx: &MapContext<'_>) -> (Rows, Counts, SensitiveDrops, bool) {
    let reject = |code: &str, message: String| {
        let file = ctx.file(msg.origin).to_string();
        let mut rows = Rows::default();
        rows.rejects.push(RejectRow {
            source_file: file.clone(),
            source_offset: msg.offset as i64,
            unit: "message".into(),
            code: code.into(),
            message,
            raw_prefix: (ctx.raw)(msg.origin, msg.offset),
        });
        for d in &msg.diagnostics {
            rows.diagnostics.push(DiagnosticRow {
                source_file: file.clone(),
                source_offset: d.offset as i64,
                push_id: None,
                severity: d.severity.as_str().into(),
                code: d.code.into(),
                message: d.message.clone(),
            });
        }
        (rows, Counts::default(), SensitiveDrops::default(), false)
    };
    let bytes: usize = msg.spans.iter().map(|&(_, start, end)| end - start).sum();
    if bytes > MAX_MESSAGE_BYTES {
        return reject(
            "MESSAGE_TOO_LARGE",
            format!(
                "message of {bytes} bytes ({} part(s)) is longer than the {MAX_MESSAGE_BYTES}-byte limit; nothing to load",
                msg.spans.len()
            ),
        );
    }
    match msg.message_type.as_deref() {
        Some("PNRGOV") => {}
        Some("PAXLST") => {
            if !msg.segments().any(|s| matches!(s.tag.as_ref(), "BGM" | "TDT" | "NAD")) {
                return reject(
                    "MESSAGE_UNREADABLE",
                    format!(
                        "PAXLST message has {} body segments and none of BGM, TDT or NAD; nothing to load",
                        msg.segment_count()
                    ),
                );
            }
            let mapped = paxlst_map::map_message(msg, push_id, ctx);
            return (mapped.rows, mapped.counts, mapped.drops, true);
        }
        other => {
            return reject(
                "UNSUPPORTED_MESSAGE_TYPE",
                format!("message type {:?} is neither PNRGOV nor PAXLST", other.unwrap_or("")),
            );
        }
    }
    let recognisable = msg.segments().any(|s| matches!(s.tag.as_ref(), "MSG" | "TVL" | "SRC" | "EQN"));
    if !recognisable {
        return reject(
            "MESSAGE_UNREADABLE",
            format!(
                "message has {} body segments and none of MSG, TVL, EQN or SRC; nothing to load",
                msg.segment_count()
            ),
        );
    }
    let mapped = pnrgov_map::map_message(msg, push_id, ctx);
    (mapped.rows, mapped.counts, mapped.drops, true)
}

fn ingest_one(path: &Path, origin: u32, names: &[Shared], cfg: &IngestConfig) -> FileOutcome {
    let mut report = FileReport { path: names[origin as usize].to_string(), ..Default::default() };
    let mut rows = Rows::default();
    let empty =
        |report: FileReport, rows: Rows| FileOutcome { report, rows, messages: Vec::new(), pending: Vec::new() };

    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    report.size = size;
    if size > MAX_FILE_BYTES {
        reject_file(
            &mut report,
            &mut rows,
            &[],
            "FILE_TOO_LARGE",
            format!("{size} bytes is larger than the {MAX_FILE_BYTES}-byte limit"),
        );
        return empty(report, rows);
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            reject_file(&mut report, &mut rows, &[], "READ_ERROR", format!("cannot read file: {e}"));
            return empty(report, rows);
        }
    };
    report.size = bytes.len() as u64;
    report.sha256 = hex::encode(Sha256::digest(&bytes));
    let format = detect_format(&bytes);
    report.format = format.as_str().into();
    if trim_start(&bytes).is_empty() {
        reject_file(&mut report, &mut rows, &bytes, "EMPTY_FILE", "file is empty or holds only whitespace".into());
        return empty(report, rows);
    }
    if looks_binary(&bytes) {
        reject_file(
            &mut report,
            &mut rows,
            &bytes,
            "BINARY_FILE",
            "file holds binary data (NUL or control bytes), not EDIFACT text".into(),
        );
        return empty(report, rows);
    }
    if format == Format::Unknown {
        reject_file(
            &mut report,
            &mut rows,
            &bytes,
            "UNKNOWN_FORMAT",
            "no UNA/UNB/UNH at the start and no PNRGOV or PAXLST message type in the first 64 KiB".into(),
        );
        return empty(report, rows);
    }

    let arena = crate::edifact::arena_for(&bytes);
    let parsed = interchange::read_messages(&bytes, origin, &arena);
    let file_diags: Vec<DiagnosticRow> = parsed
        .diagnostics
        .iter()
        .map(|d| DiagnosticRow {
            source_file: report.path.clone(),
            source_offset: d.offset as i64,
            push_id: None,
            severity: d.severity.as_str().into(),
            code: d.code.into(),
            message: d.message.clone(),
        })
        .collect();
    if parsed.messages.is_empty() {
        let why = match parsed.diagnostics.iter().find(|d| d.code == "SEGMENT_TOO_LONG") {
            Some(d) => format!("no message could be read: {}", d.message),
            None => format!("no UNH message header found in {} segments", parsed.segments),
        };
        reject_file(&mut report, &mut rows, &bytes, "NO_MESSAGES", why);
        rows.diagnostics.extend(file_diags);
        return empty(report, rows);
    }
    rows.diagnostics.extend(file_diags);

    let re = interchange::reassemble(parsed.messages);
    let raw_of = |o: u32, off: usize| if o == origin { raw_prefix(&bytes, off) } else { None };
    let ctx = MapContext { files: names, raw: &raw_of, airports: &cfg.airports, sensitive: &cfg.sensitive };
    let messages: Vec<MessageOutcome> = re
        .complete
        .par_iter()
        .map(|m| {
            let push_id = ids::push_id(m.spans.iter().map(|&(_, s, e)| bytes.get(s..e).unwrap_or_default()));
            let mapped = map_one(m, push_id.clone(), &ctx);
            MessageOutcome::new(push_id, m.offset, mapped)
        })
        .collect();
    let pending = re.pending.into_iter().map(Message::into_owned).collect();
    FileOutcome { report, rows, messages, pending }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `f` with a mapping context of no airports and no sensitive codes, for file `in.edi`.
    fn with_context<R>(f: impl FnOnce(&MapContext<'_>) -> R) -> R {
        let airports = Airports::parse("iata,icao,name,city,country,tz,lat,lon\n", Path::new("none.csv")).unwrap();
        let sensitive = SensitiveCodes::default();
        let names: Vec<Shared> = vec!["in.edi".into()];
        let raw = |_: u32, _: usize| Some("UNH+1+PNRGOV".to_string());
        f(&MapContext { files: &names, raw: &raw, airports: &airports, sensitive: &sensitive })
    }

    #[test]
    fn the_format_is_the_first_message_type_named_in_the_head() {
        let pnr = "UNA:+.? 'UNB+IATA:1+1A+DE'UNH+1+PNRGOV:11:1:IA+X'";
        let api = "UNB+UNOA:4+LH+DE'UNH+1+PAXLST:D:05B:UN:IATA'";
        assert_eq!(detect_format(pnr.as_bytes()), Format::Pnrgov);
        assert_eq!(detect_format(api.as_bytes()), Format::Paxlst);
        // Both named: the first one. A name after the head's 64 KiB is not read.
        assert_eq!(detect_format(format!("{pnr}FTX+PAXLST'").as_bytes()), Format::Pnrgov);
        assert_eq!(detect_format(format!("{api}FTX+PNRGOV'").as_bytes()), Format::Paxlst);
        let far = format!("UNB+UNOA:4+LH+DE'{}UNH+1+PAXLST'", "X".repeat(64 * 1024));
        assert_eq!(detect_format(far.as_bytes()), Format::OtherEdifact);
        // Names back to back, either way round.
        assert_eq!(detect_format(b"PNRGOVPAXLST"), Format::Pnrgov);
        assert_eq!(detect_format(b"PAXLSTPNRGOV"), Format::Paxlst);
        assert_eq!(detect_format(b"\xEF\xBB\xBF  UNH+1+INVOIC'"), Format::OtherEdifact);
        assert_eq!(detect_format(b"name,date\n"), Format::Unknown);
        assert_eq!(detect_format(b""), Format::Unknown);
    }

    #[test]
    fn a_message_longer_than_the_limit_is_rejected_whole_and_a_shorter_one_is_loaded() {
        let text = b"UNB+IATA:1+XX+YY+260101:1200+1'UNH+1+PNRGOV:13:1:IA+XX0001/010126/1200'\
                     MSG+:22'ORG+XX'TVL+010126:1200+AAA+BBB+XX+0001'EQN+1'SRC'RCI+XX:ABC123'\
                     TIF+ONE:A+ANNA:A'UNT+9+1'UNZ+1+1'";
        let arena = crate::edifact::Arena::new();
        let parsed = interchange::read_messages(text, 0, &arena);
        let mut message = parsed.messages.into_iter().next().unwrap();

        let (rows, counts, _, loaded) = with_context(|ctx| map_one(&message, "M1".into(), ctx));
        assert!(loaded && rows.rejects.is_empty());
        assert_eq!((counts.pnrs_loaded, rows.traveller.len()), (1, 1));

        // The same message as if its two parts were a byte longer than the limit together.
        message.spans = vec![(0, 0, MAX_MESSAGE_BYTES / 2), (0, 0, MAX_MESSAGE_BYTES / 2 + 2)];
        let (rows, counts, _, loaded) = with_context(|ctx| map_one(&message, "M1".into(), ctx));
        assert!(!loaded);
        assert_eq!((counts.pnrs_loaded, rows.traveller.len(), rows.rejects.len()), (0, 0, 1));
        let reject = &rows.rejects[0];
        assert_eq!(
            (reject.code.as_str(), reject.unit.as_str(), reject.source_file.as_str()),
            ("MESSAGE_TOO_LARGE", "message", "in.edi")
        );
        assert!(
            reject.message.contains(&format!("message of {} bytes (2 part(s))", MAX_MESSAGE_BYTES + 1)),
            "{}",
            reject.message
        );
    }

    #[test]
    fn contacts_from_free_text_name_the_segment_and_code_they_came_from() {
        let text = b"UNB+IATA:1+XX+YY+260101:1200+1'UNH+1+PNRGOV:13:1:IA+XX0001/010126/1200'\
                     MSG+:22'ORG+XX'TVL+010126:1200+AAA+BBB+XX+0001'EQN+1'SRC'RCI+XX:ABC123'\
                     IFT+4:28::XX+CTCT BCN 341176539'TIF+ONE:A+ANNA:A'\
                     SSR+CTCE:HK:1:XX:::::/ANNA.ONE//EXAMPLE.COM'SSR+CTCM:HK:1:XX:::::/4930123456'\
                     UNT+12+1'UNZ+1+1'";
        let arena = crate::edifact::Arena::new();
        let parsed = interchange::read_messages(text, 0, &arena);
        let message = parsed.messages.into_iter().next().unwrap();

        let (rows, _, _, loaded) = with_context(|ctx| map_one(&message, "M1".into(), ctx));
        assert!(loaded);
        let mut contacts: Vec<(&str, &str, &str)> =
            rows.contact.iter().map(|c| (c.source_segment.as_str(), c.kind.as_str(), c.value.as_str())).collect();
        contacts.sort();
        assert_eq!(
            contacts,
            [
                ("IFT CTCT", "agency", "341176539"),
                ("SSR CTCE", "email", "anna.one@example.com"),
                ("SSR CTCM", "mobile", "4930123456"),
            ]
        );
    }
}
