//! The auditor's toolkit over a finished run folder: `explain`, `query`, `audit verify` and
//! `audit replay`.
//!
//! Everything here reads only the run folder (and, where asked, the inputs): the Parquet outputs,
//! `manifest.json` and the copy of the rule pack the run saved (`rule-pack/`), so that months
//! later a run explains itself exactly as it was, whatever happened to `rules/` since.

pub mod explain;
pub mod query;
pub mod replay;
pub mod verify;

use std::path::{Path, PathBuf};

use anyhow::Context;
use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::rules::pack::Pack;
use crate::run::manifest::Manifest;

/// The Parquet outputs of a run, by table name.
pub const RUN_TABLES: &[&str] = &["scores", "review", "hits", "rejects", "diagnostics"];

/// A run folder, opened.
pub struct RunFolder {
    /// The folder.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

impl RunFolder {
    /// Opens `dir` and reads its manifest.
    pub fn open(dir: &Path) -> anyhow::Result<RunFolder> {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read (is {} a run folder?)", path.display(), dir.display()))?;
        let manifest: Manifest =
            serde_json::from_str(&text).with_context(|| format!("{}: not a paxrisk manifest", path.display()))?;
        Ok(RunFolder { dir: dir.to_path_buf(), manifest })
    }

    /// The rule pack the run saved.
    pub fn pack(&self) -> anyhow::Result<Pack> {
        let dir = self.dir.join(&self.manifest.rule_pack.saved_copy);
        Pack::load(&dir).map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            anyhow::anyhow!("the rule pack saved in the run ({}) does not load:\n{}", dir.display(), lines.join("\n"))
        })
    }

    /// One output table, as a single batch.
    pub fn table(&self, name: &str) -> anyhow::Result<RecordBatch> {
        read_parquet(&self.dir.join(format!("{name}.parquet")))
    }
}

/// Reads a whole Parquet file into one batch.
///
/// A damaged file is an error naming it, never a crash: the Parquet reader panics on some
/// corrupt footers (parquet 59: "column start and length should not be negative"), so the read
/// runs under [`without_panic`].
pub fn read_parquet(path: &Path) -> anyhow::Result<RecordBatch> {
    without_panic(path, || {
        let reader = parquet_batches(path, 1024)?;
        let schema = arrow::record_batch::RecordBatchReader::schema(&reader);
        let batches = reader
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
        Ok(arrow::compute::concat_batches(&schema, &batches)?)
    })
}

/// A reader of a Parquet file's batches of up to `batch_size` rows, or an error naming the
/// file. Call it, and read its batches, under [`without_panic`].
pub fn parquet_batches(
    path: &Path,
    batch_size: usize,
) -> anyhow::Result<parquet::arrow::arrow_reader::ParquetRecordBatchReader> {
    let unreadable = || format!("{}: not a readable Parquet file", path.display());
    let file = std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(unreadable)?
        .with_batch_size(batch_size)
        .build()
        .with_context(unreadable)
}

/// The row count in a Parquet file's footer, without reading its data.
pub fn parquet_rows(path: &Path) -> anyhow::Result<u64> {
    without_panic(path, || {
        let file = std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let reader = parquet::file::reader::SerializedFileReader::new(file)
            .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
        let rows = parquet::file::reader::FileReader::metadata(&reader).file_metadata().num_rows();
        u64::try_from(rows).with_context(|| format!("{}: the footer gives {rows} rows", path.display()))
    })
}

thread_local! {
    static QUIET_PANICS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `read` and turns a panic inside it into an error naming `path`. While it runs, the
/// thread's panics are not printed (other threads keep the usual panic message).
pub fn without_panic<T>(path: &Path, read: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
    let was = QUIET_PANICS.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    QUIET_PANICS.with(|q| q.set(was));
    result.unwrap_or_else(|payload| {
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown failure".to_string());
        Err(anyhow::anyhow!("{}: not a readable Parquet file (the Parquet reader failed: {why})", path.display()))
    })
}

/// A column by name, or an error naming the table.
pub fn column<'a>(batch: &'a RecordBatch, table: &str, name: &str) -> anyhow::Result<&'a ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| anyhow::anyhow!("{table}: no column {name:?}"))
}

/// Every value of a column as display text (NULL as `None`).
pub fn texts(array: &dyn Array) -> anyhow::Result<Vec<Option<String>>> {
    let f = ArrayFormatter::try_new(array, &FormatOptions::default())?;
    Ok((0..array.len()).map(|i| if array.is_null(i) { None } else { Some(f.value(i).to_string()) }).collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, ListArray, StringArray, StructArray};
    use arrow::datatypes::{DataType, Field, Fields, Schema};

    use super::*;

    /// A file shaped like `scores.parquet`: a list<struct> column, field descriptions and
    /// key-value metadata, so most of its bytes are footer.
    fn scores_like(path: &Path) -> Vec<u8> {
        let described = |f: Field| {
            let d = format!("what {} means", f.name());
            f.with_metadata([("description".to_string(), d)].into())
        };
        let hit_fields = Fields::from(vec![
            described(Field::new("rule_id", DataType::Utf8, false)),
            described(Field::new("reason", DataType::Utf8, false)),
        ]);
        let hit = StructArray::new(
            hit_fields.clone(),
            vec![
                Arc::new(StringArray::from(vec!["TKT-001", "ROUTE-002"])),
                Arc::new(StringArray::from(vec!["cash", "via"])),
            ],
            None,
        );
        let item = Arc::new(Field::new("item", DataType::Struct(hit_fields), false));
        let list = ListArray::new(item.clone(), arrow::buffer::OffsetBuffer::from_lengths([2, 0]), Arc::new(hit), None);
        let schema = Schema::new(vec![
            described(Field::new("journey_id", DataType::Utf8, false)),
            described(Field::new("score", DataType::Float64, false)),
            described(Field::new("hits", DataType::List(item), false)),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec!["j1", "j2"])),
                Arc::new(Float64Array::from(vec![80.0, 0.0])),
                Arc::new(list),
            ],
        )
        .unwrap();
        let meta = [("paxrisk.run_id".to_string(), "20261129T000000Z".to_string())];
        crate::landing::parquet_out::write_batch(path, &batch, &meta).unwrap();
        std::fs::read(path).unwrap()
    }

    #[test]
    fn a_damaged_parquet_file_is_an_error_naming_it_at_every_byte() {
        let dir = std::env::temp_dir().join(format!("paxrisk-damaged-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("scores.parquet");
        let good = scores_like(&path);
        assert_eq!(read_parquet(&path).unwrap().num_rows(), 2);
        assert_eq!(parquet_rows(&path).unwrap(), 2);

        let (mut errors, mut caught_panics) = (0, 0);
        for at in 0..good.len() {
            for flip in [0x01u8, 0xff] {
                let mut bytes = good.clone();
                bytes[at] ^= flip;
                std::fs::write(&path, &bytes).unwrap();
                for result in [read_parquet(&path).map(|b| b.num_rows() as u64), parquet_rows(&path)] {
                    if let Err(e) = result {
                        let text = format!("{e:#}");
                        assert!(text.contains(&path.display().to_string()), "byte {at}: {text}");
                        errors += 1;
                        caught_panics += usize::from(text.contains("the Parquet reader failed"));
                    }
                }
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
        // Most single-byte damage is detected by the reader (the rest only by the SHA-256 check),
        // and some of it made the Parquet reader panic: that is what this guards against.
        assert!(errors > good.len(), "{errors} errors over {} bytes", good.len());
        assert!(caught_panics > 0, "no damage made the reader panic");
    }
}
