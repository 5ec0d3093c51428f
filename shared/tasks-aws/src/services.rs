//! [`AwsServiceInvoker`]: every Task resource other than Lambda and activities, dispatched by
//! its typed resource:
//! - `arn:aws:states:::states:startExecution[.sync|.sync:2|.waitForTaskToken]` ->
//!   [`crate::states`], over the [`StatesApi`] the home gives (in process in `serve` and the
//!   serverless home, Step Functions' endpoint over HTTP in `run`);
//! - `arn:aws:states:::http:invoke` -> [`crate::http_invoke`];
//! - `arn:aws:states:::apigateway:invoke[.waitForTaskToken]` -> [`crate::apigateway`];
//! - the other optimized integrations `arn:aws:states:::SERVICE:ACTION[.pattern]` that
//!   [`crate::optimized::serves`] -> [`crate::optimized::invoke`] over the generic
//!   [`AwsCaller`];
//! - `arn:aws:states:::aws-sdk:SERVICE:ACTION[.waitForTaskToken]` -> [`crate::aws_sdk::invoke`]
//!   over the same caller;
//! - a distributed Map's `ItemReader` and `ResultWriter` (`s3:getObject`, `s3:listObjectsV2`,
//!   `s3:putObject` carrying the engine's request) -> [`crate::map_io`], on S3 or `--s3-dir`;
//! - anything else fails with `States.Runtime` naming the resource and the state.
//!
//! With [`AwsServiceInvoker::with_roles`] (the serverless invoker), every call is made as the
//! execution's role (STS AssumeRole, [`crate::roles`]).
//!
//! Where AWS calls go: [`ServiceSettings`] (region, `--aws-endpoint-url`), then the SDKs' own
//! variables (`AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, `AWS_REGION`) and the default
//! credentials chain.

use std::path::PathBuf;
use std::sync::Arc;

use crate::optimized::JobState;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use serde_json::Value;
use stepwise_asl::resource::{ResourceKind, TaskResource};
use stepwise_aws_api::{AwsCaller, AwsSettings};
use stepwise_ports::states_api::StatesApi;
use stepwise_ports::tasks::{
    JobLook, Submission, SyncPolling, TaskFailure, TaskInvoker, TaskRequest, Traced,
};
use stepwise_ports::BoxFuture;

use crate::connections::{Connections, ConnectionsFileError};
use crate::roles::AssumedRoles;
use crate::states::RemoteStatesApi;
use crate::wire::AwsEndpoints;

/// Where the integrations' calls go.
#[derive(Debug, Clone, Default)]
pub struct ServiceSettings {
    /// The region (default: `AWS_REGION`, `AWS_DEFAULT_REGION`, `us-east-1`).
    pub region: Option<String>,
    /// One endpoint for every AWS service (`--aws-endpoint-url`; default `AWS_ENDPOINT_URL`);
    /// `AWS_ENDPOINT_URL_<SERVICE>` still wins for its service.
    pub endpoint_url: Option<String>,
    /// EventBridge connections for `http:invoke` from a file (`--http-connections`) instead of
    /// EventBridge.
    pub http_connections: Option<PathBuf>,
    /// Credentials to sign with instead of the default chain's.
    pub credentials: Option<Credentials>,
    /// Beyond AWS: a folder standing for S3 for a distributed Map's ItemReader and
    /// ResultWriter (`--s3-dir`): bucket `B`, key `K` is the file `DIR/B/K`.
    pub s3_dir: Option<PathBuf>,
}

/// Serves the service integrations (see the module documentation).
pub struct AwsServiceInvoker {
    caller: AwsCaller,
    aws: Arc<AwsEndpoints>,
    roles: Option<AssumedRoles>,
    connections: Connections,
    states: Arc<dyn StatesApi>,
    s3_dir: Option<PathBuf>,
}

impl AwsServiceInvoker {
    /// An invoker with these settings; `states:startExecution` goes to Step Functions' endpoint
    /// until [`Self::with_states_api`] says otherwise.
    pub async fn new(settings: ServiceSettings) -> Result<Self, ConnectionsFileError> {
        let mut caller = AwsCaller::from_env(AwsSettings {
            region: settings.region.clone(),
            endpoint_url: settings.endpoint_url.clone(),
        })
        .await;
        let mut aws = AwsEndpoints::new(settings.region, settings.endpoint_url);
        if let Some(c) = settings.credentials {
            caller = caller.with_credentials(SharedCredentialsProvider::new(c.clone()));
            aws = aws.with_credentials(c);
        }
        let aws = Arc::new(aws);
        let connections = match &settings.http_connections {
            Some(path) => Connections::from_file(path)?,
            None => Connections::from_events(),
        };
        Ok(AwsServiceInvoker {
            caller,
            roles: None,
            states: Arc::new(RemoteStatesApi::new(aws.clone())),
            aws,
            connections,
            s3_dir: settings.s3_dir,
        })
    }

    /// Starts child executions with this API (the home's own service).
    pub fn with_states_api(mut self, api: Arc<dyn StatesApi>) -> Self {
        self.states = api;
        self
    }

    /// Calls as each execution's role ([`crate::roles`]) instead of the default credentials.
    pub fn with_roles(mut self, roles: AssumedRoles) -> Self {
        self.roles = Some(roles);
        self
    }

    /// Where calls go.
    pub fn endpoints(&self) -> &AwsEndpoints {
        &self.aws
    }

    /// The generic AWS caller the optimized and `aws-sdk:*` integrations use.
    pub fn caller(&self) -> &AwsCaller {
        &self.caller
    }

    /// The execution's role's callers, when calls are made as the role.
    async fn role(&self, req: &TaskRequest) -> Option<crate::roles::RoleCallers> {
        match &self.roles {
            Some(roles) => roles.callers(&self.caller, &req.execution_arn).await,
            None => None,
        }
    }

    /// A `.sync` job this invoker follows from outside ([`TaskInvoker::submit`]): a child
    /// execution, or an optimized integration's job.
    fn job_kind(req: &TaskRequest) -> Option<JobKind> {
        if !req.resource.is_sync() {
            return None;
        }
        match req.resource.kind() {
            ResourceKind::Optimized { service, action }
                if service == "states" && action == "startExecution" =>
            {
                Some(JobKind::Child)
            }
            ResourceKind::Optimized { .. } if crate::optimized::serves(&req.resource) => {
                Some(JobKind::Optimized)
            }
            _ => None,
        }
    }

    async fn submit_job(&self, req: TaskRequest) -> Result<Submission, TaskFailure> {
        match Self::job_kind(&req) {
            Some(JobKind::Child) => crate::states::submit(self.states.as_ref(), &req).await,
            Some(JobKind::Optimized) => {
                let role = self.role(&req).await;
                let caller = role.as_ref().map_or(&self.caller, |r| &r.caller);
                match crate::optimized::start(caller, &req).await? {
                    crate::optimized::Started::Done(v) => Ok(Submission::Done(v)),
                    crate::optimized::Started::Job { output, job } => Ok(Submission::Job {
                        output,
                        job: serde_json::to_value(job)
                            .map_err(|e| TaskFailure::runtime(e.to_string()))?,
                        polling: SyncPolling::default(),
                    }),
                }
            }
            None => self.run(req).await.map(Submission::Done),
        }
    }

    async fn poll(&self, req: &TaskRequest, job: &Value) -> Result<Option<Value>, TaskFailure> {
        match Self::job_kind(req) {
            Some(JobKind::Child) => crate::states::look(self.states.as_ref(), job).await,
            Some(JobKind::Optimized) => {
                let job: crate::optimized::Job = serde_json::from_value(job.clone())
                    .map_err(|e| TaskFailure::runtime(format!("unreadable .sync job: {e}")))?;
                let role = self.role(req).await;
                let caller = role.as_ref().map_or(&self.caller, |r| &r.caller);
                match crate::optimized::look(caller, req, &job).await? {
                    JobState::Running => Ok(None),
                    JobState::Succeeded(v) => Ok(Some(v)),
                    JobState::Failed(description) => Err(TaskFailure::new(
                        crate::optimized::sync::TASK_FAILED,
                        description.to_string(),
                    )),
                }
            }
            None => Err(TaskFailure::runtime(format!(
                "{} starts no .sync job",
                req.resource
            ))),
        }
    }

    async fn stop(&self, req: &TaskRequest, job: &Value) {
        match Self::job_kind(req) {
            Some(JobKind::Child) => crate::states::stop(self.states.as_ref(), job).await,
            Some(JobKind::Optimized) => {
                let Ok(job) = serde_json::from_value::<crate::optimized::Job>(job.clone()) else {
                    return;
                };
                let role = self.role(req).await;
                let caller = role.as_ref().map_or(&self.caller, |r| &r.caller);
                crate::optimized::stop(caller, &job).await;
            }
            None => {}
        }
    }

    /// Where distributed Maps run as child executions read and write their objects.
    pub fn map_objects(&self) -> crate::map_io::stream::MapObjects {
        crate::map_io::stream::MapObjects {
            caller: self.caller.clone(),
            dir: self.s3_dir.clone(),
        }
    }

    async fn run(&self, req: TaskRequest) -> Result<Value, TaskFailure> {
        let role = self.role(&req).await;
        let (caller, aws) = match &role {
            Some(r) => (&r.caller, &r.endpoints),
            None => (&self.caller, &self.aws),
        };
        if crate::map_io::serves(&req) {
            let objects = match &self.s3_dir {
                Some(dir) => crate::map_io::store::Objects::Dir(dir),
                None => crate::map_io::store::Objects::S3(caller),
            };
            return crate::map_io::invoke(objects, req).await;
        }
        match req.resource.kind() {
            ResourceKind::AwsSdk { .. } => crate::aws_sdk::invoke(caller, &req).await,
            ResourceKind::HttpInvoke => {
                crate::http_invoke::invoke(&req, &self.connections, aws).await
            }
            ResourceKind::Optimized { service, action } => {
                match (service.as_str(), action.as_str()) {
                    ("states", "startExecution") => {
                        crate::states::start_execution(self.states.clone(), &req).await
                    }
                    ("apigateway", "invoke") => crate::apigateway::invoke(&req, aws).await,
                    _ if crate::optimized::serves(&req.resource) => {
                        crate::optimized::invoke(caller, &req).await
                    }
                    _ => Err(unserved(&req)),
                }
            }
            _ => Err(unserved(&req)),
        }
    }
}

/// Whether Stepwise serves this Task resource for real (not mocked), or why not: the same
/// decisions as the task router's (Lambda, activities) and [`AwsServiceInvoker`]'s dispatch.
/// `tests/realworld_coverage.rs` measures the public state machines with it.
pub fn can_serve(resource: &TaskResource) -> Result<(), String> {
    match resource.kind() {
        // The Lambda invoker and the home's activity queue.
        ResourceKind::LambdaFunction { .. } | ResourceKind::LambdaInvoke => Ok(()),
        ResourceKind::Activity { .. } => Ok(()),
        ResourceKind::AwsSdk { service, action } => {
            if resource.is_sync() {
                return Err("aws-sdk integrations have no .sync pattern".into());
            }
            crate::aws_sdk::check_resource(service, action)
        }
        ResourceKind::HttpInvoke => Ok(()),
        ResourceKind::Optimized { service, action } => match (service.as_str(), action.as_str()) {
            ("states", "startExecution") | ("apigateway", "invoke") => Ok(()),
            _ if crate::optimized::serves(resource) => Ok(()),
            _ => Err(format!(
                "Stepwise does not implement the optimized integration {service}:{action}{}",
                resource.pattern().suffix()
            )),
        },
        ResourceKind::Other => Err("not a Task resource of Step Functions (a placeholder or \
                                   another service's ARN)"
            .into()),
    }
}

/// The `States.Runtime` failure of a resource nothing serves.
pub fn unserved(req: &TaskRequest) -> TaskFailure {
    TaskFailure::runtime(format!(
        "Cannot run Task state '{}' of state machine '{}': resource '{}' cannot be served: \
         Stepwise does not implement this integration; mock it with a test case of the mock \
         configuration file.",
        req.state_name, req.state_machine_name, req.resource
    ))
}

/// The `.sync` jobs [`AwsServiceInvoker`] follows from outside.
enum JobKind {
    /// `states:startExecution.sync(:2)`: a child execution.
    Child,
    /// An optimized integration's job (ECS task, Batch job, Glue run, Athena query, ...).
    Optimized,
}

impl TaskInvoker for AwsServiceInvoker {
    fn invoke(&self, req: TaskRequest) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        Box::pin(self.run(req))
    }

    fn check_mock_result(
        &self,
        resource: &TaskResource,
        result: &Value,
        strict: bool,
    ) -> Result<(), String> {
        crate::mock_check::check_mock_result(resource, result, strict)
    }

    fn invoke_traced(&self, req: TaskRequest, reveal_secrets: bool) -> BoxFuture<'_, Traced> {
        Box::pin(async move {
            if !matches!(req.resource.kind(), ResourceKind::HttpInvoke) {
                return (self.run(req).await, None);
            }
            let role = match &self.roles {
                Some(roles) => roles.callers(&self.caller, &req.execution_arn).await,
                None => None,
            };
            let aws = role.as_ref().map_or(&self.aws, |r| &r.endpoints);
            crate::http_invoke::invoke_traced(&req, &self.connections, aws, reveal_secrets).await
        })
    }

    fn submit(&self, req: TaskRequest) -> BoxFuture<'_, Result<Submission, TaskFailure>> {
        Box::pin(self.submit_job(req))
    }

    fn poll_job<'a>(
        &'a self,
        req: &'a TaskRequest,
        job: &'a Value,
    ) -> BoxFuture<'a, Result<JobLook, TaskFailure>> {
        Box::pin(async move { self.poll(req, job).await.map(JobLook::from) })
    }

    fn stop_job<'a>(&'a self, req: &'a TaskRequest, job: &'a Value) -> BoxFuture<'a, ()> {
        Box::pin(self.stop(req, job))
    }
}
