//! The AWS Step Functions API (awsJson1_0) over the runtime's ports, transport-free:
//! [`Service::handle`] takes the action (the `X-Amz-Target` header) and the request body and
//! returns the HTTP status and the response body, with AWS's shapes, ARNs, pagination and error
//! types (`__type`).

mod activities;
pub mod error;
mod machines;
pub mod map_run;
mod map_runs;
pub mod nested;
mod records;
pub mod req;
mod resume;
mod runs;
mod test_state;
mod test_state_req;
mod var_refs;
mod versions;

use std::sync::Arc;

pub use error::{ApiError, ApiResult};
use req::Req;
use serde_json::Value;
use stepwise_ports::api::{ApiStore, Driver};
use stepwise_ports::tasks::TaskInvoker;
use stepwise_runtime::tasks::MockConfig;

/// The prefix of every `X-Amz-Target`.
pub const TARGET_PREFIX: &str = "AWSStepFunctions.";

/// The largest input or output Step Functions accepts (256 KiB).
pub const MAX_PAYLOAD: usize = 256 * 1024;

/// Where the service says it runs.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The region in the ARNs it makes.
    pub region: String,
    /// The account in the ARNs it makes.
    pub account: String,
    /// The mock configuration, to check test cases at StartExecution.
    pub mock: Option<Arc<MockConfig>>,
    /// How GetActivityTask long-polls.
    pub activity_poll: ActivityPoll,
    /// Distributed Maps run their children as child executions of their own, through a
    /// [`map_run::MapRunInvoker`] (which the home must put in front of its task invoker).
    pub map_runs_as_executions: bool,
}

/// How GetActivityTask long-polls: how long it waits for a task, and by when its answer must
/// leave for a worker to still be listening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityPoll {
    /// How long a poll waits for a task before answering with none.
    pub wait_ms: u64,
    /// A task claimed later than this after the request came goes back to the queue and the
    /// poll answers with none: whoever asked has stopped listening.
    pub answer_by_ms: u64,
}

impl ActivityPoll {
    /// Step Functions' own: 60 seconds, and AWS tells workers to keep their connection open for
    /// at least 65 (`stepwise serve`).
    pub const AWS: ActivityPoll = ActivityPoll {
        wait_ms: 60_000,
        answer_by_ms: 65_000,
    };
    /// Behind API Gateway, whose integrations time out after 29 seconds (504 to the worker):
    /// return an empty answer after 20 seconds, as AWS allows a poll to, and let no task go out
    /// after 25 (the serverless API).
    pub const API_GATEWAY: ActivityPoll = ActivityPoll {
        wait_ms: 20_000,
        answer_by_ms: 25_000,
    };
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            mock: None,
            activity_poll: ActivityPoll::AWS,
            map_runs_as_executions: false,
        }
    }
}

/// The Step Functions service.
pub struct Service<S: ApiStore> {
    store: Arc<S>,
    driver: Arc<dyn Driver>,
    invoker: Option<Arc<dyn TaskInvoker>>,
    roles: Option<Arc<dyn stepwise_ports::roles::RoleCheck>>,
    config: ServiceConfig,
}

impl<S: ApiStore + 'static> Service<S> {
    /// A service over `store`, applying events with `driver`.
    pub fn new(store: Arc<S>, driver: Arc<dyn Driver>, config: ServiceConfig) -> Self {
        Service {
            store,
            driver,
            invoker: None,
            roles: None,
            config,
        }
    }

    /// Refuses, at CreateStateMachine and UpdateStateMachine, a `roleArn` that `check` says
    /// cannot be assumed (the serverless home, which calls as each execution's role).
    pub fn with_role_check(mut self, check: Arc<dyn stepwise_ports::roles::RoleCheck>) -> Self {
        self.roles = Some(check);
        self
    }

    /// Lets TestState run Task states with this invoker.
    pub fn with_invoker(mut self, invoker: Arc<dyn TaskInvoker>) -> Self {
        self.invoker = Some(invoker);
        self
    }

    /// What the service was configured with.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    fn prefix(&self) -> String {
        format!(
            "arn:aws:states:{}:{}",
            self.config.region, self.config.account
        )
    }

    /// Handles one request: `target` is the `X-Amz-Target` header
    /// (`AWSStepFunctions.StartExecution`), `body` the JSON request. Returns the HTTP status and
    /// the JSON response body.
    pub async fn handle(&self, target: &str, body: &[u8]) -> (u16, Vec<u8>) {
        match self.dispatch(target, body).await {
            // The engine's writer: serde_json's text, at a fraction of its cost per string (a
            // DescribeExecution's input and output are strings of escaped JSON), at any depth.
            Ok(v) => (200, stepwise_engine::deep::value_to_string(&v).into_bytes()),
            Err(e) => (e.status, e.body()),
        }
    }

    async fn dispatch(&self, target: &str, body: &[u8]) -> ApiResult<Value> {
        let unknown = || {
            ApiError::new(
                "UnknownOperationException",
                format!("Unknown operation {target}"),
            )
        };
        let action = target
            .strip_prefix(TARGET_PREFIX)
            .filter(|a| ACTIONS.contains(a))
            .ok_or_else(unknown)?;
        // The action is known before its body is read: an unknown one says so, whatever it sent.
        let r = Req::parse(body)?;
        self.call(action, r).await.unwrap_or_else(|| Err(unknown()))
    }
}

/// An action's future, on the heap.
type ActionFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = ApiResult<Value>> + Send + 'a>>;

/// Makes an action's future in a frame of its own (see `Service::call`).
#[inline(never)]
fn boxed_action<'a, S: ApiStore + 'static>(
    service: &'a Service<S>,
    r: Req,
    make: fn(&'a Service<S>, Req) -> ActionFuture<'a>,
) -> ActionFuture<'a> {
    make(service, r)
}

/// The action table, listed once: each action's name (as `X-Amz-Target` carries it after
/// [`TARGET_PREFIX`]) and the method that serves it. Makes [`ACTIONS`] and `Service::call`.
macro_rules! actions {
    ($($name:literal => $method:ident),* $(,)?) => {
        /// Every action the service answers, by name.
        pub const ACTIONS: &[&str] = &[$($name),*];

        impl<S: ApiStore + 'static> Service<S> {
            /// Serves one action; `None` for a name not in the table. Each action's future is
            /// boxed: unboxed, this future would be as large as the largest of them, and the
            /// serverless API (tokio's 2 MiB worker stacks) overflowed its stack on it. Each
            /// is made in a function of its own ([`boxed_action`]): made here, an unoptimized
            /// build kept a stack slot for every action's future in this one frame (460 KB).
            async fn call(&self, action: &str, r: Req) -> Option<ApiResult<Value>> {
                let future: ActionFuture<'_> = match action {
                    $($name => boxed_action(self, r, |s, r| Box::pin(s.$method(r))),)*
                    _ => return None,
                };
                Some(future.await)
            }
        }
    };
}

actions! {
    "CreateStateMachine" => create_state_machine,
    "UpdateStateMachine" => update_state_machine,
    "DescribeStateMachine" => describe_state_machine,
    "DeleteStateMachine" => delete_state_machine,
    "ListStateMachines" => list_state_machines,
    "ValidateStateMachineDefinition" => validate_definition,
    "StartExecution" => start_execution,
    "StartSyncExecution" => start_sync_execution,
    "DescribeExecution" => describe_execution,
    "DescribeStateMachineForExecution" => describe_sm_for_execution,
    "ListExecutions" => list_executions,
    "GetExecutionHistory" => get_execution_history,
    "StopExecution" => stop_execution,
    "RedriveExecution" => redrive_execution,
    "ListMapRuns" => list_map_runs,
    "DescribeMapRun" => describe_map_run,
    "UpdateMapRun" => update_map_run,
    // Stepwise's own (beyond AWS): resume from any state, start at a state.
    "ResumeExecution" => resume_execution,
    "StartExecutionFromState" => start_execution_from_state,
    "CreateActivity" => create_activity,
    "DescribeActivity" => describe_activity,
    "DeleteActivity" => delete_activity,
    "ListActivities" => list_activities,
    "GetActivityTask" => get_activity_task,
    "SendTaskSuccess" => send_task_success,
    "SendTaskFailure" => send_task_failure,
    "SendTaskHeartbeat" => send_task_heartbeat,
    "TagResource" => tag_resource,
    "UntagResource" => untag_resource,
    "ListTagsForResource" => list_tags,
    "TestState" => test_state,
    "PublishStateMachineVersion" => publish_version,
    "ListStateMachineVersions" => list_versions,
    "DeleteStateMachineVersion" => delete_version,
    "CreateStateMachineAlias" => create_alias,
    "DescribeStateMachineAlias" => describe_alias,
    "UpdateStateMachineAlias" => update_alias,
    "DeleteStateMachineAlias" => delete_alias,
    "ListStateMachineAliases" => list_aliases,
}
