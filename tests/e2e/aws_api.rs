//! The generic AWS caller (`stepwise-aws-api`) against moto's server over real HTTP, one block
//! per protocol: awsJson1_0 (DynamoDB, Step Functions), awsJson1_1 (EventBridge), awsJson1_0
//! with query-compatible errors (SQS), awsQuery (SNS, STS), restJson1 (Lambda, Batch), restXml
//! (S3), ec2Query (EC2). Each checks a success output field by field, a side effect through a
//! second call, and one service error by code and message. Skipped without moto (failed in CI).

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use serde_json::{json, Value};
use stepwise_aws_api::{ApiCall, ApiCallError, ApiResponse, AwsCaller, AwsSettings};
use stepwise_tests::emulators::{start_moto_or_skip, Emulators};

/// moto and a caller pointed at it (with `--aws-endpoint-url`, static test credentials).
async fn moto() -> Option<(Emulators, AwsCaller)> {
    let emulators = start_moto_or_skip()?;
    let caller = AwsCaller::from_env(AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(emulators.moto_url.clone()),
    })
    .await
    .with_credentials(SharedCredentialsProvider::new(Credentials::new(
        "test", "test", None, None, "tests",
    )));
    Some((emulators, caller))
}

async fn call(
    caller: &AwsCaller,
    service: &str,
    operation: &str,
    input: Value,
) -> Result<ApiResponse, ApiCallError> {
    caller
        .call(ApiCall {
            service,
            operation,
            input: &input,
            region: None,
        })
        .await
}

async fn ok(caller: &AwsCaller, service: &str, operation: &str, input: Value) -> Value {
    match call(caller, service, operation, input).await {
        Ok(r) => {
            assert!((200..300).contains(&r.status), "{service}:{operation}");
            r.output
        }
        Err(e) => panic!("{service}:{operation} failed: {e:?}"),
    }
}

async fn service_error(
    caller: &AwsCaller,
    service: &str,
    operation: &str,
    input: Value,
) -> (u16, String, String) {
    match call(caller, service, operation, input).await {
        Err(ApiCallError::Service {
            status,
            code,
            message,
            ..
        }) => (status, code, message),
        other => panic!("{service}:{operation}: expected a service error, got {other:?}"),
    }
}

#[tokio::test]
async fn aws_json_1_0_dynamodb_put_get_and_a_missing_table() {
    let Some((_moto, c)) = moto().await else {
        return;
    };
    let created = ok(
        &c,
        "dynamodb",
        "CreateTable",
        json!({
            "TableName": "orders",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .await;
    assert_eq!(created["TableDescription"]["TableName"], "orders");
    assert!(created["TableDescription"]["CreationDateTime"].is_number());
    let put = call(
        &c,
        "dynamodb",
        "PutItem",
        json!({"TableName": "orders", "Item": {"pk": {"S": "o-1"}, "qty": {"N": "3"}, "tags": {"SS": ["a", "b"]}}}),
    )
    .await
    .expect("PutItem");
    assert_eq!(put.output, json!({}));
    assert!(put.request_id.is_some());
    let got = ok(
        &c,
        "dynamodb",
        "GetItem",
        json!({"TableName": "orders", "Key": {"pk": {"S": "o-1"}}}),
    )
    .await;
    assert_eq!(got["Item"]["pk"], json!({"S": "o-1"}));
    assert_eq!(got["Item"]["qty"], json!({"N": "3"}));
    assert_eq!(got["Item"]["tags"], json!({"SS": ["a", "b"]}));
    let (status, code, message) = service_error(
        &c,
        "dynamodb",
        "GetItem",
        json!({"TableName": "missing", "Key": {"pk": {"S": "x"}}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(message, "Requested resource not found");
}

#[tokio::test]
async fn aws_json_1_0_stepfunctions_and_1_1_eventbridge() {
    let Some((_moto, c)) = moto().await else {
        return;
    };
    let listed = ok(&c, "stepfunctions", "ListStateMachines", json!({})).await;
    assert_eq!(listed["stateMachines"], json!([]));
    let created = ok(
        &c,
        "stepfunctions",
        "CreateStateMachine",
        json!({
            "name": "m",
            "definition": r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
            "roleArn": "arn:aws:iam::123456789012:role/r"
        }),
    )
    .await;
    let arn = created["stateMachineArn"]
        .as_str()
        .expect("arn")
        .to_string();
    assert_eq!(arn, "arn:aws:states:us-east-1:123456789012:stateMachine:m");
    assert!(created["creationDate"].is_number());
    let listed = ok(&c, "stepfunctions", "ListStateMachines", json!({})).await;
    assert_eq!(listed["stateMachines"][0]["stateMachineArn"], arn);
    assert_eq!(listed["stateMachines"][0]["name"], "m");
    let (status, code, _) = service_error(
        &c,
        "stepfunctions",
        "DescribeExecution",
        json!({"executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:nope"}),
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "ExecutionDoesNotExist"));

    ok(&c, "events", "CreateEventBus", json!({"Name": "bus"})).await;
    let put = ok(
        &c,
        "events",
        "PutEvents",
        json!({"Entries": [{"Source": "shop", "DetailType": "order", "Detail": "{\"id\":1}", "EventBusName": "bus"}]}),
    )
    .await;
    assert_eq!(put["FailedEntryCount"], 0);
    assert!(put["Entries"][0]["EventId"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    let buses = ok(&c, "events", "ListEventBuses", json!({"NamePrefix": "bus"})).await;
    assert_eq!(buses["EventBuses"][0]["Name"], "bus");
    let (status, code, message) =
        service_error(&c, "events", "DescribeEventBus", json!({"Name": "nope"})).await;
    assert_eq!(status, 400);
    assert_eq!(code, "ResourceNotFoundException");
    assert!(message.contains("nope"), "{message}");
}

#[tokio::test]
async fn aws_json_sqs_send_receive_and_a_missing_queue() {
    let Some((_moto, c)) = moto().await else {
        return;
    };
    let q = ok(&c, "sqs", "CreateQueue", json!({"QueueName": "jobs"})).await;
    let url = q["QueueUrl"].as_str().expect("QueueUrl").to_string();
    assert!(url.ends_with("/jobs"), "{url}");
    let sent = ok(
        &c,
        "sqs",
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "hello",
               "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}}),
    )
    .await;
    // MD5 of "hello".
    assert_eq!(sent["MD5OfMessageBody"], "5d41402abc4b2a76b9719d911017c592");
    assert!(sent["MessageId"].as_str().is_some());
    let got = ok(
        &c,
        "sqs",
        "ReceiveMessage",
        json!({"QueueUrl": url, "MessageAttributeNames": ["All"]}),
    )
    .await;
    assert_eq!(got["Messages"][0]["Body"], "hello");
    assert_eq!(got["Messages"][0]["MessageId"], sent["MessageId"]);
    assert_eq!(
        got["Messages"][0]["MessageAttributes"]["k"]["StringValue"],
        "v"
    );
    let (status, code, _) =
        service_error(&c, "sqs", "GetQueueUrl", json!({"QueueName": "nope"})).await;
    assert_eq!(status, 400);
    assert_eq!(code, "AWS.SimpleQueueService.NonExistentQueue");
}

#[tokio::test]
async fn query_sns_publish_sts_identity_and_a_missing_topic() {
    let Some((_moto, c)) = moto().await else {
        return;
    };
    let topic = ok(&c, "sns", "CreateTopic", json!({"Name": "news"})).await;
    let arn = topic["TopicArn"].as_str().expect("TopicArn").to_string();
    assert_eq!(arn, "arn:aws:sns:us-east-1:123456789012:news");
    let q = ok(&c, "sqs", "CreateQueue", json!({"QueueName": "sub"})).await;
    let queue_url = q["QueueUrl"].as_str().expect("QueueUrl").to_string();
    ok(
        &c,
        "sns",
        "Subscribe",
        json!({"TopicArn": arn, "Protocol": "sqs",
               "Endpoint": "arn:aws:sqs:us-east-1:123456789012:sub",
               "Attributes": {"RawMessageDelivery": "true"}}),
    )
    .await;
    let published = ok(
        &c,
        "sns",
        "Publish",
        json!({"TopicArn": arn, "Message": "big news & more",
               "MessageAttributes": {"a": {"DataType": "String", "StringValue": "1"}}}),
    )
    .await;
    assert!(published["MessageId"]
        .as_str()
        .is_some_and(|s| s.len() >= 32));
    let got = ok(&c, "sqs", "ReceiveMessage", json!({"QueueUrl": queue_url})).await;
    assert_eq!(got["Messages"][0]["Body"], "big news & more");
    let topics = ok(&c, "sns", "ListTopics", json!({})).await;
    assert_eq!(topics["Topics"], json!([{"TopicArn": arn}]));
    let (status, code, message) = service_error(
        &c,
        "sns",
        "Publish",
        json!({"TopicArn": "arn:aws:sns:us-east-1:123456789012:nope", "Message": "x"}),
    )
    .await;
    assert_eq!((status, code.as_str()), (404, "NotFound"));
    // moto's text for it (AWS says "Topic does not exist").
    assert_eq!(message, "Endpoint does not exist");

    let me = call(&c, "sts", "GetCallerIdentity", json!({}))
        .await
        .expect("GetCallerIdentity");
    assert_eq!(me.output["Account"], "123456789012");
    assert!(me.output["Arn"]
        .as_str()
        .is_some_and(|a| a.starts_with("arn:aws:")));
    assert!(me.output["UserId"].is_string());
    assert!(me.request_id.is_some());
}

#[tokio::test]
async fn client_side_errors_are_never_sent() {
    let Some((_moto, c)) = moto().await else {
        return;
    };
    match call(
        &c,
        "dynamodb",
        "PutItem",
        json!({"TableName": "t", "Itemz": {}}),
    )
    .await
    {
        Err(ApiCallError::Validation { message }) => {
            assert!(message.contains("Unknown parameter \"Itemz\""), "{message}");
            assert!(
                message.contains("Missing required parameter \"Item\""),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        call(&c, "nosuch", "Op", json!({})).await,
        Err(ApiCallError::UnknownService("nosuch".into()))
    );
    assert_eq!(
        call(&c, "sqs", "Explode", json!({})).await,
        Err(ApiCallError::UnknownOperation {
            service: "sqs".into(),
            operation: "Explode".into()
        })
    );
    // A closed port: no HTTP answer, after the standard mode's attempts.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let closed = AwsCaller::from_env(AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(format!("http://127.0.0.1:{port}")),
    })
    .await
    .with_credentials(SharedCredentialsProvider::new(Credentials::new(
        "test", "test", None, None, "tests",
    )));
    match call(&closed, "sqs", "ListQueues", json!({})).await {
        Err(ApiCallError::Transport { message }) => {
            assert!(
                message.starts_with("Unable to execute HTTP request"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn rest_xml_s3_put_get_list_delete_and_missing_key_and_bucket() {
    let Some((_moto, c)) = moto().await else {
        return;
    };
    ok(&c, "s3", "CreateBucket", json!({"Bucket": "docs"})).await;
    let put = ok(
        &c,
        "s3",
        "PutObject",
        json!({"Bucket": "docs", "Key": "a/b c.txt", "Body": "hello world",
               "ContentType": "text/plain", "Metadata": {"owner": "ann"}}),
    )
    .await;
    assert_eq!(put["ETag"], "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"");
    let got = ok(
        &c,
        "s3",
        "GetObject",
        json!({"Bucket": "docs", "Key": "a/b c.txt"}),
    )
    .await;
    assert_eq!(got["Body"], "hello world");
    assert_eq!(got["ContentLength"], 11);
    assert_eq!(got["ContentType"], "text/plain");
    assert_eq!(got["ETag"], put["ETag"]);
    assert_eq!(got["Metadata"], json!({"owner": "ann"}));
    assert!(got["LastModified"].is_number());
    let listed = ok(
        &c,
        "s3",
        "ListObjectsV2",
        json!({"Bucket": "docs", "Prefix": "a/"}),
    )
    .await;
    assert_eq!(listed["KeyCount"], 1);
    assert_eq!(listed["Name"], "docs");
    assert_eq!(listed["IsTruncated"], false);
    assert_eq!(listed["Contents"][0]["Key"], "a/b c.txt");
    assert_eq!(listed["Contents"][0]["Size"], 11);
    assert!(listed["Contents"][0]["LastModified"].is_number());
    // An XML body with a required checksum (Content-MD5).
    let deleted = ok(
        &c,
        "s3",
        "DeleteObjects",
        json!({"Bucket": "docs", "Delete": {"Objects": [{"Key": "a/b c.txt"}], "Quiet": false}}),
    )
    .await;
    assert_eq!(deleted["Deleted"], json!([{"Key": "a/b c.txt"}]));
    let (status, code, message) = service_error(
        &c,
        "s3",
        "GetObject",
        json!({"Bucket": "docs", "Key": "a/b c.txt"}),
    )
    .await;
    assert_eq!((status, code.as_str()), (404, "NoSuchKey"));
    assert_eq!(message, "The specified key does not exist.");
    let (status, code, message) =
        service_error(&c, "s3", "ListObjectsV2", json!({"Bucket": "nope"})).await;
    assert_eq!((status, code.as_str()), (404, "NoSuchBucket"));
    assert_eq!(message, "The specified bucket does not exist");
    // HEAD answers have no body: the code comes from the status, as the SDKs name it.
    let (status, code, _) = service_error(
        &c,
        "s3",
        "HeadObject",
        json!({"Bucket": "docs", "Key": "gone"}),
    )
    .await;
    assert_eq!((status, code.as_str()), (404, "NotFound"));
}

#[tokio::test]
async fn rest_json_lambda_and_batch() {
    let Some((_moto, c)) = moto().await else {
        return;
    };
    let role = ok(
        &c,
        "iam",
        "CreateRole",
        json!({"RoleName": "fn", "AssumeRolePolicyDocument": "{}"}),
    )
    .await;
    let role_arn = role["Role"]["Arn"].as_str().expect("role arn").to_string();
    // A zip holding one empty file (the code is never run here).
    let zip = "UEsDBAoAAAAAAAAAIQAAAAAAAAAAAAAAAAAIAAAAaW5kZXgucHlQSwECFAAKAAAAAAAAACEAAAAAAAAAAAAAAAAACAAAAAAAAAAAAAAAAAAAAABpbmRleC5weVBLBQYAAAAAAQABADYAAAAmAAAAAAA=";
    let created = ok(
        &c,
        "lambda",
        "CreateFunction",
        json!({"FunctionName": "hello", "Runtime": "python3.12", "Role": role_arn,
               "Handler": "index.handler", "Code": {"ZipFile": zip},
               "Environment": {"Variables": {"A": "1"}}, "Timeout": 7}),
    )
    .await;
    assert_eq!(created["FunctionName"], "hello");
    assert_eq!(
        created["FunctionArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:hello"
    );
    assert_eq!(created["Runtime"], "python3.12");
    assert_eq!(created["Timeout"], 7);
    assert_eq!(created["Environment"]["Variables"], json!({"A": "1"}));
    let got = ok(
        &c,
        "lambda",
        "GetFunction",
        json!({"FunctionName": "hello"}),
    )
    .await;
    assert_eq!(got["Configuration"]["FunctionName"], "hello");
    assert_eq!(got["Configuration"]["Handler"], "index.handler");
    let listed = ok(&c, "lambda", "ListFunctions", json!({"MaxItems": 10})).await;
    assert_eq!(listed["Functions"][0]["FunctionName"], "hello");
    let (status, code, message) =
        service_error(&c, "lambda", "GetFunction", json!({"FunctionName": "nope"})).await;
    assert_eq!((status, code.as_str()), (404, "ResourceNotFoundException"));
    assert!(message.contains("nope"), "{message}");

    let queues = ok(&c, "batch", "DescribeJobQueues", json!({})).await;
    assert_eq!(queues["jobQueues"], json!([]));
    let (status, code, _) = service_error(
        &c,
        "batch",
        "SubmitJob",
        json!({"jobName": "j", "jobQueue": "nope", "jobDefinition": "nope"}),
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "ClientException"));
}

#[tokio::test]
async fn ec2_query_run_describe_and_a_missing_instance() {
    let Some((_moto, c)) = moto().await else {
        return;
    };
    let run = ok(
        &c,
        "ec2",
        "RunInstances",
        json!({"ImageId": "ami-12c6146b", "MinCount": 1, "MaxCount": 1, "InstanceType": "t2.micro",
               "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "team", "Value": "ops"}]}]}),
    )
    .await;
    let id = run["Instances"][0]["InstanceId"]
        .as_str()
        .expect("InstanceId")
        .to_string();
    assert!(id.starts_with("i-"), "{id}");
    assert_eq!(run["Instances"][0]["InstanceType"], "t2.micro");
    assert_eq!(run["Instances"][0]["ImageId"], "ami-12c6146b");
    let described = ok(
        &c,
        "ec2",
        "DescribeInstances",
        json!({"Filters": [{"Name": "tag:team", "Values": ["ops"]}]}),
    )
    .await;
    let inst = &described["Reservations"][0]["Instances"][0];
    assert_eq!(inst["InstanceId"], id.as_str());
    assert_eq!(inst["State"]["Name"], "running");
    assert_eq!(inst["State"]["Code"], 16);
    assert_eq!(inst["Tags"], json!([{"Key": "team", "Value": "ops"}]));
    assert!(inst["LaunchTime"].is_number());
    let (status, code, message) = service_error(
        &c,
        "ec2",
        "DescribeInstances",
        json!({"InstanceIds": ["i-0123456789abcdef0"]}),
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "InvalidInstanceID.NotFound"));
    assert!(message.contains("i-0123456789abcdef0"), "{message}");
}

/// A server on 127.0.0.1 that answers the first `throttle` requests with DynamoDB's throttling
/// error and the rest with `{}`; returns its URL and the count of requests it saw.
fn throttling_server(throttle: usize) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head and the body (Content-Length) of one request.
            while let Ok(n) = stream.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let len = text[..head_end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= head_end + 4 + len {
                        break;
                    }
                }
            }
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let (status, body) = if n < throttle {
                (
                    "400 Bad Request",
                    r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#,
                )
            } else {
                ("200 OK", "{}")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: r-{n}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, seen)
}

#[tokio::test]
async fn throttling_is_retried_as_the_standard_mode_retries_it() {
    use std::sync::atomic::Ordering;
    let creds = SharedCredentialsProvider::new(Credentials::new("test", "test", None, None, "t"));
    let input = json!({"TableName": "t", "Item": {"pk": {"S": "1"}}});
    let call = ApiCall {
        service: "dynamodb",
        operation: "PutItem",
        input: &input,
        region: None,
    };
    // Two throttled answers, then success on the third attempt.
    let (url, seen) = throttling_server(2);
    let caller = AwsCaller::from_env(AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(url),
    })
    .await
    .with_credentials(creds.clone());
    let traced = caller
        .call_traced(call, stepwise_aws_api::CallOptions::default())
        .await;
    assert_eq!(traced.attempts, 3);
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    let resp = traced.result.expect("the third attempt succeeds");
    assert_eq!(resp.request_id.as_deref(), Some("r-2"));
    // Always throttled: three attempts, then the service's error.
    let (url, seen) = throttling_server(usize::MAX);
    let caller = AwsCaller::from_env(AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(url),
    })
    .await
    .with_credentials(creds);
    let traced = caller
        .call_traced(call, stepwise_aws_api::CallOptions::default())
        .await;
    assert_eq!(traced.attempts, 3);
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    match traced.result {
        Err(ApiCallError::Service { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (400, "ThrottlingException"))
        }
        other => panic!("{other:?}"),
    }
}
