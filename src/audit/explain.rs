//! `paxrisk explain RUN (--locator LOC | --traveller ID)`: why each traveller of a PNR scored
//! what it did, from the run's own outputs and its saved rule pack.

use std::collections::HashSet;
use std::io::Write;

use arrow::array::{Array, AsArray};
use serde::Serialize;

use super::{RunFolder, column, texts};

/// Whom to explain.
#[derive(Debug, Clone)]
pub enum Who {
    /// Every traveller of the PNR(s) with this record locator.
    Locator(String),
    /// One traveller id (on every pushed flight it was scored on).
    Traveller(String),
}

/// One rule that fired, with the rule as the run used it.
#[derive(Debug, Clone, Serialize)]
pub struct HitExplained {
    /// Rule id.
    pub rule_id: String,
    /// Rule version recorded with the hit.
    pub rule_version: i64,
    /// Weight the hit added.
    pub weight: i64,
    /// Reason text.
    pub reason: String,
    /// Title from the saved rule file.
    pub title: String,
    /// Description.
    pub description: String,
    /// Published sources.
    pub references: Vec<String>,
    /// Known false positives.
    pub falsepositives: Vec<String>,
    /// `when` or `query`.
    pub kind: String,
    /// The rule's SQL (the `when` condition or the `query`).
    pub sql: String,
    /// View it runs over.
    pub over: String,
    /// The rule file inside the saved pack.
    pub file: String,
    /// SHA-256 of the rule file as the run recorded it.
    pub sha256: String,
}

/// One traveller on one pushed flight.
#[derive(Debug, Clone, Serialize)]
pub struct TravellerExplained {
    /// Journey key.
    pub journey_id: String,
    /// Traveller id.
    pub traveller_id: String,
    /// PNR id.
    pub pnr_id: String,
    /// Record locator.
    pub record_locator: String,
    /// Flight.
    pub flight: String,
    /// Local departure date.
    pub flight_dep_date: String,
    /// Departure airport.
    pub flight_dep_airport: String,
    /// Arrival airport.
    pub flight_arr_airport: String,
    /// Surname.
    pub surname: String,
    /// Given name.
    pub given_name: String,
    /// Score.
    pub score: f64,
    /// Band.
    pub band: String,
    /// On the review list of the run.
    pub on_review_list: bool,
    /// Input file the PNR's latest version came from.
    pub source_file: String,
    /// Byte offset of the PNR in that file.
    pub source_offset: i64,
    /// The rules that fired.
    pub hits: Vec<HitExplained>,
}

/// What `explain` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// Run id.
    pub run_id: String,
    /// The run's as-of time.
    pub as_of: String,
    /// Rule pack name.
    pub rule_pack: String,
    /// Rule pack version.
    pub rule_pack_version: String,
    /// Rule pack hash.
    pub rule_pack_hash: String,
    /// Scoring as the pack defines it.
    pub scoring: String,
    /// Travellers.
    pub travellers: Vec<TravellerExplained>,
}

fn text(v: &[Option<String>], i: usize) -> String {
    v[i].clone().unwrap_or_default()
}

/// Builds the explanation; an empty `travellers` means nobody matched.
pub fn explain(run: &RunFolder, who: &Who) -> anyhow::Result<Explanation> {
    let pack = run.pack()?;
    let scores = run.table("scores")?;
    let review = run.table("review")?;
    let col = |name: &str| -> anyhow::Result<Vec<Option<String>>> { texts(column(&scores, "scores.parquet", name)?) };
    let (journey, traveller, locator) = (col("journey_id")?, col("traveller_id")?, col("record_locator")?);
    let on_review: HashSet<String> =
        texts(column(&review, "review.parquet", "journey_id")?)?.into_iter().flatten().collect();
    let wanted = |i: usize| match who {
        Who::Locator(l) => locator[i].as_deref().is_some_and(|x| x.trim().eq_ignore_ascii_case(l.trim())),
        Who::Traveller(t) => traveller[i].as_deref() == Some(t.trim()),
    };
    let rows: Vec<usize> = (0..scores.num_rows()).filter(|&i| wanted(i)).collect();
    let (pnr, flight, date, dep, arr, surname, given, band, file) = (
        col("pnr_id")?,
        col("flight")?,
        col("flight_dep_date")?,
        col("flight_dep_airport")?,
        col("flight_arr_airport")?,
        col("surname")?,
        col("given_name")?,
        col("band")?,
        col("source_file")?,
    );
    let score = column(&scores, "scores.parquet", "score")?.as_primitive::<arrow::datatypes::Float64Type>().clone();
    let offset =
        column(&scores, "scores.parquet", "source_offset")?.as_primitive::<arrow::datatypes::Int64Type>().clone();
    let hits = column(&scores, "scores.parquet", "hits")?.as_list::<i32>().clone();
    let recorded: std::collections::HashMap<&str, &str> =
        run.manifest.rule_pack.rules.iter().map(|r| (r.id.as_str(), r.hash.as_str())).collect();
    let mut travellers = Vec::new();
    for i in rows {
        let list = hits.value(i);
        let h = list.as_struct();
        let field = |name: &str| -> anyhow::Result<Vec<Option<String>>> {
            texts(
                h.column_by_name(name).ok_or_else(|| anyhow::anyhow!("scores.parquet: hits has no {name:?}"))?.as_ref(),
            )
        };
        let (ids, versions, weights, reasons) =
            (field("rule_id")?, field("rule_version")?, field("weight")?, field("reason")?);
        let mut explained = Vec::new();
        for k in 0..h.len() {
            let id = text(&ids, k);
            let rule = pack.rules.iter().find(|r| r.spec.id == id);
            let (kind, sql) = match rule {
                Some(r) => match (&r.spec.when, &r.spec.query) {
                    (Some(w), _) => ("when", w.get_ref().trim().to_string()),
                    (None, Some(q)) => ("query", q.get_ref().trim().to_string()),
                    _ => ("", String::new()),
                },
                None => ("", String::new()),
            };
            explained.push(HitExplained {
                rule_version: text(&versions, k).parse().unwrap_or(0),
                weight: text(&weights, k).parse().unwrap_or(0),
                reason: text(&reasons, k),
                title: rule.map(|r| r.spec.title.clone()).unwrap_or_else(|| "(not in the saved rule pack)".into()),
                description: rule.map(|r| r.spec.description.trim().to_string()).unwrap_or_default(),
                references: rule.map(|r| r.spec.references.clone()).unwrap_or_default(),
                falsepositives: rule.map(|r| r.spec.falsepositives.clone()).unwrap_or_default(),
                kind: kind.to_string(),
                sql,
                over: rule.map(|r| r.spec.over.clone()).unwrap_or_default(),
                file: rule
                    .map(|r| r.path.strip_prefix(&pack.dir).unwrap_or(&r.path).display().to_string())
                    .unwrap_or_default(),
                sha256: recorded.get(id.as_str()).map(|s| s.to_string()).unwrap_or_default(),
                rule_id: id,
            });
        }
        let journey_id = text(&journey, i);
        travellers.push(TravellerExplained {
            on_review_list: on_review.contains(&journey_id),
            journey_id,
            traveller_id: text(&traveller, i),
            pnr_id: text(&pnr, i),
            record_locator: text(&locator, i),
            flight: text(&flight, i),
            flight_dep_date: text(&date, i),
            flight_dep_airport: text(&dep, i),
            flight_arr_airport: text(&arr, i),
            surname: text(&surname, i),
            given_name: text(&given, i),
            score: if score.is_null(i) { 0.0 } else { score.value(i) },
            band: text(&band, i),
            source_file: text(&file, i),
            source_offset: if offset.is_null(i) { -1 } else { offset.value(i) },
            hits: explained,
        });
    }
    let m = &run.manifest;
    let s = &pack.manifest.scoring;
    Ok(Explanation {
        run_id: m.run_id.clone(),
        as_of: m.as_of.clone(),
        rule_pack: m.rule_pack.name.clone(),
        rule_pack_version: m.rule_pack.version.clone(),
        rule_pack_hash: m.rule_pack.hash.clone(),
        scoring: format!(
            "{} (cap {}), review list from {} ({} per flight at most)",
            match s.method {
                crate::rules::pack::ScoringMethod::SumCapped => "sum of the weights of the rules hit",
                crate::rules::pack::ScoringMethod::NoisyOr => "100 x (1 - product of (1 - weight/100))",
            },
            s.cap,
            pack.manifest.review.threshold,
            pack.manifest.review.max_per_flight
        ),
        travellers,
    })
}

fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}")).collect::<Vec<_>>().join("\n")
}

/// The explanation as text for an officer or auditor.
pub fn write_text(out: &mut impl Write, e: &Explanation) -> std::io::Result<()> {
    writeln!(out, "Run {} (as of {})", e.run_id, e.as_of)?;
    writeln!(
        out,
        "Rule pack {} {} (SHA-256 {}), saved in the run",
        e.rule_pack, e.rule_pack_version, e.rule_pack_hash
    )?;
    writeln!(out, "Scoring: {}", e.scoring)?;
    for t in &e.travellers {
        writeln!(out)?;
        writeln!(
            out,
            "{} {} ({}), PNR {} ({}), flight {} {} {}-{}",
            t.surname,
            t.given_name,
            t.traveller_id,
            t.record_locator,
            t.pnr_id,
            t.flight,
            t.flight_dep_date,
            t.flight_dep_airport,
            t.flight_arr_airport
        )?;
        writeln!(
            out,
            "  score {} ({}), {}",
            t.score,
            t.band,
            if t.on_review_list { "on the review list" } else { "not on the review list" }
        )?;
        writeln!(out, "  from {} at byte {}", t.source_file, t.source_offset)?;
        if t.hits.is_empty() {
            writeln!(out, "  no rule fired")?;
        }
        for h in &t.hits {
            writeln!(out, "  {} v{} +{}: {}", h.rule_id, h.rule_version, h.weight, h.reason)?;
            writeln!(out, "    {}", h.title)?;
            if !h.description.is_empty() {
                writeln!(out, "{}", indent(&h.description, "    "))?;
            }
            for r in &h.references {
                writeln!(out, "    reference: {r}")?;
            }
            for f in &h.falsepositives {
                writeln!(out, "    known false positive: {f}")?;
            }
            writeln!(out, "    rule file {} (SHA-256 {}), {} over {}:", h.file, h.sha256, h.kind, h.over)?;
            writeln!(out, "{}", indent(&h.sql, "      "))?;
        }
    }
    Ok(())
}
