//! The `States.*` intrinsic functions.

use crate::{Entropy, EvalError, Scope};
use serde_json::Value;

/// True when a `.$` value is an intrinsic function call rather than a path.
pub fn is_intrinsic(expr: &str) -> bool {
    expr.starts_with("States.")
}

/// Checks an intrinsic function call's syntax, function name and argument count.
pub fn validate(expr: &str) -> Result<(), String> {
    let _ = expr;
    Ok(())
}

/// Evaluates an intrinsic function call.
pub fn evaluate(expr: &str, scope: &Scope, entropy: &mut dyn Entropy) -> Result<Value, EvalError> {
    let _ = (scope, entropy);
    Err(EvalError::intrinsic(format!(
        "unsupported intrinsic {expr}"
    )))
}
