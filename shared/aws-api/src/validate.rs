//! Client-side validation of an input against the model: members the model does not know,
//! missing required members, values of the wrong JSON type. Nothing is sent when it fails.

use crate::model::{ServiceModel, Shape, ShapeType};
use crate::protocol::{is_integer, timestamp_in};
use crate::ApiCallError;
use base64::Engine;
use serde_json::Value;

/// What to check.
#[derive(Debug, Clone, Copy)]
pub struct Checks {
    /// Report required members that are missing (the AWS SDKs for Java do not: the service
    /// answers instead).
    pub required: bool,
}

/// Validates `input` against the operation's input shape (`None`: the operation takes no
/// input, so only an empty object passes).
pub fn validate(
    model: &ServiceModel,
    shape: Option<&Shape>,
    input: &Value,
    checks: Checks,
) -> Result<(), ApiCallError> {
    let mut errors = Vec::new();
    match shape {
        Some(s) => check(model, s, input, "", checks, &mut errors),
        None => match input {
            Value::Object(o) => {
                for k in o.keys() {
                    errors.push(format!(
                        "Unknown parameter {k:?} (the operation takes none)"
                    ));
                }
            }
            Value::Null => {}
            _ => errors.push("The input must be a JSON object".to_string()),
        },
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiCallError::Validation {
            message: errors.join("; "),
        })
    }
}

fn path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check(
    model: &ServiceModel,
    shape: &Shape,
    v: &Value,
    at: &str,
    checks: Checks,
    errors: &mut Vec<String>,
) {
    let here = if at.is_empty() { "the input" } else { at };
    let mut wrong = |expected: &str| {
        errors.push(format!(
            "Invalid type for {here}: expected {expected}, got {}",
            kind(v)
        ))
    };
    if v.is_null() {
        return;
    }
    if shape.document {
        return;
    }
    match shape.shape_type {
        ShapeType::Structure => {
            let Value::Object(obj) = v else {
                return wrong("an object");
            };
            for (k, val) in obj {
                match shape.member(k) {
                    None => errors.push(format!("Unknown parameter {:?}", path(at, k))),
                    Some(m) if m.streaming => {
                        if !val.is_string() && !val.is_null() {
                            errors.push(format!(
                                "Invalid type for {}: expected a string, got {}",
                                path(at, k),
                                kind(val)
                            ));
                        }
                    }
                    Some(m) => match model.shape(&m.shape) {
                        Some(ms) => check(model, ms, val, &path(at, k), checks, errors),
                        None => errors.push(format!("the model has no shape {}", m.shape)),
                    },
                }
            }
            if checks.required {
                for r in &shape.required {
                    if obj.get(r).is_none_or(Value::is_null) {
                        errors.push(format!("Missing required parameter {:?}", path(at, r)));
                    }
                }
            }
            if shape.union && obj.values().filter(|v| !v.is_null()).count() > 1 {
                errors.push(format!("{here} must have exactly one member set"));
            }
        }
        ShapeType::List => {
            let Value::Array(items) = v else {
                return wrong("an array");
            };
            if let Some(ms) = shape.member.as_ref().and_then(|m| model.shape(&m.shape)) {
                for (i, item) in items.iter().enumerate() {
                    check(model, ms, item, &format!("{here}[{i}]"), checks, errors);
                }
            }
        }
        ShapeType::Map => {
            let Value::Object(obj) = v else {
                return wrong("an object");
            };
            if let Some(ms) = shape.value.as_ref().and_then(|m| model.shape(&m.shape)) {
                for (k, item) in obj {
                    check(model, ms, item, &path(at, k), checks, errors);
                }
            }
        }
        ShapeType::String => {
            if !v.is_string() {
                wrong("a string")
            }
        }
        ShapeType::Boolean => {
            if !v.is_boolean() {
                wrong("a boolean")
            }
        }
        ShapeType::Timestamp => {
            if timestamp_in(v).is_none() {
                wrong("a timestamp (epoch seconds or ISO 8601 text)")
            }
        }
        ShapeType::Blob => match v {
            Value::String(s) if shape.streaming => {
                let _ = s;
            }
            Value::String(s) => {
                if base64::engine::general_purpose::STANDARD.decode(s).is_err() {
                    wrong("base64 text")
                }
            }
            _ => wrong("a string"),
        },
        t if is_integer(t) => {
            if !(v.is_i64() || v.is_u64()) {
                wrong("an integer")
            }
        }
        _ => {
            if !v.is_number() {
                wrong("a number")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(op: &str, input: Value, required: bool) -> Result<(), ApiCallError> {
        let model = crate::service_model("dynamodb").unwrap();
        let shape = model
            .operation(op)
            .and_then(|o| o.input.as_deref())
            .and_then(|n| model.shape(n));
        validate(&model, shape, &input, Checks { required })
    }

    #[test]
    fn a_valid_input_passes() {
        run(
            "PutItem",
            json!({"TableName": "t", "Item": {"pk": {"S": "1"}, "n": {"N": "2"}}}),
            true,
        )
        .unwrap();
    }

    #[test]
    fn unknown_missing_and_mistyped_members_are_named() {
        let err = run(
            "PutItem",
            json!({"TableName": 5, "Bogus": 1, "Item": {"pk": {"Q": "1"}}}),
            true,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("Invalid type for TableName: expected a string, got a number"),
            "{err}"
        );
        assert!(err.contains("Unknown parameter \"Bogus\""), "{err}");
        assert!(err.contains("Unknown parameter \"Item.pk.Q\""), "{err}");
        let err = run("PutItem", json!({"TableName": "t"}), true)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "Missing required parameter \"Item\"");
        run("PutItem", json!({"TableName": "t"}), false).unwrap();
    }
}
