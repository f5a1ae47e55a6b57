//! `paxrisk ingest` end to end: the landing Parquet set, its layout, metadata and exit codes.

use std::fs::File;
use std::process::Command;

use parquet::file::reader::{FileReader, SerializedFileReader};

use crate::util::*;

fn paxrisk() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_paxrisk"));
    c.current_dir(root());
    c
}

#[test]
fn ingest_writes_partitioned_parquet_with_descriptions_and_metadata() {
    let Some(dir) = corpus("pnrgov") else { return };
    let landing = tempdir().join("landing");
    let ingest = || {
        paxrisk()
            .args(["ingest", "--input"])
            .arg(dir.join("2_pnrs_basic.edi"))
            .arg(dir.join("codeshare.edi"))
            .arg("--landing")
            .arg(&landing)
            .output()
            .unwrap()
    };
    let out = ingest();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("2/2/0"), "PNR counts in the report: {stderr}");
    assert!(stderr.contains("diagnostics by code:"), "{stderr}");

    let part = |table: &str, date: &str| {
        let d = landing.join(table).join(format!("dep_date={date}"));
        let files: Vec<_> = std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files[0].clone()
    };
    let traveller = part("traveller", "2010-12-12");
    assert!(part("traveller", "2013-05-27").exists());
    let reader = SerializedFileReader::new(File::open(&traveller).unwrap()).unwrap();
    let meta = reader.metadata().file_metadata();
    assert_eq!(meta.num_rows(), 4);
    let kv = meta.key_value_metadata().unwrap();
    assert!(kv.iter().any(|k| k.key == "paxrisk.tool_version" && k.value.as_deref() == Some(paxrisk::VERSION)));
    // Arrow field metadata (column descriptions) survives in the embedded Arrow schema.
    let schema = parquet::arrow::parquet_to_arrow_schema(meta.schema_descr(), meta.key_value_metadata()).unwrap();
    let f = schema.field_with_name("traveller_id").unwrap();
    assert!(f.metadata().get("description").unwrap().contains("SHA-256"));
    assert!(schema.field_with_name("dep_date").is_err(), "the partition column lives in the path");
    assert!(landing.join("diagnostics").read_dir().unwrap().count() == 1);
    assert!(landing.join("rejects").read_dir().unwrap().count() == 1);

    // The tables are staged while ingest runs: nothing is left in the staging folder, and
    // ingesting the same files again replaces the same files (every table has at least one, an
    // empty table an empty file for its schema).
    let files = |dir: &std::path::Path| {
        let mut out = Vec::new();
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() { todo.push(p) } else { out.push(p.strip_prefix(dir).unwrap().to_path_buf()) }
            }
        }
        out.sort();
        out
    };
    let first = files(&landing);
    for (table, _, _) in paxrisk::landing::schema::all_schemas() {
        assert!(first.iter().any(|f| f.starts_with(table)), "no file for {table}: {first:?}");
    }
    assert!(first.iter().all(|f| !f.to_string_lossy().contains(".staging")), "{first:?}");
    let again = ingest();
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(files(&landing), first);
}

#[test]
fn ingest_exits_1_when_some_input_was_rejected_and_still_loads_the_rest() {
    let Some(dir) = corpus("pnrgov") else { return };
    let tmp = tempdir();
    std::fs::write(tmp.join("empty.edi"), "").unwrap();
    let out = paxrisk()
        .args(["ingest", "--input"])
        .arg(tmp.join("empty.edi"))
        .arg(dir.join("pnr1.txt"))
        .arg("--landing")
        .arg(tmp.join("landing"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("EMPTY_FILE"), "{stderr}");
    assert!(stderr.contains("empty.edi"), "{stderr}");
    assert!(tmp.join("landing").join("pnr").exists());

    // The report names the files written and their size, as they are on disk.
    let sizes: Vec<u64> = walk_files(&tmp.join("landing"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .collect();
    let line = stderr.lines().find(|l| l.starts_with("landing: ")).unwrap_or_else(|| panic!("{stderr}"));
    let expected = format!(
        "landing: {} Parquet files, {:.1} MB under {}",
        sizes.len(),
        sizes.iter().sum::<u64>() as f64 / 1e6,
        tmp.join("landing").display()
    );
    assert_eq!(line, expected);
    assert!(sizes.len() > 1 && sizes.iter().all(|&s| s > 0), "{sizes:?}");
}

#[test]
fn ingest_exits_2_on_a_missing_input_path() {
    let tmp = tempdir();
    let out = paxrisk()
        .args(["ingest", "--input", "/nonexistent/feed.edi", "--landing"])
        .arg(tmp.join("l"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/feed.edi"));
}

/// A run ingests in Arrow mode: each message's rows become record batches on the worker that
/// mapped it, merged a round of files at a time. The tables must be exactly those of the row
/// mode, duplicates included, over more files than one round holds.
#[test]
fn arrow_mode_lands_exactly_the_rows_of_row_mode() {
    let generated = crate::util::tempdir().join("gen");
    let rules = crate::util::root().join("rules");
    let (code, out, err) = crate::util::paxrisk(&[
        "generate",
        "--pnrs",
        "600",
        "--pnrs-per-flight",
        "4",
        "--seed",
        "3",
        "--days",
        "2",
        "--rules",
        rules.to_str().unwrap(),
        "--out",
        generated.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let files = paxrisk::ingest::find_inputs(std::slice::from_ref(&generated)).unwrap();
    let files_in = files.len();
    let round = paxrisk::ingest::FILES_PER_ROUND;
    assert!(files.len() > 2 * round, "{} files: more than two rounds of {round}", files.len());
    // A copy of the first file: its messages are duplicates the second time.
    let copy = crate::util::tempdir().join("copy.edi");
    std::fs::copy(&files[0], &copy).unwrap();
    let inputs = [generated, copy];
    let rows_mode = paxrisk::ingest::ingest_paths(&inputs, &crate::util::config()).unwrap();
    let cfg = paxrisk::ingest::IngestConfig { arrow: true, ..crate::util::config() };
    let mut arrow_mode = paxrisk::ingest::ingest_paths(&inputs, &cfg).unwrap();
    assert!(rows_mode.totals().messages_duplicate > 0);
    let traveller = paxrisk::landing::schema::Rows::DATA_TABLES.iter().position(|t| *t == "traveller").unwrap();
    assert!(arrow_mode.rows.traveller.is_empty() && !arrow_mode.landing[traveller].is_empty());
    assert_eq!(arrow_mode.rows.diagnostics, rows_mode.rows.diagnostics);
    let expected = rows_mode.rows.to_batches();
    let got = arrow_mode.take_landing();
    assert_eq!(got.len(), expected.len());
    for ((name, batches), (expected_name, expected_batch)) in got.iter().zip(&expected) {
        assert_eq!(name, expected_name);
        // The data tables are in their in-memory form: the file name a dictionary column.
        let data_table = !matches!(*name, "rejects" | "diagnostics");
        let schema = batches[0].schema();
        let source_file = schema.field_with_name("source_file").unwrap().data_type();
        assert_eq!(source_file == &paxrisk::landing::compact::dictionary_type(), data_table, "{name}: {source_file}");
        let batch = arrow::compute::concat_batches(&schema, batches).unwrap();
        let batch = paxrisk::landing::compact::plain_text(&batch).unwrap();
        assert!(batch.num_rows() > 0 || *name == "rejects" || *name == "ssr", "{name} is empty");
        let expected_batch = arrow::compute::concat_batches(&expected_batch[0].schema(), expected_batch).unwrap();
        assert_eq!(batch, expected_batch, "{name}");
    }

    // A run with --landing writes the data tables while it ingests (here after every round of
    // files, and at the end), staged under a hidden name until the batch id is known.
    let landing = crate::util::tempdir().join("landing");
    let cfg = paxrisk::ingest::IngestConfig { arrow: true, flush_bytes: 1, ..crate::util::config() };
    let mut staged = paxrisk::landing::staged::StagedLanding::create(&landing, vec![]).unwrap();
    let staged_mode = paxrisk::ingest::ingest_paths_staged(&inputs, &cfg, &mut staged).unwrap();
    assert_eq!(staged_mode.rows.diagnostics, rows_mode.rows.diagnostics);
    assert!(staged_mode.landing.iter().all(|t| t.is_empty()), "nothing is left in memory");
    assert_eq!(staged.rows("traveller"), rows_mode.rows.traveller.len() as u64);
    let files = staged.commit("b1").unwrap();
    let hidden: Vec<_> = std::fs::read_dir(&landing)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "the staging folder is gone: {hidden:?}");
    let parts = |table: &str| {
        let mut names: Vec<String> = files
            .iter()
            .filter(|f| f.starts_with(landing.join(table)))
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names.dedup();
        names
    };
    // One part after each round of files (the copy is one more file).
    let rounds = (files_in + 1).div_ceil(round);
    let want: Vec<String> = (0..rounds).map(|i| format!("part-{i:05}-b1.parquet")).collect();
    assert_eq!(parts("traveller"), want);
    for (name, expected_batches) in expected.iter().filter(|(n, _)| !matches!(*n, "rejects" | "diagnostics")) {
        let mut want: Vec<String> = expected_batches.iter().flat_map(|b| rows_as_text(b, None)).collect();
        let mut got = Vec::new();
        for f in files.iter().filter(|f| f.starts_with(landing.join(name))) {
            let date =
                f.parent().unwrap().file_name().unwrap().to_string_lossy().trim_start_matches("dep_date=").to_string();
            let batch = read_parquet(f);
            got.extend(rows_as_text(&batch, Some(&date)));
        }
        want.sort();
        got.sort();
        assert_eq!(got.len(), want.len(), "{name}");
        assert!(got == want, "{name}: the staged set holds other rows");
    }

    // Ingesting the same inputs again replaces the batch's files, and leaves other batches alone.
    let folder = files.iter().find(|f| f.starts_with(landing.join("traveller"))).unwrap().parent().unwrap();
    std::fs::write(folder.join("part-00000-other.parquet"), b"another batch").unwrap();
    let mut again = paxrisk::landing::staged::StagedLanding::create(&landing, vec![]).unwrap();
    paxrisk::ingest::ingest_paths_staged(&inputs, &cfg, &mut again).unwrap();
    let files_again = again.commit("b1").unwrap();
    assert_eq!(files_again.len(), files.len());
    let on_disk = walk_files(&landing.join("traveller"));
    assert_eq!(on_disk.len(), parts_count(&files, "traveller") + 1, "{on_disk:?}");
}

fn parts_count(files: &[std::path::PathBuf], table: &str) -> usize {
    files.iter().filter(|f| f.iter().any(|c| c == table)).count()
}

fn read_parquet(path: &std::path::Path) -> arrow::record_batch::RecordBatch {
    let f = File::open(path).unwrap();
    let b = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
    let schema = b.schema().clone();
    let batches: Vec<_> = b.build().unwrap().map(|b| b.unwrap()).collect();
    arrow::compute::concat_batches(&schema, &batches).unwrap()
}

/// Each row as text, columns by name in name order; `dep_date` from `date` when the files leave
/// it out (the partition folder holds it), written as the folder writes it.
fn rows_as_text(batch: &arrow::record_batch::RecordBatch, date: Option<&str>) -> Vec<String> {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let schema = batch.schema();
    let mut columns: Vec<(String, ArrayFormatter<'_>)> = Vec::new();
    let options = FormatOptions::default().with_null("unknown");
    for (i, f) in schema.fields().iter().enumerate() {
        columns.push((f.name().clone(), ArrayFormatter::try_new(batch.column(i).as_ref(), &options).unwrap()));
    }
    columns.sort_by(|a, b| a.0.cmp(&b.0));
    (0..batch.num_rows())
        .map(|row| {
            let mut cells: Vec<String> = Vec::new();
            let mut placed = false;
            for (name, f) in &columns {
                if let Some(d) = date
                    && !placed
                    && name.as_str() > "dep_date"
                {
                    cells.push(format!("dep_date={d}"));
                    placed = true;
                }
                cells.push(format!("{name}={}", f.value(row)));
            }
            if let Some(d) = date
                && !placed
            {
                cells.push(format!("dep_date={d}"));
            }
            cells.join("|")
        })
        .collect()
}
