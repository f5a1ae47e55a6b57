//! Computing a view's common table expressions once each.
//!
//! DataFusion inlines a `WITH` clause: a CTE that five others read is computed five times. The
//! `traveller_journey` view reads its `latest` CTE (a window over every PNR version) about twenty
//! times, which made it cost 87 s of a 105 s run over 100,000 PNRs. [`split`] takes a view's
//! top-level `WITH` apart so that the engine can compute each CTE once, as soon as the CTEs it
//! reads are computed ([`Split::reads`]; CTEs that do not read each other run at the same time),
//! keep it as a temporary table under its own name, and run the final SELECT over those tables.
//! The result is the same rows; only the work is not repeated. The engine also plans a view
//! this way, CTE by CTE, to learn its schema: planned whole, the view's SQL cost DataFusion's
//! planner more than a second (`Engine::plan_view_split`).
//!
//! Only what is certainly equivalent is split: a plain (not `RECURSIVE`) top-level `WITH`, CTEs
//! without column lists, names that are not already tables. Anything else runs as written.

use datafusion::sql::sqlparser::ast::{SetExpr, Statement};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

/// A view's SQL taken apart: each CTE as (name, SELECT) in order, then the final query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The CTEs, in the order they are written (each may read the ones before it).
    pub ctes: Vec<(String, String)>,
    /// The query after the `WITH` clause.
    pub body: String,
}

/// Splits `sql` when it is one query with a plain top-level `WITH`; `None` otherwise (no `WITH`,
/// `WITH RECURSIVE`, a CTE with a column list, or SQL that does not parse here).
pub fn split(sql: &str) -> Option<Split> {
    let mut statements = Parser::parse_sql(&GenericDialect {}, sql).ok()?;
    if statements.len() != 1 {
        return None;
    }
    let Statement::Query(mut query) = statements.remove(0) else { return None };
    let with = query.with.take()?;
    if with.recursive || with.cte_tables.is_empty() {
        return None;
    }
    let mut ctes = Vec::with_capacity(with.cte_tables.len());
    for cte in with.cte_tables {
        if !cte.alias.columns.is_empty() || cte.materialized.is_some() || cte.from.is_some() {
            return None;
        }
        // A nested WITH inside a CTE is fine: it travels with the CTE's own query.
        if !matches!(*cte.query.body, SetExpr::Select(_) | SetExpr::SetOperation { .. } | SetExpr::Query(_)) {
            return None;
        }
        let ident = &cte.alias.name;
        // Unquoted identifiers are case-insensitive (lower case in DataFusion); quoted ones exact.
        let name = if ident.quote_style.is_some() { ident.value.clone() } else { ident.value.to_lowercase() };
        ctes.push((name, cte.query.to_string()));
    }
    Some(Split { ctes, body: query.to_string() })
}

impl Split {
    /// For each CTE, the CTEs it reads (indices of earlier ones, in order). A reference is any
    /// whole-word occurrence of the name (case-insensitive): a name that only appears in a
    /// comment makes a dependency that need not be, never misses one.
    pub fn reads(&self) -> Vec<Vec<usize>> {
        let names: Vec<String> = self.ctes.iter().map(|(n, _)| n.to_lowercase()).collect();
        self.ctes
            .iter()
            .enumerate()
            .map(|(i, (_, q))| {
                let text = q.to_lowercase();
                (0..i).filter(|&j| mentions(&text, &names[j])).collect()
            })
            .collect()
    }

    /// For each CTE, whether the final query reads it (by the same test as [`Split::reads`]).
    pub fn read_by_body(&self) -> Vec<bool> {
        let body = self.body.to_lowercase();
        self.ctes.iter().map(|(n, _)| mentions(&body, &n.to_lowercase())).collect()
    }
}

/// Whether `text` holds `word` delimited by characters that cannot be part of an identifier.
fn mentions(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back().is_none_or(|c| !ident(c));
        let after = text[at + word.len()..].chars().next().is_none_or(|c| !ident(c));
        before && after
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_with_splits_into_its_ctes_and_the_final_query() {
        let s = split(
            "-- comment\nWITH a AS (SELECT 1 AS x), B AS (SELECT x + 1 AS y FROM a)\nSELECT y FROM b JOIN a ON true ORDER BY y",
        )
        .unwrap();
        assert_eq!(
            s.ctes,
            [("a".to_string(), "SELECT 1 AS x".to_string()), ("b".to_string(), "SELECT x + 1 AS y FROM a".to_string())]
        );
        assert_eq!(s.body, "SELECT y FROM b JOIN a ON true ORDER BY y");
    }

    #[test]
    fn what_is_not_certainly_equivalent_is_not_split() {
        assert_eq!(split("SELECT 1"), None);
        assert_eq!(split("WITH RECURSIVE r AS (SELECT 1 AS n) SELECT n FROM r"), None);
        assert_eq!(split("WITH a(x) AS (SELECT 1) SELECT x FROM a"), None);
        assert_eq!(split("WITH a AS (SELECT 1) SELECT * FROM a; SELECT 2"), None);
        assert_eq!(split("WITH a AS (SELECT 1"), None);
    }

    #[test]
    fn each_cte_knows_what_it_reads_and_what_the_final_query_reads() {
        let s = split(
            "WITH a AS (SELECT 1 AS x), ab AS (SELECT x FROM a), b AS (SELECT x FROM ab), unused AS (SELECT 2 AS y), \
             c AS (SELECT ab.x FROM ab JOIN A ON true) \
             SELECT b.x FROM b JOIN a ON a.x = b.x",
        )
        .unwrap();
        // `ab` does not count as a mention of `a` or `b`; names are matched in any case.
        assert_eq!(s.reads(), [vec![], vec![0], vec![1], vec![], vec![0, 1]]);
        assert_eq!(s.read_by_body(), [true, false, true, false, false]);
    }

    #[test]
    fn a_quoted_name_keeps_its_case() {
        let s = split("WITH \"Mixed\" AS (SELECT 1 AS x) SELECT x FROM \"Mixed\"").unwrap();
        assert_eq!(s.ctes[0].0, "Mixed");
    }
}
