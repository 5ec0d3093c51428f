//! `arn:aws:states:::bedrock:invokeModel`: Bedrock Runtime `InvokeModel`. `ModelId` (a model id
//! or ARN) and `Body` (a JSON value, sent as its JSON text) are required; `ContentType` and
//! `Accept` default to `application/json`. The result is `{"Body": <the model's answer, parsed
//! when it is JSON>, "ContentType"}`. Errors are `Bedrock.<exception>`
//! (`Bedrock.ValidationException`, `Bedrock.ResourceNotFoundException`, ...).
//!
//! `arn:aws:states:::bedrock:createModelCustomizationJob[.sync]`: Bedrock's
//! `CreateModelCustomizationJob`, parameters in PascalCase sent in the API's camelCase; the
//! result is `{"JobArn"}` with the HTTP metadata. With `.sync` the job is read with
//! `GetModelCustomizationJob` until it is `Completed` (the result: the job in PascalCase) or
//! `Failed`/`Stopped` (`States.TaskFailed`, the job as JSON text).
//!
//! Not supported: InvokeModel's `Input`/`Output` S3 locations (the task fails with
//! `States.Runtime` saying so).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{Map, Value};
use stepwise_ports::tasks::{TaskFailure, TaskRequest};

use super::backend::{sort_keys, with_metadata, Backend, ServiceNames};
use super::params;
use super::sync::{Job, JobState};
use super::Started;

/// How Bedrock Runtime errors are named.
pub const NAMES: ServiceNames = ServiceNames {
    prefix: "Bedrock",
    service: "BedrockRuntime",
    generic: "BedrockRuntimeException",
    modeled: &[
        ("AccessDeniedException", "AccessDeniedException"),
        ("ResourceNotFoundException", "ResourceNotFoundException"),
        ("ThrottlingException", "ThrottlingException"),
        ("ModelTimeoutException", "ModelTimeoutException"),
        ("InternalServerException", "InternalServerException"),
        ("ServiceUnavailableException", "ServiceUnavailableException"),
        ("ValidationException", "ValidationException"),
        (
            "ServiceQuotaExceededException",
            "ServiceQuotaExceededException",
        ),
        ("ModelNotReadyException", "ModelNotReadyException"),
        ("ModelErrorException", "ModelErrorException"),
    ],
};

/// How Bedrock's (control plane) errors are named.
pub const CONTROL_NAMES: ServiceNames = ServiceNames {
    prefix: "Bedrock",
    service: "Bedrock",
    generic: "BedrockException",
    modeled: &[
        ("AccessDeniedException", "AccessDeniedException"),
        ("ConflictException", "ConflictException"),
        ("InternalServerException", "InternalServerException"),
        ("ResourceNotFoundException", "ResourceNotFoundException"),
        (
            "ServiceQuotaExceededException",
            "ServiceQuotaExceededException",
        ),
        ("ThrottlingException", "ThrottlingException"),
        ("TooManyTagsException", "TooManyTagsException"),
        ("ValidationException", "ValidationException"),
    ],
};

const JOB_FIELDS: &[&str] = &[
    "JobName",
    "CustomModelName",
    "RoleArn",
    "ClientRequestToken",
    "BaseModelIdentifier",
    "CustomizationType",
    "CustomModelKmsKeyId",
    "JobTags",
    "CustomModelTags",
    "TrainingDataConfig",
    "ValidationDataConfig",
    "OutputDataConfig",
    "HyperParameters",
    "VpcConfig",
    "CustomizationConfig",
];
const JOB_REQUIRED: &[&str] = &[
    "JobName",
    "CustomModelName",
    "RoleArn",
    "BaseModelIdentifier",
    "TrainingDataConfig",
    "OutputDataConfig",
];
const JOB_MAPS: &[&str] = &["hyperParameters"];
const JOB_TIMESTAMPS: &[&str] = &["creationTime", "lastModifiedTime", "endTime"];

/// What `GetModelCustomizationJob`'s output says about the `.sync` job.
pub fn customization_state(job: &Value) -> JobState {
    let shaped = || {
        sort_keys(params::to_pascal(
            params::millis_timestamps(job.clone(), JOB_TIMESTAMPS),
            JOB_MAPS,
        ))
    };
    match job.get("status").and_then(Value::as_str) {
        Some("Completed") => JobState::Succeeded(shaped()),
        Some("Failed" | "Stopped") => JobState::Failed(shaped()),
        _ => JobState::Running,
    }
}

/// `bedrock:createModelCustomizationJob`, `bedrock:createModelCustomizationJob.sync`.
pub async fn create_model_customization_job(
    b: &dyn Backend,
    req: &TaskRequest,
    sync: bool,
) -> Result<Started, TaskFailure> {
    let map = params::fields(req, JOB_FIELDS)?;
    if let Some(member) = params::first_missing(&map, JOB_REQUIRED) {
        return Err(CONTROL_NAMES.missing_member(member));
    }
    let input = params::to_camel(Value::Object(map), JOB_MAPS);
    let reply = b
        .call("bedrock", "CreateModelCustomizationJob", input)
        .await
        .map_err(|f| CONTROL_NAMES.failure(f))?;
    let shaped = sort_keys(params::to_pascal(reply.output.clone(), JOB_MAPS));
    let output = with_metadata(shaped, &reply);
    if !sync {
        return Ok(Started::Done(output));
    }
    let get = serde_json::json!({
        "jobIdentifier": reply.output.get("jobArn").cloned().unwrap_or(Value::Null)
    });
    let job = Job {
        service: "bedrock".into(),
        describe: "GetModelCustomizationJob".into(),
        describe_input: get.clone(),
        stop: "StopModelCustomizationJob".into(),
        stop_input: get,
        context: Value::Null,
    };
    Ok(Started::Job {
        output,
        job: Box::new(job),
    })
}

/// What GetModelCustomizationJob says about the `.sync` job.
pub fn look(described: &Value, _job: &Job) -> Result<JobState, TaskFailure> {
    Ok(customization_state(described))
}

const FIELDS: &[&str] = &[
    "ModelId",
    "Body",
    "ContentType",
    "Accept",
    "Trace",
    "GuardrailIdentifier",
    "GuardrailVersion",
    "PerformanceConfigLatency",
    "Input",
    "Output",
];

const JSON: &str = "application/json";

/// The InvokeModel input for the task's parameters.
pub fn input(req: &TaskRequest) -> Result<Value, TaskFailure> {
    let map = params::fields(req, FIELDS)?;
    if let Some(field) = ["Input", "Output"]
        .into_iter()
        .find(|f| map.contains_key(*f))
    {
        return Err(params::cannot_start(
            req,
            &format!("The field \"{field}\" (an S3 location) is not supported by Stepwise"),
        ));
    }
    if let Some(member) = params::first_missing(&map, &["ModelId", "Body"]) {
        return Err(NAMES.missing_member(member));
    }
    let mut out = Map::new();
    for (k, v) in map {
        // The body is a blob: base64 text for the caller.
        let v = match (k.as_str(), params::json_text(v)) {
            ("Body", Value::String(text)) => Value::String(BASE64.encode(text.as_bytes())),
            (_, v) => v,
        };
        out.insert(super::backend::lower_first(&k), v);
    }
    out.entry("contentType")
        .or_insert_with(|| Value::String(JSON.into()));
    out.entry("accept")
        .or_insert_with(|| Value::String(JSON.into()));
    Ok(Value::Object(out))
}

/// The task's result for InvokeModel's output.
pub fn result(output: &Value) -> Value {
    let content_type = output
        .get("contentType")
        .cloned()
        .unwrap_or(Value::String(JSON.into()));
    let body = match output.get("body") {
        Some(Value::String(encoded)) => {
            let text = BASE64
                .decode(encoded)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .unwrap_or_else(|| encoded.clone());
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        }
        Some(other) => other.clone(),
        None => Value::Null,
    };
    let mut out = Map::new();
    out.insert("Body".into(), body);
    out.insert("ContentType".into(), content_type);
    Value::Object(out)
}

/// `bedrock:invokeModel`.
pub async fn invoke_model(b: &dyn Backend, req: &TaskRequest) -> Result<Value, TaskFailure> {
    let input = input(req)?;
    let reply = b
        .call("bedrock-runtime", "InvokeModel", input)
        .await
        .map_err(|f| NAMES.failure(f))?;
    Ok(result(&reply.output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(parameters: Value) -> TaskRequest {
        TaskRequest {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:sm:e1".into(),
            state_machine_name: "sm".into(),
            state_name: "Ask".into(),
            resource: "arn:aws:states:::bedrock:invokeModel".into(),
            parameters,
            test_case: None,
            task_token: None,
            redrive_count: 0,
        }
    }

    #[test]
    fn body_goes_out_as_json_text_and_comes_back_parsed() {
        let i = input(&req(json!({"ModelId": "m", "Body": {"prompt": "hi"}})));
        assert_eq!(
            i,
            Ok(
                json!({"modelId": "m", "body": BASE64.encode("{\"prompt\":\"hi\"}"),
                "contentType": "application/json", "accept": "application/json"})
            )
        );
        assert_eq!(
            result(
                &json!({"body": BASE64.encode("{\"text\":\"yo\"}"), "contentType": "application/json"})
            ),
            json!({"Body": {"text": "yo"}, "ContentType": "application/json"})
        );
        let s3 = input(&req(
            json!({"ModelId": "m", "Input": {"S3Uri": "s3://b/k"}}),
        ))
        .err();
        assert_eq!(s3.map(|f| f.error).as_deref(), Some("States.Runtime"));
        let missing = input(&req(json!({"ModelId": "m"}))).err();
        assert_eq!(
            customization_state(&json!({"status": "Completed", "jobArn": "a",
                "hyperParameters": {"epochCount": "1"}, "creationTime": 1.5})),
            JobState::Succeeded(
                json!({"CreationTime": 1500, "HyperParameters": {"epochCount": "1"},
                "JobArn": "a", "Status": "Completed"})
            )
        );
        assert_eq!(
            customization_state(&json!({"status": "InProgress"})),
            JobState::Running
        );
        assert!(matches!(
            customization_state(&json!({"status": "Failed"})),
            JobState::Failed(_)
        ));
        assert_eq!(
            missing.map(|f| f.error).as_deref(),
            Some("Bedrock.ValidationException")
        );
    }
}
