//! The `aws-sdk:*` Task (`stepwise_tasks_aws::aws_sdk::invoke`) against moto's server over real
//! HTTP, one block per protocol: the result checked field by field in Step Functions' form
//! (PascalCase, ISO timestamps, S3 bodies as text), the side effect checked with a second call,
//! and one service error caught by its Step Functions name (`DynamoDb.ResourceNotFoundException`,
//! `S3.NoSuchKeyException`, ...). Skipped without moto (failed in CI).

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use serde_json::{json, Value};
use stepwise_asl::resource::TaskResource;
use stepwise_aws_api::{ApiCall, AwsCaller, AwsSettings};
use stepwise_ports::tasks::{TaskFailure, TaskRequest};
use stepwise_tasks_aws::aws_sdk::invoke;
use stepwise_tests::emulators::{start_moto_or_skip, Emulators};

async fn caller_for(url: String) -> AwsCaller {
    AwsCaller::from_env(AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(url),
    })
    .await
    .with_credentials(SharedCredentialsProvider::new(Credentials::new(
        "test", "test", None, None, "tests",
    )))
}

async fn moto() -> Option<(Emulators, AwsCaller)> {
    let emulators = start_moto_or_skip()?;
    let caller = caller_for(emulators.moto_url.clone()).await;
    Some((emulators, caller))
}

fn request(resource: &str, parameters: Value) -> TaskRequest {
    TaskRequest {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:e".into(),
        state_machine_name: "m".into(),
        state_name: "Call".into(),
        resource: TaskResource::parse(format!("arn:aws:states:::aws-sdk:{resource}")),
        parameters,
        test_case: None,
        task_token: None,
        redrive_count: 0,
    }
}

async fn task(c: &AwsCaller, resource: &str, parameters: Value) -> Result<Value, TaskFailure> {
    invoke(c, &request(resource, parameters)).await
}

async fn ok(c: &AwsCaller, resource: &str, parameters: Value) -> Value {
    match task(c, resource, parameters).await {
        Ok(v) => v,
        Err(e) => panic!("{resource}: {e:?}"),
    }
}

async fn failure(c: &AwsCaller, resource: &str, parameters: Value) -> TaskFailure {
    match task(c, resource, parameters).await {
        Err(f) => f,
        Ok(v) => panic!("{resource}: expected a failure, got {v}"),
    }
}

/// A direct call, for checking side effects (members as the model spells them).
async fn direct(c: &AwsCaller, service: &str, operation: &str, input: Value) -> Value {
    c.call(ApiCall {
        service,
        operation,
        input: &input,
        region: None,
    })
    .await
    .unwrap_or_else(|e| panic!("{service}:{operation}: {e:?}"))
    .output
}

fn is_iso_timestamp(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() >= 20 && s.as_bytes().get(10) == Some(&b'T') && s.ends_with('Z'))
}

/// `<message> (Service: <S>, Status Code: <n>, Request ID: <id>...) (SDK Attempt Count: 1)`.
fn assert_sdk_cause(f: &TaskFailure, message: &str, service: &str, status: u16) {
    let head = format!("{message} (Service: {service}, Status Code: {status}, Request ID: ");
    assert!(f.cause.starts_with(&head), "{}", f.cause);
    assert!(f.cause.ends_with(") (SDK Attempt Count: 1)"), "{}", f.cause);
}

#[tokio::test]
async fn aws_json_dynamodb_tables_and_items() {
    let Some((_moto, c)) = moto().await else {
        return;
    };
    let created = ok(
        &c,
        "dynamodb:createTable",
        json!({
            "TableName": "orders",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .await;
    assert_eq!(created["TableDescription"]["TableName"], "orders");
    assert_eq!(
        created["TableDescription"]["KeySchema"],
        json!([{"AttributeName": "id", "KeyType": "HASH"}])
    );
    assert!(is_iso_timestamp(
        &created["TableDescription"]["CreationDateTime"]
    ));
    let put = ok(
        &c,
        "dynamodb:putItem",
        json!({"TableName": "orders", "Item": {"id": {"S": "id1"}, "data": {"S": "HelloWorld"}}}),
    )
    .await;
    assert_eq!(put, json!({}));
    let got = direct(
        &c,
        "dynamodb",
        "GetItem",
        json!({"TableName": "orders", "Key": {"id": {"S": "id1"}}}),
    )
    .await;
    assert_eq!(got["Item"]["data"], json!({"S": "HelloWorld"}));
    let got = ok(
        &c,
        "dynamodb:getItem",
        json!({"TableName": "orders", "Key": {"id": {"S": "id1"}}}),
    )
    .await;
    assert_eq!(
        got,
        json!({"Item": {"id": {"S": "id1"}, "data": {"S": "HelloWorld"}}})
    );
    let f = failure(
        &c,
        "dynamodb:putItem",
        json!({"TableName": "missing", "Item": {"id": {"S": "x"}}}),
    )
    .await;
    assert_eq!(f.error, "DynamoDb.ResourceNotFoundException");
    assert_sdk_cause(&f, "Requested resource not found", "DynamoDb", 400);
    // A missing required member is the service's to report, as with the Java SDK (DynamoDB
    // answers 400 "Value null at 'item' failed to satisfy constraint"; moto fails with a 500,
    // retried as the standard mode retries it).
    let f = failure(
        &c,
        "dynamodb:putItem",
        json!({"TableName": "orders", "Item": null}),
    )
    .await;
    assert!(f.error.starts_with("DynamoDb."), "{f:?}");
    assert!(
        f.cause.contains("(Service: DynamoDb, Status Code: "),
        "{}",
        f.cause
    );
}

#[tokio::test]
async fn aws_json_sfn_camel_case_api_with_pascal_case_parameters() {
    let Some((_moto, c)) = moto().await else {
        return;
    };
    let created = ok(
        &c,
        "sfn:createStateMachine",
        json!({
            "Name": "target",
            "Definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "RoleArn": "arn:aws:iam::123456789012:role/r"
        }),
    )
    .await;
    let arn = created["StateMachineArn"]
        .as_str()
        .expect("StateMachineArn");
    assert_eq!(
        arn,
        "arn:aws:states:us-east-1:123456789012:stateMachine:target"
    );
    assert!(is_iso_timestamp(&created["CreationDate"]));
    // The definition given as JSON reached the service as its JSON text.
    let described = direct(
        &c,
        "stepfunctions",
        "DescribeStateMachine",
        json!({"stateMachineArn": arn}),
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(described["definition"].as_str().expect("definition"))
            .expect("JSON definition"),
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}})
    );
    let started = ok(
        &c,
        "sfn:startExecution",
        json!({"StateMachineArn": arn, "Input": {"key": "value"}, "Name": "TestStartTarget"}),
    )
    .await;
    assert_eq!(
        started["ExecutionArn"],
        "arn:aws:states:us-east-1:123456789012:execution:target:TestStartTarget"
    );
    assert!(is_iso_timestamp(&started["StartDate"]));
    assert_eq!(started.as_object().map(|o| o.len()), Some(2));
    let execution = direct(
        &c,
        "stepfunctions",
        "DescribeExecution",
        json!({"executionArn": started["ExecutionArn"]}),
    )
    .await;
    assert_eq!(execution["input"], "{\"key\":\"value\"}");
    let f = failure(
        &c,
        "sfn:describeExecution",
        json!({"ExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:target:nope"}),
    )
    .await;
    assert_eq!(f.error, "Sfn.ExecutionDoesNotExistException");
    assert!(
        f.cause
            .contains("(Service: Sfn, Status Code: 400, Request ID: "),
        "{}",
        f.cause
    );
}

#[tokio::test]
async fn aws_json_sqs_and_query_sns() {
    let Some((_moto, c)) = moto().await else {
        return;
    };
    let q = ok(&c, "sqs:createQueue", json!({"QueueName": "jobs"})).await;
    let url = q["QueueUrl"].as_str().expect("QueueUrl").to_string();
    let sent = ok(
        &c,
        "sqs:sendMessage",
        json!({"QueueUrl": url, "MessageBody": "hello"}),
    )
    .await;
    assert_eq!(sent["MD5OfMessageBody"], "5d41402abc4b2a76b9719d911017c592");
    assert!(sent["MessageId"].is_string());
    let got = direct(&c, "sqs", "ReceiveMessage", json!({"QueueUrl": url})).await;
    assert_eq!(got["Messages"][0]["Body"], "hello");
    // `.waitForTaskToken`: the call hands the token out (the engine then waits for it).
    let mut callback = request(
        "sqs:sendMessage.waitForTaskToken",
        json!({"QueueUrl": url, "MessageBody": {"TaskToken": "tok-1"}}),
    );
    callback.task_token = Some("tok-1".into());
    let handed = invoke(&c, &callback)
        .await
        .expect("sendMessage.waitForTaskToken");
    assert!(handed["MessageId"].is_string());
    let got = direct(&c, "sqs", "ReceiveMessage", json!({"QueueUrl": url})).await;
    assert_eq!(got["Messages"][0]["Body"], "{\"TaskToken\":\"tok-1\"}");
    let f = failure(&c, "sqs:getQueueUrl", json!({"QueueName": "nope"})).await;
    assert_eq!(f.error, "Sqs.QueueDoesNotExistException");

    let topic = ok(&c, "sns:createTopic", json!({"Name": "news"})).await;
    let topic_arn = topic["TopicArn"].as_str().expect("TopicArn").to_string();
    assert_eq!(topic_arn, "arn:aws:sns:us-east-1:123456789012:news");
    direct(
        &c,
        "sns",
        "Subscribe",
        json!({"TopicArn": topic_arn, "Protocol": "sqs",
               "Endpoint": "arn:aws:sqs:us-east-1:123456789012:jobs",
               "Attributes": {"RawMessageDelivery": "true"}}),
    )
    .await;
    let published = ok(
        &c,
        "sns:publish",
        json!({"TopicArn": topic_arn, "Message": {"order": 7}}),
    )
    .await;
    assert!(published["MessageId"]
        .as_str()
        .is_some_and(|m| m.len() >= 32));
    let got = direct(&c, "sqs", "ReceiveMessage", json!({"QueueUrl": url})).await;
    assert_eq!(got["Messages"][0]["Body"], "{\"order\":7}");
    let f = failure(
        &c,
        "sns:publish",
        json!({"TopicArn": "arn:aws:sns:us-east-1:123456789012:nope", "Message": "x"}),
    )
    .await;
    assert_eq!(f.error, "Sns.NotFoundException");
    assert!(
        f.cause
            .contains("(Service: Sns, Status Code: 404, Request ID: "),
        "{}",
        f.cause
    );
}

#[tokio::test]
async fn rest_xml_s3_bodies_as_json_text_and_missing_keys() {
    let Some((_moto, c)) = moto().await else {
        return;
    };
    ok(&c, "s3:createBucket", json!({"Bucket": "docs"})).await;
    let put = ok(
        &c,
        "s3:putObject",
        json!({"Bucket": "docs", "Key": "d.json", "Body": {"Dict": "Value"}}),
    )
    .await;
    // AWS stores the body's compact JSON text: its recorded ETag for this body.
    assert_eq!(put["ETag"], "\"49e31cee5aec8faf3345893addb14346\"");
    ok(
        &c,
        "s3:putObject",
        json!({"Bucket": "docs", "Key": "t.txt", "Body": "text data"}),
    )
    .await;
    let got = ok(
        &c,
        "s3:getObject",
        json!({"Bucket": "docs", "Key": "d.json"}),
    )
    .await;
    assert_eq!(got["Body"], "{\"Dict\":\"Value\"}");
    assert_eq!(got["ContentLength"], 16);
    assert_eq!(got["ETag"], put["ETag"]);
    assert!(is_iso_timestamp(&got["LastModified"]));
    let text = direct(
        &c,
        "s3",
        "GetObject",
        json!({"Bucket": "docs", "Key": "t.txt"}),
    )
    .await;
    assert_eq!(text["Body"], "\"text data\"");
    let listed = ok(&c, "s3:listObjectsV2", json!({"Bucket": "docs"})).await;
    assert_eq!(listed["KeyCount"], 2);
    assert_eq!(listed["Contents"][0]["Key"], "d.json");
    assert_eq!(listed["Contents"][1]["Key"], "t.txt");
    assert!(is_iso_timestamp(&listed["Contents"][0]["LastModified"]));
    let f = failure(&c, "s3:getObject", json!({"Bucket": "docs", "Key": "gone"})).await;
    assert_eq!(f.error, "S3.NoSuchKeyException");
    assert_sdk_cause(&f, "The specified key does not exist.", "S3", 404);
    let f = failure(&c, "s3:listObjectsV2", json!({"Bucket": "nope"})).await;
    assert_eq!(f.error, "S3.NoSuchBucketException");
    assert_sdk_cause(&f, "The specified bucket does not exist", "S3", 404);
}

#[tokio::test]
async fn rest_json_lambda_and_batch() {
    let Some((_moto, c)) = moto().await else {
        return;
    };
    let role = direct(
        &c,
        "iam",
        "CreateRole",
        json!({"RoleName": "fn", "AssumeRolePolicyDocument": "{}"}),
    )
    .await;
    let zip = "UEsDBAoAAAAAAAAAIQAAAAAAAAAAAAAAAAAIAAAAaW5kZXgucHlQSwECFAAKAAAAAAAAACEAAAAAAAAAAAAAAAAACAAAAAAAAAAAAAAAAAAAAABpbmRleC5weVBLBQYAAAAAAQABADYAAAAmAAAAAAA=";
    direct(
        &c,
        "lambda",
        "CreateFunction",
        json!({"FunctionName": "hello", "Runtime": "python3.12", "Role": role["Role"]["Arn"],
               "Handler": "index.handler", "Code": {"ZipFile": zip}}),
    )
    .await;
    let got = ok(&c, "lambda:getFunction", json!({"FunctionName": "hello"})).await;
    assert_eq!(got["Configuration"]["FunctionName"], "hello");
    assert_eq!(got["Configuration"]["Runtime"], "python3.12");
    assert_eq!(got["Configuration"]["Handler"], "index.handler");
    let tagged = ok(
        &c,
        "lambda:tagResource",
        json!({"Resource": "arn:aws:lambda:us-east-1:123456789012:function:hello", "Tags": {"team": "ops"}}),
    )
    .await;
    assert_eq!(tagged, json!({}));
    let tags = direct(
        &c,
        "lambda",
        "ListTags",
        json!({"Resource": "arn:aws:lambda:us-east-1:123456789012:function:hello"}),
    )
    .await;
    assert_eq!(tags["Tags"], json!({"team": "ops"}));
    let f = failure(&c, "lambda:getFunction", json!({"FunctionName": "nope"})).await;
    assert_eq!(f.error, "Lambda.ResourceNotFoundException");
    assert!(
        f.cause
            .contains("(Service: Lambda, Status Code: 404, Request ID: "),
        "{}",
        f.cause
    );

    // Batch's camelCase members, PascalCase in Step Functions.
    let queues = ok(&c, "batch:describeJobQueues", json!({})).await;
    assert_eq!(queues, json!({"JobQueues": []}));
    let f = failure(
        &c,
        "batch:submitJob",
        json!({"JobName": "j", "JobQueue": "nope", "JobDefinition": "nope"}),
    )
    .await;
    assert_eq!(f.error, "Batch.ClientException");
}

#[tokio::test]
async fn ec2_query_instances() {
    let Some((_moto, c)) = moto().await else {
        return;
    };
    let run = ok(
        &c,
        "ec2:runInstances",
        json!({"ImageId": "ami-12c6146b", "MinCount": 1, "MaxCount": 1, "InstanceType": "t2.micro"}),
    )
    .await;
    let id = run["Instances"][0]["InstanceId"]
        .as_str()
        .expect("InstanceId")
        .to_string();
    assert!(is_iso_timestamp(&run["Instances"][0]["LaunchTime"]));
    let direct_view = direct(&c, "ec2", "DescribeInstances", json!({"InstanceIds": [id]})).await;
    assert_eq!(
        direct_view["Reservations"][0]["Instances"][0]["InstanceId"],
        id.as_str()
    );
    // `Filters` for the API's `Filter.N`.
    let described = ok(
        &c,
        "ec2:describeInstances",
        json!({"Filters": [{"Name": "instance-type", "Values": ["t2.micro"]}]}),
    )
    .await;
    let inst = &described["Reservations"][0]["Instances"][0];
    assert_eq!(inst["InstanceId"], id.as_str());
    assert_eq!(inst["State"], json!({"Code": 16, "Name": "running"}));
    let f = failure(
        &c,
        "ec2:describeInstances",
        json!({"InstanceIds": ["i-0123456789abcdef0"]}),
    )
    .await;
    // EC2's models name no exceptions: the SDK's base exception.
    assert_eq!(f.error, "Ec2.Ec2Exception");
    assert!(f.cause.contains("i-0123456789abcdef0"), "{}", f.cause);
}

#[tokio::test]
async fn parameters_step_functions_cannot_use_and_unreachable_endpoints() {
    let Some((_moto, c)) = moto().await else {
        return;
    };
    let f = failure(
        &c,
        "sqs:sendMessage",
        json!({"QueueUrl": "u", "MessageBody": "m", "Bogus": 1}),
    )
    .await;
    assert_eq!(f.error, "States.Runtime");
    assert_eq!(
        f.cause,
        "The Parameters '{\"QueueUrl\":\"u\",\"MessageBody\":\"m\",\"Bogus\":1}' could not be used to start the Task: [The field \"Bogus\" is not supported by Step Functions]"
    );
    let f = failure(
        &c,
        "sqs:sendMessage",
        json!({"QueueUrl": "u", "MessageBody": "m", "DelaySeconds": "soon"}),
    )
    .await;
    assert_eq!(f.error, "States.Runtime");
    assert!(f.cause.contains("DelaySeconds"), "{}", f.cause);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let closed = caller_for(format!("http://127.0.0.1:{port}")).await;
    let f = failure(&closed, "sqs:listQueues", json!({})).await;
    assert_eq!(f.error, "Sqs.SdkClientException");
    assert!(
        f.cause.starts_with("Unable to execute HTTP request"),
        "{}",
        f.cause
    );
}

#[tokio::test]
async fn secretsmanager_ssm_eventbridge_and_cloudformation() {
    let Some((_moto, c)) = moto().await else {
        return;
    };
    let created = ok(
        &c,
        "secretsmanager:createSecret",
        json!({"Name": "db-password", "SecretString": "s3cr3t"}),
    )
    .await;
    assert_eq!(created["Name"], "db-password");
    assert!(created["ARN"]
        .as_str()
        .is_some_and(|a| a.contains(":secret:db-password")));
    let got = ok(
        &c,
        "secretsmanager:getSecretValue",
        json!({"SecretId": "db-password"}),
    )
    .await;
    assert_eq!(got["SecretString"], "s3cr3t");
    assert!(is_iso_timestamp(&got["CreatedDate"]));
    let f = failure(
        &c,
        "secretsmanager:getSecretValue",
        json!({"SecretId": "nope"}),
    )
    .await;
    assert_eq!(f.error, "SecretsManager.ResourceNotFoundException");

    ok(
        &c,
        "ssm:putParameter",
        json!({"Name": "/app/mode", "Value": "blue", "Type": "String"}),
    )
    .await;
    let direct_view = direct(&c, "ssm", "GetParameter", json!({"Name": "/app/mode"})).await;
    assert_eq!(direct_view["Parameter"]["Value"], "blue");
    let got = ok(&c, "ssm:getParameter", json!({"Name": "/app/mode"})).await;
    assert_eq!(got["Parameter"]["Name"], "/app/mode");
    assert_eq!(got["Parameter"]["Value"], "blue");
    assert_eq!(got["Parameter"]["Version"], 1);
    let f = failure(&c, "ssm:getParameter", json!({"Name": "/nope"})).await;
    assert_eq!(f.error, "Ssm.ParameterNotFoundException");

    let put = ok(
        &c,
        "eventbridge:putEvents",
        json!({"Entries": [{"Source": "shop", "DetailType": "order", "Detail": {"id": 1}}]}),
    )
    .await;
    assert_eq!(put["FailedEntryCount"], 0);
    assert!(put["Entries"][0]["EventId"].is_string());
    let f = failure(&c, "eventbridge:describeEventBus", json!({"Name": "nope"})).await;
    assert_eq!(f.error, "EventBridge.ResourceNotFoundException");

    let template = json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "from-stack"}}}});
    let stack = ok(
        &c,
        "cloudformation:createStack",
        json!({"StackName": "s", "TemplateBody": template}),
    )
    .await;
    assert!(stack["StackId"]
        .as_str()
        .is_some_and(|s| s.contains(":stack/s/")));
    let url = direct(&c, "sqs", "GetQueueUrl", json!({"QueueName": "from-stack"})).await;
    assert!(url["QueueUrl"]
        .as_str()
        .is_some_and(|u| u.ends_with("/from-stack")));
    let f = failure(
        &c,
        "cloudformation:describeStacks",
        json!({"StackName": "nope"}),
    )
    .await;
    // CloudFormation's `ValidationError` is not a modeled exception: the SDK's base one.
    assert_eq!(f.error, "CloudFormation.CloudFormationException");
    assert!(
        f.cause
            .contains("(Service: CloudFormation, Status Code: 400"),
        "{}",
        f.cause
    );
}
