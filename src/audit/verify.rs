//! `paxrisk audit verify RUN [--inputs PATH…]`: re-checks a run folder against its manifest.
//!
//! Output files against their recorded SHA-256 and row counts; the count invariants, recomputed
//! from the recorded counts; `hits.parquet` against the hits inside `scores.parquet`, and every
//! score and band rebuilt from its hits with the saved pack's scoring; the saved rule pack and
//! each rule file against their recorded hashes; with `--inputs`, the input files' hashes.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;

use arrow::array::{Array, AsArray};

use super::{RunFolder, column, texts};
use crate::rules::score;

/// One finding.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked.
    pub what: String,
    /// Whether it held.
    pub ok: bool,
    /// The difference, when it did not.
    pub detail: String,
}

struct Checks(Vec<Check>);

impl Checks {
    fn push(&mut self, what: impl Into<String>, ok: bool, detail: impl FnOnce() -> String) {
        let detail = if ok { String::new() } else { detail() };
        self.0.push(Check { what: what.into(), ok, detail });
    }

    fn eq(&mut self, what: impl Into<String>, left: u64, right: u64) {
        self.push(what, left == right, || format!("{left} != {right}"));
    }
}

/// Runs every check; `inputs` are the input files or folders to check, if given.
pub fn verify(run: &RunFolder, inputs: &[PathBuf]) -> anyhow::Result<Vec<Check>> {
    let m = &run.manifest;
    let mut c = Checks(Vec::new());

    // Output files.
    let mut rows_of: HashMap<&str, u64> = HashMap::new();
    for o in &m.outputs {
        let path = run.dir.join(&o.name);
        match crate::run::sha256_file(&path) {
            Ok(h) => c.push(format!("{}: SHA-256", o.name), h == o.sha256, || {
                format!("{} has SHA-256 {h}, the manifest records {}", path.display(), o.sha256)
            }),
            Err(e) => c.push(format!("{}: present", o.name), false, || crate::error_text::error_text(e.as_ref())),
        }
        match super::parquet_rows(&path) {
            Ok(n) => {
                rows_of.insert(o.name.as_str(), n);
                c.eq(format!("{}: rows = manifest outputs rows", o.name), n, o.rows);
            }
            Err(e) => {
                c.push(format!("{}: readable Parquet", o.name), false, || crate::error_text::error_text(e.as_ref()))
            }
        }
    }

    // Count invariants, recomputed from the recorded counts.
    let t = &m.totals;
    let mut sums: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &m.inputs {
        for (what, k) in [
            ("messages", &f.messages),
            ("PNRs", &f.pnrs),
            ("travellers", &f.travellers),
            ("API persons", &f.api_persons),
        ] {
            c.eq(
                format!("{what} read = loaded + rejected + duplicate ({})", f.path),
                k.read,
                k.loaded + k.rejected + k.duplicate,
            );
        }
        for (name, v) in [
            ("messages_read", f.messages.read),
            ("messages_loaded", f.messages.loaded),
            ("messages_rejected", f.messages.rejected),
            ("messages_duplicate", f.messages.duplicate),
            ("pnrs_read", f.pnrs.read),
            ("pnrs_loaded", f.pnrs.loaded),
            ("pnrs_rejected", f.pnrs.rejected),
            ("pnrs_duplicate", f.pnrs.duplicate),
            ("travellers_read", f.travellers.read),
            ("travellers_loaded", f.travellers.loaded),
            ("api_persons_read", f.api_persons.read),
            ("api_persons_loaded", f.api_persons.loaded),
            ("files_rejected", u64::from(f.file_rejected)),
        ] {
            *sums.entry(name).or_default() += v;
        }
    }
    for (name, total) in [
        ("messages_read", t.messages_read),
        ("messages_loaded", t.messages_loaded),
        ("messages_rejected", t.messages_rejected),
        ("messages_duplicate", t.messages_duplicate),
        ("pnrs_read", t.pnrs_read),
        ("pnrs_loaded", t.pnrs_loaded),
        ("pnrs_rejected", t.pnrs_rejected),
        ("pnrs_duplicate", t.pnrs_duplicate),
        ("travellers_read", t.travellers_read),
        ("travellers_loaded", t.travellers_loaded),
        ("api_persons_read", t.api_persons_read),
        ("api_persons_loaded", t.api_persons_loaded),
        ("files_rejected", t.files_rejected),
    ] {
        c.eq(format!("totals.{name} = sum over the inputs"), total, sums.get(name).copied().unwrap_or(0));
    }
    c.eq("totals.files = inputs listed", t.files, m.inputs.len() as u64);
    c.eq(
        "messages read = loaded + rejected + duplicate (totals)",
        t.messages_read,
        t.messages_loaded + t.messages_rejected + t.messages_duplicate,
    );
    c.eq(
        "PNRs read = loaded + rejected + duplicate (totals)",
        t.pnrs_read,
        t.pnrs_loaded + t.pnrs_rejected + t.pnrs_duplicate,
    );
    for i in &m.invariants {
        c.push(format!("recorded invariant: {}", i.name), i.holds && i.left == i.right, || {
            format!("recorded as {} = {} (holds: {})", i.left, i.right, i.holds)
        });
    }
    let r = &m.results;
    let per_rule: u64 = m.hits_per_rule.iter().map(|h| h.hits).sum();
    c.eq("sum of hits_per_rule = results.hits", per_rule, r.hits);
    for (file, expected) in [
        ("scores.parquet", r.travellers_scored),
        ("review.parquet", r.review_list),
        ("hits.parquet", r.hits.saturating_sub(r.stray_hits)),
        ("rejects.parquet", t.reject_rows),
        ("diagnostics.parquet", t.diagnostic_rows),
    ] {
        if let Some(&n) = rows_of.get(file) {
            c.eq(format!("{file} rows = manifest counts"), n, expected);
        }
    }

    // The saved rule pack.
    let pack = run.pack();
    match &pack {
        Ok(p) => {
            c.push("saved rule pack: SHA-256", p.hash == m.rule_pack.hash, || {
                format!("the saved pack hashes to {}, the manifest records {}", p.hash, m.rule_pack.hash)
            });
            for e in &m.rule_pack.rules {
                match p.rules.iter().find(|x| x.spec.id == e.id) {
                    Some(x) => c.push(format!("saved rule {}: SHA-256", e.id), x.hash == e.hash, || {
                        format!("{} was changed: SHA-256 {}, the manifest records {}", x.path.display(), x.hash, e.hash)
                    }),
                    None => c.push(format!("saved rule {}: present", e.id), false, || {
                        format!("{} is missing from the saved pack", e.file)
                    }),
                }
            }
            c.eq("saved rule pack: rules = manifest rules", p.rules.len() as u64, m.rule_pack.rules.len() as u64);
        }
        Err(e) => c.push("saved rule pack: loads", false, || crate::error_text::error_text(e.as_ref())),
    }

    // Hits against scores, and every score rebuilt from its hits.
    match (run.table("scores"), run.table("hits")) {
        (Ok(scores), Ok(hits)) => {
            if let Err(e) = hits_match_scores(&mut c, &scores, &hits, pack.as_ref().ok()) {
                c.push("scores.parquet and hits.parquet: the columns a run writes", false, || {
                    crate::error_text::error_text(e.as_ref())
                });
            }
        }
        (Err(e), _) | (_, Err(e)) => {
            c.push("scores.parquet and hits.parquet: readable", false, || crate::error_text::error_text(e.as_ref()))
        }
    }

    // Inputs.
    if !inputs.is_empty() {
        let files = crate::ingest::find_inputs(inputs)?;
        let recorded: HashMap<&str, &str> = m.inputs.iter().map(|f| (f.path.as_str(), f.sha256.as_str())).collect();
        let by_name: HashMap<String, &str> = m.inputs.iter().map(|f| (file_name(&f.path), f.sha256.as_str())).collect();
        let mut seen = std::collections::HashSet::new();
        for p in &files {
            let shown = p.display().to_string();
            let expected = recorded.get(shown.as_str()).copied().or_else(|| by_name.get(&file_name(&shown)).copied());
            let actual = crate::run::sha256_file(p)?;
            match expected {
                Some(e) => {
                    seen.insert(e.to_string());
                    c.push(format!("input {shown}: SHA-256"), actual == e, || {
                        format!("{shown} has SHA-256 {actual}, the manifest records {e}")
                    });
                }
                None => c.push(format!("input {shown}: in the manifest"), false, || {
                    format!("{shown} is not an input of this run")
                }),
            }
        }
        for f in &m.inputs {
            if !seen.contains(&f.sha256)
                && !files.iter().any(|p| file_name(&p.display().to_string()) == file_name(&f.path))
            {
                c.push(format!("input {}: given", f.path), false, || {
                    format!("{} was an input of the run but is not among --inputs", f.path)
                });
            }
        }
    }
    Ok(c.0)
}

/// `hits.parquet` against the hits inside `scores.parquet`, and every score, band and hit count
/// rebuilt from its hits with the saved pack's scoring (when the pack loads). An error means a
/// file lacks a column a run writes, or has it with another type.
fn hits_match_scores(
    c: &mut Checks,
    scores: &arrow::array::RecordBatch,
    hits: &arrow::array::RecordBatch,
    pack: Option<&crate::rules::pack::Pack>,
) -> anyhow::Result<()> {
    let key = |j: &str, rule: &str, v: &str, w: &str, reason: &str| {
        format!("{j}\u{1f}{rule}\u{1f}{v}\u{1f}{w}\u{1f}{reason}")
    };
    let mut from_scores: BTreeMap<String, i64> = BTreeMap::new();
    let journeys = texts(column(scores, "scores.parquet", "journey_id")?)?;
    let list = column(scores, "scores.parquet", "hits")?
        .as_list_opt::<i32>()
        .ok_or_else(|| anyhow::anyhow!("scores.parquet: hits is not a list"))?
        .clone();
    let score_col = column(scores, "scores.parquet", "score")?
        .as_primitive_opt::<arrow::datatypes::Float64Type>()
        .ok_or_else(|| anyhow::anyhow!("scores.parquet: score is not a float64 column"))?
        .clone();
    let bands = texts(column(scores, "scores.parquet", "band")?)?;
    let hit_counts = texts(column(scores, "scores.parquet", "hit_count")?)?;
    let mut wrong_scores = Vec::new();
    for i in 0..scores.num_rows() {
        let j = journeys[i].clone().unwrap_or_default();
        let v = list.value(i);
        let s = v.as_struct_opt().ok_or_else(|| anyhow::anyhow!("scores.parquet: hits is not a list of structs"))?;
        let f = |n: &str| -> anyhow::Result<Vec<Option<String>>> {
            texts(s.column_by_name(n).ok_or_else(|| anyhow::anyhow!("scores.parquet: hits has no {n:?}"))?.as_ref())
        };
        let (ids, vs, ws, rs) = (f("rule_id")?, f("rule_version")?, f("weight")?, f("reason")?);
        let mut weights = Vec::new();
        for k in 0..s.len() {
            let w = ws[k].clone().unwrap_or_default();
            weights.push(w.parse::<u32>().unwrap_or(0));
            let k = key(
                &j,
                ids[k].as_deref().unwrap_or(""),
                vs[k].as_deref().unwrap_or(""),
                &w,
                rs[k].as_deref().unwrap_or(""),
            );
            *from_scores.entry(k).or_default() += 1;
        }
        if hit_counts[i].as_deref() != Some(s.len().to_string().as_str()) {
            wrong_scores.push(format!("{j}: hit_count {:?} but {} hits", hit_counts[i], s.len()));
        }
        if let Some(p) = pack {
            let rebuilt = score::score(&p.manifest, &weights);
            let got = if score_col.is_null(i) { f64::NAN } else { score_col.value(i) };
            if (rebuilt - got).abs() > 1e-9 {
                wrong_scores.push(format!("{j}: score {got} but its hits give {rebuilt}"));
            }
            let band = score::band(&p.manifest.bands, got).map(str::to_string);
            if band != bands[i] {
                wrong_scores.push(format!("{j}: band {:?} but score {got} is in band {band:?}", bands[i]));
            }
        }
    }
    c.push("every score, band and hit_count rebuilds from its hits", wrong_scores.is_empty(), || {
        format!("{} rows differ, first: {}", wrong_scores.len(), wrong_scores[0])
    });
    let mut from_hits: BTreeMap<String, i64> = BTreeMap::new();
    let col = |n: &str| -> anyhow::Result<Vec<Option<String>>> { texts(column(hits, "hits.parquet", n)?) };
    let (hj, hr, hv, hw, hreason) =
        (col("journey_id")?, col("rule_id")?, col("rule_version")?, col("weight")?, col("reason")?);
    for i in 0..hits.num_rows() {
        let k = key(
            hj[i].as_deref().unwrap_or(""),
            hr[i].as_deref().unwrap_or(""),
            hv[i].as_deref().unwrap_or(""),
            hw[i].as_deref().unwrap_or(""),
            hreason[i].as_deref().unwrap_or(""),
        );
        *from_hits.entry(k).or_default() += 1;
    }
    let mut diffs: Vec<String> = Vec::new();
    for (k, n) in &from_scores {
        let m = from_hits.get(k).copied().unwrap_or(0);
        if m != *n {
            diffs.push(format!("{} (scores.parquet {n}, hits.parquet {m})", k.replace('\u{1f}', " | ")));
        }
    }
    for (k, n) in &from_hits {
        if !from_scores.contains_key(k) {
            diffs.push(format!("{} (scores.parquet 0, hits.parquet {n})", k.replace('\u{1f}', " | ")));
        }
    }
    c.push("hits.parquet rows = the hits inside scores.parquet", diffs.is_empty(), || {
        format!("{} hits differ, first: {}", diffs.len(), diffs[0])
    });
    Ok(())
}

fn file_name(path: &str) -> String {
    std::path::Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Prints the checks: failures in full, then a summary line. Returns the number of failures.
pub fn report(out: &mut impl Write, run: &RunFolder, checks: &[Check]) -> std::io::Result<usize> {
    let failed: Vec<&Check> = checks.iter().filter(|c| !c.ok).collect();
    for f in &failed {
        writeln!(out, "FAIL {}: {}", f.what, f.detail)?;
    }
    if failed.is_empty() {
        writeln!(out, "audit verify {}: all {} checks passed", run.manifest.run_id, checks.len())?;
    } else {
        writeln!(out, "audit verify {}: {} of {} checks failed", run.manifest.run_id, failed.len(), checks.len())?;
    }
    Ok(failed.len())
}
