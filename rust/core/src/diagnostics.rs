//! Definition problems, in the shape of AWS's ValidateStateMachineDefinition diagnostics, and the
//! CreateStateMachine error message that joins them.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    /// A JSON-pointer-like location such as `/States/Foo/Next`; None where AWS gives none.
    pub location: Option<String>,
}

pub const SCHEMA_VALIDATION_FAILED: &str = "SCHEMA_VALIDATION_FAILED";
pub const INVALID_JSON_DESCRIPTION: &str = "INVALID_JSON_DESCRIPTION";
pub const MISSING_DESCRIPTION: &str = "MISSING_DESCRIPTION";
pub const INVALID_RESOURCE: &str = "INVALID_RESOURCE";
pub const MISSING_END_STATE: &str = "MISSING_END_STATE";
pub const MISSING_TRANSITION_TARGET: &str = "MISSING_TRANSITION_TARGET";
pub const DUPLICATE_STATE_NAME: &str = "DUPLICATE_STATE_NAME";
pub const INVALID_STATE_NAME: &str = "INVALID_STATE_NAME";
pub const NO_DOLLAR: &str = "NO_DOLLAR";
pub const NO_PATH: &str = "NO_PATH";
pub const PASS_RESULT_IS_STATIC: &str = "PASS_RESULT_IS_STATIC";
pub const INVALID_JSONATA_EXPRESSION: &str = "INVALID_JSONATA_EXPRESSION";
pub const UNSUPPORTED_JSONATA_EXPRESSION: &str = "UNSUPPORTED_JSONATA_EXPRESSION";
pub const INVALID_VARIABLE_NAME: &str = "INVALID_VARIABLE_NAME";

/// A definition rejected at compile time: every error found, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefinitionError {
    pub diagnostics: Vec<Diagnostic>,
}

impl DefinitionError {
    /// The code of the first error, as AWS reports it.
    pub fn code(&self) -> &'static str {
        self.errors()
            .next()
            .map(|d| d.code)
            .unwrap_or(SCHEMA_VALIDATION_FAILED)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}

impl fmt::Display for DefinitionError {
    /// `Invalid State Machine Definition: 'CODE: message at /loc, CODE: message at /loc'`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .errors()
            .map(|d| match &d.location {
                Some(loc) => format!("{}: {} at {}", d.code, d.message.trim_end(), loc),
                None => format!("{}: {}", d.code, d.message.trim_end()),
            })
            .collect();
        write!(
            f,
            "Invalid State Machine Definition: '{}'",
            parts.join(", ")
        )
    }
}

impl std::error::Error for DefinitionError {}
