//! The service as a [`StatesApi`]: the `states:startExecution` integration
//! (`stepwise_tasks_aws::states`) starts, describes and stops child executions in the same
//! Stepwise through here, in `stepwise serve` and in the serverless home. Each answer carries
//! the headers the HTTP API would have sent (for the task's `SdkHttpMetadata`).

use crate::Service;
use serde_json::Value;
use stepwise_ports::api::ApiStore;
use stepwise_ports::states_api::{ApiCallError, ApiReply, StatesApi};
use stepwise_ports::BoxFuture;

impl<S: ApiStore + 'static> StatesApi for Service<S> {
    fn call<'a>(
        &'a self,
        action: &'a str,
        body: Value,
    ) -> BoxFuture<'a, Result<ApiReply, ApiCallError>> {
        Box::pin(async move {
            let request = stepwise_engine::deep::to_string(&body)
                .unwrap_or_default()
                .into_bytes();
            // Boxed: the service's future (every action's state) is large for a stack.
            let (status, out) =
                Box::pin(self.handle(&format!("AWSStepFunctions.{action}"), &request)).await;
            let request_id = crate::req::uuid();
            // Any depth a child's output can have (serde_json alone stops at 128 levels).
            let parsed: Value = stepwise_engine::deep::from_slice(&out).unwrap_or(Value::Null);
            if status == 200 {
                let headers = vec![
                    ("x-amzn-RequestId".to_string(), request_id.clone()),
                    ("Content-Length".to_string(), out.len().to_string()),
                    (
                        "Content-Type".to_string(),
                        "application/x-amz-json-1.0".to_string(),
                    ),
                ];
                return Ok(ApiReply {
                    body: parsed,
                    status,
                    headers,
                    request_id,
                });
            }
            let code = parsed
                .get("__type")
                .and_then(Value::as_str)
                .unwrap_or("InternalFailure")
                .to_string();
            let message = parsed
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            Err(ApiCallError::Service {
                status,
                code,
                message,
                request_id,
            })
        })
    }
}
