//! Writing the landing Parquet set while ingest runs, so that a run never holds every landing
//! table in memory (`paxrisk run --landing DIR` and `paxrisk ingest`).
//!
//! Ingest hands over each table's batches whenever the rows it holds grow past a limit. They are
//! written, split by departure date, into a hidden staging folder inside `DIR`. Only when ingest
//! has finished, and the batch id (a hash of every input's SHA-256) is known, are the files moved
//! to their places in the layout of DESIGN.md, named `part-<seq>-<batch>.parquet`. Any earlier
//! files of the same batch are removed first, so ingesting the same inputs again replaces them,
//! and a killed run leaves only its staging folder, which readers of the set never list
//! (hidden). The files of one batch are exactly those whose name ends in `-<batch>.parquet`, which
//! includes the `part-<batch>.parquet` of `rejects`, `diagnostics` and empty tables: see
//! [`batch_suffix`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;

use super::parquet_out::{WriteError, write_partitioned};

/// The end of every file name of batch `batch` written by a run (what a listing table of this
/// batch filters on).
pub fn batch_suffix(batch: &str) -> String {
    format!("-{batch}.parquet")
}

/// A landing set being written: files in the staging folder, not yet in their places.
pub struct StagedLanding {
    dir: PathBuf,
    staging: PathBuf,
    metadata: Vec<(String, String)>,
    /// Files written so far, relative to the staging folder (and to `dir` once committed, but
    /// for the name).
    files: Vec<PathBuf>,
    /// Rows and parts written per table.
    rows: BTreeMap<String, (u64, usize)>,
}

impl StagedLanding {
    /// Starts a landing set under `dir` (created if missing). `metadata` goes into every file.
    pub fn create(dir: &Path, metadata: Vec<(String, String)>) -> Result<StagedLanding, WriteError> {
        let nonce =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let staging = dir.join(format!(".staging-{}-{nonce}", std::process::id()));
        std::fs::create_dir_all(&staging).map_err(|source| WriteError::Io { path: staging.clone(), source })?;
        Ok(StagedLanding { dir: dir.to_path_buf(), staging, metadata, files: Vec::new(), rows: BTreeMap::new() })
    }

    /// Rows written so far for `table`.
    pub fn rows(&self, table: &str) -> u64 {
        self.rows.get(table).map_or(0, |(rows, _)| *rows)
    }

    /// Writes `batches` of landing table `table` (which has a `dep_date` column) as one more
    /// part, one file per departure date.
    pub fn write(&mut self, table: &str, batches: &[RecordBatch]) -> Result<(), WriteError> {
        let n: usize = batches.iter().map(|b| b.num_rows()).sum();
        if n == 0 {
            return Ok(());
        }
        let (rows, parts) = self.rows.entry(table.to_string()).or_default();
        let name = format!("part-{parts:05}");
        *parts += 1;
        *rows += n as u64;
        let files = write_partitioned(table, batches, &self.staging.join(table), &name, &self.metadata)?;
        self.files.extend(files.into_iter().map(|rel| Path::new(table).join(rel)));
        Ok(())
    }

    /// Moves every staged file to its place as `part-<seq>-<batch>.parquet`, after removing the
    /// files an earlier ingest of the same batch left there. Returns the files, in `dir`.
    pub fn commit(self, batch: &str) -> Result<Vec<PathBuf>, WriteError> {
        let suffix = batch_suffix(batch);
        let mut tables: Vec<&Path> = self.files.iter().filter_map(|f| f.iter().next().map(Path::new)).collect();
        tables.sort();
        tables.dedup();
        for t in tables {
            remove_batch_files(&self.dir.join(t), &suffix)?;
        }
        let mut out = Vec::with_capacity(self.files.len());
        for rel in &self.files {
            let from = self.staging.join(rel);
            let mut to = self.dir.join(rel);
            let name = format!("{}{suffix}", rel.file_name().and_then(|n| n.to_str()).unwrap_or("part"));
            to.set_file_name(name);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|source| WriteError::Io { path: parent.into(), source })?;
            }
            std::fs::rename(&from, &to).map_err(|source| WriteError::Io { path: from.clone(), source })?;
            out.push(to);
        }
        let _ = std::fs::remove_dir_all(&self.staging);
        Ok(out)
    }
}

impl Drop for StagedLanding {
    /// A landing set that was not committed (ingest failed) leaves nothing behind.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}

/// Removes, under a table folder, the files of one batch (names ending in `suffix`), in every
/// partition.
fn remove_batch_files(table_dir: &Path, suffix: &str) -> Result<(), WriteError> {
    let Ok(parts) = std::fs::read_dir(table_dir) else { return Ok(()) };
    for part in parts.flatten() {
        let path = part.path();
        let files: Vec<PathBuf> = if path.is_dir() {
            std::fs::read_dir(&path).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default()
        } else {
            vec![path]
        };
        for f in files {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(suffix) {
                std::fs::remove_file(&f).map_err(|source| WriteError::Io { path: f.clone(), source })?;
            }
        }
    }
    Ok(())
}
