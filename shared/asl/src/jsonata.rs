//! JSONata evaluation with the functions Step Functions adds (`$partition`, `$range`, `$hash`,
//! `$random`, `$uuid`, `$parse`).

use crate::{Entropy, EvalError};
use serde_json::{Map, Value};

/// Checks an expression's syntax (the text between `{%` and `%}`).
pub fn check_syntax(expr: &str) -> Result<(), String> {
    let _ = expr;
    Err("JSONata is not supported yet".into())
}

/// Evaluates `expr` with `bindings` (`states` and the variables) bound as `$name`.
/// `Ok(None)` means the expression returned nothing (undefined).
pub fn evaluate(
    expr: &str,
    bindings: &Map<String, Value>,
    entropy: &mut dyn Entropy,
) -> Result<Option<Value>, EvalError> {
    let _ = (bindings, entropy);
    Err(EvalError::query(format!(
        "JSONata is not supported yet: {expr}"
    )))
}
