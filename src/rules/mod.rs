//! Rule packs: loading the declarative rule files, running their SQL in a sandbox, scoring.

pub mod check;
pub mod cte;
pub mod doc;
pub mod eager;
pub mod engine;
pub mod given;
pub mod narrow;
pub mod pack;
pub mod quality;
pub mod sandbox;
pub mod scan_size;
pub mod score;
pub mod slices;
pub mod tables;
pub mod udf;
