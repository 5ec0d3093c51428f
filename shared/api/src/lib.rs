//! The AWS Step Functions API (awsJson1_0) over the runtime's ports, transport-free:
//! [`Service::handle`] takes the action (the `X-Amz-Target` header) and the request body and
//! returns the HTTP status and the response body, with AWS's shapes, ARNs, pagination and error
//! types (`__type`).

pub mod error;
mod machines;
pub mod nested;
pub mod req;
mod runs;
mod test_state;

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
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            mock: None,
        }
    }
}

/// The Step Functions service.
pub struct Service<S: ApiStore> {
    store: Arc<S>,
    driver: Arc<dyn Driver>,
    invoker: Option<Arc<dyn TaskInvoker>>,
    config: ServiceConfig,
}

impl<S: ApiStore + 'static> Service<S> {
    /// A service over `store`, applying events with `driver`.
    pub fn new(store: Arc<S>, driver: Arc<dyn Driver>, config: ServiceConfig) -> Self {
        Service {
            store,
            driver,
            invoker: None,
            config,
        }
    }

    /// Lets TestState run Task states with this invoker.
    pub fn with_invoker(mut self, invoker: Arc<dyn TaskInvoker>) -> Self {
        self.invoker = Some(invoker);
        self
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
            Ok(v) => (
                200,
                serde_json::to_vec(&v).unwrap_or_else(|_| b"{}".to_vec()),
            ),
            Err(e) => (e.status, e.body()),
        }
    }

    async fn dispatch(&self, target: &str, body: &[u8]) -> ApiResult<Value> {
        let Some(action) = target.strip_prefix(TARGET_PREFIX) else {
            return Err(ApiError::new(
                "UnknownOperationException",
                format!("Unknown operation {target}"),
            ));
        };
        let known = matches!(
            action,
            "CreateStateMachine"
                | "UpdateStateMachine"
                | "DescribeStateMachine"
                | "DeleteStateMachine"
                | "ListStateMachines"
                | "ValidateStateMachineDefinition"
                | "StartExecution"
                | "StartSyncExecution"
                | "DescribeExecution"
                | "DescribeStateMachineForExecution"
                | "ListExecutions"
                | "GetExecutionHistory"
                | "StopExecution"
                | "RedriveExecution"
                | "CreateActivity"
                | "DescribeActivity"
                | "DeleteActivity"
                | "ListActivities"
                | "GetActivityTask"
                | "SendTaskSuccess"
                | "SendTaskFailure"
                | "SendTaskHeartbeat"
                | "TagResource"
                | "UntagResource"
                | "ListTagsForResource"
                | "TestState"
                | "PublishStateMachineVersion"
                | "ListStateMachineVersions"
                | "DeleteStateMachineVersion"
                | "CreateStateMachineAlias"
                | "DescribeStateMachineAlias"
                | "UpdateStateMachineAlias"
                | "DeleteStateMachineAlias"
                | "ListStateMachineAliases"
        );
        if !known {
            return Err(ApiError::new(
                "UnknownOperationException",
                format!("Unknown operation {target}"),
            ));
        }
        let r = Req::parse(body)?;
        match action {
            "CreateStateMachine" => self.create_state_machine(r).await,
            "UpdateStateMachine" => self.update_state_machine(r).await,
            "DescribeStateMachine" => self.describe_state_machine(r).await,
            "DeleteStateMachine" => self.delete_state_machine(r).await,
            "ListStateMachines" => self.list_state_machines(r).await,
            "ValidateStateMachineDefinition" => self.validate_definition(r).await,
            "StartExecution" => self.start_execution(r).await,
            "StartSyncExecution" => self.start_sync_execution(r).await,
            "DescribeExecution" => self.describe_execution(r).await,
            "DescribeStateMachineForExecution" => self.describe_sm_for_execution(r).await,
            "ListExecutions" => self.list_executions(r).await,
            "GetExecutionHistory" => self.get_execution_history(r).await,
            "StopExecution" => self.stop_execution(r).await,
            "RedriveExecution" => self.redrive_execution(r).await,
            "CreateActivity" => self.create_activity(r).await,
            "DescribeActivity" => self.describe_activity(r).await,
            "DeleteActivity" => self.delete_activity(r).await,
            "ListActivities" => self.list_activities(r).await,
            "GetActivityTask" => self.get_activity_task(r).await,
            "SendTaskSuccess" => self.send_task_success(r).await,
            "SendTaskFailure" => self.send_task_failure(r).await,
            "SendTaskHeartbeat" => self.send_task_heartbeat(r).await,
            "TagResource" => self.tag_resource(r).await,
            "UntagResource" => self.untag_resource(r).await,
            "ListTagsForResource" => self.list_tags(r).await,
            "TestState" => self.test_state(r).await,
            "PublishStateMachineVersion" => self.publish_version(r).await,
            "ListStateMachineVersions" => self.list_versions(r).await,
            "DeleteStateMachineVersion" => self.delete_version(r).await,
            "CreateStateMachineAlias" => self.create_alias(r).await,
            "DescribeStateMachineAlias" => self.describe_alias(r).await,
            "UpdateStateMachineAlias" => self.update_alias(r).await,
            "DeleteStateMachineAlias" => self.delete_alias(r).await,
            _ => self.list_aliases(r).await,
        }
    }
}
