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
use parquet::arrow::arrow_writer::{ArrowColumnWriter, ArrowLeafColumn, compute_leaves};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use rayon::prelude::*;

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

/// Writer properties shared by every Parquet file paxrisk writes: zstd without dictionaries,
/// bounded row groups and the given key-value metadata.
///
/// zstd at level 1: the landing set of 100,000 PNRs was 65.36 MB at level 1 against 65.33 MB at
/// level 3, and writing it took about a tenth less CPU time. Without dictionaries it is 53.28 MB
/// at level 1, 53.33 at level 3 and 52.16 at level 5, which took about a quarter more CPU time.
///
/// No dictionaries: most text columns are identifiers, names and numbers whose dictionaries fill
/// up and fall back to plain pages after the work of building them, and zstd finds the repeats
/// of the rest (codes, airports) by itself. The landing set of 1 M PNRs is 522 MB without them
/// against 641 MB with them (every table smaller at 100 k), in the same CPU time
/// (docs/performance.md, change 68).
pub fn writer_properties(metadata: &[(String, String)]) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
        .set_dictionary_enabled(false)
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
///
/// The columns of each batch are encoded side by side on the rayon pool (each column's encoder
/// is independent), while `batches` makes the next batch, so that a large file such as
/// `scores.parquet` does not end the run on one core. The file is byte for byte what
/// `ArrowWriter` writes: the same row groups, cut where it cuts them, and each column's pages from
/// the same encoder fed the same slices.
pub fn write_stream(
    path: &Path,
    schema: arrow::datatypes::SchemaRef,
    batches: impl Iterator<Item = Result<RecordBatch, arrow::error::ArrowError>> + Send,
    metadata: &[(String, String)],
) -> Result<u64, WriteError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| WriteError::Io { path: parent.into(), source })?;
    }
    let file = File::create(path).map_err(|source| WriteError::Io { path: path.into(), source })?;
    let parquet_err = |source| WriteError::Parquet { path: path.into(), source };
    let props = writer_properties(metadata);
    let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
    // `ArrowWriter` builds the Parquet schema and embeds the Arrow one; its lower half then
    // writes the row groups that are encoded here.
    let (mut file_writer, factory) = ArrowWriter::try_new(file, schema.clone(), Some(props))
        .and_then(ArrowWriter::into_serialized_writer)
        .map_err(parquet_err)?;
    let mut rows = 0u64;
    // The row group being encoded: its column writers (one per leaf column) and rows so far.
    let mut open: Option<(Vec<ArrowColumnWriter>, usize)> = None;
    let mut row_groups = 0;
    // Each batch is encoded while the next one is made (`batches` makes them on demand).
    let mut batches = batches;
    let mut next = batches.next();
    while let Some(batch) = next {
        let batch = batch.map_err(|source| WriteError::Arrow { table: path.display().to_string(), source })?;
        rows += batch.num_rows() as u64;
        let encode = || -> Result<(), parquet::errors::ParquetError> {
            let mut offset = 0;
            while offset < batch.num_rows() {
                let (writers, buffered) = match &mut open {
                    Some(group) => group,
                    None => open.insert((factory.create_column_writers(row_groups)?, 0)),
                };
                let len = (batch.num_rows() - offset).min(max_rows - *buffered);
                encode_columns(&schema, &batch.slice(offset, len), writers)?;
                *buffered += len;
                offset += len;
                if *buffered >= max_rows
                    && let Some((writers, _)) = open.take()
                {
                    append_row_group(&mut file_writer, writers)?;
                    row_groups += 1;
                }
            }
            Ok(())
        };
        let (encoded, following) = rayon::join(encode, || batches.next());
        encoded.map_err(parquet_err)?;
        next = following;
    }
    if let Some((writers, _)) = open.take() {
        append_row_group(&mut file_writer, writers).map_err(parquet_err)?;
    }
    file_writer.close().map_err(parquet_err)?;
    Ok(rows)
}

/// Feeds each column of `batch` to its writers (a nested column has one per leaf), the columns
/// side by side.
fn encode_columns(
    schema: &Schema,
    batch: &RecordBatch,
    writers: &mut [ArrowColumnWriter],
) -> Result<(), parquet::errors::ParquetError> {
    let leaves: Vec<ArrowLeafColumn> = schema
        .fields()
        .par_iter()
        .zip(batch.columns().par_iter())
        .map(|(field, column)| compute_leaves(field, column))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    if leaves.len() != writers.len() {
        return Err(parquet::errors::ParquetError::General(format!(
            "{} leaf columns for {} column writers",
            leaves.len(),
            writers.len()
        )));
    }
    writers.par_iter_mut().zip(leaves.par_iter()).try_for_each(|(writer, leaf)| writer.write(leaf))
}

/// Closes the column writers of a row group (side by side: each flushes its last page) and
/// appends their chunks, in column order, to the file as its next row group.
fn append_row_group(
    file_writer: &mut SerializedFileWriter<File>,
    writers: Vec<ArrowColumnWriter>,
) -> Result<(), parquet::errors::ParquetError> {
    let chunks = writers.into_par_iter().map(ArrowColumnWriter::close).collect::<Result<Vec<_>, _>>()?;
    let mut row_group = file_writer.next_row_group()?;
    for chunk in chunks {
        chunk.append_to_row_group(&mut row_group)?;
    }
    row_group.close()?;
    Ok(())
}

/// Writes batches of one schema (at least one) to one file at `path` (creating parent folders).
/// Dictionary columns of text (the in-memory form of `landing::compact`) are written as plain
/// text, so that the files have DESIGN.md's types whatever form the batches were held in.
pub fn write_batches(path: &Path, batches: &[RecordBatch], metadata: &[(String, String)]) -> Result<(), WriteError> {
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

/// The bytes the files `written` take on disk (a landing batch, for `paxrisk ingest`'s report and
/// the run's summary).
pub fn files_bytes(written: &[PathBuf]) -> Result<u64, WriteError> {
    written
        .iter()
        .map(|path| {
            std::fs::metadata(path).map(|m| m.len()).map_err(|source| WriteError::Io { path: path.clone(), source })
        })
        .sum()
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, ListArray, StringArray, StructArray};
    use arrow::buffer::OffsetBuffer;
    use arrow::datatypes::{DataType, Field, Fields};

    /// Rows `from..to` of a table with a number, a text column with nulls and a nested column (a
    /// list of structs, like the `hits` of `scores.parquet`: three leaf columns).
    fn rows(from: i64, to: i64) -> RecordBatch {
        let n = (to - from) as usize;
        let item_fields = Fields::from(vec![
            Field::new("rule_id", DataType::Utf8, false),
            Field::new("weight", DataType::Int64, false),
        ]);
        let lengths: Vec<usize> = (from..to).map(|i| (i % 4) as usize).collect();
        let items: usize = lengths.iter().sum();
        let ids = StringArray::from_iter_values((0..items).map(|k| format!("RULE-{:03}", k % 37)));
        let weights = Int64Array::from_iter_values((0..items).map(|k| (k % 50) as i64));
        let structs = StructArray::new(item_fields.clone(), vec![Arc::new(ids) as ArrayRef, Arc::new(weights)], None);
        let item = Arc::new(Field::new("item", DataType::Struct(item_fields), false));
        let hits = ListArray::new(item.clone(), OffsetBuffer::from_lengths(lengths), Arc::new(structs), None);
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("hits", DataType::List(item), false),
        ]));
        let names = StringArray::from_iter((from..to).map(|i| (i % 7 != 0).then(|| format!("name {}", i % 1000))));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from_iter_values(from..to)), Arc::new(names), Arc::new(hits)],
        )
        .unwrap();
        assert_eq!(batch.num_rows(), n);
        batch
    }

    /// Writes `batches` with `ArrowWriter` and paxrisk's properties; returns the row groups.
    fn arrow_writer(path: &Path, batches: &[RecordBatch], meta: &[(String, String)]) -> usize {
        let file = File::create(path).unwrap();
        let mut w = ArrowWriter::try_new(file, batches[0].schema(), Some(writer_properties(meta))).unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.close().unwrap().num_row_groups()
    }

    #[test]
    fn write_stream_writes_the_bytes_arrow_writer_writes() {
        let dir = std::env::temp_dir().join(format!("paxrisk-parquet-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let meta = vec![("paxrisk.run_id".to_string(), "test".to_string())];
        // Batches of odd sizes, so that row groups (256 Ki rows) end inside batches; and an empty
        // batch, which neither writer turns into a row group.
        let cuts = [0, 100_003, 100_003, 300_000, 524_288, 600_001];
        let batches: Vec<RecordBatch> = cuts.windows(2).map(|w| rows(w[0], w[1])).collect();
        let schema = batches[0].schema();

        let ours = dir.join("ours.parquet");
        let written = write_stream(&ours, schema.clone(), batches.iter().cloned().map(Ok), &meta).unwrap();
        assert_eq!(written, 600_001);

        let theirs = dir.join("theirs.parquet");
        let row_groups = arrow_writer(&theirs, &batches, &meta);
        assert_eq!(row_groups, 3, "row groups of 262144, 262144 and 75713 rows");
        let (a, b) = (std::fs::read(&ours).unwrap(), std::fs::read(&theirs).unwrap());
        assert!(a == b, "write_stream wrote {} bytes, ArrowWriter {}; they differ", a.len(), b.len());

        // No row at all: the schema and no row group, as ArrowWriter writes it.
        let (empty_ours, empty_theirs) = (dir.join("empty-ours.parquet"), dir.join("empty-theirs.parquet"));
        let empty = [RecordBatch::new_empty(schema.clone())];
        assert_eq!(write_stream(&empty_ours, schema, empty.iter().cloned().map(Ok), &meta).unwrap(), 0);
        assert_eq!(arrow_writer(&empty_theirs, &empty, &meta), 0);
        assert_eq!(std::fs::read(&empty_ours).unwrap(), std::fs::read(&empty_theirs).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_are_zstd_without_dictionaries_and_read_back_whole() {
        let dir = std::env::temp_dir().join(format!("paxrisk-parquet-enc-{}", std::process::id()));
        let path = dir.join("t.parquet");
        let batch = rows(0, 5_000);
        write_batch(&path, &batch, &[]).unwrap();
        let file = File::open(&path).unwrap();
        let reader = parquet::file::reader::SerializedFileReader::new(file.try_clone().unwrap()).unwrap();
        use parquet::file::reader::FileReader;
        let mut chunks = 0;
        for group in reader.metadata().row_groups() {
            for column in group.columns() {
                assert!(matches!(column.compression(), Compression::ZSTD(_)), "{:?}", column.column_path());
                // `name` (1,000 values) and `rule_id` (37) would have had dictionaries.
                assert!(column.dictionary_page_offset().is_none(), "{:?}", column.column_path());
                chunks += 1;
            }
        }
        assert_eq!(chunks, 4, "n, name and the hits' rule_id and weight");
        let read: Vec<RecordBatch> = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(file, 8192)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(arrow::compute::concat_batches(&batch.schema(), &read).unwrap(), batch);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_bytes_sums_the_files_and_names_one_that_is_missing() {
        let dir = std::env::temp_dir().join(format!("paxrisk-parquet-bytes-{}", std::process::id()));
        let (a, b) = (dir.join("a.parquet"), dir.join("b.parquet"));
        write_batch(&a, &rows(0, 10), &[]).unwrap();
        write_batch(&b, &rows(0, 1_000), &[]).unwrap();
        let sizes = [&a, &b].map(|p| std::fs::metadata(p).unwrap().len());
        assert!(sizes[0] > 0 && sizes[1] > sizes[0], "{sizes:?}");
        assert_eq!(files_bytes(&[a.clone(), b.clone()]).unwrap(), sizes[0] + sizes[1]);
        assert_eq!(files_bytes(&[]).unwrap(), 0);
        let gone = dir.join("gone.parquet");
        let e = files_bytes(&[a, gone.clone()]).unwrap_err().to_string();
        assert!(e.contains(&gone.display().to_string()), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_batch_that_fails_is_an_error_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("paxrisk-parquet-err-{}", std::process::id()));
        let path = dir.join("scores.parquet");
        let b = rows(0, 10);
        let failing = [Ok(b.clone()), Err(arrow::error::ArrowError::ComputeError("no more rows".into()))];
        let err = write_stream(&path, b.schema(), failing.into_iter(), &[]).unwrap_err().to_string();
        assert!(err.contains("scores.parquet") && err.contains("no more rows"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
