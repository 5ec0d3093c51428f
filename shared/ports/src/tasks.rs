//! Task invocation: how a `Task` state's call leaves the interpreter and how its outcome comes back.
//!
//! The engine emits a command carrying a [`TaskRequest`]; a [`TaskInvoker`] performs the call and
//! yields either the task's result (a JSON value) or a [`TaskFailure`] (an ASL error name plus a
//! cause), which the engine turns into `TaskSucceeded` / `TaskFailed` (or the `LambdaFunction*`
//! events for a bare Lambda ARN resource). The invokers live with their I/O: the mock and the
//! router in `stepwise-runtime`, Lambda in `stepwise-tasks-aws`.

use crate::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use stepwise_asl::resource::TaskResource;

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
    /// The Task's `Resource`, typed (its text is the ARN as written, e.g.
    /// `arn:aws:states:::lambda:invoke`).
    pub resource: TaskResource,
    /// The effective input of the call: `Parameters`/`Arguments` after evaluation, or the state
    /// input when there are none.
    pub parameters: Value,
    /// The mock test case chosen at StartExecution (`stateMachineArn#TestCase`), if any.
    pub test_case: Option<String>,
    /// The task token for `.waitForTaskToken` resources. For those, a successful result only
    /// means the call was submitted: the engine then waits for SendTaskSuccess/Failure.
    pub task_token: Option<String>,
    /// How many times the execution had been redriven when the task was scheduled (mock
    /// failures past the last scripted response name it).
    pub redrive_count: u32,
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

/// The HTTP exchange of an HTTP Task as TestState shows it at TRACE: AWS's
/// `InspectionDataRequest` and `InspectionDataResponse` shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpExchange {
    /// `protocol`, `method`, `url`, `headers`, `body`.
    pub request: Value,
    /// `protocol`, `statusCode`, `statusMessage`, `headers`, `body`; none without a response.
    pub response: Option<Value>,
}

/// A task's outcome and, for an HTTP Task, its exchange.
pub type Traced = (Result<Value, TaskFailure>, Option<HttpExchange>);

/// How a `.sync` job is polled: the first look after `first`, each next one after twice the
/// previous wait, never more than `max` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPolling {
    /// The wait before the first look.
    pub first: Duration,
    /// The longest wait between two looks.
    pub max: Duration,
}

impl Default for SyncPolling {
    /// 1 s, then 2, 4, 8, 16, 30, 30, ... seconds.
    fn default() -> Self {
        Self {
            first: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }
    }
}

impl SyncPolling {
    /// A fixed interval (tests use a few milliseconds).
    pub fn every(interval: Duration) -> Self {
        Self {
            first: interval,
            max: interval,
        }
    }

    /// The wait after `previous`.
    pub fn next(&self, previous: Duration) -> Duration {
        previous
            .saturating_mul(2)
            .min(self.max)
            .max(self.first.min(self.max))
    }
}

/// What one look at a `.sync` job found ([`TaskInvoker::poll_job`]).
#[derive(Debug, Clone, PartialEq)]
pub enum JobLook {
    /// It still runs: look again after the next wait.
    Running,
    /// It ended well, with this result.
    Ended(Value),
    /// Another look is carrying it on right now (a look delivered twice, as a standard queue
    /// may): this look's chain ends and the other's goes on, so duplicates do not multiply.
    Elsewhere,
    /// This look could not record that it let go of the job (a distributed Map's run whose
    /// pause was not written), or cannot tell whether it took hold of it (its claim's answer
    /// was lost): look again once that hold is over, at `until_ms` (milliseconds since the
    /// epoch), when a look no longer takes the job for another's.
    Unrecorded {
        /// When the hold ends.
        until_ms: i64,
    },
}

impl From<Option<Value>> for JobLook {
    fn from(result: Option<Value>) -> Self {
        result.map_or(JobLook::Running, JobLook::Ended)
    }
}

/// What submitting a Task's call gave ([`TaskInvoker::submit`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Submission {
    /// The call was the whole task: its result.
    Done(Value),
    /// A `.sync` job started and is not waited for here: the start call's output (what AWS
    /// records as `TaskSubmitted`), the job to look at with [`TaskInvoker::poll_job`] and to
    /// stop with [`TaskInvoker::stop_job`] (JSON, so it can wait in a queue between looks), and
    /// how often to look.
    Job {
        /// The start call's output.
        output: Value,
        /// What identifies the job to the invoker.
        job: Value,
        /// The back-off between looks.
        polling: SyncPolling,
    },
}

/// Something that performs a Task state's call.
pub trait TaskInvoker: Send + Sync {
    /// Performs the call and returns the task's result or its failure (a `.sync` job is
    /// waited for inside the call).
    fn invoke(&self, req: TaskRequest) -> BoxFuture<'_, Result<Value, TaskFailure>>;

    /// Checks a mocked result of TestState against what the call would return (its API's output
    /// shape; `strict`: required members too). `Err` is the problem as AWS words it. Invokers
    /// that know no shapes let everything through.
    fn check_mock_result(
        &self,
        resource: &stepwise_asl::resource::TaskResource,
        result: &Value,
        strict: bool,
    ) -> Result<(), String> {
        let _ = (resource, result, strict);
        Ok(())
    }

    /// Like [`Self::invoke`], and also the HTTP exchange of an HTTP Task (TestState at TRACE);
    /// `reveal_secrets` shows what its connection adds. Other tasks have none.
    fn invoke_traced(&self, req: TaskRequest, reveal_secrets: bool) -> BoxFuture<'_, Traced> {
        let _ = reveal_secrets;
        Box::pin(async move { (self.invoke(req).await, None) })
    }

    /// Makes the call without waiting for a `.sync` job it starts: the homes use it so that a
    /// job of an hour holds no process for an hour (the serverless invoker polls through its
    /// queue), and so that `TaskSubmitted` is recorded. The default is [`Self::invoke`].
    fn submit(&self, req: TaskRequest) -> BoxFuture<'_, Result<Submission, TaskFailure>> {
        Box::pin(async move { self.invoke(req).await.map(Submission::Done) })
    }

    /// One look at a job [`Self::submit`] started: [`JobLook::Running`] while it runs, its
    /// result when it ended well, the task's failure when it ended badly.
    fn poll_job<'a>(
        &'a self,
        _req: &'a TaskRequest,
        _job: &'a Value,
    ) -> BoxFuture<'a, Result<JobLook, TaskFailure>> {
        Box::pin(async { Err(TaskFailure::runtime("this invoker starts no .sync jobs")) })
    }

    /// Stops a job whose task no longer waits for it (the execution stopped, timed out or
    /// failed elsewhere), as Step Functions does.
    fn stop_job<'a>(&'a self, _req: &'a TaskRequest, _job: &'a Value) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    /// How long one look at this job ([`Self::poll_job`]) may hold it (a distributed Map's run
    /// carried on in pieces: a piece and its lease's margin), so that a look that stops
    /// midway is taken up again once the hold is over rather than when its queue would
    /// deliver it again. `None`: a look is brief.
    fn job_hold(&self, _req: &TaskRequest) -> Option<std::time::Duration> {
        None
    }

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

    fn invoke_traced(&self, req: TaskRequest, reveal_secrets: bool) -> BoxFuture<'_, Traced> {
        (**self).invoke_traced(req, reveal_secrets)
    }

    fn check_mock_result(
        &self,
        resource: &stepwise_asl::resource::TaskResource,
        result: &Value,
        strict: bool,
    ) -> Result<(), String> {
        (**self).check_mock_result(resource, result, strict)
    }

    fn answers_callback(&self, req: &TaskRequest) -> bool {
        (**self).answers_callback(req)
    }

    fn submit(&self, req: TaskRequest) -> BoxFuture<'_, Result<Submission, TaskFailure>> {
        (**self).submit(req)
    }

    fn poll_job<'a>(
        &'a self,
        req: &'a TaskRequest,
        job: &'a Value,
    ) -> BoxFuture<'a, Result<JobLook, TaskFailure>> {
        (**self).poll_job(req, job)
    }

    fn stop_job<'a>(&'a self, req: &'a TaskRequest, job: &'a Value) -> BoxFuture<'a, ()> {
        (**self).stop_job(req, job)
    }

    fn job_hold(&self, req: &TaskRequest) -> Option<std::time::Duration> {
        (**self).job_hold(req)
    }
}

impl<T: TaskInvoker + ?Sized> TaskInvoker for Box<T> {
    fn invoke(&self, req: TaskRequest) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        (**self).invoke(req)
    }

    fn invoke_traced(&self, req: TaskRequest, reveal_secrets: bool) -> BoxFuture<'_, Traced> {
        (**self).invoke_traced(req, reveal_secrets)
    }

    fn check_mock_result(
        &self,
        resource: &stepwise_asl::resource::TaskResource,
        result: &Value,
        strict: bool,
    ) -> Result<(), String> {
        (**self).check_mock_result(resource, result, strict)
    }

    fn answers_callback(&self, req: &TaskRequest) -> bool {
        (**self).answers_callback(req)
    }

    fn submit(&self, req: TaskRequest) -> BoxFuture<'_, Result<Submission, TaskFailure>> {
        (**self).submit(req)
    }

    fn poll_job<'a>(
        &'a self,
        req: &'a TaskRequest,
        job: &'a Value,
    ) -> BoxFuture<'a, Result<JobLook, TaskFailure>> {
        (**self).poll_job(req, job)
    }

    fn stop_job<'a>(&'a self, req: &'a TaskRequest, job: &'a Value) -> BoxFuture<'a, ()> {
        (**self).stop_job(req, job)
    }

    fn job_hold(&self, req: &TaskRequest) -> Option<std::time::Duration> {
        (**self).job_hold(req)
    }
}
