//! The sandboxed DataFusion session in which rule and view SQL runs.
//!
//! Rule SQL is untrusted: it comes from files that analysts edit. The session therefore
//! - runs every statement through `sql_with_options` with DDL, DML and statements (`SET`, …)
//!   refused, so `COPY … TO`, `CREATE EXTERNAL TABLE` and `INSERT` cannot run;
//! - never enables URL tables, so a file path in `FROM` is an unknown table, not a file read;
//! - has no table function that reads files, and drops `generate_series` and `range`, with which
//!   one line could exhaust memory;
//! - runs under a memory pool with spilling and a per-query timeout, so a runaway rule fails by
//!   name and does not take the run down.
//!
//! Views are registered from their SELECT through the same restricted path (never via
//! `CREATE VIEW`), so the pack's own SQL gets no more power than a rule's.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{GreedyMemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};

/// Bytes the batches' buffers occupy, each buffer counted once: query results are often slices
/// of shared buffers, which `get_array_memory_size` counts once per slice (20 GB for 9 GB held).
fn held_bytes<'a>(batches: impl Iterator<Item = &'a RecordBatch>) -> usize {
    fn visit(data: &arrow::array::ArrayData, seen: &mut std::collections::HashSet<usize>, total: &mut usize) {
        let buffers = data.buffers().iter().chain(data.nulls().map(|n| n.buffer()));
        for b in buffers {
            if seen.insert(b.data_ptr().as_ptr() as usize) {
                *total += b.capacity();
            }
        }
        for child in data.child_data() {
            visit(child, seen, total);
        }
    }
    let (mut seen, mut total) = (std::collections::HashSet::new(), 0);
    for batch in batches {
        for column in batch.columns() {
            visit(&column.to_data(), &mut seen, &mut total);
        }
    }
    total
}

/// The batches, with every column that is a slice of much larger buffers (as an aggregate's result
/// is: one batch of every group, handed on in slices) copied into buffers of its own, so that
/// DataFusion's estimate of the table's size is right.
///
/// DataFusion sizes an in-memory table by each batch's `get_array_memory_size`, which counts the
/// whole of every buffer a slice points into: the 22 slices of one buffer count it 22 times, and at
/// a million PNRs `newest` (69 MB) counted 4.3 GB. The hash joins build on the side they think
/// smaller, so a group's result looked larger than a table ten times as wide, and was streamed
/// while the wide table was built: at 100,000 PNRs `gaps` built 30 MB where 9 MB do. Dictionary
/// columns (`source_file`) keep their one shared dictionary: copied, each batch would hold its own;
/// so do string views, whose copy would still point into the same data buffers.
fn with_own_buffers(name: &str, batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>, SandboxError> {
    /// A column that points into buffers more than this many times the size it uses is copied.
    const SLACK: usize = 4;
    let sliced = |column: &arrow::array::ArrayRef| {
        !matches!(column.data_type(), DataType::Dictionary(..) | DataType::Utf8View | DataType::BinaryView)
            && column
                .to_data()
                .get_slice_memory_size()
                .is_ok_and(|used| column.get_array_memory_size() > SLACK * used.max(64))
    };
    if !batches.iter().any(|b| b.columns().iter().any(sliced)) {
        return Ok(batches);
    }
    let (started, mut copied) = (std::time::Instant::now(), 0);
    let batches = batches
        .into_iter()
        .map(|batch| {
            let columns = batch
                .columns()
                .iter()
                .map(|column| {
                    if !sliced(column) {
                        return Ok(column.clone());
                    }
                    let data = column.to_data();
                    let mut copy = arrow::array::MutableArrayData::new(vec![&data], false, data.len());
                    copy.try_extend(0, 0, data.len())?;
                    let own = arrow::array::make_array(copy.freeze());
                    copied += own.get_array_memory_size();
                    Ok(own)
                })
                .collect::<Result<Vec<_>, arrow::error::ArrowError>>()?;
            Ok(RecordBatch::try_new(batch.schema(), columns)?)
        })
        .collect::<Result<Vec<_>, SandboxError>>()?;
    let seconds = started.elapsed().as_secs_f64();
    tracing::debug!(table = name, copied, seconds, "sliced columns copied into buffers of their own");
    Ok(batches)
}

/// Logs at trace level the plan of `sql`, run to its end, with each operator's time, rows and
/// memory (a hash join's `build_mem_used` and `build_input_rows`).
fn trace_executed(sql: &str, plan: &dyn datafusion::physical_plan::ExecutionPlan) {
    if tracing::enabled!(tracing::Level::TRACE) {
        let metrics = datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(plan);
        tracing::trace!(sql, "query executed:\n{}", metrics.indent(false));
    }
}

/// The batches with a schema that has no field or table metadata.
fn without_metadata(batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>, SandboxError> {
    let Some(first) = batches.first() else { return Ok(batches) };
    let original = first.schema();
    let plain = original.fields().iter().all(|f| f.metadata().is_empty()) && original.metadata().is_empty();
    if plain {
        return Ok(batches);
    }
    let schema = without_schema_metadata(&original);
    batches
        .into_iter()
        .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()).map_err(|e| SandboxError::Engine(e.into())))
        .collect()
}

/// The schema without field and table metadata (see [`Sandbox::register_batches`]).
pub fn without_schema_metadata(schema: &Schema) -> SchemaRef {
    let fields: Vec<arrow::datatypes::Field> =
        schema.fields().iter().map(|f| f.as_ref().clone().with_metadata(Default::default())).collect();
    Arc::new(Schema::new(fields))
}

/// Properties of the Parquet work files a run writes for its views: neither compressed nor
/// dictionary-encoded, since they are read back once or twice and deleted. Encoding them as the
/// landing set is (zstd, dictionaries) took a third of the views' CPU time over a landing set of
/// 1 M PNRs, for work files a few times smaller (docs/performance.md, change 67).
fn work_file_properties() -> parquet::file::properties::WriterProperties {
    parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::UNCOMPRESSED)
        .set_dictionary_enabled(false)
        .set_max_row_group_row_count(Some(128 * 1024))
        .build()
}

/// Limits a sandbox runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Memory the query engine may hold before spilling or failing, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock limit of one query.
    pub timeout: Duration,
    /// Worker threads and target partitions.
    pub threads: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: default_memory_bytes(),
            timeout: Duration::from_secs(600),
            threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        }
    }
}

/// The query engine's default memory limit: 70% of the machine's memory (Linux
/// `/proc/meminfo`), at least 2 GiB; 4 GiB where the size cannot be read. The limit covers the
/// in-memory tables (landing tables, views) as well as the operators of running queries, so it
/// can be most of the machine; the rest is for ingest's own rows and the outputs.
fn default_memory_bytes() -> usize {
    const GIB: usize = 1024 * 1024 * 1024;
    let total_kib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse::<usize>().ok())
    });
    match total_kib {
        Some(kib) => (kib * 1024 / 10 * 7).max(2 * GIB),
        None => 4 * GIB,
    }
}

/// Why a statement did not run.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Planning or execution failed (includes refused statements and unknown tables).
    #[error(transparent)]
    Engine(#[from] datafusion::error::DataFusionError),
    /// The query ran longer than the limit.
    #[error("query exceeded the time limit of {0:?}")]
    Timeout(Duration),
    /// An Arrow conversion of a result failed.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// The async runtime could not start.
    #[error("cannot start the query runtime: {0}")]
    Runtime(std::io::Error),
    /// A work file or folder could not be written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or folder.
        path: std::path::PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Table functions that DataFusion registers by default and that rules must not have.
const REMOVED_TABLE_FUNCTIONS: &[&str] = &["generate_series", "range"];

/// A restricted DataFusion session plus the runtime that drives it.
pub struct Sandbox {
    ctx: SessionContext,
    runtime: std::sync::Mutex<Arc<tokio::runtime::Runtime>>,
    limits: Limits,
    /// Memory held by each in-memory table, reserved in the session's memory pool so that the
    /// operators of later queries spill or fail by name before the process runs out of memory.
    held: std::sync::Mutex<std::collections::HashMap<String, datafusion::execution::memory_pool::MemoryReservation>>,
}

impl Sandbox {
    /// A new empty sandbox. The builds of a chain of joins run side by side (`eager`).
    pub fn new(limits: Limits) -> Result<Sandbox, SandboxError> {
        Sandbox::build(limits, true)
    }

    /// A new empty sandbox for tables that stream from files (a run with `--landing`), where
    /// memory comes before speed: the builds of a chain of joins run one after the other, not
    /// side by side (`eager`). At 5 M PNRs side by side they raised the views' peak from 9.5 to
    /// 11.8 GiB and took no less time (docs/performance.md, change 39).
    pub fn new_memory_first(limits: Limits) -> Result<Sandbox, SandboxError> {
        Sandbox::build(limits, false)
    }

    fn build(limits: Limits, joins_side_by_side: bool) -> Result<Sandbox, SandboxError> {
        let runtime_env = RuntimeEnvBuilder::new()
            // Greedy, not fair: a fair pool splits the limit evenly among every spillable operator
            // of a plan, and the traveller_journey view has dozens of aggregates, so one of them
            // failed at 67 MB of a 4 GB pool on 34,000 travellers. The tracking wrapper names the
            // largest consumers when the limit is reached.
            .with_memory_pool(Arc::new(TrackConsumersPool::new(
                GreedyMemoryPool::new(limits.memory_bytes),
                std::num::NonZeroUsize::new(5).unwrap_or(std::num::NonZeroUsize::MIN),
            )))
            .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(DiskManagerMode::OsTmpDirectory))
            .build_arc()?;
        let mut config = SessionConfig::new()
            .with_target_partitions(limits.threads.max(1))
            .with_information_schema(false)
            .with_create_default_catalog_and_schema(true);
        // Join sides by estimated size. Without it DataFusion estimates nothing for a join's
        // output, never swaps a join's sides, and builds the hash table of every LEFT JOIN of
        // traveller_journey's final SELECT on the growing left side (171,314 rows and up to a
        // hundred columns at 100,000 PNRs), collected again for each of the twenty joins. With
        // the registry the joined tables, a few columns each, are built and the rest streams
        // past them: the final SELECT fell from 5.3 to 3.2 s at 100,000 PNRs, with the same rows.
        config.options_mut().optimizer.use_statistics_registry = true;
        // Every hash join builds one table on its smaller side and streams the other side past it
        // in the partitions that side already has. By default, a join whose smaller side has more
        // than 128 Ki rows or 1 MiB hash-partitions both sides first, which copies every column of
        // both (the growing traveller rows of traveller_journey, twenty times). At 1 M PNRs the
        // views took a fifth less CPU time and the run 430 MiB less at its peak, with the same
        // rows (docs/performance.md, change 28). Each build is one task, so the wall time gained
        // less: 4% at 1 M, and at 100 k it lost a tenth. The builds of a chain of joins now run
        // side by side, except where memory comes first (`eager`, change 39).
        config.options_mut().optimizer.hash_join_single_partition_threshold = usize::MAX;
        config.options_mut().optimizer.hash_join_single_partition_threshold_rows = usize::MAX;
        // A filter whose effect DataFusion cannot estimate is taken to keep every row, not a fifth
        // (its default). The views' filters keep most rows (flown air segments, API passengers),
        // and with a fifth, over a landing set, `air` built its hash table on the legs (486,100
        // rows at 100,000 PNRs, 58 MB) instead of the 100,000 latest PNR versions, and
        // `latest_payment` on the payments (41 MB).
        config.options_mut().optimizer.default_filter_selectivity = 100;
        // The same statistics, with a Parquet scan's size known (see `scan_size`).
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime_env)
            .with_default_features()
            .with_statistics_registry(super::scan_size::registry());
        if joins_side_by_side {
            // The builds of a chain of joins side by side, not one after the other (see `eager`).
            state = state.with_physical_optimizer_rule(Arc::new(super::eager::StartJoinsEarly));
        }
        // Last: AND and OR over only the columns they read (see `narrow`).
        let state = state.with_physical_optimizer_rule(Arc::new(super::narrow::NarrowLogicalInputs)).build();
        let ctx = SessionContext::new_with_state(state);
        for f in REMOVED_TABLE_FUNCTIONS {
            ctx.deregister_udtf(f);
        }
        for f in super::udf::NONDETERMINISTIC {
            ctx.deregister_udf(f);
        }
        for f in super::udf::all() {
            ctx.register_udf(f);
        }
        let runtime = std::sync::Mutex::new(Arc::new(build_runtime(limits.threads)?));
        Ok(Sandbox { ctx, runtime, limits, held: Default::default() })
    }

    /// The options every SQL text from a pack runs with: no DDL, no DML, no statements.
    pub fn options() -> SQLOptions {
        SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false)
    }

    /// The underlying session, for registering tables.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Registers in-memory batches as table `name` (replacing one of that name).
    ///
    /// Field and table metadata (the landing columns' descriptions) are left out: SQL sees only
    /// names and types. DataFusion 55 fails with an internal error ("Physical input schema should
    /// be the same as the one converted from logical input schema") on a UNION of two columns
    /// whose descriptions differ, such as `dep_airport` and `arr_airport`, under an aggregate.
    pub fn register_batches(&self, name: &str, batches: Vec<RecordBatch>) -> Result<(), SandboxError> {
        let batches = without_metadata(batches)?;
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => {
                return Err(SandboxError::Engine(datafusion::error::DataFusionError::Plan(format!(
                    "table {name} has no schema"
                ))));
            }
        };
        let batches = with_own_buffers(name, batches)?;
        // One partition per worker thread, so that scans of the table run in parallel.
        let n = self.limits.threads.clamp(1, batches.len().max(1));
        let mut partitions: Vec<Vec<RecordBatch>> = vec![Vec::new(); n];
        for (i, b) in batches.into_iter().enumerate() {
            partitions[i % n].push(b);
        }
        let bytes = held_bytes(partitions.iter().flatten());
        let table = datafusion::datasource::MemTable::try_new(schema, partitions)?;
        self.deregister(name)?;
        self.ctx.register_table(name, Arc::new(table))?;
        // The pool tracks what operators hold, not tables; reserving the table's size there keeps
        // the limit meaningful when the tables themselves take most of it.
        let pool = self.ctx.runtime_env().memory_pool.clone();
        let reservation =
            datafusion::execution::memory_pool::MemoryConsumer::new(format!("table {name}")).register(&pool);
        reservation.grow(bytes);
        if let Ok(mut held) = self.held.lock() {
            held.insert(name.to_string(), reservation);
        }
        Ok(())
    }

    /// Removes table `name` (if registered) and releases the memory it held in the pool.
    pub fn deregister(&self, name: &str) -> Result<(), SandboxError> {
        self.ctx.deregister_table(name)?;
        if let Ok(mut held) = self.held.lock() {
            held.remove(name);
        }
        Ok(())
    }

    /// Registers the result of `select` (restricted SQL) as view `name`: a query that reads it
    /// plans it in.
    pub fn register_view(&self, name: &str, select: &str) -> Result<(), SandboxError> {
        let df = self.block(async { self.ctx.sql_with_options(select, Self::options()).await })??;
        self.ctx.deregister_table(name)?;
        self.ctx.register_table(name, df.into_view())?;
        Ok(())
    }

    /// Runs restricted SQL and collects the result, under the time limit.
    ///
    /// The query runs as a task on the session's worker threads while this thread waits with a
    /// plain deadline: a CPU-bound plan (a huge cross join) may not yield to a timer for a long
    /// time, so an async timeout around it would never fire. On timeout the task is aborted, and
    /// because such a plan only notices the abort at its next yield, the session moves to fresh
    /// worker threads so that the rest of the run is not starved by it.
    pub fn query(&self, sql: &str) -> Result<Vec<RecordBatch>, SandboxError> {
        self.query_in(sql, self.limits.threads)
    }

    /// [`Sandbox::query`] with the plan split into `partitions` partitions (at least one, at most
    /// one per thread) instead of one per thread: for a query that runs beside others, which
    /// keep the other threads busy.
    pub fn query_in(&self, sql: &str, partitions: usize) -> Result<Vec<RecordBatch>, SandboxError> {
        self.plan_query_in(self.logical_plan(sql)?, sql, partitions)
    }

    /// [`Sandbox::query_in`] for a logical plan made from restricted SQL, `sql`, which the trace
    /// names: a caller that has planned the SQL already does not plan it again.
    pub fn plan_query_in(
        &self,
        plan: datafusion::logical_expr::LogicalPlan,
        sql: &str,
        partitions: usize,
    ) -> Result<Vec<RecordBatch>, SandboxError> {
        let sql = sql.to_string();
        self.with_deadline(partitions, move |ctx| async move {
            let df = ctx.execute_logical_plan(plan).await?;
            if tracing::enabled!(tracing::Level::TRACE) {
                // `RUST_LOG=paxrisk::rules::sandbox=trace`: the plan of every query run here (and
                // in `query_to_parquet`) with the time and rows of each operator.
                let plan = df.create_physical_plan().await?;
                let batches = datafusion::physical_plan::collect(plan.clone(), ctx.task_ctx()).await?;
                trace_executed(&sql, plan.as_ref());
                return Ok(batches);
            }
            Ok(df.collect().await?)
        })
    }

    /// Runs restricted SQL and writes its result as Parquet files into `dir` (created; one file
    /// per output partition, written as the rows come), under the time limit. Returns the rows
    /// written and their schema. Nothing of the result is held in memory beyond a row group per
    /// partition.
    pub fn query_to_parquet(&self, sql: &str, dir: &Path) -> Result<(usize, SchemaRef), SandboxError> {
        let plan = self.logical_plan(sql)?;
        self.plan_to_parquet(plan, sql, dir, "part")
    }

    /// [`Sandbox::query_to_parquet`] for a logical plan (made from restricted SQL, `sql`, which
    /// the trace names): its files are `dir/<prefix>-<partition>.parquet`.
    pub fn plan_to_parquet(
        &self,
        plan: datafusion::logical_expr::LogicalPlan,
        sql: &str,
        dir: &Path,
        prefix: &str,
    ) -> Result<(usize, SchemaRef), SandboxError> {
        self.plan_to_parquet_in(plan, sql, dir, prefix, self.limits.threads)
    }

    /// [`Sandbox::plan_to_parquet`] in `partitions` partitions, as [`Sandbox::query_in`].
    pub fn plan_to_parquet_in(
        &self,
        plan: datafusion::logical_expr::LogicalPlan,
        sql: &str,
        dir: &Path,
        prefix: &str,
        partitions: usize,
    ) -> Result<(usize, SchemaRef), SandboxError> {
        use futures::StreamExt;
        std::fs::create_dir_all(dir).map_err(|source| SandboxError::Io { path: dir.to_path_buf(), source })?;
        let (sql, dir, prefix) = (sql.to_string(), dir.to_path_buf(), prefix.to_string());
        self.with_deadline(partitions, move |ctx| async move {
            let df = ctx.execute_logical_plan(plan).await?;
            let plan = df.create_physical_plan().await?;
            let schema = plan.schema();
            let streams = datafusion::physical_plan::execute_stream_partitioned(plan.clone(), ctx.task_ctx())?;
            let mut tasks = Vec::new();
            for (i, mut stream) in streams.into_iter().enumerate() {
                let (schema, path) = (schema.clone(), dir.join(format!("{prefix}-{i:03}.parquet")));
                tasks.push(tokio::spawn(async move {
                    let file = std::fs::File::create(&path)
                        .map_err(|source| SandboxError::Io { path: path.clone(), source })?;
                    // A work file that cannot be written (a full disk: work files are uncompressed)
                    // is named in the error, not only the query.
                    let failed = |e: parquet::errors::ParquetError| SandboxError::Io {
                        path: path.clone(),
                        source: std::io::Error::other(e),
                    };
                    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, Some(work_file_properties()))
                        .map_err(failed)?;
                    let mut rows = 0;
                    while let Some(batch) = stream.next().await {
                        let batch = batch?;
                        rows += batch.num_rows();
                        w.write(&batch).map_err(failed)?;
                    }
                    w.close().map_err(failed)?;
                    Ok::<usize, SandboxError>(rows)
                }));
            }
            let mut rows = 0;
            for t in tasks {
                rows += t.await.map_err(|e| SandboxError::Runtime(std::io::Error::other(e)))??;
            }
            // As in `query`, for a run over a landing set.
            trace_executed(&sql, plan.as_ref());
            Ok((rows, schema))
        })
    }

    /// Registers the Parquet files in `dir` (written by [`Sandbox::query_to_parquet`]) as table
    /// `name` with `schema`, replacing one of that name. Its scans stream from disk.
    pub fn register_parquet_dir(&self, name: &str, dir: &Path, schema: SchemaRef) -> Result<(), SandboxError> {
        self.register_listing(name, dir, ".parquet", without_schema_metadata(&schema), None)
    }

    /// Registers a folder of Parquet files as table `name`: the files whose names end in
    /// `suffix`, with `file_schema`, plus a Hive partition column (`<column>=<value>` folders,
    /// read as text) when given. Replaces a table of that name.
    pub fn register_listing(
        &self,
        name: &str,
        dir: &Path,
        suffix: &str,
        file_schema: SchemaRef,
        partition: Option<&str>,
    ) -> Result<(), SandboxError> {
        use datafusion::datasource::file_format::parquet::ParquetFormat;
        use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
        // A trailing slash makes the URL a folder even when it does not exist yet (no files).
        let url = format!("{}/", dir.display());
        let url = ListingTableUrl::parse(&url)?;
        let mut options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(suffix);
        if let Some(column) = partition {
            options = options.with_table_partition_cols(vec![(column.to_string(), DataType::Utf8)]);
        }
        let config = ListingTableConfig::new(url).with_listing_options(options).with_schema(file_schema);
        let table = ListingTable::try_new(config)?;
        self.deregister(name)?;
        self.ctx.register_table(name, Arc::new(table))?;
        Ok(())
    }

    /// The session with its plans split into `partitions` partitions (at least one, at most one
    /// per thread). It shares the tables, functions, memory pool and optimiser rules of the
    /// sandbox's own session, which it is when `partitions` is one per thread.
    fn session(&self, partitions: usize) -> SessionContext {
        let threads = self.limits.threads.max(1);
        let partitions = partitions.clamp(1, threads);
        if partitions == threads {
            return self.ctx.clone();
        }
        let mut state = self.ctx.state();
        state.config_mut().options_mut().execution.target_partitions = partitions;
        SessionContext::new_with_state(state)
    }

    /// Runs `job` with the session in `partitions` partitions (see [`Sandbox::session`]) on the
    /// session's worker threads while this thread waits with a plain deadline.
    fn with_deadline<T, F, Fut>(&self, partitions: usize, job: F) -> Result<T, SandboxError>
    where
        T: Send + 'static,
        F: FnOnce(SessionContext) -> Fut,
        Fut: std::future::Future<Output = Result<T, SandboxError>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        let runtime = self.current_runtime();
        let fut = job(self.session(partitions));
        let task = runtime.spawn(async move {
            let _ = tx.send(fut.await);
        });
        match rx.recv_timeout(self.limits.timeout) {
            Ok(result) => result,
            Err(_) => {
                task.abort();
                drop(runtime);
                let fresh = Arc::new(build_runtime(self.limits.threads)?);
                let old = match self.runtime.lock() {
                    Ok(mut guard) => std::mem::replace(&mut *guard, fresh),
                    Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), fresh),
                };
                if let Ok(old) = Arc::try_unwrap(old) {
                    old.shutdown_background();
                }
                Err(SandboxError::Timeout(self.limits.timeout))
            }
        }
    }

    fn current_runtime(&self) -> Arc<tokio::runtime::Runtime> {
        match self.runtime.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Plans restricted SQL without running it: the check that a rule compiles.
    pub fn plan(&self, sql: &str) -> Result<arrow::datatypes::SchemaRef, SandboxError> {
        let df = self.block(async { self.ctx.sql_with_options(sql, Self::options()).await })??;
        Ok(Arc::new(df.schema().as_arrow().clone()))
    }

    /// `plan` as the session's optimiser leaves it.
    pub fn optimise(
        &self,
        plan: &datafusion::logical_expr::LogicalPlan,
    ) -> Result<datafusion::logical_expr::LogicalPlan, SandboxError> {
        Ok(self.ctx.state().optimize(plan)?)
    }

    /// The logical plan of restricted SQL, before optimisation (for lints that inspect it, and
    /// for [`Sandbox::plan_to_parquet`]).
    pub fn logical_plan(&self, sql: &str) -> Result<datafusion::logical_expr::LogicalPlan, SandboxError> {
        let df = self.block(async { self.ctx.sql_with_options(sql, Self::options()).await })??;
        Ok(df.logical_plan().clone())
    }

    /// Registers an empty table with `schema` as `name`.
    pub fn register_empty(&self, name: &str, schema: arrow::datatypes::SchemaRef) -> Result<(), SandboxError> {
        self.register_batches(name, vec![RecordBatch::new_empty(schema)])
    }

    /// Changes the time limit of later queries (views may need longer than a single rule).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.limits.timeout = timeout;
    }

    /// The limits the sandbox runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn block<T>(&self, fut: impl std::future::Future<Output = T>) -> Result<T, SandboxError> {
        let limit = self.limits.timeout;
        self.current_runtime()
            .block_on(async { tokio::time::timeout(limit, fut).await.map_err(|_| SandboxError::Timeout(limit)) })
    }
}

fn build_runtime(threads: usize) -> Result<tokio::runtime::Runtime, SandboxError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name("paxrisk-sql")
        .enable_time()
        .build()
        .map_err(SandboxError::Runtime)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    fn sandbox() -> Sandbox {
        let s = Sandbox::new(Limits { memory_bytes: 64 * 1024 * 1024, timeout: Duration::from_secs(20), threads: 2 })
            .unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from(vec![1, 2])), Arc::new(StringArray::from(vec![Some("A"), None]))],
        )
        .unwrap();
        s.register_batches("t", vec![batch]).unwrap();
        s
    }

    fn refused(s: &Sandbox, sql: &str) -> String {
        match s.query(sql) {
            Ok(_) => panic!("{sql} was not refused"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn plain_selects_and_views_work() {
        let s = sandbox();
        s.register_view("v", "SELECT id * 10 AS x FROM t").unwrap();
        let rows: usize = s.query("SELECT x FROM v WHERE x > 10").unwrap().iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 1);
    }

    #[test]
    fn ddl_dml_copy_and_set_are_refused() {
        let s = sandbox();
        let tmp = std::env::temp_dir().join(format!("paxrisk-sandbox-{}.csv", std::process::id()));
        let copy = refused(&s, &format!("COPY t TO '{}'", tmp.display()));
        assert!(copy.contains("not supported") || copy.contains("DML"), "{copy}");
        assert!(!tmp.exists(), "COPY must not write a file");
        assert!(refused(&s, "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'").contains("DDL"));
        assert!(refused(&s, "INSERT INTO t VALUES (3, 'C')").contains("DML"));
        assert!(refused(&s, "SET datafusion.execution.batch_size = 1").contains("Statement"));
        assert!(refused(&s, "CREATE VIEW w AS SELECT 1").contains("DDL"));
    }

    #[test]
    fn file_paths_and_unbounded_generators_are_refused() {
        let s = sandbox();
        let e = refused(&s, "SELECT * FROM '/etc/passwd'");
        assert!(e.contains("not found") || e.contains("table"), "{e}");
        let e = refused(&s, "SELECT * FROM generate_series(1, 1000000000000)");
        assert!(e.contains("generate_series"), "{e}");
        let e = refused(&s, "SELECT * FROM range(1, 1000000000000)");
        assert!(e.contains("range"), "{e}");
    }

    #[test]
    fn clock_and_random_functions_are_gone_and_paxrisk_functions_are_there() {
        let s = sandbox();
        for f in ["now()", "current_date()", "random()", "uuid()"] {
            let e = refused(&s, &format!("SELECT {f}"));
            assert!(e.contains("Invalid function") || e.contains("not found"), "{f}: {e}");
        }
        let rows = s.query("SELECT format('%s/%s', norm_name('Müller-Lüdenscheidt'), 11.7333) AS x").unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&rows).unwrap().to_string();
        assert!(text.contains("MULLERLUDENSCHEIDT/11.73"), "{text}");
    }

    /// The table a hash join collects (its build side, the join's first child) for `sql`.
    fn build_side(s: &Sandbox, sql: &str) -> Vec<String> {
        build_side_in(&s.context().clone(), s, sql)
    }

    /// [`build_side`] with the plan made by `ctx`, run on `s`'s threads.
    fn build_side_in(ctx: &SessionContext, s: &Sandbox, sql: &str) -> Vec<String> {
        let plan = s
            .block(async {
                let df = ctx.sql_with_options(sql, Sandbox::options()).await?;
                df.create_physical_plan().await
            })
            .unwrap()
            .unwrap();
        let mut stack = vec![plan];
        while let Some(node) = stack.pop() {
            if node.name() == "HashJoinExec" {
                let build = node.children()[0].schema();
                return build.fields().iter().map(|f| f.name().clone()).collect();
            }
            stack.extend(node.children().into_iter().cloned());
        }
        panic!("no hash join in the plan of {sql}")
    }

    /// `n` rows of `id` and `k`, both 0 to n - 1.
    fn keys(n: i64) -> RecordBatch {
        RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from_iter_values(0..n)) as arrow::array::ArrayRef),
            ("k", Arc::new(Int64Array::from_iter_values(0..n)) as arrow::array::ArrayRef),
        ])
        .unwrap()
    }

    /// `n` rows of `id` and three text columns of ten bytes.
    fn wide(n: i64) -> RecordBatch {
        let text = |c: &str| -> arrow::array::ArrayRef {
            Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("{c}{i:09}"))))
        };
        RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from_iter_values(0..n)) as arrow::array::ArrayRef),
            ("a", text("a")),
            ("b", text("b")),
            ("c", text("c")),
        ])
        .unwrap()
    }

    #[test]
    fn a_table_of_slices_is_sized_by_what_it_holds_and_a_join_builds_on_the_smaller_side() {
        let s = Sandbox::new(Limits { memory_bytes: 256 * 1024 * 1024, timeout: Duration::from_secs(20), threads: 2 })
            .unwrap();
        s.register_batches("w", vec![wide(50_000)]).unwrap();
        // An aggregate's result: one batch of every group, handed on in slices of 8,192 rows, each
        // of which points into the whole of its buffers.
        let whole = keys(50_000);
        let slices: Vec<RecordBatch> =
            (0..50_000).step_by(8_192).map(|at| whole.slice(at, 8_192.min(50_000 - at))).collect();
        let counted: usize = slices.iter().map(RecordBatch::get_array_memory_size).sum();
        assert!(counted > 6 * 800_000, "the slices count their buffers {counted} bytes");
        s.register_batches("g", slices).unwrap();
        let plan = s.block(async { s.context().table("g").await?.create_physical_plan().await }).unwrap().unwrap();
        let stats = datafusion::physical_plan::statistics::StatisticsContext::new()
            .compute(plan.as_ref(), &datafusion::physical_plan::statistics::StatisticsArgs::new())
            .unwrap();
        let size = stats.total_byte_size;
        assert!(size.get_value().is_some_and(|&b| b < 2 * 800_000), "g's size is {size:?}");
        // The join builds on the two columns of g, not on the four of w.
        for sql in ["SELECT * FROM w JOIN g ON g.id = w.id", "SELECT * FROM g JOIN w ON w.id = g.id"] {
            assert_eq!(build_side(&s, sql), ["id", "k"], "{sql}");
        }
        // A filter is not taken to keep a fifth of the rows (DataFusion's default guess): most
        // filters of the views keep most rows, and with the guess the join below built on the
        // 50,000 rows of w, thought to be 10,000, rather than on the 40,000 of g2.
        s.register_batches("g2", vec![keys(40_000)]).unwrap();
        let sql = "SELECT * FROM w JOIN g2 ON g2.id = w.id WHERE w.a <> 'x'";
        assert_eq!(build_side(&s, sql), ["id", "k"], "{sql}");
    }

    #[test]
    fn a_join_of_parquet_tables_builds_on_the_side_with_fewer_bytes_not_fewer_rows() {
        let s = Sandbox::new(Limits { memory_bytes: 256 * 1024 * 1024, timeout: Duration::from_secs(20), threads: 2 })
            .unwrap();
        let dir = std::env::temp_dir().join(format!("paxrisk-scan-size-{}", std::process::id()));
        // w: 20,000 rows of four columns, three of them text. g: twice the rows, two numbers.
        s.register_batches("w_mem", vec![wide(20_000)]).unwrap();
        s.register_batches("g_mem", vec![keys(40_000)]).unwrap();
        for (name, from) in [("w", "w_mem"), ("g", "g_mem")] {
            let (_, schema) = s.query_to_parquet(&format!("SELECT * FROM {from}"), &dir.join(name)).unwrap();
            s.register_parquet_dir(name, &dir.join(name), schema).unwrap();
        }
        for sql in ["SELECT * FROM w JOIN g ON g.id = w.id", "SELECT * FROM g JOIN w ON w.id = g.id"] {
            assert_eq!(build_side(&s, sql), ["id", "k"], "{sql}");
        }
        // Without the scans' sizes the choice is by rows, and the side with fewer rows is w.
        let plain = SessionContext::new_with_config(s.context().copied_config());
        for name in ["w", "g"] {
            let url = format!("{}/", dir.join(name).display());
            s.block(plain.register_parquet(name, &url, Default::default())).unwrap().unwrap();
        }
        let sql = "SELECT * FROM g JOIN w ON w.id = g.id";
        assert_eq!(build_side_in(&plain, &s, sql), ["id", "a", "b", "c"], "without sizes, {sql}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_query_in_fewer_partitions_has_the_same_rows_and_the_sessions_settings() {
        let s = Sandbox::new(Limits { memory_bytes: 256 * 1024 * 1024, timeout: Duration::from_secs(20), threads: 2 })
            .unwrap();
        let w = wide(50_000);
        // Two batches: one in each of the table's two partitions.
        s.register_batches("w", vec![w.slice(0, 25_000), w.slice(25_000, 25_000)]).unwrap();
        let dir = std::env::temp_dir().join(format!("paxrisk-partitions-{}", std::process::id()));
        let sql = "SELECT id % 10 AS d, COUNT(*) AS n, MIN(a) AS a FROM w GROUP BY id % 10";
        // A grouping's result comes in one partition per thread, or in one; never more than one
        // per thread.
        for (partitions, files) in [(2, 2), (1, 1), (0, 1), (5, 2)] {
            let out = dir.join(format!("p{partitions}"));
            let (rows, _) = s.plan_to_parquet_in(s.logical_plan(sql).unwrap(), sql, &out, "part", partitions).unwrap();
            assert_eq!(rows, 10, "{partitions} partitions");
            assert_eq!(std::fs::read_dir(&out).unwrap().count(), files, "{partitions} partitions");
        }
        std::fs::remove_dir_all(&dir).unwrap();
        let rows = |partitions: usize| {
            let batches = s.query_in(&format!("{sql} ORDER BY d"), partitions).unwrap();
            arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string()
        };
        assert_eq!(rows(1), rows(2));
        assert!(rows(1).contains("| 9 | 5000 | a000000009 |"), "{}", rows(1));
        // The session of one partition sees a table registered after it was first made, and plans
        // with the sandbox's settings: this join builds on g2 only because a filter is not taken
        // to keep a fifth of the rows (see the test of join sides above).
        let one = s.session(1);
        s.register_batches("g2", vec![keys(40_000)]).unwrap();
        let sql = "SELECT * FROM w JOIN g2 ON g2.id = w.id WHERE w.a <> 'x'";
        assert_eq!(build_side_in(&one, &s, sql), ["id", "k"], "{sql}");
        assert_eq!(one.copied_config().target_partitions(), 1);
    }

    #[test]
    fn work_files_are_neither_compressed_nor_dictionary_encoded() {
        let s = sandbox();
        s.register_batches("w", vec![wide(1_000)]).unwrap();
        let dir = std::env::temp_dir().join(format!("paxrisk-work-encoding-{}", std::process::id()));
        let (rows, _) = s.query_to_parquet("SELECT id, a, 'same' AS b FROM w", &dir).unwrap();
        assert_eq!(rows, 1_000);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let file = std::fs::File::open(entry.unwrap().path()).unwrap();
            let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
            use parquet::file::reader::FileReader;
            for group in reader.metadata().row_groups() {
                for column in group.columns() {
                    assert_eq!(column.compression(), parquet::basic::Compression::UNCOMPRESSED);
                    assert!(column.dictionary_page_offset().is_none(), "{:?}", column.column_path());
                }
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_work_file_that_cannot_be_written_is_named_in_the_error() {
        let s = sandbox();
        let dir = std::env::temp_dir().join(format!("paxrisk-work-full-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A disk that is full: every write to /dev/full fails with "no space left on device".
        let file = dir.join("full-000.parquet");
        std::os::unix::fs::symlink("/dev/full", &file).unwrap();
        let sql = "SELECT id, name FROM t";
        let e = s.plan_to_parquet_in(s.logical_plan(sql).unwrap(), sql, &dir, "full", 1).unwrap_err().to_string();
        assert!(e.contains(&file.display().to_string()), "{e}");
        assert!(e.to_lowercase().contains("no space"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn in_memory_tables_hold_their_size_in_the_pool_until_removed() {
        let s = Sandbox::new(Limits::default()).unwrap();
        let pool = s.context().runtime_env().memory_pool.clone();
        let before = pool.reserved();
        let values: Vec<i64> = (0..100_000).collect();
        let batch = RecordBatch::try_from_iter([(
            "x",
            Arc::new(arrow::array::Int64Array::from(values)) as arrow::array::ArrayRef,
        )])
        .unwrap();
        s.register_batches("t", vec![batch]).unwrap();
        assert!(pool.reserved() >= before + 800_000, "{} reserved", pool.reserved());
        // Replacing the table replaces its reservation; removing it releases it.
        s.register_batches("t", vec![RecordBatch::new_empty(s.plan("SELECT x FROM t").unwrap())]).unwrap();
        assert!(pool.reserved() < before + 1_000, "{} reserved", pool.reserved());
        s.deregister("t").unwrap();
        assert_eq!(pool.reserved(), before);
    }
}
