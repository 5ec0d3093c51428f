//! Integrations given what AWS refuses, end to end:
//! - an integration/pattern pair AWS does not support is refused at creation with AWS's
//!   diagnostic, by `stepwise validate` and by CreateStateMachine in `stepwise serve` (the
//!   serverless API function shares the validator: `serverless/api_function.rs` covers its
//!   InvalidDefinition path);
//! - through `stepwise run`: a missing required parameter, an unreachable endpoint and throttling
//!   (retried, then the service's error name) each fail their task with a clear error the machine
//!   catches by name; an unknown parameter fails the execution with `States.Runtime` and the
//!   field named (no Catch catches it, as on AWS). Never a panic or a stuck execution.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use stepwise_tests::stepwise_bin;

use crate::optimized::fake::{self, Answer, Seen};
use crate::serve_common::{free_port, temp_dir, Serve};

const UNSUPPORTED: [&str; 8] = [
    "arn:aws:states:::dynamodb:getItem.sync",
    "arn:aws:states:::sns:publish.sync",
    "arn:aws:states:::sqs:sendMessage.sync",
    "arn:aws:states:::lambda:invoke.sync",
    "arn:aws:states:::http:invoke.waitForTaskToken",
    "arn:aws:states:::glue:startJobRun.waitForTaskToken",
    "arn:aws:states:::athena:getQueryResults.sync",
    "arn:aws:states:::bedrock:invokeModel.sync",
];

fn one_task(resource: &str) -> Value {
    json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": true}}})
}

fn diagnostic(resource: &str) -> String {
    format!(
        "The resource provided {resource} is not recognized. The value is not a valid resource \
         ARN, or the resource is not available in this region."
    )
}

#[test]
fn unsupported_patterns_are_refused_at_creation_with_aws_diagnostic() {
    let dir = temp_dir("integrations-patterns");
    for resource in UNSUPPORTED {
        let file = crate::integrations::write(&dir, "t.asl.json", &one_task(resource));
        let o = Command::new(stepwise_bin())
            .args(["validate", file.to_str().expect("path")])
            .output()
            .expect("running stepwise validate");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(o.status.code(), Some(1), "{resource}: {all}");
        assert!(all.contains(&diagnostic(resource)), "{resource}: {all}");
        assert!(all.contains("/States/T/Resource"), "{resource}: {all}");
    }
    let serve = Serve::start(&stepwise_bin(), &dir.join("data"), free_port(), &[]);
    for resource in UNSUPPORTED {
        let (status, out) = serve.call(
            "CreateStateMachine",
            json!({"name": "t", "definition": one_task(resource).to_string(),
                "roleArn": "arn:aws:iam::123456789012:role/r"}),
        );
        assert_eq!(status, 400, "{resource}: {out}");
        assert_eq!(out["__type"], "InvalidDefinition", "{resource}: {out}");
        let message = out["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("{} at /States/T/Resource", diagnostic(resource))),
            "{resource}: {message}"
        );
    }
    // Each supported pattern of the same integrations is accepted.
    for resource in [
        "arn:aws:states:::dynamodb:getItem",
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "arn:aws:states:::glue:startJobRun.sync",
        "arn:aws:states:::athena:startQueryExecution.sync",
        "arn:aws:states:::bedrock:invokeModel.waitForTaskToken",
        "arn:aws:states:::ecs:runTask.waitForTaskToken",
        "arn:aws:states:::states:startExecution.sync:2",
    ] {
        let (status, out) = serve.call(
            "ValidateStateMachineDefinition",
            json!({"definition": one_task(resource).to_string()}),
        );
        assert_eq!(status, 200, "{resource}: {out}");
        assert_eq!(out["result"], "OK", "{resource}: {out}");
    }
}

/// A task that fails as `error` says, caught into `$.<name>`.
fn caught(resource: &str, params: Value, error: &str, name: &str, next: &str) -> Value {
    json!({"Type": "Task", "Resource": format!("arn:aws:states:::{resource}"),
        "Parameters": params, "Next": next,
        "Catch": [{"ErrorEquals": [error], "ResultPath": format!("$.{name}"), "Next": next}]})
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_fails_the_task_by_name_through_run() {
    // DynamoDB that always throttles; SQS nobody listens on.
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let throttling = fake::start(move |_: &Seen| {
        counted.fetch_add(1, Ordering::SeqCst);
        Answer::error(
            400,
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        )
    })
    .await;
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let key = json!({"id": {"S": "1"}});
    let def = json!({"StartAt": "Missing", "States": {
        "Missing": caught("sqs:sendMessage", json!({"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q"}),
            "SQS.AmazonSQSException", "missing", "Unreachable"),
        "Unreachable": caught("sqs:sendMessage", json!({"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
            "MessageBody": "x"}), "SQS.SdkClientException", "unreachable", "Throttled"),
        "Throttled": caught("dynamodb:getItem", json!({"TableName": "t", "Key": key}),
            "DynamoDB.ThrottlingException", "throttled", "Done"),
        "Done": {"Type": "Succeed"}
    }});
    // A parameter Step Functions does not know: States.Runtime, which no Catch catches (as on
    // AWS), so the execution fails with the reason; no call is made.
    let unknown = json!({"StartAt": "Unknown", "States": {"Unknown": {"Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:getItem",
        "Parameters": {"TableName": "t", "Key": key, "Keys": 1},
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}], "End": true},
        "Done": {"Type": "Succeed"}}});
    let dir = temp_dir("integrations-bad-input");
    let run = |name: &str, def: &Value| {
        let file = crate::integrations::write(&dir, name, def);
        let (nobody, dynamodb) = (nobody.clone(), throttling.url.clone());
        tokio::task::block_in_place(move || {
            Command::new(stepwise_bin())
                .args(["run", file.to_str().expect("path"), "--quiet"])
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("AWS_REGION", "us-east-1")
                .env_remove("AWS_ENDPOINT_URL")
                .env("AWS_ENDPOINT_URL_SQS", nobody)
                .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb)
                .output()
                .expect("running stepwise")
        })
    };
    let o = run("unknown.asl.json", &unknown);
    assert_eq!(o.status.code(), Some(2), "FAILED");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("Error: States.Runtime"), "{stderr}");
    assert!(
        stderr.contains("[The field \"Keys\" is not supported by Step Functions]"),
        "{stderr}"
    );
    let o = run("bad.asl.json", &def);
    assert!(
        o.status.success(),
        "stepwise run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out: Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON");
    // A missing required parameter: the service's own validation error, without a call.
    assert_eq!(out["missing"]["Error"], "SQS.AmazonSQSException", "{out}");
    assert_eq!(
        out["unreachable"]["Error"], "SQS.SdkClientException",
        "{out}"
    );
    let cause = out["unreachable"]["Cause"].as_str().unwrap_or_default();
    assert!(
        cause.starts_with("Unable to execute HTTP request: "),
        "{cause}"
    );
    // Throttling: retried as the SDKs do (3 attempts), then the service's error name.
    assert_eq!(
        out["throttled"]["Error"], "DynamoDB.ThrottlingException",
        "{out}"
    );
    let cause = out["throttled"]["Cause"].as_str().unwrap_or_default();
    assert!(
        cause.starts_with("Rate of requests exceeds the allowed throughput. (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ThrottlingException;"),
        "{cause}"
    );
    // The unknown-parameter task never called; the throttled one tried three times.
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}
