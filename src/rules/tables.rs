//! The pack's CSV files as tables: `lists/<name>.csv` becomes `list_<name>`, `reference/<name>.csv`
//! becomes `ref_<name>`.
//!
//! Every column is text (`Utf8`) and an empty cell is NULL. Lists are edited by analysts, and a
//! guessed type would turn an agency number `00012345` into 12345; views cast where they need a
//! number (`CAST(lat AS DOUBLE)`).

use std::sync::Arc;

use arrow::array::{ArrayRef, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use super::pack::{CsvFile, PackError};

/// Reads one pack CSV file into a record batch. Errors name the file and line.
pub fn read_csv_table(file: &CsvFile) -> Result<RecordBatch, PackError> {
    let err = |line: Option<usize>, message: String| PackError { path: file.path.clone(), line, message };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_path(&file.path)
        .map_err(|e| err(None, format!("cannot read: {e}")))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| err(Some(1), format!("cannot read the header line: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    for (i, h) in headers.iter().enumerate() {
        if h.is_empty() || !h.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(err(Some(1), format!("column {} is named {h:?}; use letters, digits and '_' only", i + 1)));
        }
        if headers[..i].contains(h) {
            return Err(err(Some(1), format!("column {h:?} appears twice")));
        }
    }
    let mut builders: Vec<StringBuilder> = headers.iter().map(|_| StringBuilder::new()).collect();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize);
            err(line, format!("{e}"))
        })?;
        for (b, v) in builders.iter_mut().zip(record.iter()) {
            let v = v.trim();
            if v.is_empty() { b.append_null() } else { b.append_value(v) }
        }
    }
    let schema = Arc::new(Schema::new(headers.iter().map(|h| Field::new(h, DataType::Utf8, true)).collect::<Vec<_>>()));
    let columns: Vec<ArrayRef> = builders.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef).collect();
    RecordBatch::try_new(schema, columns).map_err(|e| err(None, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `text` to a temporary CSV file, reads it as table `list_<name>` and removes it.
    fn read(name: &str, text: &str) -> Result<RecordBatch, PackError> {
        let path = std::env::temp_dir().join(format!("paxrisk-table-{}-{name}.csv", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let read = read_csv_table(&CsvFile { table: format!("list_{name}"), path: path.clone() });
        std::fs::remove_file(&path).unwrap();
        read
    }

    #[test]
    fn cells_stay_text_and_empty_cells_are_null() {
        let b = read("agencies", "iata,note\n00012345,\n").unwrap();
        let col = b.column(0).as_any().downcast_ref::<arrow::array::StringArray>().unwrap();
        assert_eq!(col.value(0), "00012345");
        assert!(b.column(1).is_null(0));
    }

    #[test]
    fn a_short_row_names_its_line() {
        let e = read("bad", "a,b\n1,2\n3\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
    }
}
