//! The auditor's commands: `explain`, `query`, `audit verify`, `audit replay`.
//!
//! Exit codes: 0 done (and, for verify and replay, everything matched); 1 done, but something
//! did not match or nothing was found; 2 could not be done (not a run folder, bad SQL).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::audit::explain::{self, Who};
use crate::audit::{RunFolder, query, replay, verify};
use crate::cli::{AuditCommand, ExplainFormat};

fn open(run: &Path, command: &str) -> Result<RunFolder, i32> {
    RunFolder::open(run).map_err(|e| {
        crate::error_text::print_error(command, e.as_ref());
        2
    })
}

/// `paxrisk explain`.
pub fn explain(run: &Path, who: Who, format: ExplainFormat) -> i32 {
    let folder = match open(run, "explain") {
        Ok(f) => f,
        Err(code) => return code,
    };
    let e = match explain::explain(&folder, &who) {
        Ok(e) => e,
        Err(e) => {
            crate::error_text::print_error("explain", e.as_ref());
            return 2;
        }
    };
    let mut out = std::io::stdout().lock();
    let written = match format {
        ExplainFormat::Text => explain::write_text(&mut out, &e).map_err(anyhow::Error::from),
        ExplainFormat::Json => serde_json::to_writer_pretty(&mut out, &e)
            .map_err(anyhow::Error::from)
            .and_then(|()| writeln!(out).map_err(anyhow::Error::from)),
    };
    if let Err(err) = written {
        crate::error_text::print_error("explain", err.as_ref());
        return 2;
    }
    if e.travellers.is_empty() {
        let what = match who {
            Who::Locator(l) => format!("record locator {l}"),
            Who::Traveller(t) => format!("traveller {t}"),
        };
        eprintln!("paxrisk explain: no traveller with {what} was scored in run {}", e.run_id);
        return 1;
    }
    0
}

/// `paxrisk query`.
pub fn query(run: &Path, sql: &str, format: query::Format) -> i32 {
    let folder = match open(run, "query") {
        Ok(f) => f,
        Err(code) => return code,
    };
    let result = query::query(&folder, sql).and_then(|b| query::write(&mut std::io::stdout().lock(), &b, format));
    match result {
        Ok(()) => 0,
        Err(e) => {
            crate::error_text::print_error("query", e.as_ref());
            2
        }
    }
}

/// `paxrisk audit …`.
pub fn audit(action: AuditCommand) -> i32 {
    match action {
        AuditCommand::Verify { run, inputs } => verify_command(&run, &inputs),
        AuditCommand::Replay { run, inputs, threads } => replay_command(&run, &inputs, threads),
    }
}

fn verify_command(run: &Path, inputs: &[PathBuf]) -> i32 {
    let folder = match open(run, "audit verify") {
        Ok(f) => f,
        Err(code) => return code,
    };
    match verify::verify(&folder, inputs) {
        Ok(checks) => match verify::report(&mut std::io::stdout().lock(), &folder, &checks) {
            Ok(0) => 0,
            Ok(_) => 1,
            Err(_) => 2,
        },
        Err(e) => {
            crate::error_text::print_error("audit verify", e.as_ref());
            2
        }
    }
}

fn replay_command(run: &Path, inputs: &[PathBuf], threads: Option<usize>) -> i32 {
    let folder = match open(run, "audit replay") {
        Ok(f) => f,
        Err(code) => return code,
    };
    let r = match replay::replay(&folder, inputs, threads) {
        Ok(r) => r,
        Err(e) => {
            crate::error_text::print_error("audit replay", e.as_ref());
            return 2;
        }
    };
    let mut out = std::io::stdout().lock();
    for d in &r.differences {
        let _ = writeln!(out, "DIFF {d}");
    }
    let rows: Vec<String> = r.compared.iter().map(|(t, n)| format!("{t} {n}")).collect();
    if r.differences.is_empty() {
        let _ = writeln!(
            out,
            "audit replay {}: identical (rows compared: {}) with the saved rule pack and as-of {}",
            folder.manifest.run_id,
            rows.join(", "),
            folder.manifest.as_of
        );
        0
    } else {
        let _ = writeln!(out, "audit replay {}: {} differences", folder.manifest.run_id, r.differences.len());
        1
    }
}
