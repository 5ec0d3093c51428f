//! The job and model integrations through the invoker function, as `stepwise run` and `stepwise
//! serve` run them in `integrations_jobs.rs`: `ecs:runTask`, `glue:startJobRun`,
//! `athena:startQueryExecution` (request-response and `.sync`) and `athena:getQueryResults` on
//! moto; `batch:submitJob` (request-response and `.sync`) and `bedrock:invokeModel` on the fake
//! endpoint. The invoker has one endpoint URL for every service (as a deployment behind a proxy
//! would): the fake answers Batch and Bedrock Runtime and passes everything else (STS, ECS,
//! Glue, Athena) on to moto. `.sync` jobs are started by the invoker and looked at again through
//! the tasks queue. Every call is made as the execution's role (moto's STS): the resources live
//! in its account.

use super::*;
use crate::integrations_jobs::{
    check_jobs, create_job_resources, jobs_fake, jobs_input, jobs_machine,
};

#[tokio::test(flavor = "multi_thread")]
async fn jobs_and_models_through_the_invoker() {
    let Some(mut h) = harness(None, false).await else {
        return;
    };
    let fake = jobs_fake(Some(h._emulators.moto_url.clone())).await;
    // The invoker as `harness` builds it, with the fake (and moto behind it) as its endpoint.
    h.invoker = invoker_at(&h.aws, &fake.url, None, None, None).await;
    let c = services::role_caller(&h).await;
    let cluster = create_job_resources(&c).await;
    let sm = h.create("jobs", &jobs_machine(&cluster)).await;
    let arn = start_execution(&h, &sm, Some("j-1".into()), jobs_input(), None)
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
    let out = e.state.output.expect("output");
    check_jobs(&out, &c, &cluster, &fake).await;
    // Each `.sync` job was submitted (TaskSubmitted with the start call's output) before the
    // invoker returned: AWS's events for the Run a Job pattern.
    let events = history_through_api(&h.api(), &arn, 1000, false).await;
    let submitted: Vec<String> = events
        .iter()
        .filter(|e| e["type"] == "TaskSubmitted")
        .filter_map(|e| e["taskSubmittedEventDetails"]["resource"].as_str())
        .map(str::to_string)
        .collect();
    assert_eq!(
        submitted,
        [
            "runTask.sync",
            "startJobRun.sync",
            "startQueryExecution.sync",
            "submitJob.sync"
        ]
    );
}

/// A look at a `.sync` job delivered again (its invocation stopped midway, or its delete was
/// lost) goes on as a fresh message, its count of hand-ons on it; at the cap it is worked
/// instead, so a look that fails every time reaches the dead-letter queue. The look here fails
/// every time: its execution's key is past DynamoDB's 2,048-byte limit.
#[tokio::test(flavor = "multi_thread")]
async fn a_look_delivered_again_is_handed_on_a_few_times_then_left_to_the_dead_letter_queue() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let execution = format!(
        "arn:aws:states:us-east-1:111111111111:execution:poison:{}",
        "x".repeat(2100)
    );
    let look = |handed_on: u32| {
        let mut body = json!({
            "kind": "Poll",
            "execution": execution,
            "state_machine_name": "poison",
            "test_case": null,
            "command": {"type": "InvokeTask", "task": 1, "state_name": "J",
                "resource": "arn:aws:states:::glue:startJobRun.sync", "parameters": {}},
            "job": {"JobName": "j", "JobRunId": "r"},
            "polling": stepwise_ports::tasks::SyncPolling::default(),
            "wait_ms": 1000
        });
        if handed_on > 0 {
            body["handed_on"] = json!(handed_on);
        }
        body.to_string()
    };
    let tasks = h.aws.names.tasks_queue_url.clone();
    // The first delivery is worked, and fails.
    assert_eq!(delivered(&h, look(0), 1).await, 1, "the look failed");
    assert!(h.receive(&tasks, 10).await.is_empty());
    // Delivered again: handed on, counted.
    assert_eq!(delivered(&h, look(3), 2).await, 0, "handed on");
    let fresh = h.receive(&tasks, 10).await;
    assert_eq!(fresh.len(), 1, "the fresh look");
    let body: Value = serde_json::from_str(fresh[0].body().expect("body")).expect("JSON");
    assert_eq!(body["handed_on"], json!(4));
    assert_eq!(body["execution"], json!(execution));
    // At the cap it is worked again (and fails), for its deliveries to reach the DLQ.
    assert_eq!(delivered(&h, look(10), 2).await, 1, "worked, and failed");
    assert!(h.receive(&tasks, 10).await.is_empty());
}

/// How many messages the invoker reports failed for one delivery of `body`, SQS's
/// `receives`-th.
async fn delivered(h: &Harness, body: String, receives: u32) -> usize {
    let mut m = SqsMessage::default();
    m.message_id = Some("m".into());
    m.receipt_handle = Some("unknown".into());
    m.body = Some(body);
    m.attributes
        .insert("ApproximateReceiveCount".into(), receives.to_string());
    let mut event = SqsEvent::default();
    event.records = vec![m];
    let ev = LambdaEvent::new(event, Context::default());
    h.invoker
        .handle(ev)
        .await
        .expect("invoker")
        .batch_item_failures
        .len()
}
