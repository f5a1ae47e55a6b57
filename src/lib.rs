//! paxrisk: a batch pipeline for air-passenger risk targeting.
//!
//! Data flows one way (see `DESIGN.md`): [`edifact`] lexes bytes into segments and messages,
//! [`pnrgov`] gives PNRGOV messages their group structure, [`ingest`] maps them to the Arrow
//! landing tables of [`landing`], which are written as Parquet; [`rules`] runs a rule pack's views
//! and rules over them in a sandboxed DataFusion session and scores the hits.

#[cfg(feature = "engine")]
pub mod audit;
#[cfg(feature = "engine")]
mod audit_cli;
#[cfg(feature = "engine")]
pub mod bench;
pub mod cli;
pub mod diag;
pub mod edifact;
pub mod error_text;
pub mod generate;
pub mod ingest;
pub mod landing;
pub mod paxlst;
pub mod pnrgov;
pub mod reference;
#[cfg(feature = "engine")]
pub mod rules;
#[cfg(feature = "engine")]
mod rules_cli;
#[cfg(feature = "engine")]
pub mod run;
#[cfg(feature = "engine")]
mod run_cli;

/// Version of the tool, recorded in every output.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
