//! A query of joins computed in slices of one key, so that its hash joins hold a slice of each
//! table at a time.
//!
//! DataFusion's hash joins hold their whole build side in memory (and copy it once more while
//! they collect it). Over a landing set the final SELECT of `traveller_journey` builds on a row per
//! PNR and a row per traveller with a hundred columns between them: at 5 M PNRs that was the
//! run's peak. When every table a query reads has the same integer column, and every join of the
//! query equates that column on its two sides, the query's rows are the union of its rows over
//! disjoint ranges of that column, each computed from the rows of every table in the range: a row
//! of the result is made of rows that all hold one value of the column (an outer join's unmatched
//! row holds its own), and a row in one range only ever meets rows in the same range.
//! [`slice_column`] finds such a column; [`in_slice`] restricts every table of the query to one
//! range.

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, Result};
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, lit};

/// The column a query can be computed in slices of (see the module's documentation), looked for
/// in its optimised logical plan: a column of integers that every table the plan scans has and
/// that every join of the plan equates on its two sides, and that no projection makes of
/// anything but the column of that name below it (so that every column of that name in the plan
/// holds a scanned table's values). `None` when the plan holds anything but scans, joins,
/// filters, projections and aliases (an aggregate, a window, a sort, a limit or a union would see
/// only a slice's rows at a time), or when it has no join, or no such column. The first such
/// column in name order when there are several.
pub fn slice_column(plan: &LogicalPlan) -> Option<String> {
    // The integer columns of each scan, and the columns each join equates on its two sides.
    let mut sets: Vec<Vec<String>> = Vec::new();
    // Names a projection gives to something else than the column of that name.
    let mut made: Vec<String> = Vec::new();
    let mut joins = 0;
    let mut eligible = true;
    let _ = plan.apply(|node| {
        match node {
            LogicalPlan::Projection(projection) => {
                for (expr, field) in projection.expr.iter().zip(projection.schema.fields()) {
                    let name = field.name();
                    let passed_on = match expr {
                        Expr::Column(c) => &c.name == name,
                        Expr::Alias(a) => matches!(a.expr.as_ref(), Expr::Column(c) if &c.name == name),
                        _ => false,
                    };
                    if !passed_on {
                        made.push(name.clone());
                    }
                }
            }
            LogicalPlan::TableScan(scan) => {
                let schema = scan.source.schema();
                let integers = schema.fields().iter().filter(|f| f.data_type().is_integer());
                sets.push(integers.map(|f| f.name().clone()).collect());
            }
            LogicalPlan::Join(join) => {
                joins += 1;
                let equated = join.on.iter().filter_map(|pair| match pair {
                    (Expr::Column(a), Expr::Column(b)) if a.name == b.name => Some(a.name.clone()),
                    _ => None,
                });
                sets.push(equated.collect());
            }
            LogicalPlan::Filter(_) | LogicalPlan::SubqueryAlias(_) => {}
            _ => {
                eligible = false;
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    if !eligible || joins == 0 {
        return None;
    }
    let (first, rest) = sets.split_first()?;
    let mut names: Vec<String> =
        first.iter().filter(|n| rest.iter().all(|s| s.contains(n)) && !made.contains(n)).cloned().collect();
    names.sort_unstable();
    names.into_iter().next()
}

/// One range of a slice column: `from <= column < to`, either end open, and with the rows whose
/// column is NULL when `nulls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    /// Lowest value in the slice; `None`: no lower end.
    pub from: Option<i64>,
    /// First value past the slice; `None`: no upper end.
    pub to: Option<i64>,
    /// Whether the slice holds the rows whose column is NULL.
    pub nulls: bool,
}

impl Slice {
    /// `count` slices that together hold every value and NULL, the values from `min` to `max`
    /// split into ranges of equal width (the first open below, the last open above).
    pub fn split(min: i64, max: i64, count: usize) -> Vec<Slice> {
        let count = count.max(1);
        let width = ((max as i128 - min as i128 + 1) / count as i128).max(1);
        let bound = |k: usize| (min as i128 + width * k as i128).clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        (0..count)
            .map(|k| Slice {
                from: (k > 0).then(|| bound(k)),
                to: (k + 1 < count).then(|| bound(k + 1)),
                nulls: k == 0,
            })
            .collect()
    }

    /// The condition on `column`.
    fn condition(&self, column: Column) -> Expr {
        let value = || Expr::Column(column.clone());
        let range = match (self.from, self.to) {
            (Some(a), Some(b)) => value().gt_eq(lit(a)).and(value().lt(lit(b))),
            (Some(a), None) => value().gt_eq(lit(a)),
            (None, Some(b)) => value().lt(lit(b)),
            (None, None) => lit(true),
        };
        if self.nulls { range.or(value().is_null()) } else { range }
    }
}

/// `plan` with every table it scans restricted to the rows of `slice` in `column`.
pub fn in_slice(plan: LogicalPlan, column: &str, slice: Slice) -> Result<LogicalPlan> {
    plan.transform_up(|node| match node {
        LogicalPlan::TableScan(ref scan) => {
            let table = scan.table_name.clone();
            let filtered =
                LogicalPlanBuilder::from(node).filter(slice.condition(Column::new(Some(table), column)))?.build()?;
            Ok(Transformed::yes(filtered))
        }
        other => Ok(Transformed::no(other)),
    })
    .map(|t| t.data)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};

    use super::*;
    use crate::rules::sandbox::{Limits, Sandbox};

    /// Tables `a` (k, x), `b` (k, y) and `c` (j, z): keys 0 to 9, and a NULL key in `a`.
    fn sandbox() -> Sandbox {
        let s = Sandbox::new(Limits { memory_bytes: 64 << 20, timeout: Duration::from_secs(20), threads: 2 }).unwrap();
        let keys = |with_null: bool| -> ArrayRef {
            let mut k: Vec<Option<i64>> = (0..10).map(Some).collect();
            if with_null {
                k.push(None);
            }
            Arc::new(Int64Array::from(k))
        };
        let text = |p: &str, n: usize| -> ArrayRef {
            Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("{p}{i}"))))
        };
        let table = |key: &str, value: &str, with_null: bool| {
            let n = if with_null { 11 } else { 10 };
            RecordBatch::try_from_iter([(key, keys(with_null)), (value, text(value, n))]).unwrap()
        };
        s.register_batches("a", vec![table("k", "x", true)]).unwrap();
        s.register_batches("b", vec![table("k", "y", false).slice(0, 7)]).unwrap();
        s.register_batches("c", vec![table("j", "z", false)]).unwrap();
        s
    }

    fn column_of(s: &Sandbox, sql: &str) -> Option<String> {
        slice_column(&s.optimise(&s.logical_plan(sql).unwrap()).unwrap())
    }

    #[test]
    fn a_query_slices_by_a_column_every_table_has_and_every_join_equates() {
        let s = sandbox();
        assert_eq!(column_of(&s, "SELECT a.x, b.y FROM a JOIN b ON b.k = a.k").as_deref(), Some("k"));
        assert_eq!(
            column_of(&s, "SELECT a.x, b.y FROM a LEFT JOIN b ON b.k = a.k AND b.y = a.x").as_deref(),
            Some("k")
        );
        // A join on another column, a table without the column, an aggregate, no join at all.
        assert_eq!(column_of(&s, "SELECT a.x FROM a JOIN b ON b.y = a.x"), None);
        assert_eq!(column_of(&s, "SELECT a.x, c.z FROM a JOIN c ON c.j = a.k"), None);
        assert_eq!(column_of(&s, "SELECT a.k, COUNT(*) FROM a JOIN b ON b.k = a.k GROUP BY a.k"), None);
        assert_eq!(column_of(&s, "SELECT x FROM a WHERE k > 3"), None);
        // A `k` made of something else than the table's k: a range of b's k would not hold the
        // rows that meet a's k in the same range.
        let made = "SELECT a.x, bb.y FROM a JOIN (SELECT k + 1 AS k, y FROM b) bb ON bb.k = a.k";
        assert_eq!(column_of(&s, made), None);
        let renamed = "SELECT a.x, bb.y FROM a JOIN (SELECT k AS k, y FROM b) bb ON bb.k = a.k";
        assert_eq!(column_of(&s, renamed).as_deref(), Some("k"));
    }

    #[test]
    fn the_slices_of_a_query_hold_its_rows_once_each() {
        let s = sandbox();
        let dir = std::env::temp_dir().join(format!("paxrisk-slices-{}", std::process::id()));
        // The LEFT JOIN keeps a's rows without a match (keys 7 to 9) and its NULL key.
        let sql = "SELECT a.k, a.x, b.y FROM a LEFT JOIN b ON b.k = a.k";
        let plan = s.logical_plan(sql).unwrap();
        let slices = Slice::split(0, 9, 3);
        for (i, slice) in slices.iter().enumerate() {
            let sliced = in_slice(plan.clone(), "k", *slice).unwrap();
            s.plan_to_parquet(sliced, sql, &dir.join("sliced"), &format!("slice-{i}")).unwrap();
        }
        let (_, schema) = s.query_to_parquet(sql, &dir.join("whole")).unwrap();
        s.register_parquet_dir("sliced", &dir.join("sliced"), schema.clone()).unwrap();
        s.register_parquet_dir("whole", &dir.join("whole"), schema).unwrap();
        let rows = |t: &str| {
            let b = s.query(&format!("SELECT * FROM {t} ORDER BY k, x")).unwrap();
            arrow::util::pretty::pretty_format_batches(&b).unwrap().to_string()
        };
        assert_eq!(rows("sliced"), rows("whole"));
        assert!(rows("whole").contains("| x10 |"), "{}", rows("whole"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn slices_cover_every_value_and_null_once() {
        let slices = Slice::split(1, 10, 3);
        let holds = |s: &Slice, v: i64| s.from.is_none_or(|a| v >= a) && s.to.is_none_or(|b| v < b);
        for v in -5..20 {
            assert_eq!(slices.iter().filter(|s| holds(s, v)).count(), 1, "{v} in {slices:?}");
        }
        assert_eq!(slices.iter().filter(|s| s.nulls).count(), 1);
        assert_eq!(Slice::split(5, 5, 4).len(), 4, "a single value still gives the slices asked");
        assert_eq!(Slice::split(i64::MIN, i64::MAX, 2)[1].from, Some(0));
    }
}
