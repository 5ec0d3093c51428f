//! The static validator: what `ValidateStateMachineDefinition` and `CreateStateMachine` reject.

use serde::Serialize;

/// One finding, shaped as `ValidateStateMachineDefinition` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// `ERROR` or `WARNING`.
    pub severity: String,
    /// AWS's diagnostic code, e.g. `SCHEMA_VALIDATION_FAILED`, `MISSING_TRANSITION_TARGET`.
    pub code: String,
    /// What is wrong, for a person.
    pub message: String,
    /// Where, as a path into the definition, e.g. `/States/Step1/Next`.
    pub location: String,
}

/// Validates a definition's text; an empty list means it is valid.
pub fn validate(definition: &str) -> Vec<Diagnostic> {
    match serde_json::from_str::<serde_json::Value>(definition) {
        Ok(_) => Vec::new(),
        Err(e) => vec![Diagnostic {
            severity: "ERROR".into(),
            code: "INVALID_JSON_DESCRIPTION".into(),
            message: e.to_string(),
            location: String::new(),
        }],
    }
}
