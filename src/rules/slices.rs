//! A query of joins and groupings computed in slices of one key, so that its hash joins and
//! group tables hold a slice at a time.
//!
//! DataFusion's hash joins hold their whole build side in memory (and copy it once more while
//! they collect it), and its groupings hold every group. Over a landing set the final SELECT of
//! `traveller_journey` builds on a row per PNR and a row per traveller with a hundred columns
//! between them: at 5 M PNRs that was the run's peak.
//!
//! A query can be computed in slices of an integer column (ranges of its values) when each part of
//! its plan is one of these:
//! - **sliced**: its rows are the union of its rows over the ranges, each computed from the rows
//!   in that range of the tables below it. A table that has the column is sliced; so is a join
//!   of two sliced parts that equates the column on its two sides (a row of the result is made of
//!   rows that all hold one value of it, and an outer join's unmatched row holds its own), a
//!   grouping of a sliced part by the column where it is never NULL (a group holds one value; an
//!   outer join's NULL-filled key would make a NULL group in several slices), and a union of
//!   sliced parts;
//! - **whole**: it reads no table that has the column, and is computed whole in every slice;
//! - a join of a sliced part and a whole one is sliced when it keeps no unmatched row of the whole
//!   side (an inner join, an outer join that keeps the sliced side's, a semi or anti join of the
//!   sliced side): each row of the result holds one sliced row, and each sliced row meets the
//!   whole part in its own slice.
//!
//! Above its last use the column may be left out of the rows (the query is then still sliced, but
//! nothing may join or group it again). Windows, sorts and limits see only a slice's rows, and
//! are refused. [`slice_column`] finds such a column; [`in_slice`] restricts every table that has
//! it to one range.

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, JoinType, NullEquality, Result};
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, TableScan, lit};

/// What a part of a plan is, for one column (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Sliced, and its rows hold the column.
    Sliced,
    /// Sliced, and its rows no longer hold the column.
    Hidden,
    /// Reads no table that has the column.
    Whole,
}

/// Whether `scan` reads a table that has `column`: the scans [`in_slice`] restricts, whether
/// or not the plan reads the column itself.
fn scans_column(scan: &TableScan, column: &str) -> bool {
    scan.source.schema().fields().iter().any(|f| f.name() == column)
}

/// What `plan` is for `column`; `None` when it cannot be computed in slices of it. Adds to `keyed`
/// each join of two sliced parts on the column and each grouping of a sliced part by it.
fn part(plan: &LogicalPlan, column: &str, keyed: &mut usize) -> Option<Part> {
    use Part::*;
    let passes_on = |expr: &Expr, name: &str| match expr {
        Expr::Column(c) => c.name == name,
        Expr::Alias(a) => matches!(a.expr.as_ref(), Expr::Column(c) if c.name == name),
        _ => false,
    };
    match plan {
        LogicalPlan::TableScan(scan) => {
            let schema = scan.source.schema();
            match schema.fields().iter().find(|f| f.name() == column) {
                // The optimiser leaves out of a scan the columns the query does not read.
                Some(f) if f.data_type().is_integer() => {
                    Some(if scan.projected_schema.fields().iter().any(|f| f.name() == column) {
                        Sliced
                    } else {
                        Hidden
                    })
                }
                Some(_) => None,
                None => Some(Whole),
            }
        }
        LogicalPlan::Filter(f) => part(&f.input, column, keyed),
        LogicalPlan::SubqueryAlias(a) => part(&a.input, column, keyed),
        LogicalPlan::Projection(projection) => {
            let fields = projection.expr.iter().zip(projection.schema.fields());
            let mut holds = false;
            for (expr, _) in fields.filter(|(_, f)| f.name() == column) {
                if !passes_on(expr, column) {
                    // A column of that name made of something else.
                    return None;
                }
                holds = true;
            }
            match part(&projection.input, column, keyed)? {
                Sliced if !holds => Some(Hidden),
                p => Some(p),
            }
        }
        LogicalPlan::Join(join) => {
            let left = part(&join.left, column, keyed)?;
            let right = part(&join.right, column, keyed)?;
            let keeps_unmatched_left = matches!(join.join_type, JoinType::Left | JoinType::Full);
            let keeps_unmatched_right = matches!(join.join_type, JoinType::Right | JoinType::Full);
            let left_rows_only = matches!(join.join_type, JoinType::LeftSemi | JoinType::LeftAnti);
            let right_rows_only = matches!(join.join_type, JoinType::RightSemi | JoinType::RightAnti);
            let plain = matches!(join.join_type, JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full);
            match (left, right) {
                (Whole, Whole) => Some(Whole),
                (Sliced, Sliced) => {
                    let equated = join.on.iter().any(|pair| {
                        matches!(pair, (Expr::Column(a), Expr::Column(b)) if a.name == column && b.name == column)
                    });
                    // NULL keys are all in the first slice: a join that matches NULL to NULL, or
                    // a NOT IN that no row passes when the other side has a NULL, would see them
                    // in that slice only.
                    let nulls_matter = join.null_equality == NullEquality::NullEqualsNull || join.null_aware;
                    if !(equated && !nulls_matter && (plain || left_rows_only || right_rows_only)) {
                        return None;
                    }
                    *keyed += 1;
                    Some(Sliced)
                }
                (sliced @ (Sliced | Hidden), Whole) => {
                    (!keeps_unmatched_right && (plain || left_rows_only)).then_some(sliced)
                }
                (Whole, sliced @ (Sliced | Hidden)) => {
                    (!keeps_unmatched_left && (plain || right_rows_only)).then_some(sliced)
                }
                _ => None,
            }
        }
        LogicalPlan::Aggregate(aggregate) => {
            // The output is the grouping columns, then the aggregates; grouping sets, which are
            // not plain columns, group by none.
            let outputs = aggregate.group_expr.iter().chain(&aggregate.aggr_expr);
            for (expr, field) in outputs.zip(aggregate.schema.fields()) {
                if field.name() == column && !matches!(expr, Expr::Column(c) if c.name == column) {
                    return None;
                }
            }
            // Grouped by the column, and by one that no outer join below fills with NULL: rows
            // an outer join fills in are in the slice of the row they were joined to, and their
            // NULL group would be made in several slices.
            let input = aggregate.input.schema();
            let grouped = aggregate.group_expr.iter().any(|e| match e {
                Expr::Column(c) if c.name == column => {
                    input.field_with_name(c.relation.as_ref(), &c.name).is_ok_and(|f| !f.is_nullable())
                }
                _ => false,
            });
            match part(&aggregate.input, column, keyed)? {
                Whole => Some(Whole),
                Sliced if grouped => {
                    *keyed += 1;
                    Some(Sliced)
                }
                _ => None,
            }
        }
        LogicalPlan::Union(union) => {
            // A union's columns take the names of its first input's.
            let position = union.schema.fields().iter().position(|f| f.name() == column);
            let mut parts = Vec::with_capacity(union.inputs.len());
            for input in &union.inputs {
                let p = part(input, column, keyed)?;
                let in_place = |i: usize| input.schema().fields().get(i).is_some_and(|f| f.name() == column);
                if p == Sliced && !position.is_some_and(in_place) {
                    return None;
                }
                parts.push(p);
            }
            // Each sliced input got past the check above with the column in its place.
            if parts.iter().all(|&p| p == Whole) {
                Some(Whole)
            } else if parts.iter().all(|&p| p == Sliced) {
                Some(Sliced)
            } else if parts.iter().all(|&p| p != Whole) {
                Some(Hidden)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The column a query can be computed in slices of (see the module's documentation), looked for
/// in its optimised logical plan among the integer columns of the tables it scans: the one that
/// most of its joins and groupings are keyed by (the first in name order among equals), and
/// `None` when no join or grouping is keyed by any.
pub fn slice_column(plan: &LogicalPlan) -> Option<String> {
    let mut candidates: Vec<String> = Vec::new();
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            let schema = scan.source.schema();
            let integers = schema.fields().iter().filter(|f| f.data_type().is_integer());
            candidates.extend(integers.map(|f| f.name().clone()));
        }
        Ok(TreeNodeRecursion::Continue)
    });
    candidates.sort_unstable();
    candidates.dedup();
    let mut best: Option<(usize, String)> = None;
    for column in candidates {
        let mut keyed = 0;
        if matches!(part(plan, &column, &mut keyed), Some(Part::Sliced | Part::Hidden))
            && keyed > 0
            && best.as_ref().is_none_or(|(k, _)| keyed > *k)
        {
            best = Some((keyed, column));
        }
    }
    best.map(|(_, column)| column)
}

/// The tables of `plan` that [`in_slice`] restricts to a slice of `column`.
pub fn restricted_tables(plan: &LogicalPlan, column: &str) -> Vec<String> {
    let mut tables = Vec::new();
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && scans_column(scan, column)
        {
            tables.push(scan.table_name.to_quoted_string());
        }
        Ok(TreeNodeRecursion::Continue)
    });
    tables.sort_unstable();
    tables.dedup();
    tables
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

/// `plan` with every table it scans that has `column` restricted to the rows of `slice`. `plan`
/// is the plan of the SQL before optimisation, whose scans read every column of their table.
pub fn in_slice(plan: LogicalPlan, column: &str, slice: Slice) -> Result<LogicalPlan> {
    plan.transform_up(|node| match node {
        LogicalPlan::TableScan(ref scan) if scans_column(scan, column) => {
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

    /// Tables `a` (k, x), `b` (k, y) and `c` (j, z): keys 0 to 9 (0 to 6 in `b`), and a NULL key
    /// in `a`, whose key may be NULL (those of `b` and `c` may not).
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
            RecordBatch::try_from_iter_with_nullable([
                (key, keys(with_null), with_null),
                (value, text(value, n), false),
            ])
            .unwrap()
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
    fn a_query_slices_by_the_column_its_joins_and_groupings_are_keyed_by() {
        let s = sandbox();
        assert_eq!(column_of(&s, "SELECT a.x, b.y FROM a JOIN b ON b.k = a.k").as_deref(), Some("k"));
        assert_eq!(
            column_of(&s, "SELECT a.x, b.y FROM a LEFT JOIN b ON b.k = a.k AND b.y = a.x").as_deref(),
            Some("k")
        );
        // Groupings by the column, over a join or a union of tables that have it.
        assert_eq!(column_of(&s, "SELECT b.k, COUNT(*) FROM a JOIN b ON b.k = a.k GROUP BY b.k").as_deref(), Some("k"));
        let union = "SELECT k, COUNT(*) FROM (SELECT k, y FROM b UNION ALL SELECT k, y FROM b) u GROUP BY k";
        assert_eq!(column_of(&s, union).as_deref(), Some("k"));
        let distinct = "SELECT k, COUNT(DISTINCT y) FROM b GROUP BY k";
        assert_eq!(column_of(&s, distinct).as_deref(), Some("k"));
        // ... but not by a column that may be NULL: a's keys 7 to 9 and its NULL key, which a LEFT
        // JOIN fills with a NULL b.k, would make a NULL group in each of their slices.
        assert_eq!(column_of(&s, "SELECT b.k, COUNT(*) FROM a LEFT JOIN b ON b.k = a.k GROUP BY b.k"), None);
        assert_eq!(column_of(&s, "SELECT k, COUNT(*) FROM a GROUP BY k"), None);
        // Nor a NOT IN of two sliced parts, which keeps no row when the other side has a NULL.
        let not_in = "SELECT b.y FROM b JOIN b b2 ON b2.k = b.k WHERE b.k NOT IN (SELECT k FROM a)";
        assert_eq!(column_of(&s, not_in), None);
        // A table without the column (c), read whole in each slice: joined without keeping its
        // unmatched rows, or by a semi or anti join of the sliced side.
        let whole = "SELECT a.x, b.y, c.z FROM a JOIN b ON b.k = a.k";
        assert_eq!(column_of(&s, &format!("{whole} LEFT JOIN c ON c.j = a.k")).as_deref(), Some("k"));
        assert_eq!(column_of(&s, &format!("{whole} JOIN c ON c.j = a.k")).as_deref(), Some("k"));
        let anti = "SELECT a.x FROM a JOIN b ON b.k = a.k WHERE NOT EXISTS (SELECT 1 FROM c WHERE c.j = a.k)";
        assert_eq!(column_of(&s, anti).as_deref(), Some("k"));
        // ... but not where the join keeps its unmatched rows, or keeps its rows that match.
        assert_eq!(column_of(&s, &format!("{whole} RIGHT JOIN c ON c.j = a.k")), None);
        assert_eq!(column_of(&s, &format!("{whole} FULL JOIN c ON c.j = a.k")), None);
        let semi = "SELECT c.z FROM c WHERE c.j IN (SELECT a.k FROM a JOIN b ON b.k = a.k)";
        assert_eq!(column_of(&s, semi), None);
        // A table that has the column but whose column the query does not read is not whole: its
        // rows are sliced, and may not meet another slice's.
        assert_eq!(column_of(&s, "SELECT a.x, b.y FROM a JOIN b ON b.k = a.k JOIN b b2 ON b2.y = b.y"), None);
        // Nor may a sliced part whose rows no longer hold the column.
        let hidden = "SELECT s.x, b.y FROM (SELECT a.x FROM a JOIN b ON b.k = a.k) s JOIN b ON b.y = s.x";
        assert_eq!(column_of(&s, hidden), None);
        // A join on another column, no join or grouping keyed by the column, a grouping by another
        // column or by none, a window, neither a join nor a grouping.
        assert_eq!(column_of(&s, "SELECT a.x FROM a JOIN b ON b.y = a.x"), None);
        assert_eq!(column_of(&s, "SELECT a.x, c.z FROM a JOIN c ON c.j = a.k"), None);
        assert_eq!(column_of(&s, "SELECT a.x, COUNT(*) FROM a JOIN b ON b.k = a.k GROUP BY a.x"), None);
        assert_eq!(column_of(&s, "SELECT COUNT(*) FROM a JOIN b ON b.k = a.k"), None);
        assert_eq!(column_of(&s, "SELECT k, ROW_NUMBER() OVER () AS n FROM a"), None);
        assert_eq!(column_of(&s, "SELECT x FROM a WHERE k > 3"), None);
        // A union whose second input puts something else in the column's place.
        let shifted = "SELECT k, COUNT(*) FROM (SELECT k, x FROM a UNION ALL \
                       SELECT kk, y FROM (SELECT k + 1 AS kk, y FROM b) bb) u GROUP BY k";
        assert_eq!(column_of(&s, shifted), None);
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
        // The LEFT JOIN keeps a's rows without a match (keys 7 to 9) and its NULL key; the
        // grouping counts rows of two tables per key.
        let queries = [
            ("SELECT a.k, a.x, b.y FROM a LEFT JOIN b ON b.k = a.k", "| x10 |"),
            (
                "SELECT k, COUNT(*) AS n, MIN(v) AS v \
                 FROM (SELECT k, y AS v FROM b UNION ALL SELECT k, y FROM b WHERE k < 5) u GROUP BY k",
                "| 4 | 2 | y4 |",
            ),
            // c is read whole: its rows meet a's in other slices than their own j's.
            (
                "SELECT a.k, a.x, b.y, c.z FROM a JOIN b ON b.k = a.k LEFT JOIN c ON c.j = a.k + 3",
                "| 6 | x6 | y6 | z9 |",
            ),
            (
                "SELECT a.k, a.x FROM a WHERE a.k IN (SELECT k FROM b) \
                 AND NOT EXISTS (SELECT 1 FROM c WHERE c.j = a.k + 5)",
                "| 5 | x5 |",
            ),
        ];
        for (q, (sql, expected)) in queries.into_iter().enumerate() {
            let plan = s.logical_plan(sql).unwrap();
            assert_eq!(slice_column(&s.optimise(&plan).unwrap()).as_deref(), Some("k"), "{sql}");
            let (sliced, whole) = (format!("sliced{q}"), format!("whole{q}"));
            for (i, slice) in Slice::split(0, 9, 3).iter().enumerate() {
                let plan = in_slice(plan.clone(), "k", *slice).unwrap();
                s.plan_to_parquet(plan, sql, &dir.join(&sliced), &format!("slice-{i}")).unwrap();
            }
            let (_, schema) = s.query_to_parquet(sql, &dir.join(&whole)).unwrap();
            s.register_parquet_dir(&sliced, &dir.join(&sliced), schema.clone()).unwrap();
            s.register_parquet_dir(&whole, &dir.join(&whole), schema).unwrap();
            let rows = |t: &str| {
                let b = s.query(&format!("SELECT * FROM {t} ORDER BY 1, 2")).unwrap();
                arrow::util::pretty::pretty_format_batches(&b).unwrap().to_string()
            };
            assert_eq!(rows(&sliced), rows(&whole), "{sql}");
            assert!(rows(&whole).contains(expected), "{}", rows(&whole));
        }
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
