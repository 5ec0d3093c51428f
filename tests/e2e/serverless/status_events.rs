//! Execution status change events: every start, end and redrive reaches an EventBridge bus on
//! moto, where a rule with an SQS target receives them, each once and with Step Functions'
//! detail shape, even with the stepper killed between each commit and its dispatch (and every
//! message delivered twice).

use super::*;
use std::collections::BTreeMap;

const BUS: &str = "stepwise-status";

/// The bus, a rule for Step Functions' status change events, and an SQS queue as its target.
async fn rule_to_queue(h: &Harness) -> String {
    let caller = moto_caller(&h._emulators.moto_url).await;
    let call = |operation: &'static str, input: Value| {
        let caller = caller.clone();
        async move {
            caller
                .call(stepwise_aws_api::ApiCall {
                    service: "events",
                    operation,
                    input: &input,
                    region: None,
                })
                .await
                .unwrap_or_else(|e| panic!("{operation}: {e}"))
        }
    };
    let queue = h
        .aws
        .sqs
        .create_queue()
        .queue_name("status-events")
        .send()
        .await
        .expect("queue");
    let url = queue.queue_url().expect("url").to_string();
    let arn = h
        .aws
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("arn");
    call("CreateEventBus", json!({"Name": BUS})).await;
    call(
        "PutRule",
        json!({"Name": "status", "EventBusName": BUS, "EventPattern": json!({
            "source": ["aws.states"],
            "detail-type": ["Step Functions Execution Status Change"]}).to_string()}),
    )
    .await;
    call(
        "PutTargets",
        json!({"Rule": "status", "EventBusName": BUS, "Targets": [{"Id": "q", "Arn": arn}]}),
    )
    .await;
    url
}

/// Every event on the queue, until `expected` arrived or the queue stays empty.
async fn drain(h: &Harness, url: &str, expected: usize) -> Vec<Value> {
    let mut events = Vec::new();
    let mut idle = 0;
    while events.len() < expected && idle < 5 {
        let got = h
            .aws
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        let messages = got.messages();
        idle = if messages.is_empty() { idle + 1 } else { 0 };
        for m in messages {
            events.push(serde_json::from_str(m.body().unwrap_or("null")).expect("event JSON"));
            h.aws
                .sqs
                .delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
    // Anything more would be a duplicate.
    let more = h
        .aws
        .sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive");
    events.extend(
        more.messages()
            .iter()
            .filter_map(|m| serde_json::from_str(m.body().unwrap_or("null")).ok()),
    );
    events
}

#[tokio::test(flavor = "multi_thread")]
async fn status_changes_reach_an_eventbridge_rule_once_each_with_aws_detail() {
    let Some(h) = harness_with_events(None, true, Some(BUS)).await else {
        return;
    };
    let url = rule_to_queue(&h).await;
    let svc = h.api();
    let ok = create_through_api(
        &svc,
        "ok",
        json!({"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"done":true},"End":true}}}),
    )
    .await;
    let bad = create_through_api(
        &svc,
        "bad",
        json!({"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Bad","Cause":"broken"}}}),
    )
    .await;
    let long = create_through_api(
        &svc,
        "long",
        json!({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}),
    )
    .await;
    let start =
        |sm: &str, name: &str| json!({"stateMachineArn": sm, "name": name, "input": "{\"n\":1}"});
    let ok_arn = call(&svc, "StartExecution", start(&ok, "ok-1")).await["executionArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let bad_arn = call(&svc, "StartExecution", start(&bad, "bad-1")).await["executionArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let long_arn = call(&svc, "StartExecution", start(&long, "long-1")).await["executionArn"]
        .as_str()
        .expect("arn")
        .to_string();
    h.run_until_done(&[ok_arn.clone(), bad_arn.clone()], Duration::from_secs(120))
        .await;
    call(&svc, "RedriveExecution", json!({"executionArn": bad_arn})).await;
    h.run_until_done(std::slice::from_ref(&bad_arn), Duration::from_secs(120))
        .await;
    h.settle_queues().await;
    call(
        &svc,
        "StopExecution",
        json!({"executionArn": long_arn, "error": "Operator", "cause": "no longer needed"}),
    )
    .await;

    let events = drain(&h, &url, 8).await;
    let mut seen: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for e in &events {
        assert_eq!(e["source"], "aws.states");
        assert_eq!(e["detail-type"], "Step Functions Execution Status Change");
        let arn = e["detail"]["executionArn"].as_str().expect("executionArn");
        assert_eq!(e["resources"], json!([arn]));
        let keys: Vec<&str> = e["detail"]
            .as_object()
            .expect("detail")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys.iter()
                .copied()
                .collect::<std::collections::BTreeSet<_>>(),
            [
                "executionArn",
                "stateMachineArn",
                "name",
                "status",
                "startDate",
                "stopDate",
                "input",
                "output",
                "inputDetails",
                "outputDetails",
                "error",
                "cause",
                "redriveCount",
                "redriveDate",
                "redriveStatus",
                "redriveStatusReason"
            ]
            .into_iter()
            .collect(),
        );
        seen.entry(arn.to_string())
            .or_default()
            .push(e["detail"].clone());
    }
    let statuses = |arn: &str| -> Vec<String> {
        let mut details = seen.get(arn).cloned().unwrap_or_default();
        // EventBridge does not keep order across events: order by what happened.
        details.sort_by_key(|d| {
            (
                d["redriveCount"].as_u64(),
                d["stopDate"].as_i64().unwrap_or(0),
            )
        });
        details
            .iter()
            .map(|d| d["status"].as_str().unwrap_or("?").to_string())
            .collect()
    };
    assert_eq!(statuses(&ok_arn), ["RUNNING", "SUCCEEDED"], "{events:#?}");
    assert_eq!(
        statuses(&bad_arn),
        ["RUNNING", "FAILED", "RUNNING", "FAILED"],
        "{events:#?}"
    );
    assert_eq!(statuses(&long_arn), ["RUNNING", "ABORTED"], "{events:#?}");
    assert_eq!(events.len(), 8, "each once");

    let detail = |arn: &str, status: &str, redrives: u64| -> Value {
        seen[arn]
            .iter()
            .find(|d| d["status"] == status && d["redriveCount"] == redrives)
            .cloned()
            .unwrap_or_else(|| panic!("{status} of {arn}"))
    };
    // DescribeExecution's startDate.
    let start_ms = h.outcome(&ok_arn).await.0.state.info.start_time_ms;
    let running = detail(&ok_arn, "RUNNING", 0);
    assert_eq!(
        running,
        json!({"executionArn": ok_arn, "stateMachineArn": ok, "name": "ok-1", "status": "RUNNING",
            "startDate": start_ms, "stopDate": null, "input": "{\"n\":1}", "output": null,
            "inputDetails": {"included": true}, "outputDetails": null, "error": null, "cause": null,
            "redriveCount": 0, "redriveDate": null, "redriveStatus": "NOT_REDRIVABLE",
            "redriveStatusReason": "Execution is RUNNING and cannot be redriven"})
    );
    let succeeded = detail(&ok_arn, "SUCCEEDED", 0);
    assert_eq!(succeeded["output"], "{\"done\":true}");
    assert_eq!(succeeded["outputDetails"], json!({"included": true}));
    assert!(succeeded["stopDate"].as_i64() >= Some(start_ms));
    assert_eq!(
        succeeded["redriveStatusReason"],
        "Execution is SUCCEEDED and cannot be redriven"
    );
    let failed = detail(&bad_arn, "FAILED", 0);
    assert_eq!(
        (
            &failed["error"],
            &failed["cause"],
            &failed["redriveStatus"],
            &failed["redriveStatusReason"]
        ),
        (
            &json!("Bad"),
            &json!("broken"),
            &json!("REDRIVABLE"),
            &Value::Null
        )
    );
    assert_eq!(failed["output"], Value::Null);
    let redriven = detail(&bad_arn, "RUNNING", 1);
    assert!(redriven["redriveDate"].is_i64(), "{redriven}");
    assert_eq!(redriven["stopDate"], Value::Null);
    let aborted = detail(&long_arn, "ABORTED", 0);
    assert_eq!(
        (&aborted["error"], &aborted["cause"]),
        (&json!("Operator"), &json!("no longer needed"))
    );
}
