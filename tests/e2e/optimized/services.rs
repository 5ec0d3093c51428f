//! The integrations on moto's server: SQS, SNS, DynamoDB, EventBridge, ECS, Glue, Athena.

use serde_json::{json, Value};

use super::*;

#[tokio::test]
async fn sqs_send_message() {
    let Some((_moto, aws)) = moto().await else {
        return;
    };
    let (url, _) = queue(&aws, "orders").await;

    // Request-response: a JSON body goes out as its JSON text.
    let out = ok(
        &aws,
        "arn:aws:states:::sqs:sendMessage",
        json!({"QueueUrl": url, "MessageBody": {"order": 7, "items": ["a"]},
               "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "new"}}}),
    )
    .await;
    assert_eq!(
        keys(&out),
        [
            "MD5OfMessageAttributes",
            "MD5OfMessageBody",
            "MessageId",
            "SdkHttpMetadata",
            "SdkResponseMetadata"
        ]
    );
    assert_http_metadata(&out);
    let messages = receive(&aws, &url).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["Body"], "{\"order\":7,\"items\":[\"a\"]}");
    assert_eq!(messages[0]["MessageId"], out["MessageId"]);
    assert_eq!(messages[0]["MD5OfBody"], out["MD5OfMessageBody"]);
    assert_eq!(
        messages[0]["MessageAttributes"]["kind"]["StringValue"],
        "new"
    );

    // .waitForTaskToken: the token reaches the queue; the result is SendMessage's.
    let out = ok(
        &aws,
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        json!({"QueueUrl": url, "MessageBody": {"TaskToken": "token-1", "step": "approve"}}),
    )
    .await;
    assert!(out["MessageId"].is_string());
    let messages = receive(&aws, &url).await;
    assert_eq!(messages.len(), 1);
    let body: Value =
        serde_json::from_str(messages[0]["Body"].as_str().unwrap_or("")).unwrap_or_default();
    assert_eq!(body, json!({"TaskToken": "token-1", "step": "approve"}));

    // Errors by name.
    let gone = format!("{}/123456789012/no-such-queue", aws_url(&url));
    let f = error(
        &aws,
        "arn:aws:states:::sqs:sendMessage",
        json!({"QueueUrl": gone, "MessageBody": "x"}),
    )
    .await;
    assert_eq!(f.error, "SQS.QueueDoesNotExistException", "{f}");
    assert!(
        f.cause
            .contains("(Service: AmazonSQS; Status Code: 400; Error Code: "),
        "{f}"
    );
    let f = error(
        &aws,
        "arn:aws:states:::sqs:sendMessage",
        json!({"QueueUrl": url}),
    )
    .await;
    assert_eq!(f.error, "SQS.AmazonSQSException", "{f}");
    let f = error(
        &aws,
        "arn:aws:states:::sqs:sendMessage",
        json!({"QueueUrl": url, "MessageBody": "x", "Body": 1}),
    )
    .await;
    assert_eq!(f.error, "States.Runtime", "{f}");
    assert!(
        f.cause
            .ends_with("[The field \"Body\" is not supported by Step Functions]"),
        "{f}"
    );
    assert!(receive(&aws, &url).await.is_empty());
}

/// `http://127.0.0.1:PORT` of a queue URL.
fn aws_url(queue_url: &str) -> String {
    let rest = queue_url.split("://").nth(1).unwrap_or("");
    let host = rest.split('/').next().unwrap_or("");
    format!("http://{host}")
}

#[tokio::test]
async fn sns_publish() {
    let Some((_moto, aws)) = moto().await else {
        return;
    };
    let topic = api(&aws, "sns", "CreateTopic", json!({"Name": "order-events"})).await["TopicArn"]
        .as_str()
        .expect("TopicArn")
        .to_string();
    let (url, queue_arn) = queue(&aws, "order-events-copy").await;
    api(
        &aws,
        "sns",
        "Subscribe",
        json!({"TopicArn": topic, "Protocol": "sqs", "Endpoint": queue_arn,
               "Attributes": {"RawMessageDelivery": "true"}}),
    )
    .await;

    let out = ok(
        &aws,
        "arn:aws:states:::sns:publish",
        json!({"TopicArn": topic, "Message": {"order": 7}, "Subject": "new order",
               "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "new"}}}),
    )
    .await;
    assert_eq!(
        keys(&out),
        ["MessageId", "SdkHttpMetadata", "SdkResponseMetadata"]
    );
    assert_http_metadata(&out);
    let messages = receive(&aws, &url).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["Body"], "{\"order\":7}");
    assert_eq!(
        messages[0]["MessageAttributes"]["kind"]["StringValue"],
        "new"
    );

    let out = ok(
        &aws,
        "arn:aws:states:::sns:publish.waitForTaskToken",
        json!({"TopicArn": topic, "Message": {"TaskToken": "token-1"}}),
    )
    .await;
    assert!(out["MessageId"].is_string());
    let messages = receive(&aws, &url).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["Body"], "{\"TaskToken\":\"token-1\"}");

    let missing = topic.replace("order-events", "no-such-topic");
    let f = error(
        &aws,
        "arn:aws:states:::sns:publish",
        json!({"TopicArn": missing, "Message": "x"}),
    )
    .await;
    assert_eq!(f.error, "SNS.NotFoundException", "{f}");
    assert!(
        f.cause
            .contains("(Service: AmazonSNS; Status Code: 404; Error Code: NotFound;"),
        "{f}"
    );
    let f = error(
        &aws,
        "arn:aws:states:::sns:publish",
        json!({"TopicArn": topic}),
    )
    .await;
    assert_eq!(f.error, "SNS.AmazonSNSException", "{f}");
}

#[tokio::test]
async fn dynamodb_item_operations() {
    let Some((_moto, aws)) = moto().await else {
        return;
    };
    api(
        &aws,
        "dynamodb",
        "CreateTable",
        json!({"TableName": "orders", "BillingMode": "PAY_PER_REQUEST",
               "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]}),
    )
    .await;
    let key = json!({"id": {"S": "o-7"}});
    let item = json!({"id": {"S": "o-7"}, "status": {"S": "NEW"}, "total": {"N": "12"}});
    let stored = || async {
        api(
            &aws,
            "dynamodb",
            "GetItem",
            json!({"TableName": "orders", "Key": key, "ConsistentRead": true}),
        )
        .await
        .get("Item")
        .cloned()
    };

    let out = ok(
        &aws,
        "arn:aws:states:::dynamodb:putItem",
        json!({"TableName": "orders", "Item": item}),
    )
    .await;
    assert_eq!(keys(&out), ["SdkHttpMetadata", "SdkResponseMetadata"]);
    assert_http_metadata(&out);
    assert_eq!(stored().await, Some(item.clone()));

    let out = ok(
        &aws,
        "arn:aws:states:::dynamodb:getItem",
        json!({"TableName": "orders", "Key": key}),
    )
    .await;
    assert_eq!(
        keys(&out),
        ["Item", "SdkHttpMetadata", "SdkResponseMetadata"]
    );
    assert_eq!(out["Item"], item);

    let out = ok(
        &aws,
        "arn:aws:states:::dynamodb:updateItem",
        json!({"TableName": "orders", "Key": key, "UpdateExpression": "SET #s = :s",
               "ExpressionAttributeNames": {"#s": "status"},
               "ExpressionAttributeValues": {":s": {"S": "PAID"}}, "ReturnValues": "UPDATED_NEW"}),
    )
    .await;
    assert_eq!(out["Attributes"], json!({"status": {"S": "PAID"}}));
    assert_eq!(
        stored().await.map(|i| i["status"].clone()),
        Some(json!({"S": "PAID"}))
    );

    let f = error(
        &aws,
        "arn:aws:states:::dynamodb:putItem",
        json!({"TableName": "orders", "Item": item, "ConditionExpression": "attribute_not_exists(id)"}),
    )
    .await;
    assert_eq!(f.error, "DynamoDB.ConditionalCheckFailedException", "{f}");
    assert!(f.cause.contains("(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ConditionalCheckFailedException;"), "{f}");

    let out = ok(
        &aws,
        "arn:aws:states:::dynamodb:deleteItem",
        json!({"TableName": "orders", "Key": key, "ReturnValues": "ALL_OLD"}),
    )
    .await;
    assert_eq!(out["Attributes"]["status"], json!({"S": "PAID"}));
    assert_eq!(stored().await, None);

    let f = error(
        &aws,
        "arn:aws:states:::dynamodb:getItem",
        json!({"TableName": "missing", "Key": key}),
    )
    .await;
    assert_eq!(f.error, "DynamoDB.ResourceNotFoundException", "{f}");
    let f = error(
        &aws,
        "arn:aws:states:::dynamodb:putItem",
        json!({"TableName": "orders", "Item": null}),
    )
    .await;
    assert_eq!(f.error, "DynamoDB.AmazonDynamoDBException", "{f}");
    assert!(
        f.cause
            .starts_with("1 validation error detected: Value null at 'item'"),
        "{f}"
    );
    // A value of the wrong type is refused as the service refuses it.
    let f = error(
        &aws,
        "arn:aws:states:::dynamodb:getItem",
        json!({"TableName": 5, "Key": key}),
    )
    .await;
    assert_eq!(f.error, "DynamoDB.AmazonDynamoDBException", "{f}");
}

#[tokio::test]
async fn events_put_events() {
    let Some((_moto, aws)) = moto().await else {
        return;
    };
    let (url, queue_arn) = queue(&aws, "order-bus-copy").await;
    api(
        &aws,
        "events",
        "PutRule",
        json!({"Name": "orders", "EventPattern": "{\"source\":[\"stepwise.orders\"]}"}),
    )
    .await;
    api(
        &aws,
        "events",
        "PutTargets",
        json!({"Rule": "orders", "Targets": [{"Id": "q", "Arn": queue_arn}]}),
    )
    .await;

    let out = ok(
        &aws,
        "arn:aws:states:::events:putEvents",
        json!({"Entries": [{"Detail": {"order": 7}, "DetailType": "OrderPlaced", "Source": "stepwise.orders"}]}),
    )
    .await;
    assert_eq!(keys(&out), ["Entries", "FailedEntryCount"]);
    assert_eq!(out["FailedEntryCount"], 0);
    let event_id = out["Entries"][0]["EventId"]
        .as_str()
        .expect("EventId")
        .to_string();
    let messages = receive(&aws, &url).await;
    assert_eq!(messages.len(), 1);
    let event: Value =
        serde_json::from_str(messages[0]["Body"].as_str().unwrap_or("")).unwrap_or_default();
    assert_eq!(event["id"], event_id);
    assert_eq!(event["detail"], json!({"order": 7}));
    assert_eq!(event["detail-type"], "OrderPlaced");
    assert_eq!(
        event["resources"],
        json!([
            "arn:aws:states:us-east-1:123456789012:stateMachine:orders",
            EXECUTION
        ])
    );

    let out = ok(
        &aws,
        "arn:aws:states:::events:putEvents.waitForTaskToken",
        json!({"Entries": [{"Detail": {"TaskToken": "token-1"}, "DetailType": "Approve", "Source": "stepwise.orders"}]}),
    )
    .await;
    assert_eq!(out["FailedEntryCount"], 0);
    let messages = receive(&aws, &url).await;
    let event: Value =
        serde_json::from_str(messages[0]["Body"].as_str().unwrap_or("")).unwrap_or_default();
    assert_eq!(event["detail"]["TaskToken"], "token-1");

    // An entry EventBridge refuses fails the task as EventBridge.FailedEntry.
    let f = error(
        &aws,
        "arn:aws:states:::events:putEvents",
        json!({"Entries": [{"Detail": {"a": 1}, "DetailType": "t", "Source": "stepwise.orders"},
                           {"Detail": {"a": 2}, "DetailType": "t"}]}),
    )
    .await;
    assert_eq!(f.error, "EventBridge.FailedEntry", "{f}");
    let cause: Value = serde_json::from_str(&f.cause).expect("cause is JSON");
    assert_eq!(cause["FailedEntryCount"], 1);
    assert!(cause["Entries"][0]["EventId"].is_string());
    assert!(cause["Entries"][1]["ErrorCode"].is_string());
}

#[tokio::test]
async fn ecs_run_task() {
    let Some((_moto, aws)) = moto().await else {
        return;
    };
    let cluster = api(&aws, "ecs", "CreateCluster", json!({"clusterName": "jobs"})).await
        ["cluster"]["clusterArn"]
        .as_str()
        .expect("clusterArn")
        .to_string();
    api(
        &aws,
        "ecs",
        "RegisterTaskDefinition",
        json!({"family": "report", "containerDefinitions": [
            {"name": "app", "image": "busybox", "memory": 128, "essential": true}]}),
    )
    .await;

    let out = ok(
        &aws,
        "arn:aws:states:::ecs:runTask",
        json!({"Cluster": cluster, "TaskDefinition": "report", "LaunchType": "FARGATE",
               "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"]}},
               "Overrides": {"ContainerOverrides": [{"Name": "app", "Environment": [{"Name": "ORDER", "Value": "7"}]}]}}),
    )
    .await;
    assert_eq!(
        keys(&out),
        [
            "Failures",
            "SdkHttpMetadata",
            "SdkResponseMetadata",
            "Tasks"
        ]
    );
    assert_http_metadata(&out);
    let task_arn = out["Tasks"][0]["TaskArn"]
        .as_str()
        .expect("TaskArn")
        .to_string();
    assert_eq!(out["Tasks"][0]["ClusterArn"], cluster);
    let described = api(
        &aws,
        "ecs",
        "DescribeTasks",
        json!({"cluster": cluster, "tasks": [task_arn]}),
    )
    .await;
    assert_eq!(described["tasks"][0]["taskArn"], task_arn.as_str());
    assert_eq!(
        described["tasks"][0]["overrides"]["containerOverrides"][0]["environment"][0],
        json!({"name": "ORDER", "value": "7"})
    );

    // .sync: moto's task goes to STOPPED as it is described; the result is the stopped task.
    let out = ok(
        &aws,
        "arn:aws:states:::ecs:runTask.sync",
        json!({"Cluster": cluster, "TaskDefinition": "report", "LaunchType": "FARGATE",
               "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"]}}}),
    )
    .await;
    assert_eq!(out["LastStatus"], "STOPPED", "{out}");
    assert_eq!(out["StartedBy"], "AWS Step Functions", "{out}");
    assert_eq!(out["Containers"][0]["ExitCode"], 0, "{out}");
    assert!(out.get("SdkHttpMetadata").is_none());
    let arn = out["TaskArn"].as_str().expect("TaskArn");
    let described = api(
        &aws,
        "ecs",
        "DescribeTasks",
        json!({"cluster": cluster, "tasks": [arn]}),
    )
    .await;
    assert_eq!(described["tasks"][0]["lastStatus"], "STOPPED");

    let f = error(
        &aws,
        "arn:aws:states:::ecs:runTask",
        json!({"Cluster": "nope", "TaskDefinition": "report"}),
    )
    .await;
    assert_eq!(f.error, "ECS.ClusterNotFoundException", "{f}");
    let f = error(
        &aws,
        "arn:aws:states:::ecs:runTask",
        json!({"TaskDefinition": "report", "Count": 2}),
    )
    .await;
    assert_eq!(f.error, "States.Runtime", "{f}");
}

#[tokio::test]
async fn glue_start_job_run() {
    let Some((_moto, aws)) = moto().await else {
        return;
    };
    api(
        &aws,
        "glue",
        "CreateJob",
        json!({"Name": "nightly", "Role": "arn:aws:iam::123456789012:role/glue",
               "Command": {"Name": "glueetl", "ScriptLocation": "s3://scripts/nightly.py"}}),
    )
    .await;
    let out = ok(
        &aws,
        "arn:aws:states:::glue:startJobRun",
        json!({"JobName": "nightly", "Arguments": {"--day": "1"}}),
    )
    .await;
    assert_eq!(
        keys(&out),
        [
            "JobName",
            "JobRunId",
            "SdkHttpMetadata",
            "SdkResponseMetadata"
        ]
    );
    assert_eq!(out["JobName"], "nightly");
    assert_http_metadata(&out);
    let run_id = out["JobRunId"].as_str().expect("JobRunId");
    let run = api(
        &aws,
        "glue",
        "GetJobRun",
        json!({"JobName": "nightly", "RunId": run_id}),
    )
    .await;
    assert_eq!(run["JobRun"]["Id"], run_id);

    let out = ok(
        &aws,
        "arn:aws:states:::glue:startJobRun.sync",
        json!({"JobName": "nightly"}),
    )
    .await;
    assert_eq!(out["JobRunState"], "SUCCEEDED");
    assert_eq!(out["JobName"], "nightly");
    assert!(out["StartedOn"].is_i64(), "epoch millis: {out}");
    assert!(out.get("SdkHttpMetadata").is_none());

    let f = error(
        &aws,
        "arn:aws:states:::glue:startJobRun",
        json!({"JobName": "no-such-job"}),
    )
    .await;
    assert_eq!(f.error, "Glue.EntityNotFoundException", "{f}");
}

#[tokio::test]
async fn athena_queries() {
    let Some((_moto, aws)) = moto().await else {
        return;
    };
    let start = json!({"QueryString": "SELECT 1", "WorkGroup": "primary",
                       "ResultConfiguration": {"OutputLocation": "s3://results/"}});
    let out = ok(
        &aws,
        "arn:aws:states:::athena:startQueryExecution",
        start.clone(),
    )
    .await;
    assert_eq!(
        keys(&out),
        ["QueryExecutionId", "SdkHttpMetadata", "SdkResponseMetadata"]
    );
    let id = out["QueryExecutionId"].as_str().expect("id").to_string();

    let out = ok(
        &aws,
        "arn:aws:states:::athena:startQueryExecution.sync",
        start,
    )
    .await;
    assert_eq!(keys(&out), ["QueryExecution"]);
    assert_eq!(out["QueryExecution"]["Status"]["State"], "SUCCEEDED");
    assert_eq!(out["QueryExecution"]["Query"], "SELECT 1");

    let out = ok(
        &aws,
        "arn:aws:states:::athena:getQueryExecution",
        json!({"QueryExecutionId": id}),
    )
    .await;
    assert_eq!(out["QueryExecution"]["QueryExecutionId"], id.as_str());
    assert_http_metadata(&out);
    let out = ok(
        &aws,
        "arn:aws:states:::athena:getQueryResults",
        json!({"QueryExecutionId": id, "MaxResults": 10}),
    )
    .await;
    assert!(out["ResultSet"].is_object(), "{out}");
    let out = ok(
        &aws,
        "arn:aws:states:::athena:stopQueryExecution",
        json!({"QueryExecutionId": id}),
    )
    .await;
    assert_eq!(keys(&out), ["SdkHttpMetadata", "SdkResponseMetadata"]);

    let f = error(
        &aws,
        "arn:aws:states:::athena:startQueryExecution",
        json!({"WorkGroup": "primary"}),
    )
    .await;
    assert_eq!(f.error, "Athena.AmazonAthenaException", "{f}");
}
