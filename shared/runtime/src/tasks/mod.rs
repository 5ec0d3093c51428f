//! Task invocation: how a `Task` state's call leaves the interpreter and how its outcome comes back.
//!
//! The engine emits a command carrying a [`TaskRequest`]; a [`TaskInvoker`] performs the call and
//! yields either the task's result (a JSON value) or a [`TaskFailure`] (an ASL error name plus a
//! cause), which the engine turns into `TaskSucceeded` / `TaskFailed` (or the `LambdaFunction*`
//! events for a bare Lambda ARN resource).
//!
//! Implementations here:
//! - [`MockInvoker`]: AWS Step Functions Local's mock configuration file (`MockConfigFile.json`),
//!   chosen by state machine name and test case.
//! - [`LambdaInvoker`]: the Lambda `Invoke` API through `aws-sdk-lambda`, against AWS or a local
//!   endpoint such as `cargo lambda watch`.
//! - [`TaskRouter`]: the mock first, then Lambda, then any other invoker; a task that nothing can
//!   serve fails with `States.Runtime` and a cause that names the resource and the state.

pub mod lambda;
pub mod mock;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;
use stepwise_asl::resource::TaskResource;

pub use lambda::{LambdaInvoker, LambdaInvokerConfig};
pub use mock::{MockConfig, MockConfigError, MockInvoker, MockOutcome, MockStep, MockedResponse};

/// A boxed, sendable future: what [`TaskInvoker::invoke`] returns (no `async-trait` needed).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// ASL error name used when a task cannot be served at all (no mock, no invoker for the
/// resource, a malformed request). `States.Runtime` is not matched by `States.ALL` in a Catch or
/// Retry, so a configuration problem fails the execution visibly instead of being swallowed by
/// a catch-all handler.
pub const STATES_RUNTIME: &str = stepwise_asl::errors::RUNTIME;

/// One call of a `Task` state, as the engine hands it to an invoker.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRequest {
    /// ARN of the execution the task belongs to (mock invocation counters are per execution).
    pub execution_arn: String,
    /// Name of the state machine (selects the mock configuration's `StateMachines` entry).
    pub state_machine_name: String,
    /// Name of the `Task` state.
    pub state_name: String,
    /// The Task's `Resource` ARN, e.g. `arn:aws:states:::lambda:invoke` or
    /// `arn:aws:lambda:us-east-1:123456789012:function:my-fn`.
    pub resource: TaskResource,
    /// The effective input of the call: `Parameters`/`Arguments` after evaluation, or the state
    /// input when there are none.
    pub parameters: Value,
    /// The mock test case chosen at StartExecution (`stateMachineArn#TestCase`), if any.
    pub test_case: Option<String>,
    /// The task token for `.waitForTaskToken` resources. For those, a successful result only
    /// means the call was submitted: the engine then waits for SendTaskSuccess/Failure.
    pub task_token: Option<String>,
}

/// How a task failed: the ASL error name (matched by `Retry`/`Catch` `ErrorEquals`) and cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct TaskFailure {
    /// The ASL error name, e.g. `Lambda.ResourceNotFoundException` or a function's `errorType`.
    pub error: String,
    /// The cause text, e.g. the function's error payload as JSON text.
    pub cause: String,
}

impl TaskFailure {
    /// A failure with the given error name and cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// A `States.Runtime` failure: the task could not be served (see [`STATES_RUNTIME`]).
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new(STATES_RUNTIME, cause)
    }
}

/// Something that performs a Task state's call.
pub trait TaskInvoker: Send + Sync {
    /// Performs the call and returns the task's result or its failure.
    fn invoke(&self, req: TaskRequest) -> BoxFuture<'_, Result<Value, TaskFailure>>;

    /// Whether what [`Self::invoke`] returns for this callback task (`.waitForTaskToken`) is
    /// already the task's result. A mocked response is (as in Step Functions Local); a real
    /// invocation only hands the token out, and the result comes with SendTaskSuccess.
    fn answers_callback(&self, _req: &TaskRequest) -> bool {
        false
    }
}

impl<T: TaskInvoker + ?Sized> TaskInvoker for Arc<T> {
    fn invoke(&self, req: TaskRequest) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        (**self).invoke(req)
    }

    fn answers_callback(&self, req: &TaskRequest) -> bool {
        (**self).answers_callback(req)
    }
}

impl<T: TaskInvoker + ?Sized> TaskInvoker for Box<T> {
    fn invoke(&self, req: TaskRequest) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        (**self).invoke(req)
    }
}

/// Routes each task: the mock configuration first (when the execution has a test case that
/// mocks the state), then the Lambda invoker for Lambda resources (when one is configured), then
/// the fallback invoker (activities, other integrations), if any.
///
/// A task none of them can serve fails with [`STATES_RUNTIME`] and a cause naming the state,
/// the resource and what would serve it (`--lambda-endpoint`, a mock test case).
#[derive(Default)]
pub struct TaskRouter {
    mock: Option<MockInvoker>,
    lambda: Option<LambdaInvoker>,
    fallback: Option<Arc<dyn TaskInvoker>>,
}

impl TaskRouter {
    /// A router with nothing configured: every task fails with `States.Runtime`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves mocked states from this mock invoker first.
    pub fn with_mock(mut self, mock: MockInvoker) -> Self {
        self.mock = Some(mock);
        self
    }

    /// Serves Lambda resources (`arn:aws:lambda:…:function:…`, `arn:aws:states:::lambda:invoke`)
    /// with this invoker.
    pub fn with_lambda(mut self, lambda: LambdaInvoker) -> Self {
        self.lambda = Some(lambda);
        self
    }

    /// Hands every other task to this invoker.
    pub fn with_fallback(mut self, fallback: Arc<dyn TaskInvoker>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// The mock invoker, if any (to reset per-execution counters, for instance).
    pub fn mock(&self) -> Option<&MockInvoker> {
        self.mock.as_ref()
    }

    fn unserved(&self, req: &TaskRequest) -> TaskFailure {
        let is_lambda = lambda::is_lambda_resource(&req.resource);
        let how = if is_lambda {
            "no Lambda endpoint is configured (start with --lambda-endpoint URL) and no mocked \
             response was found (start the execution with a mock test case)"
        } else {
            "Stepwise has no invoker for this integration here; mock it with a test case of the \
             mock configuration file"
        };
        let case = match &req.test_case {
            Some(tc) => format!(" (test case '{tc}')"),
            None => String::new(),
        };
        TaskFailure::runtime(format!(
            "Cannot run Task state '{}' of state machine '{}'{case}: resource '{}' cannot be \
             served: {how}.",
            req.state_name, req.state_machine_name, req.resource
        ))
    }
}

impl TaskInvoker for TaskRouter {
    fn answers_callback(&self, req: &TaskRequest) -> bool {
        self.mock.as_ref().is_some_and(|m| m.mocks(req))
    }

    fn invoke(&self, req: TaskRequest) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        Box::pin(async move {
            if let Some(mock) = &self.mock {
                if let Some(outcome) = mock.try_invoke(&req) {
                    return outcome;
                }
            }
            if let Some(lambda) = &self.lambda {
                if lambda::is_lambda_resource(&req.resource) {
                    return lambda.invoke(req).await;
                }
            }
            if let Some(fallback) = &self.fallback {
                return fallback.invoke(req).await;
            }
            Err(self.unserved(&req))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Echo;
    impl TaskInvoker for Echo {
        fn invoke(&self, req: TaskRequest) -> BoxFuture<'_, Result<Value, TaskFailure>> {
            Box::pin(async move { Ok(json!({"echo": req.parameters})) })
        }
    }

    fn req(state: &str, resource: &str, test_case: Option<&str>) -> TaskRequest {
        TaskRequest {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:M:e1".into(),
            state_machine_name: "M".into(),
            state_name: state.into(),
            resource: resource.into(),
            parameters: json!({"x": 1}),
            test_case: test_case.map(str::to_string),
            task_token: None,
        }
    }

    const CONFIG: &str = r#"{
      "StateMachines": {"M": {"TestCases": {"T": {"Mocked": "Ok"}}}},
      "MockedResponses": {"Ok": {"0": {"Return": {"mocked": true}}}}
    }"#;

    #[tokio::test]
    async fn router_prefers_mock_then_falls_through() {
        let mock = MockInvoker::new(MockConfig::from_json_str(CONFIG).expect("config"));
        let router = TaskRouter::new()
            .with_mock(mock)
            .with_fallback(Arc::new(Echo));
        let sqs = "arn:aws:states:::sqs:sendMessage";
        let out = router.invoke(req("Mocked", sqs, Some("T"))).await;
        assert_eq!(out, Ok(json!({"mocked": true})));
        let out = router.invoke(req("Other", sqs, Some("T"))).await;
        assert_eq!(out, Ok(json!({"echo": {"x": 1}})));
        let out = router.invoke(req("Mocked", sqs, None)).await;
        assert_eq!(out, Ok(json!({"echo": {"x": 1}})));
    }

    #[tokio::test]
    async fn router_without_invoker_fails_with_runtime_error_naming_resource() {
        let router = TaskRouter::new();
        let resource = "arn:aws:states:::lambda:invoke";
        let err = router
            .invoke(req("Call", resource, None))
            .await
            .expect_err("must fail");
        assert_eq!(err.error, STATES_RUNTIME);
        assert!(err.cause.contains(resource), "{}", err.cause);
        assert!(err.cause.contains("'Call'"), "{}", err.cause);
        assert!(err.cause.contains("--lambda-endpoint"), "{}", err.cause);

        let err = router
            .invoke(req("Put", "arn:aws:states:::events:putEvents", Some("T")))
            .await
            .expect_err("must fail");
        assert!(err.cause.contains("events:putEvents"), "{}", err.cause);
        assert!(err.cause.contains("test case 'T'"), "{}", err.cause);
    }
}
