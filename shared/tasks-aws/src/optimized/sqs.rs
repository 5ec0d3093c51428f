//! `arn:aws:states:::sqs:sendMessage[.waitForTaskToken]`: SQS `SendMessage`. A JSON value given
//! as `MessageBody` is sent as its JSON text. The result is SendMessage's output with
//! `SdkHttpMetadata`/`SdkResponseMetadata`; errors are `SQS.<exception>`
//! (`SQS.QueueDoesNotExistException`, `SQS.AmazonSQSException` for the rest, such as a missing
//! `MessageBody`).

use serde_json::Value;
use stepwise_ports::tasks::{TaskFailure, TaskRequest};

use super::backend::{with_metadata, Backend, ServiceNames};
use super::params;

/// How SQS errors are named.
pub const NAMES: ServiceNames = ServiceNames {
    prefix: "SQS",
    service: "AmazonSQS",
    generic: "AmazonSQSException",
    modeled: &[
        (
            "AWS.SimpleQueueService.NonExistentQueue",
            "QueueDoesNotExistException",
        ),
        ("QueueDoesNotExist", "QueueDoesNotExistException"),
        ("InvalidMessageContents", "InvalidMessageContentsException"),
        (
            "AWS.SimpleQueueService.UnsupportedOperation",
            "UnsupportedOperationException",
        ),
        ("UnsupportedOperation", "UnsupportedOperationException"),
        ("RequestThrottled", "RequestThrottledException"),
        ("InvalidSecurity", "InvalidSecurityException"),
        ("InvalidAddress", "InvalidAddressException"),
        ("KmsDisabled", "KmsDisabledException"),
        ("KmsInvalidState", "KmsInvalidStateException"),
        ("KmsNotFound", "KmsNotFoundException"),
        ("KmsOptInRequired", "KmsOptInRequiredException"),
        ("KmsThrottled", "KmsThrottledException"),
        ("KmsAccessDenied", "KmsAccessDeniedException"),
        ("KmsInvalidKeyUsage", "KmsInvalidKeyUsageException"),
    ],
};

const FIELDS: &[&str] = &[
    "QueueUrl",
    "MessageBody",
    "DelaySeconds",
    "MessageAttributes",
    "MessageSystemAttributes",
    "MessageDeduplicationId",
    "MessageGroupId",
];

/// SQS's answer to a request without a required parameter (error code `MissingParameter`).
fn missing(parameter: &str) -> TaskFailure {
    TaskFailure::new(
        NAMES.error_name("MissingParameter"),
        NAMES.cause(
            &format!("The request must contain the parameter {parameter}."),
            400,
            "MissingParameter",
            None,
        ),
    )
}

/// The SendMessage input for the task's parameters.
pub fn input(req: &TaskRequest) -> Result<Value, TaskFailure> {
    let mut map = params::fields(req, FIELDS)?;
    if let Some(field) = params::first_missing(&map, &["QueueUrl", "MessageBody"]) {
        return Err(missing(field));
    }
    params::text_field(&mut map, "MessageBody");
    Ok(Value::Object(map))
}

/// `sqs:sendMessage`.
pub async fn send_message(b: &dyn Backend, req: &TaskRequest) -> Result<Value, TaskFailure> {
    let input = input(req)?;
    let reply = b
        .call("sqs", "SendMessage", input)
        .await
        .map_err(|f| NAMES.failure(f))?;
    let output = reply.output.clone();
    Ok(with_metadata(output, &reply))
}
