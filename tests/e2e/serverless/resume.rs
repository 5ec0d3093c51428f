//! Resume from any state and start at a state through the API Lambda function (Stepwise's own
//! ResumeExecution and StartExecutionFromState), run by the stepper and the invoker on DynamoDB
//! Local and moto; each resumed history is checked event by event.

use super::*;

/// `Load` fails on its first invocation in an execution and returns on the next.
const MOCK: &str = r#"{"StateMachines":{
    "job":{"TestCases":{"Fix":{"Load":"FailThenOk"}}},
    "fan":{"TestCases":{"Fix":{"Upload":"FailThenOk"}}},
    "each":{"TestCases":{"Fix":{"Put":"SecondFails"}}},
    "deep":{"TestCases":{"Fix":{"Put":"SecondFails"}}}},
  "MockedResponses":{"FailThenOk":{
    "0":{"Throw":{"Error":"Boom","Cause":"broken"}},
    "1":{"Return":{"loaded":true}}},
   "SecondFails":{
    "0":{"Return":"r0"},
    "1":{"Throw":{"Error":"Boom","Cause":"broken"}},
    "2-3":{"Return":"again"}}}}"#;

fn job() -> Value {
    json!({"StartAt":"Extract","States":{
        "Extract":{"Type":"Pass","Parameters":{"rows":[1,2,3]},"Assign":{"batch":"b-7"},"Next":"Load"},
        "Load":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
                "Parameters":{"FunctionName":"load","Payload":{"rows.$":"$.rows","batch.$":"$batch"}},
                "Next":"Report"},
        "Report":{"Type":"Pass","Parameters":{"report.$":"$","batch.$":"$batch"},"End":true}}})
}

/// (type, previousEventId, details) of the events from the `n`-th ExecutionRedriven on.
fn resumed_part(events: &[Value], n: usize) -> Vec<(String, u64, Value)> {
    let at = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e["type"] == "ExecutionRedriven")
        .map(|(i, _)| i)
        .nth(n - 1)
        .expect("an ExecutionRedriven event");
    events[at..]
        .iter()
        .map(|e| {
            let details = e
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.ends_with("EventDetails")))
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Null);
            (
                e["type"].as_str().unwrap_or_default().to_string(),
                e["previousEventId"].as_u64().unwrap_or_default(),
                details,
            )
        })
        .collect()
}

fn entered(name: &str, input: &str) -> Value {
    json!({"name": name, "input": input, "inputDetails": {"truncated": false}})
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_and_start_at_a_state_through_the_api_function() {
    let Some(h) = harness(Some(MOCK), false).await else {
        return;
    };
    let svc = h.api();
    let sm = h.create("job", &job()).await;
    let started = call(
        &svc,
        "StartExecution",
        json!({"stateMachineArn": format!("{sm}#Fix"), "name": "run-1"}),
    )
    .await;
    let arn = started["executionArn"].as_str().expect("arn").to_string();
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let first = history_through_api(&svc, &arn, 100, false).await;
    assert_eq!(
        first.last().map(|e| e["type"].clone()),
        Some(json!("ExecutionFailed"))
    );
    let n = first.len() as u64;

    // Refused: unknown state, a Map index on a top-level state, a bad input.
    for (body, want) in [
        (
            json!({"executionArn": arn, "stateName": "Nope"}),
            "ValidationException",
        ),
        (
            json!({"executionArn": arn, "stateName": "Load", "mapIterationIndex": 0}),
            "ValidationException",
        ),
        (
            json!({"executionArn": arn, "stateName": "Report"}),
            "ValidationException",
        ),
        (
            json!({"executionArn": arn, "stateName": "Load", "input": "{nope"}),
            "InvalidExecutionInput",
        ),
        (
            json!({"executionArn": format!("{arn}x"), "stateName": "Load"}),
            "ExecutionDoesNotExist",
        ),
    ] {
        assert_eq!(call_err(&svc, "ResumeExecution", body).await, want);
    }

    // Resume at the failed state with its recorded input: the mock now returns.
    let out = call(
        &svc,
        "ResumeExecution",
        json!({"executionArn": arn, "stateName": "Load"}),
    )
    .await;
    assert_eq!(out["redriveCount"], json!(1));
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let d = call(&svc, "DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(d["status"], json!("SUCCEEDED"), "{d}");
    assert_eq!(d["redriveCount"], json!(1));
    assert!(d["redriveDate"].is_number(), "{d}");
    let output: Value = serde_json::from_str(d["output"].as_str().unwrap_or("null")).expect("json");
    assert_eq!(output["batch"], json!("b-7"));
    let events = history_through_api(&svc, &arn, 100, false).await;
    assert_gapless_values(&events);
    let part = resumed_part(&events, 1);
    let kinds: Vec<&str> = part.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ExecutionRedriven",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    let prevs: Vec<u64> = part.iter().map(|p| p.1).collect();
    assert_eq!(prevs, (n..n + part.len() as u64).collect::<Vec<_>>());
    assert_eq!(
        part[0].2,
        json!({"redriveCount": 1, "stateName": "Load", "inputReplaced": false})
    );
    assert_eq!(part[1].2, entered("Load", r#"{"rows":[1,2,3]}"#));
    let params: Value =
        serde_json::from_str(part[2].2["parameters"].as_str().unwrap_or("null")).expect("json");
    assert_eq!(
        params["Payload"],
        json!({"rows": [1, 2, 3], "batch": "b-7"})
    );

    // SUCCEEDED: refused unless includeSucceeded; then a state with a new input.
    assert_eq!(
        call_err(
            &svc,
            "ResumeExecution",
            json!({"executionArn": arn, "stateName": "Report"})
        )
        .await,
        "ExecutionNotRedrivable"
    );
    call(
        &svc,
        "ResumeExecution",
        json!({"executionArn": arn, "stateName": "Report", "input": "{\"by\":\"hand\"}",
               "includeSucceeded": true}),
    )
    .await;
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let events = history_through_api(&svc, &arn, 100, false).await;
    let part = resumed_part(&events, 2);
    let at = events.len() as u64 - part.len() as u64;
    assert_eq!(
        part,
        vec![
            (
                "ExecutionRedriven".to_string(),
                at,
                json!({"redriveCount": 2, "stateName": "Report", "inputReplaced": true})
            ),
            (
                "PassStateEntered".into(),
                at + 1,
                entered("Report", r#"{"by":"hand"}"#)
            ),
            (
                "PassStateExited".into(),
                at + 2,
                json!({"name": "Report", "output": r#"{"report":{"by":"hand"},"batch":"b-7"}"#,
                       "outputDetails": {"truncated": false}})
            ),
            (
                "ExecutionSucceeded".into(),
                at + 3,
                json!({"output": r#"{"report":{"by":"hand"},"batch":"b-7"}"#,
                       "outputDetails": {"truncated": false}})
            ),
        ]
    );

    // A new execution at a state, from this one: its recorded input and variables at Load.
    let again = call(
        &svc,
        "StartExecutionFromState",
        json!({"stateMachineArn": format!("{sm}#Fix"), "stateName": "Load",
               "sourceExecutionArn": arn, "name": "run-2"}),
    )
    .await;
    let again = again["executionArn"].as_str().expect("arn").to_string();
    h.run_until_done(std::slice::from_ref(&again), Duration::from_secs(60))
        .await;
    let events = history_through_api(&svc, &again, 100, false).await;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "ExecutionFailed"
        ]
    );
    let started = &events[0]["executionStartedEventDetails"];
    assert_eq!(started["startAt"], json!("Load"));
    assert_eq!(started["sourceExecutionArn"], json!(arn));
    assert_eq!(started["input"], json!(r#"{"rows":[1,2,3]}"#));
    // DescribeExecution keeps the link (Stepwise's own members).
    let d = call(&svc, "DescribeExecution", json!({"executionArn": again})).await;
    assert_eq!(d["sourceExecutionArn"], json!(arn), "{d}");
    assert_eq!(d["startAt"], json!("Load"), "{d}");
    assert_eq!(
        call_err(
            &svc,
            "StartExecutionFromState",
            json!({"stateMachineArn": sm, "stateName": "Nope"})
        )
        .await,
        "ValidationException"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_inside_a_parallel_branch_through_the_api_function() {
    let Some(h) = harness(Some(MOCK), false).await else {
        return;
    };
    let svc = h.api();
    let sm = h
        .create(
            "fan",
            &json!({"StartAt":"Both","States":{"Both":{"Type":"Parallel","End":true,"Branches":[
                {"StartAt":"Count","States":{"Count":{"Type":"Pass","Parameters":{"n":3},"End":true}}},
                {"StartAt":"Prep","States":{
                    "Prep":{"Type":"Pass","Next":"Upload"},
                    "Upload":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
                              "Parameters":{"FunctionName":"up","Payload.$":"$"},
                              "OutputPath":"$.loaded","End":true}}}]}}}),
        )
        .await;
    let started = call(
        &svc,
        "StartExecution",
        json!({"stateMachineArn": format!("{sm}#Fix"), "input": "{\"k\":1}"}),
    )
    .await;
    let arn = started["executionArn"].as_str().expect("arn").to_string();
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let n = history_through_api(&svc, &arn, 100, false).await.len() as u64;
    call(
        &svc,
        "ResumeExecution",
        json!({"executionArn": arn, "stateName": "Upload"}),
    )
    .await;
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let d = call(&svc, "DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(d["status"], json!("SUCCEEDED"), "{d}");
    // branch 0's recorded result is kept; branch 1 went on from Upload
    assert_eq!(d["output"], json!(r#"[{"n":3},true]"#));
    let events = history_through_api(&svc, &arn, 100, false).await;
    let part = resumed_part(&events, 1);
    assert_eq!(
        part[..4],
        [
            (
                "ExecutionRedriven".to_string(),
                n,
                json!({"redriveCount": 1, "stateName": "Upload", "inputReplaced": false,
                       "branchIndex": 1})
            ),
            (
                "ParallelStateEntered".into(),
                n + 1,
                entered("Both", r#"{"k":1}"#)
            ),
            ("ParallelStateStarted".into(), n + 2, Value::Null),
            (
                "TaskStateEntered".into(),
                n + 3,
                entered("Upload", r#"{"k":1}"#)
            ),
        ]
    );
    let kinds: Vec<&str> = part[4..].iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ParallelStateSucceeded",
            "ParallelStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_inside_a_map_iteration_through_the_api_function() {
    let Some(h) = harness(Some(MOCK), false).await else {
        return;
    };
    let svc = h.api();
    let sm = h
        .create(
            "each",
            &json!({"StartAt":"Each","States":{"Each":{"Type":"Map","End":true,
                "ItemsPath":"$.items","MaxConcurrency":1,
                "ItemProcessor":{"StartAt":"Shape","States":{
                    "Shape":{"Type":"Pass","Parameters":{"v.$":"$"},"Next":"Put"},
                    "Put":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
                           "Parameters":{"FunctionName":"put","Payload.$":"$"},"End":true}}}}}}),
        )
        .await;
    let started = call(
        &svc,
        "StartExecution",
        json!({"stateMachineArn": format!("{sm}#Fix"), "input": "{\"items\":[1,2,3]}"}),
    )
    .await;
    let arn = started["executionArn"].as_str().expect("arn").to_string();
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let n = history_through_api(&svc, &arn, 100, false).await.len() as u64;
    assert_eq!(
        call_err(
            &svc,
            "ResumeExecution",
            json!({"executionArn": arn, "stateName": "Put"})
        )
        .await,
        "ValidationException"
    );
    call(
        &svc,
        "ResumeExecution",
        json!({"executionArn": arn, "stateName": "Put", "mapIterationIndex": 1}),
    )
    .await;
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let d = call(&svc, "DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(d["status"], json!("SUCCEEDED"), "{d}");
    // iteration 0 kept its recorded result; 1 went on from Put; 2 ran from its start
    assert_eq!(d["output"], json!(r#"["r0","again","again"]"#));
    let events = history_through_api(&svc, &arn, 100, false).await;
    assert_gapless_values(&events);
    let part = resumed_part(&events, 1);
    assert_eq!(
        part[..5],
        [
            (
                "ExecutionRedriven".to_string(),
                n,
                json!({"redriveCount": 1, "stateName": "Put", "inputReplaced": false,
                       "mapIterationIndex": 1})
            ),
            (
                "MapStateEntered".into(),
                n + 1,
                entered("Each", r#"{"items":[1,2,3]}"#)
            ),
            ("MapStateStarted".into(), n + 2, json!({"length": 3})),
            (
                "MapIterationStarted".into(),
                n + 3,
                json!({"name": "Each", "index": 1})
            ),
            (
                "TaskStateEntered".into(),
                n + 4,
                entered("Put", r#"{"v":2}"#)
            ),
        ]
    );
    let starts: Vec<&Value> = part
        .iter()
        .filter(|p| p.0 == "MapIterationStarted")
        .map(|p| &p.2["index"])
        .collect();
    assert_eq!(starts, [&json!(1), &json!(2)]);
    assert_eq!(
        part.last().map(|p| p.0.as_str()),
        Some("ExecutionSucceeded")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_execution_is_refused_and_a_state_never_reached_needs_an_input() {
    let Some(h) = harness(Some(MOCK), false).await else {
        return;
    };
    let svc = h.api();
    let sm = h.create("job", &job()).await;
    let started = call(
        &svc,
        "StartExecution",
        json!({"stateMachineArn": format!("{sm}#Fix"), "name": "run-3"}),
    )
    .await;
    let arn = started["executionArn"].as_str().expect("arn").to_string();
    // Its Start waits in the transitions queue: RUNNING.
    let refused = json!({"executionArn": arn, "stateName": "Load"});
    assert_eq!(
        call_err(&svc, "ResumeExecution", refused).await,
        "ExecutionNotRedrivable"
    );
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let n = history_through_api(&svc, &arn, 100, false).await.len() as u64;
    // Load failed: Report was never entered, so resuming there needs an input.
    assert_eq!(
        call_err(
            &svc,
            "ResumeExecution",
            json!({"executionArn": arn, "stateName": "Report"})
        )
        .await,
        "ValidationException"
    );
    call(
        &svc,
        "ResumeExecution",
        json!({"executionArn": arn, "stateName": "Report", "input": "{\"by\":\"hand\"}"}),
    )
    .await;
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let events = history_through_api(&svc, &arn, 100, false).await;
    assert_gapless_values(&events);
    // The variables are the ones the run left (Extract's batch).
    let out = r#"{"report":{"by":"hand"},"batch":"b-7"}"#;
    assert_eq!(
        resumed_part(&events, 1),
        vec![
            (
                "ExecutionRedriven".to_string(),
                n,
                json!({"redriveCount": 1, "stateName": "Report", "inputReplaced": true})
            ),
            (
                "PassStateEntered".into(),
                n + 1,
                entered("Report", r#"{"by":"hand"}"#)
            ),
            (
                "PassStateExited".into(),
                n + 2,
                json!({"name": "Report", "output": out, "outputDetails": {"truncated": false}})
            ),
            (
                "ExecutionSucceeded".into(),
                n + 3,
                json!({"output": out, "outputDetails": {"truncated": false}})
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_inside_a_map_iteration_inside_a_parallel_branch_through_the_api_function() {
    let Some(h) = harness(Some(MOCK), false).await else {
        return;
    };
    let svc = h.api();
    let sm = h
        .create(
            "deep",
            &json!({"StartAt":"Both","States":{"Both":{"Type":"Parallel","End":true,"Branches":[
                {"StartAt":"Count","States":{"Count":{"Type":"Pass","Result":"n","End":true}}},
                {"StartAt":"Each","States":{"Each":{"Type":"Map","End":true,
                    "ItemsPath":"$.items","MaxConcurrency":1,
                    "ItemProcessor":{"StartAt":"Put","States":{
                        "Put":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
                               "Parameters":{"FunctionName":"put","Payload.$":"$"},"End":true}}}}}}]}}}),
        )
        .await;
    let started = call(
        &svc,
        "StartExecution",
        json!({"stateMachineArn": format!("{sm}#Fix"), "input": "{\"items\":[1,2]}"}),
    )
    .await;
    let arn = started["executionArn"].as_str().expect("arn").to_string();
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let n = history_through_api(&svc, &arn, 100, false).await.len() as u64;
    call(
        &svc,
        "ResumeExecution",
        json!({"executionArn": arn, "stateName": "Put", "mapIterationIndexes": [1]}),
    )
    .await;
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let d = call(&svc, "DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(d["status"], json!("SUCCEEDED"), "{d}");
    // branch 0 and iteration 0 kept their recorded results
    assert_eq!(d["output"], json!(r#"["n",["r0","again"]]"#));
    let events = history_through_api(&svc, &arn, 100, false).await;
    assert_gapless_values(&events);
    let part = resumed_part(&events, 1);
    assert_eq!(
        part[..7],
        [
            (
                "ExecutionRedriven".to_string(),
                n,
                json!({"redriveCount": 1, "stateName": "Put", "inputReplaced": false,
                       "branchIndex": 1, "mapIterationIndex": 1})
            ),
            (
                "ParallelStateEntered".into(),
                n + 1,
                entered("Both", r#"{"items":[1,2]}"#)
            ),
            ("ParallelStateStarted".into(), n + 2, Value::Null),
            (
                "MapStateEntered".into(),
                n + 3,
                entered("Each", r#"{"items":[1,2]}"#)
            ),
            ("MapStateStarted".into(), n + 4, json!({"length": 2})),
            (
                "MapIterationStarted".into(),
                n + 5,
                json!({"name": "Each", "index": 1})
            ),
            ("TaskStateEntered".into(), n + 6, entered("Put", "2")),
        ]
    );
}

fn assert_gapless_values(events: &[Value]) {
    let ids: Vec<u64> = events.iter().filter_map(|e| e["id"].as_u64()).collect();
    assert_eq!(ids, (1..=events.len() as u64).collect::<Vec<_>>());
}
