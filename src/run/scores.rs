//! From hits to the scored tables: `scores` (every traveller on a pushed flight), `review` (the
//! review list) and `hits` (one row per traveller and rule).
//!
//! The traveller columns come straight from `traveller_journey`; the score of each row is
//! [`score::score`] of the weights of its hits, so `hits` alone rebuilds every score.

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::{HashMapExt, HashSetExt};
use rayon::prelude::*;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int32Array, ListArray, RecordBatch, StringArray, StructArray, UInt32Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};

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

/// The scored tables of a run.
pub struct Scored {
    /// One row per traveller on a pushed flight, highest score first.
    pub scores: RecordBatch,
    /// The review list.
    pub review: RecordBatch,
    /// One row per hit.
    pub hits: RecordBatch,
    /// Review-list rows per band.
    pub review_by_band: Vec<(String, u64)>,
    /// Travellers scored per band.
    pub scores_by_band: Vec<(String, u64)>,
    /// Distinct flights (flight and date) and PNRs scored.
    pub flights: u64,
    /// Distinct PNRs scored.
    pub pnrs: u64,
    /// Hits whose key is not a row of traveller_journey (a `query` rule returning a stray key).
    pub stray_hits: u64,
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

/// Builds the scored tables from the journeys in the engine and the evaluation.
pub fn build(engine: &Engine, pack: &Pack, eval: &Evaluation, run_id: &str) -> anyhow::Result<Scored> {
    let sql = format!("SELECT {} FROM traveller_journey", JOURNEY_COLUMNS.join(", "));
    let batches = engine.sandbox().query(&sql)?;
    let schema = batches.first().map(|b| b.schema()).unwrap_or_else(|| {
        Arc::new(Schema::new(JOURNEY_COLUMNS.iter().map(|c| Field::new(*c, DataType::Utf8, true)).collect::<Vec<_>>()))
    });
    let journeys = normalise(&concat_batches(&schema, &batches)?, engine)?;
    let n = journeys.num_rows();
    let col = |name: &str| -> anyhow::Result<StringArray> {
        let c =
            journeys.column_by_name(name).ok_or_else(|| anyhow::anyhow!("traveller_journey has no column {name}"))?;
        Ok(arrow::compute::cast(c, &DataType::Utf8)?.as_string::<i32>().clone())
    };
    let key = col("journey_id")?;
    let flight = col("flight")?;
    let dep_date = col("flight_dep_date")?;
    let surname = col("surname")?;
    let given = col("given_name")?;
    let pnr = col("pnr_id")?;

    // foldhash (seeded at random per run) rather than SipHash: 1.7 million keys at 1 M PNRs.
    let mut row_of: foldhash::HashMap<&str, usize> = foldhash::HashMap::with_capacity(n);
    for i in 0..n {
        if key.is_valid(i) {
            row_of.insert(key.value(i), i);
        }
    }
    let mut hits_of: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut stray_hits = 0;
    for (h, hit) in eval.hits.iter().enumerate() {
        match row_of.get(hit.key.as_str()) {
            Some(&row) => hits_of[row].push(h),
            None => stray_hits += 1,
        }
    }
    let scores: Vec<f64> = hits_of
        .par_iter()
        .map(|hs| {
            let w: Vec<u32> = hs.iter().map(|&h| pack.rules[eval.hits[h].rule].weight()).collect();
            score::score(&pack.manifest, &w)
        })
        .collect();
    // Borrowed, not copied: the sort compares about n log n pairs (36 million for the 1.7 million
    // travellers of 1 M PNRs), and each comparison used to copy up to ten strings.
    fn text(a: &StringArray, i: usize) -> &str {
        if a.is_valid(i) { a.value(i) } else { "" }
    }
    let mut order: Vec<usize> = (0..n).collect();
    // Stable and on every worker thread: the same order as a sequential stable sort.
    order.par_sort_by(|&a, &b| {
        scores[b]
            .total_cmp(&scores[a])
            .then_with(|| text(&flight, a).cmp(text(&flight, b)))
            .then_with(|| text(&dep_date, a).cmp(text(&dep_date, b)))
            .then_with(|| text(&surname, a).cmp(text(&surname, b)))
            .then_with(|| text(&given, a).cmp(text(&given, b)))
            .then_with(|| text(&key, a).cmp(text(&key, b)))
    });

    let bands: Vec<&str> = order.iter().map(|&i| score::band(&pack.manifest.bands, scores[i]).unwrap_or("")).collect();
    let taken = take_rows(&journeys, order.iter().map(|&i| i as u32).collect())?;

    // hits list<struct> in the same order, hits of one traveller in rule-id order (eval order).
    let (mut ids, mut versions, mut weights, mut reasons, mut lengths) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::with_capacity(n));
    for &i in &order {
        lengths.push(hits_of[i].len());
        for &h in &hits_of[i] {
            let hit = &eval.hits[h];
            let rule = &pack.rules[hit.rule];
            ids.push(rule.spec.id.as_str());
            versions.push(rule.spec.version as i32);
            weights.push(rule.weight() as i32);
            reasons.push(hit.reason.as_str());
        }
    }
    let fields = hit_struct_fields();
    let structs = StructArray::try_new(
        fields.clone(),
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(Int32Array::from(versions)),
            Arc::new(Int32Array::from(weights)),
            Arc::new(StringArray::from(reasons)),
        ],
        None,
    )?;
    let item = Arc::new(Field::new("item", DataType::Struct(fields), false));
    let hits_list =
        ListArray::try_new(item.clone(), OffsetBuffer::from_lengths(lengths.clone()), Arc::new(structs), None)?;

    let mut fields: Vec<Field> =
        vec![described_field("run_id", DataType::Utf8, false, "The run that produced this row.")];
    fields.extend(taken.schema().fields().iter().map(|f| f.as_ref().clone()));
    fields.push(described_field(
        "score",
        DataType::Float64,
        false,
        "Score from the hits' weights as pack.toml sets out (rounded to 2 decimals).",
    ));
    fields.push(described_field("band", DataType::Utf8, false, "Band of the score (pack.toml bands)."));
    fields.push(described_field("hit_count", DataType::Int32, false, "Number of rules that fired."));
    fields.push(described_field(
        "hits",
        DataType::List(item),
        false,
        "Every rule that fired: id, version, weight and reason, in rule-id order.",
    ));
    let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from(vec![run_id; n]))];
    columns.extend(taken.columns().iter().cloned());
    columns.push(Arc::new(Float64Array::from(order.iter().map(|&i| scores[i]).collect::<Vec<_>>())));
    columns.push(Arc::new(StringArray::from_iter_values(bands.iter())));
    columns.push(Arc::new(Int32Array::from(lengths.iter().map(|&l| l as i32).collect::<Vec<_>>())));
    columns.push(Arc::new(hits_list));
    let scores_schema: SchemaRef = Arc::new(Schema::new_with_metadata(
        fields,
        HashMap::from([(
            "description".to_string(),
            "One row per traveller on a pushed flight (latest PNR version), highest score first.".to_string(),
        )]),
    ));
    let scores_batch = RecordBatch::try_new(scores_schema, columns)?;

    // The review list: at or above the threshold, at most max_per_flight per flight and date.
    let mut per_flight: HashMap<(&str, &str), u32> = HashMap::new();
    let mut review_rows = Vec::new();
    let mut review_by_band: std::collections::BTreeMap<&str, u64> = Default::default();
    let mut scores_by_band: std::collections::BTreeMap<&str, u64> = Default::default();
    for (pos, &i) in order.iter().enumerate() {
        *scores_by_band.entry(bands[pos]).or_default() += 1;
        if !score::reviewable(&pack.manifest, scores[i]) {
            continue;
        }
        let slot = per_flight.entry((text(&flight, i), text(&dep_date, i))).or_default();
        if *slot < pack.manifest.review.max_per_flight {
            *slot += 1;
            review_rows.push(pos as u32);
            *review_by_band.entry(bands[pos]).or_default() += 1;
        }
    }
    let review = take_rows(&scores_batch, review_rows)?;
    let review = RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(
            scores_batch.schema().fields().clone(),
            HashMap::from([(
                "description".to_string(),
                format!(
                    "The review list: scores of {} or more, at most {} per flight, highest first. Every row needs a human review (Directive 2016/681 Art. 6(5)).",
                    pack.manifest.review.threshold, pack.manifest.review.max_per_flight
                ),
            )]),
        )),
        review.columns().to_vec(),
    )?;

    let hits = hits_table(&taken, &order, &hits_of, eval, pack, run_id)?;
    let distinct = |a: &StringArray, b: Option<&StringArray>| {
        let mut seen = foldhash::HashSet::with_capacity(n / 8);
        seen.extend((0..n).map(|i| (text(a, i), b.map(|b| text(b, i)))));
        seen.len() as u64
    };
    Ok(Scored {
        scores: scores_batch,
        review,
        hits,
        review_by_band: review_by_band.into_iter().map(|(b, c)| (b.to_string(), c)).collect(),
        scores_by_band: scores_by_band.into_iter().map(|(b, c)| (b.to_string(), c)).collect(),
        flights: distinct(&flight, Some(&dep_date)),
        pnrs: distinct(&pnr, None),
        stray_hits,
    })
}

fn hits_table(
    taken: &RecordBatch,
    order: &[usize],
    hits_of: &[Vec<usize>],
    eval: &Evaluation,
    pack: &Pack,
    run_id: &str,
) -> anyhow::Result<RecordBatch> {
    let mut rows = Vec::new();
    let mut rule_rows = Vec::new();
    for (pos, &i) in order.iter().enumerate() {
        for &h in &hits_of[i] {
            rows.push(pos as u32);
            rule_rows.push(h);
        }
    }
    let keep = ["journey_id", "traveller_id", "pnr_id", "record_locator", "flight", "flight_dep_date"];
    let idx: Vec<usize> = keep.iter().filter_map(|c| taken.schema().index_of(c).ok()).collect();
    let base = take_rows(&taken.project(&idx)?, rows)?;
    let rule = |h: &usize| &pack.rules[eval.hits[*h].rule];
    let mut fields = vec![described_field("run_id", DataType::Utf8, false, "The run that produced this row.")];
    fields.extend(base.schema().fields().iter().map(|f| f.as_ref().clone()));
    fields.extend([
        described_field("rule_id", DataType::Utf8, false, "Id of the rule that fired."),
        described_field("rule_version", DataType::Int32, false, "Version of the rule."),
        described_field(
            "rule_hash",
            DataType::Utf8,
            false,
            "SHA-256 of the rule file's exact text (the saved rule pack has the file).",
        ),
        described_field("weight", DataType::Int32, false, "Weight the rule contributed to the score."),
        described_field("reason", DataType::Utf8, false, "Why the rule fired."),
    ]);
    let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from(vec![run_id; base.num_rows()]))];
    columns.extend(base.columns().iter().cloned());
    columns.push(Arc::new(StringArray::from_iter_values(rule_rows.iter().map(|h| rule(h).spec.id.as_str()))));
    columns.push(Arc::new(Int32Array::from_iter_values(rule_rows.iter().map(|h| rule(h).spec.version as i32))));
    columns.push(Arc::new(StringArray::from_iter_values(rule_rows.iter().map(|h| rule(h).hash.as_str()))));
    columns.push(Arc::new(Int32Array::from_iter_values(rule_rows.iter().map(|h| rule(h).weight() as i32))));
    columns.push(Arc::new(StringArray::from_iter_values(rule_rows.iter().map(|h| eval.hits[*h].reason.as_str()))));
    let schema = Arc::new(Schema::new_with_metadata(
        fields,
        HashMap::from([(
            "description".to_string(),
            "One row per (traveller on a flight, rule) hit, in the order of scores.".to_string(),
        )]),
    ));
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// The rows `indices` of `batch`, in that order, each column taken on its own worker thread.
fn take_rows(batch: &RecordBatch, indices: Vec<u32>) -> anyhow::Result<RecordBatch> {
    let indices = UInt32Array::from(indices);
    let columns =
        batch.columns().par_iter().map(|c| arrow::compute::take(c, &indices, None)).collect::<Result<Vec<_>, _>>()?;
    let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(indices.len()));
    Ok(RecordBatch::try_new_with_options(batch.schema(), columns, &options)?)
}
