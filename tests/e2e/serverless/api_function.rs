//! The API Lambda function end to end: the execution lifecycle through the Step Functions API,
//! activities and task tokens.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_api_function_creates_starts_lists_pages_and_stops_executions() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let svc = h.api();

    // Bad input answers with AWS's error types.
    let (status, out) = call_raw(&svc, Some("AWSStepFunctions.Frobnicate"), "{}", false).await;
    assert_eq!(
        (status, out["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    let (status, out) = call_raw(&svc, None, "{}", false).await;
    assert_eq!(
        (status, out["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    let (status, out) = call_raw(
        &svc,
        Some("AWSStepFunctions.ListStateMachines"),
        "{\"maxResults\": ",
        false,
    )
    .await;
    assert_eq!(
        (status, out["__type"].as_str()),
        (400, Some("SerializationException"))
    );
    assert_eq!(
        call_err(
            &svc,
            "CreateStateMachine",
            json!({"name": "broken", "definition": "{\"StartAt\":\"Nowhere\",\"States\":{}}", "roleArn": API_ROLE}),
        )
        .await,
        "InvalidDefinition"
    );
    assert_eq!(
        call_err(
            &svc,
            "DescribeExecution",
            json!({"executionArn": "arn:aws:states:us-east-1:111111111111:execution:nope:never"}),
        )
        .await,
        "ExecutionDoesNotExist"
    );

    // A machine created through the API runs on the stepper.
    let flow = create_through_api(
        &svc,
        "flow",
        json!({"StartAt":"P","States":{
            "P":{"Type":"Pass","Result":{"ok":true},"ResultPath":"$.r","Next":"W"},
            "W":{"Type":"Wait","Seconds":0,"Next":"Q"},
            "Q":{"Type":"Pass","End":true}}}),
    )
    .await;
    // Creating it again with the same definition is idempotent.
    let definition = json!({"StartAt":"P","States":{
        "P":{"Type":"Pass","Result":{"ok":true},"ResultPath":"$.r","Next":"W"},
        "W":{"Type":"Wait","Seconds":0,"Next":"Q"},
        "Q":{"Type":"Pass","End":true}}});
    assert_eq!(create_through_api(&svc, "flow", definition).await, flow);
    // A base64-encoded body (as API Gateway passes binary media) reads the same.
    let (status, again) = call_raw(
        &svc,
        Some("AWSStepFunctions.DescribeStateMachine"),
        &json!({"stateMachineArn": flow}).to_string(),
        true,
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["name"], "flow");
    let listed = call(&svc, "ListStateMachines", json!({})).await;
    assert!(listed["stateMachines"]
        .as_array()
        .is_some_and(|l| l.iter().any(|m| m["stateMachineArn"] == json!(flow))));

    let start = |name: &str, input: Value| json!({"stateMachineArn": flow, "name": name, "input": input.to_string()});
    let a = call(&svc, "StartExecution", start("a", json!({"x": 1}))).await;
    let a_arn = a["executionArn"].as_str().expect("arn").to_string();
    // The same name and input while it runs: the same execution.
    let a2 = call(&svc, "StartExecution", start("a", json!({"x": 1}))).await;
    assert_eq!(a2["executionArn"], a["executionArn"]);
    assert_eq!(
        call_err(&svc, "StartExecution", start("a", json!({"x": 2}))).await,
        "ExecutionAlreadyExists"
    );
    let b = call(&svc, "StartExecution", start("b", json!({"x": 2}))).await;
    let b_arn = b["executionArn"].as_str().expect("arn").to_string();
    let running = call(&svc, "DescribeExecution", json!({"executionArn": a_arn})).await;
    assert_eq!(running["status"], "RUNNING");

    h.run_until_done(&[a_arn.clone(), b_arn.clone()], Duration::from_secs(120))
        .await;
    let done = call(&svc, "DescribeExecution", json!({"executionArn": a_arn})).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(
        serde_json::from_str::<Value>(done["output"].as_str().unwrap_or("null")).ok(),
        Some(json!({"x": 1, "r": {"ok": true}}))
    );
    assert!(done["stopDate"].is_number(), "{done}");

    // History: pages of 2 give the same events as one page; reverse order is the mirror.
    let all = history_through_api(&svc, &a_arn, 1000, false).await;
    let paged = history_through_api(&svc, &a_arn, 2, false).await;
    assert!(all.len() >= 8, "{all:?}");
    assert_eq!(all, paged);
    let ids: Vec<u64> = all.iter().filter_map(|e| e["id"].as_u64()).collect();
    assert_eq!(ids, (1..=all.len() as u64).collect::<Vec<_>>());
    assert_eq!(all[0]["type"], "ExecutionStarted");
    assert_eq!(all[all.len() - 1]["type"], "ExecutionSucceeded");
    let mut reversed = history_through_api(&svc, &a_arn, 3, true).await;
    reversed.reverse();
    assert_eq!(reversed, all);

    // StopExecution on a long wait (a Scheduler timer).
    let waiter = create_through_api(
        &svc,
        "waiter",
        json!({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}),
    )
    .await;
    let w = call(
        &svc,
        "StartExecution",
        json!({"stateMachineArn": waiter, "name": "w"}),
    )
    .await;
    let w_arn = w["executionArn"].as_str().expect("arn").to_string();
    h.settle_queues().await;
    let hist = history_through_api(&svc, &w_arn, 100, false).await;
    assert_eq!(
        hist.last().map(|e| e["type"].clone()),
        Some(json!("WaitStateEntered"))
    );
    let stopped = call(
        &svc,
        "StopExecution",
        json!({"executionArn": w_arn, "error": "Halt", "cause": "enough"}),
    )
    .await;
    assert!(stopped["stopDate"].is_number(), "{stopped}");
    let d = call(&svc, "DescribeExecution", json!({"executionArn": w_arn})).await;
    assert_eq!(
        (d["status"].as_str(), d["error"].as_str()),
        (Some("ABORTED"), Some("Halt"))
    );

    // ListExecutions: newest first, filtered by status.
    let list = |sm: &str, status: Option<&str>| {
        let mut r = json!({"stateMachineArn": sm});
        if let Some(s) = status {
            r["statusFilter"] = json!(s);
        }
        r
    };
    let names = |v: &Value| -> Vec<String> {
        v["executions"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|e| e["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let ok = call(&svc, "ListExecutions", list(&flow, Some("SUCCEEDED"))).await;
    assert_eq!(names(&ok), vec!["b", "a"], "{ok}");
    assert!(ok["executions"][0]["stopDate"].is_number());
    let none = call(&svc, "ListExecutions", list(&flow, Some("RUNNING"))).await;
    assert!(names(&none).is_empty(), "{none}");
    let aborted = call(&svc, "ListExecutions", list(&waiter, Some("ABORTED"))).await;
    assert_eq!(names(&aborted), vec!["w"]);
    let first = call(
        &svc,
        "ListExecutions",
        json!({"stateMachineArn": flow, "maxResults": 1}),
    )
    .await;
    assert_eq!(names(&first), vec!["b"]);
    let token = first["nextToken"].as_str().expect("nextToken");
    let second = call(
        &svc,
        "ListExecutions",
        json!({"stateMachineArn": flow, "maxResults": 1, "nextToken": token}),
    )
    .await;
    assert_eq!(names(&second), vec!["a"]);

    // StartSyncExecution on an EXPRESS machine of Pass states: one inline step.
    let quick = call(
        &svc,
        "CreateStateMachine",
        json!({"name": "quick", "type": "EXPRESS", "roleArn": API_ROLE,
               "definition": json!({"StartAt":"P","States":{"P":{"Type":"Pass","Result":7,"End":true}}}).to_string()}),
    )
    .await;
    let sync = call(
        &svc,
        "StartSyncExecution",
        json!({"stateMachineArn": quick["stateMachineArn"], "input": "{}"}),
    )
    .await;
    assert_eq!(
        (sync["status"].as_str(), sync["output"].as_str()),
        (Some("SUCCEEDED"), Some("7"))
    );

    // An execution started by name through StartExecution (the trigger's path) runs and is
    // described like the others.
    let t_arn = start_execution(&h, &flow, Some("t".into()), json!({"x": 3}), None)
        .await
        .expect("start");
    h.run_until_done(std::slice::from_ref(&t_arn), Duration::from_secs(60))
        .await;
    let t = call(&svc, "DescribeExecution", json!({"executionArn": t_arn})).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
}

const CALLBACK_MOCK: &str = r#"{"StateMachines":{"worker":{"TestCases":{"Cb":{"Notify":"Sent"}}}},
  "MockedResponses":{"Sent":{"0":{"Return":{"MessageId":"m-1"}}}}}"#;

#[tokio::test(flavor = "multi_thread")]
async fn activities_and_task_tokens_round_trip_through_the_api_function() {
    let Some(h) = harness(Some(CALLBACK_MOCK), false).await else {
        return;
    };
    let svc = h.api();
    let activity = call(&svc, "CreateActivity", json!({"name": "work"})).await;
    let activity_arn = activity["activityArn"].as_str().expect("arn").to_string();
    let worker = create_through_api(
        &svc,
        "worker",
        json!({"StartAt":"Work","States":{
            "Work":{"Type":"Task","Resource": activity_arn,"ResultPath":"$.work","Next":"Notify"},
            "Notify":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters":{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/111111111111/q",
                              "MessageBody":{"token.$":"$$.Task.Token"}},
                "ResultPath":"$.callback","End":true}}}),
    )
    .await;
    // Nothing queued yet: GetActivityTask would long-poll; don't ask before the task is there.
    let started = call(
        &svc,
        "StartExecution",
        json!({"stateMachineArn": format!("{worker}#Cb"), "name": "job", "input": "{\"job\":1}"}),
    )
    .await;
    let arn = started["executionArn"].as_str().expect("arn").to_string();
    h.settle_queues().await;

    // The activity task: handed out once, with the state's input.
    let task = call(
        &svc,
        "GetActivityTask",
        json!({"activityArn": activity_arn, "workerName": "w-1"}),
    )
    .await;
    let token = task["taskToken"].as_str().expect("taskToken").to_string();
    assert_eq!(
        serde_json::from_str::<Value>(task["input"].as_str().unwrap_or("null")).ok(),
        Some(json!({"job": 1}))
    );
    call(&svc, "SendTaskHeartbeat", json!({"taskToken": token})).await;
    call(
        &svc,
        "SendTaskSuccess",
        json!({"taskToken": token, "output": "{\"done\":true}"}),
    )
    .await;
    assert_eq!(
        call_err(
            &svc,
            "SendTaskSuccess",
            json!({"taskToken": token, "output": "{}"})
        )
        .await,
        "TaskTimedOut"
    );
    assert_eq!(
        call_err(
            &svc,
            "SendTaskFailure",
            json!({"taskToken": "no-such-token"})
        )
        .await,
        "InvalidToken"
    );

    // The callback task: the invoker's mocked send gives TaskSubmitted; the token comes from the
    // history's TaskScheduled parameters.
    h.settle_queues().await;
    let events = history_through_api(&svc, &arn, 100, false).await;
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    for t in [
        "ActivityScheduled",
        "ActivityStarted",
        "ActivitySucceeded",
        "TaskScheduled",
        "TaskSubmitted",
    ] {
        assert!(types.contains(&t), "{t} missing from {types:?}");
    }
    let started_ev = events
        .iter()
        .find(|e| e["type"] == "ActivityStarted")
        .expect("ActivityStarted");
    assert_eq!(
        started_ev["activityStartedEventDetails"]["workerName"],
        "w-1"
    );
    let scheduled = events
        .iter()
        .find(|e| e["type"] == "TaskScheduled")
        .expect("TaskScheduled");
    let params: Value = serde_json::from_str(
        scheduled["taskScheduledEventDetails"]["parameters"]
            .as_str()
            .unwrap_or("null"),
    )
    .expect("parameters");
    let cb_token = params["MessageBody"]["token"]
        .as_str()
        .expect("token in parameters")
        .to_string();
    let running = call(&svc, "DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(running["status"], "RUNNING");
    call(
        &svc,
        "SendTaskSuccess",
        json!({"taskToken": cb_token, "output": "{\"answer\":42}"}),
    )
    .await;
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let done = call(&svc, "DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(
        serde_json::from_str::<Value>(done["output"].as_str().unwrap_or("null")).ok(),
        Some(json!({"job": 1, "work": {"done": true}, "callback": {"answer": 42}}))
    );
    assert_eq!(
        call_err(&svc, "SendTaskHeartbeat", json!({"taskToken": cb_token})).await,
        "TaskTimedOut"
    );
}

/// GetActivityTask behind API Gateway (29-second limit): the serverless API answers an idle poll
/// well within it, and a task is never lost to a poll that claimed it and died (a Lambda cut off
/// at the gateway's limit, a crash): the claim lapses and the next poll gets the task; a task
/// handed to a worker is gone.
#[tokio::test(flavor = "multi_thread")]
async fn an_activity_task_claimed_by_a_poll_that_died_goes_to_the_next_poll() {
    use stepwise_ports::api::ApiStore;
    use stepwise_store_aws::api_store::ACTIVITY_CLAIM_MS;
    use stepwise_store_aws::meter::Meter;
    use stepwise_store_aws::ports::AwsStore;
    let Some(h) = harness(None, false).await else {
        return;
    };
    let svc = h.api();
    let poll = svc.service.config().activity_poll;
    assert!(
        poll.wait_ms <= 20_000 && poll.answer_by_ms <= 25_000,
        "within API Gateway's 29 s: {poll:?}"
    );
    let activity = call(&svc, "CreateActivity", json!({"name": "claimed"})).await;
    let activity_arn = activity["activityArn"].as_str().expect("arn").to_string();
    let sm = create_through_api(
        &svc,
        "claims",
        json!({"StartAt":"Work","States":{"Work":{"Type":"Task","Resource": activity_arn,"End":true}}}),
    )
    .await;
    let started = call(
        &svc,
        "StartExecution",
        json!({"stateMachineArn": sm, "input": "{\"job\":2}"}),
    )
    .await;
    let arn = started["executionArn"].as_str().expect("arn").to_string();
    h.settle_queues().await;

    let now = stepwise_runtime::local::wall_clock_ms();
    let dead_poll = AwsStore::new(h.aws.clone(), std::sync::Arc::new(Meter::default()));
    let other_poll = AwsStore::new(h.aws.clone(), std::sync::Arc::new(Meter::default()));
    let claimed = dead_poll
        .claim_activity_task(&activity_arn, now)
        .await
        .expect("claim")
        .expect("the queued task");
    assert_eq!(
        other_poll
            .claim_activity_task(&activity_arn, now)
            .await
            .expect("claim"),
        None,
        "a claim holds the task against other polls"
    );
    // The first poll never answered: once its claim lapses the task is there again.
    let again = other_poll
        .claim_activity_task(&activity_arn, now + ACTIVITY_CLAIM_MS + 1)
        .await
        .expect("claim");
    assert_eq!(again.as_ref(), Some(&claimed), "the task outlives its poll");
    // A poll with nobody left to answer gives it back at once.
    other_poll
        .release_activity_task(&activity_arn, &claimed)
        .await
        .expect("release");
    // A poll that claims the task after its answer could still reach the worker (here: at
    // once) answers with none and leaves the task queued.
    let late_store = std::sync::Arc::new(AwsStore::new(
        h.aws.clone(),
        std::sync::Arc::new(Meter::default()),
    ));
    let late = stepwise_api::Service::new(
        late_store.clone(),
        std::sync::Arc::new(stepwise_store_aws::api_driver::AwsDriver::new(late_store)),
        stepwise_api::ServiceConfig {
            activity_poll: stepwise_api::ActivityPoll {
                wait_ms: 0,
                answer_by_ms: 0,
            },
            ..Default::default()
        },
    );
    let (status, body) = late
        .handle(
            "AWSStepFunctions.GetActivityTask",
            json!({"activityArn": activity_arn}).to_string().as_bytes(),
        )
        .await;
    assert_eq!((status, body.as_slice()), (200, &b"{}"[..]));

    let task = call(
        &svc,
        "GetActivityTask",
        json!({"activityArn": activity_arn, "workerName": "w-2"}),
    )
    .await;
    assert_eq!(task["taskToken"].as_str(), Some(claimed.token.as_str()));
    assert_eq!(
        other_poll
            .claim_activity_task(&activity_arn, now + 10 * ACTIVITY_CLAIM_MS)
            .await
            .expect("claim"),
        None,
        "a task handed to a worker is handed out once"
    );
    call(
        &svc,
        "SendTaskSuccess",
        json!({"taskToken": claimed.token, "output": "{\"ok\":true}"}),
    )
    .await;
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let (e, _) = h.outcome(&arn).await;
    assert_eq!(e.state.status, Status::Succeeded, "{:?}", e.state.cause);
    assert_eq!(e.state.output, Some(json!({"ok": true})));
}
