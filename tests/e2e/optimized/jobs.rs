//! The integrations on the fake endpoint: ECS `.sync` with exit codes, Batch `.sync`, Bedrock Runtime.

use serde_json::{json, Value};

use super::fake::{self, Answer, Seen};
use super::*;

/// ECS `.sync` on the fake endpoint: RunTask, then DescribeTasks RUNNING, then STOPPED.
async fn ecs_fake(exit_code: i64) -> fake::Fake {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    fake::start(move |seen: &Seen| {
        let task = |status: &str| {
            json!({"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/jobs/t1",
                   "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/jobs",
                   "lastStatus": status, "createdAt": 1700000000.5,
                   "startedBy": seen.body["startedBy"],
                   "stopCode": "EssentialContainerExited",
                   "containers": [{"name": "app", "exitCode": exit_code, "lastStatus": status}]})
        };
        match seen.operation.as_str() {
            "RunTask" => Answer::ok(json!({"tasks": [task("PROVISIONING")], "failures": []})),
            "DescribeTasks" => {
                let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Answer::ok(json!({"tasks": [task(if n == 0 { "RUNNING" } else { "STOPPED" })], "failures": []}))
            }
            other => Answer::error(400, "InvalidParameterException", other),
        }
    })
    .await
}

#[tokio::test]
async fn ecs_run_task_sync_polls_until_stopped() {
    let fake = ecs_fake(0).await;
    let aws = caller_for(&fake.url).await;
    let out = ok(
        &aws,
        "arn:aws:states:::ecs:runTask.sync",
        json!({"Cluster": "jobs", "TaskDefinition": "report"}),
    )
    .await;
    assert_eq!(out["LastStatus"], "STOPPED");
    assert_eq!(
        out["TaskArn"],
        "arn:aws:ecs:us-east-1:123456789012:task/jobs/t1"
    );
    assert_eq!(out["CreatedAt"], 1700000000500_i64);
    assert_eq!(out["Containers"][0]["ExitCode"], 0);
    assert!(out.get("SdkHttpMetadata").is_none());
    let seen = fake.seen();
    let ops: Vec<&str> = seen.iter().map(|s| s.operation.as_str()).collect();
    assert_eq!(ops, ["RunTask", "DescribeTasks", "DescribeTasks"]);
    assert_eq!(seen[0].body["startedBy"], "AWS Step Functions");
    assert_eq!(
        seen[1].body["tasks"][0],
        "arn:aws:ecs:us-east-1:123456789012:task/jobs/t1"
    );

    let fake = ecs_fake(3).await;
    let aws = caller_for(&fake.url).await;
    let f = error(
        &aws,
        "arn:aws:states:::ecs:runTask.sync",
        json!({"TaskDefinition": "report"}),
    )
    .await;
    assert_eq!(f.error, "States.TaskFailed", "{f}");
    let cause: Value = serde_json::from_str(&f.cause).expect("cause is the task");
    assert_eq!(cause["Containers"][0]["ExitCode"], 3);
}

#[tokio::test]
async fn batch_submit_job_sync_against_a_fake_endpoint() {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let fake = fake::start(move |seen: &Seen| match seen.operation.as_str() {
        "/v1/submitjob" if seen.body["jobQueue"] == "missing" => {
            Answer::error(400, "ClientException", "JobQueue missing not found")
        }
        "/v1/submitjob" => Answer::ok(json!({"jobArn": "arn:aws:batch:us-east-1:123456789012:job/j1",
                                             "jobName": seen.body["jobName"], "jobId": "j1"})),
        "/v1/describejobs" => {
            let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let status = ["RUNNABLE", "RUNNING", "SUCCEEDED"][n.min(2)];
            Answer::ok(json!({"jobs": [{"jobId": "j1", "jobName": "report", "status": status,
                "createdAt": 1700000000000_i64, "parameters": {"inputKey": "k"},
                "container": {"exitCode": 0, "environment": [{"name": "MANAGED_BY_AWS", "value": "STARTED_BY_STEP_FUNCTIONS"}]}}]}))
        }
        other => Answer::error(404, "ClientException", other),
    })
    .await;
    let aws = caller_for(&fake.url).await;

    let params = json!({"JobName": "report", "JobQueue": "q", "JobDefinition": "d", "Parameters": {"inputKey": "k"}});
    let out = ok(&aws, "arn:aws:states:::batch:submitJob", params.clone()).await;
    assert_eq!(out["JobId"], "j1");
    assert_eq!(out["JobName"], "report");
    assert_eq!(out["JobArn"], "arn:aws:batch:us-east-1:123456789012:job/j1");
    assert_http_metadata(&out);

    let out = ok(&aws, "arn:aws:states:::batch:submitJob.sync", params).await;
    assert_eq!(out["Status"], "SUCCEEDED");
    assert_eq!(out["JobId"], "j1");
    assert_eq!(out["Parameters"], json!({"inputKey": "k"}));
    assert_eq!(out["Container"]["ExitCode"], 0);
    let seen = fake.seen();
    let ops: Vec<&str> = seen.iter().map(|s| s.operation.as_str()).collect();
    assert_eq!(
        ops,
        [
            "/v1/submitjob",
            "/v1/submitjob",
            "/v1/describejobs",
            "/v1/describejobs",
            "/v1/describejobs"
        ]
    );
    assert!(seen[0].body.get("containerOverrides").is_none());
    assert_eq!(
        seen[1].body["containerOverrides"]["environment"],
        json!([{"name": "MANAGED_BY_AWS", "value": "STARTED_BY_STEP_FUNCTIONS"}])
    );
    assert_eq!(seen[1].body["parameters"], json!({"inputKey": "k"}));
    assert_eq!(seen[2].body, json!({"jobs": ["j1"]}));

    let f = error(
        &aws,
        "arn:aws:states:::batch:submitJob",
        json!({"JobName": "r", "JobQueue": "missing", "JobDefinition": "d"}),
    )
    .await;
    assert_eq!(f.error, "Batch.ClientException", "{f}");
    assert!(f.cause.starts_with("JobQueue missing not found (Service: AWSBatch; Status Code: 400; Error Code: ClientException;"), "{f}");
}

#[tokio::test]
async fn bedrock_invoke_model_against_a_fake_endpoint() {
    let fake = fake::start(|seen: &Seen| {
        if seen.operation.contains("no-such-model") {
            return Answer::error(404, "ResourceNotFoundException", "Model not found");
        }
        Answer::ok(json!({"completion": "Hello!", "echo": seen.body}))
    })
    .await;
    let aws = caller_for(&fake.url).await;
    let out = ok(
        &aws,
        "arn:aws:states:::bedrock:invokeModel",
        json!({"ModelId": "anthropic.claude-v2", "Body": {"prompt": "Hi", "max_tokens": 5}}),
    )
    .await;
    assert_eq!(
        out,
        json!({"Body": {"completion": "Hello!", "echo": {"prompt": "Hi", "max_tokens": 5}},
               "ContentType": "application/json"})
    );
    assert_eq!(
        fake.seen()[0].operation,
        "/model/anthropic.claude-v2/invoke"
    );

    let f = error(
        &aws,
        "arn:aws:states:::bedrock:invokeModel",
        json!({"ModelId": "no-such-model", "Body": {}}),
    )
    .await;
    assert_eq!(f.error, "Bedrock.ResourceNotFoundException", "{f}");
}

#[tokio::test]
async fn bedrock_model_customization_job_sync_against_a_fake_endpoint() {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let arn = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/m1";
    let fake = fake::start(move |seen: &Seen| {
        if seen.operation == "/model-customization-jobs" {
            return Answer::ok(json!({"jobArn": arn}));
        }
        let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let status = if n == 0 { "InProgress" } else { "Completed" };
        Answer::ok(json!({"jobArn": arn, "jobName": "tune", "status": status,
                          "hyperParameters": {"epochCount": "2"}, "creationTime": 1700000000}))
    })
    .await;
    let aws = caller_for(&fake.url).await;
    let out = ok(
        &aws,
        "arn:aws:states:::bedrock:createModelCustomizationJob.sync",
        json!({"JobName": "tune", "CustomModelName": "mine", "RoleArn": "arn:aws:iam::123456789012:role/r",
               "BaseModelIdentifier": "amazon.titan-text-express-v1",
               "TrainingDataConfig": {"S3Uri": "s3://data/train.jsonl"},
               "OutputDataConfig": {"S3Uri": "s3://data/out/"},
               "HyperParameters": {"epochCount": "2"}}),
    )
    .await;
    assert_eq!(
        out,
        json!({"CreationTime": 1700000000000_i64, "HyperParameters": {"epochCount": "2"},
               "JobArn": arn, "JobName": "tune", "Status": "Completed"})
    );
    let seen = fake.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[0].body["trainingDataConfig"],
        json!({"s3Uri": "s3://data/train.jsonl"})
    );
    assert_eq!(seen[0].body["hyperParameters"], json!({"epochCount": "2"}));
    assert!(
        seen[1].operation.starts_with("/model-customization-jobs/"),
        "{}",
        seen[1].operation
    );
}

/// A `.sync` task whose execution ends while it runs (the polling future is dropped, as when
/// the execution is stopped or times out) is stopped with StopTask, as Step Functions does.
#[tokio::test]
async fn an_abandoned_ecs_sync_task_is_stopped() {
    let fake = fake::start(|seen: &Seen| {
        let task = json!({"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/jobs/t9",
                          "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/jobs",
                          "lastStatus": "RUNNING"});
        match seen.operation.as_str() {
            "StopTask" => Answer::ok(json!({"task": task})),
            _ => Answer::ok(json!({"tasks": [task], "failures": []})),
        }
    })
    .await;
    let aws = caller_for(&fake.url).await;
    let req = task(
        "arn:aws:states:::ecs:runTask.sync",
        json!({"TaskDefinition": "report"}),
    );
    // Run the task until it is being polled, then drop it (what stopping the execution does).
    let mut invoke = Box::pin(optimized::invoke_with(&aws, &req, &FAST));
    let mut polled = false;
    for _ in 0..1000 {
        tokio::select! {
            r = &mut invoke => panic!("the task never stops by itself, yet: {r:?}"),
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        if fake.seen().iter().any(|s| s.operation == "DescribeTasks") {
            polled = true;
            break;
        }
    }
    assert!(polled, "DescribeTasks was called");
    drop(invoke);
    // The stop call runs in the background: wait for it (bounded), then check what it said.
    let mut stop = None;
    for _ in 0..500 {
        stop = fake.seen().into_iter().find(|s| s.operation == "StopTask");
        if stop.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stop = stop.expect("StopTask was called");
    assert_eq!(
        stop.body["task"],
        "arn:aws:ecs:us-east-1:123456789012:task/jobs/t9"
    );
    assert_eq!(
        stop.body["cluster"],
        "arn:aws:ecs:us-east-1:123456789012:cluster/jobs"
    );
}
