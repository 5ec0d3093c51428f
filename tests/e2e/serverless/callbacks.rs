//! `.waitForTaskToken` with every integration that allows it, through the invoker and the API
//! function, as `integrations_callbacks.rs` runs it through `stepwise serve`: the token reaches
//! SQS, SNS, EventBridge and ECS on moto (as the execution's role), a child execution's input,
//! an HTTP server behind `apigateway:invoke` and `bedrock:invokeModel` (the invoker's endpoint
//! passes everything else on to moto) and a Lambda-compatible fake; the test answers each
//! with SendTaskSuccess (one with SendTaskFailure, caught) through the API function.

use std::collections::HashSet;

use super::*;
use crate::integrations_callbacks::{
    answer, callbacks_machine, check_answered, create_callback_resources, start_lambda,
    start_recorder, tokens_found, Places, KINDS,
};

#[tokio::test(flavor = "multi_thread")]
async fn callbacks_through_the_invoker_and_the_api_function() {
    let (lambda, lambda_payloads) = start_lambda();
    let Some(h) = harness_with_lambda(None, false, Some(lambda.endpoint())).await else {
        return;
    };
    let (http, http_bodies) = start_recorder();
    // The invoker has one endpoint URL: Bedrock Runtime's requests are recorded there with the
    // API's, everything else goes on to moto.
    let record = http_bodies.clone();
    let front = crate::optimized::fake::start_in_front_of(
        Some(h._emulators.moto_url.clone()),
        move |seen: &crate::optimized::fake::Seen| {
            if !seen.operation.starts_with("/model/") {
                return None;
            }
            record.lock().expect("lock").push(seen.body.clone());
            Some(crate::optimized::fake::Answer::ok(json!({})))
        },
    )
    .await;
    let mut h = h;
    h.invoker = invoker_at(
        &h.aws,
        &front.url,
        Some(stepwise_tasks_aws::LambdaInvoker::local(
            lambda.endpoint(),
            None,
        )),
        None,
        None,
    )
    .await;
    let c = services::role_caller(&h).await;
    let (queue, topic, cluster) = create_callback_resources(&c).await;
    let child = h
        .create(
            "child",
            &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
        )
        .await;
    let places = Places {
        queue,
        topic,
        cluster,
        http,
        child: child.clone(),
    };
    let sm = h
        .create("callbacks", &callbacks_machine(&places, 3600))
        .await;
    let arn = start_execution(&h, &sm, Some("c-1".into()), json!({}), None)
        .await
        .expect("start");
    let svc = h.api();
    let mut answered = HashSet::new();
    for _ in 0..300 {
        h.settle_queues().await;
        let d = call(&svc, "DescribeExecution", json!({"executionArn": arn})).await;
        if d["status"] != "RUNNING" {
            break;
        }
        let mut found = tokens_found(&c, &places, &http_bodies, &lambda_payloads).await;
        let children = call(&svc, "ListExecutions", json!({"stateMachineArn": child})).await;
        for e in children["executions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let d = call(
                &svc,
                "DescribeExecution",
                json!({"executionArn": e["executionArn"]}),
            )
            .await;
            let input: Value =
                serde_json::from_str(d["input"].as_str().unwrap_or("")).unwrap_or_default();
            if let (Some(k), Some(t)) = (input["kind"].as_str(), input["token"].as_str()) {
                found.push((k.to_string(), t.to_string()));
            }
        }
        for (kind, token) in found {
            if answered.insert(token.clone()) {
                let (action, body) = answer(&kind, &token);
                call(&svc, action, body).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let (e, _) = h.outcome(&arn).await;
    assert_eq!(
        e.state.status,
        Status::Succeeded,
        "{:?} {:?}",
        e.state.error,
        e.state.cause
    );
    check_answered(&e.state.output.expect("output"));
    assert_eq!(answered.len(), KINDS.len() + 1, "{answered:?}");
}

/// `integrations_messaging.rs`'s machine through the invoker: `events:putEvents` (delivered,
/// and `EventBridge.FailedEntry`), `SQS.QueueDoesNotExistException`, `SNS.NotFoundException`
/// and `dynamodb:deleteItem`, as the execution's role.
#[tokio::test(flavor = "multi_thread")]
async fn messaging_errors_and_deletes_through_the_invoker() {
    use crate::integrations_messaging::{
        check_messaging, create_messaging_resources, messaging_machine,
    };
    let Some(h) = harness(None, false).await else {
        return;
    };
    let c = services::role_caller(&h).await;
    let (queue, topic) = create_messaging_resources(&c).await;
    let sm = h
        .create("messaging", &messaging_machine(&queue, &topic))
        .await;
    let arn = start_execution(&h, &sm, Some("m-1".into()), json!({"id": "m-1"}), None)
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
    check_messaging(&e.state.output.expect("output"), &c, &queue).await;
}

/// `integrations_callbacks.rs`'s `lambda:invoke` machine through the invoker.
#[tokio::test(flavor = "multi_thread")]
async fn lambda_invoke_through_the_invoker() {
    use crate::integrations_callbacks::{check_lambda, lambda_fake, lambda_machine};
    let fake = lambda_fake().await;
    let Some(h) = harness_with_lambda(None, false, Some(fake.url.clone())).await else {
        return;
    };
    let sm = h.create("lambda", &lambda_machine()).await;
    let arn = start_execution(&h, &sm, Some("l-1".into()), json!({"order": 7}), None)
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
    check_lambda(&e.state.output.expect("output"), &fake);
}
