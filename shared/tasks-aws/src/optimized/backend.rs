//! The one seam between the integrations and the AWS API caller: a call by service and operation
//! with a JSON input, answered by the operation's JSON output (with the HTTP status, headers and
//! request id) or by why it failed. [`Backend`] is implemented for
//! `stepwise_aws_api::AwsCaller`; unit tests use a scripted fake.
//!
//! Also here: how a failed call becomes the task's error, in the words AWS Step Functions uses
//! (the Java SDK's names): `<Prefix>.<modeled exception>` (`DynamoDB.ResourceNotFoundException`,
//! `SNS.NotFoundException`), `<Prefix>.<service exception>` for an error the API does not model
//! (`DynamoDB.AmazonDynamoDBException`, `SQS.AmazonSQSException`), `<Prefix>.SdkClientException`
//! when no HTTP response came back; the cause is
//! `<message> (Service: <name>; Status Code: <n>; Error Code: <code>; Request ID: <id>; Proxy: null)`.

use serde_json::{Map, Value};
use stepwise_ports::tasks::TaskFailure;
use stepwise_ports::BoxFuture;

/// A successful HTTP exchange.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// The response headers, in the order received.
    pub headers: Vec<(String, String)>,
    /// The request id the service answered with (`x-amzn-RequestId` and its kin).
    pub request_id: Option<String>,
    /// The operation's output, with the API model's member names.
    pub output: Value,
}

/// Why a call did not produce an output.
#[derive(Debug, Clone, PartialEq)]
pub enum CallFailure {
    /// The service answered with an error.
    Service {
        /// The HTTP status code.
        status: u16,
        /// The error code (`ResourceNotFoundException`, `NotFound`, `AWS.SimpleQueueService.NonExistentQueue`).
        code: String,
        /// The error message, if any.
        message: Option<String>,
        /// The request id, if any.
        request_id: Option<String>,
    },
    /// No HTTP response: connection refused, DNS, I/O, timeout.
    Transport(String),
    /// The input does not fit the API's model (a wrong type, ...): nothing was sent. Reported
    /// as the service reports a validation error.
    Rejected(String),
    /// The call cannot be made at all (no model for the service or operation).
    Unavailable(String),
}

/// Performs AWS API calls. `service` is the API's model name (`sqs`, `dynamodb`,
/// `bedrock-runtime`), `operation` its operation name (`SendMessage`).
pub trait Backend: Send + Sync {
    /// One call.
    fn call<'a>(
        &'a self,
        service: &'a str,
        operation: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Reply, CallFailure>>;

    /// Makes a call in the background, its outcome ignored: how a `.sync` job is stopped when
    /// the task is abandoned (the execution stopped or timed out) while it polls. The default
    /// does nothing.
    fn call_detached(&self, _service: &str, _operation: &str, _input: Value) {}
}

/// A call that stops a `.sync` job: the service, the operation and its input.
#[derive(Debug, Clone, PartialEq)]
pub struct StopCall {
    /// The service (`ecs`).
    pub service: String,
    /// The operation (`StopTask`).
    pub operation: String,
    /// Its input.
    pub input: Value,
}

/// How a service's errors are named in Step Functions.
#[derive(Debug)]
pub struct ServiceNames {
    /// The error prefix (`DynamoDB`, `SQS`, `SNS`).
    pub prefix: &'static str,
    /// The service name in the cause (`AmazonDynamoDBv2`).
    pub service: &'static str,
    /// The service's base exception (`AmazonDynamoDBException`), for errors the API does not model.
    pub generic: &'static str,
    /// The modeled errors: (error code on the wire, exception name).
    pub modeled: &'static [(&'static str, &'static str)],
}

impl ServiceNames {
    /// The error name for a service error code.
    pub fn error_name(&self, code: &str) -> String {
        // JSON protocols may send `namespace#Code`.
        let code = code.rsplit('#').next().unwrap_or(code);
        let exception = self
            .modeled
            .iter()
            .find(|(wire, name)| *wire == code || *name == code)
            .map(|(_, name)| *name)
            .unwrap_or(self.generic);
        format!("{}.{exception}", self.prefix)
    }

    /// The cause text in the Java SDK's format.
    pub fn cause(
        &self,
        message: &str,
        status: u16,
        code: &str,
        request_id: Option<&str>,
    ) -> String {
        format!(
            "{message} (Service: {}; Status Code: {status}; Error Code: {code}; Request ID: {}; \
             Proxy: null)",
            self.service,
            request_id.unwrap_or("null")
        )
    }

    /// The task failure for a failed call.
    pub fn failure(&self, failure: CallFailure) -> TaskFailure {
        match failure {
            CallFailure::Service {
                status,
                code,
                message,
                request_id,
            } => {
                let code = code.rsplit('#').next().unwrap_or(&code).to_string();
                TaskFailure::new(
                    self.error_name(&code),
                    self.cause(
                        message.as_deref().unwrap_or("null"),
                        status,
                        &code,
                        request_id.as_deref(),
                    ),
                )
            }
            CallFailure::Transport(detail) => TaskFailure::new(
                format!("{}.SdkClientException", self.prefix),
                format!("Unable to execute HTTP request: {detail}"),
            ),
            CallFailure::Rejected(detail) => {
                let code = "ValidationException";
                TaskFailure::new(self.error_name(code), self.cause(&detail, 400, code, None))
            }
            CallFailure::Unavailable(detail) => TaskFailure::runtime(detail),
        }
    }

    /// A validation error as the service itself reports a missing required member, for a
    /// request that is not sent (`1 validation error detected: Value null at 'item' ...`).
    pub fn missing_member(&self, member: &str) -> TaskFailure {
        let code = "ValidationException";
        TaskFailure::new(
            self.error_name(code),
            self.cause(
                &format!(
                    "1 validation error detected: Value null at '{}' failed to satisfy \
                     constraint: Member must not be null",
                    lower_first(member)
                ),
                400,
                code,
                None,
            ),
        )
    }
}

/// `TableName` -> `tableName`.
pub fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// `tableName` -> `TableName`.
pub fn upper_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// `SdkHttpMetadata` and `SdkResponseMetadata` as the Java SDK reports them:
/// `{"AllHttpHeaders": {name: [values]}, "HttpHeaders": {name: first value}, "HttpStatusCode"}`
/// and `{"RequestId"}`.
pub fn sdk_metadata(reply: &Reply) -> (Value, Value) {
    let mut all: Vec<(String, Vec<Value>)> = Vec::new();
    for (name, value) in &reply.headers {
        let name = crate::wire::sdk_header_name(name);
        match all.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(Value::String(value.clone())),
            None => all.push((name, vec![Value::String(value.clone())])),
        }
    }
    all.sort_by_key(|(n, _)| n.to_ascii_lowercase());
    let mut all_headers = Map::new();
    let mut http_headers = Map::new();
    for (name, values) in all {
        if let Some(first) = values.first() {
            http_headers.insert(name.clone(), first.clone());
        }
        all_headers.insert(name, Value::Array(values));
    }
    let mut http = Map::new();
    http.insert("AllHttpHeaders".into(), Value::Object(all_headers));
    http.insert("HttpHeaders".into(), Value::Object(http_headers));
    http.insert("HttpStatusCode".into(), Value::from(reply.status));
    let mut response = Map::new();
    response.insert(
        "RequestId".into(),
        reply
            .request_id
            .clone()
            .map(Value::String)
            .unwrap_or(Value::Null),
    );
    (Value::Object(http), Value::Object(response))
}

/// The output with `SdkHttpMetadata` and `SdkResponseMetadata` added, the keys of every object
/// in the Java SDK's (alphabetical) order.
pub fn with_metadata(output: Value, reply: &Reply) -> Value {
    let mut out = match sort_keys(output) {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => {
            let mut m = Map::new();
            m.insert("Output".into(), other);
            m
        }
    };
    let (http, response) = sdk_metadata(reply);
    out.insert("SdkHttpMetadata".into(), http);
    out.insert("SdkResponseMetadata".into(), response);
    sort_top(out)
}

/// An object with its keys sorted (only this level).
pub fn sort_top(map: Map<String, Value>) -> Value {
    let mut entries: Vec<(String, Value)> = map.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(entries.into_iter().collect())
}

/// A value with the keys of every object sorted, as the Java SDK's serializer writes them.
pub fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> =
                map.into_iter().map(|(k, v)| (k, sort_keys(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DDB: ServiceNames = ServiceNames {
        prefix: "DynamoDB",
        service: "AmazonDynamoDBv2",
        generic: "AmazonDynamoDBException",
        modeled: &[("ResourceNotFoundException", "ResourceNotFoundException")],
    };

    #[test]
    fn names_modeled_and_unmodeled_errors_as_step_functions_does() {
        let f = DDB.failure(CallFailure::Service {
            status: 400,
            code: "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException".into(),
            message: Some("Requested resource not found".into()),
            request_id: Some("RID".into()),
        });
        assert_eq!(f.error, "DynamoDB.ResourceNotFoundException");
        assert_eq!(
            f.cause,
            "Requested resource not found (Service: AmazonDynamoDBv2; Status Code: 400; Error \
             Code: ResourceNotFoundException; Request ID: RID; Proxy: null)"
        );
        let f = DDB.failure(CallFailure::Service {
            status: 400,
            code: "ValidationException".into(),
            message: None,
            request_id: None,
        });
        assert_eq!(f.error, "DynamoDB.AmazonDynamoDBException");
        assert!(f
            .cause
            .starts_with("null (Service: AmazonDynamoDBv2; Status Code: 400;"));
        let f = DDB.failure(CallFailure::Transport("connection refused".into()));
        assert_eq!(f.error, "DynamoDB.SdkClientException");
        assert_eq!(
            f.cause,
            "Unable to execute HTTP request: connection refused"
        );
    }

    #[test]
    fn missing_member_reads_like_the_services_validation() {
        let f = DDB.missing_member("Item");
        assert_eq!(f.error, "DynamoDB.AmazonDynamoDBException");
        assert!(f.cause.starts_with(
            "1 validation error detected: Value null at 'item' failed to satisfy constraint: \
             Member must not be null (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: \
             ValidationException; Request ID: null; Proxy: null)"
        ));
    }

    #[test]
    fn metadata_has_the_java_sdk_shape() {
        let reply = Reply {
            status: 200,
            headers: vec![
                ("x-amzn-requestid".into(), "R1".into()),
                ("content-type".into(), "application/x-amz-json-1.0".into()),
                ("set-cookie".into(), "a".into()),
                ("set-cookie".into(), "b".into()),
            ],
            request_id: Some("R1".into()),
            output: json!({}),
        };
        let out = with_metadata(json!({"MessageId": "m", "MD5OfMessageBody": "x"}), &reply);
        assert_eq!(
            out,
            json!({
                "MD5OfMessageBody": "x",
                "MessageId": "m",
                "SdkHttpMetadata": {
                    "AllHttpHeaders": {
                        "Content-Type": ["application/x-amz-json-1.0"],
                        "Set-Cookie": ["a", "b"],
                        "x-amzn-RequestId": ["R1"]
                    },
                    "HttpHeaders": {
                        "Content-Type": "application/x-amz-json-1.0",
                        "Set-Cookie": "a",
                        "x-amzn-RequestId": "R1"
                    },
                    "HttpStatusCode": 200
                },
                "SdkResponseMetadata": {"RequestId": "R1"}
            })
        );
        let keys: Vec<&String> = out
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "MD5OfMessageBody",
                "MessageId",
                "SdkHttpMetadata",
                "SdkResponseMetadata"
            ]
        );
    }
}
