//! The PNRGOV message: its group grammar and the AIRIMP free text inside its segments.
//! Nothing here knows about Arrow.

pub mod freetext;
pub mod grammar;
