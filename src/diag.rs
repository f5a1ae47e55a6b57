//! Diagnostics: faults in the input that were tolerated, each tied to a byte offset.
//!
//! Every layer of ingest (lexer, envelope, grammar, mapping) reports through this one type, so
//! the `diagnostics` landing table has a single shape and an operator can count faults by code.

use std::fmt;

/// How serious a tolerated fault is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing, no data affected (e.g. a count off by one in a trailer).
    Info,
    /// Data was read with a guess or a value was left out (e.g. an unknown airport).
    Warning,
    /// Some input could not be read at all; the rest was kept.
    Error,
}

impl Severity {
    /// Lower-case name as stored in the `diagnostics` table.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One tolerated fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Byte offset in the source file where the fault was found.
    pub offset: usize,
    /// How serious it is.
    pub severity: Severity,
    /// Stable upper-case code, e.g. `UNT_COUNT_MISMATCH`; operators count by it.
    pub code: &'static str,
    /// Human-readable detail. Never holds sensitive content.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic at `offset`.
    pub fn new(offset: usize, severity: Severity, code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { offset, severity, code, message: message.into() }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {} {}: {}", self.offset, self.severity, self.code, self.message)
    }
}
