//! The static validator: what `ValidateStateMachineDefinition` and `CreateStateMachine` reject.
//!
//! [`validate`] reads the definition's text with a parser that keeps duplicate keys
//! ([`json`]), then checks it the way Step Functions does, and reports each finding with AWS's
//! diagnostic code and the JSON-pointer-like location of the offending field
//! (`/States/Step1/Next`).

pub mod json;
mod resource;
pub use resource::{register_aws_sdk_check, AwsSdkCheck};
mod rules;

use serde::Serialize;

/// `SCHEMA_VALIDATION_FAILED`: a field is missing, unknown, of the wrong type or out of range.
pub const SCHEMA_VALIDATION_FAILED: &str = "SCHEMA_VALIDATION_FAILED";
/// `INVALID_JSON_DESCRIPTION`: the text is not JSON (or repeats a field).
pub const INVALID_JSON_DESCRIPTION: &str = "INVALID_JSON_DESCRIPTION";
/// `MISSING_TRANSITION_TARGET`: a transition names no state in its scope, or a state is unreachable.
pub const MISSING_TRANSITION_TARGET: &str = "MISSING_TRANSITION_TARGET";
/// `MISSING_END_STATE`: a workflow has no terminal state.
pub const MISSING_END_STATE: &str = "MISSING_END_STATE";
/// `DUPLICATE_STATE_NAME`: a state name appears more than once in the whole definition.
pub const DUPLICATE_STATE_NAME: &str = "DUPLICATE_STATE_NAME";
/// `INVALID_STATE_NAME`: a state name breaks the naming rules (e.g. longer than 80 characters).
pub const INVALID_STATE_NAME: &str = "INVALID_STATE_NAME";
/// `INVALID_RESOURCE`: a Task's `Resource` is not a resource Step Functions recognises.
pub const INVALID_RESOURCE: &str = "INVALID_RESOURCE";

/// One finding, shaped as `ValidateStateMachineDefinition` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// `ERROR` or `WARNING`.
    pub severity: String,
    /// AWS's diagnostic code, e.g. `SCHEMA_VALIDATION_FAILED`, `MISSING_TRANSITION_TARGET`.
    pub code: String,
    /// What is wrong, for a person.
    pub message: String,
    /// Where, as a path into the definition, e.g. `/States/Step1/Next` (empty when AWS gives none).
    pub location: String,
}

impl Diagnostic {
    /// An `ERROR` diagnostic.
    pub fn error(code: &str, message: impl Into<String>, location: impl Into<String>) -> Self {
        Self {
            severity: "ERROR".into(),
            code: code.into(),
            message: message.into(),
            location: location.into(),
        }
    }

    /// True when this diagnostic prevents creating the state machine.
    pub fn is_error(&self) -> bool {
        self.severity == "ERROR"
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.location.is_empty() {
            write!(f, "{}: {}", self.code, self.message)
        } else {
            write!(f, "{}: {} at {}", self.code, self.message, self.location)
        }
    }
}

/// Validates a definition's text; an empty list means it is valid.
///
/// Never panics, whatever the input; nesting deeper than [`json::MAX_DEPTH`] is reported as
/// `INVALID_JSON_DESCRIPTION`.
pub fn validate(definition: &str) -> Vec<Diagnostic> {
    if definition.trim().is_empty() {
        return vec![Diagnostic::error(
            SCHEMA_VALIDATION_FAILED,
            "Definition must be a valid JSON object",
            "",
        )];
    }
    match json::parse(definition) {
        Ok(root) => rules::check(&root),
        Err(e) => vec![Diagnostic::error(
            INVALID_JSON_DESCRIPTION,
            e.to_string(),
            "",
        )],
    }
}

/// The message CreateStateMachine puts in its `InvalidDefinition` error for these diagnostics:
/// `Invalid State Machine Definition: 'CODE: message at /loc, ...'`.
pub fn invalid_definition_message(diagnostics: &[Diagnostic]) -> String {
    let parts: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let at = if d.location.is_empty() {
                "null"
            } else {
                &d.location
            };
            format!("{}: {} at {}", d.code, d.message, at)
        })
        .collect();
    format!("Invalid State Machine Definition: '{}'", parts.join(", "))
}

/// What an EXPRESS state machine may not do, found in an otherwise valid definition: callback
/// (`.waitForTaskToken`) and `.sync` integrations and activities, at any depth.
pub fn validate_express(definition: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Ok(root) = serde_json::from_str::<serde_json::Value>(definition) {
        express_states(&root, "", &mut out);
    }
    out
}

fn express_states(machine: &serde_json::Value, loc: &str, out: &mut Vec<Diagnostic>) {
    let Some(states) = machine.get("States").and_then(|s| s.as_object()) else {
        return;
    };
    for (name, state) in states {
        let at = format!("{loc}/States/{name}");
        if let Some(resource) = state.get("Resource").and_then(|r| r.as_str()) {
            // AWS's callback message ends in a space (`... integration  at /States/...`).
            let resource = crate::resource::TaskResource::parse(resource);
            let refused = if resource.waits_for_task_token() {
                Some("Express state machine does not support '.waitForTaskToken' service integration ")
            } else if resource.is_sync() {
                Some("Express state machine does not support '.sync' service integration")
            } else if resource.is_activity() {
                Some("Express state machine does not support Activity ARN")
            } else {
                None
            };
            if let Some(message) = refused {
                out.push(Diagnostic::error(
                    SCHEMA_VALIDATION_FAILED,
                    message,
                    format!("{at}/Resource"),
                ));
            }
        }
        if let Some(branches) = state.get("Branches").and_then(|b| b.as_array()) {
            for (i, b) in branches.iter().enumerate() {
                express_states(b, &format!("{at}/Branches/{i}"), out);
            }
        }
        for field in ["ItemProcessor", "Iterator"] {
            if let Some(p) = state.get(field) {
                express_states(p, &format!("{at}/{field}"), out);
            }
        }
    }
}

#[cfg(test)]
mod express_tests {
    use super::*;

    #[test]
    fn express_refuses_callbacks_sync_and_activities_at_any_depth() {
        let def = r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
            {"StartAt":"W","States":{"W":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken","End":true}}},
            {"StartAt":"S","States":{"S":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2","End":true}}},
            {"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:x","End":true}}},
            {"StartAt":"L","States":{"L":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}]}}}"#;
        let d = validate_express(def);
        let at: Vec<&str> = d.iter().map(|d| d.location.as_str()).collect();
        assert_eq!(
            at,
            [
                "/States/P/Branches/0/States/W/Resource",
                "/States/P/Branches/1/States/S/Resource",
                "/States/P/Branches/2/States/A/Resource"
            ]
        );
    }
}
