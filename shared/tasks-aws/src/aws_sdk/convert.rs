//! Parameters in, results out, with Step Functions' conventions:
//! - members are PascalCase in both directions (`StateMachineArn` for `stateMachineArn`),
//!   `EqualsValue` for `Equals`; map keys are data and stay as they are;
//! - a string member given other JSON gets its JSON text (`Input` of `sfn:startExecution`);
//! - a blob member gets the bytes of its value's compact JSON text, text included: S3
//!   `putObject` with `"Body": "text data"` stores `"text data"` with its quotes, and with
//!   `{"Dict": "Value"}` stores `{"Dict":"Value"}` (as AWS does, per its recorded ETags);
//! - results carry timestamps as ISO 8601 text (as Java's `Instant` prints them), a streaming
//!   body as text (S3 `getObject`'s `Body`), other blobs as base64 text.

use super::names::sfn_member_name;
use base64::Engine;
use serde_json::{Map, Value};
use stepwise_aws_api::{ServiceModel, Shape, ShapeType};
use time::OffsetDateTime;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Converts a Task's parameters into the operation's input (members spelled as the model
/// spells them). `Err` lists the fields Step Functions does not know.
pub fn to_input(
    model: &ServiceModel,
    shape: Option<&Shape>,
    params: &Value,
) -> Result<Value, Vec<String>> {
    let mut unknown = Vec::new();
    let out = match shape {
        Some(s) => input_value(model, s, false, params, &mut unknown),
        None => match params {
            Value::Object(o) => {
                unknown.extend(o.keys().cloned());
                Value::Object(Map::new())
            }
            other => other.clone(),
        },
    };
    if unknown.is_empty() {
        Ok(out)
    } else {
        Err(unknown)
    }
}

fn input_value(
    model: &ServiceModel,
    shape: &Shape,
    streaming: bool,
    v: &Value,
    unknown: &mut Vec<String>,
) -> Value {
    if v.is_null() || shape.document {
        return v.clone();
    }
    match (shape.shape_type, v) {
        (ShapeType::Structure, Value::Object(obj)) => {
            let mut out = Map::new();
            for (k, val) in obj {
                let found = shape
                    .members
                    .iter()
                    .find(|(name, _)| sfn_member_name(name) == *k)
                    .or_else(|| shape.members.iter().find(|(name, _)| name == k));
                match found {
                    Some((name, m)) => match model.shape(&m.shape) {
                        Some(ms) => {
                            out.insert(
                                name.clone(),
                                input_value(model, ms, m.streaming, val, unknown),
                            );
                        }
                        None => unknown.push(k.clone()),
                    },
                    None => unknown.push(k.clone()),
                }
            }
            Value::Object(out)
        }
        (ShapeType::List, Value::Array(items)) => {
            match shape.member.as_ref().and_then(|m| model.shape(&m.shape)) {
                Some(ms) => Value::Array(
                    items
                        .iter()
                        .map(|i| input_value(model, ms, false, i, unknown))
                        .collect(),
                ),
                None => v.clone(),
            }
        }
        (ShapeType::Map, Value::Object(obj)) => {
            match shape.value.as_ref().and_then(|m| model.shape(&m.shape)) {
                Some(ms) => Value::Object(
                    obj.iter()
                        .map(|(k, val)| (k.clone(), input_value(model, ms, false, val, unknown)))
                        .collect(),
                ),
                None => v.clone(),
            }
        }
        (
            ShapeType::String,
            Value::Object(_) | Value::Array(_) | Value::Number(_) | Value::Bool(_),
        ) => Value::from(v.to_string()),
        (ShapeType::Blob, _) if streaming || shape.streaming => Value::from(v.to_string()),
        (ShapeType::Blob, _) => Value::from(B64.encode(v.to_string())),
        _ => v.clone(),
    }
}

/// A timestamp as Step Functions shows it: ISO 8601 in UTC, the fraction in groups of three
/// digits when there is one (Java's `Instant.toString()`).
pub fn instant_text(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let base = t.format(&fmt).unwrap_or_default();
    let nanos = t.nanosecond();
    if nanos == 0 {
        format!("{base}Z")
    } else if nanos.is_multiple_of(1_000_000) {
        format!("{base}.{:03}Z", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!("{base}.{:06}Z", nanos / 1_000)
    } else {
        format!("{base}.{nanos:09}Z")
    }
}

fn timestamp(v: &Value) -> Value {
    let t = match v {
        Value::Number(n) => n.as_f64().and_then(|s| {
            OffsetDateTime::from_unix_timestamp_nanos((s * 1e3).round() as i128 * 1_000_000).ok()
        }),
        _ => None,
    };
    t.map(|t| Value::from(instant_text(t)))
        .unwrap_or_else(|| v.clone())
}

/// Converts an operation's output into the Task's result.
pub fn to_result(model: &ServiceModel, shape: Option<&Shape>, output: &Value) -> Value {
    match shape {
        Some(s) => result_value(model, s, output),
        None => Value::Object(Map::new()),
    }
}

fn result_value(model: &ServiceModel, shape: &Shape, v: &Value) -> Value {
    if shape.document {
        return v.clone();
    }
    match (shape.shape_type, v) {
        (ShapeType::Structure, Value::Object(obj)) => {
            let mut out = Map::new();
            for (name, m) in &shape.members {
                let (Some(val), Some(ms)) = (obj.get(name), model.shape(&m.shape)) else {
                    continue;
                };
                out.insert(sfn_member_name(name), result_value(model, ms, val));
            }
            Value::Object(out)
        }
        (ShapeType::List, Value::Array(items)) => {
            match shape.member.as_ref().and_then(|m| model.shape(&m.shape)) {
                Some(ms) => {
                    Value::Array(items.iter().map(|i| result_value(model, ms, i)).collect())
                }
                None => v.clone(),
            }
        }
        (ShapeType::Map, Value::Object(obj)) => {
            match shape.value.as_ref().and_then(|m| model.shape(&m.shape)) {
                Some(ms) => Value::Object(
                    obj.iter()
                        .map(|(k, val)| (k.clone(), result_value(model, ms, val)))
                        .collect(),
                ),
                None => v.clone(),
            }
        }
        (ShapeType::Timestamp, _) => timestamp(v),
        _ => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op_shapes(service: &str, op: &str) -> (std::sync::Arc<ServiceModel>, String, String) {
        let model = stepwise_aws_api::service_model(service).unwrap();
        let o = model.operation(op).unwrap();
        let (i, out) = (o.input.clone().unwrap(), o.output.clone().unwrap());
        (model, i, out)
    }

    #[test]
    fn pascal_case_parameters_reach_camel_case_members_and_text_members_take_json_text() {
        let (model, input, _) = op_shapes("stepfunctions", "StartExecution");
        let got = to_input(
            &model,
            model.shape(&input),
            &json!({"StateMachineArn": "arn", "Input": {"key": "value"}, "Name": "n"}),
        )
        .unwrap();
        assert_eq!(
            got,
            json!({"stateMachineArn": "arn", "input": "{\"key\":\"value\"}", "name": "n"})
        );
        let err = to_input(
            &model,
            model.shape(&input),
            &json!({"StateMachineArn": "a", "Bogus": 1}),
        )
        .unwrap_err();
        assert_eq!(err, vec!["Bogus".to_string()]);
    }

    #[test]
    fn blobs_take_text_or_json_text() {
        let (model, input, _) = op_shapes("s3", "PutObject");
        let got = to_input(
            &model,
            model.shape(&input),
            &json!({"Bucket": "b", "Key": "k", "Body": {"Dict": "Value"}}),
        )
        .unwrap();
        assert_eq!(got["Body"], "{\"Dict\":\"Value\"}");
        let (model, input, _) = op_shapes("kms", "Encrypt");
        let got = to_input(
            &model,
            model.shape(&input),
            &json!({"KeyId": "k", "Plaintext": "secret"}),
        )
        .unwrap();
        assert_eq!(got["Plaintext"], B64.encode("\"secret\""));
    }

    #[test]
    fn results_are_pascal_case_with_iso_timestamps_and_map_keys_kept() {
        let (model, _, output) = op_shapes("stepfunctions", "StartExecution");
        let got = to_result(
            &model,
            model.shape(&output),
            &json!({"executionArn": "arn", "startDate": 1796187957.25}),
        );
        assert_eq!(
            got,
            json!({"ExecutionArn": "arn", "StartDate": "2026-12-02T05:05:57.250Z"})
        );
        let (model, _, output) = op_shapes("dynamodb", "GetItem");
        let got = to_result(
            &model,
            model.shape(&output),
            &json!({"Item": {"id": {"S": "1"}, "data": {"M": {"x": {"N": "1"}}}}}),
        );
        assert_eq!(
            got,
            json!({"Item": {"id": {"S": "1"}, "data": {"M": {"x": {"N": "1"}}}}})
        );
        assert_eq!(
            instant_text(OffsetDateTime::from_unix_timestamp(1796187957).unwrap()),
            "2026-12-02T05:05:57Z"
        );
    }
}
