//! The job and model integrations end to end, through `stepwise run` and `stepwise serve` (the
//! serverless invoker runs the same machine in `serverless/jobs.rs`): `ecs:runTask`,
//! `glue:startJobRun` and `athena:startQueryExecution` (request-response and `.sync`) and
//! `athena:getQueryResults` on moto's server; `batch:submitJob` (request-response and `.sync`)
//! and `bedrock:invokeModel` on the fake endpoint of `optimized/fake.rs` (moto cannot finish a
//! Batch job and has no Bedrock Runtime). For each: the task's output, the side effect read back
//! from the service (the ECS task, the Glue run, the Athena query, the requests the fake got),
//! and an AWS error caught by its Step Functions name.
//!
//! `run` and `serve` find the fake with the SDKs' own variables: `AWS_ENDPOINT_URL` is moto,
//! `AWS_ENDPOINT_URL_BATCH` and `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` the fake.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use stepwise_aws_api::{ApiCall, AwsCaller, AwsSettings};
use stepwise_tests::stepwise_bin;

use crate::optimized::fake::{self, Answer, Fake, Seen};
use crate::serve_common::{free_port, temp_dir, wait_done, Serve};

/// A setup or check call, outside the code under test.
pub(crate) async fn api(c: &AwsCaller, service: &str, operation: &str, input: Value) -> Value {
    c.call(ApiCall {
        service,
        operation,
        input: &input,
        region: None,
    })
    .await
    .unwrap_or_else(|e| panic!("{service} {operation}: {e}"))
    .output
}

pub(crate) async fn test_caller(url: &str) -> AwsCaller {
    AwsCaller::from_env(AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(url.into()),
    })
    .await
    .with_credentials(
        aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("test", "test", None, None, "e2e"),
        ),
    )
}

/// The ECS cluster and task definition and the Glue job the machine uses, in `c`'s account;
/// returns the cluster's ARN.
pub(crate) async fn create_job_resources(c: &AwsCaller) -> String {
    let cluster = api(c, "ecs", "CreateCluster", json!({"clusterName": "jobs"})).await["cluster"]
        ["clusterArn"]
        .as_str()
        .expect("clusterArn")
        .to_string();
    api(
        c,
        "ecs",
        "RegisterTaskDefinition",
        json!({"family": "report", "containerDefinitions": [
            {"name": "app", "image": "busybox", "memory": 128, "essential": true}]}),
    )
    .await;
    api(
        c,
        "glue",
        "CreateJob",
        json!({"Name": "nightly", "Role": "arn:aws:iam::123456789012:role/glue",
            "Command": {"Name": "glueetl", "ScriptLocation": "s3://scripts/nightly.py"}}),
    )
    .await;
    cluster
}

/// Batch (a job RUNNABLE, RUNNING, then SUCCEEDED; queue `missing` refused) and Bedrock Runtime
/// (a completion; model `no-such-model` not found); anything else is not answered (`None`).
pub(crate) fn answer_jobs(seen: &Seen, describes: &AtomicUsize) -> Option<Answer> {
    let op = seen.operation.as_str();
    Some(match op {
        "/v1/submitjob" if seen.body["jobQueue"] == "missing" => {
            Answer::error(400, "ClientException", "JobQueue missing not found")
        }
        "/v1/submitjob" => Answer::ok(json!({
            "jobArn": "arn:aws:batch:us-east-1:123456789012:job/j1",
            "jobName": seen.body["jobName"], "jobId": "j1"})),
        "/v1/describejobs" => {
            let n = describes.fetch_add(1, Ordering::SeqCst);
            let status = ["RUNNABLE", "RUNNING", "SUCCEEDED"][n.min(2)];
            Answer::ok(
                json!({"jobs": [{"jobId": "j1", "jobName": "report", "status": status,
                "createdAt": 1700000000000_i64, "container": {"exitCode": 0}}]}),
            )
        }
        _ if op.starts_with("/model/no-such-model/") => {
            Answer::error(404, "ResourceNotFoundException", "Model not found")
        }
        _ if op.starts_with("/model/") => {
            Answer::ok(json!({"completion": "Hello!", "echo": seen.body}))
        }
        _ => return None,
    })
}

/// The fake for Batch and Bedrock; with `behind`, every other request goes on to moto.
pub(crate) async fn jobs_fake(behind: Option<String>) -> Fake {
    let describes = Arc::new(AtomicUsize::new(0));
    fake::start_in_front_of(behind, move |seen: &Seen| answer_jobs(seen, &describes)).await
}

fn task(resource: &str, parameters: Value, selector: Value, result: &str, next: &str) -> Value {
    json!({"Type": "Task", "Resource": format!("arn:aws:states:::{resource}"),
        "Parameters": parameters, "ResultSelector": selector,
        "ResultPath": format!("$.{result}"), "Next": next})
}

fn caught(resource: &str, parameters: Value, error: &str, result: &str, next: &str) -> Value {
    json!({"Type": "Task", "Resource": format!("arn:aws:states:::{resource}"),
        "Parameters": parameters, "Next": next,
        "Catch": [{"ErrorEquals": [error], "ResultPath": format!("$.{result}"), "Next": next}]})
}

/// Every job integration in each pattern it supports, and an error of each caught by name.
pub(crate) fn jobs_machine(cluster: &str) -> Value {
    let ecs = json!({"Cluster": cluster, "TaskDefinition": "report", "LaunchType": "FARGATE",
        "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"]}},
        "Overrides": {"ContainerOverrides": [{"Name": "app",
            "Environment": [{"Name": "ORDER", "Value.$": "$.order"}]}]}});
    let query = json!({"QueryString": "SELECT 1", "WorkGroup": "primary",
        "ResultConfiguration": {"OutputLocation": "s3://results/"}});
    let batch = json!({"JobName": "report", "JobQueue": "q", "JobDefinition": "d"});
    json!({"StartAt": "EcsRr", "States": {
        "EcsRr": task("ecs:runTask", ecs.clone(), json!({"arn.$": "$.Tasks[0].TaskArn",
            "code.$": "$.SdkHttpMetadata.HttpStatusCode"}), "ecs", "EcsSync"),
        "EcsSync": task("ecs:runTask.sync", ecs, json!({"arn.$": "$.TaskArn",
            "status.$": "$.LastStatus", "startedBy.$": "$.StartedBy"}), "ecsSync", "EcsMissing"),
        "EcsMissing": caught("ecs:runTask", json!({"Cluster": "nope", "TaskDefinition": "report"}),
            "ECS.ClusterNotFoundException", "ecsMissing", "GlueRr"),
        "GlueRr": task("glue:startJobRun", json!({"JobName": "nightly",
            "Arguments": {"--order.$": "$.order"}}), json!({"id.$": "$.JobRunId",
            "code.$": "$.SdkHttpMetadata.HttpStatusCode"}), "glue", "GlueSync"),
        "GlueSync": task("glue:startJobRun.sync", json!({"JobName": "nightly"}),
            json!({"id.$": "$.Id", "state.$": "$.JobRunState"}), "glueSync", "GlueMissing"),
        "GlueMissing": caught("glue:startJobRun", json!({"JobName": "no-such-job"}),
            "Glue.EntityNotFoundException", "glueMissing", "AthenaRr"),
        "AthenaRr": task("athena:startQueryExecution", query.clone(),
            json!({"id.$": "$.QueryExecutionId"}), "athena", "AthenaSync"),
        "AthenaSync": task("athena:startQueryExecution.sync", query,
            json!({"id.$": "$.QueryExecution.QueryExecutionId",
                "state.$": "$.QueryExecution.Status.State"}), "athenaSync", "AthenaResults"),
        "AthenaResults": task("athena:getQueryResults", json!({"QueryExecutionId.$": "$.athena.id",
            "MaxResults": 10}), json!({"resultSet.$": "$.ResultSet"}), "athenaResults",
            "AthenaMissing"),
        "AthenaMissing": caught("athena:startQueryExecution", json!({"WorkGroup": "primary"}),
            "Athena.AmazonAthenaException", "athenaMissing", "BatchRr"),
        "BatchRr": task("batch:submitJob", batch.clone(), json!({"id.$": "$.JobId",
            "name.$": "$.JobName"}), "batch", "BatchSync"),
        "BatchSync": task("batch:submitJob.sync", batch, json!({"id.$": "$.JobId",
            "status.$": "$.Status"}), "batchSync", "BatchMissing"),
        "BatchMissing": caught("batch:submitJob", json!({"JobName": "r", "JobQueue": "missing",
            "JobDefinition": "d"}), "Batch.ClientException", "batchMissing", "Bedrock"),
        "Bedrock": task("bedrock:invokeModel", json!({"ModelId": "anthropic.claude-v2",
            "Body": {"prompt.$": "$.prompt"}}), json!({"completion.$": "$.Body.completion",
            "echo.$": "$.Body.echo"}), "bedrock", "BedrockMissing"),
        "BedrockMissing": caught("bedrock:invokeModel", json!({"ModelId": "no-such-model",
            "Body": {}}), "Bedrock.ResourceNotFoundException", "bedrockMissing", "Done"),
        "Done": {"Type": "Succeed"}
    }})
}

/// The machine's input.
pub(crate) fn jobs_input() -> Value {
    json!({"order": "o-7", "prompt": "Hi"})
}

/// The outputs, field by field, and the side effects: read back from moto with `c` (in the
/// account the execution called as) and from what `fake` received.
pub(crate) async fn check_jobs(out: &Value, c: &AwsCaller, cluster: &str, fake: &Fake) {
    assert_eq!(out["ecs"]["code"], 200, "{out}");
    let ecs_arn = out["ecs"]["arn"].as_str().expect("task arn");
    let described = api(
        c,
        "ecs",
        "DescribeTasks",
        json!({"cluster": cluster, "tasks": [ecs_arn]}),
    )
    .await;
    assert_eq!(
        described["tasks"][0]["overrides"]["containerOverrides"][0]["environment"][0],
        json!({"name": "ORDER", "value": "o-7"}),
        "{described}"
    );
    assert_eq!(out["ecsSync"]["status"], "STOPPED", "{out}");
    assert_eq!(out["ecsSync"]["startedBy"], "AWS Step Functions", "{out}");
    let sync_arn = out["ecsSync"]["arn"].as_str().expect("task arn");
    let described = api(
        c,
        "ecs",
        "DescribeTasks",
        json!({"cluster": cluster, "tasks": [sync_arn]}),
    )
    .await;
    assert_eq!(
        described["tasks"][0]["lastStatus"], "STOPPED",
        "{described}"
    );
    assert_eq!(out["ecsMissing"]["Error"], "ECS.ClusterNotFoundException");

    assert_eq!(out["glue"]["code"], 200, "{out}");
    let run_id = out["glue"]["id"].as_str().expect("run id");
    let run = api(
        c,
        "glue",
        "GetJobRun",
        json!({"JobName": "nightly", "RunId": run_id}),
    )
    .await;
    assert_eq!(
        run["JobRun"]["Arguments"],
        json!({"--order": "o-7"}),
        "{run}"
    );
    assert_eq!(out["glueSync"]["state"], "SUCCEEDED", "{out}");
    let runs = api(c, "glue", "GetJobRuns", json!({"JobName": "nightly"})).await;
    assert_eq!(runs["JobRuns"].as_array().map(Vec::len), Some(2), "{runs}");
    assert_eq!(out["glueMissing"]["Error"], "Glue.EntityNotFoundException");

    let query_id = out["athena"]["id"].as_str().expect("query id");
    let query = api(
        c,
        "athena",
        "GetQueryExecution",
        json!({"QueryExecutionId": query_id}),
    )
    .await;
    assert_eq!(query["QueryExecution"]["Query"], "SELECT 1", "{query}");
    assert_eq!(out["athenaSync"]["state"], "SUCCEEDED", "{out}");
    assert!(out["athenaResults"]["resultSet"].is_object(), "{out}");
    assert_eq!(
        out["athenaMissing"]["Error"],
        "Athena.AmazonAthenaException"
    );

    assert_eq!(out["batch"], json!({"id": "j1", "name": "report"}), "{out}");
    assert_eq!(out["batchSync"]["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["batchMissing"]["Error"], "Batch.ClientException");
    let cause = out["batchMissing"]["Cause"].as_str().unwrap_or_default();
    assert!(
        cause.starts_with("JobQueue missing not found (Service: AWSBatch; Status Code: 400;"),
        "{cause}"
    );
    assert_eq!(
        out["bedrock"],
        json!({"completion": "Hello!", "echo": {"prompt": "Hi"}}),
        "{out}"
    );
    assert_eq!(
        out["bedrockMissing"]["Error"],
        "Bedrock.ResourceNotFoundException"
    );

    // What the fake received: both submissions (the `.sync` one marked as Step Functions'),
    // the job followed to its end, the model invoked.
    let seen = fake.seen();
    let submits: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.operation == "/v1/submitjob")
        .collect();
    assert_eq!(submits.len(), 3, "{seen:?}");
    assert!(submits[0].body.get("containerOverrides").is_none());
    assert_eq!(
        submits[1].body["containerOverrides"]["environment"],
        json!([{"name": "MANAGED_BY_AWS", "value": "STARTED_BY_STEP_FUNCTIONS"}])
    );
    let describes = seen
        .iter()
        .filter(|s| s.operation == "/v1/describejobs")
        .count();
    assert_eq!(describes, 3, "RUNNABLE, RUNNING, SUCCEEDED: {seen:?}");
    let invoked: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.operation == "/model/anthropic.claude-v2/invoke")
        .collect();
    assert_eq!(invoked.len(), 1, "{seen:?}");
    assert_eq!(invoked[0].body, json!({"prompt": "Hi"}));
}

fn env_for(moto: &str, fake: &Fake) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ENDPOINT_URL", moto.into()),
        ("AWS_ENDPOINT_URL_BATCH", fake.url.clone()),
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url.clone()),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_and_models_through_run() {
    let Some(emulators) = stepwise_tests::emulators::start_moto_or_skip() else {
        return;
    };
    let moto = emulators.moto_url.clone();
    let c = test_caller(&moto).await;
    let cluster = create_job_resources(&c).await;
    let fake = jobs_fake(None).await;
    let dir = temp_dir("integrations-jobs-run");
    let def = crate::integrations::write(&dir, "jobs.asl.json", &jobs_machine(&cluster));
    let input = jobs_input().to_string();
    let env = env_for(&moto, &fake);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(stepwise_bin())
            .args(["run", def.to_str().expect("path"), "--quiet", "--input"])
            .arg(&input)
            .env_remove("AWS_ENDPOINT_URL_SFN")
            .envs(env)
            .output()
            .expect("running stepwise")
    })
    .await
    .expect("run");
    assert!(
        out.status.success(),
        "stepwise run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    check_jobs(&out, &c, &cluster, &fake).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_and_models_through_serve() {
    let Some(emulators) = stepwise_tests::emulators::start_moto_or_skip() else {
        return;
    };
    let moto = emulators.moto_url.clone();
    let c = test_caller(&moto).await;
    let cluster = create_job_resources(&c).await;
    let fake = jobs_fake(None).await;
    let env = env_for(&moto, &fake);
    let def = jobs_machine(&cluster);
    let out = tokio::task::spawn_blocking(move || {
        let dir = temp_dir("integrations-jobs-serve");
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let serve =
            Serve::start_with_env(&stepwise_bin(), &dir.join("data"), free_port(), &[], &env);
        let sm = serve.ok(
            "CreateStateMachine",
            json!({"name": "jobs", "definition": def.to_string(),
                "roleArn": "arn:aws:iam::123456789012:role/r"}),
        )["stateMachineArn"]
            .as_str()
            .expect("arn")
            .to_string();
        let ex = serve.ok(
            "StartExecution",
            json!({"stateMachineArn": sm, "input": jobs_input().to_string()}),
        )["executionArn"]
            .as_str()
            .expect("arn")
            .to_string();
        let d = wait_done(&serve, &ex);
        assert_eq!(d["status"], "SUCCEEDED", "{d}");
        serde_json::from_str::<Value>(d["output"].as_str().expect("output")).expect("json")
    })
    .await
    .expect("serve");
    check_jobs(&out, &c, &cluster, &fake).await;
}
