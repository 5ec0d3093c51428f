//! [`Backend`] for `stepwise_aws_api::AwsCaller`: the region and endpoint are the caller's (the
//! SDKs' configuration: `AWS_REGION`, `AWS_ENDPOINT_URL(_<SERVICE>)`, `--aws-endpoint-url`).

use serde_json::Value;
use stepwise_aws_api::{ApiCall, ApiCallError, AwsCaller};
use stepwise_ports::BoxFuture;

use super::backend::{Backend, CallFailure, Reply};

impl Backend for AwsCaller {
    fn call<'a>(
        &'a self,
        service: &'a str,
        operation: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Reply, CallFailure>> {
        Box::pin(async move {
            let call = ApiCall {
                service,
                operation,
                input: &input,
                region: None,
            };
            match AwsCaller::call(self, call).await {
                Ok(r) => Ok(Reply {
                    status: r.status,
                    headers: r.headers,
                    request_id: r.request_id,
                    output: r.output,
                }),
                Err(e) => Err(failure(e)),
            }
        })
    }

    fn call_detached(&self, service: &str, operation: &str, input: Value) {
        // Outside a Tokio runtime (nothing is polling then) there is nothing to stop.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let caller = self.clone();
        let (service, operation) = (service.to_string(), operation.to_string());
        runtime.spawn(async move {
            let call = ApiCall {
                service: &service,
                operation: &operation,
                input: &input,
                region: None,
            };
            let _ = caller.call(call).await;
        });
    }
}

fn failure(e: ApiCallError) -> CallFailure {
    match e {
        ApiCallError::Service {
            status,
            code,
            message,
            request_id,
        } => CallFailure::Service {
            status,
            code,
            message: (!message.is_empty()).then_some(message),
            request_id,
        },
        ApiCallError::Validation { message } => CallFailure::Rejected(message),
        ApiCallError::Transport { message } => CallFailure::Transport(message),
        other @ (ApiCallError::UnknownService(_) | ApiCallError::UnknownOperation { .. }) => {
            CallFailure::Unavailable(other.to_string())
        }
    }
}
