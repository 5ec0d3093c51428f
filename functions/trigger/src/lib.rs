//! The trigger's handler: any event (an S3 notification, an EventBridge event) becomes the input
//! of a new execution of the configured state machine, started through the Step Functions API
//! service (`StartExecution`), so it gets the API's checks and its one way of creating executions.

use api::ApiService;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{json, Value};

/// Starts one execution per S3 record (each with that record, as Step Functions' own S3
/// integration through EventBridge would), or one for any other event.
pub async fn handle(
    service: &ApiService,
    state_machine_arn: &str,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let mut started = Vec::new();
    for input in execution_inputs(&event.payload) {
        let request = json!({"stateMachineArn": state_machine_arn, "input": input.to_string()});
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
