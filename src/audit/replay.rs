//! `paxrisk audit replay RUN --inputs PATH…`: runs again with the rule pack saved in the run and
//! the recorded `--as-of`, and compares every output row with the run's.
//!
//! The new run goes to a temporary folder that is removed afterwards. Rows are compared column by
//! column, except `run_id` (it names the run) and with `source_file` mapped back to the path the
//! original run recorded for the same content, so that inputs moved to an archive still replay.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;

use super::{RUN_TABLES, RunFolder, texts};
use crate::run::{Quiet, RunArgs};

/// What the replay found.
#[derive(Debug, Default)]
pub struct Replay {
    /// Rows compared per table.
    pub compared: Vec<(String, usize)>,
    /// Differences, each a precise sentence.
    pub differences: Vec<String>,
}

/// Replays `run` over `inputs`.
pub fn replay(run: &RunFolder, inputs: &[PathBuf], threads: Option<usize>) -> anyhow::Result<Replay> {
    let m = &run.manifest;
    let as_of = chrono::DateTime::parse_from_rfc3339(&m.as_of)
        .with_context(|| format!("manifest as_of {:?} is not a time", m.as_of))?
        .with_timezone(&chrono::Utc);
    let tmp = std::env::temp_dir().join(format!(
        "paxrisk-replay-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    let args = RunArgs {
        input: inputs.to_vec(),
        rules: run.dir.join(&m.rule_pack.saved_copy),
        out: tmp.clone(),
        as_of: Some(as_of),
        landing: None,
        threads,
        memory_limit: None,
        command_line: vec!["paxrisk".into(), "audit".into(), "replay".into()],
    };
    let outcome = crate::run::run(&args, &Quiet).map_err(|e| anyhow::anyhow!("the replay run failed: {e}"));
    let result = outcome.and_then(|o| compare(run, &RunFolder::open(&o.dir)?));
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn compare(old: &RunFolder, new: &RunFolder) -> anyhow::Result<Replay> {
    let mut r = Replay::default();
    let (a, b) = (&old.manifest, &new.manifest);
    if a.rule_pack.hash != b.rule_pack.hash {
        r.differences
            .push(format!("rule pack hash {} in the run, {} in the replay", a.rule_pack.hash, b.rule_pack.hash));
    }
    // Inputs by content: the replay's file for each recorded SHA-256.
    let old_path: HashMap<&str, &str> = a.inputs.iter().map(|f| (f.sha256.as_str(), f.path.as_str())).collect();
    let mut path_map: HashMap<String, String> = HashMap::new();
    for f in &b.inputs {
        match old_path.get(f.sha256.as_str()) {
            Some(p) => {
                path_map.insert(f.path.clone(), p.to_string());
            }
            None => r
                .differences
                .push(format!("input {} (SHA-256 {}) is not among the run's inputs: changed or new", f.path, f.sha256)),
        }
    }
    let new_hashes: std::collections::HashSet<&str> = b.inputs.iter().map(|f| f.sha256.as_str()).collect();
    for f in &a.inputs {
        if !new_hashes.contains(f.sha256.as_str()) {
            r.differences
                .push(format!("input {} (SHA-256 {}) of the run was not given, or has changed", f.path, f.sha256));
        }
    }
    for (what, x, y) in [
        ("totals", serde_json::to_string(&a.totals)?, serde_json::to_string(&b.totals)?),
        ("hits_per_rule", serde_json::to_string(&a.hits_per_rule)?, serde_json::to_string(&b.hits_per_rule)?),
        ("results", serde_json::to_string(&a.results)?, serde_json::to_string(&b.results)?),
    ] {
        if x != y {
            r.differences.push(format!("manifest {what}: {x} in the run, {y} in the replay"));
        }
    }
    for table in RUN_TABLES {
        let (x, y) = (old.table(table)?, new.table(table)?);
        r.compared.push((table.to_string(), x.num_rows()));
        if x.num_rows() != y.num_rows() {
            r.differences.push(format!(
                "{table}.parquet: {} rows in the run, {} in the replay",
                x.num_rows(),
                y.num_rows()
            ));
            continue;
        }
        for field in x.schema().fields() {
            let name = field.name();
            if name == "run_id" {
                continue;
            }
            let Some(ycol) = y.column_by_name(name) else {
                r.differences.push(format!("{table}.parquet: column {name} missing in the replay"));
                continue;
            };
            let xs = texts(x.column_by_name(name).map(|c| c.as_ref()).unwrap_or(ycol.as_ref()))?;
            let mut ys = texts(ycol.as_ref())?;
            if name == "source_file" {
                for v in ys.iter_mut().flatten() {
                    if let Some(p) = path_map.get(v.as_str()) {
                        *v = p.clone();
                    }
                }
            }
            if let Some(i) = (0..xs.len()).find(|&i| xs[i] != ys[i]) {
                r.differences.push(format!(
                    "{table}.parquet row {i}, column {name}: {:?} in the run, {:?} in the replay",
                    xs[i].as_deref().unwrap_or("NULL"),
                    ys[i].as_deref().unwrap_or("NULL")
                ));
            }
        }
    }
    Ok(r)
}
