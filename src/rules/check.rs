//! `rules check` and `rules test`: everything that can be said about a pack without real data.

use super::engine::{Engine, EngineError, ViewMode};
use super::given;
use super::pack::{Expect, Pack, PackError, Status};
use super::sandbox::Limits;

/// Every fault of a loaded pack: shape lints, view documentation, and each active rule compiled
/// against the views. Sorted by file and line.
pub fn check(pack: &Pack, limits: Limits) -> Vec<PackError> {
    let mut errors = pack.lint();
    match Engine::new(pack, limits, None, ViewMode::Empty) {
        Ok(engine) => {
            errors.extend(view_doc_errors(&engine));
            if let Err(mut e) = engine.compile_active() {
                errors.append(&mut e);
            }
        }
        Err(EngineError::Pack(mut e)) => errors.append(&mut e),
        Err(EngineError::Sandbox(e)) => errors.push(PackError {
            path: pack.dir.clone(),
            line: None,
            message: format!("cannot start the query engine: {e}"),
        }),
        Err(e @ EngineError::ViewFailed { .. }) => {
            errors.push(PackError { path: pack.dir.clone(), line: None, message: e.to_string() })
        }
    }
    errors.sort_by(|a, b| a.path.cmp(&b.path).then(a.line.cmp(&b.line)));
    errors.dedup();
    errors
}

/// Views must declare a key that is one of their columns and describe every output column.
fn view_doc_errors(engine: &Engine) -> Vec<PackError> {
    let mut out = Vec::new();
    for v in engine.views() {
        let err = |line: Option<usize>, message: String| PackError {
            path: v.file.path.clone(),
            line,
            message: format!("view {}: {message}", v.file.name),
        };
        match &v.file.key {
            None => out.push(err(None, "add a `-- key: <column>` line naming the column that identifies a row".into())),
            Some(k) if v.schema.field_with_name(k).is_err() => {
                out.push(err(None, format!("the key `{k}` is not a column of the view")))
            }
            _ => {}
        }
        for f in v.schema.fields() {
            if v.file.column(f.name()).is_none_or(|c| c.description.is_empty()) {
                out.push(err(
                    None,
                    format!(
                        "column `{}` has no description; end the line of `AS {}` with `-- <description>`",
                        f.name(),
                        f.name()
                    ),
                ));
            }
        }
        for c in &v.file.columns {
            if v.schema.field_with_name(&c.name).is_err() {
                out.push(err(Some(c.line), format!("describes `{}`, which is not an output column", c.name)));
            }
        }
    }
    out
}

/// The outcome of one inline test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    /// Rule id.
    pub rule: String,
    /// Test name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed (expected hit / no hit, or an error).
    pub detail: Option<String>,
}

/// Runs every inline test of every active rule on the real engine. Returns the outcomes, or the
/// pack faults that stop the tests from running at all.
pub fn run_tests(pack: &Pack, limits: Limits) -> Result<Vec<TestOutcome>, Vec<PackError>> {
    let engine = match Engine::new(pack, limits, None, ViewMode::Empty) {
        Ok(e) => e,
        Err(EngineError::Pack(e)) => return Err(e),
        Err(e @ (EngineError::Sandbox(_) | EngineError::ViewFailed { .. })) => {
            return Err(vec![PackError { path: pack.dir.clone(), line: None, message: e.to_string() }]);
        }
    };
    let mut out = Vec::new();
    for (i, rule) in pack.rules.iter().enumerate() {
        if rule.spec.status == Status::Deprecated {
            continue;
        }
        let compiled = engine.compile(i);
        for t in &rule.spec.test {
            let mut outcome =
                TestOutcome { rule: rule.spec.id.clone(), name: t.name.clone(), passed: false, detail: None };
            let result = (|| -> Result<bool, String> {
                let c = compiled.as_ref().map_err(|e| e.to_string())?;
                let view =
                    engine.view(&rule.spec.over).ok_or_else(|| format!("view {} does not exist", rule.spec.over))?;
                let batch = given::rows_to_batch(&view.schema, t.given.rows())
                    .map_err(|e| format!("{}: test {:?}: {e}", rule.path.display(), t.name))?;
                engine.set_view_rows(&rule.spec.over, batch).map_err(|e| e.to_string())?;
                let rows = engine.rows(&c.sql).map_err(|e| e.to_string());
                engine.clear_view(&rule.spec.over).map_err(|e| e.to_string())?;
                Ok(rows? > 0)
            })();
            match result {
                Ok(hit) => {
                    outcome.passed = hit == (t.expect == Expect::Hit);
                    if !outcome.passed {
                        outcome.detail = Some(if hit {
                            "expected no hit, got a hit".into()
                        } else {
                            "expected a hit, got none".into()
                        });
                    }
                }
                Err(e) => outcome.detail = Some(e),
            }
            out.push(outcome);
        }
    }
    Ok(out)
}
