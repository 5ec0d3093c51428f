//! The functions' logs: every line the stepper, the invoker and the dispatch of their steps
//! write while working on an execution is one JSON object carrying its `execution_arn`.

use super::*;

#[tokio::test]
async fn every_line_logged_while_running_an_execution_is_json_with_its_arn() {
    let mock = json!({"StateMachines":{"logged":{"TestCases":{"Run":{"Work":"Ok"}}}},
        "MockedResponses":{"Ok":{"0":{"Return":{"StatusCode":200,"Payload":{"n":1}}}}}})
    .to_string();
    let Some(h) = harness_with_events(Some(&mock), false, Some("default")).await else {
        return;
    };
    let sm = h
        .create(
            "logged",
            &json!({"StartAt":"Work","States":{
                "Work":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
                    "Parameters":{"FunctionName":"work","Payload.$":"$"},"Next":"Done"},
                "Done":{"Type":"Pass","End":true}}}),
        )
        .await;
    // The handlers run on this thread: what they log goes to the capture.
    let (guard, logs) = stepwise_store_aws::logs::capture();
    let arn = start_execution(&h, &sm, Some("one".into()), json!({}), Some("Run".into()))
        .await
        .expect("start");
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    drop(guard);
    let (e, _) = h.outcome(&arn).await;
    assert_eq!(e.state.status, Status::Succeeded, "{:?}", e.state.cause);

    let lines = logs.lines();
    let mut messages = Vec::new();
    for line in &lines {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert_eq!(v["execution_arn"].as_str(), Some(arn.as_str()), "{line}");
        assert!(
            v["level"].is_string() && v["timestamp"].is_number(),
            "{line}"
        );
        messages.push(v["message"].as_str().unwrap_or_default().to_string());
    }
    // The stepper, the invoker and the status changes each said something.
    for want in [
        "stepper: event applied",
        "invoker: task called",
        "execution status changed",
    ] {
        assert!(
            messages.iter().any(|m| m == want),
            "no {want:?} in {messages:#?}"
        );
    }
}
