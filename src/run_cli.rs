//! `paxrisk run` for an operator: a spinner per stage on a terminal (silence otherwise), and a
//! summary table on stderr at the end.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::run::{self, Progress, RunArgs, RunError};

/// A spinner per stage when stderr is a terminal.
struct Spinners {
    bar: std::sync::Mutex<Option<ProgressBar>>,
    enabled: bool,
}

impl Progress for Spinners {
    fn start(&self, stage: &str) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(stage.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut b) = self.bar.lock() {
            *b = Some(bar);
        }
    }
    fn finish(&self, stage: &str, detail: &str) {
        if let Ok(mut b) = self.bar.lock()
            && let Some(bar) = b.take()
        {
            bar.finish_with_message(format!("{stage}: {detail}"));
        }
    }
}

/// Runs the batch; returns the exit code.
pub fn run(args: &RunArgs) -> i32 {
    if let Err(e) = crate::cli::set_threads(args.threads) {
        crate::error_text::print_error("run", e.as_ref());
        return 2;
    }
    let progress = Spinners { bar: std::sync::Mutex::new(None), enabled: std::io::stderr().is_terminal() };
    match run::run(args, &progress) {
        Ok(outcome) => {
            let mut err = std::io::stderr().lock();
            let _ = summary(&mut err, &outcome);
            outcome.exit_code
        }
        Err(RunError::Pack(errors)) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!(
                "paxrisk run: the rule pack {} is broken ({}); nothing was run",
                args.rules.display(),
                crate::rules::pack::PackError::count(&errors)
            );
            2
        }
        Err(e) => {
            crate::error_text::print_error("run", &e);
            2
        }
    }
}

fn summary(w: &mut impl Write, o: &run::RunOutcome) -> std::io::Result<()> {
    let m = &o.manifest;
    let t = &m.totals;
    let r = &m.results;
    writeln!(w, "run {} (as of {})", m.run_id, m.as_of)?;
    writeln!(w, "  {:<22} {:>10}", "input files", t.files)?;
    writeln!(w, "  {:<22} {:>10}", "flights", r.flights)?;
    writeln!(w, "  {:<22} {:>10}", "PNRs", r.pnrs)?;
    writeln!(w, "  {:<22} {:>10}", "travellers scored", r.travellers_scored)?;
    writeln!(w, "  {:<22} {:>10}", "hits", r.hits)?;
    let bands: Vec<String> = r.review_by_band.iter().map(|(b, n)| format!("{b} {n}")).collect();
    writeln!(w, "  {:<22} {:>10}  {}", "review list", r.review_list, bands.join(", "))?;
    writeln!(
        w,
        "  {:<22} {:>10}  files {}, messages {}, PNRs {}",
        "rejected",
        t.files_rejected + t.messages_rejected + t.pnrs_rejected,
        t.files_rejected,
        t.messages_rejected,
        t.pnrs_rejected
    )?;
    if t.messages_duplicate > 0 {
        writeln!(
            w,
            "  {:<22} {:>10}  messages already loaded from another file, not loaded twice",
            "duplicates", t.messages_duplicate
        )?;
    }
    for f in &m.failed_rules {
        writeln!(w, "  FAILED RULE {} ({}): {}", f.rule_id, f.file, f.error)?;
    }
    if !m.invariants_hold() {
        writeln!(w, "  COUNT INVARIANTS DO NOT HOLD: see manifest.json")?;
    }
    if let Some(d) = &o.disk {
        writeln!(
            w,
            "  disk: landing set {:.1} MB, work files at most {:.1} MB (deleted)",
            d.landing_bytes as f64 / 1e6,
            d.work_files_peak_bytes as f64 / 1e6
        )?;
    }
    let stages: Vec<String> = m.durations_seconds.iter().map(|(s, d)| format!("{s} {d:.2}s")).collect();
    writeln!(w, "  time: {}", stages.join(", "))?;
    writeln!(w, "  output: {}", o.dir.display())?;
    Ok(())
}
