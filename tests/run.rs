//! `paxrisk run` end to end: exact scores and hits, the manifest, reproducibility, rejected input,
//! duplicates and a killed run.

use std::path::{Path, PathBuf};
use std::process::Command;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};

use crate::util::{root, tempdir};

const AS_OF: &str = "2026-11-30T12:00:00Z";

fn data() -> PathBuf {
    root().join("tests/data/run/cash_one_way.edi")
}

fn paxrisk(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_paxrisk"));
    c.args(args).current_dir(root());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Runs into a fresh out folder; returns (exit code, run folder if one finished, stderr).
fn run(inputs: &[&Path], env: &[(&str, &str)]) -> (i32, Option<PathBuf>, String, PathBuf) {
    let out = tempdir().join("out");
    let mut args = vec!["run", "--as-of", AS_OF, "--out", out.to_str().unwrap(), "--input"];
    let inputs: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    args.extend(inputs.iter().map(String::as_str));
    let (code, err) = paxrisk(&args, env);
    let finished = std::fs::read_dir(&out)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    assert!(finished.len() <= 1, "{finished:?}");
    (code, finished.into_iter().next(), err, out)
}

fn read(path: &Path) -> RecordBatch {
    let f = std::fs::File::open(path).unwrap();
    let b = ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
    let schema = b.schema().clone();
    let batches: Vec<RecordBatch> = b.build().unwrap().map(|b| b.unwrap()).collect();
    concat_batches(&schema, &batches).unwrap()
}

fn strings(b: &RecordBatch, col: &str) -> Vec<String> {
    let c = arrow::compute::cast(b.column_by_name(col).unwrap(), &arrow::datatypes::DataType::Utf8).unwrap();
    let c = c.as_string::<i32>();
    (0..c.len()).map(|i| if c.is_null(i) { "NULL".into() } else { c.value(i).to_string() }).collect()
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn known_travellers_get_exact_scores_and_hits() {
    let (code, dir, err, _) = run(&[&data()], &[]);
    assert_eq!(code, 0, "{err}");
    let dir = dir.expect("a finished run folder");
    let scores = read(&dir.join("scores.parquet"));
    assert_eq!(strings(&scores, "surname"), ["PEREZ", "GARCIA"], "highest score first");
    assert_eq!(strings(&scores, "score"), ["80.0", "15.0"]);
    assert_eq!(strings(&scores, "band"), ["high", "low"]);
    assert_eq!(strings(&scores, "hit_count"), ["5", "2"]);
    assert_eq!(strings(&scores, "flight"), ["XX123", "XX123"]);
    assert_eq!(strings(&scores, "flight_dep_date"), ["2026-12-01", "2026-12-01"]);
    let hits = scores.column_by_name("hits").unwrap().as_list::<i32>();
    let first = hits.value(0);
    let first = first.as_struct();
    let col = |name: &str| {
        let c = arrow::compute::cast(first.column_by_name(name).unwrap(), &arrow::datatypes::DataType::Utf8).unwrap();
        (0..c.len()).map(|i| c.as_string::<i32>().value(i).to_string()).collect::<Vec<_>>()
    };
    // In rule-id order; 5 + 10 + 15 + 30 + 20 = 80 under sum_capped.
    assert_eq!(col("rule_id"), ["CON-002", "ROUTE-001", "ROUTE-005", "TKT-001", "TKT-007"]);
    assert_eq!(col("rule_version"), ["1", "1", "1", "1", "1"]);
    assert_eq!(col("weight"), ["5", "10", "15", "30", "20"]);
    assert_eq!(
        col("reason"),
        [
            "no personal contact in the booking",
            "flight departs from CO, on the drug source and transit list",
            "one-way, 8031 km leg, no frequent-flyer record",
            "cash one-way ticket issued 17 h before departure",
            "paid cash for a 8031 km flight",
        ]
    );
    assert_eq!(hits.value(1).len(), 2);

    let h = read(&dir.join("hits.parquet"));
    assert_eq!(h.num_rows(), 7);
    let rule_text = std::fs::read(root().join("rules/ticketing/TKT-001.toml")).unwrap();
    assert_eq!(strings(&h, "rule_hash")[3], hex::encode(Sha256::digest(&rule_text)));
    assert_eq!(strings(&h, "rule_id")[3], "TKT-001");
    assert_eq!(strings(&h, "traveller_id")[3], strings(&scores, "traveller_id")[0]);

    // Metadata for auditors' tools.
    let f = std::fs::File::open(dir.join("scores.parquet")).unwrap();
    let meta = ParquetRecordBatchReaderBuilder::try_new(f).unwrap().metadata().clone();
    let kv: Vec<(String, String)> = meta
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .iter()
        .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
        .collect();
    let run_id = dir.file_name().unwrap().to_string_lossy().into_owned();
    assert!(kv.contains(&("paxrisk.run_id".into(), run_id.clone())), "{kv:?}");
    assert!(kv.iter().any(|(k, _)| k == "paxrisk.rule_pack_hash"));
    assert!(scores.schema().field_with_name("score").unwrap().metadata().contains_key("description"));
    let review = read(&dir.join("review.parquet"));
    assert_eq!(strings(&review, "surname"), ["PEREZ"], "80 is at or above the review threshold of 50, 15 is not");
}

#[test]
fn the_manifest_accounts_for_everything_and_hashes_every_output() {
    let (code, dir, err, _) = run(&[&data()], &[]);
    assert_eq!(code, 0, "{err}");
    let dir = dir.unwrap();
    let m = manifest(&dir);
    assert_eq!(m["as_of"], AS_OF);
    assert_eq!(m["run_id"], dir.file_name().unwrap().to_string_lossy().as_ref());
    let input = &m["inputs"][0];
    assert_eq!(input["sha256"], hex::encode(Sha256::digest(std::fs::read(data()).unwrap())));
    assert_eq!(input["messages"]["read"], 1);
    assert_eq!(input["pnrs"]["loaded"], 2);
    assert_eq!(input["travellers"]["loaded"], 2);
    let invariants = m["invariants"].as_array().unwrap();
    assert!(invariants.len() >= 8);
    assert!(invariants.iter().all(|i| i["holds"] == true), "{invariants:?}");
    let per_rule = m["hits_per_rule"].as_array().unwrap();
    assert_eq!(per_rule.len(), 37, "every active rule has a count, 0 included");
    assert!(per_rule.contains(&serde_json::json!({"rule_id": "TKT-001", "hits": 1})));
    assert!(per_rule.contains(&serde_json::json!({"rule_id": "ROUTE-001", "hits": 2})));
    assert_eq!(per_rule.iter().map(|r| r["hits"].as_u64().unwrap()).sum::<u64>(), 7);
    let rules = m["rule_pack"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["id"] == "TKT-001" && r["version"] == 1 && r["hash"].as_str().unwrap().len() == 64));
    for o in m["outputs"].as_array().unwrap() {
        let bytes = std::fs::read(dir.join(o["name"].as_str().unwrap())).unwrap();
        assert_eq!(o["sha256"], hex::encode(Sha256::digest(&bytes)), "{}", o["name"]);
    }
    let stages: Vec<&str> = m["durations_seconds"].as_array().unwrap().iter().map(|s| s[0].as_str().unwrap()).collect();
    assert_eq!(stages, ["load rule pack", "ingest", "views", "rules", "scores", "write"]);
    assert_eq!(m["results"]["travellers_scored"], 2);
}

#[test]
fn a_second_run_gives_identical_rows_in_identical_order() {
    let (_, a, _, _) = run(&[&data()], &[]);
    let (_, b, _, _) = run(&[&data()], &[]);
    let (a, b) = (a.unwrap(), b.unwrap());
    let suffix = |p: &Path| p.file_name().unwrap().to_string_lossy().rsplit('-').next().unwrap().to_string();
    assert_eq!(suffix(&a), suffix(&b), "same inputs, pack and as-of give the same run hash");
    assert_same_rows(&a, &b);
}

/// The outputs of two run folders hold the same rows in the same order (run ids aside).
fn assert_same_rows(a: &Path, b: &Path) {
    for f in ["scores.parquet", "review.parquet", "hits.parquet", "rejects.parquet", "diagnostics.parquet"] {
        let (x, y) = (read(&a.join(f)), read(&b.join(f)));
        let drop_run_id = |r: &RecordBatch| {
            let keep: Vec<usize> = (0..r.num_columns()).filter(|&i| r.schema().field(i).name() != "run_id").collect();
            r.project(&keep).unwrap()
        };
        assert_eq!(drop_run_id(&x).columns(), drop_run_id(&y).columns(), "{f}");
    }
}

/// With --landing the run streams: the landing tables go to Parquet while ingest runs and the
/// views are computed into work files. The scored rows must be exactly those of the in-memory
/// run, and a landing folder that holds another night's batch must not change them.
#[test]
fn a_run_over_its_landing_set_scores_exactly_what_the_in_memory_run_scores() {
    let sample = root().join("sample-data");
    let landing = tempdir().join("landing");
    let in_memory = tempdir().join("in-memory");
    let streamed = tempdir().join("streamed");
    let args = |out: &Path, input: &Path, landing: Option<&Path>| {
        let mut a: Vec<String> = ["run", "--as-of", AS_OF, "--out", out.to_str().unwrap(), "--input"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.push(input.display().to_string());
        if let Some(l) = landing {
            a.extend(["--landing".to_string(), l.display().to_string()]);
        }
        a
    };
    let folder = |out: &Path| std::fs::read_dir(out).unwrap().flatten().map(|e| e.path()).next().unwrap();
    for (input, n) in [(sample.as_path(), "a"), (data().as_path(), "b")] {
        let (mem, disk) = (in_memory.join(n), streamed.join(n));
        let run = |a: Vec<String>| {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let (code, err) = paxrisk(&a, &[]);
            assert!(code == 0 || code == 1, "{err}");
            err
        };
        let mem_log = run(args(&mem, input, None));
        let disk_log = run(args(&disk, input, Some(&landing)));
        // Over the landing set the summary gives the disk the run used.
        assert!(!mem_log.contains("  disk: "), "{mem_log}");
        let disk_line =
            disk_log.lines().find(|l| l.starts_with("  disk: landing set ")).unwrap_or_else(|| panic!("{disk_log}"));
        assert!(disk_line.contains(" MB, work files at most ") && disk_line.ends_with(" MB (deleted)"), "{disk_line}");
        let (mem, disk) = (folder(&mem), folder(&disk));
        assert_same_rows(&mem, &disk);
        let invariants = manifest(&disk)["invariants"].clone();
        assert_eq!(manifest(&mem)["invariants"], invariants, "the same rows landed");
        assert!(invariants.as_array().unwrap().iter().all(|i| i["holds"] == true), "{invariants}");
        let stages: Vec<String> = manifest(&disk)["durations_seconds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s[0].as_str().unwrap().to_string())
            .collect();
        assert!(stages.contains(&"landing".to_string()), "{stages:?}");
    }
    // Both nights are in the set, and the run left no staging or work folder behind.
    let travellers = std::fs::read_dir(landing.join("traveller")).unwrap().count();
    assert!(travellers > 1, "{travellers} partitions");
    let hidden: Vec<_> = std::fs::read_dir(&landing)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

/// `--memory-limit` caps the query engine: a night whose joins do not fit fails by view name,
/// with exit code 2 and no run folder, instead of being killed by the kernel.
#[test]
fn a_memory_limit_too_small_for_the_views_fails_by_name() {
    let out = tempdir().join("out");
    let (code, err) =
        paxrisk(&["run", "--as-of", AS_OF, "--out", out.to_str().unwrap(), "--memory-limit", "0.001"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("traveller_journey") && err.contains("Resources exhausted"), "{err}");
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
    let (code, err) = paxrisk(&["run", "--memory-limit", "lots"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a positive number of GiB"), "{err}");
}

#[test]
fn a_rejected_file_gives_exit_1_and_the_rest_is_still_scored() {
    let junk = tempdir().join("photo.jpg");
    std::fs::write(&junk, b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01").unwrap();
    let (code, dir, err, _) = run(&[&data(), &junk], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("rejected"), "{err}");
    let dir = dir.unwrap();
    assert_eq!(read(&dir.join("scores.parquet")).num_rows(), 2);
    let rejects = read(&dir.join("rejects.parquet"));
    assert_eq!(strings(&rejects, "code"), ["BINARY_FILE"]);
    assert!(strings(&rejects, "source_file")[0].ends_with("photo.jpg"));
    assert_eq!(manifest(&dir)["totals"]["files_rejected"], 1);
}

#[test]
fn a_file_given_twice_is_loaded_once_and_the_duplicate_reported() {
    let copy = tempdir().join("resent.edi");
    std::fs::copy(data(), &copy).unwrap();
    let (code, dir, err, _) = run(&[&data(), &copy], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("duplicates"), "{err}");
    let dir = dir.unwrap();
    assert_eq!(read(&dir.join("scores.parquet")).num_rows(), 2);
    let m = manifest(&dir);
    assert_eq!(m["totals"]["messages_duplicate"], 1);
    assert_eq!(m["totals"]["pnrs_duplicate"], 2);
    assert_eq!(m["totals"]["pnrs_loaded"], 2);
    assert!(m["invariants"].as_array().unwrap().iter().all(|i| i["holds"] == true));
    // Inputs are sorted by path; whichever of the two sorts first is the original, wherever the
    // clone and the temporary folder happen to live.
    let inputs = m["inputs"].as_array().unwrap();
    let first = inputs[0]["path"].as_str().unwrap();
    assert!(first <= inputs[1]["path"].as_str().unwrap(), "{inputs:?}");
    assert!(first.ends_with("resent.edi") || first.ends_with("cash_one_way.edi"), "{first}");
    assert_eq!(inputs[0]["duplicate_of"], serde_json::Value::Null);
    assert_eq!(inputs[1]["duplicate_of"], inputs[0]["path"]);
    assert_eq!(inputs[1]["messages"]["duplicate"], 1);
    let diags = read(&dir.join("diagnostics.parquet"));
    assert!(strings(&diags, "code").contains(&"DUPLICATE_MESSAGE".to_string()));
}

/// A push that sends one PNR twice: the first copy is scored, with its travellers once each; the
/// second (here paid by card, not cash) is counted as a duplicate and reported where it is.
#[test]
fn a_pnr_sent_twice_in_one_push_is_loaded_once() {
    let text = std::fs::read_to_string(data()).unwrap();
    let first = &text[text.find("SRC'").unwrap()..text.find("SRC'\nRCI+XX:CARD01").unwrap()];
    let copy = first.replace("FOP+CA'", "FOP+CC::1:VI:4111111111111111:0128'");
    assert_ne!(copy, first);
    let at = text.find("UNT+").unwrap();
    let repeated = tempdir().join("repeated.edi");
    std::fs::write(&repeated, format!("{}{copy}{}", &text[..at], &text[at..])).unwrap();
    let (code, dir, err, _) = run(&[&repeated], &[]);
    assert_eq!(code, 0, "{err}");
    let dir = dir.unwrap();
    let scores = read(&dir.join("scores.parquet"));
    assert_eq!(strings(&scores, "surname"), ["PEREZ", "GARCIA"], "one row per traveller");
    assert_eq!(strings(&scores, "score"), ["80.0", "15.0"], "the first copy, paid cash, is the one scored");
    let m = manifest(&dir);
    assert_eq!(m["totals"]["pnrs_read"], 3);
    assert_eq!(m["totals"]["pnrs_loaded"], 2);
    assert_eq!(m["totals"]["pnrs_duplicate"], 1);
    assert_eq!(m["inputs"][0]["travellers"]["duplicate"], 1);
    assert_eq!(m["inputs"][0]["messages"]["loaded"], 1);
    assert!(m["invariants"].as_array().unwrap().iter().all(|i| i["holds"] == true));
    let diags = read(&dir.join("diagnostics.parquet"));
    let at = strings(&diags, "code").iter().position(|c| c == "PNR_REPEATED_IN_PUSH").expect("a diagnostic");
    let offset = text.find("SRC'\nRCI+XX:CASH01").unwrap();
    assert_eq!(at_offset(&diags, at), text.find("UNT+").unwrap() as i64, "the second copy's SRC");
    let message = &strings(&diags, "message")[at];
    assert!(message.contains(&format!("at byte {offset} of ")), "{message}");
}

fn at_offset(b: &RecordBatch, row: usize) -> i64 {
    let c = b.column_by_name("source_offset").unwrap();
    c.as_primitive::<arrow::datatypes::Int64Type>().value(row)
}

#[test]
fn a_run_killed_midway_leaves_no_finished_looking_folder() {
    for after in ["hits.parquet", "manifest.json"] {
        let (code, dir, _, out) = run(&[&data()], &[("PAXRISK_TEST_ABORT_AFTER", after)]);
        assert_ne!(code, 0);
        assert!(dir.is_none(), "killed after {after}, yet a run folder appeared: {dir:?}");
        let partial: Vec<PathBuf> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(partial.len(), 1);
        assert!(partial[0].file_name().unwrap().to_string_lossy().starts_with(".partial-"));
    }
}

#[test]
fn landing_tables_and_logs_on_request() {
    let landing = tempdir().join("landing");
    let out = tempdir().join("out");
    let (code, err) = paxrisk(
        &[
            "run",
            "--input",
            data().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--landing",
            landing.to_str().unwrap(),
            "--threads",
            "1",
        ],
        &[("RUST_LOG", "paxrisk=info")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("stage started") && err.contains("stage=\"rules\""), "{err}");
    assert!(err.contains("travellers scored"), "the summary table: {err}");
    let part = std::fs::read_dir(landing.join("traveller/dep_date=2026-12-01")).unwrap().count();
    assert_eq!(part, 1);
    let travellers = read(
        &std::fs::read_dir(landing.join("traveller/dep_date=2026-12-01")).unwrap().next().unwrap().unwrap().path(),
    );
    assert_eq!(travellers.num_rows(), 2);
}

#[test]
fn with_no_input_the_run_reads_the_bundled_sample_data() {
    let out = tempdir().join("out");
    let (code, err) = paxrisk(&["run", "--as-of", AS_OF, "--out", out.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "the sample data loads whole: {err}");
    let dir = std::fs::read_dir(&out).unwrap().next().unwrap().unwrap().path();
    let m = manifest(&dir);
    assert_eq!(m["totals"]["files_rejected"], 0);
    assert_eq!(
        m["inputs"].as_array().unwrap().len(),
        80,
        "the pushes and API lists only, not the README, labels or manifest"
    );
    let review = read(&dir.join("review.parquet"));
    assert!(review.num_rows() > 0);
    let scores = read(&dir.join("scores.parquet"));
    assert!(scores.num_rows() > 3000, "{}", scores.num_rows());
}

#[test]
fn a_broken_rule_pack_exits_2_lists_each_fault_and_writes_nothing() {
    let dir = tempdir();
    let (rules, out) = (dir.join("pack"), dir.join("out"));
    crate::util::copy_dir(&root().join("rules"), &rules);
    let broken = ["TKT-001", "TKT-002"].map(|id| rules.join("ticketing").join(format!("{id}.toml")));
    for rule in &broken {
        let text = std::fs::read_to_string(rule).unwrap();
        let level = text.lines().find(|l| l.starts_with("level = ")).unwrap().to_string();
        std::fs::write(rule, text.replacen(&level, "level = \"extreme\"", 1)).unwrap();
    }
    let input = data();
    let args = [input.to_str().unwrap(), "--rules", rules.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let (code, err) = paxrisk(&[&["run", "--input"][..], &args].concat(), &[]);
    assert_eq!(code, 2, "{err}");
    for rule in &broken {
        assert!(err.contains(&format!("{}:4: unknown variant `extreme`", rule.display())), "{err}");
    }
    let last = format!("paxrisk run: the rule pack {} is broken (2 errors); nothing was run", rules.display());
    assert!(err.trim_end().ends_with(&last), "{err}");
    assert!(!out.exists(), "a broken pack writes nothing: {err}");
}
