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

use std::sync::Arc;
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};

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
            memory_bytes: 4 * 1024 * 1024 * 1024,
            timeout: Duration::from_secs(600),
            threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        }
    }
}

/// Why a statement did not run.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Planning or execution failed (includes refused statements and unknown tables).
    #[error("{0}")]
    Engine(#[from] datafusion::error::DataFusionError),
    /// The query ran longer than the limit.
    #[error("query exceeded the time limit of {0:?}")]
    Timeout(Duration),
    /// The async runtime could not start.
    #[error("cannot start the query runtime: {0}")]
    Runtime(std::io::Error),
}

/// Table functions that DataFusion registers by default and that rules must not have.
const REMOVED_TABLE_FUNCTIONS: &[&str] = &["generate_series", "range"];

/// A restricted DataFusion session plus the runtime that drives it.
pub struct Sandbox {
    ctx: SessionContext,
    runtime: tokio::runtime::Runtime,
    limits: Limits,
}

impl Sandbox {
    /// A new empty sandbox.
    pub fn new(limits: Limits) -> Result<Sandbox, SandboxError> {
        let runtime_env = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(FairSpillPool::new(limits.memory_bytes)))
            .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(DiskManagerMode::OsTmpDirectory))
            .build_arc()?;
        let config = SessionConfig::new()
            .with_target_partitions(limits.threads.max(1))
            .with_information_schema(false)
            .with_create_default_catalog_and_schema(true);
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime_env)
            .with_default_features()
            .build();
        let ctx = SessionContext::new_with_state(state);
        for f in REMOVED_TABLE_FUNCTIONS {
            ctx.deregister_udtf(f);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(limits.threads.max(1))
            .enable_time()
            .build()
            .map_err(SandboxError::Runtime)?;
        Ok(Sandbox { ctx, runtime, limits })
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
    pub fn register_batches(&self, name: &str, batches: Vec<RecordBatch>) -> Result<(), SandboxError> {
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => {
                return Err(SandboxError::Engine(datafusion::error::DataFusionError::Plan(format!(
                    "table {name} has no schema"
                ))));
            }
        };
        let table = datafusion::datasource::MemTable::try_new(schema, vec![batches])?;
        self.ctx.deregister_table(name)?;
        self.ctx.register_table(name, Arc::new(table))?;
        Ok(())
    }

    /// Registers the result of `select` (restricted SQL) as view `name`.
    pub fn register_view(&self, name: &str, select: &str) -> Result<(), SandboxError> {
        let df = self.block(async { self.ctx.sql_with_options(select, Self::options()).await })??;
        self.ctx.deregister_table(name)?;
        self.ctx.register_table(name, df.into_view())?;
        Ok(())
    }

    /// Runs restricted SQL and collects the result, under the time limit.
    pub fn query(&self, sql: &str) -> Result<Vec<RecordBatch>, SandboxError> {
        self.block(async {
            let df = self.ctx.sql_with_options(sql, Self::options()).await?;
            df.collect().await
        })?
        .map_err(SandboxError::from)
    }

    /// Plans restricted SQL without running it: the check that a rule compiles.
    pub fn plan(&self, sql: &str) -> Result<arrow::datatypes::SchemaRef, SandboxError> {
        let df = self.block(async { self.ctx.sql_with_options(sql, Self::options()).await })??;
        Ok(Arc::new(df.schema().as_arrow().clone()))
    }

    fn block<T>(&self, fut: impl std::future::Future<Output = T>) -> Result<T, SandboxError> {
        let limit = self.limits.timeout;
        self.runtime
            .block_on(async { tokio::time::timeout(limit, fut).await.map_err(|_| SandboxError::Timeout(limit)) })
    }
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
}
