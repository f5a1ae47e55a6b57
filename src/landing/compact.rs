//! The landing tables as a run holds them in memory (`paxrisk run` without `--landing`).
//!
//! Every row of every data table names its input file in `source_file`, one value for all rows of
//! a message. As plain Utf8 each row holds its own copy, about 48 bytes: at 100,000 PNRs that was
//! 149 of the landing tables' 605 MiB in Arrow. In memory the column is a dictionary column
//! (`Dictionary(Int32, Utf8)`): a message's file name is stored once, and each row holds a 4-byte
//! key.
//!
//! The batches are built in this form by the tables' builders (`landing::schema::TableBuilder`):
//! a dictionary column holds one value per run of equal values. A message's rows are consecutive
//! and share their file, so it holds at most one value per message; it is not deduplicated
//! further, which DataFusion does not need (it hashes and compares a dictionary column by its
//! values).
//!
//! SQL sees the same values (a dictionary column compares, joins and groups by its values), so
//! every view, rule and output is the same. What is written to disk keeps plain text, the types
//! of DESIGN.md: the landing Parquet set is written from batches that were never compacted, and
//! every Parquet file paxrisk writes goes through [`plain_text`].
//!
//! `push_id` repeats per message as well, but it is half the key of most of the views' joins and
//! groups; held as a dictionary it made the views a fifth slower at 100,000 PNRs, for 52 MiB.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

/// The columns held as dictionaries in memory.
pub const DICTIONARY_COLUMNS: &[&str] = &["source_file"];

/// Whether column `name` of type `data_type` is held as a dictionary in memory.
pub fn holds_dictionary(name: &str, data_type: &DataType) -> bool {
    DICTIONARY_COLUMNS.contains(&name) && data_type == &DataType::Utf8
}

fn is_dictionary_column(field: &Field) -> bool {
    holds_dictionary(field.name(), field.data_type())
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
    use crate::landing::schema::{LegBuilder, LegRow, TEXT_BATCH_LIMIT, TableBuilder, all_schemas};
    use arrow::array::AsArray;
    use arrow::datatypes::Int32Type;

    fn leg(push: &Arc<str>, file: &Arc<str>, seq: i64) -> LegRow {
        LegRow { push_id: push.clone(), source_file: file.clone(), seq, ..Default::default() }
    }

    #[test]
    fn source_file_becomes_a_dictionary_with_the_same_values() {
        let (m1, m2): (Arc<str>, Arc<str>) = ("M1".into(), "M2".into());
        let (f1, f2): (Arc<str>, Arc<str>) = ("in/a.edi".into(), "in/b.edi".into());
        // Three messages: two in one file, one in another (and one with no rows).
        let messages = [
            vec![leg(&m1, &f1, 1), leg(&m1, &f1, 2)],
            vec![leg(&m2, &f1, 1)],
            vec![],
            vec![leg(&m1, &f2, 1), leg(&m1, &f2, 2)],
        ];
        let plain = LegRow::to_batches(&messages.concat()).remove(0);
        let mut builder = LegBuilder::new(0, true);
        for m in &messages {
            assert!(builder.try_append(m, TEXT_BATCH_LIMIT));
        }
        let compact = builder.finish(0);

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

        // The next batch of the same builder starts a dictionary of its own.
        assert!(builder.try_append(&[leg(&m2, &f2, 3)], TEXT_BATCH_LIMIT));
        let next = builder.finish(0);
        let c = next.column_by_name("source_file").unwrap().as_dictionary::<Int32Type>();
        assert_eq!(c.values().len(), 1);
        assert_eq!(c.keys().values().to_vec(), vec![0]);
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
    fn a_source_file_that_is_not_text_is_left_alone() {
        let schema = Schema::new(vec![Field::new("source_file", DataType::Int64, false)]);
        assert_eq!(compact_schema(&schema).as_ref(), &schema);
        assert!(!holds_dictionary("source_file", &DataType::Int64));
        assert!(holds_dictionary("source_file", &DataType::Utf8));
        assert!(!holds_dictionary("push_id", &DataType::Utf8));
    }
}
