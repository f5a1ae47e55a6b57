//! `paxrisk query RUN "SQL"`: read-only SQL over a run's Parquet files, in the rules' sandbox.
//!
//! The tables are `scores`, `review`, `hits`, `rejects` and `diagnostics`, read into memory. The
//! sandbox refuses DDL, DML, COPY, SET and every way of reading or writing other files.

use std::io::Write;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::DataType;

use super::{RUN_TABLES, RunFolder, texts};
use crate::rules::sandbox::{Limits, Sandbox};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned text table.
    Table,
    /// CSV with a header line.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// Runs `sql` over the run's tables and returns the result.
pub fn query(run: &RunFolder, sql: &str) -> anyhow::Result<Vec<RecordBatch>> {
    let sandbox = Sandbox::new(Limits::default())?;
    for name in RUN_TABLES {
        sandbox.register_batches(name, vec![run.table(name)?])?;
    }
    Ok(sandbox.query(sql)?)
}

/// Writes the result in `format`.
pub fn write(out: &mut impl Write, batches: &[RecordBatch], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Table => writeln!(out, "{}", arrow::util::pretty::pretty_format_batches(batches)?)?,
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            if let Some(b) = batches.first() {
                w.write_record(b.schema().fields().iter().map(|f| f.name().as_str()))?;
            }
            for b in batches {
                let cols: Vec<Vec<Option<String>>> =
                    b.columns().iter().map(|c| texts(c.as_ref())).collect::<Result<_, _>>()?;
                for i in 0..b.num_rows() {
                    w.write_record(cols.iter().map(|c| c[i].as_deref().unwrap_or("")))?;
                }
            }
            w.flush()?;
        }
        Format::Json => {
            // Objects keep the columns in query order, one row per line.
            let mut rows = Vec::new();
            for b in batches {
                let schema = b.schema();
                let cols: Vec<Vec<Option<String>>> =
                    b.columns().iter().map(|c| texts(c.as_ref())).collect::<Result<_, _>>()?;
                for i in 0..b.num_rows() {
                    let fields: Vec<String> = schema
                        .fields()
                        .iter()
                        .zip(b.columns().iter().zip(&cols))
                        .map(|(f, (c, v))| {
                            format!(
                                "{}: {}",
                                serde_json::Value::String(f.name().clone()),
                                json_value(c.data_type(), c.is_null(i), v[i].as_deref())
                            )
                        })
                        .collect();
                    rows.push(format!("  {{{}}}", fields.join(", ")));
                }
            }
            if rows.is_empty() {
                writeln!(out, "[]")?;
            } else {
                writeln!(out, "[\n{}\n]", rows.join(",\n"))?;
            }
        }
    }
    Ok(())
}

/// Numbers and booleans as JSON numbers and booleans; everything else as its display text.
fn json_value(dt: &DataType, null: bool, text: Option<&str>) -> serde_json::Value {
    let Some(t) = text.filter(|_| !null) else { return serde_json::Value::Null };
    match dt {
        DataType::Boolean => serde_json::Value::Bool(t == "true"),
        d if d.is_integer() => t.parse::<i64>().map(Into::into).unwrap_or_else(|_| t.into()),
        d if d.is_floating() => t
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(serde_json::Value::Number)
            .unwrap_or_else(|| t.into()),
        _ => serde_json::Value::String(t.to_string()),
    }
}
