//! UN/EDIFACT syntax (ISO 9735): the lexer, character sets and the interchange envelope.
//! Nothing here knows about PNRs or passenger lists.

pub mod charset;
pub mod interchange;
pub mod lexer;
