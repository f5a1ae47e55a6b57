//! Turning the `given` rows of a rule test into a record batch of the view's column types.
//!
//! A value is converted only when it fits the column exactly: an integer into an integer or
//! floating column, `12.5` never into an integer column, a date string only into a date column.
//! Anything else is an error that names the column, not a guess.

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{NaiveDate, NaiveDateTime};
use datafusion::scalar::ScalarValue;

/// The schema with every column nullable (columns left out of `given` are NULL).
pub fn nullable(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(
        schema.fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect::<Vec<Field>>(),
    ))
}

/// Builds the rows. Errors name the column and say why the value does not fit.
pub fn rows_to_batch(schema: &Schema, rows: &[toml::Table]) -> Result<RecordBatch, String> {
    for row in rows {
        for key in row.keys() {
            if schema.field_with_name(key).is_err() {
                return Err(format!("given names column `{key}`, which the view does not have"));
            }
        }
    }
    let schema = nullable(schema);
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let mut cells = Vec::with_capacity(rows.len());
        for row in rows {
            let cell = match row.get(field.name()) {
                None => ScalarValue::try_from(field.data_type()).map_err(|e| e.to_string())?,
                Some(v) => convert(field.name(), field.data_type(), v)?,
            };
            cells.push(cell);
        }
        let array = if cells.is_empty() {
            arrow::array::new_empty_array(field.data_type())
        } else {
            ScalarValue::iter_to_array(cells).map_err(|e| format!("column `{}`: {e}", field.name()))?
        };
        let array = if array.data_type() == field.data_type() {
            array
        } else {
            arrow::compute::cast(&array, field.data_type()).map_err(|e| format!("column `{}`: {e}", field.name()))?
        };
        columns.push(array);
    }
    RecordBatch::try_new(schema, columns).map_err(|e| e.to_string())
}

fn type_name(v: &toml::Value) -> &'static str {
    v.type_str()
}

fn convert(column: &str, data_type: &DataType, v: &toml::Value) -> Result<ScalarValue, String> {
    let no_fit = || format!("column `{column}` is {data_type}; the value {v} ({}) does not fit", type_name(v));
    Ok(match (data_type, v) {
        (DataType::Boolean, toml::Value::Boolean(b)) => ScalarValue::Boolean(Some(*b)),
        (DataType::Int64, toml::Value::Integer(i)) => ScalarValue::Int64(Some(*i)),
        (DataType::Int32, toml::Value::Integer(i)) => {
            ScalarValue::Int32(Some(i32::try_from(*i).map_err(|_| no_fit())?))
        }
        (DataType::UInt64, toml::Value::Integer(i)) => {
            ScalarValue::UInt64(Some(u64::try_from(*i).map_err(|_| no_fit())?))
        }
        (DataType::Float64, toml::Value::Integer(i)) => ScalarValue::Float64(Some(*i as f64)),
        (DataType::Float64, toml::Value::Float(f)) => ScalarValue::Float64(Some(*f)),
        (DataType::Utf8, toml::Value::String(s)) => ScalarValue::Utf8(Some(s.clone())),
        (DataType::Utf8View, toml::Value::String(s)) => ScalarValue::Utf8View(Some(s.clone())),
        (DataType::Date32, _) => {
            let text = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Datetime(d) if d.time.is_none() => d.to_string(),
                _ => return Err(no_fit()),
            };
            let d = NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| no_fit())?;
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or_else(no_fit)?;
            ScalarValue::Date32(Some((d - epoch).num_days() as i32))
        }
        (DataType::Timestamp(TimeUnit::Microsecond, tz), _) => {
            let text = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Datetime(d) if d.date.is_some() && d.time.is_some() => d.to_string(),
                _ => return Err(no_fit()),
            };
            let micros = parse_instant(&text, tz.is_some()).ok_or_else(|| {
                format!(
                    "{}; write {}",
                    no_fit(),
                    if tz.is_some() {
                        "a UTC time such as 2026-11-28T10:00:00Z"
                    } else {
                        "a local time such as 2026-11-28T10:00:00"
                    }
                )
            })?;
            ScalarValue::TimestampMicrosecond(Some(micros), tz.clone())
        }
        (DataType::List(item), toml::Value::Array(items)) => {
            let values = items.iter().map(|i| convert(column, item.data_type(), i)).collect::<Result<Vec<_>, _>>()?;
            ScalarValue::List(ScalarValue::new_list_nullable(&values, item.data_type()))
        }
        _ => return Err(no_fit()),
    })
}

/// Micros since the epoch. A zoned column (UTC) needs an offset (`Z` or `+01:00`); a local column
/// must have none, so local and UTC times are never confused in a test either.
fn parse_instant(text: &str, zoned: bool) -> Option<i64> {
    if zoned {
        chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_micros())
    } else {
        ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
            .map(|t| t.and_utc().timestamp_micros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("paid_cash", DataType::Boolean, false),
            Field::new("hours", DataType::Float64, true),
            Field::new("legs", DataType::Int64, true),
            Field::new("dob", DataType::Date32, true),
            Field::new("dep_utc", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true),
            Field::new("countries", DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))), true),
        ])
    }

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn values_convert_to_the_column_types_and_missing_ones_are_null() {
        let b = rows_to_batch(
            &schema(),
            &[table("paid_cash = true\nhours = 12\ndob = 2001-02-03\ndep_utc = 2026-11-28T10:00:00Z\ncountries = [\"CO\", \"ES\"]")],
        )
        .unwrap();
        assert_eq!(b.num_rows(), 1);
        assert!(b.column(2).is_null(0), "legs left out is NULL");
        let text = arrow::util::pretty::pretty_format_batches(&[b]).unwrap().to_string();
        assert!(
            text.contains("2001-02-03") && text.contains("2026-11-28T10:00:00Z") && text.contains("[CO, ES]"),
            "{text}"
        );
    }

    #[test]
    fn values_that_do_not_fit_are_errors() {
        let e = rows_to_batch(&schema(), &[table("legs = 1.5")]).unwrap_err();
        assert_eq!(e, "column `legs` is Int64; the value 1.5 (float) does not fit");
        let e = rows_to_batch(&schema(), &[table("paid_cash = \"yes\"")]).unwrap_err();
        assert_eq!(e, "column `paid_cash` is Boolean; the value \"yes\" (string) does not fit");
        let e = rows_to_batch(&schema(), &[table("dep_utc = \"2026-11-28T10:00:00\"")]).unwrap_err();
        assert!(e.contains("write a UTC time"), "{e}");
        let e = rows_to_batch(&schema(), &[table("nationalty = \"X\"")]).unwrap_err();
        assert_eq!(e, "given names column `nationalty`, which the view does not have");
    }
}
