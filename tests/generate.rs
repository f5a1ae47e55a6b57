//! `paxrisk generate`: the files read back whole through the real ingest, the labels name real
//! travellers, the output is reproducible, faults are tolerated and reported, and the committed
//! sample data is exactly what its README's command makes.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use arrow::array::AsArray;

use crate::util::{assert_invariants, config, paxrisk, root, tempdir};

fn generate(extra: &[&str]) -> PathBuf {
    let out = tempdir().join("gen");
    let mut args = vec!["generate", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = paxrisk(&args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    out
}

fn summary(dir: &Path) -> serde_json::Value {
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("generate.json")).unwrap()).unwrap();
    m["summary"].clone()
}

/// (traveller_id, scenario, planted) rows of labels.parquet.
fn labels(dir: &Path) -> Vec<(String, String, bool)> {
    let file = std::fs::File::open(dir.join("labels.parquet")).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let mut out = Vec::new();
    for b in reader {
        let b = b.unwrap();
        let ids = b.column_by_name("traveller_id").unwrap().as_string::<i32>().clone();
        let sc = b.column_by_name("scenario").unwrap().as_string::<i32>().clone();
        let planted = b.column_by_name("planted").unwrap().as_boolean().clone();
        for i in 0..b.num_rows() {
            out.push((ids.value(i).to_string(), sc.value(i).to_string(), planted.value(i)));
        }
    }
    out
}

/// Every file under `dir`, relative path → bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for p in paxrisk::ingest::find_inputs(&[dir.to_path_buf()]).unwrap() {
        out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
    }
    for extra in ["labels.parquet", "generate.json"] {
        out.insert(PathBuf::from(extra), std::fs::read(dir.join(extra)).unwrap());
    }
    out
}

#[test]
fn generated_pushes_ingest_whole_and_the_labels_name_ingested_travellers() {
    let dir =
        generate(&["--pnrs", "1500", "--seed", "5", "--days", "2", "--fault-share", "0", "--scenario-share", "0.03"]);
    let s = summary(&dir);
    let r = paxrisk::ingest::ingest_paths(std::slice::from_ref(&dir), &config()).unwrap();
    assert_invariants(&r);
    assert!(r.rows.rejects.is_empty(), "{:?}", r.rows.rejects.first());
    assert!(r.rows.diagnostics.is_empty(), "a fault-free set gives no diagnostics: {:?}", r.rows.diagnostics.first());
    assert_eq!(r.totals().counts.pnrs_loaded, s["pnr_versions"].as_u64().unwrap());
    assert_eq!(r.files.len() as u64, s["files"].as_u64().unwrap());
    // Every pushed flight has a full push at close, so each PNR is in the latest push once.
    let pnrs: HashSet<&str> = r.rows.pnr.iter().map(|p| p.pnr_id.as_str()).collect();
    assert_eq!(pnrs.len() as u64, s["pnrs"].as_u64().unwrap());
    let travellers: HashSet<&str> = r.rows.traveller.iter().map(|t| t.traveller_id.as_str()).collect();
    assert_eq!(travellers.len() as u64, s["travellers"].as_u64().unwrap());
    let labels = labels(&dir);
    let kinds: HashSet<&str> = labels.iter().filter(|l| l.2).map(|l| l.1.as_str()).collect();
    assert!(kinds.len() >= 10, "planted kinds: {kinds:?}");
    for (id, scenario, _) in &labels {
        assert!(travellers.contains(id.as_str()), "label {id} ({scenario}) names no ingested traveller");
    }
    // Update pushes carry only changed PNRs; multi-part transfers were reassembled.
    let types: HashSet<i64> = r.rows.push.iter().filter_map(|p| p.push_type).collect();
    assert_eq!(types, HashSet::from([22, 141]));
    assert!(s["multipart_messages"].as_u64().unwrap() > 0);
    // One API file per flight: a passenger list of everyone checked in, and a crew list.
    assert_eq!(s["api_files"], s["flights"]);
    let checked_in: HashSet<&str> = r.rows.checkin.iter().filter_map(|c| c.traveller_id.as_deref()).collect();
    let passengers = r.rows.api_traveller.iter().filter(|a| a.role == "passenger").count();
    assert!(passengers >= checked_in.len(), "{passengers} API passengers, {} checked in", checked_in.len());
    assert!(r.rows.api_traveller.iter().any(|a| a.role == "crew"));
    assert!(r.rows.push.iter().any(|p| p.parts > 1));
}

#[test]
fn the_same_seed_gives_the_same_files_and_another_seed_others() {
    let args = ["--pnrs", "300", "--seed", "3", "--days", "1", "--fault-share", "0.3"];
    let a = files(&generate(&args));
    let b = files(&generate(&args));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(v == &b[k], "{} differs between two runs with one seed", k.display());
    }
    let c = files(&generate(&["--pnrs", "300", "--seed", "4", "--days", "1", "--fault-share", "0.3"]));
    assert_ne!(a.get(Path::new("labels.parquet")), c.get(Path::new("labels.parquet")));
}

#[test]
fn feed_faults_are_read_and_reported_and_nothing_is_lost() {
    let dir = generate(&["--pnrs", "1500", "--seed", "9", "--days", "2", "--fault-share", "1"]);
    let s = summary(&dir);
    let faults: BTreeMap<String, u64> =
        s["faults"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
    for f in ["wrapped_lines", "no_una", "una_syntax4", "unt_count_off", "missing_optional_segments"] {
        assert!(faults.get(f).copied().unwrap_or(0) > 0, "no file with {f}: {faults:?}");
    }
    // Every push file has a fault; the API lists are written clean.
    assert_eq!(faults.values().sum::<u64>(), s["files"].as_u64().unwrap() - s["api_files"].as_u64().unwrap());
    let r = paxrisk::ingest::ingest_paths(std::slice::from_ref(&dir), &config()).unwrap();
    assert_invariants(&r);
    assert!(r.rows.rejects.is_empty(), "{:?}", r.rows.rejects.first());
    assert_eq!(r.totals().counts.pnrs_loaded, s["pnr_versions"].as_u64().unwrap());
    let codes: HashSet<&str> = r.rows.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert!(codes.contains("UNT_COUNT_MISMATCH"), "{codes:?}");
    let travellers: HashSet<&str> = r.rows.traveller.iter().map(|t| t.traveller_id.as_str()).collect();
    for (id, scenario, _) in labels(&dir) {
        assert!(travellers.contains(id.as_str()), "label {id} ({scenario}) lost to a fault");
    }
}

#[test]
fn generate_refuses_a_folder_with_earlier_pushes_and_bad_parameters() {
    let dir = generate(&["--pnrs", "100", "--days", "1"]);
    let (code, _, err) = paxrisk(&["generate", "--pnrs", "100", "--out", dir.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("is not empty"), "{err}");
    let other = tempdir().join("x");
    let (code, _, err) =
        paxrisk(&["generate", "--pnrs", "100", "--scenario-share", "2", "--out", other.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("--scenario-share must be between 0 and 1"), "{err}");
}

/// The command in sample-data/README.md, as arguments after `paxrisk`.
fn readme_command() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("sample-data/README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.trim_start().starts_with("cargo run --release -- generate"))
        .expect("sample-data/README.md gives the generate command");
    line.trim().trim_start_matches("cargo run --release --").split_whitespace().map(str::to_string).collect()
}

#[test]
fn the_sample_data_is_exactly_what_its_readme_command_makes() {
    let mut args = readme_command();
    let out = tempdir().join("sample");
    let at = args.iter().position(|a| a == "--out").expect("the command names --out");
    assert_eq!(args[at + 1], "sample-data");
    args[at + 1] = out.to_str().unwrap().to_string();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = paxrisk(&refs);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let made = files(&out);
    let committed = files(&root().join("sample-data"));
    assert_eq!(made.keys().collect::<Vec<_>>(), committed.keys().collect::<Vec<_>>());
    for (k, v) in &made {
        assert!(v == &committed[k], "sample-data/{} differs from what the README command makes", k.display());
    }
    let bytes: usize = committed.values().map(Vec::len).sum();
    assert!(bytes < 5_000_000, "sample-data is {bytes} bytes");
    let s = summary(&root().join("sample-data"));
    assert_eq!(s["flights"], 20);
    assert!((1900..=2100).contains(&s["pnrs"].as_u64().unwrap()), "{s}");
}

#[test]
fn the_default_pack_finds_the_planted_travellers_of_the_sample_data() {
    let (code, out, err) =
        paxrisk(&["rules", "stats", "--input", "sample-data", "--labels", "sample-data/labels.parquet"]);
    assert_eq!(code, 0, "{out}{err}");
    let line = out.lines().find(|l| l.starts_with("review list: ")).unwrap_or_else(|| panic!("{out}"));
    // "review list: R of J travellers (x%); planted travellers on it: P of N (recall y%); decoys ..."
    let nums: Vec<u64> =
        line.split(|c: char| !c.is_ascii_digit() && c != '.').filter_map(|w| w.parse::<u64>().ok()).collect();
    let (review, journeys, planted_on, planted) = (nums[0], nums[1], nums[2], nums[3]);
    assert!(planted >= 40, "{line}");
    assert!(planted_on * 10 >= planted * 9, "review-list recall under 90%: {line}");
    // The sample holds 2% planted travellers; the rest of the list is what honest travellers cost.
    let background = review - planted_on;
    assert!(background * 100 < journeys * 2, "review list holds over 2% of honest travellers: {line}");
    assert!(out.contains("rule             hits  precision   recall  decoys"), "{out}");
}

#[test]
fn a_busy_day_gives_every_flight_its_own_number() {
    // 300 flights in one day: a route's flight numbers run on past the next route's base, and
    // two flights with one number and date would overwrite each other's files.
    let dir = generate(&["--pnrs", "3000", "--pnrs-per-flight", "10", "--days", "1", "--fault-share", "0"]);
    let s = summary(&dir);
    assert_eq!(s["flights"], 300);
    let r = paxrisk::ingest::ingest_paths(std::slice::from_ref(&dir), &config()).unwrap();
    let flights: HashSet<(String, String)> = r
        .rows
        .push
        .iter()
        .filter(|p| p.format == "PNRGOV")
        .map(|p| (format!("{:?}{:?}", p.flight_carrier, p.flight_number), format!("{:?}", p.dep_date)))
        .collect();
    assert_eq!(flights.len(), 300);
}
