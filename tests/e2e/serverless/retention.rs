//! Retention the user controls, serverless: with `RetentionDays` set, the commit that closes an
//! execution gives its META item and every history item the TTL attribute `expiresAt` (its close
//! plus the retention, in epoch seconds) and tags its history payloads in S3 for the bucket's
//! lifecycle rule; a resume takes all of it away while the execution runs again; without a
//! retention nothing carries it. Read back item by item from DynamoDB Local and moto's S3.

use super::*;
use aws_sdk_dynamodb::types::AttributeValue;

/// `Load` fails on its first invocation and returns on the next.
const MOCK: &str = r#"{"StateMachines":{"keep":{"TestCases":{"Fix":{"Load":"FailThenOk"}}}},
  "MockedResponses":{"FailThenOk":{
    "0":{"Throw":{"Error":"Boom","Cause":"broken"}},
    "1":{"Return":{"loaded":true}}}}}"#;

/// A Pass whose output (over 8 KiB) puts its exited event in S3, then a Task that fails once.
fn keep() -> Value {
    json!({"StartAt":"Big","States":{
        "Big":{"Type":"Pass","Result":{"blob":"x".repeat(10_000)},"ResultPath":"$.big","Next":"Load"},
        "Load":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
                "Parameters":{"FunctionName":"load"},"ResultPath":"$.load","End":true}}})
}

/// Every item of the execution: (sort key, expiresAt, the S3 key of its events).
async fn items(h: &Harness, arn: &str) -> Vec<(String, Option<i64>, Option<String>)> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = h
            .aws
            .dynamodb
            .query()
            .table_name("stepwise")
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(format!("EX#{arn}")))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("query");
        for i in page.items() {
            let sk = i.get("SK").and_then(|v| v.as_s().ok()).cloned();
            let at = i
                .get("expiresAt")
                .and_then(|v| v.as_n().ok())
                .and_then(|x| x.parse().ok());
            let s3 = i
                .get("eventsS3")
                .or_else(|| i.get("eventS3"))
                .and_then(|v| v.as_s().ok())
                .cloned();
            out.push((sk.unwrap_or_default(), at, s3));
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

/// The tags of a payload object, as `key=value` strings.
async fn tags(h: &Harness, key: &str) -> Vec<String> {
    h.aws
        .s3
        .get_object_tagging()
        .bucket("stepwise-payloads")
        .key(key)
        .send()
        .await
        .expect("tagging")
        .tag_set()
        .iter()
        .map(|t| format!("{}={}", t.key(), t.value()))
        .collect()
}

/// The close (epoch seconds) DescribeExecution reports.
async fn stop_seconds(svc: &api::ApiService, arn: &str) -> i64 {
    let d = call(svc, "DescribeExecution", json!({"executionArn": arn})).await;
    d["stopDate"].as_f64().expect("a stopDate") as i64
}

/// Asserts every item of `arn` expires at `want` (or none does) and each payload is tagged so.
async fn assert_expiry(h: &Harness, arn: &str, want: Option<i64>) {
    let all = items(h, arn).await;
    // META (which holds the last steps' events, its tail), the history paged before them (the
    // step with the big event: in S3, it is paged when the next step comes) and the task attempt.
    assert!(
        all.iter().any(|i| i.0.starts_with("EV#"))
            && all.iter().any(|i| i.0 == "META")
            && all.iter().any(|i| i.0.starts_with("TASK#")),
        "the META item, the history and the attempt: {all:?}"
    );
    for (sk, at, _) in &all {
        assert_eq!(*at, want, "expiresAt of {sk}");
    }
    // The META item records that its history carries the same.
    let meta = meta_item(h, arn).await;
    let stamped = meta
        .as_ref()
        .and_then(|i| i.get("historyExpiresAt"))
        .and_then(|v| v.as_n().ok())
        .and_then(|x| x.parse::<i64>().ok());
    assert_eq!(stamped, want, "historyExpiresAt");
    // A large input is kept in S3 (its key in `meta`): tagged as the history is.
    let input_key = meta
        .as_ref()
        .and_then(|i| i.get("meta"))
        .and_then(|v| v.as_s().ok())
        .and_then(|m| serde_json::from_str::<Value>(m).ok())
        .and_then(|m| m["inputS3"].as_str().map(str::to_string));
    if let Some(key) = input_key {
        let want_tags = match want {
            Some(_) => vec!["stepwise-retention=closed".to_string()],
            None => vec![],
        };
        assert_eq!(tags(h, &key).await, want_tags, "tags of the input {key}");
    }
    let payloads: Vec<&String> = all.iter().filter_map(|i| i.2.as_ref()).collect();
    assert!(!payloads.is_empty(), "the big event went to S3");
    for key in payloads {
        let want_tags = match want {
            Some(_) => vec!["stepwise-retention=closed".to_string()],
            None => vec![],
        };
        assert_eq!(tags(h, key).await, want_tags, "tags of {key}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_execution_expires_its_retention_after_its_close_and_a_resume_keeps_it() {
    let Some(h) = harness_with(Some(MOCK), false, Some(7), None).await else {
        return;
    };
    let svc = h.api();
    let sm = h.create("keep", &keep()).await;
    // An input too large for the execution item: kept in S3, and expiring with the rest.
    let input = json!({"pad": "i".repeat(3000)});
    let arn = start_execution(
        &h,
        &sm,
        Some("r-1".into()),
        input.clone(),
        Some("Fix".into()),
    )
    .await
    .expect("started");
    let d = call(&svc, "DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(d["input"], json!(input.to_string()), "the input read back");
    let meta = meta_item(&h, &arn).await;
    let text = meta
        .as_ref()
        .and_then(|i| i.get("meta"))
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    assert!(
        text.contains("\"inputS3\"") && !text.contains("iiii"),
        "the input is out of the execution item: {text}"
    );

    // Running: nothing expires.
    assert_expiry_running(&h, &arn).await;
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let failed = stop_seconds(&svc, &arn).await;
    assert_expiry(&h, &arn, Some(failed + 7 * 86_400)).await;

    // Resumed: RUNNING again, so nothing of it may expire until it closes again.
    call(
        &svc,
        "ResumeExecution",
        json!({"executionArn": arn, "stateName": "Load"}),
    )
    .await;
    let d = call(&svc, "DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(d["status"], json!("RUNNING"));
    assert_expiry(&h, &arn, None).await;

    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let d = call(&svc, "DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(d["status"], json!("SUCCEEDED"), "{d}");
    let succeeded = stop_seconds(&svc, &arn).await;
    assert_expiry(&h, &arn, Some(succeeded + 7 * 86_400)).await;
}

/// While it runs (before the first step), the execution's items carry no expiry.
async fn assert_expiry_running(h: &Harness, arn: &str) {
    for (sk, at, _) in items(h, arn).await {
        assert_eq!(at, None, "expiresAt of {sk} while running");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_retention_nothing_carries_an_expiry() {
    let Some(h) = harness_with(Some(MOCK), false, None, None).await else {
        return;
    };
    let svc = h.api();
    let sm = h.create("keep", &keep()).await;
    let arn = start_execution(&h, &sm, Some("r-1".into()), json!({}), Some("Fix".into()))
        .await
        .expect("started");
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let d = call(&svc, "DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(d["status"], json!("FAILED"), "{d}");
    assert_expiry(&h, &arn, None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stamping_cut_short_is_finished_by_the_next_load() {
    let Some(h) = harness_with(Some(MOCK), false, Some(3), None).await else {
        return;
    };
    let svc = h.api();
    let sm = h.create("keep", &keep()).await;
    let arn = start_execution(&h, &sm, Some("r-1".into()), json!({}), Some("Fix".into()))
        .await
        .expect("started");
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let want = stop_seconds(&svc, &arn).await + 3 * 86_400;
    assert_expiry(&h, &arn, Some(want)).await;

    // As if the stepper had stopped after its closing commit, before stamping the history:
    // one event without the attribute, and the META item without its record of the stamping.
    let key = |sk: &str| {
        [
            ("PK".to_string(), AttributeValue::S(format!("EX#{arn}"))),
            ("SK".to_string(), AttributeValue::S(sk.to_string())),
        ]
        .into_iter()
        .collect::<std::collections::HashMap<_, _>>()
    };
    let first_events = items(&h, &arn)
        .await
        .into_iter()
        .map(|i| i.0)
        .find(|sk| sk.starts_with("EV#"))
        .expect("a history item");
    for (sk, attr) in [
        (first_events.as_str(), "expiresAt"),
        ("META", "historyExpiresAt"),
    ] {
        h.aws
            .dynamodb
            .update_item()
            .table_name("stepwise")
            .set_key(Some(key(sk)))
            .update_expression("REMOVE #a")
            .expression_attribute_names("#a", attr)
            .send()
            .await
            .expect("update");
    }
    let cut = items(&h, &arn).await;
    assert!(cut.iter().any(|i| i.1.is_none()), "{cut:?}");

    // The redelivered message's load finishes it.
    h.table().load_execution(&arn).await.expect("load");
    assert_expiry(&h, &arn, Some(want)).await;
}
