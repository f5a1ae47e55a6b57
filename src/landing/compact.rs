//! The landing tables as a run holds them in memory (`paxrisk run` without `--landing`).
//!
//! Every row of every data table names its input file in `source_file`, one value for all rows of
//! a message. As plain Utf8 each row holds its own copy, about 48 bytes: at 100,000 PNRs that was
//! 149 of the landing tables' 605 MiB in Arrow. In memory the column is a dictionary column
//! (`Dictionary(Int32, Utf8)`): a message's file name is stored once, and each row holds a 4-byte
//! key.
//!
//! SQL sees the same values (a dictionary column compares, joins and groups by its values), so
//! every view, rule and output is the same. What is written to disk keeps plain text, the types
//! of DESIGN.md: the landing Parquet set is written from batches that were never compacted, and
//! every Parquet file paxrisk writes goes through [`plain_text`].
//!
//! `push_id` repeats per message as well, but it is half the key of most of the views' joins and
//! groups; held as a dictionary it made the views a fifth slower at 100,000 PNRs, for 52 MiB.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int32Builder, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

/// The columns held as dictionaries in memory.
pub const DICTIONARY_COLUMNS: &[&str] = &["source_file"];

fn is_dictionary_column(field: &Field) -> bool {
    DICTIONARY_COLUMNS.contains(&field.name().as_str()) && field.data_type() == &DataType::Utf8
}

/// The in-memory type of a [`DICTIONARY_COLUMNS`] column.
pub fn dictionary_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// `schema` in its in-memory form: the [`DICTIONARY_COLUMNS`] that are text as dictionary
/// columns (names, nullability and metadata kept).
pub fn compact_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if is_dictionary_column(f) {
                f.as_ref().clone().with_data_type(dictionary_type())
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// Concatenates `batches` of one landing table (plain text, as [`to_batch`] builds them) into one
/// batch of its in-memory form ([`compact_schema`]).
///
/// A dictionary holds one value per run of equal values. A message's rows are consecutive and
/// share their file, so it holds at most one value per message; it is not deduplicated further,
/// which DataFusion does not need (it hashes and compares a dictionary column by its values).
///
/// [`to_batch`]: super::schema::PushRow::to_batch
pub fn concat_compact(schema: &Schema, batches: &[RecordBatch]) -> Result<RecordBatch, ArrowError> {
    let out_schema = compact_schema(schema);
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (i, field) in schema.fields().iter().enumerate() {
        let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
        if is_dictionary_column(field) {
            let texts: Vec<&StringArray> = parts
                .iter()
                .map(|a| {
                    a.as_string_opt::<i32>().ok_or_else(|| {
                        ArrowError::InvalidArgumentError(format!(
                            "column {} is declared Utf8 but holds {}",
                            field.name(),
                            a.data_type()
                        ))
                    })
                })
                .collect::<Result<_, _>>()?;
            columns.push(dictionary_of_runs(&texts, rows));
        } else if parts.is_empty() {
            columns.push(arrow::array::new_empty_array(field.data_type()));
        } else {
            columns.push(arrow::compute::concat(&parts)?);
        }
    }
    RecordBatch::try_new(out_schema, columns)
}

/// One dictionary column of the rows of `parts`, with a value per run of equal values (NULL rows
/// get a NULL key).
fn dictionary_of_runs(parts: &[&StringArray], rows: usize) -> ArrayRef {
    let mut keys = Int32Builder::with_capacity(rows);
    let mut values = StringBuilder::new();
    let mut last: Option<&str> = None;
    let mut next_key: i32 = -1;
    for part in parts {
        for v in part.iter() {
            match v {
                None => keys.append_null(),
                Some(v) => {
                    if last != Some(v) {
                        values.append_value(v);
                        last = Some(v);
                        next_key += 1;
                    }
                    keys.append_value(next_key);
                }
            }
        }
    }
    // At most one value per row, and a batch holds far fewer than 2^31 rows.
    let dict = arrow::array::DictionaryArray::<Int32Type>::try_new(keys.finish(), Arc::new(values.finish()));
    match dict {
        Ok(d) => Arc::new(d),
        Err(e) => unreachable!("keys index the values built with them: {e}"),
    }
}

/// `batch` with every dictionary column cast to its value type (for files, whose types are those
/// of DESIGN.md whatever the in-memory form was).
pub fn plain_text(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let schema = batch.schema();
    if !schema.fields().iter().any(|f| matches!(f.data_type(), DataType::Dictionary(_, _))) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (f, c) in schema.fields().iter().zip(batch.columns()) {
        match f.data_type() {
            DataType::Dictionary(_, value) => {
                let value = value.as_ref().clone();
                columns.push(arrow::compute::cast(c, &value)?);
                fields.push(f.as_ref().clone().with_data_type(value));
            }
            _ => {
                columns.push(c.clone());
                fields.push(f.as_ref().clone());
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landing::schema::{LegRow, all_schemas};

    fn leg(push: &Arc<str>, file: &Arc<str>, seq: i64) -> LegRow {
        LegRow { push_id: push.clone(), source_file: file.clone(), seq, ..Default::default() }
    }

    #[test]
    fn source_file_becomes_a_dictionary_with_the_same_values() {
        let (m1, m2): (Arc<str>, Arc<str>) = ("M1".into(), "M2".into());
        let (f1, f2): (Arc<str>, Arc<str>) = ("in/a.edi".into(), "in/b.edi".into());
        // Three messages: two in one file, one in another.
        let batches = vec![
            LegRow::to_batch(&[leg(&m1, &f1, 1), leg(&m1, &f1, 2)]),
            LegRow::to_batch(&[leg(&m2, &f1, 1)]),
            LegRow::to_batch(&[]),
            LegRow::to_batch(&[leg(&m1, &f2, 1), leg(&m1, &f2, 2)]),
        ];
        let plain = arrow::compute::concat_batches(&LegRow::schema(), &batches).unwrap();
        let compact = concat_compact(&LegRow::schema(), &batches).unwrap();

        assert_eq!(compact.num_rows(), 5);
        let c = compact.column_by_name("source_file").unwrap();
        assert_eq!(c.data_type(), &dictionary_type());
        assert_eq!(c.as_dictionary::<Int32Type>().values().len(), 2, "one value per run of rows");
        assert_eq!(compact.schema_ref().as_ref(), compact_schema(&LegRow::schema()).as_ref());
        // The other columns keep their types and metadata, and casting back gives the plain batch.
        assert_eq!(compact.column_by_name("push_id").unwrap().data_type(), &DataType::Utf8);
        let back = plain_text(&compact).unwrap();
        assert_eq!(back.columns(), plain.columns());
        assert_eq!(back.schema().fields(), plain.schema().fields());
    }

    #[test]
    fn every_landing_table_has_a_text_source_file_to_compact() {
        for (table, _, schema) in all_schemas() {
            let compact = compact_schema(&schema);
            let field = compact.field_with_name("source_file").unwrap();
            assert_eq!(field.data_type(), &dictionary_type(), "{table}");
            assert_eq!(field.metadata(), schema.field_with_name("source_file").unwrap().metadata(), "{table}");
        }
    }

    #[test]
    fn a_source_file_that_is_not_text_is_left_alone_by_the_schema_and_an_error_in_the_data() {
        let schema = Schema::new(vec![Field::new("source_file", DataType::Int64, false)]);
        assert_eq!(compact_schema(&schema).as_ref(), &schema);
        let b = RecordBatch::try_from_iter([(
            "source_file",
            Arc::new(arrow::array::Int64Array::from(vec![1])) as ArrayRef,
        )])
        .unwrap();
        let declared = Schema::new(vec![Field::new("source_file", DataType::Utf8, false)]);
        let e = concat_compact(&declared, &[b]).unwrap_err();
        assert!(e.to_string().contains("column source_file is declared Utf8 but holds Int64"), "{e}");
    }
}
