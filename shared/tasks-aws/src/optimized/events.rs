//! `arn:aws:states:::events:putEvents[.waitForTaskToken]`: EventBridge `PutEvents`. Each
//! entry's `Detail` given as a JSON value is sent as its JSON text, and Step Functions adds the
//! state machine's and the execution's ARNs to each entry's `Resources`. The result is
//! `{"Entries": [...], "FailedEntryCount": n}` (no HTTP metadata); when an entry failed the task
//! fails with `EventBridge.FailedEntry` and that output as JSON text for the cause.

use serde_json::{Map, Value};
use stepwise_ports::tasks::{TaskFailure, TaskRequest};

use super::backend::{sort_keys, Backend, ServiceNames};
use super::params;

/// How EventBridge errors are named.
pub const NAMES: ServiceNames = ServiceNames {
    prefix: "EventBridge",
    service: "AmazonEventBridge",
    generic: "AmazonEventBridgeException",
    modeled: &[("InternalException", "InternalException")],
};

/// The error when `FailedEntryCount` is not 0.
pub const FAILED_ENTRY: &str = "EventBridge.FailedEntry";

const FIELDS: &[&str] = &["Entries", "EndpointId"];
const ENTRY_FIELDS: &[&str] = &[
    "Detail",
    "DetailType",
    "EventBusName",
    "Resources",
    "Source",
    "Time",
    "TraceHeader",
];

/// The state machine's ARN for an execution ARN
/// (`arn:aws:states:R:A:execution:SM:NAME` -> `arn:aws:states:R:A:stateMachine:SM`).
pub fn state_machine_arn(execution_arn: &str) -> Option<String> {
    let parts: Vec<&str> = execution_arn.split(':').collect();
    match parts.as_slice() {
        [arn, partition, service, region, account, kind, sm, ..]
            if *kind == "execution" || *kind == "express" =>
        {
            Some(format!(
                "{arn}:{partition}:{service}:{region}:{account}:stateMachine:{sm}"
            ))
        }
        _ => None,
    }
}

/// The PutEvents input for the task's parameters.
pub fn input(req: &TaskRequest) -> Result<Value, TaskFailure> {
    let mut map = params::fields(req, FIELDS)?;
    let entries = match map.remove("Entries") {
        Some(Value::Array(entries)) => entries,
        None | Some(Value::Null) => return Err(NAMES.missing_member("Entries")),
        Some(_) => {
            return Err(params::cannot_start(
                req,
                "The value for the field 'Entries' must be an ARRAY",
            ))
        }
    };
    let added: Vec<Value> = state_machine_arn(&req.execution_arn)
        .into_iter()
        .chain([req.execution_arn.clone()])
        .map(Value::String)
        .collect();
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let Value::Object(mut entry) = entry else {
            return Err(params::cannot_start(
                req,
                "The value for the field 'Entries' must be an ARRAY of OBJECTs",
            ));
        };
        params::check_fields(req, &entry, ENTRY_FIELDS)?;
        params::text_field(&mut entry, "Detail");
        let mut resources = match entry.remove("Resources") {
            Some(Value::Array(r)) => r,
            _ => Vec::new(),
        };
        resources.extend(added.iter().cloned());
        entry.insert("Resources".into(), Value::Array(resources));
        out.push(Value::Object(entry));
    }
    map.insert("Entries".into(), Value::Array(out));
    Ok(Value::Object(map))
}

/// The task's result (or `EventBridge.FailedEntry`) for PutEvents' output.
pub fn result(output: &Value) -> Result<Value, TaskFailure> {
    let mut out = Map::new();
    out.insert(
        "Entries".into(),
        output
            .get("Entries")
            .cloned()
            .unwrap_or(Value::Array(vec![])),
    );
    let failed = output
        .get("FailedEntryCount")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    out.insert("FailedEntryCount".into(), Value::from(failed));
    let out = sort_keys(Value::Object(out));
    if failed > 0 {
        return Err(TaskFailure::new(FAILED_ENTRY, out.to_string()));
    }
    Ok(out)
}

/// `events:putEvents`.
pub async fn put_events(b: &dyn Backend, req: &TaskRequest) -> Result<Value, TaskFailure> {
    let input = input(req)?;
    let reply = b
        .call("events", "PutEvents", input)
        .await
        .map_err(|f| NAMES.failure(f))?;
    result(&reply.output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(parameters: Value) -> TaskRequest {
        TaskRequest {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:sm:e1".into(),
            state_machine_name: "sm".into(),
            state_name: "Put".into(),
            resource: "arn:aws:states:::events:putEvents".into(),
            parameters,
            test_case: None,
            task_token: None,
            redrive_count: 0,
        }
    }

    #[test]
    fn details_become_json_text_and_resources_name_the_execution() {
        let input = input(&req(json!({"Entries": [
            {"Detail": {"Message": "Hi"}, "DetailType": "t", "Source": "s"},
            {"Detail": "{\"a\":1}", "DetailType": "t", "Source": "s", "Resources": ["r1"]}
        ]})));
        assert_eq!(
            input,
            Ok(json!({"Entries": [
                {"Detail": "{\"Message\":\"Hi\"}", "DetailType": "t", "Source": "s",
                 "Resources": ["arn:aws:states:us-east-1:123456789012:stateMachine:sm",
                               "arn:aws:states:us-east-1:123456789012:execution:sm:e1"]},
                {"Detail": "{\"a\":1}", "DetailType": "t", "Source": "s",
                 "Resources": ["r1", "arn:aws:states:us-east-1:123456789012:stateMachine:sm",
                               "arn:aws:states:us-east-1:123456789012:execution:sm:e1"]}
            ]}))
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        let missing = input(&req(json!({}))).err().map(|f| f.error);
        assert_eq!(
            missing.as_deref(),
            Some("EventBridge.AmazonEventBridgeException")
        );
        let unknown = input(&req(json!({"Entries": [{"Nope": 1}]}))).err();
        assert_eq!(unknown.map(|f| f.error).as_deref(), Some("States.Runtime"));
        let not_list = input(&req(json!({"Entries": {}}))).err();
        assert_eq!(not_list.map(|f| f.error).as_deref(), Some("States.Runtime"));
    }

    #[test]
    fn a_failed_entry_fails_the_task_with_the_output_as_cause() {
        let out = json!({"FailedEntryCount": 1, "Entries": [
            {"EventId": "e1"},
            {"ErrorCode": "InvalidArgument", "ErrorMessage": "Parameter Source is not valid."}
        ]});
        assert_eq!(
            result(&out),
            Err(TaskFailure::new(
                FAILED_ENTRY,
                "{\"Entries\":[{\"EventId\":\"e1\"},{\"ErrorCode\":\"InvalidArgument\",\
                 \"ErrorMessage\":\"Parameter Source is not valid.\"}],\"FailedEntryCount\":1}"
            ))
        );
        let ok = json!({"FailedEntryCount": 0, "Entries": [{"EventId": "e1"}]});
        assert_eq!(
            result(&ok),
            Ok(json!({"Entries": [{"EventId": "e1"}], "FailedEntryCount": 0}))
        );
    }

    #[test]
    fn state_machine_arn_of_an_execution() {
        assert_eq!(
            state_machine_arn("arn:aws:states:eu-west-1:1:express:sm:e:id").as_deref(),
            Some("arn:aws:states:eu-west-1:1:stateMachine:sm")
        );
        assert_eq!(state_machine_arn("nonsense"), None);
    }
}
