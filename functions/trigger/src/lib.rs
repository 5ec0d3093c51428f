//! The trigger's handler: any event (an S3 notification, an EventBridge event) becomes the input
//! of a new execution of the configured state machine.

use lambda_runtime::{Error, LambdaEvent};
use serde_json::{json, Value};
use stepwise_store_aws::handlers::{start_execution, Deps};

/// Starts one execution per S3 record (each with that record, as Step Functions' own S3
/// integration through EventBridge would), or one for any other event.
pub async fn handle(
    deps: &Deps,
    state_machine_arn: &str,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let inputs: Vec<Value> = match event.payload.get("Records").and_then(Value::as_array) {
        Some(records) if !records.is_empty() && records.iter().all(|r| r.get("s3").is_some()) => {
            records.iter().map(|r| json!({"Records": [r]})).collect()
        }
        _ => vec![event.payload.clone()],
    };
    let mut started = Vec::new();
    for input in inputs {
        started.push(start_execution(deps, state_machine_arn, None, input, None).await?);
    }
    Ok(json!({ "executionArns": started }))
}
