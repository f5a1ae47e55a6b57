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
pub fn read_parquet(path: &Path) -> anyhow::Result<RecordBatch> {
    let file = std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
    let schema = builder.schema().clone();
    let batches = builder
        .build()
        .with_context(|| format!("{}: not a readable Parquet file", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
    Ok(arrow::compute::concat_batches(&schema, &batches)?)
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
