//! The trigger's handler: any event (an S3 notification, an EventBridge event) becomes the input
//! of a new execution of the configured state machine, started through the Step Functions API
//! service (`StartExecution`), so it gets the API's checks and its one way of creating executions.
//!
//! S3 and EventBridge invoke the trigger asynchronously and retry a failed or timed-out
//! invocation (and may deliver an event twice), so each start is named after the event's
//! identity: a retried delivery asks for the same name with the same input, which StartExecution
//! answers as the execution already started (or, once it ended, `ExecutionAlreadyExists`, which
//! here means the same thing) instead of starting a second one.

use api::ApiService;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{json, Value};
use stepwise_store_aws::fnv64;

/// Starts one execution per S3 record (each with that record, as Step Functions' own S3
/// integration through EventBridge would), or one for any other event.
pub async fn handle(
    service: &ApiService,
    state_machine_arn: &str,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let mut started = Vec::new();
    for input in execution_inputs(&event.payload) {
        let mut request = json!({"stateMachineArn": state_machine_arn, "input": input.to_string()});
        let name = execution_name(&input);
        if let Some(name) = &name {
            request["name"] = json!(name);
        }
        let body = serde_json::to_vec(&request)?;
        let (status, out) = Box::pin(
            service
                .service
                .handle("AWSStepFunctions.StartExecution", &body),
        )
        .await;
        // The Start event must be on the transitions queue before the function freezes.
        service.driver.flush().await?;
        let out: Value = serde_json::from_slice(&out)?;
        if let (Some(name), Some("ExecutionAlreadyExists")) = (&name, out["__type"].as_str()) {
            // This event started it before (a retried or repeated delivery): nothing more to do.
            started.push(execution_arn(state_machine_arn, name));
            continue;
        }
        if status != 200 {
            return Err(format!("StartExecution of {state_machine_arn} failed: {out}").into());
        }
        let arn = out["executionArn"]
            .as_str()
            .ok_or("StartExecution answered without an executionArn")?;
        started.push(arn.to_string());
    }
    Ok(json!({ "executionArns": started }))
}

/// The name of the execution an event's input starts, from the event's identity: an S3 record's
/// bucket, key and sequencer (S3's order of the events of one key), an EventBridge event's id.
/// `None` (a fresh name) for an event without one. Hashed, as names allow 80 characters and
/// none of `/`, `:` or spaces that keys and buckets may hold.
fn execution_name(input: &Value) -> Option<String> {
    let records = input.get("Records").and_then(Value::as_array);
    if let Some([record]) = records.map(Vec::as_slice) {
        let s3 = record.get("s3")?;
        let bucket = s3.pointer("/bucket/name").and_then(Value::as_str)?;
        let object = s3.get("object")?;
        let key = object.get("key").and_then(Value::as_str)?;
        let sequencer = object.get("sequencer").and_then(Value::as_str)?;
        let parts = [bucket, key, sequencer];
        let (a, b) = (fnv64(&parts), fnv64(&[sequencer, key, bucket]));
        return Some(format!("s3-{a:016x}{b:016x}"));
    }
    let id = input.get("id").and_then(Value::as_str)?;
    input.get("detail-type")?;
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Some(format!("eb-{id}"))
    } else {
        let (a, b) = (fnv64(&[id]), fnv64(&[id, "eb"]));
        Some(format!("eb-{a:016x}{b:016x}"))
    }
}

/// The ARN of the standard execution `name` of a state machine (or of its version or alias).
fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    let base: Vec<&str> = state_machine_arn.split(':').take(7).collect();
    format!(
        "{}:{name}",
        base.join(":").replacen(":stateMachine:", ":execution:", 1)
    )
}

/// The input of each execution an event starts: one per S3 record, any other event whole.
fn execution_inputs(event: &Value) -> Vec<Value> {
    match event.get("Records").and_then(Value::as_array) {
        Some(records) if !records.is_empty() && records.iter().all(|r| r.get("s3").is_some()) => {
            records.iter().map(|r| json!({"Records": [r]})).collect()
        }
        _ => vec![event.clone()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_s3_record_starts_its_own_execution() {
        let a = json!({"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "a"}}});
        let b = json!({"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "b"}}});
        let inputs = execution_inputs(&json!({"Records": [a.clone(), b.clone()]}));
        assert_eq!(inputs, [json!({"Records": [a]}), json!({"Records": [b]})]);
    }

    #[test]
    fn starts_are_named_after_the_event() {
        let record = |seq: &str| {
            json!({"Records": [{"s3": {"bucket": {"name": "in"},
                "object": {"key": "a b/c.csv", "sequencer": seq}}}]})
        };
        let first = execution_name(&record("0055AED6DCD90281E5")).expect("named");
        assert_eq!(
            execution_name(&record("0055AED6DCD90281E5")),
            Some(first.clone())
        );
        assert_ne!(
            execution_name(&record("0055AED6DCD90281E6")),
            Some(first.clone())
        );
        assert!(first.len() <= 80 && first.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        let bridge = json!({"id": "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": "x", "source": "s"});
        assert_eq!(
            execution_name(&bridge).as_deref(),
            Some("eb-7bf73129-1428-4cd3-a780-95db273d1602")
        );
        // No identity, no fixed name: each delivery is its own start.
        assert_eq!(execution_name(&json!({"detail": {}})), None);
        assert_eq!(
            execution_arn("arn:aws:states:us-east-1:1:stateMachine:m:live", "n"),
            "arn:aws:states:us-east-1:1:execution:m:n"
        );
    }

    #[test]
    fn other_events_start_one_execution_with_the_whole_event() {
        for event in [
            json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}),
            json!({"Records": []}),
            json!({"Records": [{"s3": {}}, {"sns": {}}]}),
        ] {
            assert_eq!(execution_inputs(&event), std::slice::from_ref(&event));
        }
    }
}
