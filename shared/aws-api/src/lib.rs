//! A generic AWS API caller driven by AWS's published service models.
//!
//! The models are botocore's `service-2.json` files (PyPI package `botocore`), reduced by
//! `models/generate.py` to what a caller needs (protocol, endpoint prefix, signing name, target
//! prefix, operations with their HTTP bindings, shapes, error shapes), compressed per service and
//! embedded in the binary (`models/services.bin`). Regenerate with one command:
//!
//! ```text
//! python3 shared/aws-api/models/generate.py [botocore-X.Y.Z-py3-none-any.whl]
//! ```
//!
//! An [`ApiCall`] names the service (botocore's name: `dynamodb`, `sqs`, `s3`, ...), the
//! operation (the model's name: `PutItem`) and the input as JSON whose members are spelled as the
//! model spells them. [`AwsCaller::call`] validates the input against the model, serializes it
//! with the service's protocol (awsJson1_0, awsJson1_1, restJson1, restXml, query, ec2), signs
//! it with SigV4, resolves the endpoint (region and partition, `AWS_ENDPOINT_URL`,
//! `AWS_ENDPOINT_URL_<SERVICE>`, [`AwsSettings::endpoint_url`]), retries throttling and 5xx
//! answers as the SDKs' standard retry mode does, and parses the answer back into JSON spelled
//! as the model spells it.
//!
//! Output conventions (JSON from every protocol):
//! - timestamps are JSON numbers: seconds since the epoch, with a fraction when the service gave
//!   one (as botocore's JSON protocols carry them); input timestamps may be numbers or ISO 8601
//!   text;
//! - blobs are base64 text, except a streaming payload (S3 `GetObject`'s `Body`), which is the
//!   payload as UTF-8 text when it is valid UTF-8 and base64 text otherwise; input blobs are
//!   base64 text, or any text for a streaming payload (sent as its bytes);
//! - numbers stay numbers, booleans booleans; maps are JSON objects and lists JSON arrays.

mod caller;
mod endpoint;
mod model;
mod protocol;
mod validate;
mod xml;

pub use caller::{AwsCaller, CallOptions, Traced, MAX_ATTEMPTS};
pub use model::{
    service_index, service_model, service_names, ErrorBinding, Http, Member, Metadata, Operation,
    ServiceModel, Shape, ShapeType, XmlNamespace,
};

use serde_json::Value;

/// Where calls go, beyond what the environment says (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...).
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// The region; `None` takes the default chain's (`AWS_REGION`, the profile), else
    /// `us-east-1`.
    pub region: Option<String>,
    /// `--aws-endpoint-url`: one endpoint for every service, like `AWS_ENDPOINT_URL`, and taking
    /// precedence over the environment variables.
    pub endpoint_url: Option<String>,
}

/// One API call.
#[derive(Debug, Clone, Copy)]
pub struct ApiCall<'a> {
    /// botocore's service name: `dynamodb`, `sns`, `sqs`, `events`, `stepfunctions`, `s3`, ...
    pub service: &'a str,
    /// The model's operation name, e.g. `PutItem`.
    pub operation: &'a str,
    /// The input, members spelled as the model spells them (a JSON object).
    pub input: &'a Value,
    /// The region of this call; `None` takes the caller's.
    pub region: Option<&'a str>,
}

/// A service's successful answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The HTTP headers, names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    /// The request id the service reported (`x-amzn-RequestId`, `x-amz-request-id`, or the
    /// `RequestId` element of a query/EC2 answer).
    pub request_id: Option<String>,
    /// The output, members spelled as the model spells them (see the crate docs for timestamps
    /// and blobs); an empty object when the operation has no output.
    pub output: Value,
}

/// Why a call did not succeed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiCallError {
    /// The service answered with an error.
    #[error("{code}: {message} (Service: {status}, Request ID: {})", request_id.as_deref().unwrap_or("none"))]
    Service {
        /// The HTTP status code.
        status: u16,
        /// The error code (`ResourceNotFoundException`, `NoSuchKey`, ...), without a namespace
        /// prefix.
        code: String,
        /// The service's message (may be empty).
        message: String,
        /// The request id, when the service reported one.
        request_id: Option<String>,
    },
    /// The input does not fit the model (an unknown member, a missing required member, a wrong
    /// type): nothing was sent.
    #[error("{message}")]
    Validation {
        /// What is wrong, naming the member.
        message: String,
    },
    /// No model for this service name.
    #[error("unknown service {0:?}")]
    UnknownService(String),
    /// The service's model has no such operation.
    #[error("service {service:?} has no operation {operation:?}")]
    UnknownOperation {
        /// The service name.
        service: String,
        /// The operation name.
        operation: String,
    },
    /// No HTTP answer: connection refused, DNS failure, timeout, or no credentials to sign with.
    #[error("{message}")]
    Transport {
        /// What happened.
        message: String,
    },
}
