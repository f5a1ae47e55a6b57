//! Hash joins of a chain that build their tables side by side.
//!
//! A hash join that collects one side into a table (every join here: see `sandbox`) builds it
//! when its output is first read, on one task, and reads its other side only once the table is
//! built. In a chain of joins, as in the final SELECT of `traveller_journey` (ten joins over the
//! traveller rows), the outer join builds first, then asks the join below it for rows, which only
//! then starts its own build, and so on down: the builds run one after the other, each on one
//! thread, and the other core waits.
//!
//! [`StartJoinsEarly`], a physical optimiser rule, puts a [`StartEarly`] between each such join
//! and the side it streams when that side holds another hash join. `StartEarly` starts reading
//! its input as soon as it is executed, on a task of its own, and passes the batches on through a
//! channel of two. So every join of a chain starts building when the query starts, and the
//! builds run as many at a time as the session has threads. The rows, and their order within
//! each partition, are those of the input.
//!
//! Builds side by side hold their inputs and half-built tables at the same time: at 5 M PNRs with
//! `--landing` the views' peak rose from 9.5 to 11.8 GiB for no gain in time. A sandbox where
//! memory comes first (`Sandbox::new_memory_first`, a run over a landing set) goes without the
//! rule.

use std::fmt;
use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Result, Statistics, internal_err};
use datafusion::config::ConfigOptions;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::execution_plan::EvaluationType;
use datafusion::physical_plan::joins::{HashJoinExec, PartitionMode};
use datafusion::physical_plan::statistics::{ChildStats, StatisticsArgs};
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, replace_children_if_necessary,
};
use futures::StreamExt;

/// Batches a [`StartEarly`] reads ahead of its consumer, per partition.
const AHEAD: usize = 2;

/// Reads its input from the moment it is executed, not from the first time its output is read.
#[derive(Debug)]
pub struct StartEarly {
    input: Arc<dyn ExecutionPlan>,
    /// The input's, but eager: it reads ahead of its consumer.
    properties: Arc<PlanProperties>,
}

impl StartEarly {
    /// Wraps `input`.
    pub fn new(input: Arc<dyn ExecutionPlan>) -> StartEarly {
        let properties = PlanProperties::clone(input.properties()).with_evaluation_type(EvaluationType::Eager);
        StartEarly { input, properties: Arc::new(properties) }
    }
}

impl DisplayAs for StartEarly {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StartEarly")
    }
}

impl ExecutionPlan for StartEarly {
    fn name(&self) -> &str {
        "StartEarly"
    }

    /// The input's (the same rows, partitions, order and schema), but eager.
    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        match <[_; 1]>::try_from(children) {
            Ok([input]) => Ok(Arc::new(StartEarly::new(input))),
            Err(c) => internal_err!("StartEarly has one child, got {}", c.len()),
        }
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let mut input = self.input.execute(partition, context)?;
        let mut builder = RecordBatchReceiverStreamBuilder::new(input.schema(), AHEAD);
        let tx = builder.tx();
        // Aborted when the returned stream is dropped; stops when the stream is gone.
        builder.spawn(async move {
            while let Some(batch) = input.next().await {
                if tx.send(batch).await.is_err() {
                    break;
                }
            }
            Ok(())
        });
        Ok(builder.build())
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![ChildStats::At(partition)]
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        match input_stats.first() {
            Some(s) => Ok(Arc::clone(s)),
            None => internal_err!("StartEarly has one child"),
        }
    }
}

/// Whether `plan` holds a hash join, which builds a table when first read, that no
/// [`StartEarly`] (`plan` itself included) starts already.
fn holds_hash_join(plan: &Arc<dyn ExecutionPlan>) -> bool {
    let mut found = false;
    let _ = plan.apply(|node| {
        if node.downcast_ref::<HashJoinExec>().is_some() {
            found = true;
            return Ok(TreeNodeRecursion::Stop);
        }
        // Below a StartEarly, the joins start already.
        if node.downcast_ref::<StartEarly>().is_some() {
            return Ok(TreeNodeRecursion::Jump);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// The physical optimiser rule that puts a [`StartEarly`] before the streamed side of each hash
/// join that collects its other side, when the streamed side holds a hash join.
#[derive(Debug, Default)]
pub struct StartJoinsEarly;

impl PhysicalOptimizerRule for StartJoinsEarly {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(join) = node.downcast_ref::<HashJoinExec>() else { return Ok(Transformed::no(node)) };
            let streamed = join.right();
            if *join.partition_mode() != PartitionMode::CollectLeft || !holds_hash_join(streamed) {
                return Ok(Transformed::no(node));
            }
            let early = Arc::new(StartEarly::new(Arc::clone(streamed))) as Arc<dyn ExecutionPlan>;
            let left = Arc::clone(join.left());
            Ok(Transformed::yes(replace_children_if_necessary(Arc::clone(&node), vec![left, early])?))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "start_joins_early"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;
    use datafusion::datasource::MemTable;
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::SessionContext;

    use crate::rules::sandbox::{Limits, Sandbox};

    /// A table `name` of `rows` rows, ids 0, `step`, 2·`step`…, in two partitions of batches of
    /// 100 rows: `id` and a text column `<name>_text`.
    fn table(name: &str, rows: i64, step: i64) -> MemTable {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new(format!("{name}_text"), DataType::Utf8, false),
        ]));
        let mut partitions = vec![Vec::new(), Vec::new()];
        for (k, start) in (0..rows).step_by(100).enumerate() {
            let ids: Vec<i64> = (start..(start + 100).min(rows)).map(|i| i * step).collect();
            let texts = StringArray::from_iter_values(ids.iter().map(|i| format!("{name} {i}")));
            let columns: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(ids)), Arc::new(texts)];
            partitions[k % 2].push(RecordBatch::try_new(Arc::clone(&schema), columns).unwrap());
        }
        MemTable::try_new(schema, partitions).unwrap()
    }

    /// A sandbox of two threads with the four tables of the tests: the in-memory one (with the
    /// rule) when `early`, the memory-first one (without it) otherwise.
    fn sandbox(early: bool) -> Sandbox {
        let limits = Limits { threads: 2, ..Limits::default() };
        let sandbox = if early { Sandbox::new(limits) } else { Sandbox::new_memory_first(limits) }.unwrap();
        let ctx = sandbox.context();
        ctx.register_table("t", Arc::new(table("t", 2000, 1))).unwrap();
        ctx.register_table("a", Arc::new(table("a", 700, 2))).unwrap();
        ctx.register_table("b", Arc::new(table("b", 500, 3))).unwrap();
        ctx.register_table("c", Arc::new(table("c", 1900, 1))).unwrap();
        sandbox
    }

    /// Runs `sql` on a runtime of two threads: the plan as text, and the rows or the error.
    fn run(ctx: &SessionContext, sql: &str) -> (String, Result<Vec<RecordBatch>>) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async {
            let df = ctx.sql(sql).await.unwrap();
            let plan = df.clone().create_physical_plan().await.unwrap();
            (displayable(plan.as_ref()).indent(true).to_string(), df.collect().await)
        })
    }

    const CHAIN: &str = "SELECT t.id, t.t_text, a.a_text, b.b_text, c.c_text FROM t \
                         LEFT JOIN a ON a.id = t.id LEFT JOIN b ON b.id = t.id JOIN c ON c.id = t.id";

    #[test]
    fn a_chain_of_joins_starts_early_in_memory_only_and_gives_the_same_rows() {
        let sql = format!("{CHAIN} ORDER BY t.id");
        let (plain_plan, plain) = run(sandbox(false).context(), &sql);
        let (early_plan, early) = run(sandbox(true).context(), &sql);
        // Where memory comes first, the joins build one after the other.
        assert!(!plain_plan.contains("StartEarly"), "{plain_plan}");
        // Three joins in a chain: the two above another join start the side they stream early.
        assert_eq!(early_plan.matches("StartEarly").count(), 2, "{early_plan}");
        let (plain, early) = (plain.unwrap(), early.unwrap());
        for batches in [&plain, &early] {
            assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1900);
        }
        assert_eq!(
            arrow::util::pretty::pretty_format_batches(&plain).unwrap().to_string(),
            arrow::util::pretty::pretty_format_batches(&early).unwrap().to_string()
        );
    }

    #[test]
    fn a_single_join_is_left_as_it_is() {
        let (plan, rows) = run(sandbox(true).context(), "SELECT t.id, a.a_text FROM t JOIN a ON a.id = t.id");
        assert!(!plan.contains("StartEarly"), "{plan}");
        assert_eq!(rows.unwrap().iter().map(|b| b.num_rows()).sum::<usize>(), 700);
    }

    #[test]
    fn an_error_below_a_started_join_reaches_the_query() {
        // The cast fails on every row of `b`, which the middle join builds on: below the outer
        // join, in a task of a StartEarly. Which row's error comes first depends on which of
        // `b`'s partitions is read first.
        let sql = "SELECT t.id, a.a_text, b.n, c.c_text FROM t LEFT JOIN a ON a.id = t.id \
                   LEFT JOIN (SELECT id, CAST(b_text AS BIGINT) AS n FROM b) b ON b.id = t.id \
                   JOIN c ON c.id = t.id";
        let (plan, rows) = run(sandbox(true).context(), sql);
        let early = plan.find("StartEarly").expect("the outer join starts its streamed side early");
        assert!(plan[early..].contains("CAST(b_text"), "{plan}");
        let err = rows.expect_err("the cast fails").to_string();
        assert!(err.contains("Cannot cast string 'b "), "{err}");
    }
}
