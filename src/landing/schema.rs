//! Typed rows of the landing tables and their Arrow schemas, with a description of every column.
//!
//! Each table is declared once with `landing_table!`: the Rust row struct, the Arrow schema
//! (descriptions go into the field metadata under `description`, so that auditors' tools show
//! them) and the table's builder of record batches ([`TableBuilder`], which appends rows straight
//! into Arrow buffers) are generated from the same declaration and cannot drift apart.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayBuilder, ArrayRef, ArrowPrimitiveType, BooleanBufferBuilder, BooleanBuilder, DictionaryArray,
    Int32Builder, PrimitiveBuilder, StringArray, StringBuilder,
};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{
    DataType, Date32Type, Field, Float64Type, Int32Type, Int64Type, SchemaRef, TimeUnit, TimestampMicrosecondType,
};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};

/// A Rust type that can be a landing column.
pub trait Column: Sized {
    /// Arrow type of the column.
    fn data_type() -> DataType;
    /// Whether NULL is allowed.
    fn nullable() -> bool {
        true
    }
    /// What appends values of this type to an Arrow column.
    type Builder: ColumnBuilder<Self>;
    /// A builder with room for `rows` values. `dictionary` asks a text column for its in-memory
    /// form, a dictionary of runs (see `landing::compact`); other types never get one.
    fn builder(rows: usize, dictionary: bool) -> Self::Builder;
}

/// Appends the values of one landing column straight into Arrow buffers, batch after batch.
pub trait ColumnBuilder<T> {
    /// Bytes of text that `values` would add to the column: the sum of their lengths (for a
    /// dictionary of runs, an upper bound), 0 for a column of no text.
    fn text_bytes_of<'r>(values: impl Iterator<Item = &'r T>) -> usize
    where
        T: 'r;
    /// Bytes of text appended since the last batch (0 for a column of no text).
    fn text_held(&self) -> usize;
    /// Appends the values of one column of some rows (a message's, in the merge), in order.
    /// `text_bytes` is what [`ColumnBuilder::text_bytes_of`] gave for them.
    fn append_all<'r>(&mut self, values: impl Iterator<Item = &'r T>, text_bytes: usize)
    where
        T: 'r;
    /// The column of the values appended since the last call. The builder starts the next batch
    /// with room for `next` values (text: at this batch's bytes per value, and a sixteenth more).
    fn finish(&mut self, next: usize) -> ArrayRef;
    /// Bytes of Arrow data appended so far (for the staged writer's flush threshold).
    fn held_bytes(&self) -> usize;
}

/// Text of a landing row's field: held inline up to 24 bytes (codes, airports, names, the 17-byte
/// ids), so that most fields cost no allocation; longer text goes to the heap as a `String` would.
pub type Text = compact_str::CompactString;

/// Text shared by many rows (the push id, the input file name): cloning it copies a pointer, not
/// the text, which matters because every row of every data table carries both.
pub type Shared = Arc<str>;

/// Bytes per value a text builder starts with when it has seen no batch yet.
const TEXT_BYTES_GUESS: usize = 16;

/// A text column: plain `Utf8`, or a dictionary with one value per run of equal values
/// (`Dictionary(Int32, Utf8)`, the in-memory form of `landing::compact`).
pub enum TextBuilder {
    /// One value per row.
    Plain(PlainText),
    /// One key per row, one value per run of equal values (NULL rows get a NULL key).
    Runs {
        /// Index of each row's value.
        keys: Int32Builder,
        /// The value of each run.
        values: StringBuilder,
    },
}

/// Appends one value, or NULL, to a dictionary of runs: a new run only when the value differs
/// from the last run's.
fn append_run(keys: &mut Int32Builder, runs: &mut StringBuilder, value: Option<&str>) {
    match value {
        None => keys.append_null(),
        Some(v) => {
            // The values of a run are never NULL, so the last one ends at the buffer's end.
            let last = runs.offsets_slice().iter().rev().nth(1).map(|start| &runs.values_slice()[*start as usize..]);
            if last != Some(v.as_bytes()) {
                runs.append_value(v);
            }
            // At most one value per row, and a batch holds far fewer than 2^31 rows.
            keys.append_value(runs.len() as i32 - 1);
        }
    }
}

impl TextBuilder {
    fn new(rows: usize, bytes: usize, dictionary: bool) -> TextBuilder {
        if dictionary {
            TextBuilder::Runs { keys: Int32Builder::with_capacity(rows), values: StringBuilder::new() }
        } else {
            TextBuilder::Plain(PlainText::with_capacity(rows, bytes))
        }
    }

    /// Bytes of text of `values`: what they add to a plain column, and at most what they add to
    /// a dictionary of runs.
    fn text_bytes_of<'s>(values: impl Iterator<Item = Option<&'s str>>) -> usize {
        values.map(|v| v.map_or(0, str::len)).sum()
    }

    /// Bytes of text appended since the last batch.
    fn text_held(&self) -> usize {
        match self {
            TextBuilder::Plain(b) => b.values.len(),
            TextBuilder::Runs { values, .. } => values.values_slice().len(),
        }
    }

    /// Appends values, or NULLs, in order; `bytes` is their [`TextBuilder::text_bytes_of`].
    pub fn append_options<'s>(&mut self, values: impl Iterator<Item = Option<&'s str>>, bytes: usize) {
        match self {
            TextBuilder::Plain(b) => b.append_all(values, bytes),
            TextBuilder::Runs { keys, values: runs } => values.for_each(|v| append_run(keys, runs, v)),
        }
    }

    fn finish_column(&mut self, next: usize) -> ArrayRef {
        match self {
            TextBuilder::Plain(b) => {
                let rows = b.len();
                let bytes = b.values.len();
                // Room for the next batch at this one's bytes per value, and a sixteenth more:
                // text that outgrows its buffer doubles it.
                let room = if rows == 0 { next * TEXT_BYTES_GUESS } else { (bytes * next).div_ceil(rows) };
                let done = std::mem::replace(b, PlainText::with_capacity(next, room + room / 16));
                Arc::new(done.finish())
            }
            TextBuilder::Runs { keys, values } => {
                let dict = DictionaryArray::<Int32Type>::try_new(keys.finish(), Arc::new(values.finish()));
                *keys = Int32Builder::with_capacity(next);
                match dict {
                    Ok(d) => Arc::new(d),
                    Err(e) => unreachable!("keys index the values built with them: {e}"),
                }
            }
        }
    }

    fn held(&self) -> usize {
        match self {
            TextBuilder::Plain(b) => b.values.len() + 4 * b.len(),
            TextBuilder::Runs { keys, values } => 4 * keys.len() + values.values_slice().len() + 4 * values.len(),
        }
    }
}

/// A text column of one value per row, in buffers of its own. A message's values of the column
/// are appended together ([`PlainText::append_all`]): room is made once for all of them, where
/// Arrow's `StringBuilder`, value by value, checked and grew its three buffers for each (the merge
/// of ingest spent two thirds of its instructions appending text).
pub struct PlainText {
    /// The values' bytes, one after the other.
    values: Vec<u8>,
    /// Where each value ends in `values`, after a leading 0.
    offsets: Vec<i32>,
    /// One bit per row, set for a value and clear for a NULL; `None` while no row is NULL.
    validity: Option<BooleanBufferBuilder>,
}

impl PlainText {
    fn with_capacity(rows: usize, bytes: usize) -> PlainText {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        PlainText { values: Vec::with_capacity(bytes), offsets, validity: None }
    }

    /// Rows appended.
    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Appends values, or NULLs, in order; `bytes` is the sum of their lengths, which the caller
    /// measured to keep the column within [`TEXT_BATCH_LIMIT`].
    fn append_all<'s>(&mut self, values: impl Iterator<Item = Option<&'s str>>, bytes: usize) {
        self.values.reserve(bytes);
        self.offsets.reserve(values.size_hint().0);
        for v in values {
            match v {
                Some(v) => {
                    self.values.extend_from_slice(v.as_bytes());
                    if let Some(validity) = &mut self.validity {
                        validity.append(true);
                    }
                }
                None => {
                    let rows = self.len();
                    self.validity
                        .get_or_insert_with(|| {
                            let mut all_set = BooleanBufferBuilder::new(self.offsets.capacity() - 1);
                            all_set.append_n(rows, true);
                            all_set
                        })
                        .append(false);
                }
            }
            // The caller keeps a batch's text within `TEXT_BATCH_LIMIT` (`i32::MAX`, see
            // `TableBuilder::try_append`), so every value's end fits an `i32` offset; the
            // offsets must be right for `finish`'s unchecked array, so this is still checked.
            let Ok(end) = i32::try_from(self.values.len()) else {
                unreachable!("a landing text column of one batch passed {TEXT_BATCH_LIMIT} bytes")
            };
            self.offsets.push(end);
        }
    }

    /// The array of the values appended. Its text and its offsets are in buffers of their own
    /// size when they had grown more than an eighth past it (by doubling): a finished buffer keeps
    /// its capacity, and a batch is held until the run ends, so the first batch of each table, or
    /// text longer than the last batch's, would otherwise hold up to twice its bytes (and count
    /// them towards the landing set's flush, `ingest::LANDING_FLUSH_BYTES`).
    fn finish(self) -> StringArray {
        let PlainText { mut values, mut offsets, validity } = self;
        if values.capacity() > values.len() + values.len() / 8 + 64 {
            values.shrink_to_fit();
        }
        if offsets.capacity() > offsets.len() + offsets.len() / 8 + 16 {
            offsets.shrink_to_fit();
        }
        let nulls = validity.map(|mut v| NullBuffer::new(v.finish()));
        // SAFETY: `offsets` starts at 0 and each entry is the length of `values` after a value
        // was appended, so they never decrease and the last is the length of `values`; every
        // value was appended whole from a `&str`, so the bytes are UTF-8 and every offset is at
        // the boundary of a character; `nulls` has one bit per row. (`OffsetBuffer::new` and
        // `StringArray::try_new` would check every offset and every byte again.)
        unsafe {
            let offsets = OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets));
            StringArray::new_unchecked(offsets, Buffer::from_vec(values), nulls)
        }
    }
}

/// Declares a Rust type a landing column: its Arrow type, whether it may be NULL, its builder (a
/// type with `text_bytes_of`, `text_held`, `append_options`, `finish_column` and `held`), how a
/// builder is made with room for `rows` values, and `|v| value`, the `Option` that
/// `append_options` takes for a value `v`.
macro_rules! column_type {
    (
        $ty:ty => $data_type:expr, nullable: $nullable:literal, $builder:ty,
        new: |$rows:ident, $dictionary:ident| $new:expr, append: |$v:ident| $value:expr
    ) => {
        impl Column for $ty {
            fn data_type() -> DataType {
                $data_type
            }
            fn nullable() -> bool {
                $nullable
            }
            type Builder = $builder;
            fn builder($rows: usize, $dictionary: bool) -> $builder {
                $new
            }
        }

        impl ColumnBuilder<$ty> for $builder {
            fn text_bytes_of<'r>(values: impl Iterator<Item = &'r $ty>) -> usize
            where
                $ty: 'r,
            {
                <$builder>::text_bytes_of(values.map(|$v| $value))
            }
            fn text_held(&self) -> usize {
                <$builder>::text_held(self)
            }
            fn append_all<'r>(&mut self, values: impl Iterator<Item = &'r $ty>, text_bytes: usize)
            where
                $ty: 'r,
            {
                self.append_options(values.map(|$v| $value), text_bytes)
            }
            fn finish(&mut self, next: usize) -> ArrayRef {
                self.finish_column(next)
            }
            fn held_bytes(&self) -> usize {
                self.held()
            }
        }
    };
}

/// Text columns: owned, inline and shared text, non-null and nullable.
macro_rules! text_column_type {
    ($ty:ty, nullable: $nullable:literal, |$v:ident| $value:expr) => {
        column_type!($ty => DataType::Utf8, nullable: $nullable, TextBuilder,
            new: |rows, dictionary| TextBuilder::new(rows, rows * TEXT_BYTES_GUESS, dictionary),
            append: |$v| $value);
    };
}

text_column_type!(String, nullable: false, |v| Some(v.as_str()));
text_column_type!(Text, nullable: false, |v| Some(v.as_str()));
text_column_type!(Shared, nullable: false, |v| Some(v.as_ref()));
text_column_type!(Option<String>, nullable: true, |v| v.as_deref());
text_column_type!(Option<Text>, nullable: true, |v| v.as_deref());

/// A column of Arrow primitives (numbers, dates, instants) of the type its Rust type declares (a
/// timestamp keeps its time zone, or none, from batch to batch).
pub struct PrimitiveColumn<T: ArrowPrimitiveType>(PrimitiveBuilder<T>);

impl<T: ArrowPrimitiveType> PrimitiveColumn<T> {
    fn new(rows: usize, data_type: DataType) -> Self {
        PrimitiveColumn(PrimitiveBuilder::<T>::with_capacity(rows).with_data_type(data_type))
    }
    /// No text: 0 bytes.
    fn text_bytes_of(_values: impl Iterator<Item = Option<T::Native>>) -> usize {
        0
    }
    fn text_held(&self) -> usize {
        0
    }
    fn append_options(&mut self, values: impl Iterator<Item = Option<T::Native>>, _text_bytes: usize) {
        values.for_each(|v| self.0.append_option(v))
    }
    fn finish_column(&mut self, next: usize) -> ArrayRef {
        let array = self.0.finish();
        self.0 = PrimitiveBuilder::<T>::with_capacity(next).with_data_type(array.data_type().clone());
        Arc::new(array)
    }
    fn held(&self) -> usize {
        std::mem::size_of::<T::Native>() * self.0.len()
    }
}

/// Columns of a Rust type held as an Arrow primitive type, nullable when the Rust type is an
/// `Option`: `|v| value` maps a present value to the Arrow native value.
macro_rules! primitive_column_type {
    ($ty:ty, $arrow:ty, $data_type:expr, nullable, |$v:ident| $value:expr) => {
        column_type!($ty => $data_type, nullable: true, PrimitiveColumn<$arrow>,
            new: |rows, _dictionary| PrimitiveColumn::new(rows, $data_type),
            append: |x| (*x).map(|$v| $value));
    };
    ($ty:ty, $arrow:ty, $data_type:expr, required, |$v:ident| $value:expr) => {
        column_type!($ty => $data_type, nullable: false, PrimitiveColumn<$arrow>,
            new: |rows, _dictionary| PrimitiveColumn::new(rows, $data_type),
            append: |x| Some({ let $v = *x; $value }));
    };
}

/// Days from 1 January of year 1 to 1 January 1970 ([`Datelike::num_days_from_ce`] of the epoch).
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Days since 1970-01-01, the value of an Arrow `Date32`. Counted from the common era's start:
/// chrono's subtraction of two dates (`d - epoch`, through a `TimeDelta`) was 4% of the
/// instructions of ingest's merge into Arrow (callgrind, docs/performance.md, change 85).
fn date32(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - EPOCH_DAYS_FROM_CE
}

primitive_column_type!(i64, Int64Type, DataType::Int64, required, |v| v);
primitive_column_type!(Option<i64>, Int64Type, DataType::Int64, nullable, |v| v);
primitive_column_type!(Option<f64>, Float64Type, DataType::Float64, nullable, |v| v);
primitive_column_type!(Option<NaiveDate>, Date32Type, DataType::Date32, nullable, |d| date32(d));
// UTC instants are stored as `Timestamp(µs, "UTC")`.
primitive_column_type!(
    Option<DateTime<Utc>>,
    TimestampMicrosecondType,
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    nullable,
    |t| t.timestamp_micros()
);
// Airport-local wall-clock times are stored as `Timestamp(µs)` with no zone, so that they can
// never be compared with UTC columns by accident.
primitive_column_type!(
    Option<NaiveDateTime>,
    TimestampMicrosecondType,
    DataType::Timestamp(TimeUnit::Microsecond, None),
    nullable,
    |t| t.and_utc().timestamp_micros()
);

/// A Boolean column.
pub struct BoolColumn(BooleanBuilder);

impl BoolColumn {
    /// No text: 0 bytes.
    fn text_bytes_of(_values: impl Iterator<Item = Option<bool>>) -> usize {
        0
    }
    fn text_held(&self) -> usize {
        0
    }
    fn append_options(&mut self, values: impl Iterator<Item = Option<bool>>, _text_bytes: usize) {
        values.for_each(|v| self.0.append_option(v))
    }
    fn finish_column(&mut self, next: usize) -> ArrayRef {
        let array = self.0.finish();
        self.0 = BooleanBuilder::with_capacity(next);
        Arc::new(array)
    }
    fn held(&self) -> usize {
        self.0.len().div_ceil(8)
    }
}

column_type!(bool => DataType::Boolean, nullable: false, BoolColumn,
    new: |rows, _dictionary| BoolColumn(BooleanBuilder::with_capacity(rows)), append: |v| Some(*v));
column_type!(Option<bool> => DataType::Boolean, nullable: true, BoolColumn,
    new: |rows, _dictionary| BoolColumn(BooleanBuilder::with_capacity(rows)), append: |v| *v);

/// A field with its description in the metadata.
pub fn described_field(name: &str, data_type: DataType, nullable: bool, description: &str) -> Field {
    Field::new(name, data_type, nullable)
        .with_metadata(HashMap::from([("description".to_string(), description.to_string())]))
}

/// Declares a landing table: row struct, schema with descriptions, and its builder of record
/// batches.
macro_rules! landing_table {
    (
        $(#[$meta:meta])*
        $row:ident, $builder:ident, $table:literal, $table_doc:literal {
            $( $field:ident : $ty:ty => $desc:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $row {
            $( #[doc = $desc] pub $field: $ty, )*
        }

        impl $row {
            /// Name of the landing table.
            pub const TABLE: &'static str = $table;
            /// What one row of the table is.
            pub const DESCRIPTION: &'static str = $table_doc;

            /// Arrow schema, with a description of each column in its metadata.
            pub fn schema() -> arrow::datatypes::SchemaRef {
                // Built once: every batch of the table shares it.
                static SCHEMA: std::sync::OnceLock<arrow::datatypes::SchemaRef> = std::sync::OnceLock::new();
                SCHEMA.get_or_init(|| std::sync::Arc::new(arrow::datatypes::Schema::new_with_metadata(
                    vec![ $( $crate::landing::schema::described_field(
                        stringify!($field),
                        <$ty as $crate::landing::schema::Column>::data_type(),
                        <$ty as $crate::landing::schema::Column>::nullable(),
                        $desc,
                    ), )* ],
                    std::collections::HashMap::from([("description".to_string(), $table_doc.to_string())]),
                ))).clone()
            }

            /// Converts rows into record batches of at most [`BATCH_ROWS`] rows each (one, empty,
            /// for no rows), each text column of a batch within [`TEXT_BATCH_LIMIT`] bytes.
            pub fn to_batches(rows: &[Self]) -> Vec<arrow::record_batch::RecordBatch> {
                $crate::landing::schema::batches_of(
                    &mut $builder::new(rows.len().min($crate::landing::schema::BATCH_ROWS), false),
                    rows,
                    $crate::landing::schema::TEXT_BATCH_LIMIT,
                )
            }
        }

        #[doc = concat!("Builds record batches of `", $table, "` from rows, each value written once, straight into Arrow buffers.")]
        pub struct $builder {
            table_schema: arrow::datatypes::SchemaRef,
            row_count: usize,
            $( $field: <$ty as $crate::landing::schema::Column>::Builder, )*
        }

        impl $builder {
            /// A builder with room for `rows` rows. `compact` builds the table's in-memory form
            /// (`landing::compact`), plain text otherwise.
            pub fn new(rows: usize, compact: bool) -> Self {
                use $crate::landing::compact::{compact_schema, holds_dictionary};
                use $crate::landing::schema::Column;
                $builder {
                    table_schema: if compact { compact_schema(&$row::schema()) } else { $row::schema() },
                    row_count: 0,
                    $( $field: <$ty as Column>::builder(
                        rows,
                        compact && holds_dictionary(stringify!($field), &<$ty as Column>::data_type()),
                    ), )*
                }
            }
        }

        impl $crate::landing::schema::TableBuilder for $builder {
            type Row = $row;

            fn try_append(&mut self, rows: &[$row], text_limit: usize) -> bool {
                use $crate::landing::schema::{Column, ColumnBuilder};
                // Each column's text is measured before any is appended. A plain text column
                // needs the measure anyway, to make room at once; only a dictionary column (the
                // in-memory `source_file`) reads its values once more.
                let added = [ $( <<$ty as Column>::Builder as ColumnBuilder<$ty>>::text_bytes_of(
                    rows.iter().map(|r| &r.$field)
                ), )* ];
                let held = [ $( ColumnBuilder::<$ty>::text_held(&self.$field), )* ];
                if added.iter().zip(held).any(|(added, held)| held + added > text_limit) {
                    return false;
                }
                let mut added = added.into_iter();
                // Column by column: a message's rows stay in the cache.
                $( ColumnBuilder::<$ty>::append_all(
                    &mut self.$field,
                    rows.iter().map(|r| &r.$field),
                    added.next().unwrap_or_default(),
                ); )*
                self.row_count += rows.len();
                true
            }

            fn len(&self) -> usize {
                self.row_count
            }

            fn held_bytes(&self) -> usize {
                use $crate::landing::schema::ColumnBuilder;
                0 $( + ColumnBuilder::<$ty>::held_bytes(&self.$field) )*
            }

            fn finish(&mut self, next: usize) -> arrow::record_batch::RecordBatch {
                use $crate::landing::schema::ColumnBuilder;
                let columns: Vec<arrow::array::ArrayRef> = vec![
                    $( ColumnBuilder::<$ty>::finish(&mut self.$field, next), )*
                ];
                self.row_count = 0;
                // The schema and the columns come from the same declaration, so they always agree.
                match arrow::record_batch::RecordBatch::try_new(self.table_schema.clone(), columns) {
                    Ok(b) => b,
                    Err(e) => unreachable!("landing table {} is inconsistent: {e}", $table),
                }
            }
        }
    };
}

/// What a table's builder (generated by `landing_table!`) does.
pub trait TableBuilder {
    /// The table's row.
    type Row;
    /// Appends rows, unless that would take a text column of the batch past `text_limit` bytes:
    /// then it appends none and returns false.
    fn try_append(&mut self, rows: &[Self::Row], text_limit: usize) -> bool;
    /// Rows appended since the last batch was finished.
    fn len(&self) -> usize;
    /// Whether no row was appended since the last batch was finished.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes of Arrow data appended since the last batch was finished.
    fn held_bytes(&self) -> usize;
    /// The batch of the rows appended since the last one; the next starts with room for `next`
    /// rows.
    fn finish(&mut self, next: usize) -> RecordBatch;
}

landing_table! {
    /// A row of `push`.
    PushRow, PushBuilder, "push", "One PNRGOV or PAXLST message (UNH..UNT), after multi-part reassembly." {
        push_id: Shared => "Stable id of the push: 'M' + 16 hex digits of SHA-256 over the raw bytes of its part(s). The same message sent twice has the same id.",
        format: Text => "Message format: PNRGOV or PAXLST.",
        version: Option<Text> => "Message version and release from UNH, e.g. 13.1.",
        sender: Option<Text> => "Interchange sender (UNB).",
        recipient: Option<Text> => "Interchange recipient (UNB).",
        interchange_ref: Option<Text> => "Interchange control reference (UNB).",
        message_ref: Option<Text> => "Message reference number (UNH element 1).",
        common_access_ref: Option<Text> => "Common access reference (UNH element 3); senders put the flight here.",
        parts: i64 => "Number of message parts this push was reassembled from (1 for a single message).",
        prepared_at_utc: Option<DateTime<Utc>> => "Interchange preparation time from UNB, taken as UTC.",
        push_type: Option<i64> => "MSG code: 22 full push, 141 update (changed PNRs only).",
        originator: Option<Text> => "Sending system and location from the level-0 ORG, e.g. 1A:MUC.",
        flight_carrier: Option<Text> => "Operating carrier of the pushed flight (level-0 TVL).",
        flight_number: Option<Text> => "Flight number of the pushed flight.",
        dep_airport: Option<Text> => "Departure airport (IATA) of the pushed flight.",
        arr_airport: Option<Text> => "Arrival airport (IATA) of the pushed flight.",
        dep_local: Option<NaiveDateTime> => "Scheduled departure, local time at the departure airport.",
        dep_utc: Option<DateTime<Utc>> => "Scheduled departure in UTC; NULL when the airport's time zone is unknown.",
        arr_local: Option<NaiveDateTime> => "Scheduled arrival, local time at the arrival airport.",
        arr_utc: Option<DateTime<Utc>> => "Scheduled arrival in UTC; NULL when unknown.",
        dep_date: Option<NaiveDate> => "Local departure date of the pushed flight; the landing Parquet partition key.",
        declared_pnr_count: Option<i64> => "Number of PNRs the sender declared for the push (level-0 EQN).",
        pnr_count: i64 => "Number of PNRs (SRC groups) actually in the message.",
        source_file: Shared => "Input file the message came from (its first part).",
        source_offset: i64 => "Byte offset of UNH in source_file.",
    }
}

landing_table! {
    /// A row of `pnr`.
    PnrRow, PnrBuilder, "pnr", "One PNR in one push. A PNR pushed several times has one row per push." {
        pnr_id: Text => "Stable PNR id: 'P' + 16 hex digits of SHA-256 over carrier, record locator and creation date (see ids.rs).",
        push_id: Shared => "The push this version of the PNR came in.",
        carrier: Option<Text> => "Company of the first RCI locator (CRS or airline).",
        record_locator: Option<Text> => "Record locator of the first RCI composite.",
        other_locators: Option<Text> => "Further locators as 'COMPANY:LOCATOR' joined by ';'.",
        created_at_utc: Option<DateTime<Utc>> => "PNR creation date and time from RCI (UTC per the IG).",
        last_txn_at_utc: Option<DateTime<Utc>> => "Last PNR transaction (DAT 700), UTC.",
        ticketed_at_utc: Option<DateTime<Utc>> => "Ticket issue (DAT 710 at PNR level), UTC.",
        booking_system: Option<Text> => "Booking originator system or airline (ORG e1.c1).",
        booking_location: Option<Text> => "Booking originator location (ORG e1.c2).",
        agency_iata: Option<Text> => "Travel agent IATA/ARC number (ORG e2.c1).",
        office_id: Option<Text> => "In-house or pseudo-city code of the booking office (ORG e2.c2).",
        agent_type: Option<Text> => "Originator type (ORG e5): A airline agent, T travel agent, E and others per the IG.",
        booking_country: Option<Text> => "Country of booking (ORG e6.c1).",
        booking_currency: Option<Text> => "Currency of booking (ORG e6.c2).",
        city_of_sale: Option<Text> => "Agent location city (ORG e3).",
        party_size: i64 => "Number of travellers (named TIFs, infants included, group names excluded).",
        is_group: bool => "A group name (TIF type G) is present.",
        group_name: Option<Text> => "The group name, if any.",
        split_count: Option<i64> => "Travellers split from or to this PNR (group 8 EQN).",
        split_locators: Option<Text> => "Locators of the split PNRs as 'COMPANY:LOCATOR' joined by ';'.",
        leg_count: i64 => "Number of itinerary segments.",
        dep_date: Option<NaiveDate> => "Local departure date of the pushed flight.",
        source_file: Shared => "Input file.",
        source_offset: i64 => "Byte offset of the SRC segment.",
    }
}

landing_table! {
    /// A row of `traveller`.
    TravellerRow, TravellerBuilder, "traveller", "One name in one push of a PNR." {
        traveller_id: Text => "Stable traveller id: 'T' + 16 hex digits of SHA-256 over pnr_id, surname, given name (title removed) and traveller reference.",
        pnr_id: Text => "The PNR.",
        push_id: Shared => "The push.",
        surname: Option<Text> => "Surname from TIF.",
        given_name: Option<Text> => "Given name(s) from TIF with the title removed.",
        title: Option<Text> => "Title that was run into the given name (MR, MRS, MS, MISS, MSTR, DR, ...).",
        given_name_raw: Option<Text> => "Given name exactly as sent, title included.",
        traveller_type: Text => "adult, child, infant, or unknown.",
        traveller_type_code: Option<Text> => "Traveller type code as sent (A, C, IN, ...).",
        traveller_ref: Option<Text> => "Traveller reference number (TIF e2.c3), the key SSRs and check-in use.",
        infant_of: Option<Text> => "For an infant: traveller_id of the adult it travels with.",
        with_infant: bool => "The adult carries an infant (TIF e2.c4).",
        doc_type: Option<Text> => "Travel document type from SSR DOCS (P passport, I/A/C identity card, ...).",
        doc_number: Option<Text> => "Document number from DOCS.",
        doc_issuer: Option<Text> => "Issuing state from DOCS.",
        nationality: Option<Text> => "Nationality from DOCS.",
        date_of_birth: Option<NaiveDate> => "Date of birth from DOCS (or INFT); a two-digit year is never in the future.",
        gender: Option<Text> => "Gender from DOCS: M, F, U, MI/FI for infants.",
        doc_expiry: Option<NaiveDate> => "Document expiry date from DOCS (year 2000 or later).",
        doc_surname: Option<Text> => "Surname as on the document.",
        doc_given_name: Option<Text> => "Given name(s) as on the document.",
        birth_place: Option<Text> => "Place of birth from SSR DOCO.",
        visa_type: Option<Text> => "Other document type from DOCO (V visa).",
        visa_number: Option<Text> => "Visa or other document number from DOCO.",
        visa_issue_place: Option<Text> => "Place of issue from DOCO.",
        visa_issue_date: Option<NaiveDate> => "Issue date from DOCO.",
        visa_valid_for: Option<Text> => "Country the DOCO document is valid for.",
        residence_country: Option<Text> => "Country of residence from SSR DOCA R.",
        residence_address: Option<Text> => "Residence street, city, state and postcode from DOCA R, joined by ', '.",
        destination_country: Option<Text> => "Country of the destination address from DOCA D.",
        destination_address: Option<Text> => "Destination street, city, state and postcode from DOCA D.",
        frequent_flyer_airline: Option<Text> => "Frequent flyer programme airline (FTI or SSR FQTV).",
        frequent_flyer_number: Option<Text> => "Frequent flyer number.",
        frequent_flyer_tier: Option<Text> => "Frequent flyer tier (FTI e1.c5 or later).",
        unique_passenger_ref: Option<Text> => "Unique passenger reference (REF), which may link to API RFF+ABO.",
        fare_pax_type: Option<Text> => "Passenger type code from FAR.",
        age: Option<i64> => "Age from FAR when sent.",
        dep_date: Option<NaiveDate> => "Local departure date of the pushed flight.",
        source_file: Shared => "Input file.",
        source_offset: i64 => "Byte offset of the TIF segment.",
    }
}

landing_table! {
    /// A row of `leg`.
    LegRow, LegBuilder, "leg", "One itinerary segment (group 5 TVL) of one push of a PNR." {
        pnr_id: Text => "The PNR.",
        push_id: Shared => "The push.",
        seq: i64 => "1-based position of the segment in the itinerary.",
        segment_type: Text => "air, open (no date/flight), arnk (surface/unknown) or non_air.",
        marketing_carrier: Option<Text> => "Marketing carrier (TVL e4.c1).",
        marketing_flight: Option<Text> => "Marketing flight number (TVL e5.c1).",
        operating_carrier: Option<Text> => "Operating carrier (TVL e4.c2, TRA, or the second TVL of a code-share pair); marketing carrier when not a code-share.",
        operating_flight: Option<Text> => "Operating flight number; marketing flight when not a code-share.",
        booking_class: Option<Text> => "Reservation booking designator (TVL e5.c2).",
        dep_airport: Option<Text> => "Board airport (IATA).",
        arr_airport: Option<Text> => "Off airport (IATA).",
        dep_local: Option<NaiveDateTime> => "Departure, local time at dep_airport.",
        dep_utc: Option<DateTime<Utc>> => "Departure in UTC; NULL when the airport is unknown or the time is missing.",
        arr_local: Option<NaiveDateTime> => "Arrival, local time at arr_airport.",
        arr_utc: Option<DateTime<Utc>> => "Arrival in UTC; NULL when unknown.",
        status: Option<Text> => "Segment status from RPI (HK confirmed, HX/XX cancelled, HL waitlist, ...).",
        seats: Option<i64> => "Number in party on the segment (RPI e1).",
        equipment: Option<Text> => "Aircraft type (APD).",
        leg_locator: Option<Text> => "Operating carrier's locator for this leg (group 5 RCI) as 'COMPANY:LOCATOR'.",
        is_pushed_flight: bool => "This segment is the pushed flight: same departure date and the pushed carrier and flight number as marketing or operating flight, or the pushed carrier on the same route.",
        dep_date: Option<NaiveDate> => "Local departure date of the pushed flight (partition key), not of this leg.",
        source_file: Shared => "Input file.",
        source_offset: i64 => "Byte offset of the TVL segment.",
    }
}

landing_table! {
    /// A row of `ticket`.
    TicketRow, TicketBuilder, "ticket", "One ticket (group 3) of a traveller in one push." {
        traveller_id: Text => "The traveller.",
        pnr_id: Text => "The PNR.",
        push_id: Shared => "The push.",
        ticket_number: Option<Text> => "Ticket number (TKT e1.c1), or from SSR TKNE.",
        doc_type: Option<Text> => "T ticket, 1 ticketless, ... (TKT e1.c2).",
        booklets: Option<i64> => "Number of booklets (conjunction tickets).",
        issued_at_utc: Option<DateTime<Utc>> => "Ticket issue date and time (DAT 710), UTC.",
        base_fare: Option<f64> => "Base fare (MON B).",
        base_currency: Option<Text> => "Currency of the base fare.",
        total_fare: Option<f64> => "Total fare (MON T).",
        total_currency: Option<Text> => "Currency of the total fare.",
        fare_not_disclosed: bool => "The fare is hidden (IT/BT fares).",
        tax_total: Option<f64> => "Sum of TXD amounts.",
        pricing_indicator: Option<Text> => "Pricing/ticketing indicator (PTK e1), NR non-refundable.",
        refundable: Option<bool> => "False when PTK says NR; NULL when not stated.",
        validating_carrier: Option<Text> => "Validating carrier (PTK e4).",
        city_of_sale: Option<Text> => "Sales/ticketing city (PTK e6).",
        dep_date: Option<NaiveDate> => "Local departure date of the pushed flight.",
        source_file: Shared => "Input file.",
        source_offset: i64 => "Byte offset of the TKT segment (or of the first segment of the ticket group).",
    }
}

landing_table! {
    /// A row of `payment`.
    PaymentRow, PaymentBuilder, "payment", "One form of payment (group 4 FOP composite) in one push." {
        pnr_id: Text => "The PNR.",
        traveller_id: Option<Text> => "The traveller whose ticket the payment is under; NULL for a PNR-level FOP.",
        push_id: Shared => "The push.",
        ticket_number: Option<Text> => "Ticket paid for, if known.",
        seq: i64 => "1-based position of the FOP composite within the PNR.",
        fop_type: Option<Text> => "Form of payment: CA cash, CC card, CK cheque, MS miscellaneous, GR government, ...",
        is_cash: bool => "fop_type is CA.",
        previous: bool => "Old/previous form of payment (data indicator 2).",
        amount: Option<f64> => "Amount paid.",
        card_vendor: Option<Text> => "Card vendor code (VI, AX, MA/CA, DC, TP, ...).",
        card_number_masked: Option<Text> => "Card number with all but the last four digits masked; a full PAN is never stored.",
        card_last4: Option<Text> => "Last four digits of the card.",
        card_expiry: Option<Text> => "Card expiry MMYY.",
        card_key: Option<Text> => "vendor:last4:expiry, to link payments by one card across PNRs.",
        payer_name: Option<Text> => "Sponsor/card holder name (IFT 4:43) when not the traveller.",
        payer_address: Option<Text> => "Sponsor address (IFT 4:43 or ADD after FOP).",
        payer_phone: Option<Text> => "Sponsor phone, digits only.",
        dep_date: Option<NaiveDate> => "Local departure date of the pushed flight.",
        source_file: Shared => "Input file.",
        source_offset: i64 => "Byte offset of the FOP segment.",
    }
}

landing_table! {
    /// A row of `contact`.
    ContactRow, ContactBuilder, "contact", "One phone number, e-mail or address of a PNR or traveller in one push." {
        pnr_id: Text => "The PNR.",
        traveller_id: Option<Text> => "The traveller, when the contact is theirs.",
        push_id: Shared => "The push.",
        kind: Text => "email, phone, mobile, home, business, agency, fax or address.",
        value: Text => "Normalised value: lower-case e-mail with '@', digits-only phone (leading + kept), or address text.",
        source_segment: Text => "Where it came from: ADD, SSR CTCE/CTCM/..., IFT CTC*, FOP sponsor.",
        purpose: Option<Text> => "Address purpose code from ADD (700, 702, E, M, H, ...).",
        country: Option<Text> => "Country of an address (ISO 3166 alpha-2 from ADD).",
        dep_date: Option<NaiveDate> => "Local departure date of the pushed flight.",
        source_file: Shared => "Input file.",
        source_offset: i64 => "Byte offset of the segment.",
    }
}

landing_table! {
    /// A row of `ssr`.
    SsrRow, SsrBuilder, "ssr", "One special service request not mapped to another table (sensitive codes are never stored)." {
        pnr_id: Text => "The PNR.",
        traveller_id: Option<Text> => "The traveller it is for, when known.",
        push_id: Shared => "The push.",
        leg_seq: Option<i64> => "Itinerary segment it is for, when given at segment level.",
        level: Text => "Where it was sent: pnr, traveller or leg.",
        code: Option<Text> => "SSR code (SEAT, TKNE, INFT, CKIN, UMNR, ...).",
        status: Option<Text> => "Status/action code (HK, NN, KK, ...).",
        quantity: Option<i64> => "Number of items.",
        carrier: Option<Text> => "Airline the SSR is addressed to.",
        board_airport: Option<Text> => "Board point.",
        off_airport: Option<Text> => "Off point.",
        free_text: Option<Text> => "Free text (components 9 onwards joined by ':').",
        seat: Option<Text> => "Requested seat (e2.c1), for SEAT/NSST/RQST-type SSRs.",
        dep_date: Option<NaiveDate> => "Local departure date of the pushed flight.",
        source_file: Shared => "Input file.",
        source_offset: i64 => "Byte offset of the SSR segment.",
    }
}

landing_table! {
    /// A row of `checkin`.
    CheckinRow, CheckinBuilder, "checkin", "One traveller's check-in on an itinerary segment (groups 6 and 7) in one push." {
        traveller_id: Option<Text> => "The traveller, matched by reference or name; NULL when neither matched.",
        pnr_id: Text => "The PNR.",
        push_id: Shared => "The push.",
        leg_seq: i64 => "Itinerary segment checked in for.",
        checked_in_at_utc: Option<DateTime<Utc>> => "Check-in transaction time (DAT 2), UTC.",
        checkin_text: Option<Text> => "Check-in transaction as free text (DAT 3).",
        agent: Option<Text> => "Checking-in carrier/station (group 6 ORG).",
        boarding_sequence: Option<Text> => "Boarding/check-in sequence number (TRI e2.c1).",
        traveller_ref: Option<Text> => "Traveller reference (TRI e2.c4 or TIF e2.c3).",
        surname: Option<Text> => "Surname on the check-in TIF.",
        seat: Option<Text> => "Assigned seat (SSD e1); NULL for XXX (not assigned).",
        cabin: Option<Text> => "Cabin (SSD e5).",
        bag_count: Option<i64> => "Number of checked bags (TBD).",
        bag_weight: Option<f64> => "Weight of the checked bags.",
        bag_weight_unit: Option<Text> => "kg or lb.",
        bag_tags: Option<Text> => "Bag tags as 'ISSUER:NUMBER' (with '+N' for N consecutive tags) joined by ';'.",
        tag_count: Option<i64> => "Number of bag tags, consecutive tags included.",
        tag_destinations: Option<Text> => "Distinct destinations of the bag tags joined by ';' (a short-checked bag shows another city).",
        pool_role: Option<Text> => "HP head of pool, MP member of pool.",
        pool_ref: Option<Text> => "Pool reference shared by pooled travellers.",
        dep_date: Option<NaiveDate> => "Local departure date of the pushed flight.",
        source_file: Shared => "Input file.",
        source_offset: i64 => "Byte offset of the TRI (or first) segment of the record.",
    }
}

landing_table! {
    /// A row of `history`.
    HistoryRow, HistoryBuilder, "history", "One history item (groups 10 to 12, or an LTS line) of one push of a PNR." {
        pnr_id: Text => "The PNR.",
        push_id: Shared => "The push.",
        seq: i64 => "1-based position within the PNR's history.",
        at_utc: Option<DateTime<Utc>> => "History transaction time (group 10 DAT), UTC.",
        action: Option<Text> => "added, cancelled, changed or other (SAC e3); NULL for LTS lines.",
        action_code: Option<Text> => "SAC action code as sent.",
        item_kind: Text => "What changed: TIF, SSR, IFT, TBD, TVL, or LTS for unstructured history.",
        item: Option<Text> => "The changed item as text (segment elements joined by '+').",
        by: Option<Text> => "Who made the change (ABI), as text.",
        dep_date: Option<NaiveDate> => "Local departure date of the pushed flight.",
        source_file: Shared => "Input file.",
        source_offset: i64 => "Byte offset of the SAC or LTS segment.",
    }
}

landing_table! {
    /// A row of `api_traveller`.
    ApiTravellerRow, ApiTravellerBuilder, "api_traveller", "One passenger or crew member in a PAXLST (API) message." {
        api_traveller_id: Text => "Stable id: 'A' + 16 hex digits of SHA-256 over flight carrier, number and local departure date, surname, given name, date of birth and document number. The same person in a re-sent list has the same id.",
        push_id: Shared => "The PAXLST message the person was listed in.",
        role: Text => "passenger (NAD FL), crew (FM), in_transit_passenger (DDU), in_transit_crew (DDT) or other.",
        list_type: Option<Text> => "BGM list type: passenger (745), crew (250), master_crew (336), flight_status (266), gate_pass (655) or unknown.",
        list_change: Option<Text> => "BGM document id: CP change, XR cancel, RP reduction, CL close, CLNB/CLOB close with passengers not/on board, …",
        flight_carrier: Option<Text> => "Carrier of the reported leg (TDT e5, or the letters of the flight id).",
        flight_number: Option<Text> => "Flight number of the reported leg (TDT e2 without the carrier), e.g. 0989.",
        dep_airport: Option<Text> => "Departure airport of the reported leg (LOC 125, or 92 of a progressive leg).",
        arr_airport: Option<Text> => "Arrival airport of the reported leg (LOC 87, or 92).",
        dep_local: Option<NaiveDateTime> => "Departure of the reported leg, local time (DTM 189).",
        dep_utc: Option<DateTime<Utc>> => "Departure in UTC; NULL when the airport's time zone is unknown.",
        dep_date: Option<NaiveDate> => "Local departure date of the reported leg; the landing Parquet partition key.",
        legs: Option<Text> => "Every leg of the message as CARRIER+NUMBER:FROM-TO, semicolon-separated (progressive itineraries).",
        surname: Option<Text> => "Surname (NAD e4 c1).",
        given_name: Option<Text> => "Given name (NAD e4 c2).",
        middle_name: Option<Text> => "Further given names (NAD e4 c3).",
        gender: Option<Text> => "ATT gender: M, F, U or X.",
        date_of_birth: Option<NaiveDate> => "DTM 329.",
        nationality: Option<Text> => "NAT (as sent, usually ISO alpha-3).",
        residence_country: Option<Text> => "LOC 174.",
        embark_airport: Option<Text> => "LOC 178: where the person boarded.",
        debark_airport: Option<Text> => "LOC 179: where the person leaves the flight.",
        first_arrival_airport: Option<Text> => "LOC 22: first arrival in the receiving state.",
        birth_place: Option<Text> => "LOC 180.",
        record_locator: Option<Text> => "RFF AVF: the PNR record locator.",
        passenger_ref: Option<Text> => "RFF ABO: the unique passenger reference.",
        seat: Option<Text> => "RFF SEA.",
        doc_type: Option<Text> => "DOC e1 c1: P passport, V visa, I/A/C identity cards, …",
        doc_number: Option<Text> => "DOC e2.",
        doc_issuer: Option<Text> => "LOC 91 of the document.",
        doc_expiry: Option<NaiveDate> => "DTM 36 of the document.",
        doc_issued: Option<NaiveDate> => "DTM 182 of the document, when sent.",
        other_documents: Option<Text> => "Further documents as TYPE:NUMBER:ISSUER, semicolon-separated (a visa beside the passport).",
        source_file: Shared => "Input file.",
        source_offset: i64 => "Byte offset of the person's NAD.",
    }
}

landing_table! {
    /// A row of `rejects`.
    RejectRow, RejectBuilder, "rejects", "Input that could not be loaded: a whole file, a message or a PNR." {
        source_file: String => "Input file.",
        source_offset: i64 => "Byte offset where the rejected unit starts.",
        unit: String => "file, message or pnr.",
        code: String => "Stable reason code, e.g. EMPTY_FILE, BINARY_FILE, NO_MESSAGES, PNR_NO_LOCATOR.",
        message: String => "What was wrong, for an operator.",
        raw_prefix: Option<String> => "First bytes of the rejected unit (control bytes shown as '.').",
    }
}

landing_table! {
    /// A row of `diagnostics`.
    DiagnosticRow, DiagnosticBuilder, "diagnostics", "A fault in the input that was tolerated." {
        source_file: String => "Input file.",
        source_offset: i64 => "Byte offset of the fault.",
        push_id: Option<String> => "The push it was found in, when inside a message.",
        severity: String => "info, warning or error.",
        code: String => "Stable code, e.g. UNT_COUNT_MISMATCH, UNKNOWN_AIRPORT.",
        message: String => "Detail; never holds sensitive content.",
    }
}

/// Names and schemas of every landing table, in the order they are written.
pub fn all_schemas() -> Vec<(&'static str, &'static str, SchemaRef)> {
    vec![
        (PushRow::TABLE, PushRow::DESCRIPTION, PushRow::schema()),
        (PnrRow::TABLE, PnrRow::DESCRIPTION, PnrRow::schema()),
        (TravellerRow::TABLE, TravellerRow::DESCRIPTION, TravellerRow::schema()),
        (LegRow::TABLE, LegRow::DESCRIPTION, LegRow::schema()),
        (TicketRow::TABLE, TicketRow::DESCRIPTION, TicketRow::schema()),
        (PaymentRow::TABLE, PaymentRow::DESCRIPTION, PaymentRow::schema()),
        (ContactRow::TABLE, ContactRow::DESCRIPTION, ContactRow::schema()),
        (SsrRow::TABLE, SsrRow::DESCRIPTION, SsrRow::schema()),
        (CheckinRow::TABLE, CheckinRow::DESCRIPTION, CheckinRow::schema()),
        (HistoryRow::TABLE, HistoryRow::DESCRIPTION, HistoryRow::schema()),
        (ApiTravellerRow::TABLE, ApiTravellerRow::DESCRIPTION, ApiTravellerRow::schema()),
        (RejectRow::TABLE, RejectRow::DESCRIPTION, RejectRow::schema()),
        (DiagnosticRow::TABLE, DiagnosticRow::DESCRIPTION, DiagnosticRow::schema()),
    ]
}

/// Rows of every landing table for some part of the input, in input order.
#[derive(Debug, Default, Clone)]
pub struct Rows {
    /// `push` rows.
    pub push: Vec<PushRow>,
    /// `pnr` rows.
    pub pnr: Vec<PnrRow>,
    /// `traveller` rows.
    pub traveller: Vec<TravellerRow>,
    /// `leg` rows.
    pub leg: Vec<LegRow>,
    /// `ticket` rows.
    pub ticket: Vec<TicketRow>,
    /// `payment` rows.
    pub payment: Vec<PaymentRow>,
    /// `contact` rows.
    pub contact: Vec<ContactRow>,
    /// `ssr` rows.
    pub ssr: Vec<SsrRow>,
    /// `checkin` rows.
    pub checkin: Vec<CheckinRow>,
    /// `history` rows.
    pub history: Vec<HistoryRow>,
    /// `api_traveller` rows.
    pub api_traveller: Vec<ApiTravellerRow>,
    /// `rejects` rows.
    pub rejects: Vec<RejectRow>,
    /// `diagnostics` rows.
    pub diagnostics: Vec<DiagnosticRow>,
}

/// Rows per record batch of the landing tables a run holds in Arrow (`IngestConfig::arrow`).
pub const BATCH_ROWS: usize = 65_536;

/// Bytes of text a text column of one record batch holds at most: Arrow's `Utf8` ends each value
/// at a 32-bit offset. A batch ends before a column would pass it (see [`TableBuilder::try_append`]).
pub const TEXT_BATCH_LIMIT: usize = i32::MAX as usize;

impl Rows {
    /// Appends `other` after these rows.
    pub fn append(&mut self, mut other: Rows) {
        self.push.append(&mut other.push);
        self.pnr.append(&mut other.pnr);
        self.traveller.append(&mut other.traveller);
        self.leg.append(&mut other.leg);
        self.ticket.append(&mut other.ticket);
        self.payment.append(&mut other.payment);
        self.contact.append(&mut other.contact);
        self.ssr.append(&mut other.ssr);
        self.checkin.append(&mut other.checkin);
        self.history.append(&mut other.history);
        self.api_traveller.append(&mut other.api_traveller);
        self.rejects.append(&mut other.rejects);
        self.diagnostics.append(&mut other.diagnostics);
    }

    /// The data tables (every landing table but `rejects` and `diagnostics`), in the order of
    /// [`all_schemas`].
    pub const DATA_TABLES: [&'static str; 11] = [
        PushRow::TABLE,
        PnrRow::TABLE,
        TravellerRow::TABLE,
        LegRow::TABLE,
        TicketRow::TABLE,
        PaymentRow::TABLE,
        ContactRow::TABLE,
        SsrRow::TABLE,
        CheckinRow::TABLE,
        HistoryRow::TABLE,
        ApiTravellerRow::TABLE,
    ];

    /// Moves the data tables into record batches (see `to_batches` of each row type), in the
    /// order of [`Rows::DATA_TABLES`]; `rejects` and `diagnostics` stay as rows.
    pub fn take_data_batches(&mut self) -> Vec<Vec<RecordBatch>> {
        vec![
            PushRow::to_batches(&std::mem::take(&mut self.push)),
            PnrRow::to_batches(&std::mem::take(&mut self.pnr)),
            TravellerRow::to_batches(&std::mem::take(&mut self.traveller)),
            LegRow::to_batches(&std::mem::take(&mut self.leg)),
            TicketRow::to_batches(&std::mem::take(&mut self.ticket)),
            PaymentRow::to_batches(&std::mem::take(&mut self.payment)),
            ContactRow::to_batches(&std::mem::take(&mut self.contact)),
            SsrRow::to_batches(&std::mem::take(&mut self.ssr)),
            CheckinRow::to_batches(&std::mem::take(&mut self.checkin)),
            HistoryRow::to_batches(&std::mem::take(&mut self.history)),
            ApiTravellerRow::to_batches(&std::mem::take(&mut self.api_traveller)),
        ]
    }

    /// Every table as record batches, in the order of [`all_schemas`].
    pub fn to_batches(&self) -> Vec<(&'static str, Vec<RecordBatch>)> {
        vec![
            (PushRow::TABLE, PushRow::to_batches(&self.push)),
            (PnrRow::TABLE, PnrRow::to_batches(&self.pnr)),
            (TravellerRow::TABLE, TravellerRow::to_batches(&self.traveller)),
            (LegRow::TABLE, LegRow::to_batches(&self.leg)),
            (TicketRow::TABLE, TicketRow::to_batches(&self.ticket)),
            (PaymentRow::TABLE, PaymentRow::to_batches(&self.payment)),
            (ContactRow::TABLE, ContactRow::to_batches(&self.contact)),
            (SsrRow::TABLE, SsrRow::to_batches(&self.ssr)),
            (CheckinRow::TABLE, CheckinRow::to_batches(&self.checkin)),
            (HistoryRow::TABLE, HistoryRow::to_batches(&self.history)),
            (ApiTravellerRow::TABLE, ApiTravellerRow::to_batches(&self.api_traveller)),
            (RejectRow::TABLE, RejectRow::to_batches(&self.rejects)),
            (DiagnosticRow::TABLE, DiagnosticRow::to_batches(&self.diagnostics)),
        ]
    }
}

/// Record batches of every data table, built from the rows of message after message (ingest's
/// Arrow mode): each value is written once, into the batch it ends up in.
pub struct DataBuilders {
    push: PushBuilder,
    pnr: PnrBuilder,
    traveller: TravellerBuilder,
    leg: LegBuilder,
    ticket: TicketBuilder,
    payment: PaymentBuilder,
    contact: ContactBuilder,
    ssr: SsrBuilder,
    checkin: CheckinBuilder,
    history: HistoryBuilder,
    api_traveller: ApiTravellerBuilder,
}

/// Moves `rows` into `builder`, first finishing its batch into `out` when the rows would take it
/// past [`BATCH_ROWS`] or a text column past [`TEXT_BATCH_LIMIT`]. A batch holds whole messages,
/// so it can pass [`BATCH_ROWS`] only when one message's rows alone do.
fn take_rows<B: TableBuilder>(builder: &mut B, rows: &mut Vec<B::Row>, out: &mut Vec<RecordBatch>) {
    append_rows(builder, rows, out, TEXT_BATCH_LIMIT);
    rows.clear();
}

/// [`take_rows`] of rows it leaves in place, with the text limit given.
fn append_rows<B: TableBuilder>(builder: &mut B, rows: &[B::Row], out: &mut Vec<RecordBatch>, text_limit: usize) {
    if rows.is_empty() {
        return;
    }
    if builder.len() + rows.len() > BATCH_ROWS && !builder.is_empty() {
        // A batch ends before it would pass the limit, so it never needs more room than that
        // (unless one message alone does); a finished buffer keeps its capacity.
        out.push(builder.finish(BATCH_ROWS));
    }
    append_within(builder, rows, out, text_limit);
}

/// Appends `rows` to `builder`; when they would take a text column past `text_limit`, first
/// finishes its batch into `out`, and when they pass it alone, spreads them over several
/// batches (halves, then halves of those).
fn append_within<B: TableBuilder>(builder: &mut B, rows: &[B::Row], out: &mut Vec<RecordBatch>, text_limit: usize) {
    if builder.try_append(rows, text_limit) {
        return;
    }
    if !builder.is_empty() {
        out.push(builder.finish(BATCH_ROWS));
        if builder.try_append(rows, text_limit) {
            return;
        }
    }
    if rows.len() < 2 {
        // A value is made from one message's text, at most twice its length (a rendered segment
        // escapes each character at most once), and ingest rejects a message longer than
        // `ingest::MAX_MESSAGE_BYTES`, a quarter of the limit.
        unreachable!("one landing row holds more than {text_limit} bytes of text in one column");
    }
    let (first, second) = rows.split_at(rows.len() / 2);
    append_within(builder, first, out, text_limit);
    append_within(builder, second, out, text_limit);
}

/// Record batches of `rows`, made with `builder` (empty): at most [`BATCH_ROWS`] rows each and
/// each text column within `text_limit` bytes; one empty batch when there is no row.
pub fn batches_of<B: TableBuilder>(builder: &mut B, rows: &[B::Row], text_limit: usize) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    for chunk in rows.chunks(BATCH_ROWS) {
        append_rows(builder, chunk, &mut out, text_limit);
    }
    if !builder.is_empty() || out.is_empty() {
        out.push(builder.finish(0));
    }
    out
}

/// Finishes the batch of `builder` into `out`, unless it is empty.
fn finish_rows<B: TableBuilder>(builder: &mut B, out: &mut Vec<RecordBatch>) {
    if !builder.is_empty() {
        out.push(builder.finish(0));
    }
}

impl DataBuilders {
    /// Empty builders; `compact` builds the tables' in-memory form (`landing::compact`).
    pub fn new(compact: bool) -> DataBuilders {
        DataBuilders {
            push: PushBuilder::new(0, compact),
            pnr: PnrBuilder::new(0, compact),
            traveller: TravellerBuilder::new(0, compact),
            leg: LegBuilder::new(0, compact),
            ticket: TicketBuilder::new(0, compact),
            payment: PaymentBuilder::new(0, compact),
            contact: ContactBuilder::new(0, compact),
            ssr: SsrBuilder::new(0, compact),
            checkin: CheckinBuilder::new(0, compact),
            history: HistoryBuilder::new(0, compact),
            api_traveller: ApiTravellerBuilder::new(0, compact),
        }
    }

    /// Moves the data tables' rows out of `rows` (rejects and diagnostics stay). A table's batch
    /// that reaches [`BATCH_ROWS`] is finished into `out`, which holds one list of batches per
    /// table in the order of [`Rows::DATA_TABLES`].
    pub fn take(&mut self, rows: &mut Rows, out: &mut [Vec<RecordBatch>; Rows::DATA_TABLES.len()]) {
        let [push, pnr, traveller, leg, ticket, payment, contact, ssr, checkin, history, api_traveller] = out;
        take_rows(&mut self.push, &mut rows.push, push);
        take_rows(&mut self.pnr, &mut rows.pnr, pnr);
        take_rows(&mut self.traveller, &mut rows.traveller, traveller);
        take_rows(&mut self.leg, &mut rows.leg, leg);
        take_rows(&mut self.ticket, &mut rows.ticket, ticket);
        take_rows(&mut self.payment, &mut rows.payment, payment);
        take_rows(&mut self.contact, &mut rows.contact, contact);
        take_rows(&mut self.ssr, &mut rows.ssr, ssr);
        take_rows(&mut self.checkin, &mut rows.checkin, checkin);
        take_rows(&mut self.history, &mut rows.history, history);
        take_rows(&mut self.api_traveller, &mut rows.api_traveller, api_traveller);
    }

    /// Finishes every table's batch that holds rows into `out` (as in [`DataBuilders::take`]).
    pub fn finish(&mut self, out: &mut [Vec<RecordBatch>; Rows::DATA_TABLES.len()]) {
        let [push, pnr, traveller, leg, ticket, payment, contact, ssr, checkin, history, api_traveller] = out;
        finish_rows(&mut self.push, push);
        finish_rows(&mut self.pnr, pnr);
        finish_rows(&mut self.traveller, traveller);
        finish_rows(&mut self.leg, leg);
        finish_rows(&mut self.ticket, ticket);
        finish_rows(&mut self.payment, payment);
        finish_rows(&mut self.contact, contact);
        finish_rows(&mut self.ssr, ssr);
        finish_rows(&mut self.checkin, checkin);
        finish_rows(&mut self.history, history);
        finish_rows(&mut self.api_traveller, api_traveller);
    }

    /// Bytes of Arrow data appended and not yet finished into a batch.
    pub fn held_bytes(&self) -> usize {
        self.push.held_bytes()
            + self.pnr.held_bytes()
            + self.traveller.held_bytes()
            + self.leg.held_bytes()
            + self.ticket.held_bytes()
            + self.payment.held_bytes()
            + self.contact.held_bytes()
            + self.ssr.held_bytes()
            + self.checkin.held_bytes()
            + self.history.held_bytes()
            + self.api_traveller.held_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;

    fn leg(seq: i64, carrier: &str) -> LegRow {
        LegRow { seq, operating_carrier: Some(carrier.into()), ..Default::default() }
    }

    #[test]
    fn date32_counts_days_from_1970_as_date_subtraction_does() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        assert_eq!(date32(epoch), 0);
        let mut days = vec![NaiveDate::MIN, NaiveDate::MAX];
        // Every day from 1899 to 2101 (leap years, century years, both sides of the epoch), and
        // a day in years before the common era and far after it.
        let mut d = NaiveDate::from_ymd_opt(1899, 1, 1).unwrap();
        while d.year() < 2102 {
            days.push(d);
            d = d.succ_opt().unwrap();
        }
        days.extend(
            [(-1, 12, 31), (0, 2, 29), (1, 1, 1), (9999, 12, 31), (10_000, 3, 1)]
                .map(|(y, m, day)| NaiveDate::from_ymd_opt(y, m, day).unwrap()),
        );
        for d in days {
            assert_eq!(date32(d) as i64, (d - epoch).num_days(), "{d}");
        }
    }

    #[test]
    fn plain_text_gives_the_array_of_arrows_own_builder() {
        // Values and NULLs, empty and multi-byte text, in groups of several sizes (a message's
        // rows), the first NULL only after some values.
        let words = ["LH", "", "\u{c9}LODIE STRA\u{df}E", "A LONGER VALUE THAN TWENTY-FOUR BYTES", "\u{201c}Q\u{201d}"];
        let values: Vec<Option<&str>> =
            (0..1000).map(|i| if i > 40 && i % 7 == 0 { None } else { Some(words[i % words.len()]) }).collect();
        let mut expected = StringBuilder::new();
        values.iter().for_each(|v| expected.append_option(*v));
        let expected = expected.finish();
        let mut plain = TextBuilder::new(0, 0, false);
        let mut rest = &values[..];
        for n in (0..).map(|k| k % 9) {
            let (group, after) = rest.split_at(n.min(rest.len()));
            plain.append_options(group.iter().copied(), TextBuilder::text_bytes_of(group.iter().copied()));
            rest = after;
            if rest.is_empty() {
                break;
            }
        }
        plain.append_options(std::iter::once(Some("one more")), "one more".len());
        let array = plain.finish_column(10);
        let mut expected_more = StringBuilder::new();
        values.iter().for_each(|v| expected_more.append_option(*v));
        expected_more.append_value("one more");
        assert_eq!(array.as_string::<i32>(), &expected_more.finish());
        assert_eq!(array.len(), expected.len() + 1);
        assert_eq!(array.null_count(), values.iter().filter(|v| v.is_none()).count());

        // Without a NULL there is no validity buffer, as with Arrow's builder; the next batch
        // starts empty.
        plain.append_options(["A", "B"].into_iter().map(Some), 2);
        let array = plain.finish_column(0);
        assert!(array.nulls().is_none());
        assert_eq!(array.as_string::<i32>(), &StringArray::from(vec!["A", "B"]));
        assert_eq!(plain.finish_column(0).len(), 0);
    }

    #[test]
    fn a_builder_gives_the_batches_of_to_batch_and_holds_no_doubled_buffer() {
        let rows: Vec<LegRow> = (0..5000).map(|i| leg(i, if i % 3 == 0 { "LH" } else { "A LONGER CARRIER" })).collect();
        let mut b = LegBuilder::new(0, false);
        // Grown from nothing by doubling, in messages of 100 rows.
        for chunk in rows.chunks(100) {
            assert!(b.try_append(chunk, TEXT_BATCH_LIMIT));
        }
        assert_eq!(b.len(), 5000);
        let batch = b.finish(4000);
        assert_eq!(std::slice::from_ref(&batch), LegRow::to_batches(&rows));
        assert!(b.is_empty());
        let carrier = batch.column_by_name("operating_carrier").unwrap().as_string::<i32>();
        let values = carrier.values();
        assert!(
            values.capacity() <= values.len() + values.len() / 8 + 64,
            "{} for {}",
            values.capacity(),
            values.len()
        );
        // The offsets too: grown by doubling from a message's 100 rows, they had room for 6,464.
        let offsets = carrier.offsets().inner().inner();
        assert!(offsets.capacity() <= 4 * (5001 + 5001 / 8 + 16), "{} bytes of offsets", offsets.capacity());

        // The next batch starts with room for 4000 rows at the last batch's bytes per value.
        assert!(b.try_append(&rows[..4000], TEXT_BATCH_LIMIT));
        let next = b.finish(0);
        let carrier = next.column_by_name("operating_carrier").unwrap().as_string::<i32>();
        assert_eq!(carrier.len(), 4000);
        assert!(carrier.values().capacity() <= carrier.values().len() + carrier.values().len() / 8 + 64);
        assert_eq!([next], LegRow::to_batches(&rows[..4000])[..]);
    }

    #[test]
    fn a_batch_ends_before_a_text_column_passes_the_limit_and_no_row_is_lost() {
        // Ten bytes of text per row (the carrier; every other text column is empty) and a limit
        // of 100 bytes: as if Arrow's offsets ended at 100 instead of 2 GiB.
        let rows: Vec<LegRow> = (0..34).map(|i| leg(i, &format!("CARRIER{i:03}"))).collect();
        let mut b = LegBuilder::new(0, false);
        let mut out = Vec::new();
        let mut rest = &rows[..];
        // Messages of 3, 4, 25 and 2 rows: the third alone holds 250 bytes.
        for n in [3, 4, 25, 2] {
            let (message, after) = rest.split_at(n);
            append_rows(&mut b, message, &mut out, 100);
            rest = after;
        }
        finish_rows(&mut b, &mut out);
        // The first two messages fill a batch (70 bytes; the third does not fit beside them); the
        // third is spread over batches by halves (12 = 6 + 6 and 13 = 6 + 7 rows); the last
        // message goes beside the last 7 rows.
        let sizes: Vec<usize> = out.iter().map(RecordBatch::num_rows).collect();
        assert_eq!(sizes, [7, 6, 6, 6, 9]);
        for batch in &out {
            let carrier = batch.column_by_name("operating_carrier").unwrap().as_string::<i32>();
            assert!(carrier.values().len() <= 100, "{} bytes", carrier.values().len());
        }
        let whole = arrow::compute::concat_batches(&LegRow::schema(), &out).unwrap();
        assert_eq!([whole], LegRow::to_batches(&rows)[..]);

        // `batches_of` (and so `to_batches`) keeps to the same limit, and to BATCH_ROWS rows.
        let sizes: Vec<usize> =
            batches_of(&mut LegBuilder::new(0, false), &rows, 100).iter().map(RecordBatch::num_rows).collect();
        assert_eq!(sizes, [8, 9, 8, 9]);
        let many: Vec<LegRow> = (0..2 * BATCH_ROWS as i64 + 5).map(|i| leg(i, "LH")).collect();
        let sizes: Vec<usize> = LegRow::to_batches(&many).iter().map(RecordBatch::num_rows).collect();
        assert_eq!(sizes, [BATCH_ROWS, BATCH_ROWS, 5]);
        let none = LegRow::to_batches(&[]);
        assert_eq!((none.len(), none[0].num_rows(), none[0].schema()), (1, 0, LegRow::schema()));
    }

    #[test]
    fn a_message_goes_whole_into_one_batch_of_at_most_batch_rows() {
        let mut builders = DataBuilders::new(false);
        let mut out: [Vec<RecordBatch>; Rows::DATA_TABLES.len()] = Default::default();
        let message = |n: usize| Rows { leg: (0..n as i64).map(|i| leg(i, "LH")).collect(), ..Rows::default() };
        for n in [BATCH_ROWS - 10, 5, 20, BATCH_ROWS + 3] {
            let mut rows = message(n);
            builders.take(&mut rows, &mut out);
            assert!(rows.leg.is_empty(), "the rows moved into the builder");
        }
        builders.finish(&mut out);
        let leg_table = Rows::DATA_TABLES.iter().position(|t| *t == "leg").unwrap();
        let legs: Vec<usize> = out[leg_table].iter().map(RecordBatch::num_rows).collect();
        // The third message would pass the limit, so it starts a batch; the fourth, larger than
        // a batch alone, gets one of its own.
        assert_eq!(legs, [BATCH_ROWS - 5, 20, BATCH_ROWS + 3]);
        assert!(out.iter().enumerate().all(|(i, t)| i == leg_table || t.is_empty()));
    }
}
