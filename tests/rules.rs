//! Rule packs: the bundled pack checks and tests clean, the sandbox refuses what it must and names
//! the rule, faults give exact messages, scoring, and time arithmetic.

use std::path::{Path, PathBuf};
use std::time::Duration;

use paxrisk::rules::check;
use paxrisk::rules::engine::{Engine, ViewMode};
use paxrisk::rules::pack::Pack;
use paxrisk::rules::sandbox::Limits;

use crate::util::{root, tempdir, walk_files};
use crate::views::fixture;

fn limits() -> Limits {
    Limits { memory_bytes: 512 * 1024 * 1024, timeout: Duration::from_secs(60), threads: 2 }
}

#[test]
fn the_bundled_pack_checks_clean_and_its_tests_pass() {
    let pack = Pack::load(&root().join("rules")).expect("bundled pack loads");
    assert!(pack.rules.len() >= 2);
    let errors = check::check(&pack, limits());
    assert!(errors.is_empty(), "{}", errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"));
    let outcomes = check::run_tests(&pack, limits()).expect("tests run");
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.passed).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let with_tests = pack.rules.iter().filter(|r| !r.spec.test.is_empty()).count();
    assert!(outcomes.len() >= 2 * with_tests);
}

/// A copy of the bundled pack's manifest, views, lists and reference tables, with `rules`
/// (file name, text) as its only rules.
fn pack_with(rules: &[(&str, String)]) -> PathBuf {
    let dir = tempdir().join("pack");
    let src = root().join("rules");
    for sub in ["views", "lists", "reference"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for e in std::fs::read_dir(src.join(sub)).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, dir.join(sub).join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::copy(src.join("pack.toml"), dir.join("pack.toml")).unwrap();
    std::fs::create_dir_all(dir.join("route")).unwrap();
    for (name, text) in rules {
        std::fs::write(dir.join("route").join(name), text).unwrap();
    }
    dir
}

fn query_rule(id: &str, query: &str) -> String {
    format!(
        r#"id = "{id}"
title = "t"
status = "test"
level = "low"
category = "route"
description = "d"
over = "traveller_journey"
query = """
{query}
"""

[[test]]
name = "h"
given = {{ journey_id = "a" }}
expect = "hit"

[[test]]
name = "n"
given = {{ journey_id = "b" }}
expect = "no_hit"
"#
    )
}

fn when_rule(id: &str, when: &str, reason: &str) -> String {
    format!(
        r#"id = "{id}"
title = "t"
status = "test"
level = "low"
category = "route"
description = "d"
over = "traveller_journey"
when = """
{when}
"""
reason = "{reason}"

[[test]]
name = "h"
given = {{ journey_id = "a", leg_count = 3 }}
expect = "hit"

[[test]]
name = "n"
given = {{ journey_id = "b", leg_count = 1 }}
expect = "no_hit"
"#
    )
}

fn compile_error(dir: &Path, index: usize) -> String {
    let pack = Pack::load(dir).unwrap();
    let engine = Engine::new(&pack, limits(), None, ViewMode::Empty).unwrap();
    engine.compile(index).map(|_| ()).expect_err("must be refused").to_string()
}

#[test]
fn every_sandbox_escape_is_refused_and_names_the_rule_and_file() {
    let tmp = tempdir();
    let target = tmp.join("stolen.csv");
    let cases: Vec<(String, &str)> = vec![
        (format!("COPY (SELECT 1) TO '{}'", target.display()), "not supported"),
        ("CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'".into(), "DDL not supported"),
        ("INSERT INTO traveller_journey (journey_id) VALUES ('x')".into(), "DML not supported"),
        ("SET datafusion.execution.batch_size = 1".into(), "Statement not supported"),
        ("SELECT journey_id, 'x' AS reason FROM '/etc/passwd'".into(), "not found"),
        (
            "SELECT CAST(value AS VARCHAR) AS journey_id, 'x' AS reason FROM generate_series(1, 1000000000000)".into(),
            "generate_series",
        ),
        ("SELECT traveller_id, 'x' AS reason FROM traveller_journey".into(), "must return the key column `journey_id`"),
    ];
    let rules: Vec<(String, String)> = cases
        .iter()
        .enumerate()
        .map(|(i, (q, _))| (format!("RT-{i:03}.toml"), query_rule(&format!("RT-{i:03}"), q)))
        .collect();
    let refs: Vec<(&str, String)> = rules.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    let dir = pack_with(&refs);
    for (i, (sql, expected)) in cases.iter().enumerate() {
        let e = compile_error(&dir, i);
        let file = dir.join("route").join(format!("RT-{i:03}.toml"));
        assert!(e.starts_with(&file.display().to_string()), "{sql}: {e}");
        assert!(e.contains(&format!("rule RT-{i:03}: ")), "{sql}: {e}");
        assert!(e.contains(expected), "{sql}: expected {expected:?} in {e}");
    }
    assert!(!target.exists(), "COPY must not write");
}

#[test]
fn lint_faults_give_exact_messages() {
    let good = when_rule("RT-001", "leg_count > 2", "format('%s legs', leg_count)");
    let dir = pack_with(&[
        ("RT-001.toml", good.clone()),
        ("RT-002.toml", good.replace("id = \"RT-001\"", "id = \"RT-002\"").replace("leg_count > 2", "leg_count > 2\n  AND nationality = 'XX'")),
        ("RT-003.toml", good.replace("id = \"RT-001\"", "id = \"RT-003\"").replace("leg_count > 2", "leg_count > 2\n  AND leg_cuont > 1")),
        (
            "RT-004.toml",
            good.replace("id = \"RT-001\"", "id = \"RT-004\"")
                .replace("leg_count > 2", "flight_dep_utc - hours_booked_before_departure * interval '1 hour' > flight_dep_utc - interval '1 day'\n  OR (flight_dep_utc - flight_dep_utc) > interval '1 day'"),
        ),
        ("RT-005.toml", good.replace("id = \"RT-001\"", "id = \"RT-005\"").replace("level = \"low\"", "level = \"low\"\nweight = 101")),
        ("RT-006.toml", good.clone()),
        ("RT-007.toml", good.replace("id = \"RT-001\"", "id = \"RT-007\"").replace("expect = \"no_hit\"", "expect = \"hit\"")),
        ("RT-008.toml", good.replace("id = \"RT-001\"", "id = \"RT-008\"").replace("leg_count > 2", "leg_count >")),
        (
            "RT-009.toml",
            good.replace("id = \"RT-001\"", "id = \"RT-009\"")
                .replace("leg_count > 2", "origin_country IN (SELECT country FROM list_drug_source_countries)"),
        ),
        ("RT-010.toml", good.replace("id = \"RT-001\"", "id = \"RT-010\"").replace("category", "lists = [\"hubs\"]\ncategory")),
    ]);
    let pack = Pack::load(&dir).unwrap();
    let errors: Vec<String> = check::check(&pack, limits())
        .iter()
        .map(|e| e.to_string().replace(&dir.join("route").display().to_string(), "route"))
        .collect();
    let expected = vec![
        "route/RT-002.toml:10: rule RT-002: uses column `nationality`, which is marked sensitive; nationality and sex may not be a criterion (EU Directive 2016/681 Art. 6(4))".to_string(),
        "route/RT-003.toml:10: rule RT-003: No field named leg_cuont. Did you mean 'traveller_journey.leg_count'?".to_string(),
        "route/RT-004.toml:8: rule RT-004: subtracts timestamps (traveller_journey.flight_dep_utc - traveller_journey.flight_dep_utc). DataFusion compares such differences with day intervals wrongly; use the view's duration columns in hours or days (hours_booked_before_departure, stay_days, ...)".to_string(),
        "route/RT-005.toml:5: weight 101 is outside 0-100".to_string(),
        "route/RT-006.toml:1: duplicate rule id \"RT-001\", also in route/RT-001.toml".to_string(),
        "route/RT-006.toml:1: rule id \"RT-001\" differs from the file name \"RT-006\"; name the file RT-001.toml".to_string(),
        "route/RT-007.toml: the rule needs at least one [[test]] with expect = \"no_hit\"".to_string(),
        "route/RT-008.toml:9: rule RT-008: SQL syntax error: Expected: an expression, found: )".to_string(),
        "route/RT-009.toml:9: rule RT-009: reads list_drug_source_countries; declare it with lists = [\"drug_source_countries\"]".to_string(),
        "route/RT-010.toml:5: rule RT-010: names list `hubs`, but the pack has no lists/hubs.csv".to_string(),
    ];
    assert_eq!(errors, expected);
}

#[test]
fn an_unknown_key_names_the_file_and_line() {
    let bad = when_rule("RT-001", "leg_count > 2", "'x'")
        .replace("description = \"d\"", "description = \"d\"\nfalsepositive = [\"x\"]");
    let dir = pack_with(&[("RT-001.toml", bad)]);
    let errors = Pack::load(&dir).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, Some(7));
    assert!(errors[0].message.starts_with("unknown field `falsepositive`"), "{}", errors[0]);
}

#[test]
fn given_values_that_do_not_fit_fail_the_test_with_the_reason() {
    let bad = when_rule("RT-001", "leg_count > 2", "'x'").replace("leg_count = 3", "leg_count = 2.5");
    let dir = pack_with(&[("RT-001.toml", bad)]);
    let pack = Pack::load(&dir).unwrap();
    let outcomes = check::run_tests(&pack, limits()).unwrap();
    assert!(!outcomes[0].passed);
    let detail = outcomes[0].detail.as_deref().unwrap();
    assert!(
        detail.ends_with("test \"h\": column `leg_count` is Int64; the value 2.5 (float) does not fit"),
        "{detail}"
    );
    assert!(outcomes[1].passed);
}

#[test]
fn deprecated_rules_load_but_do_not_run() {
    let r = when_rule("RT-001", "leg_count > 2", "'x'").replace("status = \"test\"", "status = \"deprecated\"");
    let dir = pack_with(&[("RT-001.toml", r)]);
    let pack = Pack::load(&dir).unwrap();
    assert_eq!(pack.rules.len(), 1);
    assert_eq!(pack.active_rules().count(), 0);
    assert!(check::run_tests(&pack, limits()).unwrap().is_empty());
}

#[test]
fn rules_evaluate_together_with_reasons_and_counts() {
    let pack = Pack::load(&root().join("rules")).unwrap();
    let engine = Engine::new(&pack, limits(), Some(&fixture()), ViewMode::Materialise).unwrap();
    assert_eq!(engine.work_files_peak_bytes(), None, "views in memory have no work files");
    let compiled: Vec<_> = (0..pack.rules.len()).map(|i| engine.compile(i).unwrap()).collect();
    let eval = engine.evaluate(&compiled);
    assert!(eval.failures.is_empty(), "{:?}", eval.failures);
    let tkt = pack.rules.iter().position(|r| r.spec.id == "TKT-001").unwrap();
    let hits: Vec<(&str, &str, &str)> =
        eval.hits.iter().map(|h| (h.key.as_str(), pack.rules[h.rule].spec.id.as_str(), h.reason.as_str())).collect();
    assert!(
        hits.contains(&("TLUIS|IB6586|2026-12-01", "TKT-001", "cash one-way ticket issued 37 h before departure")),
        "{hits:?}"
    );
    assert_eq!(eval.hits_per_rule[&tkt], 1);
}

#[test]
fn a_rule_over_the_limits_fails_by_name_and_the_others_still_run() {
    // One aggregate state that cannot spill, over 7,000+ airports joined with themselves: about
    // 50 million rows, which exceed 100 MB and take more than a second, but end by themselves.
    let heavy = "SELECT j.journey_id, CAST(array_length(x.pairs) AS VARCHAR) AS reason FROM traveller_journey j, \
                 (SELECT array_agg(concat(a.iata, b.iata)) AS pairs FROM ref_airports a, ref_airports b) x";
    let dir = pack_with(&[
        ("RT-001.toml", when_rule("RT-001", "leg_count > 2", "'many legs'")),
        ("RT-002.toml", query_rule("RT-002", heavy)),
    ]);
    let pack = Pack::load(&dir).unwrap();
    // The views get a generous time limit; the rules then run under the tight one.
    for (l, rule_timeout) in [
        (Limits { memory_bytes: 100 * 1024 * 1024, timeout: Duration::from_secs(120), threads: 2 }, None),
        (
            Limits { memory_bytes: 1 << 34, timeout: Duration::from_secs(120), threads: 2 },
            Some(Duration::from_millis(500)),
        ),
    ] {
        let mut engine = Engine::new(&pack, l, Some(&fixture()), ViewMode::Materialise).unwrap();
        if let Some(t) = rule_timeout {
            engine.set_timeout(t);
        }
        let compiled: Vec<_> = (0..2).map(|i| engine.compile(i).unwrap()).collect();
        let eval = engine.evaluate(&compiled);
        assert_eq!(eval.failures.len(), 1, "{l:?}: {:?}", eval.failures);
        let f = eval.failures[0].to_string();
        assert!(f.starts_with("rule RT-002 ("), "{f}");
        assert!(f.contains("RT-002.toml"), "{f}");
        assert!(f.contains("Resources exhausted") || f.contains("time limit"), "{f}");
        assert_eq!(eval.hits_per_rule[&0], 3, "RT-001 still ran");
    }
}

/// CTEs that do not read each other are computed side by side (`Engine::compute_ctes`): no CTE's
/// table is left once its view is computed, and a CTE that fails while another runs beside it
/// fails its view, by file and name, with DataFusion's reason.
#[test]
fn a_view_leaves_no_cte_table_and_a_failing_cte_fails_its_view_by_name() {
    let exists = |e: &Engine, t: &str| e.sandbox().context().table_exist(t).unwrap();
    let bundled = Pack::load(&root().join("rules")).unwrap();
    let engine = Engine::new(&bundled, limits(), Some(&fixture()), ViewMode::Materialise).unwrap();
    for view in &bundled.views {
        let split = paxrisk::rules::cte::split(&view.sql).unwrap();
        for (cte, _) in &split.ctes {
            assert!(!exists(&engine, cte), "{}: {cte} is still a table", view.name);
        }
    }

    let dir = pack_with(&[]);
    let view = "-- key: pnr_id\n\
        WITH base AS (SELECT pnr_id, record_locator FROM pnr),\n\
        good AS (SELECT pnr_id FROM base),\n\
        bad AS (SELECT pnr_id, CAST(concat('x', MIN(record_locator)) AS INT) AS n FROM base GROUP BY pnr_id)\n\
        SELECT g.pnr_id FROM good g JOIN bad b ON b.pnr_id = g.pnr_id\n";
    std::fs::write(dir.join("views").join("broken.sql"), view).unwrap();
    let pack = Pack::load(&dir).unwrap();
    let err = match Engine::new(&pack, limits(), Some(&fixture()), ViewMode::Materialise) {
        Ok(_) => panic!("the broken view computed"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("broken.sql: view broken could not be computed"), "{err}");
    assert!(err.contains("Cannot cast string 'x"), "{err}");
}

/// A view is planned the way it is computed, CTE by CTE (`Engine::plan_view_split`), which
/// gives the schema that planning it as written gives; a view whose CTE does not plan is
/// reported as its SQL is written, by file, view and line.
#[test]
fn views_planned_cte_by_cte_have_the_schema_planned_as_written_and_errors_name_the_line() {
    let bundled = Pack::load(&root().join("rules")).unwrap();
    let engine = Engine::new(&bundled, limits(), None, ViewMode::Empty).unwrap();
    for view in engine.views() {
        let written = engine.sandbox().plan(&view.file.sql).unwrap();
        let split = engine.plan_view_split(&view.file.sql).expect("every bundled view splits").unwrap();
        assert_eq!(split, written, "{}", view.file.name);
        assert_eq!(view.schema, written, "{}", view.file.name);
        for (cte, _) in &paxrisk::rules::cte::split(&view.file.sql).unwrap().ctes {
            assert!(
                !engine.sandbox().context().table_exist(cte).unwrap(),
                "{}: {cte} is still a table",
                view.file.name
            );
        }
    }

    let dir = pack_with(&[]);
    let view = "-- key: pnr_id\n\
        WITH base AS (SELECT pnr_id, record_locator FROM pnr),\n\
        bad AS (SELECT pnr_id, no_such_column FROM base)\n\
        SELECT pnr_id FROM bad\n";
    std::fs::write(dir.join("views").join("broken.sql"), view).unwrap();
    let pack = Pack::load(&dir).unwrap();
    let err = match Engine::new(&pack, limits(), None, ViewMode::Empty) {
        Ok(_) => panic!("the broken view planned"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("broken.sql:3: view broken:"), "{err}");
    assert!(err.contains("no_such_column"), "{err}");
}

/// A run drops each landing table as soon as no view still to be computed and no rule reads it
/// (`ViewMode::MaterialiseReleasing`); the views are the same, and a table a rule reads stays.
#[test]
fn a_run_drops_the_landing_tables_that_no_view_left_and_no_rule_reads() {
    use paxrisk::landing::schema::all_schemas;
    let exists = |e: &Engine, t: &str| e.sandbox().context().table_exist(t).unwrap();
    let bundled = Pack::load(&root().join("rules")).unwrap();
    let keep = Engine::new(&bundled, limits(), Some(&fixture()), ViewMode::Materialise).unwrap();
    let release = Engine::new(&bundled, limits(), Some(&fixture()), ViewMode::MaterialiseReleasing).unwrap();
    for (table, _, _) in all_schemas() {
        assert!(exists(&keep, table), "{table}");
        assert!(!exists(&release, table), "{table}: the bundled rules read only views");
    }
    for view in &bundled.views {
        let sql = format!("SELECT * FROM {} ORDER BY {}", view.name, view.key.as_deref().unwrap());
        let rows = crate::views::rendered(&keep, &sql);
        assert!(rows.len() > 1 || view.name != "traveller_journey", "{rows:?}");
        assert_eq!(rows, crate::views::rendered(&release, &sql), "{}", view.name);
    }

    // A rule that reads a landing table keeps it, and only it, and runs over it.
    let q =
        "SELECT DISTINCT j.journey_id, 'has legs' AS reason FROM traveller_journey j JOIN leg l ON l.pnr_id = j.pnr_id";
    let pack = Pack::load(&pack_with(&[("RT-001.toml", query_rule("RT-001", q))])).unwrap();
    let engine = Engine::new(&pack, limits(), Some(&fixture()), ViewMode::MaterialiseReleasing).unwrap();
    let kept: Vec<&str> = all_schemas().into_iter().map(|(t, _, _)| t).filter(|t| exists(&engine, t)).collect();
    assert_eq!(kept, ["leg"]);
    let eval = engine.evaluate(&[engine.compile(0).unwrap()]);
    assert!(eval.failures.is_empty(), "{:?}", eval.failures);
    assert!(eval.hits_per_rule[&0] > 0, "{:?}", eval.hits);
}

/// The scored tables are made as they are written, a slice of travellers at a time: whatever the
/// slice, every table has the same rows in the same order, and `write` counts them.
#[test]
fn scored_tables_hold_the_same_rows_whatever_the_slice() {
    use paxrisk::run::scores::{self, ScoredTable};
    let pack = Pack::load(&root().join("rules")).unwrap();
    let engine = Engine::new(&pack, limits(), Some(&fixture()), ViewMode::Materialise).unwrap();
    let eval = engine.evaluate(&engine.compile_active().unwrap());
    let scored = scores::build(&engine, &pack, &eval, "run").unwrap();
    let dir = tempdir();
    for (table, at_least) in [(ScoredTable::Scores, 4), (ScoredTable::Review, 2), (ScoredTable::Hits, 8)] {
        let whole = dir.join(format!("{table:?}.parquet"));
        let rows = scored.write(table, &whole, &[]).unwrap();
        let expected = paxrisk::audit::read_parquet(&whole).unwrap();
        assert_eq!(expected.num_rows() as u64, rows);
        assert!(rows >= at_least, "{table:?}: {rows} rows");
        for slice in [1, 2, 3] {
            let path = dir.join(format!("{table:?}-{slice}.parquet"));
            assert_eq!(
                scored.write_in_slices(table, &path, &[], slice).unwrap(),
                rows,
                "{table:?} in slices of {slice}"
            );
            assert_eq!(paxrisk::audit::read_parquet(&path).unwrap(), expected, "{table:?} in slices of {slice}");
        }
    }
    assert_eq!(scored.travellers(), paxrisk::audit::parquet_rows(&dir.join("Scores.parquet")).unwrap());
    assert!(scored.write_in_slices(ScoredTable::Scores, &dir.join("none.parquet"), &[], 0).is_err());
}

/// The sample data ingested into a landing set of its own (`paxrisk ingest --landing`): its folder
/// and its batch.
fn sample_landing_set() -> (PathBuf, paxrisk::rules::engine::LandingSet) {
    let landing = tempdir().join("landing");
    let (sample, rules) = (root().join("sample-data"), root().join("rules"));
    let args = ["ingest", "--input", sample.to_str().unwrap(), "--landing", landing.to_str().unwrap()];
    let (code, _, err) = crate::util::paxrisk(&[&args[..], &["--rules", rules.to_str().unwrap()]].concat());
    assert!(code == 0 || code == 1, "{err}");
    // The ingest batch, from the name of one of its files (`part-<seq>-<batch>.parquet`).
    let mut stack = vec![landing.join("traveller")];
    let mut batch = None;
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            match name.strip_suffix(".parquet").and_then(|n| n.rsplit_once('-')) {
                Some((_, b)) => batch = Some(b.to_string()),
                None => stack.push(e.path()),
            }
        }
    }
    let set = paxrisk::rules::engine::LandingSet { dir: landing.clone(), batch: batch.expect("a traveller file") };
    (landing, set)
}

/// Each CTE of a view is computed into a table, even one that only adds columns to the rows of
/// another (change 82 planned those into their readers; change 84 took that back). A CTE's table
/// stays until every CTE that reads it has run, however long one of them waits for another CTE,
/// and then goes: over a landing set it is a work file, deleted when its table is dropped. The
/// rows are those of the SQL as written, in memory and over a landing set.
#[test]
fn chained_ctes_leave_no_table_and_give_the_rows_of_the_sql_as_written() {
    let (landing, set) = sample_landing_set();
    let dir = pack_with(&[]);
    // `base` is read by `ext` and `once`; `ext` by `two`, by `one` (which also waits for `slow`)
    // and by the final query.
    let view = "-- key: pnr_id\n\
        WITH base AS (SELECT pnr_id, COUNT(*) AS n FROM traveller GROUP BY pnr_id),\n\
        ext AS (SELECT b.*, b.n > 1 AS shared, COALESCE(b.n, 0) + 1 AS n1 FROM base b WHERE b.n IS NOT NULL),\n\
        two AS (SELECT e.pnr_id, e.shared, e.n1 FROM ext e WHERE e.n1 > 1),\n\
        slow AS (SELECT pnr_id, COUNT(*) AS legs FROM leg GROUP BY pnr_id),\n\
        one AS (SELECT e.pnr_id, upper(e.pnr_id) AS up, s.legs FROM ext e JOIN slow s ON s.pnr_id = e.pnr_id),\n\
        once AS (SELECT pnr_id, lower(pnr_id) AS low FROM base)\n\
        SELECT t.pnr_id, t.shared, t.n1, o.up, o.legs, x.n, c.low\n\
        FROM two t JOIN one o ON o.pnr_id = t.pnr_id JOIN ext x ON x.pnr_id = t.pnr_id JOIN once c ON c.pnr_id = t.pnr_id\n";
    std::fs::write(dir.join("views").join("chained.sql"), view).unwrap();
    let pack = Pack::load(&dir).unwrap();
    let work = landing.join(".work-chained");
    let streamed = Engine::over_landing_set(&pack, limits(), &set, Vec::new(), work.clone(), usize::MAX).unwrap();
    let in_memory = Engine::new(&pack, limits(), Some(&fixture()), ViewMode::Materialise).unwrap();
    for engine in [&streamed, &in_memory] {
        for cte in ["base", "ext", "two", "slow", "one", "once", "stops", "trav_age"] {
            assert!(!engine.sandbox().context().table_exist(cte).unwrap(), "{cte} is still a table");
        }
    }
    // Only the views' own work files are left: one folder per view of the pack.
    let left = std::fs::read_dir(&work).unwrap().count();
    assert_eq!(left, pack.views.len(), "{:?}", std::fs::read_dir(&work).unwrap().collect::<Vec<_>>());
    // (The in-memory engine holds the small fixture, the streamed one the sample data.)
    for (engine, at_least) in [(&streamed, 100), (&in_memory, 1)] {
        let rows = crate::views::rendered(engine, "SELECT * FROM chained ORDER BY pnr_id, legs");
        assert!(rows.len() >= at_least, "{} rows", rows.len());
        let as_written = format!("SELECT * FROM (\n{view}\n) v ORDER BY pnr_id, legs");
        assert_eq!(rows, crate::views::rendered(engine, &as_written));
    }
}

/// Over a landing set a query whose joins all equate one key is computed in slices of it, one per
/// `slice_rows` rows of its largest table (at 5 M PNRs the final SELECT of `traveller_journey` in
/// three). The views are the same as computed in one piece.
#[test]
fn views_computed_in_slices_over_a_landing_set_are_the_views_computed_whole() {
    let (landing, set) = sample_landing_set();
    let pack = Pack::load(&root().join("rules")).unwrap();
    let engine = |work: &str, slice_rows: usize| {
        Engine::over_landing_set(&pack, limits(), &set, Vec::new(), landing.join(work), slice_rows).unwrap()
    };
    let whole = engine(".work-whole", usize::MAX);
    let sliced = engine(".work-sliced", 1_000);
    // The final SELECT of traveller_journey (3,400 travellers) went in slices, and so did CTEs
    // that group by latest_key over a join (next_leg) or over a union (touched), that join a
    // table without the column (api_flights in pnr_joined, phone_share in contacts), and the API
    // link candidates, a union of joins on flight_key. contacts and bags group by trav_key and
    // latest_key, and go by latest_key, which all their other tables have.
    let tables = sliced.sliced_tables();
    let slices_of = |name: &str| tables.iter().find(|(t, _, _)| t == name).map(|(_, c, n)| (c.as_str(), *n));
    for (table, column, at_least) in [
        ("traveller_journey", "latest_key", 3),
        ("next_leg", "latest_key", 2),
        ("touched", "latest_key", 2),
        ("pnr_joined", "latest_key", 2),
        ("contacts", "latest_key", 2),
        ("bags", "latest_key", 2),
        ("api_candidates", "flight_key", 2),
    ] {
        assert!(slices_of(table).is_some_and(|(c, n)| c == column && n >= at_least), "{table}: {tables:?}");
    }
    assert!(whole.sliced_tables().is_empty());
    // Each engine counts its own work files, and their peak is at least what they hold at the end
    // (the views, which the rules read).
    let bytes_in = |dir: &Path| -> u64 { walk_files(dir).iter().map(|p| std::fs::metadata(p).unwrap().len()).sum() };
    for (engine, work) in [(&whole, ".work-whole"), (&sliced, ".work-sliced")] {
        let (held, peak) = (bytes_in(&landing.join(work)), engine.work_files_peak_bytes().unwrap());
        assert!(held > 0 && peak >= held, "{work}: {held} bytes held, peak {peak}");
    }
    for view in &pack.views {
        let sql = format!("SELECT * FROM {} ORDER BY {}", view.name, view.key.as_deref().unwrap());
        let rows = crate::views::rendered(&whole, &sql);
        assert!(rows.len() > 100, "{}: {} rows", view.name, rows.len());
        assert_eq!(rows, crate::views::rendered(&sliced, &sql), "{}", view.name);
    }
}
