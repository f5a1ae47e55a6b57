//! From hits to the scored tables: `scores` (every traveller on a pushed flight), `review` (the
//! review list) and `hits` (one row per traveller and rule).
//!
//! The traveller columns come straight from `traveller_journey`; the score of each row is
//! [`score::score`] of the weights of its hits, so `hits` alone rebuilds every score.
//!
//! [`build`] ranks the travellers and chooses the review list; the rows of the three tables are
//! made only as [`Scored::write`] writes them, a slice of [`CHUNK`] travellers at a time. The run
//! holds `traveller_journey`'s scored columns once, as the query returned them, and never a copy
//! of them in output order: at 5 M PNRs with `--landing` the stage held 12.7 GiB with those copies,
//! and holds 4.7 GiB without them.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use foldhash::{HashMapExt, HashSetExt};
use rayon::prelude::*;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int32Array, ListArray, RecordBatch, StringArray, StructArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::compute::interleave;
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};
use arrow::error::ArrowError;

use crate::landing::parquet_out;
use crate::landing::schema::described_field;
use crate::rules::engine::{Engine, Evaluation};
use crate::rules::pack::Pack;
use crate::rules::score;

/// The traveller columns of `scores`, from `traveller_journey`, in output order.
pub const JOURNEY_COLUMNS: &[&str] = &[
    "journey_id",
    "traveller_id",
    "pnr_id",
    "record_locator",
    "flight",
    "flight_dep_date",
    "flight_dep_airport",
    "flight_arr_airport",
    "surname",
    "given_name",
    "date_of_birth",
    "nationality",
    "doc_type",
    "doc_number",
    "doc_issuer",
    "source_file",
    "source_offset",
];

/// The traveller columns `hits` repeats for each hit.
const HIT_JOURNEY_COLUMNS: &[&str] =
    &["journey_id", "traveller_id", "pnr_id", "record_locator", "flight", "flight_dep_date"];

/// Travellers per slice written: 64 Ki rows of `scores` are about 20 MB in Arrow.
pub const CHUNK: usize = 64 * 1024;

/// One of the scored tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoredTable {
    /// Every traveller on a pushed flight, highest score first.
    Scores,
    /// The review list.
    Review,
    /// One row per hit, in the order of `scores`.
    Hits,
}

/// The ranked travellers of a run, from which the scored tables are written.
pub struct Scored<'a> {
    pack: &'a Pack,
    eval: &'a Evaluation,
    run_id: String,
    journeys: Journeys,
    /// Score of each journey row.
    scores: Vec<f64>,
    /// Journey rows, highest score first (the order of `scores`).
    order: Vec<u32>,
    /// Hits of journey row `i`: `hit_ids[hit_starts[i]..hit_starts[i + 1]]`, in evaluation order.
    hit_starts: Vec<u32>,
    hit_ids: Vec<u32>,
    /// Positions in `order` of the review list's rows.
    review: Vec<u32>,
    /// Review-list rows per band.
    pub review_by_band: Vec<(String, u64)>,
    /// Travellers scored per band.
    pub scores_by_band: Vec<(String, u64)>,
    /// Distinct flights (flight and date) scored.
    pub flights: u64,
    /// Distinct PNRs scored.
    pub pnrs: u64,
    /// Hits whose key is not a row of traveller_journey (a `query` rule returning a stray key).
    pub stray_hits: u64,
}

/// `traveller_journey`'s scored columns, batch by batch as the query returned them.
struct Journeys {
    /// Normalised (see [`normalise`]); at least one batch, so that the schema is known.
    batches: Vec<RecordBatch>,
    /// (batch, row in it) of each journey row.
    loc: Vec<(u32, u32)>,
    /// The text columns ranking and the review list read, one array per batch.
    key: Vec<StringArray>,
    flight: Vec<StringArray>,
    dep_date: Vec<StringArray>,
    surname: Vec<StringArray>,
    given: Vec<StringArray>,
    pnr: Vec<StringArray>,
}

impl Journeys {
    fn new(batches: Vec<RecordBatch>) -> anyhow::Result<Journeys> {
        let col = |name: &str| -> anyhow::Result<Vec<StringArray>> {
            batches
                .iter()
                .map(|b| {
                    let c = b
                        .column_by_name(name)
                        .ok_or_else(|| anyhow::anyhow!("traveller_journey has no column {name}"))?;
                    Ok(arrow::compute::cast(c, &DataType::Utf8)?.as_string::<i32>().clone())
                })
                .collect()
        };
        let loc = batches
            .iter()
            .enumerate()
            .flat_map(|(b, batch)| (0..batch.num_rows() as u32).map(move |r| (b as u32, r)))
            .collect();
        Ok(Journeys {
            key: col("journey_id")?,
            flight: col("flight")?,
            dep_date: col("flight_dep_date")?,
            surname: col("surname")?,
            given: col("given_name")?,
            pnr: col("pnr_id")?,
            loc,
            batches,
        })
    }

    fn len(&self) -> usize {
        self.loc.len()
    }

    fn schema(&self) -> SchemaRef {
        self.batches[0].schema()
    }

    /// Row `i` of `column` (one of the text columns above); NULL reads as "".
    fn text<'s>(&self, column: &'s [StringArray], i: usize) -> &'s str {
        let (b, r) = self.loc[i];
        let a = &column[b as usize];
        if a.is_valid(r as usize) { a.value(r as usize) } else { "" }
    }

    /// Journey rows `rows`, in that order, of the columns `columns` (indices into the schema).
    fn take(&self, columns: &[usize], rows: &[u32]) -> Result<Vec<ArrayRef>, ArrowError> {
        let at: Vec<(usize, usize)> = rows
            .iter()
            .map(|&i| {
                let (b, r) = self.loc[i as usize];
                (b as usize, r as usize)
            })
            .collect();
        columns
            .iter()
            .map(|&c| {
                let arrays: Vec<&dyn Array> = self.batches.iter().map(|b| b.column(c).as_ref()).collect();
                interleave(&arrays, &at)
            })
            .collect()
    }
}

fn hit_struct_fields() -> Fields {
    Fields::from(vec![
        described_field("rule_id", DataType::Utf8, false, "Id of the rule that fired."),
        described_field("rule_version", DataType::Int32, false, "Version of the rule (its `version` key)."),
        described_field("weight", DataType::Int32, false, "Weight the rule contributed to the score."),
        described_field("reason", DataType::Utf8, false, "Why the rule fired, from the rule's reason expression."),
    ])
}

/// The columns of `journey` as Utf8 where they are string views or dictionaries of text (such as
/// `source_file`, from the landing tables' in-memory form), portable to every reader, with the
/// view's column descriptions in the field metadata.
fn normalise(batch: &RecordBatch, engine: &Engine) -> anyhow::Result<RecordBatch> {
    let view = engine.view("traveller_journey");
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        let (dt, col) = match f.data_type() {
            DataType::Utf8View | DataType::LargeUtf8 => (DataType::Utf8, arrow::compute::cast(c, &DataType::Utf8)?),
            DataType::Dictionary(_, v) if matches!(**v, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8) => {
                (DataType::Utf8, arrow::compute::cast(c, &DataType::Utf8)?)
            }
            other => (other.clone(), c.clone()),
        };
        let d = view.and_then(|v| v.file.column(f.name())).map(|c| c.description.clone()).unwrap_or_default();
        fields.push(described_field(f.name(), dt, true, &d));
        columns.push(col);
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

/// Ranks the journeys in the engine by the evaluation's hits and chooses the review list.
pub fn build<'a>(engine: &Engine, pack: &'a Pack, eval: &'a Evaluation, run_id: &str) -> anyhow::Result<Scored<'a>> {
    let sql = format!("SELECT {} FROM traveller_journey", JOURNEY_COLUMNS.join(", "));
    let mut batches = engine.sandbox().query(&sql)?;
    if batches.is_empty() {
        let fields: Vec<Field> = JOURNEY_COLUMNS.iter().map(|c| Field::new(*c, DataType::Utf8, true)).collect();
        batches.push(RecordBatch::new_empty(Arc::new(Schema::new(fields))));
    }
    // Batch by batch, so that a cast copy (a dictionary or view column) replaces its source.
    let batches = batches.into_iter().map(|b| normalise(&b, engine)).collect::<anyhow::Result<Vec<_>>>()?;
    let journeys = Journeys::new(batches)?;
    let n = journeys.len();
    anyhow::ensure!(
        n < u32::MAX as usize && eval.hits.len() < u32::MAX as usize,
        "{n} travellers and {} hits are more than one run can score",
        eval.hits.len()
    );

    // foldhash (seeded at random per run) rather than SipHash: 1.7 million keys at 1 M PNRs.
    let mut row_of: foldhash::HashMap<&str, u32> = foldhash::HashMap::with_capacity(n);
    let mut first = 0;
    for key in &journeys.key {
        for r in 0..key.len() {
            if key.is_valid(r) {
                row_of.insert(key.value(r), (first + r) as u32);
            }
        }
        first += key.len();
    }
    // Each row's hits in evaluation order: counted, then placed (a counting sort).
    let mut row_of_hit: Vec<u32> = Vec::with_capacity(eval.hits.len());
    let mut hit_starts = vec![0u32; n + 1];
    let mut stray_hits = 0;
    for hit in &eval.hits {
        match row_of.get(hit.key.as_str()) {
            Some(&row) => {
                row_of_hit.push(row);
                hit_starts[row as usize + 1] += 1;
            }
            None => {
                row_of_hit.push(u32::MAX);
                stray_hits += 1;
            }
        }
    }
    drop(row_of);
    for i in 0..n {
        hit_starts[i + 1] += hit_starts[i];
    }
    let mut next = hit_starts.clone();
    let mut hit_ids = vec![0u32; hit_starts[n] as usize];
    for (h, &row) in row_of_hit.iter().enumerate() {
        if row != u32::MAX {
            hit_ids[next[row as usize] as usize] = h as u32;
            next[row as usize] += 1;
        }
    }
    drop((row_of_hit, next));
    let hits_of = |i: usize| &hit_ids[hit_starts[i] as usize..hit_starts[i + 1] as usize];

    let scores: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| {
            let w: Vec<u32> = hits_of(i).iter().map(|&h| pack.rules[eval.hits[h as usize].rule].weight()).collect();
            score::score(&pack.manifest, &w)
        })
        .collect();
    let j = &journeys;
    let mut order: Vec<u32> = (0..n as u32).collect();
    // Stable and on every worker thread: the same order as a sequential stable sort. Borrowed
    // text, not copied: the sort compares about n log n pairs.
    order.par_sort_by(|&a, &b| {
        let (a, b) = (a as usize, b as usize);
        scores[b]
            .total_cmp(&scores[a])
            .then_with(|| j.text(&j.flight, a).cmp(j.text(&j.flight, b)))
            .then_with(|| j.text(&j.dep_date, a).cmp(j.text(&j.dep_date, b)))
            .then_with(|| j.text(&j.surname, a).cmp(j.text(&j.surname, b)))
            .then_with(|| j.text(&j.given, a).cmp(j.text(&j.given, b)))
            .then_with(|| j.text(&j.key, a).cmp(j.text(&j.key, b)))
    });

    // The review list: at or above the threshold, at most max_per_flight per flight and date.
    let mut per_flight: HashMap<(&str, &str), u32> = HashMap::new();
    let mut review = Vec::new();
    let mut review_by_band: std::collections::BTreeMap<&str, u64> = Default::default();
    let mut scores_by_band: std::collections::BTreeMap<&str, u64> = Default::default();
    for (pos, &i) in order.iter().enumerate() {
        let i = i as usize;
        let band = score::band(&pack.manifest.bands, scores[i]).unwrap_or("");
        *scores_by_band.entry(band).or_default() += 1;
        if !score::reviewable(&pack.manifest, scores[i]) {
            continue;
        }
        let slot = per_flight.entry((j.text(&j.flight, i), j.text(&j.dep_date, i))).or_default();
        if *slot < pack.manifest.review.max_per_flight {
            *slot += 1;
            review.push(pos as u32);
            *review_by_band.entry(band).or_default() += 1;
        }
    }
    let distinct = |a: &[StringArray], b: Option<&[StringArray]>| {
        let mut seen = foldhash::HashSet::with_capacity(n / 8);
        seen.extend((0..n).map(|i| (j.text(a, i), b.map(|b| j.text(b, i)))));
        seen.len() as u64
    };
    let (flights, pnrs) = (distinct(&j.flight, Some(&j.dep_date)), distinct(&j.pnr, None));
    let review_by_band = review_by_band.into_iter().map(|(b, c)| (b.to_string(), c)).collect();
    let scores_by_band = scores_by_band.into_iter().map(|(b, c)| (b.to_string(), c)).collect();
    Ok(Scored {
        pack,
        eval,
        run_id: run_id.to_string(),
        journeys,
        scores,
        order,
        hit_starts,
        hit_ids,
        review,
        review_by_band,
        scores_by_band,
        flights,
        pnrs,
        stray_hits,
    })
}

impl Scored<'_> {
    /// Travellers scored (rows of `scores`).
    pub fn travellers(&self) -> u64 {
        self.order.len() as u64
    }

    /// Rows of the review list.
    pub fn review_rows(&self) -> u64 {
        self.review.len() as u64
    }

    /// The key (`journey_id`) of every traveller scored, in the order of `scores`.
    pub fn journey_ids(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(|&i| self.journeys.text(&self.journeys.key, i as usize)).filter(|k| !k.is_empty())
    }

    /// The key of every traveller on the review list, in its order.
    pub fn review_journey_ids(&self) -> impl Iterator<Item = &str> {
        self.review
            .iter()
            .map(|&p| self.journeys.text(&self.journeys.key, self.order[p as usize] as usize))
            .filter(|k| !k.is_empty())
    }

    fn hits_of(&self, row: u32) -> &[u32] {
        let i = row as usize;
        &self.hit_ids[self.hit_starts[i] as usize..self.hit_starts[i + 1] as usize]
    }

    /// The schema of `table`, with its description.
    pub fn schema(&self, table: ScoredTable) -> SchemaRef {
        let description = match table {
            ScoredTable::Scores => {
                "One row per traveller on a pushed flight (latest PNR version), highest score first.".to_string()
            }
            ScoredTable::Review => format!(
                "The review list: scores of {} or more, at most {} per flight, highest first. Every row needs a human review (Directive 2016/681 Art. 6(5)).",
                self.pack.manifest.review.threshold, self.pack.manifest.review.max_per_flight
            ),
            ScoredTable::Hits => "One row per (traveller on a flight, rule) hit, in the order of scores.".to_string(),
        };
        let journey = self.journeys.schema();
        let mut fields: Vec<FieldRef> =
            vec![Arc::new(described_field("run_id", DataType::Utf8, false, "The run that produced this row."))];
        let (journey_fields, own): (Vec<FieldRef>, Vec<(&str, DataType, &str)>) = match table {
            ScoredTable::Scores | ScoredTable::Review => (
                journey.fields().iter().cloned().collect(),
                vec![
                    (
                        "score",
                        DataType::Float64,
                        "Score from the hits' weights as pack.toml sets out (rounded to 2 decimals).",
                    ),
                    ("band", DataType::Utf8, "Band of the score (pack.toml bands)."),
                    ("hit_count", DataType::Int32, "Number of rules that fired."),
                    (
                        "hits",
                        DataType::List(hit_item()),
                        "Every rule that fired: id, version, weight and reason, in rule-id order.",
                    ),
                ],
            ),
            ScoredTable::Hits => (
                self.hit_journey_columns().iter().map(|&c| journey.fields()[c].clone()).collect(),
                vec![
                    ("rule_id", DataType::Utf8, "Id of the rule that fired."),
                    ("rule_version", DataType::Int32, "Version of the rule."),
                    (
                        "rule_hash",
                        DataType::Utf8,
                        "SHA-256 of the rule file's exact text (the saved rule pack has the file).",
                    ),
                    ("weight", DataType::Int32, "Weight the rule contributed to the score."),
                    ("reason", DataType::Utf8, "Why the rule fired."),
                ],
            ),
        };
        fields.extend(journey_fields);
        fields.extend(own.into_iter().map(|(name, dt, d)| Arc::new(described_field(name, dt, false, d))));
        Arc::new(Schema::new_with_metadata(fields, HashMap::from([("description".to_string(), description)])))
    }

    fn hit_journey_columns(&self) -> Vec<usize> {
        let schema = self.journeys.schema();
        HIT_JOURNEY_COLUMNS.iter().filter_map(|c| schema.index_of(c).ok()).collect()
    }

    /// Writes `table` to the Parquet file `path`, [`CHUNK`] travellers at a time. Returns the
    /// rows written.
    pub fn write(&self, table: ScoredTable, path: &Path, metadata: &[(String, String)]) -> anyhow::Result<u64> {
        self.write_in_slices(table, path, metadata, CHUNK)
    }

    /// [`Scored::write`], `slice` travellers (rows of `scores` or `review`) at a time: the rows
    /// are the same whatever the slice, and the memory a slice takes grows with it.
    pub fn write_in_slices(
        &self,
        table: ScoredTable,
        path: &Path,
        metadata: &[(String, String)],
        slice: usize,
    ) -> anyhow::Result<u64> {
        anyhow::ensure!(slice > 0, "a slice of no traveller");
        let schema = self.schema(table);
        let review = table == ScoredTable::Review;
        let count = if review { self.review.len() } else { self.order.len() };
        let batches = (0..count).step_by(slice).map(|start| {
            let end = (start + slice).min(count);
            let positions: Vec<u32> =
                if review { self.review[start..end].to_vec() } else { (start as u32..end as u32).collect() };
            match table {
                ScoredTable::Scores | ScoredTable::Review => self.scores_rows(&schema, &positions),
                ScoredTable::Hits => self.hits_rows(&schema, &positions),
            }
        });
        Ok(parquet_out::write_stream(path, schema.clone(), batches, metadata)?)
    }

    /// The rows of `scores` at positions `positions` (of `order`), in that order.
    fn scores_rows(&self, schema: &SchemaRef, positions: &[u32]) -> Result<RecordBatch, ArrowError> {
        let rows: Vec<u32> = positions.iter().map(|&p| self.order[p as usize]).collect();
        let (eval, pack) = (self.eval, self.pack);
        let (mut ids, mut versions, mut weights, mut reasons, mut lengths) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::with_capacity(rows.len()));
        for &i in &rows {
            let hits = self.hits_of(i);
            lengths.push(hits.len());
            for &h in hits {
                let hit = &eval.hits[h as usize];
                let rule = &pack.rules[hit.rule];
                ids.push(rule.spec.id.as_str());
                versions.push(rule.spec.version as i32);
                weights.push(rule.weight() as i32);
                reasons.push(hit.reason.as_str());
            }
        }
        let structs = StructArray::try_new(
            hit_struct_fields(),
            vec![
                Arc::new(StringArray::from(ids)),
                Arc::new(Int32Array::from(versions)),
                Arc::new(Int32Array::from(weights)),
                Arc::new(StringArray::from(reasons)),
            ],
            None,
        )?;
        let hits_list = ListArray::try_new(
            hit_item(),
            OffsetBuffer::from_lengths(lengths.iter().copied()),
            Arc::new(structs),
            None,
        )?;
        let all: Vec<usize> = (0..self.journeys.schema().fields().len()).collect();
        let scores = rows.iter().map(|&i| self.scores[i as usize]);
        let mut columns: Vec<ArrayRef> =
            vec![Arc::new(StringArray::from_iter_values(rows.iter().map(|_| &self.run_id)))];
        columns.extend(self.journeys.take(&all, &rows)?);
        columns.push(Arc::new(Float64Array::from_iter_values(scores.clone())));
        columns.push(Arc::new(StringArray::from_iter_values(
            scores.map(|s| score::band(&pack.manifest.bands, s).unwrap_or("")),
        )));
        columns.push(Arc::new(Int32Array::from_iter_values(lengths.iter().map(|&l| l as i32))));
        columns.push(Arc::new(hits_list));
        RecordBatch::try_new(schema.clone(), columns)
    }

    /// The rows of `hits` for the travellers at positions `positions` (of `order`).
    fn hits_rows(&self, schema: &SchemaRef, positions: &[u32]) -> Result<RecordBatch, ArrowError> {
        let (mut rows, mut hits) = (Vec::new(), Vec::new());
        for &p in positions {
            let i = self.order[p as usize];
            for &h in self.hits_of(i) {
                rows.push(i);
                hits.push(&self.eval.hits[h as usize]);
            }
        }
        let rule = |h: &&crate::rules::engine::Hit| &self.pack.rules[h.rule];
        let mut columns: Vec<ArrayRef> =
            vec![Arc::new(StringArray::from_iter_values(rows.iter().map(|_| &self.run_id)))];
        columns.extend(self.journeys.take(&self.hit_journey_columns(), &rows)?);
        columns.push(Arc::new(StringArray::from_iter_values(hits.iter().map(|h| rule(h).spec.id.as_str()))));
        columns.push(Arc::new(Int32Array::from_iter_values(hits.iter().map(|h| rule(h).spec.version as i32))));
        columns.push(Arc::new(StringArray::from_iter_values(hits.iter().map(|h| rule(h).hash.as_str()))));
        columns.push(Arc::new(Int32Array::from_iter_values(hits.iter().map(|h| rule(h).weight() as i32))));
        columns.push(Arc::new(StringArray::from_iter_values(hits.iter().map(|h| h.reason.as_str()))));
        RecordBatch::try_new(schema.clone(), columns)
    }
}

fn hit_item() -> FieldRef {
    Arc::new(Field::new("item", DataType::Struct(hit_struct_fields()), false))
}
