//! `arn:aws:states:::bedrock:invokeModel`: Bedrock Runtime `InvokeModel`. `ModelId` (a model id
//! or ARN) and `Body` (a JSON value, sent as its JSON text) are required; `ContentType` and
//! `Accept` default to `application/json`. The result is `{"Body": <the model's answer, parsed
//! when it is JSON>, "ContentType"}`. Errors are `Bedrock.<exception>`
//! (`Bedrock.ValidationException`, `Bedrock.ResourceNotFoundException`, ...).
//!
//! Not supported: the `Input`/`Output` S3 locations (the task fails with `States.Runtime`
//! saying so).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{Map, Value};
use stepwise_ports::tasks::{TaskFailure, TaskRequest};

use super::backend::{Backend, ServiceNames};
use super::params;

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
            missing.map(|f| f.error).as_deref(),
            Some("Bedrock.ValidationException")
        );
    }
}
