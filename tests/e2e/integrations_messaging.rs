//! The messaging integrations' remaining cells end to end, through `stepwise run`, `stepwise
//! serve` and (`serverless/callbacks.rs` shares the helpers) the serverless invoker:
//! `events:putEvents` (the event delivered by a rule to a queue; an entry EventBridge refuses
//! caught as `EventBridge.FailedEntry`), `sqs:sendMessage` to a queue that does not exist
//! (`SQS.QueueDoesNotExistException`), `sns:publish` to a topic that does not exist
//! (`SNS.NotFoundException`), `dynamodb:updateItem` and `dynamodb:deleteItem` (the update
//! seen by the delete, the item gone from the table).

use serde_json::{json, Value};
use stepwise_aws_api::AwsCaller;
use stepwise_tests::stepwise_bin;

use crate::integrations_jobs::api;
use crate::serve_common::{free_port, temp_dir, wait_done, Serve};

/// Where the machine writes: (queue URL, topic ARN); a rule sends `shop.messaging` events to the
/// queue, and table `items` holds item `i-1`.
pub(crate) async fn create_messaging_resources(c: &AwsCaller) -> (String, String) {
    let url = api(c, "sqs", "CreateQueue", json!({"QueueName": "bus"})).await["QueueUrl"]
        .as_str()
        .expect("QueueUrl")
        .to_string();
    let arn = api(
        c,
        "sqs",
        "GetQueueAttributes",
        json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]}),
    )
    .await["Attributes"]["QueueArn"]
        .as_str()
        .expect("QueueArn")
        .to_string();
    api(
        c,
        "events",
        "PutRule",
        json!({"Name": "messaging", "EventPattern": "{\"source\":[\"shop.messaging\"]}"}),
    )
    .await;
    api(
        c,
        "events",
        "PutTargets",
        json!({"Rule": "messaging", "Targets": [{"Id": "q", "Arn": arn}]}),
    )
    .await;
    let topic = api(c, "sns", "CreateTopic", json!({"Name": "messaging"})).await["TopicArn"]
        .as_str()
        .expect("TopicArn")
        .to_string();
    api(
        c,
        "dynamodb",
        "CreateTable",
        json!({"TableName": "items", "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]}),
    )
    .await;
    api(
        c,
        "dynamodb",
        "PutItem",
        json!({"TableName": "items", "Item": {"id": {"S": "i-1"}, "n": {"N": "1"}}}),
    )
    .await;
    (url, topic)
}

fn caught(resource: &str, params: Value, error: &str, name: &str, next: &str) -> Value {
    json!({"Type": "Task", "Resource": format!("arn:aws:states:::{resource}"),
        "Parameters": params, "Next": next,
        "Catch": [{"ErrorEquals": [error], "ResultPath": format!("$.{name}"), "Next": next}]})
}

pub(crate) fn messaging_machine(queue: &str, topic: &str) -> Value {
    let missing_queue = format!("{}-gone", queue);
    json!({"StartAt": "Events", "States": {
        "Events": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
            "Parameters": {"Entries": [{"Source": "shop.messaging", "DetailType": "Paid",
                "Detail": {"id.$": "$.id"}}]},
            "ResultPath": "$.events", "Next": "FailedEntry"},
        "FailedEntry": caught("events:putEvents", json!({"Entries": [
                {"Source": "shop.messaging", "DetailType": "Paid", "Detail": {"n": 1}},
                {"DetailType": "Paid", "Detail": {"n": 2}}]}),
            "EventBridge.FailedEntry", "failedEntry", "NoQueue"),
        "NoQueue": caught("sqs:sendMessage", json!({"QueueUrl": missing_queue, "MessageBody": "x"}),
            "SQS.QueueDoesNotExistException", "noQueue", "NoTopic"),
        "NoTopic": caught("sns:publish", json!({"TopicArn": format!("{topic}-gone"), "Message": "x"}),
            "SNS.NotFoundException", "noTopic", "Update"),
        "Update": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {"TableName": "items", "Key": {"id": {"S": "i-1"}},
                "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"N": "2"}},
                "ReturnValues": "UPDATED_NEW"},
            "ResultSelector": {"new.$": "$.Attributes"}, "ResultPath": "$.updated", "Next": "Delete"},
        "Delete": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:deleteItem",
            "Parameters": {"TableName": "items", "Key": {"id": {"S": "i-1"}},
                "ReturnValues": "ALL_OLD"},
            "ResultSelector": {"old.$": "$.Attributes", "code.$": "$.SdkHttpMetadata.HttpStatusCode"},
            "ResultPath": "$.deleted", "Next": "Done"},
        "Done": {"Type": "Succeed"}
    }})
}

/// The output and the side effects, read back with `c`.
pub(crate) async fn check_messaging(out: &Value, c: &AwsCaller, queue: &str) {
    assert_eq!(out["events"]["FailedEntryCount"], 0, "{out}");
    let event_id = out["events"]["Entries"][0]["EventId"]
        .as_str()
        .expect("EventId");
    let got = api(
        c,
        "sqs",
        "ReceiveMessage",
        json!({"QueueUrl": queue, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1}),
    )
    .await;
    // The event, and the accepted entry of the call that had a failed one (EventBridge keeps
    // the entries it accepts, as AWS does).
    let mut events: Vec<Value> = Vec::new();
    for m in got["Messages"].as_array().cloned().unwrap_or_default() {
        events.push(serde_json::from_str(m["Body"].as_str().unwrap_or("")).unwrap_or_default());
        api(
            c,
            "sqs",
            "DeleteMessage",
            json!({"QueueUrl": queue, "ReceiptHandle": m["ReceiptHandle"]}),
        )
        .await;
    }
    let event = events
        .iter()
        .find(|e| e["id"] == event_id)
        .unwrap_or_else(|| panic!("{event_id} delivered: {events:?}"));
    assert_eq!(event["detail"], json!({"id": "m-1"}));
    assert_eq!(
        out["failedEntry"]["Error"], "EventBridge.FailedEntry",
        "{out}"
    );
    let cause: Value =
        serde_json::from_str(out["failedEntry"]["Cause"].as_str().unwrap_or("")).expect("JSON");
    assert_eq!(cause["FailedEntryCount"], 1, "{cause}");
    assert_eq!(
        out["noQueue"]["Error"], "SQS.QueueDoesNotExistException",
        "{out}"
    );
    assert_eq!(out["noTopic"]["Error"], "SNS.NotFoundException", "{out}");
    assert_eq!(out["deleted"]["code"], 200, "{out}");
    assert_eq!(out["updated"]["new"], json!({"n": {"N": "2"}}), "{out}");
    // The update reached the table before the delete read it back.
    assert_eq!(out["deleted"]["old"]["n"], json!({"N": "2"}), "{out}");
    let item = api(
        c,
        "dynamodb",
        "GetItem",
        json!({"TableName": "items", "Key": {"id": {"S": "i-1"}}}),
    )
    .await;
    assert!(item.get("Item").is_none(), "deleted: {item}");
}

async fn put_back(c: &AwsCaller) {
    api(
        c,
        "dynamodb",
        "PutItem",
        json!({"TableName": "items", "Item": {"id": {"S": "i-1"}, "n": {"N": "1"}}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn messaging_errors_and_deletes_through_run_and_serve() {
    let Some(emulators) = stepwise_tests::emulators::start_moto_or_skip() else {
        return;
    };
    let moto = emulators.moto_url.clone();
    let c = crate::integrations_jobs::test_caller(&moto).await;
    let (queue, topic) = create_messaging_resources(&c).await;
    let def = messaging_machine(&queue, &topic);
    let dir = temp_dir("integrations-messaging");
    let file = crate::integrations::write(&dir, "messaging.asl.json", &def);
    let env = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ];
    let o = tokio::task::block_in_place(|| {
        std::process::Command::new(stepwise_bin())
            .args([
                "run",
                file.to_str().expect("path"),
                "--quiet",
                "--aws-endpoint-url",
            ])
            .arg(&moto)
            .args(["--input", r#"{"id": "m-1"}"#])
            .envs(env)
            .output()
            .expect("running stepwise")
    });
    assert!(
        o.status.success(),
        "stepwise run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out: Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON");
    check_messaging(&out, &c, &queue).await;

    put_back(&c).await;
    let out = tokio::task::block_in_place(|| {
        let serve = Serve::start_with_env(
            &stepwise_bin(),
            &dir.join("data"),
            free_port(),
            &["--aws-endpoint-url", &moto],
            &env,
        );
        let sm = serve.ok(
            "CreateStateMachine",
            json!({"name": "messaging", "definition": def.to_string(),
                "roleArn": "arn:aws:iam::123456789012:role/r"}),
        )["stateMachineArn"]
            .as_str()
            .expect("arn")
            .to_string();
        let ex = serve.ok(
            "StartExecution",
            json!({"stateMachineArn": sm, "input": "{\"id\": \"m-1\"}"}),
        )["executionArn"]
            .as_str()
            .expect("arn")
            .to_string();
        let d = wait_done(&serve, &ex);
        assert_eq!(d["status"], "SUCCEEDED", "{d}");
        serde_json::from_str::<Value>(d["output"].as_str().expect("output")).expect("json")
    });
    check_messaging(&out, &c, &queue).await;
}
