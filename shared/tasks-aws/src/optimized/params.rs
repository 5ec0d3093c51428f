//! Reading a Task's parameters: Step Functions spells them in PascalCase whatever the API's own
//! spelling, refuses a field it does not support (`States.Runtime`, "The field "X" is not
//! supported by Step Functions"), sends a JSON value given for a text field as JSON text, and
//! converts the spelling both ways for the APIs whose members are camelCase (ECS, Batch,
//! Bedrock).

use serde_json::{Map, Value};
use stepwise_ports::tasks::{TaskFailure, TaskRequest};

use super::backend::{lower_first, upper_first};

/// The `States.Runtime` failure for parameters that cannot start the task, in AWS's words.
pub fn cannot_start(req: &TaskRequest, reason: &str) -> TaskFailure {
    TaskFailure::runtime(format!(
        "An error occurred while executing the state '{}'. The Parameters '{}' could not be used \
         to start the Task: [{reason}]",
        req.state_name, req.parameters
    ))
}

/// The parameters as an object whose every field is one of `allowed`.
pub fn fields(req: &TaskRequest, allowed: &[&str]) -> Result<Map<String, Value>, TaskFailure> {
    let map = match &req.parameters {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        _ => return Err(cannot_start(req, "The parameters must be a JSON object")),
    };
    check_fields(req, &map, allowed)?;
    Ok(map)
}

/// Refuses a field not in `allowed`.
pub fn check_fields(
    req: &TaskRequest,
    map: &Map<String, Value>,
    allowed: &[&str],
) -> Result<(), TaskFailure> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(cannot_start(
            req,
            &format!("The field \"{unknown}\" is not supported by Step Functions"),
        )),
        None => Ok(()),
    }
}

/// The first of `required` that is absent or null.
pub fn first_missing<'a>(map: &Map<String, Value>, required: &[&'a str]) -> Option<&'a str> {
    required
        .iter()
        .find(|r| map.get(**r).is_none_or(Value::is_null))
        .copied()
}

/// A value for a text field: a string as it is, anything else as its JSON text
/// (`{"a":1}` -> `"{\"a\":1}"`).
pub fn json_text(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(s),
        Value::Null => Value::Null,
        other => Value::String(other.to_string()),
    }
}

/// Replaces `map[field]` by its JSON text when present.
pub fn text_field(map: &mut Map<String, Value>, field: &str) {
    if let Some(v) = map.remove(field) {
        map.insert(field.to_string(), json_text(v));
    }
}

/// PascalCase member names to camelCase, recursively; the values of members named in `maps`
/// (map-typed members: their keys are data, not member names) keep their keys.
pub fn to_camel(value: Value, maps: &[&str]) -> Value {
    recase(value, maps, &lower_first)
}

/// camelCase member names to PascalCase, recursively, except the keys inside map-typed members
/// (`maps`, in the API's spelling).
pub fn to_pascal(value: Value, maps: &[&str]) -> Value {
    recase(value, maps, &upper_first)
}

fn recase(value: Value, maps: &[&str], case: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let new = case(&k);
                    let keep = maps.iter().any(|m| m.eq_ignore_ascii_case(&k));
                    let v = if keep { v } else { recase(v, maps, case) };
                    (new, v)
                })
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| recase(v, maps, case)).collect())
        }
        other => other,
    }
}

/// Epoch seconds (the JSON protocols' timestamps) to epoch milliseconds (what Step Functions
/// outputs) for the members named in `names`, recursively.
pub fn millis_timestamps(value: Value, names: &[&str]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::Number(n) if names.contains(&k.as_str()) => n
                            .as_f64()
                            .map(|secs| Value::from((secs * 1000.0).round() as i64))
                            .unwrap_or(Value::Number(n)),
                        other => millis_timestamps(other, names),
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| millis_timestamps(v, names))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(parameters: Value) -> TaskRequest {
        TaskRequest {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:sm:e1".into(),
            state_machine_name: "sm".into(),
            state_name: "Send".into(),
            resource: "arn:aws:states:::sqs:sendMessage".into(),
            parameters,
            test_case: None,
            task_token: None,
            redrive_count: 0,
        }
    }

    #[test]
    fn an_unknown_field_cannot_start_the_task() {
        let r = req(json!({"QueueUrl": "q", "Nope": 1}));
        let f = fields(&r, &["QueueUrl"]).err();
        let f = f.as_ref().map(|f| (f.error.as_str(), f.cause.as_str()));
        assert_eq!(
            f,
            Some((
                "States.Runtime",
                "An error occurred while executing the state 'Send'. The Parameters \
                 '{\"QueueUrl\":\"q\",\"Nope\":1}' could not be used to start the Task: [The \
                 field \"Nope\" is not supported by Step Functions]"
            ))
        );
        assert!(fields(&req(json!([1])), &["QueueUrl"]).is_err());
        assert_eq!(
            fields(&req(Value::Null), &["QueueUrl"]).ok(),
            Some(Map::new())
        );
    }

    #[test]
    fn missing_means_absent_or_null() {
        let m = json!({"A": 1, "B": null});
        let m = m.as_object().cloned().unwrap_or_default();
        assert_eq!(first_missing(&m, &["A", "B"]), Some("B"));
        assert_eq!(first_missing(&m, &["A", "C"]), Some("C"));
        assert_eq!(first_missing(&m, &["A"]), None);
    }

    #[test]
    fn json_values_become_json_text() {
        assert_eq!(
            json_text(json!({"a": [1, "x"]})),
            json!("{\"a\":[1,\"x\"]}")
        );
        assert_eq!(json_text(json!("plain")), json!("plain"));
        assert_eq!(json_text(json!(12)), json!("12"));
        assert_eq!(json_text(json!(true)), json!("true"));
    }

    #[test]
    fn recasing_keeps_map_keys() {
        let v = json!({"JobName": "j", "Parameters": {"MyKey": "v"},
                       "ContainerOverrides": {"Environment": [{"Name": "A", "Value": "1"}]}});
        let camel = to_camel(v.clone(), &["parameters"]);
        assert_eq!(
            camel,
            json!({"jobName": "j", "parameters": {"MyKey": "v"},
                   "containerOverrides": {"environment": [{"name": "A", "value": "1"}]}})
        );
        assert_eq!(to_pascal(camel, &["parameters"]), v);
    }

    #[test]
    fn timestamps_become_epoch_millis() {
        let v = json!({"createdAt": 1700000000.123, "other": 1.5, "list": [{"stoppedAt": 2}]});
        assert_eq!(
            millis_timestamps(v, &["createdAt", "stoppedAt"]),
            json!({"createdAt": 1700000000123_i64, "other": 1.5, "list": [{"stoppedAt": 2000}]})
        );
    }
}
