//! Payloads larger than an SQS message (issue 10, finding 4): a task result or an input that
//! does not fit in a message goes through the payload bucket, so the engine sees it and applies
//! Step Functions' own limits instead of the message ending in a dead-letter queue.

use super::*;
use crate::serve_common::FakeLambda;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread")]
async fn a_task_result_larger_than_an_sqs_message_fails_with_data_limit_exceeded() {
    // 2 MB: more than any SQS message (256 KiB, or 1 MiB on new queues), less than Lambda's
    // 6 MB response limit.
    let lambda = FakeLambda::start(
        true,
        Arc::new(|_: &str, _: &Value| json!({"big": "x".repeat(2_000_000)})),
    );
    let Some(h) = harness_with_lambda(None, false, Some(lambda.endpoint())).await else {
        return;
    };
    let sm = h
        .create(
            "big-result",
            &json!({"StartAt":"T","States":{"T":{"Type":"Task",
                "Resource":"arn:aws:lambda:us-east-1:111111111111:function:big","End":true}}}),
        )
        .await;
    let arn = start_execution(&h, &sm, None, json!({}), None)
        .await
        .expect("start");
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(120))
        .await;
    let (e, _) = h.outcome(&arn).await;
    assert_eq!(e.state.status, Status::Failed);
    assert_eq!(e.state.error.as_deref(), Some("States.DataLimitExceeded"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fan_out_whose_pending_calls_pass_the_item_limit_still_commits() {
    let lambda = FakeLambda::start(true, Arc::new(|_: &str, _: &Value| json!({"ok": 1})));
    let Some(h) = harness_with_lambda(None, false, Some(lambda.endpoint())).await else {
        return;
    };
    // 20 iterations, each calling a task with a 200 KB parameter, all dispatched by one step:
    // 4 MB of pending calls, ten times what an execution item holds.
    let sm = h
        .create(
            "fan-out",
            &json!({"StartAt":"Items","States":{
                "Items":{"Type":"Pass","Parameters":{"pad.$":"$.pad","items.$":"States.ArrayRange(1, 20, 1)"},"Next":"Map"},
                "Map":{"Type":"Map","ItemsPath":"$.items",
                    "ItemSelector":{"pad.$":"$.pad","i.$":"$$.Map.Item.Value"},
                    "ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task",
                        "Resource":"arn:aws:lambda:us-east-1:111111111111:function:echo","End":true}}},
                    "End":true}}}),
        )
        .await;
    let arn = start_execution(&h, &sm, None, json!({"pad": "p".repeat(200_000)}), None)
        .await
        .expect("start");
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(120))
        .await;
    let (e, _) = h.outcome(&arn).await;
    assert_eq!(e.state.status, Status::Succeeded, "{:?}", e.state.cause);
    assert_eq!(e.state.output, Some(json!(vec![json!({"ok": 1}); 20])));
}
