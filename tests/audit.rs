//! The auditor's toolkit on a real run folder: `explain`, `query`, `audit verify`, `audit replay`.

use std::path::{Path, PathBuf};

use crate::util::{copy_dir, paxrisk, root, tempdir};

const AS_OF: &str = "2026-11-30T12:00:00Z";

fn input() -> PathBuf {
    root().join("tests/data/run")
}

/// A fresh run of tests/data/run; returns its folder.
fn fresh_run() -> PathBuf {
    let out = tempdir().join("out");
    let (code, _, err) =
        paxrisk(&["run", "--input", input().to_str().unwrap(), "--out", out.to_str().unwrap(), "--as-of", AS_OF]);
    assert_eq!(code, 0, "{err}");
    std::fs::read_dir(&out).unwrap().next().unwrap().unwrap().path()
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

fn rule_hash(dir: &Path, id: &str) -> String {
    let m = manifest(dir);
    let r = m["rule_pack"]["rules"].as_array().unwrap().iter().find(|r| r["id"] == id).unwrap().clone();
    r["hash"].as_str().unwrap().to_string()
}

#[test]
fn explain_prints_every_hit_with_the_saved_rule() {
    let run = fresh_run();
    let m = manifest(&run);
    let (code, out, err) = paxrisk(&["explain", run.to_str().unwrap(), "--locator", "cash01"]);
    assert_eq!(code, 0, "{err}");
    let run_id = m["run_id"].as_str().unwrap();
    let pack_hash = m["rule_pack"]["hash"].as_str().unwrap();
    let head = format!(
        "Run {run_id} (as of {AS_OF})\n\
         Rule pack paxrisk-default 0.1.0 (SHA-256 {pack_hash}), saved in the run\n\
         Scoring: sum of the weights of the rules hit (cap 100), review list from 50 (25 per flight at most)\n\
         \n\
         PEREZ LUIS ("
    );
    assert!(out.starts_with(&head), "{out}");
    let tkt = "  TKT-001 v1 +30: cash one-way ticket issued 17 h before departure\n    \
               One-way ticket paid in cash less than 48 h before departure\n";
    assert!(out.contains(tkt), "{out}");
    let sql = format!(
        "    rule file ticketing/TKT-001.toml (SHA-256 {}), when over traveller_journey:\n      \
         paid_cash AND trip_type = 'one_way' AND hours_ticketed_before_departure < 48\n",
        rule_hash(&run, "TKT-001")
    );
    assert!(out.contains(&sql), "{out}");
    assert!(out.contains("  score 80 (high), on the review list\n"), "{out}");
    assert!(out.contains(&format!("  from {}/cash_one_way.edi at byte 150\n", input().display())), "{out}");
    assert!(
        out.contains(
            "    reference: United States v. Sokolow, 490 U.S. 1 (1989): tickets paid in cash, short notice\n"
        )
    );
    let rules: Vec<&str> = out.lines().filter(|l| l.starts_with("  ") && l.contains(" v1 +")).collect();
    assert_eq!(rules.len(), 5, "{rules:?}");

    // JSON: the same content for tools.
    let (code, out, _) = paxrisk(&["explain", run.to_str().unwrap(), "--locator", "CASH01", "--format", "json"]);
    assert_eq!(code, 0);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let t = &j["travellers"][0];
    assert_eq!(t["surname"], "PEREZ");
    assert_eq!(t["score"], 80.0);
    assert_eq!(t["on_review_list"], true);
    assert_eq!(t["source_offset"], 150);
    let tkt = t["hits"].as_array().unwrap().iter().find(|h| h["rule_id"] == "TKT-001").unwrap();
    assert_eq!(tkt["weight"], 30);
    assert_eq!(tkt["kind"], "when");
    assert_eq!(tkt["sha256"], rule_hash(&run, "TKT-001"));

    // By traveller id; and nobody found.
    let id = t["traveller_id"].as_str().unwrap();
    let (code, out, _) = paxrisk(&["explain", run.to_str().unwrap(), "--traveller", id]);
    assert_eq!(code, 0);
    assert!(out.contains("PEREZ LUIS"));
    let (code, _, err) = paxrisk(&["explain", run.to_str().unwrap(), "--locator", "NOSUCH"]);
    assert_eq!(code, 1);
    assert!(err.contains("no traveller with record locator NOSUCH"), "{err}");
}

#[test]
fn a_run_explains_itself_after_the_rule_pack_is_edited() {
    // The run reads its own copy: editing the pack it came from changes nothing.
    let pack = tempdir().join("pack");
    copy_dir(&root().join("rules"), &pack);
    let out = tempdir().join("out");
    let (code, _, err) = paxrisk(&[
        "run",
        "--input",
        input().to_str().unwrap(),
        "--rules",
        pack.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(code, 0, "{err}");
    let run = std::fs::read_dir(&out).unwrap().next().unwrap().unwrap().path();
    let (_, before, _) = paxrisk(&["explain", run.to_str().unwrap(), "--locator", "CASH01"]);
    let rule = pack.join("ticketing/TKT-001.toml");
    let text = std::fs::read_to_string(&rule).unwrap().replace("One-way ticket paid in cash", "EDITED");
    std::fs::write(&rule, text).unwrap();
    let (_, after, _) = paxrisk(&["explain", run.to_str().unwrap(), "--locator", "CASH01"]);
    assert_eq!(before, after);
    assert!(!after.contains("EDITED"));
    let (code, out, _) = paxrisk(&["audit", "verify", run.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn query_reads_the_run_and_refuses_writes_and_files() {
    let run = fresh_run();
    let r = run.to_str().unwrap();
    let (code, out, err) =
        paxrisk(&["query", r, "SELECT surname, score FROM scores ORDER BY score DESC", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "surname,score\nPEREZ,80.0\nGARCIA,15.0\n");
    let (code, out, _) =
        paxrisk(&["query", r, "SELECT rule_id, weight FROM hits WHERE rule_id = 'TKT-001'", "--format", "json"]);
    assert_eq!(code, 0);
    assert_eq!(out, "[\n  {\"rule_id\": \"TKT-001\", \"weight\": 30}\n]\n");
    let (code, out, _) = paxrisk(&["query", r, "SELECT count(*) AS n FROM review"]);
    assert_eq!(code, 0);
    assert!(out.contains("| n |") && out.contains("| 1 |"), "{out}");
    let target = tempdir().join("copied.csv");
    for sql in [
        format!("COPY scores TO '{}'", target.display()),
        "CREATE TABLE x AS SELECT * FROM scores".to_string(),
        "INSERT INTO scores SELECT * FROM scores".to_string(),
        "DROP TABLE scores".to_string(),
        "SELECT * FROM '/etc/passwd'".to_string(),
        format!("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '{}'", target.display()),
        "SET datafusion.execution.batch_size = 1".to_string(),
    ] {
        let (code, _, err) = paxrisk(&["query", r, &sql]);
        assert_eq!(code, 2, "{sql} was not refused");
        assert!(err.starts_with("paxrisk query: error: "), "{err}");
    }
    assert!(!target.exists());
    assert_eq!(std::fs::read_dir(&run).unwrap().count(), 7, "the run folder is unchanged");
}

/// A copy of a fresh run folder, to damage.
fn damaged(run: &Path) -> PathBuf {
    let d = tempdir().join(run.file_name().unwrap());
    copy_dir(run, &d);
    d
}

fn verify(dir: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["audit", "verify", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (code, out, err) = paxrisk(&args);
    (code, out + &err)
}

#[test]
fn audit_verify_passes_on_a_fresh_run_and_names_each_kind_of_tampering() {
    let run = fresh_run();
    let (code, out) = verify(&run, &["--inputs", input().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("all ") && out.contains(" checks passed"), "{out}");

    // One byte changed in scores.parquet: in the data, in the footer or in the footer's length.
    // Some of these make the Parquet reader itself fail; verify still reports, never crashes.
    let len = std::fs::metadata(run.join("scores.parquet")).unwrap().len() as usize;
    for at in [len / 4, len / 2, 3 * len / 4, len - 9, len - 6] {
        let d = damaged(&run);
        let p = d.join("scores.parquet");
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[at] ^= 0x01;
        std::fs::write(&p, bytes).unwrap();
        let (code, out) = verify(&d, &[]);
        assert_eq!(code, 1, "byte {at} of {len}: {out}");
        assert!(out.contains("FAIL scores.parquet: SHA-256: "), "byte {at} of {len}: {out}");
        assert!(!out.contains("panicked"), "byte {at} of {len}: {out}");
    }

    // A row deleted from hits.parquet (rewritten as a valid Parquet file).
    let d = damaged(&run);
    let p = d.join("hits.parquet");
    let batch = paxrisk::audit::read_parquet(&p).unwrap();
    let fewer = batch.slice(1, batch.num_rows() - 1);
    let f = std::fs::File::create(&p).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, fewer.schema(), None).unwrap();
    w.write(&fewer).unwrap();
    w.close().unwrap();
    let (code, out) = verify(&d, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL hits.parquet: SHA-256"), "{out}");
    assert!(out.contains("FAIL hits.parquet: rows = manifest outputs rows: 6 != 7"), "{out}");
    assert!(out.contains("FAIL hits.parquet rows = the hits inside scores.parquet: 1 hits differ"), "{out}");

    // A rule file changed in the saved pack.
    let d = damaged(&run);
    let p = d.join("rule-pack/ticketing/TKT-001.toml");
    let text = std::fs::read_to_string(&p).unwrap().replace("weight = 30", "weight = 5");
    std::fs::write(&p, text).unwrap();
    let (code, out) = verify(&d, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL saved rule pack: SHA-256"), "{out}");
    assert!(out.contains("FAIL saved rule TKT-001: SHA-256: "), "{out}");
    assert!(out.contains("TKT-001.toml was changed"), "{out}");

    // A manifest count edited.
    let d = damaged(&run);
    let mut m = manifest(&d);
    m["totals"]["pnrs_loaded"] = serde_json::json!(3);
    std::fs::write(d.join("manifest.json"), serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let (code, out) = verify(&d, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL totals.pnrs_loaded = sum over the inputs: 3 != 2"), "{out}");

    // An input that changed since.
    let changed = tempdir().join("cash_one_way.edi");
    let text = std::fs::read_to_string(input().join("cash_one_way.edi")).unwrap().replace("PEREZ", "PERES");
    std::fs::write(&changed, text).unwrap();
    let (code, out) = verify(&run, &["--inputs", changed.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cash_one_way.edi: SHA-256"), "{out}");

    // Not a run folder at all.
    let (code, out) = verify(&tempdir(), &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("manifest.json: cannot read"), "{out}");
}

#[test]
fn audit_replay_confirms_a_run_and_detects_a_changed_input() {
    let run = fresh_run();
    let r = run.to_str().unwrap();
    let (code, out, err) = paxrisk(&["audit", "replay", r, "--inputs", input().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(": identical (rows compared: scores 2, review 1, hits 7, rejects 0, diagnostics 0)"), "{out}");

    // The same content elsewhere still replays: source files map back by SHA-256.
    let moved = tempdir().join("archive");
    std::fs::create_dir_all(&moved).unwrap();
    std::fs::copy(input().join("cash_one_way.edi"), moved.join("cash_one_way.edi")).unwrap();
    let (code, out, _) = paxrisk(&["audit", "replay", r, "--inputs", moved.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");

    // A changed input gives different results, each named.
    let text = std::fs::read_to_string(input().join("cash_one_way.edi"))
        .unwrap()
        .replace("FOP+CA'", "FOP+CC::1:VI:4111111111111111:0128'");
    std::fs::write(moved.join("cash_one_way.edi"), text).unwrap();
    let (code, out, _) = paxrisk(&["audit", "replay", r, "--inputs", moved.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("DIFF input "), "{out}");
    assert!(out.contains("DIFF scores.parquet row 0, column score: \"80.0\" in the run"), "{out}");
}
