//! `manifest.json`: everything an auditor needs to know about a run without re-running it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::RunArgs;
use super::scores::Scored;
use crate::ingest::Ingested;
use crate::rules::engine::Evaluation;
use crate::rules::pack::{Pack, Status};

/// The manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// paxrisk version.
    pub tool_version: String,
    /// Run id.
    pub run_id: String,
    /// UTC start time.
    pub started_at: String,
    /// The as-of time the run is a function of.
    pub as_of: String,
    /// Arguments as resolved.
    pub arguments: Arguments,
    /// One entry per input file.
    pub inputs: Vec<InputFile>,
    /// Sums over the inputs.
    pub totals: Totals,
    /// The nothing-lost invariants, each checked.
    pub invariants: Vec<Invariant>,
    /// The rule pack.
    pub rule_pack: RulePack,
    /// Hits per rule id (rules that ran).
    pub hits_per_rule: Vec<RuleHits>,
    /// Rules that failed (memory or time limit), by name.
    pub failed_rules: Vec<FailedRule>,
    /// Sensitive items dropped at ingest, by code.
    pub sensitive_dropped: Vec<(String, u64)>,
    /// Scored travellers, review list and bands.
    pub results: Results,
    /// Output files with rows and SHA-256.
    pub outputs: Vec<OutputFile>,
    /// Wall-clock seconds per stage.
    pub durations_seconds: Vec<(String, f64)>,
}

/// Arguments of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Arguments {
    /// Inputs as given.
    pub input: Vec<String>,
    /// Rule pack folder.
    pub rules: String,
    /// Output folder.
    pub out: String,
    /// `--as-of` as given, if it was.
    pub as_of: Option<String>,
    /// `--landing`.
    pub landing: Option<String>,
    /// `--threads`.
    pub threads: Option<usize>,
    /// The whole command line.
    pub command_line: Vec<String>,
}

/// One input file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputFile {
    /// Path.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256.
    pub sha256: String,
    /// Detected format.
    pub format: String,
    /// The whole file was rejected.
    pub file_rejected: bool,
    /// An earlier input with the same content.
    pub duplicate_of: Option<String>,
    /// Messages read / loaded / rejected / duplicate.
    pub messages: Count4,
    /// PNRs.
    pub pnrs: Count4,
    /// Travellers.
    pub travellers: Count4,
    /// People of PAXLST (API) lists: read / loaded / duplicate (never rejected one by one).
    #[serde(default)]
    pub api_persons: Count4,
}

/// read = loaded + rejected + duplicate.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Count4 {
    /// Read.
    pub read: u64,
    /// Loaded.
    pub loaded: u64,
    /// Rejected.
    pub rejected: u64,
    /// Not loaded again: identical to one already loaded.
    pub duplicate: u64,
}

/// Sums.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Totals {
    /// Input files.
    pub files: u64,
    /// Files rejected whole.
    pub files_rejected: u64,
    /// Messages read.
    pub messages_read: u64,
    /// Messages loaded.
    pub messages_loaded: u64,
    /// Messages rejected.
    pub messages_rejected: u64,
    /// Messages duplicate.
    pub messages_duplicate: u64,
    /// PNRs read.
    pub pnrs_read: u64,
    /// PNRs loaded.
    pub pnrs_loaded: u64,
    /// PNRs rejected.
    pub pnrs_rejected: u64,
    /// PNRs duplicate.
    pub pnrs_duplicate: u64,
    /// Travellers read.
    pub travellers_read: u64,
    /// Travellers loaded.
    pub travellers_loaded: u64,
    /// People of PAXLST lists read.
    #[serde(default)]
    pub api_persons_read: u64,
    /// People of PAXLST lists loaded (rows of `api_traveller`).
    #[serde(default)]
    pub api_persons_loaded: u64,
    /// Rows of `rejects`.
    pub reject_rows: u64,
    /// Rows of `diagnostics`.
    pub diagnostic_rows: u64,
}

/// One invariant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invariant {
    /// What it says.
    pub name: String,
    /// Left side.
    pub left: u64,
    /// Right side.
    pub right: u64,
    /// Whether it holds.
    pub holds: bool,
}

/// The rule pack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RulePack {
    /// Folder.
    pub dir: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// SHA-256 over every file.
    pub hash: String,
    /// The copy of the pack inside the run folder, relative to it: what `explain` and `audit`
    /// read, so that later edits of the pack never change what an old run explains.
    pub saved_copy: String,
    /// Every rule.
    pub rules: Vec<RuleEntry>,
}

/// One rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleEntry {
    /// Id.
    pub id: String,
    /// Version.
    pub version: u32,
    /// SHA-256 of the file.
    pub hash: String,
    /// Status.
    pub status: String,
    /// Weight.
    pub weight: u32,
    /// File, relative to the pack.
    pub file: String,
}

/// Hits of one rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleHits {
    /// Rule id.
    pub rule_id: String,
    /// Hits.
    pub hits: u64,
}

/// A failed rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailedRule {
    /// Rule id.
    pub rule_id: String,
    /// File.
    pub file: String,
    /// Error.
    pub error: String,
}

/// What the run found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// Distinct flights (flight and date).
    pub flights: u64,
    /// Distinct PNRs.
    pub pnrs: u64,
    /// Travellers scored (rows of scores.parquet).
    pub travellers_scored: u64,
    /// Hits.
    pub hits: u64,
    /// Hits on keys not in traveller_journey (not scored).
    pub stray_hits: u64,
    /// Review list rows.
    pub review_list: u64,
    /// Scores per band.
    pub scores_by_band: Vec<(String, u64)>,
    /// Review list rows per band.
    pub review_by_band: Vec<(String, u64)>,
}

/// An output file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutputFile {
    /// File name in the run folder.
    pub name: String,
    /// Rows.
    pub rows: u64,
    /// SHA-256.
    pub sha256: String,
}

/// What the manifest is built from.
pub struct Inputs<'a> {
    /// Run id.
    pub run_id: &'a str,
    /// Start.
    pub started: DateTime<Utc>,
    /// As-of.
    pub as_of: DateTime<Utc>,
    /// Arguments.
    pub args: &'a RunArgs,
    /// Pack.
    pub pack: &'a Pack,
    /// Ingest result.
    pub ingested: &'a Ingested,
    /// Rows of each landing table as the engine received them.
    pub landed: &'a [(&'static str, u64)],
    /// Rule evaluation.
    pub eval: &'a Evaluation,
    /// Scored tables.
    pub scored: &'a Scored<'a>,
    /// Output files written.
    pub outputs: Vec<OutputFile>,
    /// Stage durations.
    pub durations: Vec<(String, f64)>,
}

fn secs(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Builds the manifest and checks the invariants.
pub fn build(x: Inputs<'_>) -> Manifest {
    let ing = x.ingested;
    let t = ing.totals();
    let files_rejected = ing.files.iter().filter(|f| f.file_rejected).count() as u64;
    let inputs = ing
        .files
        .iter()
        .map(|f| InputFile {
            path: f.path.clone(),
            size: f.size,
            sha256: f.sha256.clone(),
            format: f.format.clone(),
            file_rejected: f.file_rejected,
            duplicate_of: f.duplicate_of.clone(),
            messages: Count4 {
                read: f.messages_read,
                loaded: f.messages_loaded,
                rejected: f.messages_rejected,
                duplicate: f.messages_duplicate,
            },
            pnrs: Count4 {
                read: f.counts.pnrs_read,
                loaded: f.counts.pnrs_loaded,
                rejected: f.counts.pnrs_rejected,
                duplicate: f.counts.pnrs_duplicate,
            },
            travellers: Count4 {
                read: f.counts.travellers_read,
                loaded: f.counts.travellers_loaded,
                rejected: f.counts.travellers_rejected,
                duplicate: f.counts.travellers_duplicate,
            },
            api_persons: Count4 {
                read: f.counts.api_persons_read,
                loaded: f.counts.api_persons_loaded,
                rejected: 0,
                duplicate: f.counts.api_persons_duplicate,
            },
        })
        .collect();
    let mut invariants = Vec::new();
    let mut inv =
        |name: String, left: u64, right: u64| invariants.push(Invariant { name, left, right, holds: left == right });
    for f in &ing.files {
        for (what, read, accounted) in f.invariants() {
            inv(format!("{what} read = loaded + rejected + duplicate ({})", f.path), read, accounted);
        }
    }
    for (what, read, accounted) in t.invariants() {
        inv(format!("{what} read = loaded + rejected + duplicate (all inputs)"), read, accounted);
    }
    let landed = |table: &str| x.landed.iter().find(|(n, _)| *n == table).map(|(_, r)| *r).unwrap_or(0);
    inv("push rows = messages loaded".into(), landed("push"), t.messages_loaded);
    inv("pnr rows = PNRs loaded".into(), landed("pnr"), t.counts.pnrs_loaded);
    inv("traveller rows = travellers loaded".into(), landed("traveller"), t.counts.travellers_loaded);
    inv("api_traveller rows = API persons loaded".into(), landed("api_traveller"), t.counts.api_persons_loaded);
    let scored_hits: u64 = x.eval.hits.len() as u64 - x.scored.stray_hits;
    let written = |name: &str| x.outputs.iter().find(|f| f.name == name).map(|f| f.rows).unwrap_or(0);
    inv("hits.parquet rows = hits on scored travellers".into(), written("hits.parquet"), scored_hits);
    let per_rule_sum: u64 = x.eval.hits_per_rule.values().sum();
    inv("sum of hits per rule = hits".into(), per_rule_sum, x.eval.hits.len() as u64);

    let rules = x
        .pack
        .rules
        .iter()
        .map(|r| RuleEntry {
            id: r.spec.id.clone(),
            version: r.spec.version,
            hash: r.hash.clone(),
            status: format!("{:?}", r.spec.status).to_lowercase(),
            weight: if r.spec.status == Status::Deprecated { 0 } else { r.weight() },
            file: r.path.strip_prefix(&x.pack.dir).unwrap_or(&r.path).display().to_string(),
        })
        .collect();
    let a = x.args;
    Manifest {
        tool_version: crate::VERSION.to_string(),
        run_id: x.run_id.to_string(),
        started_at: secs(x.started),
        as_of: secs(x.as_of),
        arguments: Arguments {
            input: a.input.iter().map(|p| p.display().to_string()).collect(),
            rules: a.rules.display().to_string(),
            out: a.out.display().to_string(),
            as_of: a.as_of.map(secs),
            landing: a.landing.as_ref().map(|p| p.display().to_string()),
            threads: a.threads,
            command_line: a.command_line.clone(),
        },
        inputs,
        totals: Totals {
            files: ing.files.len() as u64,
            files_rejected,
            messages_read: t.messages_read,
            messages_loaded: t.messages_loaded,
            messages_rejected: t.messages_rejected,
            messages_duplicate: t.messages_duplicate,
            pnrs_read: t.counts.pnrs_read,
            pnrs_loaded: t.counts.pnrs_loaded,
            pnrs_rejected: t.counts.pnrs_rejected,
            pnrs_duplicate: t.counts.pnrs_duplicate,
            travellers_read: t.counts.travellers_read,
            travellers_loaded: t.counts.travellers_loaded,
            api_persons_read: t.counts.api_persons_read,
            api_persons_loaded: t.counts.api_persons_loaded,
            reject_rows: ing.rows.rejects.len() as u64,
            diagnostic_rows: ing.rows.diagnostics.len() as u64,
        },
        invariants,
        rule_pack: RulePack {
            dir: x.pack.dir.display().to_string(),
            name: x.pack.manifest.name.clone(),
            version: x.pack.manifest.version.clone(),
            hash: x.pack.hash.clone(),
            saved_copy: super::SAVED_PACK.to_string(),
            rules,
        },
        hits_per_rule: x
            .eval
            .hits_per_rule
            .iter()
            .map(|(&i, &n)| RuleHits { rule_id: x.pack.rules[i].spec.id.clone(), hits: n })
            .collect(),
        failed_rules: x
            .eval
            .failures
            .iter()
            .map(|f| FailedRule { rule_id: f.id.clone(), file: f.path.display().to_string(), error: f.message.clone() })
            .collect(),
        sensitive_dropped: ing.drops.by_code.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        results: Results {
            flights: x.scored.flights,
            pnrs: x.scored.pnrs,
            travellers_scored: x.scored.travellers(),
            hits: x.eval.hits.len() as u64,
            stray_hits: x.scored.stray_hits,
            review_list: x.scored.review_rows(),
            scores_by_band: x.scored.scores_by_band.clone(),
            review_by_band: x.scored.review_by_band.clone(),
        },
        outputs: x.outputs,
        durations_seconds: x.durations,
    }
}

impl Manifest {
    /// Whether every invariant holds.
    pub fn invariants_hold(&self) -> bool {
        self.invariants.iter().all(|i| i.holds)
    }
}
