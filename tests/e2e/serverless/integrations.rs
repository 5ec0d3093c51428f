//! The service integrations through the invoker function as its `main` builds it
//! (`invoker::Invoker`): an SQS message sent to moto and checked in the queue, an
//! `aws-sdk:sqs:getQueueUrl` call,
//! `states:startExecution` starting a child in the same deployment (run to its end by the same
//! queues), and `StepFunctions.StateMachineDoesNotExistException` caught by name.
//! Every call is made as the execution's role, assumed through moto's STS: the queue exists
//! only in the role's account. (`.sync`, callbacks and the other services: `services.rs`.)

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn sqs_and_start_execution_through_the_invoker() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    // The invoker calls as the execution's role (account 111111111111 in moto's STS), so the
    // queue lives in that account: created and read here as the same role.
    let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&h._emulators.moto_url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    let as_role = aws_config::sts::AssumeRoleProvider::builder(API_ROLE)
        .session_name("test")
        .configure(&base)
        .build()
        .await;
    let role_config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&h._emulators.moto_url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(as_role)
        .load()
        .await;
    let sqs = aws_sdk_sqs::Client::new(&role_config);
    let queue = sqs
        .create_queue()
        .queue_name("orders")
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("url")
        .to_string();
    assert!(queue.contains("111111111111"), "{queue}");
    let child = h
        .create(
            "child",
            &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
        )
        .await;
    let parent = h
        .create(
            "parent",
            &json!({"StartAt": "Send", "States": {
                "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                    "Parameters": {"QueueUrl": queue, "MessageBody.$": "$.id"},
                    "ResultSelector": {"id.$": "$.MessageId"}, "ResultPath": "$.send",
                    "Next": "Url"},
                "Url": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:getQueueUrl",
                    "Parameters": {"QueueName": "orders"}, "ResultPath": "$.url",
                    "Next": "Child"},
                "Child": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
                    "Parameters": {"StateMachineArn": child,
                        "Input": {"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}},
                    "ResultSelector": {"arn.$": "$.ExecutionArn",
                        "code.$": "$.SdkHttpMetadata.HttpStatusCode"},
                    "ResultPath": "$.child", "Next": "Missing"},
                "Missing": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
                    "Parameters": {"StateMachineArn": format!("{child}-nope")},
                    "Catch": [{"ErrorEquals": ["StepFunctions.StateMachineDoesNotExistException"],
                        "ResultPath": "$.missing", "Next": "Done"}],
                    "Next": "Done"},
                "Done": {"Type": "Succeed"}}}),
        )
        .await;
    let arn = start_execution(&h, &parent, Some("p1".into()), json!({"id": "o-1"}), None)
        .await
        .expect("start");
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(120))
        .await;
    let (e, _) = h.outcome(&arn).await;
    assert_eq!(
        e.state.status,
        Status::Succeeded,
        "{:?} {:?}",
        e.state.error,
        e.state.cause
    );
    let out = e.state.output.expect("output");
    assert!(
        out["send"]["id"].as_str().is_some_and(|s| !s.is_empty()),
        "{out}"
    );
    assert_eq!(out["child"]["code"], 200);
    assert_eq!(out["url"]["QueueUrl"], json!(queue));
    assert_eq!(
        out["missing"]["Error"],
        "StepFunctions.StateMachineDoesNotExistException"
    );
    let child_arn = out["child"]["arn"].as_str().expect("child arn").to_string();
    h.run_until_done(std::slice::from_ref(&child_arn), Duration::from_secs(120))
        .await;
    let (c, _) = h.outcome(&child_arn).await;
    assert_eq!(c.state.status, Status::Succeeded);
    assert_eq!(
        c.state.output.expect("child output")["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"],
        json!(arn)
    );
    let got = sqs
        .receive_message()
        .queue_url(&queue)
        .send()
        .await
        .expect("receive");
    let bodies: Vec<&str> = got.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, vec!["o-1"]);
}
