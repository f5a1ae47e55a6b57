//! Detection quality against ground truth: how well a rule pack finds the travellers a
//! `labels.parquet` (from `paxrisk generate`) names.
//!
//! Per rule: **precision** = hits on planted travellers / all hits, **recall** = planted
//! travellers hit / planted travellers. For the pack: the **review-list recall** (planted
//! travellers on the review list / planted travellers) and the review list's share of all
//! travellers, the two figures a targeting unit weighs. Decoys (honest travellers sharing one
//! scenario feature) are counted separately: a decoy on the review list is a false positive the
//! generator set out to provoke.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;

/// One labelled traveller.
#[derive(Debug, Clone)]
pub struct Label {
    /// Scenario id.
    pub scenario: String,
    /// Planted (true) or decoy.
    pub planted: bool,
}

/// Reads `labels.parquet`: traveller_id → label.
pub fn read_labels(path: &Path) -> anyhow::Result<HashMap<String, Label>> {
    crate::audit::without_panic(path, || labels_from(path))
}

fn labels_from(path: &Path) -> anyhow::Result<HashMap<String, Label>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .with_context(|| format!("{}: not a Parquet file", path.display()))?;
    let mut out = HashMap::new();
    for batch in reader {
        let batch = batch.with_context(|| format!("reading {}", path.display()))?;
        let text = |name: &str| -> anyhow::Result<arrow::array::StringArray> {
            let c =
                batch.column_by_name(name).ok_or_else(|| anyhow::anyhow!("{}: no column {name:?}", path.display()))?;
            Ok(arrow::compute::cast(c, &DataType::Utf8)?.as_string::<i32>().clone())
        };
        let (ids, scenarios) = (text("traveller_id")?, text("scenario")?);
        let planted = batch.column_by_name("planted").map(|c| c.as_boolean().clone());
        for i in 0..batch.num_rows() {
            if ids.is_null(i) {
                continue;
            }
            let is_planted = planted.as_ref().is_none_or(|p| p.is_valid(i) && p.value(i));
            out.insert(
                ids.value(i).to_string(),
                Label { scenario: scenarios.value(i).to_string(), planted: is_planted },
            );
        }
    }
    Ok(out)
}

/// The traveller id of a journey key (`traveller_id|flight|date`).
fn traveller_of(journey: &str) -> &str {
    journey.split('|').next().unwrap_or(journey)
}

/// Per-rule figures.
#[derive(Debug, Default, Clone)]
pub struct RuleQuality {
    /// Journeys hit.
    pub hits: u64,
    /// Of those, planted travellers.
    pub planted_hits: u64,
    /// Of those, decoys.
    pub decoy_hits: u64,
}

/// The pack's figures.
#[derive(Debug, Default)]
pub struct Quality {
    /// Journeys scored.
    pub journeys: u64,
    /// Journeys on the review list.
    pub review: u64,
    /// Planted travellers found among the journeys.
    pub planted: u64,
    /// Planted travellers on the review list.
    pub planted_on_review: u64,
    /// Decoys found among the journeys.
    pub decoys: u64,
    /// Decoys on the review list.
    pub decoys_on_review: u64,
    /// Labels whose traveller is not among the journeys (a label file for other input).
    pub unmatched_labels: u64,
    /// Per scenario: (planted, on review).
    pub by_scenario: BTreeMap<String, (u64, u64)>,
    /// Per rule index.
    pub by_rule: BTreeMap<usize, RuleQuality>,
}

impl Quality {
    /// Review-list recall over planted travellers, in [0, 1].
    pub fn review_recall(&self) -> f64 {
        if self.planted == 0 { 0.0 } else { self.planted_on_review as f64 / self.planted as f64 }
    }

    /// Share of journeys on the review list, in [0, 1].
    pub fn review_share(&self) -> f64 {
        if self.journeys == 0 { 0.0 } else { self.review as f64 / self.journeys as f64 }
    }
}

/// Measures: `journeys` are all journey keys, `review` those on the review list, `hits` the
/// (rule index, journey key) pairs.
pub fn measure<'a>(
    labels: &HashMap<String, Label>,
    journeys: impl Iterator<Item = &'a str>,
    review: impl Iterator<Item = &'a str>,
    hits: impl Iterator<Item = (usize, &'a str)>,
) -> Quality {
    let mut q = Quality::default();
    let mut seen: HashSet<&str> = HashSet::new();
    for j in journeys {
        q.journeys += 1;
        let t = traveller_of(j);
        if let Some(l) = labels.get(t) {
            seen.insert(t);
            if l.planted {
                q.planted += 1;
                q.by_scenario.entry(l.scenario.clone()).or_default().0 += 1;
            } else {
                q.decoys += 1;
            }
        }
    }
    q.unmatched_labels = labels.keys().filter(|k| !seen.contains(k.as_str())).count() as u64;
    for j in review {
        q.review += 1;
        if let Some(l) = labels.get(traveller_of(j)) {
            if l.planted {
                q.planted_on_review += 1;
                q.by_scenario.entry(l.scenario.clone()).or_default().1 += 1;
            } else {
                q.decoys_on_review += 1;
            }
        }
    }
    for (rule, j) in hits {
        let r = q.by_rule.entry(rule).or_default();
        r.hits += 1;
        match labels.get(traveller_of(j)) {
            Some(l) if l.planted => r.planted_hits += 1,
            Some(_) => r.decoy_hits += 1,
            None => {}
        }
    }
    q
}

fn pct(num: u64, den: u64) -> String {
    if den == 0 { "-".into() } else { format!("{:.1}%", 100.0 * num as f64 / den as f64) }
}

/// Prints the figures; `rules` gives (index, id, title) in catalogue order.
pub fn report(out: &mut impl Write, q: &Quality, rules: &[(usize, &str, &str)]) -> std::io::Result<()> {
    writeln!(
        out,
        "labels: {} planted travellers and {} decoys among {} travellers{}",
        q.planted,
        q.decoys,
        q.journeys,
        if q.unmatched_labels > 0 {
            format!(" ({} labels match no traveller of the input)", q.unmatched_labels)
        } else {
            String::new()
        }
    )?;
    writeln!(out, "{:<12} {:>8} {:>10} {:>8} {:>7}  title", "rule", "hits", "precision", "recall", "decoys")?;
    for (i, id, title) in rules {
        let r = q.by_rule.get(i).cloned().unwrap_or_default();
        writeln!(
            out,
            "{:<12} {:>8} {:>10} {:>8} {:>7}  {}",
            id,
            r.hits,
            pct(r.planted_hits, r.hits),
            pct(r.planted_hits, q.planted),
            r.decoy_hits,
            title
        )?;
    }
    writeln!(out, "{:<32} {:>8} {:>10} {:>8}", "scenario", "planted", "reviewed", "recall")?;
    for (s, (n, on)) in &q.by_scenario {
        writeln!(out, "{:<32} {:>8} {:>10} {:>8}", s, n, on, pct(*on, *n))?;
    }
    writeln!(
        out,
        "review list: {} of {} travellers ({}); planted travellers on it: {} of {} (recall {}); decoys on it: {} of {}",
        q.review,
        q.journeys,
        pct(q.review, q.journeys),
        q.planted_on_review,
        q.planted,
        pct(q.planted_on_review, q.planted),
        q.decoys_on_review,
        q.decoys
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_recall_and_review_figures_count_travellers_not_rows() {
        let labels: HashMap<String, Label> = [
            ("T1".to_string(), Label { scenario: "a".into(), planted: true }),
            ("T2".to_string(), Label { scenario: "a".into(), planted: true }),
            ("T3".to_string(), Label { scenario: "d".into(), planted: false }),
            ("T9".to_string(), Label { scenario: "a".into(), planted: true }),
        ]
        .into_iter()
        .collect();
        let journeys = ["T1|IB1|2026-12-01", "T2|IB1|2026-12-01", "T3|IB1|2026-12-01", "T4|IB1|2026-12-01"];
        let review = ["T1|IB1|2026-12-01", "T3|IB1|2026-12-01"];
        let hits = [(0, "T1|IB1|2026-12-01"), (0, "T4|IB1|2026-12-01"), (1, "T2|IB1|2026-12-01")];
        let q = measure(&labels, journeys.into_iter(), review.into_iter(), hits.into_iter());
        assert_eq!((q.journeys, q.review, q.planted, q.planted_on_review), (4, 2, 2, 1));
        assert_eq!((q.decoys, q.decoys_on_review, q.unmatched_labels), (1, 1, 1));
        assert_eq!(q.review_recall(), 0.5);
        assert_eq!(q.review_share(), 0.5);
        assert_eq!(q.by_rule[&0].hits, 2);
        assert_eq!(q.by_rule[&0].planted_hits, 1);
        assert_eq!(q.by_rule[&1].planted_hits, 1);
        assert_eq!(q.by_scenario["a"], (2, 1));
        let mut out = Vec::new();
        report(&mut out, &q, &[(0, "R-1", "one"), (1, "R-2", "two")]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("planted travellers on it: 1 of 2 (recall 50.0%)"), "{text}");
    }
}
