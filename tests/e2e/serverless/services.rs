//! Every kind of service integration through the invoker function on the emulators, as
//! `stepwise run` and `stepwise serve` are tested in `tests/e2e/integrations.rs` and
//! `tests/e2e/optimized/`: the task's output, the side effect read back from the service, and an
//! AWS error caught by its Step Functions name, for
//! - `sns:publish`, `sqs:sendMessage`, `dynamodb:put/get/update/deleteItem`, `events:putEvents`
//!   and one `aws-sdk:*` call per protocol family (DynamoDB awsJson, S3 restXml, SNS query);
//! - the Run a Job pattern without a Lambda waiting: `glue:startJobRun.sync` on moto and
//!   `states:startExecution.sync` / `.sync:2` (the invoker starts the job, records
//!   `TaskSubmitted`, and looks at the job again through the tasks queue), a child stopped with
//!   its parent;
//! - a human approval: `sqs:sendMessage.waitForTaskToken` hands the token out through a queue and
//!   the execution waits for SendTaskSuccess / SendTaskFailure through the API function;
//! - `http:invoke` and `apigateway:invoke` against a small HTTP server on 127.0.0.1.
//!
//! Every call is made as the execution's role (moto's STS): the resources live in its account.

use super::*;

/// An SDK configuration that calls moto as the executions' role (account 111111111111).
async fn as_role(h: &Harness) -> aws_config::SdkConfig {
    let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&h._emulators.moto_url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    let provider = aws_config::sts::AssumeRoleProvider::builder(API_ROLE)
        .session_name("test")
        .configure(&base)
        .build()
        .await;
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&h._emulators.moto_url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(provider)
        .load()
        .await
}

/// A caller for setup and checks, as the role.
pub(super) async fn role_caller(h: &Harness) -> stepwise_aws_api::AwsCaller {
    let config = as_role(h).await;
    let provider = config.credentials_provider().expect("credentials");
    stepwise_aws_api::AwsCaller::from_env(stepwise_aws_api::AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(h._emulators.moto_url.clone()),
    })
    .await
    .with_credentials(provider)
}

async fn api_call(
    c: &stepwise_aws_api::AwsCaller,
    service: &str,
    operation: &str,
    input: Value,
) -> Value {
    c.call(stepwise_aws_api::ApiCall {
        service,
        operation,
        input: &input,
        region: None,
    })
    .await
    .unwrap_or_else(|e| panic!("{service} {operation}: {e}"))
    .output
}

/// A queue in the role's account: (url, arn).
async fn queue(c: &stepwise_aws_api::AwsCaller, name: &str) -> (String, String) {
    let url = api_call(c, "sqs", "CreateQueue", json!({"QueueName": name})).await["QueueUrl"]
        .as_str()
        .expect("QueueUrl")
        .to_string();
    let attrs = api_call(
        c,
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

async fn bodies(c: &stepwise_aws_api::AwsCaller, url: &str) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..5 {
        let got = api_call(
            c,
            "sqs",
            "ReceiveMessage",
            json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1}),
        )
        .await;
        let messages = got["Messages"].as_array().cloned().unwrap_or_default();
        if messages.is_empty() && !out.is_empty() {
            break;
        }
        for m in messages {
            out.push(m["Body"].as_str().unwrap_or_default().to_string());
            let _ = api_call(
                c,
                "sqs",
                "DeleteMessage",
                json!({"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]}),
            )
            .await;
        }
    }
    out
}

/// Runs `arn` to its end and returns its output; the execution must succeed.
async fn succeeded(h: &Harness, sm: &str, name: &str, input: Value) -> (String, Value) {
    let arn = start_execution(h, sm, Some(name.into()), input, None)
        .await
        .expect("start");
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(180))
        .await;
    let (e, _) = h.outcome(&arn).await;
    assert_eq!(
        e.state.status,
        Status::Succeeded,
        "{:?} {:?}",
        e.state.error,
        e.state.cause
    );
    (arn, e.state.output.expect("output"))
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e["type"].as_str())
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn optimized_and_aws_sdk_services_through_the_invoker() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let c = role_caller(&h).await;
    let (orders_url, _) = queue(&c, "orders").await;
    let (announced_url, announced_arn) = queue(&c, "announced").await;
    let (bus_url, bus_arn) = queue(&c, "bus").await;
    let topic = api_call(&c, "sns", "CreateTopic", json!({"Name": "shipped"})).await["TopicArn"]
        .as_str()
        .expect("TopicArn")
        .to_string();
    api_call(
        &c,
        "sns",
        "Subscribe",
        json!({"TopicArn": topic, "Protocol": "sqs", "Endpoint": announced_arn,
            "Attributes": {"RawMessageDelivery": "true"}}),
    )
    .await;
    api_call(
        &c,
        "events",
        "PutRule",
        json!({"Name": "orders", "EventPattern": "{\"source\":[\"shop.orders\"]}"}),
    )
    .await;
    api_call(
        &c,
        "events",
        "PutTargets",
        json!({"Rule": "orders", "Targets": [{"Id": "q", "Arn": bus_arn}]}),
    )
    .await;
    api_call(
        &c,
        "dynamodb",
        "CreateTable",
        json!({"TableName": "orders",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"}),
    )
    .await;
    api_call(&c, "s3", "CreateBucket", json!({"Bucket": "receipts"})).await;

    let task = |resource: &str, params: Value, result: &str, next: &str| {
        json!({"Type": "Task", "Resource": format!("arn:aws:states:::{resource}"),
            "Parameters": params, "ResultPath": format!("$.{result}"), "Next": next})
    };
    let caught = |resource: &str, params: Value, error: &str, result: &str, next: &str| {
        json!({"Type": "Task", "Resource": format!("arn:aws:states:::{resource}"),
            "Parameters": params, "Next": next,
            "Catch": [{"ErrorEquals": [error], "ResultPath": format!("$.{result}"), "Next": next}]})
    };
    let key = json!({"id": {"S.$": "$.id"}});
    let sm = h
        .create(
            "services",
            &json!({"StartAt": "Put", "States": {
                "Put": task("dynamodb:putItem", json!({"TableName": "orders",
                    "Item": {"id": {"S.$": "$.id"}, "total": {"N": "42"}}}), "put", "Update"),
                "Update": task("dynamodb:updateItem", json!({"TableName": "orders", "Key": key,
                    "UpdateExpression": "SET #s = :s", "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": "paid"}}, "ReturnValues": "ALL_NEW"}),
                    "updated", "Get"),
                "Get": task("dynamodb:getItem", json!({"TableName": "orders", "Key": key}),
                    "got", "Send"),
                "Send": task("sqs:sendMessage", json!({"QueueUrl": orders_url,
                    "MessageBody": {"order.$": "$.id"}}), "sent", "Publish"),
                "Publish": task("sns:publish", json!({"TopicArn": topic,
                    "Message.$": "States.Format('shipped {}', $.id)"}), "published", "Events"),
                "Events": task("events:putEvents", json!({"Entries": [{"Source": "shop.orders",
                    "DetailType": "OrderPaid", "Detail": {"id.$": "$.id"}}]}), "events", "Json"),
                "Json": task("aws-sdk:dynamodb:describeTable", json!({"TableName": "orders"}),
                    "table", "RestXml"),
                "RestXml": task("aws-sdk:s3:putObject", json!({"Bucket": "receipts",
                    "Key.$": "$.id", "Body": {"paid": true}}), "object", "Query"),
                "Query": task("aws-sdk:sns:getTopicAttributes", json!({"TopicArn": topic}),
                    "topic", "Delete"),
                "Delete": task("dynamodb:deleteItem", json!({"TableName": "orders", "Key": key,
                    "ReturnValues": "ALL_OLD"}), "deleted", "NoTable"),
                "NoTable": caught("dynamodb:getItem", json!({"TableName": "missing", "Key": key}),
                    "DynamoDB.ResourceNotFoundException", "noTable", "NoTopic"),
                "NoTopic": caught("sns:publish", json!({"TopicArn": format!("{topic}-gone"),
                    "Message": "x"}), "SNS.NotFoundException", "noTopic", "NoKey"),
                "NoKey": caught("aws-sdk:s3:getObject", json!({"Bucket": "receipts",
                    "Key": "gone"}), "S3.NoSuchKeyException", "noKey", "Done"),
                "Done": {"Type": "Succeed"}}}),
        )
        .await;
    let (_, out) = succeeded(&h, &sm, "o-1", json!({"id": "o-1"})).await;

    assert_eq!(
        out["put"]["SdkHttpMetadata"]["HttpStatusCode"], 200,
        "{out}"
    );
    assert_eq!(out["updated"]["Attributes"]["status"], json!({"S": "paid"}));
    assert_eq!(out["got"]["Item"]["total"], json!({"N": "42"}));
    assert_eq!(out["deleted"]["Attributes"]["status"], json!({"S": "paid"}));
    assert!(out["sent"]["MessageId"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert!(out["published"]["MessageId"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert_eq!(out["events"]["FailedEntryCount"], 0, "{out}");
    assert_eq!(out["table"]["Table"]["TableName"], "orders");
    assert!(out["object"]["ETag"].as_str().is_some(), "{out}");
    assert_eq!(out["topic"]["Attributes"]["TopicArn"], json!(topic));
    assert_eq!(
        out["noTable"]["Error"],
        "DynamoDB.ResourceNotFoundException"
    );
    assert_eq!(out["noTopic"]["Error"], "SNS.NotFoundException");
    assert_eq!(out["noKey"]["Error"], "S3.NoSuchKeyException");

    // The side effects, read back from the services.
    assert_eq!(bodies(&c, &orders_url).await, vec!["{\"order\":\"o-1\"}"]);
    assert_eq!(bodies(&c, &announced_url).await, vec!["shipped o-1"]);
    let bus = bodies(&c, &bus_url).await;
    assert_eq!(bus.len(), 1, "{bus:?}");
    let event: Value = serde_json::from_str(&bus[0]).expect("event JSON");
    assert_eq!(event["detail-type"], "OrderPaid");
    assert_eq!(event["detail"], json!({"id": "o-1"}));
    let item = api_call(
        &c,
        "dynamodb",
        "GetItem",
        json!({"TableName": "orders", "Key": {"id": {"S": "o-1"}}}),
    )
    .await;
    assert!(item.get("Item").is_none(), "deleted: {item}");
    let object = api_call(
        &c,
        "s3",
        "GetObject",
        json!({"Bucket": "receipts", "Key": "o-1"}),
    )
    .await;
    assert_eq!(object["Body"], "{\"paid\":true}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_jobs_are_polled_through_the_queue_not_inside_the_invoker() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let c = role_caller(&h).await;
    api_call(
        &c,
        "glue",
        "CreateJob",
        json!({"Name": "nightly", "Role": "arn:aws:iam::111111111111:role/glue",
            "Command": {"Name": "glueetl", "ScriptLocation": "s3://scripts/nightly.py"}}),
    )
    .await;
    let child = h
        .create(
            "child",
            &json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
                "Result": {"Arg1": "argument1"}, "End": true}}}),
        )
        .await;
    let failing = h
        .create(
            "failing",
            &json!({"StartAt": "F", "States": {"F": {"Type": "Fail",
                "Error": "SomeFailure", "Cause": "it failed"}}}),
        )
        .await;
    let start = |sm: &str, pattern: &str, result: &str, next: &str| {
        json!({"Type": "Task", "Resource": format!("arn:aws:states:::states:startExecution{pattern}"),
            "Parameters": {"StateMachineArn": sm, "Input": {"from.$": "$$.Execution.Name"}},
            "ResultPath": format!("$.{result}"), "Next": next})
    };
    let mut failed_child = start(&failing, ".sync", "failed", "Glue");
    failed_child["Catch"] = json!([{"ErrorEquals": ["States.TaskFailed"],
        "ResultPath": "$.failed", "Next": "Glue"}]);
    let parent = h
        .create(
            "parent",
            &json!({"StartAt": "Sync", "States": {
                "Sync": start(&child, ".sync", "sync", "Sync2"),
                "Sync2": start(&child, ".sync:2", "sync2", "Failing"),
                "Failing": failed_child,
                "Glue": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
                    "Parameters": {"JobName": "nightly"}, "ResultPath": "$.glue",
                    "Next": "NoJob"},
                "NoJob": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
                    "Parameters": {"JobName": "missing"}, "Next": "Done",
                    "Catch": [{"ErrorEquals": ["Glue.EntityNotFoundException"],
                        "ResultPath": "$.noJob", "Next": "Done"}]},
                "Done": {"Type": "Succeed"}}}),
        )
        .await;
    let (arn, out) = succeeded(&h, &parent, "p-1", json!({})).await;
    assert_eq!(out["sync"]["Status"], "SUCCEEDED", "{out}");
    assert_eq!(out["sync"]["Output"], "{\"Arg1\":\"argument1\"}");
    assert_eq!(out["sync2"]["Output"], json!({"Arg1": "argument1"}));
    assert_eq!(out["sync2"]["Input"], json!({"from": "p-1"}));
    assert_eq!(out["failed"]["Error"], "States.TaskFailed");
    let cause: Value =
        serde_json::from_str(out["failed"]["Cause"].as_str().expect("cause")).expect("JSON");
    assert_eq!(cause["Status"], "FAILED");
    assert_eq!(cause["Error"], "SomeFailure");
    assert_eq!(out["glue"]["JobRunState"], "SUCCEEDED", "{out}");
    assert_eq!(out["glue"]["JobName"], "nightly");
    assert_eq!(out["noJob"]["Error"], "Glue.EntityNotFoundException");
    // The run exists in Glue.
    let runs = api_call(&c, "glue", "GetJobRuns", json!({"JobName": "nightly"})).await;
    assert_eq!(runs["JobRuns"].as_array().map(Vec::len), Some(1), "{runs}");

    // AWS's events for a job: TaskScheduled, TaskStarted, TaskSubmitted with the start call's
    // output, then TaskSucceeded with the job's description.
    let events = history_through_api(&h.api(), &arn, 1000, false).await;
    let t = types(&events);
    let first_sync: Vec<&str> = t
        .iter()
        .skip_while(|e| *e != "TaskScheduled")
        .take(4)
        .map(String::as_str)
        .collect();
    assert_eq!(
        first_sync,
        [
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded"
        ]
    );
    let submitted: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "TaskSubmitted")
        .collect();
    assert_eq!(submitted.len(), 4, "{t:?}");
    let details = &submitted[0]["taskSubmittedEventDetails"];
    assert_eq!(details["resource"], "startExecution.sync");
    assert_eq!(details["resourceType"], "states");
    let output: Value =
        serde_json::from_str(details["output"].as_str().expect("output")).expect("output JSON");
    assert!(output["ExecutionArn"].as_str().is_some(), "{output}");
    assert_eq!(output["SdkHttpMetadata"]["HttpStatusCode"], 200);
    let glue: Value = serde_json::from_str(
        submitted[3]["taskSubmittedEventDetails"]["output"]
            .as_str()
            .expect("output"),
    )
    .expect("JSON");
    assert_eq!(glue["JobName"], "nightly");
    assert!(glue["JobRunId"].as_str().is_some(), "{glue}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_child_is_stopped_with_its_parent() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let child = h
        .create(
            "slow",
            &json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600,
                "End": true}}}),
        )
        .await;
    let parent = h
        .create(
            "waiter",
            &json!({"StartAt": "Run", "States": {"Run": {"Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": child}, "End": true}}}),
        )
        .await;
    let arn = start_execution(&h, &parent, Some("p".into()), json!({}), None)
        .await
        .expect("start");
    // Until the parent's task is submitted: the child runs, the invoker returned.
    let mut child_arn = None;
    for _ in 0..200 {
        h.settle_queues().await;
        let events = history_through_api(&h.api(), &arn, 1000, false).await;
        if let Some(e) = events.iter().find(|e| e["type"] == "TaskSubmitted") {
            let output: Value = serde_json::from_str(
                e["taskSubmittedEventDetails"]["output"]
                    .as_str()
                    .unwrap_or("{}"),
            )
            .unwrap_or_default();
            child_arn = output["ExecutionArn"].as_str().map(str::to_string);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let child_arn = child_arn.expect("the parent's task was submitted");
    call(
        &h.api(),
        "StopExecution",
        json!({"executionArn": arn, "error": "Halt", "cause": "stopped by the test"}),
    )
    .await;
    // The next look finds the parent's task gone and stops the child.
    h.run_until_done(&[arn.clone(), child_arn.clone()], Duration::from_secs(120))
        .await;
    let (p, _) = h.outcome(&arn).await;
    assert_eq!(p.state.status, Status::Aborted);
    let (c, _) = h.outcome(&child_arn).await;
    assert_eq!(c.state.status, Status::Aborted);
}

#[tokio::test(flavor = "multi_thread")]
async fn human_approval_through_sqs_and_send_task_success() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let c = role_caller(&h).await;
    let (approvals, _) = queue(&c, "approvals").await;
    let sm = h
        .create(
            "approval",
            &json!({"StartAt": "Ask", "States": {
                "Ask": {"Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": approvals,
                        "MessageBody": {"order.$": "$.id", "token.$": "$$.Task.Token"}},
                    "HeartbeatSeconds": 3600, "ResultPath": "$.approval", "Next": "Done",
                    "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.rejected",
                        "Next": "Done"}]},
                "Done": {"Type": "Succeed"}}}),
        )
        .await;
    let svc = h.api();
    let mut arns = Vec::new();
    for id in ["yes", "no"] {
        arns.push(
            start_execution(&h, &sm, Some(id.into()), json!({"id": id}), None)
                .await
                .expect("start"),
        );
    }
    h.settle_queues().await;
    // The approver reads the requests from the queue and answers through the API.
    let mut answered = 0;
    for _ in 0..20 {
        for body in bodies(&c, &approvals).await {
            let m: Value = serde_json::from_str(&body).expect("message JSON");
            let token = m["token"].as_str().expect("token").to_string();
            if m["order"] == "yes" {
                call(
                    &svc,
                    "SendTaskSuccess",
                    json!({"taskToken": token, "output": "{\"approved\":true}"}),
                )
                .await;
            } else {
                call(
                    &svc,
                    "SendTaskFailure",
                    json!({"taskToken": token, "error": "Rejected", "cause": "too big"}),
                )
                .await;
            }
            answered += 1;
        }
        if answered == 2 {
            break;
        }
        h.settle_queues().await;
    }
    assert_eq!(answered, 2);
    h.run_until_done(&arns, Duration::from_secs(60)).await;
    let (yes, _) = h.outcome(&arns[0]).await;
    assert_eq!(yes.state.status, Status::Succeeded);
    assert_eq!(
        yes.state.output.expect("output")["approval"],
        json!({"approved": true})
    );
    let (no, _) = h.outcome(&arns[1]).await;
    assert_eq!(no.state.status, Status::Succeeded);
    assert_eq!(
        no.state.output.expect("output")["rejected"],
        json!({"Error": "Rejected", "Cause": "too big"})
    );
    let t = types(&history_through_api(&svc, &arns[0], 1000, false).await);
    let task: Vec<&str> = t
        .iter()
        .skip_while(|e| *e != "TaskScheduled")
        .take(4)
        .map(String::as_str)
        .collect();
    assert_eq!(
        task,
        [
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn http_and_apigateway_through_the_invoker() {
    let url = crate::integrations::start_http_server();
    let dir = crate::serve_common::temp_dir("serverless-http");
    let conns = crate::integrations::write(
        &dir,
        "connections.json",
        &crate::integrations::connections(&url),
    );
    let Some(h) = harness_with(None, false, None, Some(conns)).await else {
        return;
    };
    let sm = h
        .create("web", &crate::integrations::web_machine(&url))
        .await;
    let (_, out) = succeeded(&h, &sm, "w-1", json!({})).await;
    crate::integrations::check_web_output(&out);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_that_cannot_be_assumed_is_refused_at_creation() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let c = role_caller(&h).await;
    // The roles that exist, in the role's account of moto's IAM.
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    .to_string();
    for name in ["stepwise-run", "other"] {
        api_call(
            &c,
            "iam",
            "CreateRole",
            json!({"RoleName": name, "AssumeRolePolicyDocument": trust}),
        )
        .await;
    }
    let caller = stepwise_aws_api::AwsCaller::from_env(stepwise_aws_api::AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(h._emulators.moto_url.clone()),
    })
    .await
    .with_credentials(
        aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "tests"),
        ),
    );
    let svc = api::ApiService::with_role_check(
        h.aws.clone(),
        ServiceConfig {
            account: "111111111111".into(),
            ..Default::default()
        },
        None,
        Some(std::sync::Arc::new(
            stepwise_tasks_aws::roles::StsRoleCheck::new(caller),
        )),
    );
    let definition =
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string();
    let missing = "arn:aws:iam::111111111111:role/missing";
    let (status, out) = call_raw(
        &svc,
        Some("AWSStepFunctions.CreateStateMachine"),
        &json!({"name": "m", "definition": definition, "roleArn": missing}).to_string(),
        false,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(out["__type"], "AccessDeniedException", "{out}");
    assert_eq!(
        out["message"],
        "Neither the global service principal states.amazonaws.com, nor the regional one is \
         authorized to assume the provided role."
    );
    let arn = call(
        &svc,
        "CreateStateMachine",
        json!({"name": "m", "definition": definition, "roleArn": API_ROLE}),
    )
    .await["stateMachineArn"]
        .as_str()
        .expect("arn")
        .to_string();
    assert_eq!(
        call_err(
            &svc,
            "UpdateStateMachine",
            json!({"stateMachineArn": arn, "roleArn": missing}),
        )
        .await,
        "AccessDeniedException"
    );
    call(
        &svc,
        "UpdateStateMachine",
        json!({"stateMachineArn": arn, "roleArn": "arn:aws:iam::111111111111:role/other"}),
    )
    .await;
    let d = call(
        &svc,
        "DescribeStateMachine",
        json!({"stateMachineArn": arn}),
    )
    .await;
    assert_eq!(d["roleArn"], "arn:aws:iam::111111111111:role/other");
}
