//! The landing tables: their schemas, and writing them as a partitioned Parquet set.

pub mod compact;
pub mod parquet_out;
pub mod schema;
pub mod staged;
