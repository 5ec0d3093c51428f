//! The optimized integrations (`stepwise_tasks_aws::optimized`) against real HTTP: moto's server
//! for SNS, SQS, DynamoDB, EventBridge, ECS, Glue and Athena, and a small fake endpoint on
//! 127.0.0.1 (`fake.rs`) for what moto cannot do (finish a Batch job, stop an ECS task with an
//! exit code, answer Bedrock Runtime). For each integration: the result checked field by field,
//! the side effect checked with a second API call (the message in the queue, the item in the
//! table), an AWS error caught by its Step Functions name, and the patterns it supports.
//! `.waitForTaskToken`: the token reaches the service (the engine does the waiting). Skipped
//! where moto cannot run, failed under CI.

pub(crate) mod fake;
mod jobs;
mod services;

use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use serde_json::{json, Value};
use stepwise_aws_api::{ApiCall, AwsCaller, AwsSettings};
use stepwise_ports::tasks::{TaskFailure, TaskRequest};
use stepwise_tasks_aws::optimized::{self, SyncPolling};
use stepwise_tests::emulators::{start_or_skip, Emulators};

const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:orders:run-1";
const FAST: SyncPolling = SyncPolling {
    first: Duration::from_millis(10),
    max: Duration::from_millis(10),
};

async fn caller_for(url: &str) -> AwsCaller {
    AwsCaller::from_env(AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(url.into()),
    })
    .await
    .with_credentials(SharedCredentialsProvider::new(Credentials::new(
        "test", "test", None, None, "e2e",
    )))
}

async fn moto() -> Option<(Emulators, AwsCaller)> {
    let emulators = start_or_skip()?;
    let caller = caller_for(&emulators.moto_url).await;
    Some((emulators, caller))
}

/// A setup or check call, outside the code under test.
async fn api(caller: &AwsCaller, service: &str, operation: &str, input: Value) -> Value {
    caller
        .call(ApiCall {
            service,
            operation,
            input: &input,
            region: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{service} {operation}: {e}"))
        .output
}

fn task(resource: &str, parameters: Value) -> TaskRequest {
    TaskRequest {
        execution_arn: EXECUTION.into(),
        state_machine_name: "orders".into(),
        state_name: "Step".into(),
        resource: resource.into(),
        parameters,
        test_case: None,
        task_token: resource
            .ends_with(".waitForTaskToken")
            .then(|| "token-1".to_string()),
        redrive_count: 0,
    }
}

async fn run(caller: &AwsCaller, resource: &str, parameters: Value) -> Result<Value, TaskFailure> {
    optimized::invoke_with(caller, &task(resource, parameters), &FAST).await
}

async fn ok(caller: &AwsCaller, resource: &str, parameters: Value) -> Value {
    run(caller, resource, parameters)
        .await
        .unwrap_or_else(|f| panic!("{resource} failed: {f}"))
}

async fn error(caller: &AwsCaller, resource: &str, parameters: Value) -> TaskFailure {
    match run(caller, resource, parameters).await {
        Ok(v) => panic!("{resource} succeeded: {v}"),
        Err(f) => f,
    }
}

/// `SdkHttpMetadata`/`SdkResponseMetadata` as the Java SDK reports them.
fn assert_http_metadata(out: &Value) {
    let http = &out["SdkHttpMetadata"];
    assert_eq!(http["HttpStatusCode"], 200, "{out}");
    let request_id = out["SdkResponseMetadata"]["RequestId"].as_str();
    assert!(request_id.is_some_and(|r| !r.is_empty()), "{out}");
    let headers = http["HttpHeaders"].as_object().expect("HttpHeaders");
    assert!(headers.keys().any(|k| k == "Content-Type"), "{out}");
    for (name, value) in headers {
        assert_eq!(http["AllHttpHeaders"][name][0], *value, "{out}");
    }
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

async fn queue(caller: &AwsCaller, name: &str) -> (String, String) {
    let url = api(caller, "sqs", "CreateQueue", json!({"QueueName": name})).await["QueueUrl"]
        .as_str()
        .expect("QueueUrl")
        .to_string();
    let attrs = api(
        caller,
        "sqs",
        "GetQueueAttributes",
        json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]}),
    )
    .await;
    let arn = attrs["Attributes"]["QueueArn"]
        .as_str()
        .expect("QueueArn")
        .to_string();
    (url, arn)
}

async fn receive(caller: &AwsCaller, url: &str) -> Vec<Value> {
    let out = api(
        caller,
        "sqs",
        "ReceiveMessage",
        json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1,
               "MessageAttributeNames": ["All"]}),
    )
    .await;
    out["Messages"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn an_unreachable_endpoint_is_an_sdk_client_exception() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let aws = caller_for(&format!("http://127.0.0.1:{port}")).await;
    let f = error(
        &aws,
        "arn:aws:states:::dynamodb:getItem",
        json!({"TableName": "t", "Key": {"id": {"S": "1"}}}),
    )
    .await;
    assert_eq!(f.error, "DynamoDB.SdkClientException", "{f}");
    assert!(
        f.cause.starts_with("Unable to execute HTTP request: "),
        "{f}"
    );
}
