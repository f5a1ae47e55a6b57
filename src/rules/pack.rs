//! Loading a rule pack from a folder: `pack.toml`, `views/*.sql`, `lists/*.csv`,
//! `reference/*.csv` and one TOML file per rule in category folders.
//!
//! Rule authors are analysts, so every error names the file and the line. Unknown keys are
//! errors (a misspelt `falsepositive` must not silently drop the field). Loading parses and
//! checks shape only; compiling the SQL against the views is the sandbox's job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// An error in a rule pack, located in a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct PackError {
    /// File the error is in.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong, for a rule author.
    pub message: String,
}

impl PackError {
    /// "1 error", "2 errors": how many faults a pack has, for the line that ends a list of them.
    pub fn count(errors: &[PackError]) -> String {
        format!("{} error{}", errors.len(), if errors.len() == 1 { "" } else { "s" })
    }

    fn new(path: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        PackError { path: path.to_path_buf(), line, message: message.into() }
    }
}

/// 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// How hits combine into a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoringMethod {
    /// Sum of the weights of the rules hit, capped at `cap` (100 by default).
    SumCapped,
    /// 100 × (1 − Π(1 − weight/100)): each hit independently raises the score.
    NoisyOr,
}

/// `[scoring]` in pack.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    /// Combination method.
    pub method: ScoringMethod,
    /// Upper bound of a score (sum_capped); 100 when left out.
    #[serde(default = "default_cap")]
    pub cap: f64,
}

fn default_cap() -> f64 {
    100.0
}

/// One band: scores at or above `min` (and below the next band) get `name`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// Band name, e.g. `high`.
    pub name: String,
    /// Lowest score in the band.
    pub min: f64,
}

/// `[review]` in pack.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// Scores at or above this go on the review list.
    pub threshold: f64,
    /// At most this many travellers per flight on the review list (highest scores first).
    pub max_per_flight: u32,
}

/// `pack.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackManifest {
    /// Pack name.
    pub name: String,
    /// Pack version.
    pub version: String,
    /// What the pack is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Scoring.
    pub scoring: Scoring,
    /// Bands, any order in the file; kept sorted by `min` descending.
    pub bands: Vec<Band>,
    /// Review list.
    pub review: Review,
}

/// Rule maturity, as in Sigma.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// New, not yet trusted.
    Experimental,
    /// Being tested on real data.
    Test,
    /// In production.
    Stable,
    /// Kept for the record; loaded but never run.
    Deprecated,
}

/// Rule level, which gives the default weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Weight 5.
    Informational,
    /// Weight 10.
    Low,
    /// Weight 25.
    Medium,
    /// Weight 45.
    High,
    /// Weight 70.
    Critical,
}

impl Level {
    /// The weight a rule of this level has when it sets none.
    pub fn default_weight(self) -> u32 {
        match self {
            Level::Informational => 5,
            Level::Low => 10,
            Level::Medium => 25,
            Level::High => 45,
            Level::Critical => 70,
        }
    }
}

/// Expected outcome of an inline rule test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// The rule must hit the given row.
    Hit,
    /// The rule must not hit it.
    NoHit,
}

/// `[[test]]` of a rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTest {
    /// What the test shows.
    pub name: String,
    /// Rows of the `over` view: one table, or an array of tables for rules that look at several
    /// rows (shared contacts, groups). Columns left out are NULL.
    pub given: Given,
    /// Expected outcome.
    pub expect: Expect,
}

/// `given` of a test: one row or several.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Given {
    /// One row.
    One(toml::Table),
    /// Several rows.
    Many(Vec<toml::Table>),
}

impl Given {
    /// The rows.
    pub fn rows(&self) -> &[toml::Table] {
        match self {
            Given::One(t) => std::slice::from_ref(t),
            Given::Many(v) => v,
        }
    }
}

/// A rule file as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// Unique id, equal to the file name without `.toml`.
    pub id: String,
    /// Rule version, raised by the author on every change of meaning; 1 when left out. Outputs
    /// record it next to the content hash.
    #[serde(default = "default_rule_version")]
    pub version: u32,
    /// One-line title.
    pub title: String,
    /// Maturity.
    pub status: Status,
    /// Level.
    pub level: Level,
    /// Contribution to the score, 0 to 100; default from the level.
    #[serde(default)]
    pub weight: Option<i64>,
    /// Category: route, ticketing, document, contact, baggage, network, watchlist.
    pub category: String,
    /// Tags such as `drug-courier`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// What the rule finds and why it matters.
    pub description: String,
    /// Published indicators the rule is grounded in.
    #[serde(default)]
    pub references: Vec<String>,
    /// Honest travellers it will also hit.
    #[serde(default)]
    pub falsepositives: Vec<String>,
    /// Who wrote it.
    #[serde(default)]
    pub author: Option<String>,
    /// Creation date.
    #[serde(default)]
    pub created: Option<toml::value::Datetime>,
    /// Last change.
    #[serde(default)]
    pub modified: Option<toml::value::Datetime>,
    /// The view the rule runs over.
    pub over: String,
    /// Predicate over `over` (exclusive with `query`).
    #[serde(default)]
    pub when: Option<toml::Spanned<String>>,
    /// Full SELECT returning the view's key and `reason` (exclusive with `when`).
    #[serde(default)]
    pub query: Option<toml::Spanned<String>>,
    /// SQL expression for the reason text (with `when`).
    #[serde(default)]
    pub reason: Option<toml::Spanned<String>>,
    /// Lists the rule uses (`list_<name>` tables).
    #[serde(default)]
    pub lists: Vec<String>,
    /// Inline tests.
    #[serde(default)]
    pub test: Vec<RuleTest>,
}

fn default_rule_version() -> u32 {
    1
}

/// A loaded rule with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The rule as written.
    pub spec: RuleFile,
    /// File it was read from.
    pub path: PathBuf,
    /// Exact file text, for the audit trail and for error lines.
    pub text: String,
    /// SHA-256 of the file text, hex.
    pub hash: String,
}

impl Rule {
    /// Weight used in scoring: `weight`, or the level's default.
    pub fn weight(&self) -> u32 {
        self.spec.weight.map(|w| w.clamp(0, 100) as u32).unwrap_or_else(|| self.spec.level.default_weight())
    }

    /// The `when` predicate.
    pub fn when(&self) -> Option<&str> {
        self.spec.when.as_ref().map(|s| s.get_ref().as_str())
    }

    /// The `query` SELECT.
    pub fn query(&self) -> Option<&str> {
        self.spec.query.as_ref().map(|s| s.get_ref().as_str())
    }

    /// The `reason` expression.
    pub fn reason(&self) -> Option<&str> {
        self.spec.reason.as_ref().map(|s| s.get_ref().as_str())
    }

    /// File line on which line 1 of a SQL value (`when`, `query` or `reason`) stands: a
    /// multi-line string that starts with a new line begins on the line after its quotes.
    pub fn sql_first_line(&self, value: &toml::Spanned<String>) -> usize {
        let start = value.span().start.min(self.text.len());
        let rest = &self.text[start..];
        let line = line_of(&self.text, start);
        let body = rest.strip_prefix("\"\"\"").or_else(|| rest.strip_prefix("'''"));
        match body {
            Some(b) if b.starts_with('\n') || b.starts_with("\r\n") => line + 1,
            _ => line,
        }
    }

    /// Line of the first occurrence of `key = ` in the file, for messages about that key.
    pub fn line_of_key(&self, key: &str) -> Option<usize> {
        key_line(&self.text, key)
    }
}

fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            t.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

/// A SQL view file.
///
/// The file documents itself in comments: the header's first paragraph describes the view, a
/// `-- key: <column>` line names the column that identifies a row (what a `query` rule returns),
/// and every output column has a trailing comment on the line of its `AS <name>`. A comment that
/// starts with `[sensitive]` marks a column no rule may use.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewFile {
    /// View name (file stem).
    pub name: String,
    /// File.
    pub path: PathBuf,
    /// The SELECT.
    pub sql: String,
    /// What a row is (the header comment's first paragraph).
    pub description: String,
    /// Key column from `-- key:`.
    pub key: Option<String>,
    /// Column comments, in file order.
    pub columns: Vec<ColumnDoc>,
}

/// The comment on one output column of a view.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDoc {
    /// Column name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Marked `[sensitive]`.
    pub sensitive: bool,
    /// 1-based line in the view file.
    pub line: usize,
}

impl ViewFile {
    /// Parses the documentation comments of a view file.
    pub fn new(name: String, path: PathBuf, sql: String) -> ViewFile {
        let mut description = Vec::new();
        let mut key = None;
        let mut in_header = true;
        let mut columns: Vec<ColumnDoc> = Vec::new();
        for (i, line) in sql.lines().enumerate() {
            let t = line.trim();
            if let Some(c) = t.strip_prefix("--") {
                let c = c.trim();
                if let Some(k) = c.strip_prefix("key:") {
                    key = Some(k.trim().to_string());
                } else if in_header && c.is_empty() && !description.is_empty() {
                    in_header = false;
                } else if in_header && !c.is_empty() {
                    description.push(c.to_string());
                }
                continue;
            }
            if !t.is_empty() {
                in_header = false;
            }
            if let Some((code, comment)) = line.split_once("--")
                && let Some(name) = last_alias(code)
            {
                let comment = comment.trim();
                let (sensitive, text) = match comment.strip_prefix("[sensitive]") {
                    Some(rest) => (true, rest.trim()),
                    None => (false, comment),
                };
                columns.retain(|c| c.name != name);
                columns.push(ColumnDoc { name, description: text.to_string(), sensitive, line: i + 1 });
            }
        }
        let mut description = description.join(" ");
        if let Some(rest) = description.strip_prefix(&format!("{name}:")) {
            description = rest.trim().to_string();
        }
        ViewFile { name, path, sql, description, key, columns }
    }

    /// The comment of `column`.
    pub fn column(&self, column: &str) -> Option<&ColumnDoc> {
        self.columns.iter().find(|c| c.name.eq_ignore_ascii_case(column))
    }
}

/// The identifier after the last ` AS ` of a line of SQL, if the line ends with it (and a comma).
fn last_alias(code: &str) -> Option<String> {
    let code = code.trim_end().trim_end_matches(',').trim_end();
    let upper = code.to_ascii_uppercase();
    let at = upper.rfind(" AS ")?;
    let name = code[at + 4..].trim().trim_matches('"');
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then(|| name.to_string())
}

/// A CSV file to register as a table.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvFile {
    /// Table name: `list_<stem>` or `ref_<stem>`.
    pub table: String,
    /// File.
    pub path: PathBuf,
}

/// A whole rule pack.
#[derive(Debug, Clone)]
pub struct Pack {
    /// Folder.
    pub dir: PathBuf,
    /// `pack.toml`.
    pub manifest: PackManifest,
    /// Views in file-name order.
    pub views: Vec<ViewFile>,
    /// Lists and reference tables.
    pub tables: Vec<CsvFile>,
    /// Rules in id order.
    pub rules: Vec<Rule>,
    /// SHA-256 over every file of the pack (path and content), hex: the pack's identity in the
    /// audit trail.
    pub hash: String,
    /// Every file the hash covers, relative to `dir`, in hash order: what a run saves as its copy
    /// of the pack.
    pub files: Vec<PathBuf>,
}

fn read(path: &Path) -> Result<String, PackError> {
    std::fs::read_to_string(path).map_err(|e| PackError::new(path, None, format!("cannot read: {e}")))
}

fn toml_error(path: &Path, text: &str, e: toml::de::Error) -> PackError {
    let line = e.span().map(|s| line_of(text, s.start));
    PackError::new(path, line, e.message().to_string())
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, PackError> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| PackError::new(dir, None, format!("cannot list: {e}")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    v.sort();
    Ok(v)
}

/// Folders of a pack that hold no rules.
const NON_RULE_DIRS: &[&str] = &["views", "lists", "reference", "tests"];

impl Pack {
    /// Loads the pack in `dir`. Returns every error found, not only the first.
    pub fn load(dir: &Path) -> Result<Pack, Vec<PackError>> {
        let mut errors = Vec::new();
        let manifest_path = dir.join("pack.toml");
        let manifest = match read(&manifest_path) {
            Ok(text) => match toml::from_str::<PackManifest>(&text) {
                Ok(mut m) => {
                    m.bands.sort_by(|a, b| b.min.total_cmp(&a.min));
                    Some(m)
                }
                Err(e) => {
                    errors.push(toml_error(&manifest_path, &text, e));
                    None
                }
            },
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let mut hasher = Sha256::new();
        let mut files = Vec::new();
        let mut hash_file = |path: &Path, bytes: &[u8]| {
            let rel = path.strip_prefix(dir).unwrap_or(path);
            files.push(rel.to_path_buf());
            hasher.update(rel.to_string_lossy().as_bytes());
            hasher.update([0]);
            hasher.update(bytes);
            hasher.update([0]);
        };
        if let Ok(t) = std::fs::read(&manifest_path) {
            hash_file(&manifest_path, &t);
        }

        let mut views = Vec::new();
        let views_dir = dir.join("views");
        if views_dir.is_dir() {
            match sorted_entries(&views_dir) {
                Ok(entries) => {
                    for p in entries.into_iter().filter(|p| p.extension().is_some_and(|e| e == "sql")) {
                        match read(&p) {
                            Ok(sql) => {
                                hash_file(&p, sql.as_bytes());
                                let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                                views.push(ViewFile::new(name, p, sql));
                            }
                            Err(e) => errors.push(e),
                        }
                    }
                }
                Err(e) => errors.push(e),
            }
        }

        let mut tables = Vec::new();
        for (sub, prefix) in [("lists", "list_"), ("reference", "ref_")] {
            let d = dir.join(sub);
            if !d.is_dir() {
                continue;
            }
            match sorted_entries(&d) {
                Ok(entries) => {
                    for p in entries.into_iter().filter(|p| p.extension().is_some_and(|e| e == "csv")) {
                        match std::fs::read(&p) {
                            Ok(bytes) => hash_file(&p, &bytes),
                            Err(e) => errors.push(PackError::new(&p, None, format!("cannot read: {e}"))),
                        }
                        let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                        tables.push(CsvFile { table: format!("{prefix}{stem}"), path: p });
                    }
                }
                Err(e) => errors.push(e),
            }
        }

        let mut rules = Vec::new();
        let mut rule_files = Vec::new();
        match sorted_entries(dir) {
            Ok(entries) => {
                for sub in entries {
                    let name = sub.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    if !sub.is_dir() || NON_RULE_DIRS.contains(&name.as_str()) {
                        continue;
                    }
                    match sorted_entries(&sub) {
                        Ok(files) => {
                            rule_files.extend(files.into_iter().filter(|p| p.extension().is_some_and(|e| e == "toml")))
                        }
                        Err(e) => errors.push(e),
                    }
                }
            }
            Err(e) => errors.push(e),
        }
        for p in rule_files {
            let text = match read(&p) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            hash_file(&p, text.as_bytes());
            match toml::from_str::<RuleFile>(&text) {
                Ok(spec) => {
                    let hash = hex::encode(Sha256::digest(text.as_bytes()));
                    rules.push(Rule { spec, path: p, text, hash });
                }
                Err(e) => errors.push(toml_error(&p, &text, e)),
            }
        }
        rules.sort_by(|a, b| a.spec.id.cmp(&b.spec.id).then(a.path.cmp(&b.path)));
        let hash = hex::encode(hasher.finalize());
        match manifest {
            Some(manifest) if errors.is_empty() => {
                Ok(Pack { dir: dir.to_path_buf(), manifest, views, tables, rules, hash, files })
            }
            _ => Err(errors),
        }
    }

    /// Shape checks that need no SQL engine: ids unique and equal to file names, a `when` or a
    /// `query` (not both), a `reason` with `when`, weights in 0–100, a hit and a no_hit test, a
    /// known category, bands and review threshold in range.
    pub fn lint(&self) -> Vec<PackError> {
        let mut out = Vec::new();
        let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
        for r in &self.rules {
            let s = &r.spec;
            let at = |key: &str| r.line_of_key(key);
            if let Some(first) = seen.insert(s.id.as_str(), r.path.as_path()) {
                out.push(PackError::new(
                    &r.path,
                    at("id"),
                    format!("duplicate rule id {:?}, also in {}", s.id, first.display()),
                ));
            }
            let stem = r.path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if stem != s.id {
                out.push(PackError::new(
                    &r.path,
                    at("id"),
                    format!("rule id {:?} differs from the file name {stem:?}; name the file {}.toml", s.id, s.id),
                ));
            }
            match (&s.when, &s.query) {
                (Some(_), Some(_)) => {
                    out.push(PackError::new(&r.path, at("query"), "a rule has `when` or `query`, not both"))
                }
                (None, None) => {
                    out.push(PackError::new(&r.path, None, "a rule needs `when` (a predicate) or `query` (a SELECT)"))
                }
                (Some(_), None) if s.reason.is_none() => out.push(PackError::new(
                    &r.path,
                    at("when"),
                    "a `when` rule needs `reason`, a SQL expression for the reason text",
                )),
                (None, Some(_)) if s.reason.is_some() => out.push(PackError::new(
                    &r.path,
                    at("reason"),
                    "a `query` rule returns its reason as a column named `reason`; remove the `reason` key",
                )),
                _ => {}
            }
            if let Some(w) = s.weight
                && !(0..=100).contains(&w)
            {
                out.push(PackError::new(&r.path, at("weight"), format!("weight {w} is outside 0-100")));
            }
            if !CATEGORIES.contains(&s.category.as_str()) {
                out.push(PackError::new(
                    &r.path,
                    at("category"),
                    format!("unknown category {:?}; use one of {}", s.category, CATEGORIES.join(", ")),
                ));
            }
            if s.status != Status::Deprecated {
                if !s.test.iter().any(|t| t.expect == Expect::Hit) {
                    out.push(PackError::new(
                        &r.path,
                        None,
                        "the rule needs at least one [[test]] with expect = \"hit\"",
                    ));
                }
                if !s.test.iter().any(|t| t.expect == Expect::NoHit) {
                    out.push(PackError::new(
                        &r.path,
                        None,
                        "the rule needs at least one [[test]] with expect = \"no_hit\"",
                    ));
                }
            }
        }
        let manifest_path = self.dir.join("pack.toml");
        if self.manifest.bands.is_empty() {
            out.push(PackError::new(&manifest_path, None, "pack.toml needs at least one [[bands]] entry"));
        }
        if !(0.0..=100.0).contains(&self.manifest.review.threshold) {
            out.push(PackError::new(
                &manifest_path,
                key_line(&read(&manifest_path).unwrap_or_default(), "threshold"),
                "review threshold must be within 0-100",
            ));
        }
        out
    }

    /// Rules that run (everything but deprecated).
    pub fn active_rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(|r| r.spec.status != Status::Deprecated)
    }
}

/// Rule categories (DESIGN.md).
pub const CATEGORIES: &[&str] = &["route", "ticketing", "document", "contact", "baggage", "network", "watchlist"];

#[cfg(test)]
mod tests {
    use super::*;

    const PACK: &str = r#"
name = "test"
version = "1"
[scoring]
method = "sum_capped"
[[bands]]
name = "low"
min = 0
[[bands]]
name = "high"
min = 60
[review]
threshold = 30
max_per_flight = 20
"#;

    const RULE: &str = r#"id = "TKT-001"
title = "Cash one-way"
status = "stable"
level = "medium"
weight = 30
category = "ticketing"
description = "Cash, one-way and late."
over = "traveller_journey"
when = "paid_cash AND trip_type = 'one_way'"
reason = "'cash one-way'"

[[test]]
name = "hit"
given = { paid_cash = true, trip_type = "one_way" }
expect = "hit"

[[test]]
name = "no hit"
given = { paid_cash = false, trip_type = "one_way" }
expect = "no_hit"
"#;

    /// A pack folder under the system's temporary folder, removed when the test ends.
    struct PackDir(PathBuf);

    impl std::ops::Deref for PackDir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for PackDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn pack_dir(rules: &[(&str, &str)]) -> PackDir {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "paxrisk-pack-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("ticketing")).unwrap();
        std::fs::write(dir.join("pack.toml"), PACK).unwrap();
        for (name, text) in rules {
            std::fs::write(dir.join("ticketing").join(name), text).unwrap();
        }
        PackDir(dir)
    }

    #[test]
    fn a_well_formed_pack_loads_and_lints_clean() {
        let dir = pack_dir(&[("TKT-001.toml", RULE)]);
        let pack = Pack::load(&dir).unwrap();
        assert_eq!(pack.rules.len(), 1);
        assert_eq!(pack.rules[0].weight(), 30);
        assert_eq!(pack.manifest.bands[0].name, "high", "bands sorted by min, highest first");
        assert_eq!(pack.lint(), vec![]);
        assert_eq!(pack.hash.len(), 64);
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let dir = pack_dir(&[("TKT-001.toml", &RULE.replace("category = ", "falsepositive = [\"x\"]\ncategory = "))]);
        let errors = Pack::load(&dir).unwrap_err();
        assert_eq!(errors.len(), 1);
        let e = &errors[0];
        assert!(e.path.ends_with("ticketing/TKT-001.toml"));
        assert_eq!(e.line, Some(6));
        assert!(e.message.contains("unknown field `falsepositive`"), "{}", e.message);
    }

    #[test]
    fn lints_give_the_exact_text_for_each_fault() {
        let bad = RULE
            .replace("id = \"TKT-001\"", "id = \"TKT-002\"")
            .replace("weight = 30", "weight = 130")
            .replace("category = \"ticketing\"", "category = \"tickets\"")
            .replace("expect = \"no_hit\"", "expect = \"hit\"");
        let dir = pack_dir(&[("TKT-001.toml", RULE), ("TKT-009.toml", &bad), ("TKT-002.toml", RULE)]);
        let pack = Pack::load(&dir).unwrap();
        let msgs: Vec<String> = pack
            .lint()
            .iter()
            .map(|e| {
                let file = e.path.file_name().unwrap().to_string_lossy().into_owned();
                format!("{file}:{}: {}", e.line.map(|l| l.to_string()).unwrap_or_default(), e.message)
            })
            .collect();
        assert_eq!(
            msgs,
            vec![
                "TKT-002.toml:1: duplicate rule id \"TKT-001\", also in ".to_string()
                    + &dir.join("ticketing/TKT-001.toml").display().to_string(),
                "TKT-002.toml:1: rule id \"TKT-001\" differs from the file name \"TKT-002\"; name the file TKT-001.toml".into(),
                "TKT-009.toml:1: rule id \"TKT-002\" differs from the file name \"TKT-009\"; name the file TKT-002.toml".into(),
                "TKT-009.toml:5: weight 130 is outside 0-100".into(),
                "TKT-009.toml:6: unknown category \"tickets\"; use one of route, ticketing, document, contact, baggage, network, watchlist".into(),
                "TKT-009.toml:: the rule needs at least one [[test]] with expect = \"no_hit\"".into(),
            ]
        );
    }
}
