//! The integrations end to end against a scripted backend: what each sends, what it returns,
//! how it fails. (The real calls are tested against moto in `tests/e2e/optimized.rs`.)

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};
use stepwise_ports::tasks::{TaskFailure, TaskRequest};
use stepwise_ports::BoxFuture;

use super::*;

/// Answers calls from a script and records them.
#[derive(Default)]
struct Script {
    answers: Mutex<VecDeque<Result<Reply, CallFailure>>>,
    calls: Mutex<Vec<(String, String, Value)>>,
}

impl Script {
    fn new(answers: Vec<Result<Reply, CallFailure>>) -> Self {
        Self {
            answers: Mutex::new(answers.into()),
            calls: Mutex::default(),
        }
    }

    fn calls(&self) -> Vec<(String, String, Value)> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl Backend for Script {
    fn call<'a>(
        &'a self,
        service: &'a str,
        operation: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Reply, CallFailure>> {
        if let Ok(mut c) = self.calls.lock() {
            c.push((service.into(), operation.into(), input));
        }
        let answer = self
            .answers
            .lock()
            .ok()
            .and_then(|mut a| a.pop_front())
            .unwrap_or(Err(CallFailure::Unavailable("no scripted answer".into())));
        Box::pin(async move { answer })
    }
}

fn ok(output: Value) -> Result<Reply, CallFailure> {
    Ok(Reply {
        status: 200,
        headers: vec![("x-amzn-RequestId".into(), "RID".into())],
        request_id: Some("RID".into()),
        output,
    })
}

fn req(resource: &str, parameters: Value) -> TaskRequest {
    TaskRequest {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:sm:e1".into(),
        state_machine_name: "sm".into(),
        state_name: "Task".into(),
        resource: resource.into(),
        parameters,
        test_case: None,
        task_token: None,
        redrive_count: 0,
    }
}

const FAST: SyncPolling = SyncPolling {
    first: Duration::from_millis(1),
    max: Duration::from_millis(1),
};

async fn run(script: &Script, resource: &str, parameters: Value) -> Result<Value, TaskFailure> {
    invoke_on(script, &req(resource, parameters), &FAST).await
}

const METADATA: &str = "SdkHttpMetadata";

#[test]
fn serves_only_the_supported_patterns() {
    let s = |r: &str| serves(&TaskResource::parse(r));
    assert!(s("arn:aws:states:::sqs:sendMessage"));
    assert!(s("arn:aws:states:::sqs:sendMessage.waitForTaskToken"));
    assert!(!s("arn:aws:states:::sqs:sendMessage.sync"));
    assert!(s("arn:aws:states:::dynamodb:updateItem"));
    assert!(!s("arn:aws:states:::dynamodb:query"));
    assert!(!s("arn:aws:states:::dynamodb:putItem.waitForTaskToken"));
    assert!(s("arn:aws:states:::ecs:runTask.sync"));
    assert!(s("arn:aws:states:::batch:submitJob.waitForTaskToken"));
    assert!(!s("arn:aws:states:::glue:startJobRun.waitForTaskToken"));
    assert!(s("arn:aws:states:::athena:startQueryExecution.sync"));
    assert!(!s("arn:aws:states:::athena:getQueryResults.sync"));
    assert!(s("arn:aws:states:::bedrock:invokeModel"));
    assert!(s("arn:aws-us-gov:states:::sns:publish"));
    assert!(!s("arn:aws:states:::lambda:invoke"));
    assert!(!s("arn:aws:states:::aws-sdk:sqs:sendMessage"));
    assert!(!s("arn:aws:lambda:us-east-1:1:function:f"));
}

#[tokio::test]
async fn sqs_sends_json_bodies_as_text_and_adds_http_metadata() {
    let script = Script::new(vec![ok(
        json!({"MessageId": "m1", "MD5OfMessageBody": "abc"}),
    )]);
    let out = run(
        &script,
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        json!({"QueueUrl": "http://q", "MessageBody": {"TaskToken": "tok", "n": 1}}),
    )
    .await;
    assert_eq!(
        script.calls(),
        [(
            "sqs".to_string(),
            "SendMessage".to_string(),
            json!({"QueueUrl": "http://q", "MessageBody": "{\"TaskToken\":\"tok\",\"n\":1}"})
        )]
    );
    let out = out.unwrap_or_default();
    assert_eq!(out["MessageId"], "m1");
    assert_eq!(out["MD5OfMessageBody"], "abc");
    assert_eq!(out[METADATA]["HttpStatusCode"], 200);
    assert_eq!(out["SdkResponseMetadata"]["RequestId"], "RID");
}

#[tokio::test]
async fn service_errors_carry_step_functions_names() {
    let script = Script::new(vec![Err(CallFailure::Service {
        status: 400,
        code: "AWS.SimpleQueueService.NonExistentQueue".into(),
        message: Some("The specified queue does not exist.".into()),
        request_id: Some("R".into()),
    })]);
    let out = run(
        &script,
        "arn:aws:states:::sqs:sendMessage",
        json!({"QueueUrl": "http://q", "MessageBody": "x"}),
    )
    .await;
    assert_eq!(
        out,
        Err(TaskFailure::new(
            "SQS.QueueDoesNotExistException",
            "The specified queue does not exist. (Service: AmazonSQS; Status Code: 400; Error \
             Code: AWS.SimpleQueueService.NonExistentQueue; Request ID: R; Proxy: null)"
        ))
    );
    let script = Script::new(vec![Err(CallFailure::Service {
        status: 404,
        code: "NotFound".into(),
        message: Some("Topic does not exist".into()),
        request_id: None,
    })]);
    let out = run(
        &script,
        "arn:aws:states:::sns:publish",
        json!({"TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": {"a": 1}}),
    )
    .await;
    assert_eq!(
        out.err().map(|f| f.error).as_deref(),
        Some("SNS.NotFoundException")
    );
    assert_eq!(script.calls()[0].2["Message"], "{\"a\":1}");
}

#[tokio::test]
async fn bad_parameters_fail_before_any_call() {
    let script = Script::new(vec![]);
    let missing = run(
        &script,
        "arn:aws:states:::dynamodb:putItem",
        json!({"TableName": "t", "Item": null}),
    )
    .await;
    assert_eq!(
        missing.err().map(|f| f.error).as_deref(),
        Some("DynamoDB.AmazonDynamoDBException")
    );
    let body = run(
        &script,
        "arn:aws:states:::sqs:sendMessage",
        json!({"QueueUrl": "q"}),
    )
    .await;
    let body = body.err();
    assert_eq!(
        body.as_ref().map(|f| f.error.as_str()),
        Some("SQS.AmazonSQSException")
    );
    assert!(body.is_some_and(|f| f.cause.starts_with(
        "The request must contain the parameter MessageBody. (Service: AmazonSQS; Status Code: \
         400; Error Code: MissingParameter;"
    )));
    let unknown = run(
        &script,
        "arn:aws:states:::dynamodb:getItem",
        json!({"TableName": "t", "Key": {}, "Limit": 1}),
    )
    .await;
    assert!(unknown.is_err_and(|f| f.error == "States.Runtime"
        && f.cause
            .ends_with("[The field \"Limit\" is not supported by Step Functions]")));
    let unsupported = run(&script, "arn:aws:states:::sqs:sendMessage.sync", json!({})).await;
    assert_eq!(
        unsupported.err().map(|f| f.error).as_deref(),
        Some("States.Runtime")
    );
    assert!(script.calls().is_empty());
}

#[tokio::test]
async fn dynamodb_returns_the_item_with_metadata() {
    let item = json!({"id": {"S": "1"}, "data": {"S": "x"}});
    let script = Script::new(vec![ok(json!({"Item": item}))]);
    let out = run(
        &script,
        "arn:aws:states:::dynamodb:getItem",
        json!({"TableName": "t", "Key": {"id": {"S": "1"}}}),
    )
    .await
    .unwrap_or_default();
    assert_eq!(out["Item"], item);
    assert!(out.get(METADATA).is_some());
    assert_eq!(script.calls()[0].1, "GetItem");
}

#[tokio::test]
async fn ecs_sync_polls_describe_tasks_until_stopped() {
    let arn = "arn:aws:ecs:us-east-1:1:task/c/t1";
    let cluster = "arn:aws:ecs:us-east-1:1:cluster/c";
    let task = |status: &str| {
        json!({"tasks": [{"taskArn": arn, "clusterArn": cluster, "lastStatus": status,
            "stopCode": "EssentialContainerExited", "containers": [{"exitCode": 0}]}]})
    };
    let script = Script::new(vec![
        ok(
            json!({"tasks": [{"taskArn": arn, "clusterArn": cluster, "lastStatus": "PROVISIONING"}], "failures": []}),
        ),
        ok(task("RUNNING")),
        ok(task("STOPPED")),
    ]);
    let out = run(
        &script,
        "arn:aws:states:::ecs:runTask.sync",
        json!({"Cluster": "c", "TaskDefinition": "td"}),
    )
    .await
    .unwrap_or_default();
    assert_eq!(out["TaskArn"], arn);
    assert_eq!(out["LastStatus"], "STOPPED");
    assert!(out.get(METADATA).is_none());
    let calls = script.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0].2["startedBy"], "AWS Step Functions");
    assert_eq!(calls[1].1, "DescribeTasks");
    assert_eq!(calls[1].2, json!({"tasks": [arn], "cluster": cluster}));
}

#[tokio::test]
async fn ecs_request_response_returns_run_task_in_pascal_case() {
    let script = Script::new(vec![ok(
        json!({"tasks": [{"taskArn": "t", "lastStatus": "PROVISIONING"}], "failures": []}),
    )]);
    let out = run(
        &script,
        "arn:aws:states:::ecs:runTask",
        json!({"TaskDefinition": "td"}),
    )
    .await
    .unwrap_or_default();
    assert_eq!(out["Tasks"][0]["TaskArn"], "t");
    assert_eq!(out["Failures"], json!([]));
    assert!(out.get(METADATA).is_some());
    assert!(script.calls()[0].2.get("startedBy").is_none());
}

#[tokio::test]
async fn batch_sync_fails_with_the_job_description() {
    let script = Script::new(vec![
        ok(json!({"jobArn": "a", "jobId": "j1", "jobName": "n"})),
        ok(json!({"jobs": [{"jobId": "j1", "status": "RUNNING"}]})),
        ok(json!({"jobs": [{"jobId": "j1", "status": "FAILED", "statusReason": "boom"}]})),
    ]);
    let out = run(
        &script,
        "arn:aws:states:::batch:submitJob.sync",
        json!({"JobName": "n", "JobQueue": "q", "JobDefinition": "d"}),
    )
    .await;
    assert_eq!(
        out,
        Err(TaskFailure::new(
            "States.TaskFailed",
            "{\"JobId\":\"j1\",\"Status\":\"FAILED\",\"StatusReason\":\"boom\"}"
        ))
    );
    assert_eq!(script.calls()[1].2, json!({"jobs": ["j1"]}));
}

#[tokio::test]
async fn glue_adds_the_job_name_and_sync_returns_the_job_run() {
    let script = Script::new(vec![ok(json!({"JobRunId": "jr_1"}))]);
    let out = run(
        &script,
        "arn:aws:states:::glue:startJobRun",
        json!({"JobName": "j"}),
    )
    .await
    .unwrap_or_default();
    assert_eq!(
        (out["JobName"].clone(), out["JobRunId"].clone()),
        (json!("j"), json!("jr_1"))
    );
    assert!(out.get(METADATA).is_some());

    let script = Script::new(vec![
        ok(json!({"JobRunId": "jr_1"})),
        ok(json!({"JobRun": {"Id": "jr_1", "JobName": "j", "JobRunState": "RUNNING"}})),
        ok(json!({"JobRun": {"Id": "jr_1", "JobName": "j", "JobRunState": "SUCCEEDED"}})),
    ]);
    let out = run(
        &script,
        "arn:aws:states:::glue:startJobRun.sync",
        json!({"JobName": "j"}),
    )
    .await;
    assert_eq!(
        out,
        Ok(json!({"Id": "jr_1", "JobName": "j", "JobRunState": "SUCCEEDED"}))
    );
    assert_eq!(
        script.calls()[1].2,
        json!({"JobName": "j", "RunId": "jr_1"})
    );
}

#[tokio::test]
async fn athena_sync_returns_the_query_execution() {
    let q = |s: &str| json!({"QueryExecution": {"QueryExecutionId": "q1", "Status": {"State": s}}});
    let script = Script::new(vec![
        ok(json!({"QueryExecutionId": "q1"})),
        ok(q("QUEUED")),
        ok(q("SUCCEEDED")),
    ]);
    let out = run(
        &script,
        "arn:aws:states:::athena:startQueryExecution.sync",
        json!({"QueryString": "SELECT 1", "WorkGroup": "primary"}),
    )
    .await;
    assert_eq!(out, Ok(q("SUCCEEDED")));
}

#[tokio::test]
async fn events_and_bedrock_have_no_http_metadata() {
    let script = Script::new(vec![ok(
        json!({"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]}),
    )]);
    let out = run(
        &script,
        "arn:aws:states:::events:putEvents",
        json!({"Entries": [{"Detail": {}, "DetailType": "t", "Source": "s"}]}),
    )
    .await;
    assert_eq!(
        out,
        Ok(json!({"Entries": [{"EventId": "e"}], "FailedEntryCount": 0}))
    );

    let script = Script::new(vec![ok(
        json!({"body": "{\"a\":1}", "contentType": "application/json"}),
    )]);
    let out = run(
        &script,
        "arn:aws:states:::bedrock:invokeModel",
        json!({"ModelId": "m", "Body": {"p": 1}}),
    )
    .await;
    assert_eq!(
        out,
        Ok(json!({"Body": {"a": 1}, "ContentType": "application/json"}))
    );
}

#[tokio::test]
async fn transport_failures_are_sdk_client_exceptions() {
    let script = Script::new(vec![Err(CallFailure::Transport(
        "connection refused".into(),
    ))]);
    let out = run(
        &script,
        "arn:aws:states:::dynamodb:deleteItem",
        json!({"TableName": "t", "Key": {}}),
    )
    .await;
    assert_eq!(
        out,
        Err(TaskFailure::new(
            "DynamoDB.SdkClientException",
            "Unable to execute HTTP request: connection refused"
        ))
    );
}
