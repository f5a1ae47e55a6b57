//! Integration tests, one binary with topic modules (the ripgrep layout).

mod util;

mod audit;
mod bad_input;
mod bench;
mod cli_rules;
mod conformance;
mod fields;
mod generate;
mod landing;
mod paxlst;
mod properties;
mod reconcile;
mod rules;
mod run;
mod time_arithmetic;
mod views;
