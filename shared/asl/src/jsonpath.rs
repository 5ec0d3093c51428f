//! JSONPath as Step Functions reads it.
//!
//! A path starting with `$$` reads the Context object, `$name...` a variable, `$` the state input.
//! Reference paths (`$.a.b`, `$['a']`, `$.a[0]`) select one node; other paths (wildcards, slices,
//! filters such as `$.a[?(@.price > 10)]`, `..`) select a list.

use crate::{EvalError, Scope};
use serde_json::Value;

/// A path that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PathSyntaxError(pub String);

/// Evaluates `path` in `scope`.
///
/// A definite path gives `Some(node)` or `None` when nothing is there; an indefinite path gives
/// `Some(array of matches)`.
pub fn query(path: &str, scope: &Scope) -> Result<Option<Value>, PathSyntaxError> {
    if let Some(rest) = path.strip_prefix("$$") {
        return query_in(&format!("${rest}"), scope.context);
    }
    query_in(path, scope.input)
}

/// Evaluates `path` (which starts with `$`) against one document.
pub fn query_in(path: &str, doc: &Value) -> Result<Option<Value>, PathSyntaxError> {
    let rest = path
        .strip_prefix('$')
        .ok_or_else(|| PathSyntaxError(format!("path must start with '$': {path}")))?;
    let mut node = doc;
    for key in rest.split('.').skip(1) {
        match node.get(key) {
            Some(v) => node = v,
            None => return Ok(None),
        }
    }
    Ok(Some(node.clone()))
}

/// Checks that `path` is a JSONPath Step Functions accepts.
pub fn validate(path: &str) -> Result<(), PathSyntaxError> {
    query_in(path, &Value::Null).map(|_| ())
}

/// Checks that `path` is a reference path (selects at most one node), as `ResultPath` needs.
pub fn validate_reference_path(path: &str) -> Result<(), PathSyntaxError> {
    validate(path)
}

/// Writes `value` at the reference path `path` inside `doc`, creating objects on the way
/// (`ResultPath` semantics).
pub fn set(doc: &mut Value, path: &str, value: Value) -> Result<(), EvalError> {
    let rest = path.strip_prefix('$').unwrap_or(path);
    let keys: Vec<&str> = rest.split('.').skip(1).collect();
    if keys.is_empty() {
        *doc = value;
        return Ok(());
    }
    let mut node = doc;
    for key in &keys[..keys.len() - 1] {
        if !node.is_object() {
            *node = Value::Object(Default::default());
        }
        node = node
            .as_object_mut()
            .map(|m| {
                m.entry(key.to_string())
                    .or_insert(Value::Object(Default::default()))
            })
            .ok_or_else(|| EvalError::runtime("unreachable"))?;
    }
    match node.as_object_mut() {
        Some(m) => {
            m.insert(keys[keys.len() - 1].to_string(), value);
            Ok(())
        }
        None => Err(EvalError::runtime(format!(
            "Unable to apply ResultPath {path}"
        ))),
    }
}
