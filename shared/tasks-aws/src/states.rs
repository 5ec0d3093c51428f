//! `arn:aws:states:::states:startExecution` with every pattern: request-response, `.sync`,
//! `.sync:2` and `.waitForTaskToken`, over any [`StatesApi`]: the service in process (`stepwise
//! serve`, the serverless home: the child runs in the same Stepwise) or Step Functions' API
//! over HTTP ([`RemoteStatesApi`], what `stepwise run` uses: the endpoint is
//! `AWS_ENDPOINT_URL_SFN`, else `--aws-endpoint-url` / `AWS_ENDPOINT_URL`, else AWS).
//!
//! Results as AWS records them (LocalStack's AWS-recorded `test_sfn_task_service` and
//! `test_callback` snapshots):
//! - request-response and `.waitForTaskToken`: `{"ExecutionArn", "SdkHttpMetadata",
//!   "SdkResponseMetadata", "StartDate"}`;
//! - `.sync`: DescribeExecution's answer in PascalCase with `Input` and `Output` as JSON text;
//!   `.sync:2`: the same with both parsed;
//! - a child that fails, times out or is aborted: `States.TaskFailed` with that description
//!   (plus `Error` and `Cause`) as JSON text for the cause;
//! - an API error: `StepFunctions.<Code>Exception` with the Java SDK's cause text
//!   (`<message> (Service: AWSStepFunctions; Status Code: 400; Error Code: <Code>; Request ID:
//!   <id>; Proxy: null)`).
//!
//! `.sync` polls DescribeExecution with back-off (50 ms doubling to 2 s); when the parent's task
//! is cancelled (the parent stopped, timed out or failed elsewhere) the future is dropped and
//! the child is stopped with StopExecution.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use stepwise_asl::resource::IntegrationPattern;
use stepwise_ports::states_api::{ApiCallError, ApiReply, StatesApi};
use stepwise_ports::tasks::{Submission, SyncPolling, TaskFailure, TaskRequest};
use stepwise_ports::BoxFuture;

use crate::wire::{sdk_metadata, AwsEndpoints, JsonCall, JsonCallError};

/// `States.TaskFailed`.
pub const TASK_FAILED: &str = "States.TaskFailed";

/// The error name Step Functions gives an API error: `StepFunctions.StateMachineDoesNotExistException`.
pub fn error_name(code: &str) -> String {
    if code.ends_with("Exception") {
        format!("StepFunctions.{code}")
    } else {
        format!("StepFunctions.{code}Exception")
    }
}

/// The Java SDK's cause text for an API error.
pub fn error_cause(status: u16, code: &str, message: &str, request_id: &str) -> String {
    let code = code.strip_suffix("Exception").unwrap_or(code);
    format!(
        "{message} (Service: AWSStepFunctions; Status Code: {status}; Error Code: {code}; Request ID: {request_id}; Proxy: null)"
    )
}

fn api_failure(e: ApiCallError) -> TaskFailure {
    match e {
        ApiCallError::Service {
            status,
            code,
            message,
            request_id,
        } => TaskFailure::new(
            error_name(&code),
            error_cause(status, &code, &message, &request_id),
        ),
        ApiCallError::Transport(m) => TaskFailure::new("StepFunctions.SdkClientException", m),
    }
}

/// An API timestamp (seconds, fractional) as the integration's millisecond number.
fn millis(v: &Value) -> Value {
    match v.as_f64() {
        Some(s) => json!((s * 1000.0).round() as i64),
        None => v.clone(),
    }
}

/// DescribeExecution's answer as the `.sync` / `.sync:2` task output (or failure cause).
pub fn sync_output(describe: &Value, v2: bool) -> Map<String, Value> {
    let mut out = Map::new();
    let text = |k: &str| describe.get(k).cloned();
    let parsed_or_text = |v: Option<Value>| match v {
        Some(Value::String(s)) if v2 => serde_json::from_str(&s).unwrap_or(Value::String(s)),
        Some(v) => v,
        None => Value::Null,
    };
    if let Some(c) = text("cause") {
        out.insert("Cause".into(), c);
    }
    if let Some(e) = text("error") {
        out.insert("Error".into(), e);
    }
    out.insert(
        "ExecutionArn".into(),
        text("executionArn").unwrap_or_default(),
    );
    out.insert("Input".into(), parsed_or_text(text("input")));
    out.insert("InputDetails".into(), json!({"Included": true}));
    out.insert("Name".into(), text("name").unwrap_or_default());
    if let Some(o) = text("output") {
        out.insert("Output".into(), parsed_or_text(Some(o)));
        out.insert("OutputDetails".into(), json!({"Included": true}));
    }
    out.insert(
        "StartDate".into(),
        millis(&text("startDate").unwrap_or_default()),
    );
    out.insert(
        "StateMachineArn".into(),
        text("stateMachineArn").unwrap_or_default(),
    );
    out.insert("Status".into(), text("status").unwrap_or_default());
    if let Some(s) = text("stopDate") {
        out.insert("StopDate".into(), millis(&s));
    }
    out
}

/// The StartExecution request from the task's parameters.
pub fn start_request(p: &Value) -> Result<Value, TaskFailure> {
    let sm = match p.get("StateMachineArn") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(TaskFailure::runtime(
                "The Parameters could not be used to start the Task: [The value of the field 'StateMachineArn' has an invalid format]",
            ))
        }
        None => {
            return Err(TaskFailure::runtime(
                "The Parameters could not be used to start the Task: [The field 'StateMachineArn' is required]",
            ))
        }
    };
    let mut body = json!({ "stateMachineArn": sm });
    match p.get("Input") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => body["input"] = json!(s),
        Some(v) => body["input"] = json!(serde_json::to_string(v).unwrap_or_default()),
    }
    if let Some(name) = p.get("Name").filter(|v| !v.is_null()) {
        body["name"] = name.clone();
    }
    if let Some(t) = p.get("TraceHeader").filter(|v| !v.is_null()) {
        body["traceHeader"] = t.clone();
    }
    Ok(body)
}

/// Stops the child when dropped before [`StopGuard::disarm`].
struct StopGuard {
    api: Arc<dyn StatesApi>,
    arn: Option<String>,
}

impl StopGuard {
    fn disarm(&mut self) {
        self.arn = None;
    }
}

impl Drop for StopGuard {
    fn drop(&mut self) {
        let Some(arn) = self.arn.take() else {
            return;
        };
        let api = self.api.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let body = json!({"executionArn": arn, "cause": "The parent execution's task was cancelled."});
                let _ = api.call("StopExecution", body).await;
            });
        }
    }
}

/// How often a child is looked at: 50 ms doubling to 2 s (in process it is cheap; the
/// serverless invoker's queue rounds the waits up to whole seconds).
pub const CHILD_POLLING: SyncPolling = SyncPolling {
    first: Duration::from_millis(50),
    max: Duration::from_secs(2),
};

/// Starts the child: the request-response (and `.waitForTaskToken`) result, or for `.sync` and
/// `.sync:2` the job to look at with [`look`] (`{"ExecutionArn", "V2"}`).
pub async fn submit(api: &dyn StatesApi, req: &TaskRequest) -> Result<Submission, TaskFailure> {
    let body = start_request(&req.parameters)?;
    let reply = api
        .call("StartExecution", body)
        .await
        .map_err(api_failure)?;
    let output = request_response_output(&reply);
    if !req.resource.is_sync() {
        return Ok(Submission::Done(output));
    }
    let arn = reply.body.get("executionArn").cloned().unwrap_or_default();
    let v2 = req.resource.pattern() == IntegrationPattern::Sync2;
    Ok(Submission::Job {
        output,
        job: json!({"ExecutionArn": arn, "V2": v2}),
        polling: CHILD_POLLING,
    })
}

/// One look at a `.sync` child: `None` while it runs, DescribeExecution's answer as the task's
/// result when it succeeded, `States.TaskFailed` when it failed, timed out or was aborted.
pub async fn look(api: &dyn StatesApi, job: &Value) -> Result<Option<Value>, TaskFailure> {
    let arn = job.get("ExecutionArn").cloned().unwrap_or_default();
    let v2 = job.get("V2").and_then(Value::as_bool).unwrap_or(false);
    let d = api
        .call("DescribeExecution", json!({ "executionArn": arn }))
        .await
        .map_err(api_failure)?;
    let status = d
        .body
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("RUNNING");
    match status {
        "RUNNING" | "PENDING_REDRIVE" => Ok(None),
        "SUCCEEDED" => Ok(Some(Value::Object(sync_output(&d.body, v2)))),
        _ => {
            let out = sync_output(&d.body, v2);
            Err(TaskFailure::new(
                TASK_FAILED,
                serde_json::to_string(&out).unwrap_or_default(),
            ))
        }
    }
}

/// Stops a child whose parent's task no longer waits for it.
pub async fn stop(api: &dyn StatesApi, job: &Value) {
    let arn = job.get("ExecutionArn").cloned().unwrap_or_default();
    let body = json!({"executionArn": arn, "cause": "The parent execution's task was cancelled."});
    let _ = api.call("StopExecution", body).await;
}

/// Runs one `states:startExecution` task against `api`, waiting here for a `.sync` child.
pub async fn start_execution(
    api: Arc<dyn StatesApi>,
    req: &TaskRequest,
) -> Result<Value, TaskFailure> {
    let (job, polling) = match submit(api.as_ref(), req).await? {
        Submission::Done(v) => return Ok(v),
        Submission::Job { job, polling, .. } => (job, polling),
    };
    let mut guard = StopGuard {
        api: api.clone(),
        arn: job
            .get("ExecutionArn")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let mut pause = polling.first;
    loop {
        if let Some(out) = look(api.as_ref(), &job).await? {
            guard.disarm();
            return Ok(out);
        }
        tokio::time::sleep(pause).await;
        pause = polling.next(pause);
    }
}

/// The request-response result: `ExecutionArn`, `StartDate` and the SDK metadata.
pub fn request_response_output(reply: &ApiReply) -> Value {
    let (http, response) = sdk_metadata(reply.status, &reply.headers, &reply.request_id);
    json!({
        "ExecutionArn": reply.body.get("executionArn").cloned().unwrap_or_default(),
        "SdkHttpMetadata": http,
        "SdkResponseMetadata": response,
        "StartDate": millis(&reply.body.get("startDate").cloned().unwrap_or_default()),
    })
}

/// Step Functions' API over HTTP (AWS, or a `stepwise serve`), signed with SigV4.
pub struct RemoteStatesApi {
    aws: Arc<AwsEndpoints>,
}

impl RemoteStatesApi {
    /// Calls go where `aws` says Step Functions is (`AWS_ENDPOINT_URL_SFN` first).
    pub fn new(aws: Arc<AwsEndpoints>) -> Self {
        RemoteStatesApi { aws }
    }
}

impl StatesApi for RemoteStatesApi {
    fn call<'a>(
        &'a self,
        action: &'a str,
        body: Value,
    ) -> BoxFuture<'a, Result<ApiReply, ApiCallError>> {
        Box::pin(async move {
            let target = format!("AWSStepFunctions.{action}");
            let call = JsonCall {
                env_id: "SFN",
                host_prefix: "states",
                signing_name: "states",
                target: &target,
                content_type: "application/x-amz-json-1.0",
            };
            match self.aws.json_call(call, &body).await {
                Ok(r) => Ok(ApiReply {
                    body: r.body,
                    status: r.status,
                    headers: r.headers,
                    request_id: r.request_id,
                }),
                Err(JsonCallError::Service {
                    status,
                    code,
                    message,
                    request_id,
                }) => Err(ApiCallError::Service {
                    status,
                    code,
                    message,
                    request_id,
                }),
                Err(JsonCallError::Transport { message }) => Err(ApiCallError::Transport(message)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_named_as_step_functions_names_them() {
        assert_eq!(
            error_name("StateMachineDoesNotExist"),
            "StepFunctions.StateMachineDoesNotExistException"
        );
        assert_eq!(
            error_name("ExecutionAlreadyExists"),
            "StepFunctions.ExecutionAlreadyExistsException"
        );
        assert_eq!(
            error_cause(400, "StateMachineDoesNotExist", "State Machine Does Not Exist: 'x'", "r"),
            "State Machine Does Not Exist: 'x' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: r; Proxy: null)"
        );
    }

    #[test]
    fn sync_outputs_are_text_and_sync2_parsed() {
        let d = json!({"executionArn": "e", "stateMachineArn": "s", "name": "n",
            "status": "SUCCEEDED", "startDate": 1.5, "stopDate": 2.25, "input": "{}",
            "inputDetails": {"included": true}, "output": "{\"Arg1\":\"argument1\"}",
            "redriveCount": 0});
        let v1 = sync_output(&d, false);
        assert_eq!(v1["Output"], json!("{\"Arg1\":\"argument1\"}"));
        assert_eq!(v1["Input"], json!("{}"));
        assert_eq!(v1["StartDate"], json!(1500));
        assert_eq!(v1["StopDate"], json!(2250));
        assert!(!v1.contains_key("RedriveCount"));
        let v2 = sync_output(&d, true);
        assert_eq!(v2["Output"], json!({"Arg1": "argument1"}));
        assert_eq!(v2["Input"], json!({}));
    }

    #[test]
    fn input_is_sent_as_text() {
        let b = start_request(&json!({"StateMachineArn": "a", "Input": {"x": 1}, "Name": "n"}))
            .unwrap();
        assert_eq!(
            b,
            json!({"stateMachineArn": "a", "input": "{\"x\":1}", "name": "n"})
        );
        let b = start_request(&json!({"StateMachineArn": "a", "Input": null})).unwrap();
        assert_eq!(b, json!({"stateMachineArn": "a"}));
        assert!(start_request(&json!({})).is_err());
    }
}
