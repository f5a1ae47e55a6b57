//! `paxrisk bench` on a tiny data set: it generates once and reuses, measures every stage of the
//! run, writes Markdown and JSON, and its content hashes are the same on a second run.

use std::path::Path;

use crate::util::{copy_dir, paxrisk, root, tempdir};

/// `paxrisk bench` on `pnrs` PNRs of seed `seed`, data in `data`, reports in `out`, with the
/// bundled rule pack, then `extra`; its exit code, standard output and standard error.
fn bench(pnrs: &str, seed: &str, data: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    let rules = root().join("rules");
    let mut args = vec!["bench", "--pnrs", pnrs, "--seed", seed, "--data", data.to_str().unwrap()];
    args.extend(["--out", out.to_str().unwrap(), "--rules", rules.to_str().unwrap()]);
    args.extend(extra);
    paxrisk(&args)
}

#[test]
fn bench_measures_every_stage_and_its_content_hashes_repeat() {
    let dir = tempdir();
    let (data, out) = (dir.join("data"), dir.join("results"));
    let (code, stdout, stderr) = bench("300", "5", &data, &out, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("generating 300 PNRs (seed 5)"), "{stderr}");
    for stage in [
        "| read input bytes (floor) |",
        "| read, hash and lex (ingest's front end) |",
        "| ingest |",
        "| views |",
        "| rules |",
        "| scores |",
        "| write |",
    ] {
        assert!(stdout.contains(stage), "{stage} missing:\n{stdout}");
    }
    assert!(stdout.contains("Ingest: ") && stdout.contains(" MB/s wall"), "{stdout}");
    assert!(stdout.contains("Machine's pace before and after the run: compute "), "{stdout}");

    let reports: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(reports.len(), 1);
    let first: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&reports[0]).unwrap()).unwrap();
    assert_eq!(first["pnrs"], 300);
    // The report names its build; the tests' binary is a plain one.
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    assert_eq!(first["build"], build);
    assert!(stdout.contains(&format!("paxrisk {} ({build} build)", paxrisk::VERSION)), "{stdout}");
    assert!(first["input_bytes"].as_u64().unwrap() > 100_000);
    assert!(first["pnr_versions_loaded"].as_u64().unwrap() >= 300);
    assert_eq!(first["active_rules"], 37);
    let stages: Vec<&str> = first["stages"].as_array().unwrap().iter().map(|s| s["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["load rule pack", "ingest", "views", "rules", "scores", "write"]);
    for s in first["stages"].as_array().unwrap() {
        assert!(s["wall_s"].as_f64().unwrap() >= 0.0 && s["cpu_s"].as_f64().unwrap() >= 0.0, "{s}");
        // System time is part of the CPU time (each rounded to the microsecond).
        let system = s["system_s"].as_f64().unwrap();
        assert!(system >= 0.0 && system <= s["cpu_s"].as_f64().unwrap() + 1e-5, "{s}");
        assert!(s["minor_faults"].as_u64().is_some(), "{s}");
        // Linux gives every stage its peak; elsewhere the field may be null.
        if cfg!(target_os = "linux") {
            assert!(s["peak_rss_mib"].as_f64().unwrap() > 1.0, "{s}");
        }
    }
    // The run's memory grows from nothing, so its stages touch pages for the first time.
    let stage_faults: u64 =
        first["stages"].as_array().unwrap().iter().map(|s| s["minor_faults"].as_u64().unwrap()).sum();
    assert_eq!(first["total_minor_faults"].as_u64().unwrap(), stage_faults);
    if cfg!(target_os = "linux") {
        assert!(stage_faults > 0, "{}", first["stages"]);
    }
    assert!(stdout.contains("| stage | wall s | CPU s | of it system s | page faults (thousands) | peak RSS MiB |"));
    // Ingest's front end, timed on its own, read the messages the run read: as many, or more
    // where a push came in parts (each part is a message to the lexer, the parts one to ingest).
    let front = &first["front_end"];
    let manifest = std::path::Path::new(first["run_dir"].as_str().unwrap()).join("manifest.json");
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    let messages = front["messages"].as_u64().unwrap();
    assert!(messages >= manifest["totals"]["messages_read"].as_u64().unwrap() && messages > 0, "{front}");
    assert!(front["segments"].as_u64().unwrap() > 10 * messages, "{front}");
    // Timed by the clock; CPU time comes from the kernel, which may count it in ticks coarser
    // than a tiny data set's front end.
    for key in ["wall_s", "hash_s", "lex_s", "mb_per_cpu_s"] {
        assert!(front[key].as_f64().unwrap() > 0.0, "{key}: {front}");
    }
    for key in ["cpu_s", "share_of_ingest_cpu"] {
        assert!(front[key].as_f64().unwrap() >= 0.0, "{key}: {front}");
    }
    assert!(stdout.contains("Its front end alone (read, hash and lex, one thread): "), "{stdout}");
    // The machine's pace, before the input was read and after the run.
    for moment in ["pace_start", "pace_end"] {
        let pace = &first[moment];
        assert!(pace["compute_m_steps_per_s"].as_f64().unwrap() > 0.0, "{pace}");
        assert!(pace["random_reads_m_per_s"].as_f64().unwrap() > 0.0, "{pace}");
        if cfg!(unix) {
            assert!(pace["fresh_memory_gb_per_s"].as_f64().unwrap() > 0.0, "{pace}");
        }
    }
    let hashes = first["content_sha256"].clone();
    assert_eq!(hashes.as_array().unwrap().len(), 3);
    // One run: it is its own median, and the only entry of `runs`.
    assert_eq!((first["repeat"].as_u64(), first["median_run"].as_u64()), (Some(1), Some(1)));
    assert_eq!(first["rows_agree"], true);
    assert_eq!(first["runs"].as_array().unwrap().len(), 1);
    assert_eq!(first["runs"][0]["stages"], first["stages"]);
    assert!(!stdout.contains("(median)"), "{stdout}");

    // The second time the data set is reused, and the scored rows are the same.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, stdout, stderr) = bench("300", "5", &data, &out, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("reusing the data set"), "{stderr}");
    let mut reports: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    reports.sort();
    assert_eq!(reports.len(), 2);
    let second: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&reports[1]).unwrap()).unwrap();
    assert_eq!(second["content_sha256"], hashes);
}

#[test]
fn a_repeated_bench_reports_its_median_run_and_that_every_run_gave_the_same_rows() {
    let dir = tempdir();
    let (data, out) = (dir.join("data"), dir.join("results"));
    let (code, _, stderr) = bench("200", "3", &data, &out, &["--repeat", "0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--repeat"), "{stderr}");
    assert!(!data.exists(), "nothing is generated for a refused --repeat");

    let (code, stdout, stderr) = bench("200", "3", &data, &out, &["--repeat", "3"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("3 runs, one after the other in one process; the table is of run "), "{stdout}");
    assert!(stdout.contains("Machine's pace before the first run and after the last: "), "{stdout}");
    assert!(stdout.contains("| run | total wall s | total CPU s | ingest wall / CPU s |"), "{stdout}");
    assert_eq!(stdout.matches(" (median) |").count(), 1, "{stdout}");
    assert!(stdout.contains("over 3 runs, median ") && stdout.contains("Every run gave the same rows"), "{stdout}");

    let report = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!((r["repeat"].as_u64(), r["rows_agree"].as_bool()), (Some(3), Some(true)));
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs.iter().map(|x| x["run"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
    // The table and the totals above are of the median run by total wall time.
    let median = r["median_run"].as_u64().unwrap() as usize;
    let m = &runs[median - 1];
    assert_eq!((&r["stages"], &r["total_wall_s"], &r["run_dir"]), (&m["stages"], &m["total_wall_s"], &m["run_dir"]));
    let mut walls: Vec<f64> = runs.iter().map(|x| x["total_wall_s"].as_f64().unwrap()).collect();
    walls.sort_by(f64::total_cmp);
    assert_eq!(m["total_wall_s"].as_f64().unwrap(), walls[1]);
    // Each run in a folder of its own, each with the same rows.
    for (k, run) in runs.iter().enumerate() {
        assert_eq!(run["content_sha256"], r["content_sha256"]);
        assert_eq!(run["stages"].as_array().unwrap().len(), 6);
        let run_dir = std::path::PathBuf::from(run["run_dir"].as_str().unwrap());
        assert!(run_dir.join("scores.parquet").is_file(), "{}", run_dir.display());
        assert_eq!(run_dir.parent(), Some(out.join("runs").join(format!("run-{}", k + 1)).as_path()));
    }
}

#[test]
fn a_missing_rule_pack_is_named_once_with_its_cause_once() {
    let dir = tempdir();
    let (data, out) = (dir.join("data"), dir.join("results"));
    let rules = dir.join("no-such-pack");
    // `bench` checks the pack before it generates anything; `ingest` needs only its reference
    // files and names the first one missing.
    let manifest = rules.join("pack.toml");
    let airports = rules.join("reference").join("airports.csv");
    for (args, missing) in [
        (vec!["bench", "--pnrs", "10", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()], &manifest),
        (vec!["ingest", "--input", "sample-data", "--landing", out.to_str().unwrap()], &airports),
    ] {
        let command = args[0];
        let args: Vec<&str> = args.into_iter().chain(["--rules", rules.to_str().unwrap()]).collect();
        let (code, _, err) = paxrisk(&args);
        assert_eq!(code, 2, "{command}: {err}");
        assert!(err.contains(&format!("paxrisk {command}: error: ")), "{command}: {err}");
        let line = err.lines().find(|l| l.contains(&missing.display().to_string())).unwrap_or_else(|| panic!("{err}"));
        // The io error's own text (which varies by system) once, not once in the message and
        // again as its cause.
        let cause = line.rsplit(": ").next().unwrap_or_default();
        assert!(!cause.is_empty() && line.matches(cause).count() == 1, "{line}");
        assert!(!data.exists(), "{command} generated data before it found the pack missing");
    }
}

#[test]
fn a_broken_rule_pack_is_reported_before_any_data_is_generated() {
    let dir = tempdir();
    let (data, out, rules) = (dir.join("data"), dir.join("results"), dir.join("pack"));
    copy_dir(&root().join("rules"), &rules);
    let rule = rules.join("ticketing").join("TKT-001.toml");
    let text = std::fs::read_to_string(&rule).unwrap();
    std::fs::write(&rule, text.replacen("level = \"medium\"", "level = \"extreme\"", 1)).unwrap();
    let (code, _, err) = paxrisk(&[
        "bench",
        "--pnrs",
        "10",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    let head = format!("paxrisk bench: error: the rule pack {} is broken (1 error); ", rules.display());
    assert!(err.contains(&head) && err.contains("nothing was generated or run"), "{err}");
    assert!(err.contains(&rule.display().to_string()), "the faulty rule file is named: {err}");
    assert!(!data.exists() && !out.exists(), "nothing is written for a broken pack: {err}");
}
