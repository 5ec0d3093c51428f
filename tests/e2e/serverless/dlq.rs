//! `stepwise dlq list` and `stepwise dlq redrive` against moto's SQS: an execution whose Start
//! went to the transitions queue's dead-letter queue hangs; the command shows the message with
//! the execution's ARN, moves it back, and the execution runs to its end.

use super::*;
use stepwise_tests::stepwise_bin;

fn stepwise(h: &Harness, args: &[&str]) -> (String, String) {
    let out = std::process::Command::new(stepwise_bin())
        .args(args)
        .args(["--aws-endpoint-url", &h._emulators.moto_url])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("running stepwise");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "stepwise {args:?}: {stderr}");
    (stdout, stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_transition_is_listed_with_its_execution_and_redriven_to_the_end() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let sqs = &h.aws.sqs;
    let dlq = sqs
        .create_queue()
        .queue_name("stepwise-transitions-dlq.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect("dlq");
    let dlq_url = dlq.queue_url().expect("url").to_string();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("arn");
    let transitions = h.aws.names.transitions_queue_url.clone();
    sqs.set_queue_attributes()
        .queue_url(&transitions)
        .attributes(
            QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}).to_string(),
        )
        .send()
        .await
        .expect("redrive policy");

    let svc = h.api();
    let sm = create_through_api(
        &svc,
        "hangs",
        json!({"StartAt":"P","States":{"P":{"Type":"Pass","Result":"done","End":true}}}),
    )
    .await;
    let arn = call(&svc, "StartExecution", json!({"stateMachineArn": sm})).await["executionArn"]
        .as_str()
        .expect("arn")
        .to_string();
    // The stepper failed on the Start as many times as the redrive policy allows.
    for _ in 0..3 {
        sqs.receive_message()
            .queue_url(&transitions)
            .visibility_timeout(0)
            .send()
            .await
            .expect("receive");
    }
    h.settle_queues().await;
    assert_eq!(h.outcome(&arn).await.0.state.status, Status::Running);

    let (listed, _) = stepwise(&h, &["dlq", "list", "--queue-url", &dlq_url]);
    let lines: Vec<Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 1, "{listed}");
    assert_eq!(lines[0]["executionArn"], json!(arn));
    assert_eq!(lines[0]["carries"], "Start");
    assert_eq!(lines[0]["queueUrl"], json!(dlq_url));
    // Listing leaves the message where it is.
    let (again, _) = stepwise(&h, &["dlq", "list", "--queue-url", &dlq_url]);
    assert_eq!(again.lines().count(), 1, "{again}");

    // Another execution's filter moves nothing; then the execution's message goes back.
    let (none, _) = stepwise(
        &h,
        &[
            "dlq",
            "redrive",
            "--queue-url",
            &dlq_url,
            "--execution",
            "arn:aws:states:us-east-1:111111111111:execution:hangs:other",
        ],
    );
    assert_eq!(none.lines().count(), 0, "{none}");
    let (moved, _) = stepwise(
        &h,
        &[
            "dlq",
            "redrive",
            "--queue-url",
            &dlq_url,
            "--execution",
            &arn,
        ],
    );
    let moved: Value = serde_json::from_str(moved.trim()).expect("JSON line");
    assert_eq!(moved["executionArn"], json!(arn));
    assert_eq!(
        moved["to"],
        json!(transitions),
        "the source queue, found by its redrive policy"
    );
    let (empty, _) = stepwise(&h, &["dlq", "list", "--queue-url", &dlq_url]);
    assert_eq!(empty, "");

    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let (e, _) = h.outcome(&arn).await;
    assert_eq!(e.state.status, Status::Succeeded, "{:?}", e.state.cause);
    assert_eq!(e.state.output, Some(json!("done")));
}
