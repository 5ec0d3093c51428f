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
//! | `bedrock:invokeModel` | request-response | [`bedrock`] |
//! | `bedrock:createModelCustomizationJob` | request-response, `.sync` | [`bedrock`] |
//!
//! For `.waitForTaskToken` the call only hands the token (which the parameters carry, from
//! `$$.Task.Token`) to the service: what [`invoke`] returns is the call's output, and the
//! engine waits for SendTaskSuccess/SendTaskFailure. For `.sync` [`invoke`] starts the job and
//! polls it (see [`SyncPolling`]) until it ends.
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
pub use sync::SyncPolling;

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
        ("bedrock", "invokeModel") => (Integration::BedrockInvokeModel, &[Rr][..]),
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

/// Performs the task's call through `backend`, polling `.sync` jobs as `polling` says.
pub async fn invoke_on(
    backend: &dyn Backend,
    req: &TaskRequest,
    polling: &SyncPolling,
) -> Result<Value, TaskFailure> {
    let Some(integration) = integration(&req.resource) else {
        return Err(TaskFailure::runtime(format!(
            "The resource provided {} is not recognized as an optimized integration Stepwise \
             serves.",
            req.resource
        )));
    };
    let sync = req.resource.is_sync().then_some(polling);
    match integration {
        Integration::SnsPublish => sns::publish(backend, req).await,
        Integration::SqsSendMessage => sqs::send_message(backend, req).await,
        Integration::DynamoDb(op) => dynamodb::run(backend, op, req).await,
        Integration::EventsPutEvents => events::put_events(backend, req).await,
        Integration::EcsRunTask => ecs::run_task(backend, req, sync).await,
        Integration::BatchSubmitJob => batch::submit_job(backend, req, sync).await,
        Integration::GlueStartJobRun => glue::start_job_run(backend, req, sync).await,
        Integration::Athena(op) => athena::run(backend, op, req, sync).await,
        Integration::BedrockInvokeModel => bedrock::invoke_model(backend, req).await,
        Integration::BedrockCreateModelCustomizationJob => {
            bedrock::create_model_customization_job(backend, req, sync).await
        }
    }
}

#[cfg(test)]
mod tests;
