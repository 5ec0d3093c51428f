//! `arn:aws:states:::sns:publish[.waitForTaskToken]`: SNS `Publish`. A JSON value given as
//! `Message` (or `Subject`) is sent as its JSON text. The result is Publish's output
//! (`MessageId`, `SequenceNumber` for FIFO topics) with `SdkHttpMetadata`/`SdkResponseMetadata`;
//! errors are `SNS.<exception>` (`SNS.NotFoundException`, `SNS.InvalidParameterException`,
//! `SNS.AmazonSNSException` for the rest).

use serde_json::Value;
use stepwise_ports::tasks::{TaskFailure, TaskRequest};

use super::backend::{with_metadata, Backend, ServiceNames};
use super::params;

/// How SNS errors are named (query error codes and their modeled exceptions).
pub const NAMES: ServiceNames = ServiceNames {
    prefix: "SNS",
    service: "AmazonSNS",
    generic: "AmazonSNSException",
    modeled: &[
        ("InvalidParameter", "InvalidParameterException"),
        ("ParameterValueInvalid", "InvalidParameterValueException"),
        ("InternalError", "InternalErrorException"),
        ("NotFound", "NotFoundException"),
        ("EndpointDisabled", "EndpointDisabledException"),
        (
            "PlatformApplicationDisabled",
            "PlatformApplicationDisabledException",
        ),
        ("AuthorizationError", "AuthorizationErrorException"),
        ("KMSDisabled", "KMSDisabledException"),
        ("KMSInvalidState", "KMSInvalidStateException"),
        ("KMSNotFound", "KMSNotFoundException"),
        ("KMSOptInRequired", "KMSOptInRequiredException"),
        ("KMSThrottling", "KMSThrottlingException"),
        ("KMSAccessDenied", "KMSAccessDeniedException"),
        ("InvalidSecurity", "InvalidSecurityException"),
        ("ValidationException", "ValidationException"),
        ("Throttled", "ThrottledException"),
    ],
};

const FIELDS: &[&str] = &[
    "TopicArn",
    "TargetArn",
    "PhoneNumber",
    "Message",
    "Subject",
    "MessageStructure",
    "MessageAttributes",
    "MessageDeduplicationId",
    "MessageGroupId",
];

/// The Publish input for the task's parameters.
pub fn input(req: &TaskRequest) -> Result<Value, TaskFailure> {
    let mut map = params::fields(req, FIELDS)?;
    if params::first_missing(&map, &["Message"]).is_some() {
        // SNS's own answer (query protocol, error code ValidationError).
        return Err(TaskFailure::new(
            NAMES.error_name("ValidationError"),
            NAMES.cause(
                "1 validation error detected: Value null at 'message' failed to satisfy \
                 constraint: Member must not be null",
                400,
                "ValidationError",
                None,
            ),
        ));
    }
    params::text_field(&mut map, "Message");
    params::text_field(&mut map, "Subject");
    Ok(Value::Object(map))
}

/// `sns:publish`.
pub async fn publish(b: &dyn Backend, req: &TaskRequest) -> Result<Value, TaskFailure> {
    let input = input(req)?;
    let reply = b
        .call("sns", "Publish", input)
        .await
        .map_err(|f| NAMES.failure(f))?;
    let output = reply.output.clone();
    Ok(with_metadata(output, &reply))
}
