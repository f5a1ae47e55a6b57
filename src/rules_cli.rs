//! The `rules …` and `schema` commands: what rule authors run while editing a pack.
//!
//! Exit codes as in DESIGN.md: 0 fine; 1 the command ran and found faults (lint errors, failed
//! tests); 2 it could not run (pack unreadable, bad input path).

use std::io::Write;
use std::path::Path;

use crate::cli::{RulesCommand, set_threads};
use crate::ingest::{self, IngestConfig};
use crate::rules::check;
use crate::rules::engine::{Engine, ViewMode};
use crate::rules::pack::{Pack, PackError};
use crate::rules::sandbox::Limits;

fn print_errors(errors: &[PackError]) {
    let mut err = std::io::stderr().lock();
    for e in errors {
        let _ = writeln!(err, "{e}");
    }
}

fn load(dir: &Path, command: &str) -> Result<Pack, i32> {
    Pack::load(dir).map_err(|errors| {
        print_errors(&errors);
        eprintln!(
            "paxrisk {command}: the rule pack {} cannot be loaded ({})",
            dir.display(),
            PackError::count(&errors)
        );
        2
    })
}

fn limits(threads: Option<usize>) -> Limits {
    let mut l = Limits::default();
    if let Some(t) = threads {
        l.threads = t.max(1);
    }
    l
}

/// Runs a `rules` subcommand; returns the exit code.
pub fn run(action: RulesCommand) -> i32 {
    match action {
        RulesCommand::Check { dir } => {
            let pack = match load(&dir, "rules check") {
                Ok(p) => p,
                Err(code) => return code,
            };
            let errors = check::check(&pack, limits(None));
            print_errors(&errors);
            let active = pack.active_rules().count();
            if errors.is_empty() {
                println!(
                    "rules check: {} rules ({active} active), {} views, {} tables in {}: no problems",
                    pack.rules.len(),
                    pack.views.len(),
                    pack.tables.len(),
                    dir.display()
                );
                0
            } else {
                println!("rules check: {} problems in {}", errors.len(), dir.display());
                1
            }
        }
        RulesCommand::Test { dir } => {
            let pack = match load(&dir, "rules test") {
                Ok(p) => p,
                Err(code) => return code,
            };
            match check::run_tests(&pack, limits(None)) {
                Ok(outcomes) => {
                    let mut out = std::io::stdout().lock();
                    let failed = outcomes.iter().filter(|o| !o.passed).count();
                    for o in &outcomes {
                        let _ = match &o.detail {
                            Some(d) if !o.passed => writeln!(out, "FAIL {:<10} {}: {d}", o.rule, o.name),
                            _ => writeln!(out, "ok   {:<10} {}", o.rule, o.name),
                        };
                    }
                    let _ = writeln!(out, "{} passed, {failed} failed", outcomes.len() - failed);
                    i32::from(failed > 0)
                }
                Err(errors) => {
                    print_errors(&errors);
                    2
                }
            }
        }
        RulesCommand::Doc { dir, out } => {
            let pack = match load(&dir, "rules doc") {
                Ok(p) => p,
                Err(code) => return code,
            };
            let text = crate::rules::doc::catalogue(&pack);
            match out {
                Some(path) => match std::fs::write(&path, text) {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("paxrisk rules doc: cannot write {}: {e}", path.display());
                        2
                    }
                },
                None => {
                    print!("{text}");
                    0
                }
            }
        }
        RulesCommand::Stats { input, labels, dir, threads } => match stats(&input, labels.as_deref(), &dir, threads) {
            Ok(code) => code,
            Err(e) => {
                crate::error_text::print_error("rules stats", e.as_ref());
                2
            }
        },
    }
}

fn stats(
    input: &[std::path::PathBuf],
    labels: Option<&Path>,
    dir: &Path,
    threads: Option<usize>,
) -> anyhow::Result<i32> {
    set_threads(threads)?;
    let pack = match load(dir, "rules stats") {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let cfg = IngestConfig::from_rule_pack(dir)?;
    let ingested = ingest::ingest_paths(input, &cfg)?;
    let engine = Engine::new(&pack, limits(threads), Some(&ingested.rows), ViewMode::MaterialiseReleasing)?;
    let compiled = match engine.compile_active() {
        Ok(c) => c,
        Err(errors) => {
            print_errors(&errors);
            return Ok(2);
        }
    };
    let eval = engine.evaluate(&compiled);
    let journeys = engine.view("traveller_journey").and_then(|v| v.rows).unwrap_or(0);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{} travellers on pushed flights (traveller_journey rows)", journeys)?;
    writeln!(out, "{:<12} {:>6} {:>8} {:>9}  title", "rule", "weight", "hits", "rate")?;
    for c in &compiled {
        let r = &pack.rules[c.index];
        match eval.hits_per_rule.get(&c.index) {
            Some(&n) => {
                let rate = if journeys > 0 { 100.0 * n as f64 / journeys as f64 } else { 0.0 };
                writeln!(out, "{:<12} {:>6} {:>8} {:>8.3}%  {}", r.spec.id, r.weight(), n, rate, r.spec.title)?;
            }
            None => writeln!(out, "{:<12} {:>6} {:>8} {:>9}  {}", r.spec.id, r.weight(), "FAILED", "", r.spec.title)?,
        }
    }
    let hit_keys: std::collections::BTreeSet<&str> = eval.hits.iter().map(|h| h.key.as_str()).collect();
    writeln!(out, "{} hits on {} travellers", eval.hits.len(), hit_keys.len())?;
    if let Some(path) = labels {
        let labels = crate::rules::quality::read_labels(path)?;
        let scored = crate::run::scores::build(&engine, &pack, &eval, "stats")?;
        let q = crate::rules::quality::measure(
            &labels,
            scored.journey_ids(),
            scored.review_journey_ids(),
            eval.hits.iter().map(|h| (h.rule, h.key.as_str())),
        );
        let rules: Vec<(usize, &str, &str)> = compiled
            .iter()
            .map(|c| (c.index, pack.rules[c.index].spec.id.as_str(), pack.rules[c.index].spec.title.as_str()))
            .collect();
        writeln!(out)?;
        crate::rules::quality::report(&mut out, &q, &rules)?;
    }
    for f in &eval.failures {
        eprintln!("{f}");
    }
    Ok(i32::from(!eval.failures.is_empty()))
}

/// `paxrisk schema`.
pub fn schema(rules: &Path) -> i32 {
    let pack = match load(rules, "schema") {
        Ok(p) => p,
        Err(code) => return code,
    };
    let engine = match Engine::new(&pack, Limits::default(), None, ViewMode::Empty) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = write_schema(&mut out, &engine);
    0
}

fn write_schema(out: &mut impl Write, engine: &Engine) -> std::io::Result<()> {
    writeln!(out, "# Landing tables (one row per entity; every push version kept)\n")?;
    for (name, description, schema) in crate::landing::schema::all_schemas() {
        writeln!(out, "{name}: {description}")?;
        for f in schema.fields() {
            let d = f.metadata().get("description").map(String::as_str).unwrap_or("");
            writeln!(out, "  {:<30} {:<28} {d}", f.name(), f.data_type().to_string())?;
        }
        writeln!(out)?;
    }
    writeln!(out, "# Views (rules run over these; from {})\n", engine.pack().dir.join("views").display())?;
    for v in engine.views() {
        writeln!(out, "{}: {} Key: {}.", v.file.name, v.file.description, v.file.key.as_deref().unwrap_or("none"))?;
        for f in v.schema.fields() {
            let (d, sensitive) =
                v.file.column(f.name()).map(|c| (c.description.as_str(), c.sensitive)).unwrap_or(("", false));
            let d = if sensitive { format!("[sensitive: no rule may use it] {d}") } else { d.to_string() };
            writeln!(out, "  {:<36} {:<28} {d}", f.name(), f.data_type().to_string())?;
        }
        writeln!(out)?;
    }
    writeln!(out, "# Lists and reference tables (all columns text; empty cells are NULL)\n")?;
    for t in &engine.pack().tables {
        let cols = match crate::rules::tables::read_csv_table(t) {
            Ok(b) => format!(
                "{} ({} rows)",
                b.schema().fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", "),
                b.num_rows()
            ),
            Err(e) => e.to_string(),
        };
        writeln!(out, "{:<28} {}  from {}", t.table, cols, t.path.display())?;
    }
    writeln!(out, "\n# Functions paxrisk adds\n")?;
    writeln!(
        out,
        "  norm_name(text)              upper-case letters only, accents folded: names compare across spellings"
    )?;
    writeln!(out, "  format(template, value, ...) reason text: each %s takes the next value, %% is a percent sign")?;
    writeln!(
        out,
        "\nRemoved from rule SQL: {} (not reproducible), generate_series and range (unbounded), every file-reading function.",
        crate::rules::udf::NONDETERMINISTIC.join(", ")
    )?;
    Ok(())
}
