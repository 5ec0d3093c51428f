//! AWS Step Functions' optimized integrations, `arn:aws:states:::SERVICE:ACTION[.pattern]`, as
//! calls to the AWS APIs with AWS's parameter names, result shapes and error names:
//!
//! | resource | patterns | module |
//! |---|---|---|
//! | `sns:publish` | request-response, `.waitForTaskToken` | [`sns`] |
//! | `sqs:sendMessage` | request-response, `.waitForTaskToken` | [`sqs`] |
//! | `dynamodb:getItem/putItem/updateItem/deleteItem` | request-response | [`dynamodb`] |
//! | `events:putEvents` | request-response, `.waitForTaskToken` | [`events`] |
//! | `ecs:runTask` | request-response, `.sync`, `.waitForTaskToken` | [`ecs`] |
//! | `batch:submitJob` | request-response, `.sync`, `.waitForTaskToken` | [`batch`] |
//! | `glue:startJobRun` | request-response, `.sync` | [`glue`] |
//! | `athena:startQueryExecution` | request-response, `.sync` | [`athena`] |
//! | `athena:stopQueryExecution/getQueryExecution/getQueryResults` | request-response | [`athena`] |
//! | `bedrock:invokeModel` | request-response, `.waitForTaskToken` | [`bedrock`] |
//! | `bedrock:createModelCustomizationJob` | request-response, `.sync` | [`bedrock`] |
//!
//! For `.waitForTaskToken` the call only hands the token (which the parameters carry, from
//! `$$.Task.Token`) to the service: what [`invoke`] returns is the call's output, and the
//! engine waits for SendTaskSuccess/SendTaskFailure. For `.sync` [`invoke`] starts the job and
//! polls it (see [`SyncPolling`]) until it ends; [`start`], [`look`] and [`stop`] do the same
//! one call at a time, for homes that poll from outside (the serverless invoker, through its
//! queue).
//!
//! Parameters that cannot start the task (a field Step Functions does not support, parameters
//! that are not an object) fail with `States.Runtime`; a missing required parameter fails with
//! the error the service gives for it (`DynamoDB.AmazonDynamoDBException`, ...), without a call.

pub mod athena;
pub mod backend;
pub mod batch;
pub mod bedrock;
mod caller;
pub mod dynamodb;
pub mod ecs;
pub mod events;
pub mod glue;
pub mod params;
pub mod sns;
pub mod sqs;
pub mod sync;

use serde_json::Value;
use stepwise_asl::resource::{IntegrationPattern, ResourceKind, TaskResource};
use stepwise_ports::tasks::{TaskFailure, TaskRequest};

pub use backend::{Backend, CallFailure, Reply};
pub use sync::{Job, JobState, SyncPolling};

/// One optimized integration this module serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Integration {
    SnsPublish,
    SqsSendMessage,
    DynamoDb(dynamodb::ItemOp),
    EventsPutEvents,
    EcsRunTask,
    BatchSubmitJob,
    GlueStartJobRun,
    Athena(athena::AthenaOp),
    BedrockInvokeModel,
    BedrockCreateModelCustomizationJob,
}

/// The integration a resource names, if it is served with its pattern.
fn integration(resource: &TaskResource) -> Option<Integration> {
    use IntegrationPattern::{RequestResponse as Rr, Sync, WaitForTaskToken as Wait};
    let ResourceKind::Optimized { service, action } = resource.kind() else {
        return None;
    };
    let pattern = resource.pattern();
    let found = match (service.as_str(), action.as_str()) {
        ("sns", "publish") => (Integration::SnsPublish, &[Rr, Wait][..]),
        ("sqs", "sendMessage") => (Integration::SqsSendMessage, &[Rr, Wait][..]),
        ("dynamodb", a) => (
            Integration::DynamoDb(dynamodb::ItemOp::from_action(a)?),
            &[Rr][..],
        ),
        ("events", "putEvents") => (Integration::EventsPutEvents, &[Rr, Wait][..]),
        ("ecs", "runTask") => (Integration::EcsRunTask, &[Rr, Sync, Wait][..]),
        ("batch", "submitJob") => (Integration::BatchSubmitJob, &[Rr, Sync, Wait][..]),
        ("glue", "startJobRun") => (Integration::GlueStartJobRun, &[Rr, Sync][..]),
        ("athena", a) => {
            let op = athena::AthenaOp::from_action(a)?;
            let patterns = if op == athena::AthenaOp::StartQueryExecution {
                &[Rr, Sync][..]
            } else {
                &[Rr][..]
            };
            (Integration::Athena(op), patterns)
        }
        ("bedrock", "invokeModel") => (Integration::BedrockInvokeModel, &[Rr, Wait][..]),
        ("bedrock", "createModelCustomizationJob") => (
            Integration::BedrockCreateModelCustomizationJob,
            &[Rr, Sync][..],
        ),
        _ => return None,
    };
    found.1.contains(&pattern).then_some(found.0)
}

/// Whether [`invoke`] serves this resource (service, action and integration pattern).
pub fn serves(resource: &TaskResource) -> bool {
    integration(resource).is_some()
}

/// What the task's first call gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Started {
    /// The call was the whole task: its result.
    Done(Value),
    /// A `.sync` job started: the start call's output (AWS's `TaskSubmitted`) and the job.
    Job {
        /// The start call's output, as the request-response pattern returns it.
        output: Value,
        /// The job to look at and to stop.
        job: Box<Job>,
    },
}

/// Performs the task's call (see the module documentation), polling `.sync` jobs with the
/// default back-off.
pub async fn invoke(
    caller: &stepwise_aws_api::AwsCaller,
    req: &TaskRequest,
) -> Result<Value, TaskFailure> {
    invoke_on(caller, req, &SyncPolling::default()).await
}

/// [`invoke`] with the `.sync` polling given (tests poll every few milliseconds).
pub async fn invoke_with(
    caller: &stepwise_aws_api::AwsCaller,
    req: &TaskRequest,
    polling: &SyncPolling,
) -> Result<Value, TaskFailure> {
    invoke_on(caller, req, polling).await
}

/// Performs the task's call through `backend`, polling a `.sync` job here as `polling` says
/// until it ends (stopping it if this future is dropped first).
pub async fn invoke_on(
    backend: &dyn Backend,
    req: &TaskRequest,
    polling: &SyncPolling,
) -> Result<Value, TaskFailure> {
    match start(backend, req).await? {
        Started::Done(v) => Ok(v),
        Started::Job { job, .. } => {
            sync::until_done(polling, backend, job.stop_call(), || {
                look(backend, req, &job)
            })
            .await
        }
    }
}

fn not_served(req: &TaskRequest) -> TaskFailure {
    TaskFailure::runtime(format!(
        "The resource provided {} is not recognized as an optimized integration Stepwise \
         serves.",
        req.resource
    ))
}

/// Makes the task's first call: the whole task, or the start of a `.sync` job that
/// [`look`] then follows.
pub async fn start(backend: &dyn Backend, req: &TaskRequest) -> Result<Started, TaskFailure> {
    let Some(integration) = integration(&req.resource) else {
        return Err(not_served(req));
    };
    let sync = req.resource.is_sync();
    let done = |r: Result<Value, TaskFailure>| r.map(Started::Done);
    match integration {
        Integration::SnsPublish => done(sns::publish(backend, req).await),
        Integration::SqsSendMessage => done(sqs::send_message(backend, req).await),
        Integration::DynamoDb(op) => done(dynamodb::run(backend, op, req).await),
        Integration::EventsPutEvents => done(events::put_events(backend, req).await),
        Integration::EcsRunTask => ecs::run_task(backend, req, sync).await,
        Integration::BatchSubmitJob => batch::submit_job(backend, req, sync).await,
        Integration::GlueStartJobRun => glue::start_job_run(backend, req, sync).await,
        Integration::Athena(op) => athena::run(backend, op, req, sync).await,
        Integration::BedrockInvokeModel => done(bedrock::invoke_model(backend, req).await),
        Integration::BedrockCreateModelCustomizationJob => {
            bedrock::create_model_customization_job(backend, req, sync).await
        }
    }
}

/// One look at a `.sync` job [`start`] started: its describe call, read as the task's
/// integration reads it.
pub async fn look(
    backend: &dyn Backend,
    req: &TaskRequest,
    job: &Job,
) -> Result<JobState, TaskFailure> {
    let Some(integration) = integration(&req.resource) else {
        return Err(not_served(req));
    };
    let names = match integration {
        Integration::EcsRunTask => &ecs::NAMES,
        Integration::BatchSubmitJob => &batch::NAMES,
        Integration::GlueStartJobRun => &glue::NAMES,
        Integration::Athena(_) => &athena::NAMES,
        Integration::BedrockCreateModelCustomizationJob => &bedrock::CONTROL_NAMES,
        _ => return Err(not_served(req)),
    };
    let reply = backend
        .call(&job.service, &job.describe, job.describe_input.clone())
        .await
        .map_err(|f| names.failure(f))?;
    match integration {
        Integration::EcsRunTask => ecs::look(&reply.output, job),
        Integration::BatchSubmitJob => batch::look(&reply.output, job),
        Integration::GlueStartJobRun => glue::look(&reply.output, job),
        Integration::Athena(_) => athena::look(&reply.output, job),
        _ => bedrock::look(&reply.output, job),
    }
}

/// Stops a `.sync` job whose task no longer waits for it; the outcome is not the task's.
pub async fn stop(backend: &dyn Backend, job: &Job) {
    let _ = backend
        .call(&job.service, &job.stop, job.stop_input.clone())
        .await;
}

#[cfg(test)]
mod tests;
