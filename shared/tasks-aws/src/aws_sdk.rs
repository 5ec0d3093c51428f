//! The `arn:aws:states:::aws-sdk:<service>:<action>[.waitForTaskToken]` Task: any AWS API,
//! called through the generic caller (`stepwise-aws-api`) with Step Functions' conventions.
//!
//! - `<service>` is the AWS SDK for Java 2.x client name in lower case (`sfn`, `dynamodb`,
//!   `eventbridge`, `secretsmanager`, `cloudwatchlogs`, `redshiftdata`), mapped to botocore's
//!   service through the service ids of the embedded models; `<action>` is the Java method name
//!   (`putItem`, `listObjectsV2`).
//! - Parameters and results: see [`convert`] (PascalCase, JSON text for text members, blobs,
//!   ISO 8601 timestamps).
//! - A service error becomes `<Client>.<Exception>`: the modeled exception matching the code,
//!   with `Exception` appended when its name lacks it (`S3.NoSuchKeyException`,
//!   `DynamoDb.ResourceNotFoundException`, `Sfn.InvalidTokenException`), or the service's base
//!   exception when nothing matches (`DynamoDb.DynamoDbException`, `S3.S3Exception`); the cause
//!   is the SDK's message: `<message> (Service: <Client>, Status Code: <n>, Request ID: <id>[,
//!   Extended Request ID: <id2>]) (SDK Attempt Count: <n>)`.
//! - No answer at all: `<Client>.SdkClientException`, cause `Unable to execute HTTP request: …`.
//! - Parameters Step Functions cannot use (an unknown field, a value of the wrong type):
//!   `States.Runtime`, cause `The Parameters '<json>' could not be used to start the Task:
//!   [<problems>]`. A missing required member is left to the service, as the Java SDK does.

mod convert;
mod names;

pub use names::{client_name, method_name, operation_of, sdk_service, SdkService};

use serde_json::Value;
use stepwise_asl::resource::ResourceKind;
use stepwise_aws_api::{ApiCall, ApiCallError, AwsCaller, CallOptions, ServiceModel};
use stepwise_ports::tasks::{TaskFailure, TaskRequest};

fn not_recognized(service: &str, action: &str) -> String {
    format!(
        "The resource provided arn:aws:states:::aws-sdk:{service}:{action} is not recognized. \
         The value is not a valid resource ARN, or the resource is not available in this region."
    )
}

/// Checks an `aws-sdk:<service>:<action>` resource at creation: `Err` carries AWS's
/// diagnostic when the service or the action does not exist.
pub fn check_resource(service: &str, action: &str) -> Result<(), String> {
    let sdk = sdk_service(service).ok_or_else(|| not_recognized(service, action))?;
    let model = stepwise_aws_api::service_model(&sdk.botocore)
        .ok_or_else(|| not_recognized(service, action))?;
    names::operation_of(&model, action)
        .map(|_| ())
        .ok_or_else(|| not_recognized(service, action))
}

/// Performs an `aws-sdk:*` Task's call and returns its result, or its failure as Step Functions
/// names it.
pub async fn invoke(caller: &AwsCaller, req: &TaskRequest) -> Result<Value, TaskFailure> {
    let ResourceKind::AwsSdk { service, action } = req.resource.kind() else {
        return Err(TaskFailure::runtime(format!(
            "{} is not an aws-sdk resource",
            req.resource.arn()
        )));
    };
    let resolved = sdk_service(service).and_then(|sdk| {
        let model = stepwise_aws_api::service_model(&sdk.botocore)?;
        let op = names::operation_of(&model, action)?;
        Some((sdk, model, op))
    });
    let Some((sdk, model, operation)) = resolved else {
        return Err(TaskFailure::runtime(not_recognized(service, action)));
    };
    let op = model
        .operation(&operation)
        .ok_or_else(|| TaskFailure::runtime(not_recognized(service, action)))?;
    let input_shape = op.input.as_deref().and_then(|n| model.shape(n));
    let input = convert::to_input(&model, input_shape, &req.parameters).map_err(|unknown| {
        cannot_start(
            &req.parameters,
            &unknown
                .iter()
                .map(|f| format!("The field \"{f}\" is not supported by Step Functions"))
                .collect::<Vec<_>>()
                .join(", "),
        )
    })?;
    let region = req.resource.region().filter(|r| !r.is_empty());
    let traced = caller
        .call_traced(
            ApiCall {
                service: &sdk.botocore,
                operation: &operation,
                input: &input,
                region,
            },
            CallOptions {
                check_required: false,
            },
        )
        .await;
    match traced.result {
        Ok(resp) => {
            let output_shape = op.output.as_deref().and_then(|n| model.shape(n));
            Ok(convert::to_result(&model, output_shape, &resp.output))
        }
        Err(ApiCallError::Service {
            status,
            code,
            message,
            request_id,
        }) => {
            let extended = traced
                .headers
                .iter()
                .find(|(k, _)| k == "x-amz-id-2")
                .map(|(_, v)| v.as_str());
            let mut details = format!(
                "Service: {}, Status Code: {status}, Request ID: {}",
                sdk.client,
                request_id.as_deref().unwrap_or("null")
            );
            if let Some(x) = extended {
                details.push_str(&format!(", Extended Request ID: {x}"));
            }
            let cause = format!(
                "{message} ({details}) (SDK Attempt Count: {})",
                traced.attempts.max(1)
            );
            Err(TaskFailure::new(
                format!(
                    "{}.{}",
                    sdk.client,
                    exception_name(&model, &sdk.client, &code)
                ),
                cause,
            ))
        }
        Err(ApiCallError::Transport { message }) => Err(TaskFailure::new(
            format!("{}.SdkClientException", sdk.client),
            message,
        )),
        Err(ApiCallError::Validation { message }) => Err(cannot_start(&req.parameters, &message)),
        Err(e @ (ApiCallError::UnknownService(_) | ApiCallError::UnknownOperation { .. })) => {
            Err(TaskFailure::runtime(e.to_string()))
        }
    }
}

fn cannot_start(parameters: &Value, problems: &str) -> TaskFailure {
    TaskFailure::runtime(format!(
        "The Parameters '{parameters}' could not be used to start the Task: [{problems}]"
    ))
}

/// The Java SDK's exception name for an error code: the service's modeled exception whose name
/// or code it is (with `Exception` appended when missing), else the service's base exception.
pub fn exception_name(model: &ServiceModel, client: &str, code: &str) -> String {
    let found = find_exception(model, code).or_else(|| {
        // A JSON service that keeps its query protocol's codes (SQS) answers with those
        // (`AWS.SimpleQueueService.NonExistentQueue`); its models name the exceptions after
        // the JSON codes (`QueueDoesNotExist`).
        model.metadata.aws_query_compatible.as_ref()?;
        let short = code.rsplit('.').next().unwrap_or(code);
        let renamed = match short {
            "NonExistentQueue" => "QueueDoesNotExist",
            "QueueAlreadyExists" => "QueueNameExists",
            other => other,
        };
        find_exception(model, renamed)
    });
    match found {
        Some(name) if name.ends_with("Exception") => name.to_string(),
        Some(name) => format!("{name}Exception"),
        None => format!("{client}Exception"),
    }
}

fn find_exception<'m>(model: &'m ServiceModel, code: &str) -> Option<&'m str> {
    model
        .shapes
        .iter()
        .find(|(name, shape)| {
            (shape.exception || shape.error.is_some())
                && (shape
                    .error
                    .as_ref()
                    .and_then(|e| e.code.as_deref())
                    .is_some_and(|c| c == code)
                    || name.as_str() == code)
        })
        .map(|(name, _)| name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_follow_the_java_sdk() {
        let s3 = stepwise_aws_api::service_model("s3").unwrap();
        assert_eq!(exception_name(&s3, "S3", "NoSuchKey"), "NoSuchKeyException");
        assert_eq!(
            exception_name(&s3, "S3", "NoSuchBucket"),
            "NoSuchBucketException"
        );
        assert_eq!(exception_name(&s3, "S3", "NotFound"), "S3Exception");
        let ddb = stepwise_aws_api::service_model("dynamodb").unwrap();
        assert_eq!(
            exception_name(&ddb, "DynamoDb", "ResourceNotFoundException"),
            "ResourceNotFoundException"
        );
        assert_eq!(
            exception_name(&ddb, "DynamoDb", "ValidationException"),
            "DynamoDbException"
        );
        let sfn = stepwise_aws_api::service_model("stepfunctions").unwrap();
        assert_eq!(
            exception_name(&sfn, "Sfn", "InvalidToken"),
            "InvalidTokenException"
        );
        let sqs = stepwise_aws_api::service_model("sqs").unwrap();
        assert_eq!(
            exception_name(&sqs, "Sqs", "AWS.SimpleQueueService.NonExistentQueue"),
            "QueueDoesNotExistException"
        );
    }

    #[test]
    fn resources_are_checked_against_the_models() {
        assert_eq!(check_resource("s3", "getObject"), Ok(()));
        assert_eq!(check_resource("sfn", "startExecution"), Ok(()));
        assert_eq!(check_resource("ec2", "describeInstances"), Ok(()));
        assert_eq!(
            check_resource("s3", "getObjects"),
            Err("The resource provided arn:aws:states:::aws-sdk:s3:getObjects is not recognized. The value is not a valid resource ARN, or the resource is not available in this region.".to_string())
        );
        assert!(check_resource("nosuch", "x").is_err());
        // Public definitions spell some actions as the API does; they are found too.
        assert_eq!(check_resource("secretsmanager", "GetSecretValue"), Ok(()));
    }
}
