//! Writes the landing tables as Parquet in the layout of DESIGN.md:
//! `DIR/<table>/dep_date=YYYY-MM-DD/part-<batch>.parquet`, with `rejects` and `diagnostics`
//! unpartitioned in `DIR/<table>/part-<batch>.parquet`.
//!
//! The partition column is not repeated inside the files (the Hive convention, which DataFusion's
//! listing tables expect). Rows with no departure date go to `dep_date=unknown`. `<batch>` is a
//! hash of the input files' SHA-256 digests, so ingesting the same inputs again replaces the same
//! files instead of adding duplicates.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, Date32Array, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::landing::compact::plain_text;

/// Errors writing Parquet.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Parquet or Arrow error.
    #[error("{path}: {source}")]
    Parquet {
        /// The path.
        path: PathBuf,
        /// Cause.
        source: parquet::errors::ParquetError,
    },
    /// Arrow error while splitting partitions.
    #[error("{table}: {source}")]
    Arrow {
        /// Table.
        table: String,
        /// Cause.
        source: arrow::error::ArrowError,
    },
}

/// Writer properties shared by every Parquet file paxrisk writes: zstd, bounded row groups and
/// the given key-value metadata.
///
/// zstd at level 1: the landing set of 100,000 PNRs is 65.36 MB at level 1 against 65.33 MB at
/// level 3 (Parquet's dictionary and run-length encodings leave little for zstd to find), and
/// writing it took about a tenth less CPU time.
pub fn writer_properties(metadata: &[(String, String)]) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
        .set_max_row_group_row_count(Some(256 * 1024))
        .set_key_value_metadata(Some(metadata.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())).collect()))
        .build()
}

/// Writes one batch to `path` (creating parent folders).
pub fn write_batch(path: &Path, batch: &RecordBatch, metadata: &[(String, String)]) -> Result<(), WriteError> {
    write_batches(path, std::slice::from_ref(batch), metadata)
}

/// Writes the batches of `schema` that `batches` yields to one file at `path` (creating parent
/// folders), each encoded as it comes, so that a table need not be held whole; a file with no row
/// still has the schema. Returns the rows written.
pub fn write_stream(
    path: &Path,
    schema: arrow::datatypes::SchemaRef,
    batches: impl Iterator<Item = Result<RecordBatch, arrow::error::ArrowError>>,
    metadata: &[(String, String)],
) -> Result<u64, WriteError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| WriteError::Io { path: parent.into(), source })?;
    }
    let file = File::create(path).map_err(|source| WriteError::Io { path: path.into(), source })?;
    let mut w = ArrowWriter::try_new(file, schema, Some(writer_properties(metadata)))
        .map_err(|source| WriteError::Parquet { path: path.into(), source })?;
    let mut rows = 0;
    for batch in batches {
        let batch = batch.map_err(|source| WriteError::Arrow { table: path.display().to_string(), source })?;
        rows += batch.num_rows() as u64;
        w.write(&batch).map_err(|source| WriteError::Parquet { path: path.into(), source })?;
    }
    w.close().map_err(|source| WriteError::Parquet { path: path.into(), source })?;
    Ok(rows)
}

/// Writes batches of one schema (at least one) to one file at `path` (creating parent folders).
/// Dictionary columns of text (the in-memory form of `landing::compact`) are written as plain
/// text, so that the files have DESIGN.md's types whatever form the batches were held in.
fn write_batches(path: &Path, batches: &[RecordBatch], metadata: &[(String, String)]) -> Result<(), WriteError> {
    let mut plain = batches.iter().map(plain_text);
    let Some(first) = plain.next() else { return Ok(()) };
    let first = first.map_err(|source| WriteError::Arrow { table: path.display().to_string(), source })?;
    write_stream(path, first.schema(), std::iter::once(Ok(first)).chain(plain), metadata).map(|_| ())
}

/// Writes the batches of landing table `table` under `table_dir`, one file named `file_name` per
/// departure date (`dep_date=YYYY-MM-DD/`), each batch split where it lies instead of the table
/// being concatenated first. Returns the files written, relative to `table_dir`.
pub(crate) fn write_partitioned(
    table: &str,
    batches: &[RecordBatch],
    table_dir: &Path,
    file_name: &str,
    metadata: &[(String, String)],
) -> Result<Vec<PathBuf>, WriteError> {
    let mut by_date: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
    for batch in batches {
        for (key, part) in partitions(table, batch)? {
            by_date.entry(key).or_default().push(part);
        }
    }
    let mut written = Vec::with_capacity(by_date.len());
    for (key, parts) in by_date {
        let rel = Path::new(&format!("dep_date={key}")).join(file_name);
        write_batches(&table_dir.join(&rel), &parts, metadata)?;
        written.push(rel);
    }
    Ok(written)
}

/// Splits `batch` by its `dep_date` column: (partition value, rows without the column).
fn partitions(table: &str, batch: &RecordBatch) -> Result<Vec<(String, RecordBatch)>, WriteError> {
    let schema = batch.schema();
    let Ok(idx) = schema.index_of("dep_date") else {
        return Ok(vec![(String::new(), batch.clone())]);
    };
    let dates = batch.column(idx).as_any().downcast_ref::<Date32Array>();
    // Rows are grouped by the day number first and each day named once: formatting a date for
    // every row was a visible share of `--landing`'s ingest time.
    let mut by_day: BTreeMap<Option<i32>, Vec<u32>> = BTreeMap::new();
    for row in 0..batch.num_rows() {
        let day = dates.filter(|d| d.is_valid(row)).map(|d| d.value(row));
        by_day.entry(day).or_default().push(row as u32);
    }
    let mut groups: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (day, rows) in by_day {
        let key = day
            .and_then(arrow::temporal_conversions::date32_to_datetime)
            .map(|d| d.date().format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "unknown".into());
        let group = groups.entry(key).or_default();
        group.extend(rows);
        // Rows keep their order when two day numbers share a name ("unknown").
        if !group.is_sorted() {
            group.sort_unstable();
        }
    }
    let keep: Vec<usize> = (0..schema.fields().len()).filter(|&i| i != idx).collect();
    let projected = batch.project(&keep).map_err(|source| WriteError::Arrow { table: table.into(), source })?;
    let mut out = Vec::new();
    for (key, rows) in groups {
        let taken = take_record_batch(&projected, &UInt32Array::from(rows))
            .map_err(|source| WriteError::Arrow { table: table.into(), source })?;
        out.push((key, taken));
    }
    Ok(out)
}

/// Writes the landing tables `tables` (as a run or `paxrisk ingest` holds them in Arrow) under
/// `dir`. Returns the files written.
pub fn write_landing_batches(
    dir: &Path,
    tables: &[(&str, Vec<RecordBatch>)],
    batch_id: &str,
    metadata: &[(String, String)],
) -> Result<Vec<PathBuf>, WriteError> {
    let mut written = Vec::new();
    for (table, batches) in tables {
        let table = *table;
        let Some(first) = batches.first() else { continue };
        let file_name = format!("part-{batch_id}.parquet");
        if matches!(table, "rejects" | "diagnostics") {
            let path = dir.join(table).join(&file_name);
            write_batches(&path, batches, metadata)?;
            written.push(path);
            continue;
        }
        if batches.iter().all(|b| b.num_rows() == 0) {
            // An empty table still gets a file, so readers see its schema.
            let keep: Vec<usize> =
                (0..first.num_columns()).filter(|&i| first.schema().field(i).name() != "dep_date").collect();
            let empty = first.project(&keep).map_err(|source| WriteError::Arrow { table: table.into(), source })?;
            let path = dir.join(table).join("dep_date=unknown").join(&file_name);
            write_batch(&path, &RecordBatch::new_empty(Arc::new(Schema::clone(&empty.schema()))), metadata)?;
            written.push(path);
            continue;
        }
        let table_dir = dir.join(table);
        let files = write_partitioned(table, batches, &table_dir, &file_name, metadata)?;
        written.extend(files.into_iter().map(|rel| table_dir.join(rel)));
    }
    Ok(written)
}
