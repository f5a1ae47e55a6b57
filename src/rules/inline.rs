//! CTEs not worth a table of their own.
//!
//! A view's CTEs are each computed once into a table (see [`super::cte`]). For a CTE that only
//! adds a few columns to the rows of one table, or drops some of its rows, that costs more than
//! it saves: each row is copied into a new table (over a landing set, written to a Parquet work
//! file and read back) for work its readers could do as they read. At 5 million PNRs `stops`
//! (three booleans over the 11.8 million rows of `gaps`) took 7.7 s as a table, and `trav_age`
//! (two over 8.6 million travellers) 9.2 s. Such a CTE is registered as a view instead: each
//! query that reads it plans it in, as DataFusion does with a CTE written inside a query.
//!
//! Only what is certainly no more work is inlined: a CTE whose plan computes each row from one
//! row of one table (projections, filters and aliases over one scan, no join, grouping, window,
//! sort, limit or subquery), and, when more than one query reads it, whose expressions are cheap
//! to repeat (columns, constants, comparisons, arithmetic, `CASE`, casts, `IN` lists,
//! `COALESCE`, `NULLIF`), so that no function or pattern match runs twice on a row.

use datafusion::common::tree_node::TreeNode;
use datafusion::logical_expr::{Expr, LogicalPlan};

/// Whether a CTE planned as `plan` and read by `readers` queries is better inlined into them
/// than computed into a table (see the module's documentation).
pub fn worth_inlining(plan: &LogicalPlan, readers: usize) -> bool {
    row_wise(plan) && (readers <= 1 || cheap_throughout(plan))
}

/// Whether each row of `plan` is computed from one row of one table.
fn row_wise(plan: &LogicalPlan) -> bool {
    let no_subquery = || plan.expressions().iter().all(|e| !has_subquery(e));
    match plan {
        LogicalPlan::Projection(p) => no_subquery() && row_wise(&p.input),
        LogicalPlan::Filter(f) => no_subquery() && row_wise(&f.input),
        LogicalPlan::SubqueryAlias(a) => row_wise(&a.input),
        LogicalPlan::TableScan(scan) => scan.fetch.is_none() && scan.filters.iter().all(|e| !has_subquery(e)),
        _ => false,
    }
}

fn has_subquery(expr: &Expr) -> bool {
    expr.exists(|e| {
        Ok(matches!(e, Expr::Exists(_) | Expr::InSubquery(_) | Expr::SetComparison(_) | Expr::ScalarSubquery(_)))
    })
    .unwrap_or(true)
}

/// Whether `expr` is cheap to compute once per reader: no function but `COALESCE` and `NULLIF`,
/// no pattern match.
fn cheap(expr: &Expr) -> bool {
    let costly = expr.exists(|e| {
        Ok(match e {
            Expr::Alias(_)
            | Expr::Column(_)
            | Expr::Literal(..)
            | Expr::BinaryExpr(_)
            | Expr::Not(_)
            | Expr::IsNotNull(_)
            | Expr::IsNull(_)
            | Expr::IsTrue(_)
            | Expr::IsFalse(_)
            | Expr::IsUnknown(_)
            | Expr::IsNotTrue(_)
            | Expr::IsNotFalse(_)
            | Expr::IsNotUnknown(_)
            | Expr::Negative(_)
            | Expr::Between(_)
            | Expr::Case(_)
            | Expr::Cast(_)
            | Expr::TryCast(_)
            | Expr::InList(_) => false,
            Expr::ScalarFunction(f) => !matches!(f.name(), "coalesce" | "nullif"),
            _ => true,
        })
    });
    !costly.unwrap_or(true)
}

/// Whether every expression of `plan` and of the plans below it is [`cheap`].
fn cheap_throughout(plan: &LogicalPlan) -> bool {
    plan.expressions().iter().all(cheap) && plan.inputs().into_iter().all(cheap_throughout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::prelude::SessionContext;
    use std::sync::Arc;

    fn plan(sql: &str) -> LogicalPlan {
        let ctx = SessionContext::new();
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("x", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        let batch = arrow::record_batch::RecordBatch::new_empty(schema);
        ctx.register_batch("t", batch.clone()).unwrap();
        ctx.register_batch("u", batch).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async { ctx.sql(sql).await.unwrap().logical_plan().clone() })
    }

    #[test]
    fn a_few_cheap_columns_over_one_table_are_inlined_whoever_reads_them() {
        let p = plan(
            "SELECT t.*, t.x > 3 AND t.s IS NOT NULL AS big, COALESCE(t.x < 18, t.s IN ('a', 'b')) AS minor FROM t",
        );
        assert!(worth_inlining(&p, 1));
        assert!(worth_inlining(&p, 9));
        let p = plan("SELECT k, CASE WHEN x BETWEEN 1 AND 2 THEN -x END AS y FROM t WHERE NOT (x IS NULL)");
        assert!(worth_inlining(&p, 4));
    }

    #[test]
    fn a_function_or_a_pattern_is_inlined_only_into_a_single_reader() {
        for sql in
            ["SELECT k, upper(s) AS u FROM t", "SELECT k FROM t WHERE s LIKE 'a%'", "SELECT k, abs(x) AS a FROM t"]
        {
            let p = plan(sql);
            assert!(worth_inlining(&p, 1), "{sql}");
            assert!(worth_inlining(&p, 0), "{sql}");
            assert!(!worth_inlining(&p, 2), "{sql}");
        }
    }

    #[test]
    fn joins_groupings_windows_sorts_limits_and_subqueries_make_a_table() {
        for sql in [
            "SELECT t.k FROM t JOIN u ON u.k = t.k",
            "SELECT k, COUNT(*) AS n FROM t GROUP BY k",
            "SELECT COUNT(*) AS n FROM t",
            "SELECT k, ROW_NUMBER() OVER () AS r FROM t",
            "SELECT DISTINCT k FROM t",
            "SELECT k FROM t ORDER BY k",
            "SELECT k FROM t LIMIT 5",
            "SELECT k FROM t WHERE k IN (SELECT k FROM u)",
            "SELECT k, (SELECT MAX(x) FROM u) AS m FROM t",
            "SELECT k FROM t UNION ALL SELECT k FROM u",
            "SELECT 1 AS one",
        ] {
            assert!(!worth_inlining(&plan(sql), 1), "{sql}");
        }
    }
}
