//! Lambda tasks through the real Lambda `Invoke` API (`aws-sdk-lambda`).
//!
//! Two resource forms:
//! - `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`: the effective input is the
//!   payload and the task's result is the function's response payload (parsed as JSON; a
//!   response that is not JSON becomes a JSON string).
//! - `arn:aws:states:::lambda:invoke[.waitForTaskToken]`: the effective input holds the Invoke
//!   parameters (`FunctionName`, `Payload`, `Qualifier`, `InvocationType`, `LogType`,
//!   `ClientContext`) and the result has AWS's shape:
//!   `{"ExecutedVersion", "Payload", "SdkHttpMetadata": {"AllHttpHeaders", "HttpHeaders",
//!   "HttpStatusCode"}, "SdkResponseMetadata": {"RequestId"}, "StatusCode"}` (plus `LogResult`
//!   with `LogType: Tail`).
//!
//! Errors as AWS Step Functions reports them:
//! - a function error (`X-Amz-Function-Error` on a 200, or, from `cargo lambda watch`, an HTTP
//!   500 whose body is a Lambda error document): Error = the payload's `errorType`
//!   (`Lambda.Unknown` when it has none), Cause = the error payload as JSON text;
//! - a Lambda service error: Error = `Lambda.<code>` for the error codes the Invoke API models
//!   (`Lambda.ResourceNotFoundException`, `Lambda.ServiceException`,
//!   `Lambda.TooManyRequestsException`, ...), `Lambda.AWSLambdaException` for any other; Cause =
//!   `<message> (Service: AWSLambda; Status Code: <n>; Error Code: <code>; Request ID: <id>;
//!   Proxy: null)`;
//! - no HTTP response (connection refused, DNS, I/O): `Lambda.SdkClientException`.
//!
//! The SDK's own retries are disabled: a retried 500 would run the function again, and retrying
//! is the state machine's `Retry`'s business.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::invoke::{InvokeError, InvokeOutput};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use aws_sdk_lambda::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::RetryConfig;
use serde_json::{Map, Value};

use stepwise_ports::resource::{lambda_resource, LambdaResource};
use stepwise_ports::tasks::{TaskFailure, TaskInvoker, TaskRequest};
use stepwise_ports::BoxFuture;

/// Region used when none is configured (local endpoints ignore it; it only signs requests).
pub const DEFAULT_REGION: &str = "us-east-1";

/// Error name for a function error whose payload has no `errorType`.
pub const LAMBDA_UNKNOWN: &str = "Lambda.Unknown";

/// How to reach Lambda.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LambdaInvokerConfig {
    /// A Lambda-compatible endpoint (`--lambda-endpoint`, e.g. `http://127.0.0.1:9001` for
    /// `cargo lambda watch`). With one, credentials come from `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY` (falling back to `test`/`test`), the region from `AWS_REGION` /
    /// `AWS_DEFAULT_REGION` (falling back to `us-east-1`), nothing else is looked up (no
    /// profile, no instance metadata), and function ARNs are reduced to the function's name
    /// (plus `Qualifier`) since local emulators know functions by name.
    /// Without one, the standard AWS configuration chain is used and function ARNs are passed
    /// as they are, each called in its own region.
    pub endpoint_url: Option<String>,
    /// Overrides the region.
    pub region: Option<String>,
}

/// Splits a Lambda function reference (name, `name:qualifier`, `ACCOUNT:function:name[:q]` or a
/// full ARN) into its name and qualifier.
fn split_function_name(function: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = function.split(':').collect();
    let rest: &[&str] = if parts.first() == Some(&"arn") && parts.len() >= 7 {
        &parts[6..]
    } else if parts.len() >= 3 && parts[1] == "function" {
        &parts[2..]
    } else {
        &parts[..]
    };
    match rest {
        [name] => (name.to_string(), None),
        [name, qualifier, ..] => (name.to_string(), Some(qualifier.to_string())),
        [] => (function.to_string(), None),
    }
}

/// The region of a full function ARN, if it is one.
fn function_region(function: &str) -> Option<&str> {
    let mut parts = function.split(':');
    if parts.next() != Some("arn") {
        return None;
    }
    parts.nth(2).filter(|r| !r.is_empty())
}

/// One Invoke call, after parameters were read.
#[derive(Debug, Default)]
struct InvokeCall {
    /// How a function error's payload becomes the cause.
    cause: CauseStyle,
    function_name: String,
    qualifier: Option<String>,
    payload: Vec<u8>,
    invocation_type: Option<String>,
    log_type: Option<String>,
    client_context: Option<String>,
}

/// What came back from a successful HTTP exchange.
struct InvokeResponse {
    output: InvokeOutput,
    status: u16,
    headers: Vec<(String, String)>,
}

/// A raw HTTP status and headers.
type StatusAndHeaders = (u16, Vec<(String, String)>);

/// The raw response status and headers, captured for `SdkHttpMetadata`.
#[derive(Debug, Clone, Default)]
struct CaptureResponse(Arc<Mutex<Option<StatusAndHeaders>>>);

impl CaptureResponse {
    fn take(&self) -> Option<StatusAndHeaders> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Intercept for CaptureResponse {
    fn name(&self) -> &'static str {
        "StepwiseCaptureResponse"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((response.status().as_u16(), headers));
        Ok(())
    }
}

/// Invokes Lambda functions for `Task` states (see the module documentation).
pub struct LambdaInvoker {
    base: aws_sdk_lambda::config::Builder,
    local: bool,
    default_region: String,
    clients: Mutex<HashMap<String, Client>>,
}

impl std::fmt::Debug for LambdaInvoker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaInvoker")
            .field("local", &self.local)
            .field("default_region", &self.default_region)
            .finish_non_exhaustive()
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl LambdaInvoker {
    /// An invoker for a local Lambda-compatible endpoint, configured from environment variables
    /// only, with `test`/`test`/`us-east-1` fallbacks (see [`LambdaInvokerConfig::endpoint_url`]).
    pub fn local(endpoint_url: impl Into<String>, region: Option<String>) -> Self {
        let region = region
            .or_else(|| env_var("AWS_REGION"))
            .or_else(|| env_var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| DEFAULT_REGION.to_string());
        let access_key = env_var("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into());
        let secret_key = env_var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into());
        let credentials = Credentials::new(
            access_key,
            secret_key,
            env_var("AWS_SESSION_TOKEN"),
            None,
            "stepwise-local",
        );
        let base = aws_sdk_lambda::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .credentials_provider(credentials)
            .endpoint_url(endpoint_url.into())
            .retry_config(RetryConfig::disabled());
        Self {
            base,
            local: true,
            default_region: region,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// An invoker from a loaded AWS SDK configuration (real AWS, or whatever endpoint the
    /// configuration names). Function ARNs are passed as they are, each called in its region.
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig) -> Self {
        let default_region = sdk_config
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| DEFAULT_REGION.to_string());
        let base =
            aws_sdk_lambda::config::Builder::from(sdk_config).retry_config(RetryConfig::disabled());
        Self {
            base,
            local: false,
            default_region,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// An invoker for this configuration: [`LambdaInvoker::local`] when an endpoint is given,
    /// otherwise the standard AWS configuration chain.
    pub async fn new(config: LambdaInvokerConfig) -> Self {
        match config.endpoint_url {
            Some(endpoint) => Self::local(endpoint, config.region),
            None => {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                if let Some(region) = config.region {
                    loader = loader.region(Region::new(region));
                }
                Self::from_sdk_config(&loader.load().await)
            }
        }
    }

    fn client(&self, region: Option<&str>) -> Client {
        let region = match region {
            Some(r) if !self.local && !r.is_empty() => r.to_string(),
            _ => self.default_region.clone(),
        };
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region.clone())
            .or_insert_with(|| {
                Client::from_conf(self.base.clone().region(Region::new(region)).build())
            })
            .clone()
    }

    async fn call(&self, mut call: InvokeCall) -> Result<InvokeResponse, TaskFailure> {
        let style = call.cause;
        let region = function_region(&call.function_name).map(str::to_string);
        if self.local {
            let (name, qualifier) = split_function_name(&call.function_name);
            call.function_name = name;
            if call.qualifier.is_none() {
                call.qualifier = qualifier;
            }
        }
        let client = self.client(region.as_deref());
        let capture = CaptureResponse::default();
        let result = client
            .invoke()
            .function_name(call.function_name)
            .set_qualifier(call.qualifier)
            .payload(Blob::new(call.payload))
            .set_invocation_type(
                call.invocation_type
                    .map(|t| InvocationType::from(t.as_str())),
            )
            .set_log_type(call.log_type.map(|t| LogType::from(t.as_str())))
            .set_client_context(call.client_context)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await;
        match result {
            Ok(output) => {
                let (status, headers) = capture
                    .take()
                    .unwrap_or_else(|| (output.status_code() as u16, Vec::new()));
                if output.function_error().is_some() {
                    let payload = output.payload().map(Blob::as_ref).unwrap_or_default();
                    return Err(function_failure(payload, style));
                }
                Ok(InvokeResponse {
                    output,
                    status,
                    headers,
                })
            }
            Err(err) => Err(sdk_failure(&err, capture.take(), style)),
        }
    }

    async fn invoke_function(&self, arn: String, parameters: &Value) -> Result<Value, TaskFailure> {
        let payload = serde_json::to_vec(parameters)
            .map_err(|e| TaskFailure::runtime(format!("cannot serialize the payload: {e}")))?;
        let response = self
            .call(InvokeCall {
                function_name: arn,
                payload,
                cause: CauseStyle::Verbatim,
                ..InvokeCall::default()
            })
            .await?;
        Ok(payload_value(
            response
                .output
                .payload()
                .map(Blob::as_ref)
                .unwrap_or_default(),
        ))
    }

    async fn invoke_integration(&self, req: &TaskRequest) -> Result<Value, TaskFailure> {
        let call = invoke_call_from_parameters(&req.parameters)?;
        let response = self.call(call).await?;
        Ok(integration_output(&response))
    }
}

impl TaskInvoker for LambdaInvoker {
    fn invoke(&self, req: TaskRequest) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        Box::pin(async move {
            match lambda_resource(&req.resource) {
                Some(LambdaResource::Function) => {
                    self.invoke_function(req.resource.arn().to_string(), &req.parameters)
                        .await
                }
                Some(LambdaResource::Invoke) => self.invoke_integration(&req).await,
                None => Err(TaskFailure::runtime(format!(
                    "resource '{}' of state '{}' is not a Lambda resource",
                    req.resource, req.state_name
                ))),
            }
        })
    }
}

fn optional_string(params: &Map<String, Value>, key: &str) -> Result<Option<String>, TaskFailure> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(TaskFailure::runtime(format!(
            "lambda:invoke parameter '{key}' must be a string, got {other}"
        ))),
    }
}

/// The bytes sent as `Payload`: nothing or `null` sends `{}`, a string that is JSON text is sent
/// as it is, any other string is sent as a JSON string, any other value as its JSON text.
fn payload_bytes(payload: Option<&Value>) -> Vec<u8> {
    match payload {
        None | Some(Value::Null) => b"{}".to_vec(),
        Some(Value::String(s)) if serde_json::from_str::<Value>(s).is_ok() => s.as_bytes().to_vec(),
        Some(value) => serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()),
    }
}

fn invoke_call_from_parameters(parameters: &Value) -> Result<InvokeCall, TaskFailure> {
    let Some(params) = parameters.as_object() else {
        return Err(TaskFailure::runtime(format!(
            "lambda:invoke needs an object of parameters with a FunctionName, got {parameters}"
        )));
    };
    let Some(function_name) = optional_string(params, "FunctionName")? else {
        return Err(TaskFailure::runtime(
            "lambda:invoke needs the parameter 'FunctionName'",
        ));
    };
    Ok(InvokeCall {
        cause: CauseStyle::Compact,
        function_name,
        qualifier: optional_string(params, "Qualifier")?,
        payload: payload_bytes(params.get("Payload")),
        invocation_type: optional_string(params, "InvocationType")?,
        log_type: optional_string(params, "LogType")?,
        client_context: optional_string(params, "ClientContext")?,
    })
}

/// A response payload as a JSON value: parsed when it is JSON, a string of its text otherwise.
fn payload_value(payload: &[u8]) -> Value {
    serde_json::from_slice(payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()))
}

/// A function error as Step Functions reports it: Error = `errorType` (or `Lambda.Unknown`),
/// Cause = the error payload as JSON text.
/// How a function error's payload is quoted in the cause: the optimized integration
/// (`arn:aws:states:::lambda:invoke`) re-serializes it compactly, a Lambda function ARN as
/// the Resource passes the bytes through as the function sent them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum CauseStyle {
    #[default]
    Compact,
    Verbatim,
}

fn function_failure(payload: &[u8], style: CauseStyle) -> TaskFailure {
    let raw = || String::from_utf8_lossy(payload).into_owned();
    let Ok(value) = serde_json::from_slice::<Value>(payload) else {
        return TaskFailure::new(LAMBDA_UNKNOWN, unknown_cause(&raw()));
    };
    let text = match style {
        CauseStyle::Compact => serde_json::to_string(&value).unwrap_or_else(|_| raw()),
        CauseStyle::Verbatim => raw(),
    };
    match value
        .get("errorType")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(error) => TaskFailure::new(error, text),
        None => TaskFailure::new(LAMBDA_UNKNOWN, unknown_cause(&text)),
    }
}

/// AWS's cause when a function error names no error type.
fn unknown_cause(payload: &str) -> String {
    format!(
        "The cause could not be determined because Lambda did not return an error type. Returned payload: {payload}"
    )
}

/// Whether an error body is a Lambda function error document (what `cargo lambda watch` sends
/// back with HTTP 500 when the handler fails).
fn is_function_error_document(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.as_object()
                .map(|o| o.contains_key("errorType") || o.contains_key("errorMessage"))
        })
        .unwrap_or(false)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn sdk_failure(
    err: &SdkError<InvokeError, aws_smithy_runtime_api::http::Response>,
    captured: Option<StatusAndHeaders>,
    style: CauseStyle,
) -> TaskFailure {
    match err {
        SdkError::ServiceError(ctx) => {
            let raw = ctx.raw();
            let status = raw.status().as_u16();
            let body = raw.body().bytes().unwrap_or_default();
            let headers = captured.map(|(_, h)| h).unwrap_or_default();
            service_failure(
                ctx.err(),
                status,
                body,
                header(&headers, "x-amzn-RequestId"),
                style,
            )
        }
        SdkError::ConstructionFailure(_) => TaskFailure::new(
            "Lambda.SdkClientException",
            format!(
                "Unable to build the Invoke request: {}",
                DisplayErrorContext(err)
            ),
        ),
        _ => TaskFailure::new(
            "Lambda.SdkClientException",
            format!(
                "Unable to execute HTTP request: {}",
                DisplayErrorContext(err)
            ),
        ),
    }
}

fn service_failure(
    err: &InvokeError,
    status: u16,
    body: &[u8],
    request_id: Option<&str>,
    style: CauseStyle,
) -> TaskFailure {
    #[allow(deprecated)]
    let modeled = !matches!(err, InvokeError::Unhandled(_));
    let code = err.code();
    if !modeled && code.is_none() && status >= 500 && is_function_error_document(body) {
        // `cargo lambda watch` reports a function error as HTTP 500 with the error document.
        return function_failure(body, style);
    }
    let error = match (modeled, code) {
        (true, Some(code)) => format!("Lambda.{code}"),
        _ => "Lambda.AWSLambdaException".to_string(),
    };
    let message = match err.message() {
        Some(m) => m.to_string(),
        None if !body.is_empty() && code.is_none() => {
            let text = String::from_utf8_lossy(body);
            text.trim().chars().take(1024).collect()
        }
        None => "null".to_string(),
    };
    TaskFailure::new(
        error,
        format!(
            "{message} (Service: AWSLambda; Status Code: {status}; Error Code: {}; Request ID: {}; \
             Proxy: null)",
            code.unwrap_or("null"),
            request_id.unwrap_or("null")
        ),
    )
}

/// AWS's `lambda:invoke` result shape.
fn integration_output(response: &InvokeResponse) -> Value {
    let mut names: Vec<String> = Vec::new();
    let mut all: HashMap<String, Vec<Value>> = HashMap::new();
    for (name, value) in &response.headers {
        let name = crate::wire::sdk_header_name(name);
        if !all.contains_key(&name) {
            names.push(name.clone());
        }
        all.entry(name)
            .or_default()
            .push(Value::String(value.clone()));
    }
    names.sort_by_key(|n| n.to_ascii_lowercase());
    let mut all_headers = Map::new();
    let mut http_headers = Map::new();
    for name in names {
        let values = all.remove(&name).unwrap_or_default();
        if let Some(first) = values.first() {
            http_headers.insert(name.clone(), first.clone());
        }
        all_headers.insert(name, Value::Array(values));
    }
    let request_id = header(&response.headers, "x-amzn-RequestId")
        .map(|s| Value::String(s.to_string()))
        .unwrap_or(Value::Null);
    let output = &response.output;

    let mut out = Map::new();
    out.insert(
        "ExecutedVersion".into(),
        Value::String(output.executed_version().unwrap_or("$LATEST").to_string()),
    );
    if let Some(log) = output.log_result() {
        out.insert("LogResult".into(), Value::String(log.to_string()));
    }
    out.insert(
        "Payload".into(),
        payload_value(output.payload().map(Blob::as_ref).unwrap_or_default()),
    );
    let mut metadata = Map::new();
    metadata.insert("AllHttpHeaders".into(), Value::Object(all_headers));
    metadata.insert("HttpHeaders".into(), Value::Object(http_headers));
    metadata.insert("HttpStatusCode".into(), Value::from(response.status));
    out.insert("SdkHttpMetadata".into(), Value::Object(metadata));
    let mut response_metadata = Map::new();
    response_metadata.insert("RequestId".into(), request_id);
    out.insert(
        "SdkResponseMetadata".into(),
        Value::Object(response_metadata),
    );
    out.insert("StatusCode".into(), Value::from(output.status_code()));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn splits_function_references() {
        let s = |f: &str| split_function_name(f);
        assert_eq!(s("fn"), ("fn".into(), None));
        assert_eq!(s("fn:live"), ("fn".into(), Some("live".into())));
        assert_eq!(s("123456789012:function:fn"), ("fn".into(), None));
        assert_eq!(
            s("arn:aws:lambda:us-east-1:123456789012:function:fn:7"),
            ("fn".into(), Some("7".into()))
        );
        assert_eq!(
            function_region("arn:aws:lambda:eu-west-1:1:function:fn"),
            Some("eu-west-1")
        );
        assert_eq!(function_region("fn"), None);
    }

    #[test]
    fn payload_encoding_follows_step_functions() {
        assert_eq!(payload_bytes(None), b"{}");
        assert_eq!(payload_bytes(Some(&Value::Null)), b"{}");
        assert_eq!(payload_bytes(Some(&json!("\"Hi\""))), b"\"Hi\"");
        assert_eq!(payload_bytes(Some(&json!("{\"a\":1}"))), b"{\"a\":1}");
        assert_eq!(payload_bytes(Some(&json!("plain"))), b"\"plain\"");
        assert_eq!(payload_bytes(Some(&json!({"a": [1]}))), b"{\"a\":[1]}");
        assert_eq!(payload_bytes(Some(&json!(5))), b"5");
    }

    #[test]
    fn function_errors_map_to_error_type() {
        let python = br#"{"errorMessage": "Some exception was raised.", "errorType": "Exception", "stackTrace": []}"#;
        let f = function_failure(python, CauseStyle::Compact);
        assert_eq!(f.error, "Exception");
        assert_eq!(
            f.cause,
            r#"{"errorMessage":"Some exception was raised.","errorType":"Exception","stackTrace":[]}"#
        );
        let f = function_failure(python, CauseStyle::Verbatim);
        assert_eq!(f.cause.as_bytes(), python);
        let f = function_failure(
            br#"{"errorMessage":"Task timed out after 3.00 seconds"}"#,
            CauseStyle::Compact,
        );
        assert_eq!(f.error, "Lambda.Unknown");
        assert_eq!(
            f.cause,
            r#"The cause could not be determined because Lambda did not return an error type. Returned payload: {"errorMessage":"Task timed out after 3.00 seconds"}"#
        );
        let f = function_failure(b"not json", CauseStyle::Verbatim);
        assert_eq!(f.error, "Lambda.Unknown");
        assert!(f.cause.ends_with("Returned payload: not json"));
    }

    #[test]
    fn parameters_are_checked() {
        let e =
            invoke_call_from_parameters(&json!({"Payload": {}})).expect_err("needs FunctionName");
        assert_eq!(e.error, stepwise_ports::tasks::STATES_RUNTIME);
        assert!(e.cause.contains("FunctionName"));
        let e = invoke_call_from_parameters(&json!({"FunctionName": 1})).expect_err("string");
        assert!(e.cause.contains("must be a string"));
        let e = invoke_call_from_parameters(&json!([1])).expect_err("object");
        assert_eq!(e.error, stepwise_ports::tasks::STATES_RUNTIME);
        let call = invoke_call_from_parameters(&json!({
            "FunctionName": "fn", "Qualifier": "live", "InvocationType": "Event",
            "LogType": "Tail", "ClientContext": "e30=", "Payload": {"k": "v"}
        }))
        .expect("valid");
        assert_eq!(call.function_name, "fn");
        assert_eq!(call.qualifier.as_deref(), Some("live"));
        assert_eq!(call.invocation_type.as_deref(), Some("Event"));
        assert_eq!(call.log_type.as_deref(), Some("Tail"));
        assert_eq!(call.client_context.as_deref(), Some("e30="));
        assert_eq!(call.payload, br#"{"k":"v"}"#);
    }

    #[test]
    fn header_names_are_spelled_like_aws() {
        assert_eq!(
            crate::wire::sdk_header_name("x-amzn-requestid"),
            "x-amzn-RequestId"
        );
        assert_eq!(
            crate::wire::sdk_header_name("x-amz-executed-version"),
            "X-Amz-Executed-Version"
        );
        assert_eq!(crate::wire::sdk_header_name("content-type"), "Content-Type");
        assert_eq!(crate::wire::sdk_header_name("date"), "Date");
    }
}
