//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use paxrisk::ingest::{IngestConfig, Ingested};

/// Runs the paxrisk binary in the crate folder: (exit code, stdout, stderr).
pub fn paxrisk(args: &[&str]) -> (i32, String, String) {
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_paxrisk")).args(args).current_dir(root()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The crate's own folder.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Reference data from the bundled rule pack.
pub fn config() -> IngestConfig {
    IngestConfig::from_rule_pack(&root().join("rules")).expect("bundled rule pack loads")
}

/// The public GTAS corpus beside the repository, or `None` (with a note on stderr) when this
/// checkout has no `../shared`.
pub fn corpus(kind: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("PAXRISK_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("..").join("shared").join("conformance").join("gtas"))
        .join(kind);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: conformance corpus {} is absent (no ../shared beside this checkout); set PAXRISK_CONFORMANCE_DIR to run it",
            dir.display()
        );
        None
    }
}

/// Ingests one file.
pub fn ingest_file(path: &Path) -> Ingested {
    paxrisk::ingest::ingest_files(&[path.to_path_buf()], &config())
}

/// Writes `content` to a fresh temporary file named `name` and ingests it.
pub fn ingest_text(name: &str, content: &[u8]) -> Ingested {
    let dir = tempdir();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    ingest_file(&p)
}

/// A new empty temporary folder under the target directory (`target/tmp/paxrisk-test-<pid>/<n>`).
/// The folders of earlier test processes that have ended are removed on the first call: a run
/// leaves about 200 MB (the large-input tests), and they used to pile up until the disk was full.
pub fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    static SWEPT: std::sync::Once = std::sync::Once::new();
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    SWEPT.call_once(|| remove_ended_runs(&root));
    let base = root.join(format!("paxrisk-test-{}", std::process::id()));
    let d = base.join(N.fetch_add(1, Ordering::SeqCst).to_string());
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Removes the `paxrisk-test-<pid>` folders under `root` whose process has ended. Only where
/// `/proc` tells which processes run (Linux); elsewhere nothing is removed.
fn remove_ended_runs(root: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("paxrisk-test-")) else { continue };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Files under `dir`, recursively.
pub fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk_files(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// Diagnostic codes in order.
pub fn diag_codes(r: &Ingested) -> Vec<String> {
    r.rows.diagnostics.iter().map(|d| d.code.clone()).collect()
}

/// Asserts that the nothing-lost invariants hold for every file.
pub fn assert_invariants(r: &Ingested) {
    for f in &r.files {
        for (what, read, accounted) in f.invariants() {
            assert_eq!(read, accounted, "{what} of {}", f.path);
        }
    }
    let t = r.totals();
    assert_eq!(r.rows.push.len() as u64, t.messages_loaded);
    assert_eq!(r.rows.pnr.len() as u64, t.counts.pnrs_loaded);
    assert_eq!(r.rows.traveller.len() as u64, t.counts.travellers_loaded);
    assert_eq!(r.rows.api_traveller.len() as u64, t.counts.api_persons_loaded);
}

/// Copies the folder `from` and everything under it to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}
