//! The task invokers without I/O of their own, over the ports' [`TaskInvoker`]:
//! - [`MockInvoker`]: AWS Step Functions Local's mock configuration file (`MockConfigFile.json`),
//!   chosen by state machine name and test case.
//! - [`TaskRouter`]: the mock first, then a Lambda invoker (`stepwise-tasks-aws`), then the
//!   service integrations (`stepwise_tasks_aws::AwsServiceInvoker`, given as the fallback); a
//!   task that nothing can serve fails with `States.Runtime` and a cause that names the resource
//!   and the state.

pub mod mock;

use std::sync::Arc;

use serde_json::Value;
use stepwise_ports::resource::is_lambda_resource;
use stepwise_ports::tasks::{
    JobLook, Submission, SyncPolling, TaskFailure, TaskInvoker, TaskRequest, Traced,
};
use stepwise_ports::BoxFuture;

pub use mock::{MockConfig, MockConfigError, MockInvoker, MockOutcome, MockStep, MockedResponse};

/// Routes each task: the mock configuration first (when the execution has a test case that
/// mocks the state), then the Lambda invoker for Lambda resources (when one is configured), then
/// the fallback invoker (activities, other integrations), if any.
///
/// A task none of them can serve fails with [`stepwise_ports::tasks::STATES_RUNTIME`] and a cause naming the state,
/// the resource and what would serve it (`--lambda-endpoint`, a mock test case).
#[derive(Default)]
pub struct TaskRouter {
    mock: Option<MockInvoker>,
    lambda: Option<Box<dyn TaskInvoker>>,
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
    /// with this invoker (`stepwise_tasks_aws::LambdaInvoker`).
    pub fn with_lambda(mut self, lambda: impl TaskInvoker + 'static) -> Self {
        self.lambda = Some(Box::new(lambda));
        self
    }

    /// Hands every other task to this invoker (the service integrations:
    /// `stepwise_tasks_aws::AwsServiceInvoker`).
    pub fn with_fallback(mut self, fallback: Arc<dyn TaskInvoker>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// The mock invoker, if any (to reset per-execution counters, for instance).
    pub fn mock(&self) -> Option<&MockInvoker> {
        self.mock.as_ref()
    }

    fn unserved(&self, req: &TaskRequest) -> TaskFailure {
        let is_lambda = is_lambda_resource(&req.resource);
        let how = if is_lambda {
            "no Lambda endpoint is configured (start with --lambda-endpoint URL) and no mocked \
             response was found (start the execution with a mock test case)"
        } else if req.resource.is_activity() {
            "activities are served by `stepwise serve` and the serverless home (a worker calls \
             GetActivityTask), not by `stepwise run`; mock it with a test case of the mock \
             configuration file"
        } else {
            "no invoker for the service integrations is configured here; mock it with a test \
             case of the mock configuration file"
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
                if is_lambda_resource(&req.resource) {
                    return lambda.invoke(req).await;
                }
            }
            if let Some(fallback) = &self.fallback {
                return fallback.invoke(req).await;
            }
            Err(self.unserved(&req))
        })
    }

    fn check_mock_result(
        &self,
        resource: &stepwise_asl::resource::TaskResource,
        result: &Value,
        strict: bool,
    ) -> Result<(), String> {
        match &self.fallback {
            Some(f) => f.check_mock_result(resource, result, strict),
            None => Ok(()),
        }
    }

    /// Only the fallback (the service integrations) serves HTTP Tasks: it alone has an
    /// exchange to show.
    fn invoke_traced(&self, req: TaskRequest, reveal_secrets: bool) -> BoxFuture<'_, Traced> {
        Box::pin(async move {
            let mocked = self.mock.as_ref().is_some_and(|m| m.mocks(&req));
            let lambda = self.lambda.is_some() && is_lambda_resource(&req.resource);
            match &self.fallback {
                Some(fallback) if !mocked && !lambda => {
                    fallback.invoke_traced(req, reveal_secrets).await
                }
                _ => (self.invoke(req).await, None),
            }
        })
    }

    fn submit(&self, req: TaskRequest) -> BoxFuture<'_, Result<Submission, TaskFailure>> {
        Box::pin(async move {
            let mocked = self.mock.as_ref().is_some_and(|m| m.mocks(&req));
            let lambda = self.lambda.is_some() && is_lambda_resource(&req.resource);
            match &self.fallback {
                // Only the service integrations start jobs to follow from outside.
                Some(fallback) if !mocked && !lambda => fallback.submit(req).await,
                _ => self.invoke(req).await.map(Submission::Done),
            }
        })
    }

    fn poll_job<'a>(
        &'a self,
        req: &'a TaskRequest,
        job: &'a Value,
    ) -> BoxFuture<'a, Result<JobLook, TaskFailure>> {
        Box::pin(async move {
            match &self.fallback {
                Some(fallback) => fallback.poll_job(req, job).await,
                None => Err(self.unserved(req)),
            }
        })
    }

    fn stop_job<'a>(&'a self, req: &'a TaskRequest, job: &'a Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Some(fallback) = &self.fallback {
                fallback.stop_job(req, job).await;
            }
        })
    }
}

/// Stops a followed job when dropped while armed: the task was abandoned (the execution
/// stopped, timed out or failed elsewhere) before the job ended.
struct StopJobOnDrop {
    armed: Option<(Arc<dyn TaskInvoker>, TaskRequest, Value)>,
}

impl Drop for StopJobOnDrop {
    fn drop(&mut self) {
        let Some((invoker, req, job)) = self.armed.take() else {
            return;
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { invoker.stop_job(&req, &job).await });
        }
    }
}

/// Follows a `.sync` job that [`TaskInvoker::submit`] started, in this process, until it ends:
/// a look after each wait of `polling`. If this future is dropped first, the job is stopped.
pub async fn follow_job(
    invoker: Arc<dyn TaskInvoker>,
    req: TaskRequest,
    job: Value,
    polling: SyncPolling,
) -> Result<Value, TaskFailure> {
    let mut guard = StopJobOnDrop {
        armed: Some((invoker.clone(), req.clone(), job.clone())),
    };
    let mut wait = polling.first;
    let outcome = loop {
        tokio::time::sleep(wait).await;
        match invoker.poll_job(&req, &job).await {
            // One process follows the job: no other look of it.
            Ok(JobLook::Running | JobLook::Elsewhere | JobLook::Unrecorded { .. }) => {
                wait = polling.next(wait)
            }
            Ok(JobLook::Ended(result)) => break Ok(result),
            Err(failure) => break Err(failure),
        }
    };
    guard.armed = None;
    outcome
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
            redrive_count: 0,
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
        assert_eq!(err.error, stepwise_ports::tasks::STATES_RUNTIME);
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

    /// A job that runs for `looks` looks, then succeeds; records stops.
    struct Job {
        looks: std::sync::atomic::AtomicUsize,
        stops: std::sync::Mutex<Vec<Value>>,
    }

    impl TaskInvoker for Job {
        fn invoke(&self, _req: TaskRequest) -> BoxFuture<'_, Result<Value, TaskFailure>> {
            Box::pin(async { Ok(json!("waited inside")) })
        }

        fn submit(&self, _req: TaskRequest) -> BoxFuture<'_, Result<Submission, TaskFailure>> {
            Box::pin(async {
                Ok(Submission::Job {
                    output: json!({"JobId": "j-1"}),
                    job: json!("j-1"),
                    polling: SyncPolling::every(std::time::Duration::from_millis(1)),
                })
            })
        }

        fn poll_job<'a>(
            &'a self,
            _req: &'a TaskRequest,
            job: &'a Value,
        ) -> BoxFuture<'a, Result<JobLook, TaskFailure>> {
            Box::pin(async move {
                let n = self.looks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok((n >= 2).then(|| json!({"done": job})).into())
            })
        }

        fn stop_job<'a>(&'a self, _req: &'a TaskRequest, job: &'a Value) -> BoxFuture<'a, ()> {
            Box::pin(async move {
                if let Ok(mut s) = self.stops.lock() {
                    s.push(job.clone());
                }
            })
        }
    }

    fn job() -> Arc<Job> {
        Arc::new(Job {
            looks: Default::default(),
            stops: Default::default(),
        })
    }

    #[tokio::test]
    async fn a_mocked_state_is_done_at_submission_and_a_served_one_starts_a_job() {
        let mock = MockInvoker::new(MockConfig::from_json_str(CONFIG).expect("config"));
        let router = TaskRouter::new().with_mock(mock).with_fallback(job());
        let glue = "arn:aws:states:::glue:startJobRun.sync";
        let mocked = router.submit(req("Mocked", glue, Some("T"))).await;
        assert_eq!(mocked, Ok(Submission::Done(json!({"mocked": true}))));
        let served = router.submit(req("Other", glue, Some("T"))).await;
        assert!(
            matches!(&served, Ok(Submission::Job { output, .. }) if output["JobId"] == "j-1"),
            "{served:?}"
        );
        let looked = router
            .poll_job(&req("Other", glue, None), &json!("j-1"))
            .await;
        assert_eq!(looked, Ok(JobLook::Running));
    }

    #[tokio::test]
    async fn a_followed_job_is_looked_at_until_it_ends_and_stopped_when_abandoned() {
        let j = job();
        let glue = "arn:aws:states:::glue:startJobRun.sync";
        let polling = SyncPolling::every(std::time::Duration::from_millis(1));
        let out = follow_job(j.clone(), req("S", glue, None), json!("j-1"), polling).await;
        assert_eq!(out, Ok(json!({"done": "j-1"})));
        assert!(j.stops.lock().map(|s| s.is_empty()).unwrap_or(false));

        let slow = SyncPolling::every(std::time::Duration::from_secs(3600));
        let abandoned = tokio::time::timeout(
            std::time::Duration::from_millis(10),
            follow_job(j.clone(), req("S", glue, None), json!("j-2"), slow),
        )
        .await;
        assert!(abandoned.is_err());
        // The stop runs on the runtime after the drop.
        for _ in 0..100 {
            if j.stops.lock().map(|s| !s.is_empty()).unwrap_or(false) {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(
            j.stops.lock().map(|s| s.clone()).unwrap_or_default(),
            vec![json!("j-2")]
        );
    }
}
