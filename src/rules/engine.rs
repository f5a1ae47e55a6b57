//! The rule engine: a sandbox holding the landing tables, the pack's lists, reference tables and
//! views; rules compiled against it; evaluation of all rules in one plan.
//!
//! Views are computed once per run: each is planned in dependency order and, for a real run,
//! materialised into memory before any rule runs, so fifty rules over `traveller_journey` read
//! one table instead of recomputing its joins fifty times; within a view, each top-level CTE is
//! computed once (see [`cte`]), CTEs that do not read each other side by side. The rules then
//! run together as one `UNION ALL` plan, which DataFusion executes in parallel. If that plan
//! fails (a rule exceeds the memory or time limit), each rule is run alone so that the failing
//! one is named and the others still count.

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, LogicalPlan, Operator};

use super::cte;
use super::pack::{ColumnDoc, Pack, PackError, Rule, ViewFile};
use super::sandbox::{Limits, Sandbox, SandboxError, without_schema_metadata};
use super::tables;
use crate::landing::schema::{Rows, all_schemas};

/// The key column of the views rules score: one row per traveller on a pushed flight.
pub const SCORED_KEY: &str = "journey_id";

/// Over a landing set, a query that can be computed in slices (see [`super::slices`]) is, one
/// slice per this many rows of the largest table it slices: at 5 M PNRs the final SELECT of
/// `traveller_journey` (8.6 million travellers) in three, at 1 M in one.
pub const SLICE_ROWS: usize = 3_000_000;

/// How views are registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewMode {
    /// Compute each view once and keep the result in memory, with every landing table (tests,
    /// which query the landing tables afterwards).
    Materialise,
    /// As `Materialise`, and each landing table is dropped as soon as no view or CTE still to be
    /// computed and no rule of the pack reads it: a run and `rules stats`, which read nothing
    /// else from them. The largest views are then computed without the landing tables they no
    /// longer need in memory.
    MaterialiseReleasing,
    /// Register each view as an empty table of its schema (checks and inline tests).
    Empty,
}

/// A view with its planned schema.
#[derive(Debug, Clone)]
pub struct View {
    /// The file and its documentation.
    pub file: ViewFile,
    /// Output schema.
    pub schema: SchemaRef,
    /// Rows, when materialised.
    pub rows: Option<usize>,
}

/// A rule compiled to SQL that returns `hit_key` and `reason`.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Index into `Pack::rules`.
    pub index: usize,
    /// Rule id.
    pub id: String,
    /// The SELECT.
    pub sql: String,
}

/// One hit: a rule found a row of its view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The view key (journey_id).
    pub key: String,
    /// Index into `Pack::rules`.
    pub rule: usize,
    /// Reason text.
    pub reason: String,
}

/// A rule that could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFailure {
    /// Index into `Pack::rules`.
    pub rule: usize,
    /// Rule id.
    pub id: String,
    /// Rule file.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for RuleFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rule {} ({}) failed: {}", self.id, self.path.display(), self.message)
    }
}

/// The result of evaluating rules.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Hits sorted by key, then rule id.
    pub hits: Vec<Hit>,
    /// Hits per rule index (every evaluated rule has an entry, 0 included).
    pub hits_per_rule: BTreeMap<usize, u64>,
    /// Rules that failed.
    pub failures: Vec<RuleFailure>,
}

/// Why the engine could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Faults in the pack, each located.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Pack(Vec<PackError>),
    /// The query engine failed.
    #[error("{0}")]
    Sandbox(#[from] SandboxError),
    /// A view that plans could not be computed (memory or time limit): the pack is sound, the
    /// run is too large for the limits.
    #[error("{}: view {name} could not be computed: {message}", .path.display())]
    ViewFailed {
        /// The view's file.
        path: PathBuf,
        /// The view.
        name: String,
        /// Why.
        message: String,
    },
}

/// The sandbox with everything a pack's rules can see.
pub struct Engine {
    sandbox: Sandbox,
    pack: Pack,
    views: Vec<View>,
    /// Where computed views and CTEs go as Parquet work files; in memory when `None`.
    work: Option<WorkDir>,
    /// The landing tables to drop once nothing reads them ([`ViewMode::MaterialiseReleasing`]).
    release: Option<Release>,
}

/// Landing tables an engine drops as soon as nothing still to be computed reads them.
struct Release {
    /// Landing tables still registered.
    held: std::sync::Mutex<Vec<&'static str>>,
    /// Identifiers (lower case) of every rule's SQL and view: the tables they read stay.
    read_by_rules: std::collections::HashSet<String>,
}

impl Release {
    fn new(pack: &Pack) -> Release {
        let mut read_by_rules = std::collections::HashSet::new();
        for rule in &pack.rules {
            let texts = [rule.when(), rule.query(), rule.reason(), Some(rule.spec.over.as_str())];
            for text in texts.into_iter().flatten() {
                read_by_rules.extend(identifiers(text).into_iter().map(|(_, word)| word.to_lowercase()));
            }
        }
        Release { held: std::sync::Mutex::new(all_schemas().into_iter().map(|(t, _, _)| t).collect()), read_by_rules }
    }
}

/// The folder of a run's Parquet work files (views and their CTEs), removed with the engine.
struct WorkDir {
    dir: PathBuf,
    /// Rows of the largest table a query slices, per slice ([`SLICE_ROWS`] in a run).
    slice_rows: usize,
    /// Work folder of each table registered from it, so that its files go when it does.
    tables: std::sync::Mutex<std::collections::HashMap<String, PathBuf>>,
    /// The most bytes the work folder held, measured whenever a table's files are complete.
    peak_bytes: std::sync::atomic::AtomicU64,
    /// Each table computed in slices, with the column and the number of slices, in order.
    sliced: std::sync::Mutex<Vec<(String, String, usize)>>,
    next: std::sync::atomic::AtomicUsize,
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The bytes of the files under `dir` at this moment, in every folder below it. Files and folders
/// that go while it counts (a table dropped by another thread) count as nothing.
fn tree_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => tree_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

/// A batch of the landing Parquet set (`paxrisk run --landing`), as the engine reads it.
#[derive(Debug, Clone)]
pub struct LandingSet {
    /// The landing folder (`<table>/dep_date=YYYY-MM-DD/*.parquet`).
    pub dir: PathBuf,
    /// The ingest batch whose files are read (names ending in `-<batch>.parquet`).
    pub batch: String,
}

/// Name under which a landing table's Parquet files are registered; the table's own name is a
/// view over it with the columns in landing order and `dep_date` as a date again.
fn landing_files_table(table: &str) -> String {
    format!("landing_files_{table}")
}

impl Engine {
    /// Sets up the engine: the landing tables from `landing` (empty tables when `None`), the lists
    /// and reference tables, and the views.
    pub fn new(pack: &Pack, limits: Limits, landing: Option<&Rows>, mode: ViewMode) -> Result<Engine, EngineError> {
        let batches = match landing {
            Some(rows) => rows.to_batches(),
            None => all_schemas().into_iter().map(|(name, _, s)| (name, vec![RecordBatch::new_empty(s)])).collect(),
        };
        Self::with_landing(pack, limits, batches, mode)
    }

    /// [`Engine::new`] over landing tables already in Arrow (see `Ingested::take_landing`).
    pub fn with_landing(
        pack: &Pack,
        limits: Limits,
        landing: Vec<(&'static str, Vec<RecordBatch>)>,
        mode: ViewMode,
    ) -> Result<Engine, EngineError> {
        let sandbox = Sandbox::new(limits)?;
        for (name, batches) in landing {
            sandbox.register_batches(name, batches)?;
        }
        Self::finish(pack, sandbox, mode, None)
    }

    /// A run's engine over batch `set.batch` of a landing Parquet set: the data tables stream from
    /// its files, `in_memory` (rejects and diagnostics) are registered as given, and every view
    /// and CTE is computed into Parquet work files under `work` (removed with the engine), so that
    /// the run holds no table in memory: what memory it takes is what DataFusion's operators hold
    /// under the pool's limit (sorts and aggregates spill; hash joins cannot). A query that can
    /// be computed in slices is, one per `slice_rows` rows of the largest table it slices
    /// ([`SLICE_ROWS`] in a run; see [`super::slices`]), so that its joins and groupings hold a
    /// slice at a time.
    pub fn over_landing_set(
        pack: &Pack,
        limits: Limits,
        set: &LandingSet,
        in_memory: Vec<(&'static str, Vec<RecordBatch>)>,
        work: PathBuf,
        slice_rows: usize,
    ) -> Result<Engine, EngineError> {
        let sandbox = Sandbox::new_memory_first(limits)?;
        let suffix = crate::landing::staged::batch_suffix(&set.batch);
        for (table, _, schema) in all_schemas() {
            if in_memory.iter().any(|(name, _)| *name == table) {
                continue;
            }
            let Ok(date) = schema.index_of("dep_date") else {
                let files = without_schema_metadata(&schema);
                sandbox.register_listing(table, &set.dir.join(table), &suffix, files, None)?;
                continue;
            };
            let mut kept: Vec<_> = schema.fields().iter().cloned().collect();
            kept.remove(date);
            let files = without_schema_metadata(&arrow::datatypes::Schema::new(kept));
            let hidden = landing_files_table(table);
            sandbox.register_listing(&hidden, &set.dir.join(table), &suffix, files, Some("dep_date"))?;
            let columns: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| match f.name().as_str() {
                    "dep_date" => "CAST(NULLIF(dep_date, 'unknown') AS DATE) AS dep_date".to_string(),
                    name => format!("\"{name}\""),
                })
                .collect();
            sandbox.register_view(table, &format!("SELECT {} FROM {hidden}", columns.join(", ")))?;
        }
        for (name, batches) in in_memory {
            sandbox.register_batches(name, batches)?;
        }
        std::fs::create_dir_all(&work).map_err(|source| SandboxError::Io { path: work.clone(), source })?;
        let work = WorkDir {
            dir: work,
            slice_rows,
            tables: Default::default(),
            peak_bytes: Default::default(),
            sliced: Default::default(),
            next: Default::default(),
        };
        Self::finish(pack, sandbox, ViewMode::Materialise, Some(work))
    }

    fn finish(pack: &Pack, sandbox: Sandbox, mode: ViewMode, work: Option<WorkDir>) -> Result<Engine, EngineError> {
        let mut errors = Vec::new();
        for t in &pack.tables {
            match tables::read_csv_table(t) {
                Ok(batch) => sandbox.register_batches(&t.table, vec![batch])?,
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(EngineError::Pack(errors));
        }
        let release = (mode == ViewMode::MaterialiseReleasing).then(|| Release::new(pack));
        let mut engine = Engine { sandbox, pack: pack.clone(), views: Vec::new(), work, release };
        engine.register_views(mode)?;
        Ok(engine)
    }

    /// Changes the time limit of each later query (rules), after the views were computed.
    pub fn set_timeout(&mut self, timeout: std::time::Duration) {
        self.sandbox.set_timeout(timeout);
    }

    /// Each table (view or CTE) computed in slices over a landing set so far, in the order they
    /// were computed: its name, the column and the number of slices.
    pub fn sliced_tables(&self) -> Vec<(String, String, usize)> {
        self.work.as_ref().and_then(|w| w.sliced.lock().ok().map(|s| s.clone())).unwrap_or_default()
    }

    /// The most bytes the Parquet work files held on disk at once so far, or `None` for an engine
    /// without a work folder. The folder is measured whenever a table's files are complete, before
    /// any table is removed: the files of every table then held, and of any table still being
    /// written beside it. Files are only removed after such a moment, so no larger sum went
    /// unmeasured. (DataFusion's own spill files are in the system's temporary folder.)
    pub fn work_files_peak_bytes(&self) -> Option<u64> {
        self.work.as_ref().map(|w| w.peak_bytes.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// The pack.
    pub fn pack(&self) -> &Pack {
        &self.pack
    }

    /// The sandbox (for `rules stats` and the run's own queries).
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// The views in the order they were registered.
    pub fn views(&self) -> &[View] {
        &self.views
    }

    /// The view named `name`.
    pub fn view(&self, name: &str) -> Option<&View> {
        self.views.iter().find(|v| v.file.name == name)
    }

    /// Plans views in dependency order: a view that reads another pending view waits for it.
    fn register_views(&mut self, mode: ViewMode) -> Result<(), EngineError> {
        let mut pending: Vec<ViewFile> = self.pack.views.clone();
        let mut errors = Vec::new();
        while !pending.is_empty() {
            let mut progressed = false;
            let mut waiting = Vec::new();
            let names: Vec<String> = pending.iter().map(|v| v.name.clone()).collect();
            for file in pending {
                let planning = std::time::Instant::now();
                let planned = self.plan_view(&file.sql);
                tracing::debug!(view = file.name.as_str(), seconds = planning.elapsed().as_secs_f64(), "view planned");
                match planned {
                    Ok(schema) => {
                        let rows = match mode {
                            ViewMode::Materialise | ViewMode::MaterialiseReleasing => {
                                // The views still to be computed after this one.
                                let later: Vec<&str> = self
                                    .pack
                                    .views
                                    .iter()
                                    .filter(|v| {
                                        v.name != file.name && !self.views.iter().any(|d| d.file.name == v.name)
                                    })
                                    .map(|v| v.sql.as_str())
                                    .collect();
                                let n = self.compute_view(&file.name, &file.sql, &later).map_err(|e| {
                                    EngineError::ViewFailed {
                                        path: file.path.clone(),
                                        name: file.name.clone(),
                                        message: clean(&e.to_string()),
                                    }
                                })?;
                                Some(n)
                            }
                            ViewMode::Empty => {
                                self.sandbox.register_empty(&file.name, schema.clone())?;
                                None
                            }
                        };
                        self.views.push(View { file, schema, rows });
                        progressed = true;
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        // DataFusion names the missing table bare or fully qualified
                        // (`datafusion.public.<name>`).
                        let waits_for_view = names.iter().any(|n| {
                            *n != file.name
                                && (msg.contains(&format!("table '{n}' not found"))
                                    || msg.contains(&format!(".{n}' not found")))
                        });
                        if waits_for_view {
                            waiting.push((file, msg));
                        } else {
                            errors.push(view_error(&file, &msg));
                        }
                    }
                }
            }
            if !progressed {
                errors.extend(
                    waiting
                        .iter()
                        .map(|(f, m)| view_error(f, &format!("{m} (views that read each other in a cycle?)"))),
                );
                break;
            }
            pending = waiting.into_iter().map(|(f, _)| f).collect();
        }
        if errors.is_empty() { Ok(()) } else { Err(EngineError::Pack(errors)) }
    }

    /// A view's SQL taken apart into its CTEs and final query (see [`cte::split`]), unless it
    /// cannot be, or two of its CTEs have one name, or a CTE has the name of a table (which the
    /// CTE's own table would replace).
    fn split_view(&self, sql: &str) -> Option<cte::Split> {
        let split = cte::split(sql)?;
        let ctx = self.sandbox.context();
        let mut names: Vec<&str> = split.ctes.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        let repeated = names.windows(2).any(|w| w[0] == w[1]);
        let taken = names.iter().any(|n| ctx.table_exist(*n).unwrap_or(true));
        (!repeated && !taken).then_some(split)
    }

    /// The schema of a view's result: planned CTE by CTE where the view splits
    /// ([`Engine::plan_view_split`]), and as written where it does not or that fails, so that an
    /// error reads as it does for the SQL the author wrote.
    fn plan_view(&self, sql: &str) -> Result<SchemaRef, SandboxError> {
        match self.plan_view_split(sql) {
            Some(Ok(schema)) => Ok(schema),
            _ => self.sandbox.plan(sql),
        }
    }

    /// Plans a view the way [`Engine::compute_view`] computes it: each CTE in turn, registered as
    /// an empty table of its schema for the CTEs after it, then the final query over them; the
    /// CTEs' tables are dropped again. `None` when the view does not split ([`cte`]).
    ///
    /// Planned as written, `traveller_journey` took 1.0–1.3 s, most of a run over the sample
    /// data, and takes 0.05–0.07 s planned this way (docs/performance.md, change 70).
    /// DataFusion's SQL planner walks the whole plan under a SELECT, with every CTE inlined into
    /// it, once for each item of the SELECT list (`LogicalPlan::using_columns`), and the view's
    /// final SELECT has about a hundred.
    pub fn plan_view_split(&self, sql: &str) -> Option<Result<SchemaRef, SandboxError>> {
        let split = self.split_view(sql)?;
        let mut registered = Vec::with_capacity(split.ctes.len());
        let mut planned = Ok(());
        for (name, select) in &split.ctes {
            match self.sandbox.plan(select).and_then(|schema| self.sandbox.register_empty(name, schema)) {
                Ok(()) => registered.push(name),
                Err(e) => {
                    planned = Err(e);
                    break;
                }
            }
        }
        let schema = planned.and_then(|()| self.sandbox.plan(&split.body));
        for name in registered {
            let _ = self.sandbox.deregister(name);
        }
        Some(schema)
    }

    /// Computes a view and registers the result as table `name`; returns its rows. Its top-level
    /// CTEs are computed once each and held as temporary tables while the final SELECT runs (see
    /// [`cte`]); SQL that cannot be split that way, or whose CTE names are taken by tables, runs
    /// as written. `later` is the SQL of the views still to be computed after it, which
    /// [`Engine::release_unread`] must not take tables from.
    fn compute_view(&self, name: &str, sql: &str, later: &[&str]) -> Result<usize, SandboxError> {
        let Some(split) = self.split_view(sql) else {
            let rows = self.materialise(name, sql, self.sandbox.limits().threads)?;
            self.release_unread(later.iter().copied());
            return Ok(rows);
        };
        let mut result = self.compute_ctes(&split, later).map(|()| 0);
        if result.is_ok() {
            let started = std::time::Instant::now();
            let threads = self.sandbox.limits().threads;
            result = self.materialise(name, &split.body, threads);
            tracing::debug!(seconds = started.elapsed().as_secs_f64(), "final SELECT of the view computed");
            self.release_unread(later.iter().copied());
        }
        for (cte_name, _) in &split.ctes {
            self.drop_table(cte_name);
        }
        result
    }

    /// Computes the CTEs of `split`, each as a table under its own name, as many at a time as the
    /// session has threads: a CTE starts as soon as the CTEs it reads are computed (the first
    /// ready one in the written order first). Operators that run on one thread (a join's build,
    /// the end of an aggregate), and the end of each query, left a core idle when the CTEs ran one
    /// after the other: the views of a million PNRs in memory kept 1.5 of 2 cores busy, and 1.75
    /// with this (docs/performance.md, change 33). The threads are shared out among the CTEs that
    /// run or are ready to when one starts: beside another, on two threads, a CTE is planned for
    /// one partition instead of two (change 66), and the other CTE keeps the second core busy.
    /// It then needs no hash repartitioning and no merge of partial aggregates, which cost CPU
    /// time and gained nothing while both cores were busy anyway. A CTE that starts alone is
    /// planned for every thread, as is the final SELECT. Every CTE is computed into a table, even
    /// one that only adds columns to the rows of another: planning such a CTE into its readers
    /// instead (change 82) saved nothing in six alternated runs at 5 M PNRs over a landing set,
    /// and cost 7% more CPU time on one machine (docs/performance.md, change 84). A CTE's table
    /// is dropped as soon as every CTE that reads it is computed, unless the final query reads
    /// it. After an error no further CTE starts, the running ones finish, and the first error is
    /// returned; the caller drops the tables that are left.
    fn compute_ctes(&self, split: &cte::Split, later: &[&str]) -> Result<(), SandboxError> {
        #[derive(Clone, Copy, PartialEq)]
        enum State {
            Waiting,
            Running,
            Done,
        }
        let n = split.ctes.len();
        let reads = split.reads();
        let read_by_body = split.read_by_body();
        let mut readers: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (k, deps) in reads.iter().enumerate() {
            for &j in deps {
                readers[j].push(k);
            }
        }
        let at_once = self.sandbox.limits().threads.max(1);
        let mut state = vec![State::Waiting; n];
        let mut result = Ok(());
        std::thread::scope(|scope| {
            let (done_tx, done_rx) = std::sync::mpsc::channel();
            let mut running = 0;
            loop {
                while result.is_ok() && running < at_once {
                    let mut ready = (0..n)
                        .filter(|&i| state[i] == State::Waiting && reads[i].iter().all(|&j| state[j] == State::Done));
                    let Some(i) = ready.next() else { break };
                    // The threads shared out among the CTEs that run now and those ready to.
                    let beside = (running + 1 + ready.count()).min(at_once);
                    let partitions = (at_once / beside).max(1);
                    state[i] = State::Running;
                    running += 1;
                    let done_tx = done_tx.clone();
                    let (cte_name, select) = (&split.ctes[i].0, &split.ctes[i].1);
                    scope.spawn(move || {
                        let started = std::time::Instant::now();
                        let rows = self.materialise(cte_name, select, partitions);
                        // The receiver lives until every spawned CTE has reported.
                        let _ = done_tx.send((i, rows, started.elapsed(), partitions));
                    });
                }
                if running == 0 {
                    break;
                }
                let Ok((i, rows, took, partitions)) = done_rx.recv() else { break };
                running -= 1;
                state[i] = State::Done;
                match rows {
                    Ok(rows) => {
                        let cte = split.ctes[i].0.as_str();
                        tracing::debug!(cte, rows, partitions, seconds = took.as_secs_f64(), "CTE computed");
                    }
                    Err(e) => {
                        if result.is_ok() {
                            result = Err(e);
                        }
                        continue;
                    }
                }
                // A table can only become droppable now if it is this CTE's or one it read: the
                // last of a table's CTE and its readers to finish drops it, once.
                for j in reads[i].iter().copied().chain([i]) {
                    if state[j] == State::Done
                        && !read_by_body[j]
                        && readers[j].iter().all(|&k| state[k] == State::Done)
                    {
                        self.drop_table(&split.ctes[j].0);
                    }
                }
                let unfinished = (0..n).filter(|&k| state[k] != State::Done).map(|k| split.ctes[k].1.as_str());
                self.release_unread(unfinished.chain([split.body.as_str()]).chain(later.iter().copied()));
            }
        });
        result
    }

    /// Plans `sql` once, runs it in `partitions` partitions (see [`Sandbox::query_in`]) and
    /// registers its result as table `name`: in memory, or as Parquet work files when the engine
    /// has a work folder, computed in slices where [`Engine::slices_of`] finds them. Returns the
    /// rows.
    fn materialise(&self, name: &str, sql: &str, partitions: usize) -> Result<usize, SandboxError> {
        let plan = self.sandbox.logical_plan(sql)?;
        let Some(work) = &self.work else {
            let schema = std::sync::Arc::new(plan.schema().as_arrow().clone());
            let batches = self.sandbox.plan_query_in(plan, sql, partitions)?;
            let rows = batches.iter().map(|b| b.num_rows()).sum();
            let batches = if rows == 0 { vec![RecordBatch::new_empty(schema)] } else { batches };
            self.sandbox.register_batches(name, batches)?;
            return Ok(rows);
        };
        let seq = work.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = work.dir.join(format!("{seq:04}-{}", sanitise(name)));
        // A table whose files cannot be written leaves no folder behind.
        let (rows, schema) = self.write_work_files(name, plan, sql, &dir, partitions).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&dir);
        })?;
        self.sandbox.register_parquet_dir(name, &dir, schema)?;
        if let Ok(mut tables) = work.tables.lock() {
            // Measured before anything is removed: the files of every table held, this one's,
            // and those of a table still being written beside it.
            work.peak_bytes.fetch_max(tree_bytes(&work.dir), std::sync::atomic::Ordering::Relaxed);
            if let Some(old) = tables.insert(name.to_string(), dir) {
                let _ = std::fs::remove_dir_all(old);
            }
        }
        Ok(rows)
    }

    /// Writes the rows of `plan` (made from `sql`) as Parquet files into `dir`, in slices when it
    /// has them (one set of files per slice, `slice-<k>-<partition>.parquet`).
    fn write_work_files(
        &self,
        name: &str,
        plan: LogicalPlan,
        sql: &str,
        dir: &std::path::Path,
        partitions: usize,
    ) -> Result<(usize, SchemaRef), SandboxError> {
        let Some((column, slices)) = self.slices_of(&plan)? else {
            return self.sandbox.plan_to_parquet_in(plan, sql, dir, "part", partitions);
        };
        let (mut rows, mut schema) = (0, None);
        for (k, slice) in slices.iter().enumerate() {
            let started = std::time::Instant::now();
            let sliced = super::slices::in_slice(plan.clone(), &column, *slice)?;
            let (n, s) = self.sandbox.plan_to_parquet_in(sliced, sql, dir, &format!("slice-{k:03}"), partitions)?;
            tracing::debug!(
                table = name,
                column,
                slice = k,
                of = slices.len(),
                rows = n,
                seconds = started.elapsed().as_secs_f64(),
                "slice computed"
            );
            rows += n;
            schema = Some(s);
        }
        if let Some(work) = &self.work
            && let Ok(mut sliced) = work.sliced.lock()
        {
            sliced.push((name.to_string(), column, slices.len()));
        }
        match schema {
            Some(schema) => Ok((rows, schema)),
            None => self.sandbox.plan_to_parquet_in(plan, sql, dir, "part", partitions),
        }
    }

    /// The slices a query's logical `plan` is computed in over a landing set (see
    /// [`super::slices`]): the column and the slices, when the plan can be sliced and the largest
    /// table it slices (one that has the column) has more rows than the work folder's
    /// `slice_rows`. One slice per `slice_rows` rows of that table, over the range of the column
    /// in it.
    fn slices_of(&self, plan: &LogicalPlan) -> Result<Option<(String, Vec<super::slices::Slice>)>, SandboxError> {
        let Some(work) = &self.work else { return Ok(None) };
        let optimised = self.sandbox.optimise(plan)?;
        let Some(column) = super::slices::slice_column(&optimised) else { return Ok(None) };
        // (rows, min, max) of the largest table sliced (the others are read whole in each slice).
        let mut largest: Option<(i64, Option<i64>, Option<i64>)> = None;
        let quoted = format!("\"{}\"", column.replace('"', "\"\""));
        for table in super::slices::restricted_tables(&optimised, &column) {
            // TRY_CAST: an unsigned column past the range of BIGINT gives NULL, and no slices.
            let sql = format!(
                "SELECT COUNT(*), TRY_CAST(MIN({quoted}) AS BIGINT), TRY_CAST(MAX({quoted}) AS BIGINT) FROM {table}"
            );
            let batches = self.sandbox.query(&sql)?;
            let Some(b) = batches.iter().find(|b| b.num_rows() > 0) else { continue };
            let value = |c: usize| {
                let a = b.column(c).as_primitive::<arrow::datatypes::Int64Type>();
                a.is_valid(0).then(|| a.value(0))
            };
            let rows = value(0).unwrap_or(0);
            if largest.is_none_or(|(r, _, _)| rows > r) {
                largest = Some((rows, value(1), value(2)));
            }
        }
        let Some((rows, Some(min), Some(max))) = largest else { return Ok(None) };
        let count = (rows as usize).div_ceil(work.slice_rows.max(1));
        if count < 2 {
            return Ok(None);
        }
        Ok(Some((column, super::slices::Slice::split(min, max, count))))
    }

    /// With [`ViewMode::MaterialiseReleasing`], drops every landing table that neither
    /// `still_to_run` (the SQL still to be computed) nor a rule of the pack names. A name counts
    /// wherever it appears as an identifier, `--` comments and string literals aside (see
    /// [`identifiers`]; a name in a `/* */` comment counts), so a table is sometimes kept longer
    /// than needed, never dropped too early.
    fn release_unread<'a>(&self, still_to_run: impl IntoIterator<Item = &'a str>) {
        let Some(release) = &self.release else { return };
        let Ok(mut held) = release.held.lock() else { return };
        if held.is_empty() {
            return;
        }
        let mut read = std::collections::HashSet::new();
        for sql in still_to_run {
            read.extend(identifiers(sql).into_iter().map(|(_, word)| word.to_lowercase()));
        }
        held.retain(|table| {
            let keep = read.contains(*table) || release.read_by_rules.contains(*table);
            if !keep {
                tracing::debug!(table = *table, "landing table released: nothing still to be computed reads it");
                let _ = self.sandbox.deregister(table);
            }
            keep
        });
    }

    /// Removes a temporary table, and its work files if it has any.
    fn drop_table(&self, name: &str) {
        let _ = self.sandbox.deregister(name);
        if let Some(work) = &self.work
            && let Ok(mut tables) = work.tables.lock()
            && let Some(dir) = tables.remove(name)
        {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    /// Compiles a rule to a SELECT of `hit_key` and `reason`, and checks it: the view exists and
    /// is keyed by journey_id, no sensitive column is used, no timestamps are subtracted, a
    /// `query` returns the key and `reason`. Errors name the rule, its file and the line.
    pub fn compile(&self, index: usize) -> Result<CompiledRule, PackError> {
        let rule = &self.pack.rules[index];
        let id = &rule.spec.id;
        let err = |line: Option<usize>, message: String| PackError {
            path: rule.path.clone(),
            line,
            message: format!("rule {id}: {message}"),
        };
        let over = rule.spec.over.as_str();
        let Some(view) = self.view(over) else {
            let names: Vec<&str> = self.views.iter().map(|v| v.file.name.as_str()).collect();
            return Err(err(
                rule.line_of_key("over"),
                format!("view `{over}` does not exist; the views are {}", names.join(", ")),
            ));
        };
        let key = match view.file.key.as_deref() {
            Some(k) if k == SCORED_KEY => k,
            other => {
                return Err(err(
                    rule.line_of_key("over"),
                    format!(
                        "view `{over}` is keyed by {}, but rules score travellers and need a view keyed by {SCORED_KEY}",
                        other.unwrap_or("nothing")
                    ),
                ));
            }
        };
        self.check_sensitive(rule, view).map_err(|(line, m)| err(line, m))?;
        self.check_lists(rule).map_err(|(line, m)| err(line, m))?;
        let sql = match (&rule.spec.when, &rule.spec.query, &rule.spec.reason) {
            (Some(when), None, Some(reason)) => {
                let (reason_sql, when_sql) = (reason.get_ref().trim_end(), when.get_ref().trim_end());
                let sql = format!(
                    "SELECT CAST(\"{key}\" AS VARCHAR) AS hit_key, CAST((\n{reason_sql}\n) AS VARCHAR) AS reason\nFROM \"{over}\"\nWHERE (\n{when_sql}\n)"
                );
                let reason_lines = reason_sql.lines().count().max(1);
                let when_lines = when_sql.lines().count().max(1);
                self.sandbox.plan(&sql).map_err(|e| {
                    let msg = e.to_string();
                    // Lines 2.. of the SELECT are the reason, then three lines, then the predicate.
                    let line = sql_line(&msg).and_then(|l| {
                        if (2..2 + reason_lines).contains(&l) {
                            Some(rule.sql_first_line(reason) + l - 2)
                        } else if l >= reason_lines + 5 {
                            Some(rule.sql_first_line(when) + (l - (reason_lines + 5)).min(when_lines - 1))
                        } else {
                            None
                        }
                    });
                    let line = line.or_else(|| field_line(rule, &msg)).or_else(|| rule.line_of_key("when"));
                    err(line, clean(&msg))
                })?;
                sql
            }
            (None, Some(query), None) => {
                let query_sql = query.get_ref().trim_end();
                let query_lines = query_sql.lines().count().max(1);
                let schema = self.sandbox.plan(&format!("\n{query_sql}")).map_err(|e| {
                    let msg = e.to_string();
                    let line = sql_line(&msg)
                        .map(|l| rule.sql_first_line(query) + l.saturating_sub(2).min(query_lines - 1))
                        .or_else(|| field_line(rule, &msg))
                        .or_else(|| rule.line_of_key("query"));
                    err(line, clean(&msg))
                })?;
                let has = |c: &str| schema.fields().iter().any(|f| f.name() == c);
                if !has(key) || !has("reason") {
                    let cols: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                    return Err(err(
                        rule.line_of_key("query"),
                        format!(
                            "the query must return the key column `{key}` of view `{over}` and a `reason` column; it returns {}",
                            cols.join(", ")
                        ),
                    ));
                }
                let sql = format!(
                    "SELECT CAST(q.\"{key}\" AS VARCHAR) AS hit_key, CAST(q.reason AS VARCHAR) AS reason FROM (\n{}\n) AS q",
                    query.get_ref()
                );
                self.sandbox.plan(&sql).map_err(|e| err(rule.line_of_key("query"), clean(&e.to_string())))?;
                sql
            }
            _ => return Err(err(None, "needs `when` with `reason`, or `query` (see rules check)".into())),
        };
        let plan = self.sandbox.logical_plan(&sql).map_err(|e| err(rule.line_of_key("when"), clean(&e.to_string())))?;
        if let Some(expr) = timestamp_subtraction(&plan) {
            let line = rule.line_of_key("when").or_else(|| rule.line_of_key("query"));
            return Err(err(
                line,
                format!(
                    "subtracts timestamps ({expr}). DataFusion compares such differences with day intervals wrongly; \
                     use the view's duration columns in hours or days (hours_booked_before_departure, stay_days, ...)"
                ),
            ));
        }
        Ok(CompiledRule { index, id: id.clone(), sql })
    }

    /// Compiles every rule that runs (all but deprecated ones); all errors, not only the first.
    pub fn compile_active(&self) -> Result<Vec<CompiledRule>, Vec<PackError>> {
        let mut compiled = Vec::new();
        let mut errors = Vec::new();
        for (i, r) in self.pack.rules.iter().enumerate() {
            if r.spec.status != super::pack::Status::Deprecated {
                match self.compile(i) {
                    Ok(c) => compiled.push(c),
                    Err(e) => errors.push(e),
                }
            }
        }
        if errors.is_empty() { Ok(compiled) } else { Err(errors) }
    }

    fn check_sensitive(&self, rule: &Rule, view: &View) -> Result<(), (Option<usize>, String)> {
        let sensitive: Vec<&ColumnDoc> = self
            .views
            .iter()
            .flat_map(|v| v.file.columns.iter())
            .filter(|c| c.sensitive)
            .chain(view.file.columns.iter().filter(|c| c.sensitive))
            .collect();
        for value in [&rule.spec.when, &rule.spec.reason, &rule.spec.query].into_iter().flatten() {
            for (line_in_sql, ident) in identifiers(value.get_ref()) {
                if let Some(c) = sensitive.iter().find(|c| c.name.eq_ignore_ascii_case(&ident)) {
                    return Err((
                        Some(rule.sql_first_line(value) + line_in_sql),
                        format!(
                            "uses column `{}`, which is marked sensitive; nationality and sex may not be a criterion \
                             (EU Directive 2016/681 Art. 6(4))",
                            c.name
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A rule declares the lists it reads (`lists = ["drug_source_countries"]`), so that the
    /// catalogue shows what an edit of a list changes: every declared list must exist, and every
    /// `list_<name>` table the SQL reads must be declared.
    fn check_lists(&self, rule: &Rule) -> Result<(), (Option<usize>, String)> {
        let tables: Vec<&str> = self.pack.tables.iter().map(|t| t.table.as_str()).collect();
        for name in &rule.spec.lists {
            if !tables.contains(&format!("list_{name}").as_str()) {
                return Err((
                    rule.line_of_key("lists"),
                    format!("names list `{name}`, but the pack has no lists/{name}.csv"),
                ));
            }
        }
        for value in [&rule.spec.when, &rule.spec.reason, &rule.spec.query].into_iter().flatten() {
            for (line, ident) in identifiers(value.get_ref()) {
                if let Some(name) = ident.to_ascii_lowercase().strip_prefix("list_")
                    && !rule.spec.lists.iter().any(|l| l.eq_ignore_ascii_case(name))
                {
                    return Err((
                        Some(rule.sql_first_line(value) + line),
                        format!("reads list_{name}; declare it with lists = [\"{name}\"]"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Evaluates the rules in one plan; on failure, one by one to name the failing rule.
    pub fn evaluate(&self, rules: &[CompiledRule]) -> Evaluation {
        let mut eval = Evaluation::default();
        if rules.is_empty() {
            return eval;
        }
        match self.run_union(rules) {
            Ok(hits) => eval.hits = hits,
            Err(_) => {
                for r in rules {
                    match self.run_union(std::slice::from_ref(r)) {
                        Ok(mut hits) => eval.hits.append(&mut hits),
                        Err(e) => eval.failures.push(RuleFailure {
                            rule: r.index,
                            id: r.id.clone(),
                            path: self.pack.rules[r.index].path.clone(),
                            message: clean(&e.to_string()),
                        }),
                    }
                }
                sort_hits(&mut eval.hits, &self.pack);
            }
        }
        for r in rules {
            if !eval.failures.iter().any(|f| f.rule == r.index) {
                eval.hits_per_rule.insert(r.index, 0);
            }
        }
        for h in &eval.hits {
            *eval.hits_per_rule.entry(h.rule).or_default() += 1;
        }
        eval
    }

    fn run_union(&self, rules: &[CompiledRule]) -> Result<Vec<Hit>, SandboxError> {
        let branches: Vec<String> = rules
            .iter()
            .enumerate()
            .map(|(n, r)| format!("SELECT {} AS rule_index, hit_key, reason FROM (\n{}\n) AS r{n}", r.index, r.sql))
            .collect();
        let sql = format!(
            "SELECT rule_index, hit_key, min(reason) AS reason FROM (\n{}\n) AS u WHERE hit_key IS NOT NULL \
             GROUP BY rule_index, hit_key",
            branches.join("\nUNION ALL\n")
        );
        let batches = self.sandbox.query(&sql)?;
        let mut hits = Vec::new();
        for b in &batches {
            let idx = arrow::compute::cast(b.column(0), &DataType::Int64)?;
            let idx = idx.as_primitive::<arrow::datatypes::Int64Type>();
            let key = arrow::compute::cast(b.column(1), &DataType::Utf8)?;
            let key = key.as_string::<i32>();
            let reason = arrow::compute::cast(b.column(2), &DataType::Utf8)?;
            let reason = reason.as_string::<i32>();
            for i in 0..b.num_rows() {
                hits.push(Hit {
                    key: key.value(i).to_string(),
                    rule: idx.value(i) as usize,
                    reason: if reason.is_null(i) { String::new() } else { reason.value(i).to_string() },
                });
            }
        }
        sort_hits(&mut hits, &self.pack);
        Ok(hits)
    }

    /// Replaces the rows of view `name` (used by inline tests).
    pub fn set_view_rows(&self, name: &str, batch: RecordBatch) -> Result<(), SandboxError> {
        self.sandbox.register_batches(name, vec![batch])
    }

    /// Restores view `name` to an empty table of its schema.
    pub fn clear_view(&self, name: &str) -> Result<(), SandboxError> {
        match self.view(name) {
            Some(v) => self.sandbox.register_empty(name, v.schema.clone()),
            None => Ok(()),
        }
    }

    /// Rows of `sql` run in the sandbox (for `rules test`).
    pub fn rows(&self, sql: &str) -> Result<usize, SandboxError> {
        Ok(self.sandbox.query(sql)?.iter().map(|b| b.num_rows()).sum())
    }
}

/// Orders hits by traveller key, then rule id. A stable sort on every worker thread gives the
/// order of a sequential stable sort; at a million PNRs (1.1 million hits) the sequential sort
/// kept one core busy while the other waited.
fn sort_hits(hits: &mut [Hit], pack: &Pack) {
    use rayon::slice::ParallelSliceMut;
    let ids: Vec<&str> = pack.rules.iter().map(|r| r.spec.id.as_str()).collect();
    hits.par_sort_by(|a, b| a.key.cmp(&b.key).then(ids[a.rule].cmp(ids[b.rule])));
}

fn view_error(file: &ViewFile, msg: &str) -> PackError {
    let line = sql_line(msg).or_else(|| {
        let name = unknown_field(msg)?;
        file.sql.lines().position(|l| identifiers(l).iter().any(|(_, i)| i.eq_ignore_ascii_case(&name))).map(|i| i + 1)
    });
    PackError { path: file.path.clone(), line, message: format!("view {}: {}", file.name, clean(msg)) }
}

/// "Line: N" in a SQL parser error.
fn sql_line(msg: &str) -> Option<usize> {
    let at = msg.find("Line: ")?;
    let digits: String = msg[at + 6..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// The name in "No field named X" / "column X not found".
fn unknown_field(msg: &str) -> Option<String> {
    let at = msg.find("No field named ")?;
    let rest = &msg[at + 15..];
    let name: String =
        rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.' || *c == '"').collect();
    let name = name.trim_end_matches('.');
    let name = name.rsplit('.').next().unwrap_or(name).trim_matches('"').to_string();
    (!name.is_empty()).then_some(name)
}

/// The file line of the first use of the unknown column named in `msg`.
fn field_line(rule: &Rule, msg: &str) -> Option<usize> {
    let name = unknown_field(msg)?;
    for value in [&rule.spec.when, &rule.spec.reason, &rule.spec.query].into_iter().flatten() {
        if let Some((l, _)) = identifiers(value.get_ref()).into_iter().find(|(_, i)| i.eq_ignore_ascii_case(&name)) {
            return Some(rule.sql_first_line(value) + l);
        }
    }
    None
}

/// Error text without DataFusion's nesting noise. A parser error loses its position, which
/// refers to the SQL paxrisk composed; the caller reports the line in the rule file instead.
fn clean(msg: &str) -> String {
    let mut m = msg.trim();
    for prefix in ["Error during planning: ", "Schema error: ", "SQL error: ", "Execution error: "] {
        if let Some(rest) = m.strip_prefix(prefix) {
            m = rest;
        }
    }
    // The list of every valid column is long and `schema` prints it better.
    let m = m.split("\nValid fields are").next().unwrap_or(m).trim_end();
    if let Some(inner) = m.strip_prefix("ParserError(\"").and_then(|r| r.strip_suffix("\")")) {
        let inner = inner.split(" at Line: ").next().unwrap_or(inner);
        return format!("SQL syntax error: {inner}");
    }
    m.to_string()
}

/// Identifiers of a SQL text with their 0-based line, string literals and comments skipped.
pub fn identifiers(sql: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut line = 0;
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'\'' => {
                i += 1;
                while i < b.len() {
                    if b[i] == b'\n' {
                        line += 1;
                    }
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += 1;
                }
                out.push((line, sql[start..i.min(b.len())].to_string()));
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push((line, sql[start..i].to_string()));
            }
            _ => i += 1,
        }
    }
    out
}

/// The first `a - b` of two timestamps or dates in the rule's own expressions (not inside the
/// views it reads), as text.
fn timestamp_subtraction(plan: &LogicalPlan) -> Option<String> {
    let mut found = None;
    let _ = plan.apply_with_subqueries(|node| {
        let mut schemas = vec![node.schema().clone()];
        schemas.extend(node.inputs().iter().map(|i| i.schema().clone()));
        let _ = node.apply_expressions(|e| {
            e.apply(|sub| {
                if let Expr::BinaryExpr(BinaryExpr { left, op: Operator::Minus, right }) = sub {
                    let is_time = |x: &Expr| {
                        schemas.iter().any(|s| {
                            x.get_type(s.as_ref()).is_ok_and(|t| {
                                matches!(t, DataType::Timestamp(..) | DataType::Date32 | DataType::Date64)
                            })
                        })
                    };
                    if is_time(left) && is_time(right) {
                        found = Some(format!("{sub}"));
                        return Ok(TreeNodeRecursion::Stop);
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
        });
        Ok(if found.is_some() { TreeNodeRecursion::Stop } else { TreeNodeRecursion::Continue })
    });
    found
}

/// A table name as a file name: letters, digits, `_` and `-` kept, anything else `_`.
fn sanitise(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::tree_bytes;

    #[test]
    fn tree_bytes_counts_the_files_of_every_folder_below() {
        let dir = std::env::temp_dir().join(format!("paxrisk-tree-bytes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("0001-a")).unwrap();
        std::fs::create_dir_all(dir.join("0002-b").join("inner")).unwrap();
        std::fs::write(dir.join("0001-a").join("part-0.parquet"), [0u8; 100]).unwrap();
        std::fs::write(dir.join("0002-b").join("slice-000-0.parquet"), [0u8; 30]).unwrap();
        std::fs::write(dir.join("0002-b").join("inner").join("x"), [0u8; 7]).unwrap();
        assert_eq!(tree_bytes(&dir), 137);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(tree_bytes(&dir), 0, "a folder that is gone holds nothing");
    }
}
