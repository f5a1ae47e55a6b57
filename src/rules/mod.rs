//! Rule packs: loading the declarative rule files and running their SQL in a sandbox.

pub mod pack;
pub mod sandbox;
