//! Machines run to their end on the serverless home: workloads, the conformance corpus,
//! injected faults, a 100k-event execution, metering, and executions started by S3 and
//! EventBridge events.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn workloads_give_their_expected_output() {
    let Some(shared) = shared_dir() else { return };
    let Some(h) = harness(None, false).await else {
        return;
    };
    let dir = shared.join("bench/workloads");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("workloads")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    names.sort();
    let mut started = Vec::new();
    for (i, w) in names.iter().enumerate() {
        let read = |f: &str| -> Value {
            serde_json::from_str(&std::fs::read_to_string(w.join(f)).expect("file")).expect("json")
        };
        let sm = h.create(&format!("w{i}"), &read("definition.json")).await;
        let arn = start_execution(&h, &sm, Some("run".into()), read("input.json"), None)
            .await
            .expect("start");
        started.push((w.clone(), arn, read("expected.json")));
    }
    let arns: Vec<String> = started.iter().map(|s| s.1.clone()).collect();
    h.run_until_done(&arns, Duration::from_secs(600)).await;
    for (w, arn, expected) in started {
        let (e, events) = h.outcome(&arn).await;
        assert_eq!(
            e.state.status,
            Status::Succeeded,
            "{}: {:?} {:?}",
            w.display(),
            e.state.error,
            e.state.cause
        );
        assert_eq!(e.state.output.as_ref(), Some(&expected), "{}", w.display());
        assert_gapless(&events);
        print_usage(
            w.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
            &e.usage,
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_cases_end_as_in_the_embedded_home() {
    let Some(shared) = shared_dir() else { return };
    let Some(h) = harness(None, false).await else {
        return;
    };
    let cases = shared.join("conformance/cases");
    let mut dirs: Vec<_> = std::fs::read_dir(&cases)
        .expect("cases")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    dirs.sort();
    let mut started = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let meta: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("meta.json")).unwrap_or_default(),
        )
        .unwrap_or(Value::Null);
        if meta["query_language"] != "JSONPath"
            || meta["needs"].as_array().is_some_and(|n| !n.is_empty())
        {
            continue;
        }
        let (definition, input, expected) = load_case(dir);
        // CreateStateMachine would refuse what does not parse (the redacted recordings); the
        // embedded run refuses it the same way.
        if stepwise_asl::model::Definition::from_value(&definition).is_err() {
            assert!(run_definition(&definition, input, "conformance").is_err());
            continue;
        }
        let sm = h.create(&format!("c{i}"), &definition).await;
        let arn = start_execution(&h, &sm, Some("run".into()), input.clone(), None)
            .await
            .expect("start");
        started.push((dir.clone(), arn, definition, input, expected));
    }
    let arns: Vec<String> = started.iter().map(|s| s.1.clone()).collect();
    h.run_until_done(&arns, Duration::from_secs(600)).await;
    let (mut same, mut different) = (0, Vec::new());
    for (dir, arn, definition, input, expected) in started {
        let (e, events) = h.outcome(&arn).await;
        let serverless = Outcome::of(
            &e.state,
            events.iter().map(|x| x.event_type().to_string()).collect(),
        );
        let (state, history) =
            run_definition(&definition, input, "conformance").expect("embedded run");
        let embedded = Outcome::of(
            &state,
            history.iter().map(|x| x.event_type().to_string()).collect(),
        );
        let a = compare_with_recording(&expected, &serverless).is_ok();
        let b = compare_with_recording(&expected, &embedded).is_ok();
        if a == b && serverless.status == embedded.status && serverless.events == embedded.events {
            same += 1;
        } else {
            different.push(format!(
                "{}: serverless {serverless:?} / embedded {embedded:?}",
                dir.display()
            ));
        }
    }
    eprintln!(
        "{same} cases end as in the embedded home, {} differ",
        different.len()
    );
    assert!(different.is_empty(), "{}", different.join("\n"));
}

const FAULT_MACHINE: &str = r#"{"StartAt":"Charge","States":{
  "Charge":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"charge","Payload.$":"$"},
    "ResultSelector":{"receipt.$":"$.Payload.receipt"},"ResultPath":"$.charge","Next":"Pause"},
  "Pause":{"Type":"Wait","Seconds":1,"Next":"Fan"},
  "Fan":{"Type":"Parallel","Branches":[
     {"StartAt":"Ship","States":{"Ship":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"ship"},"OutputPath":"$.Payload","End":true}}},
     {"StartAt":"Each","States":{"Each":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"Item","States":{"Item":{"Type":"Pass","Parameters":{"x.$":"$"},"End":true}}},"End":true}}}],
   "ResultPath":"$.fan","End":true}}}"#;

const FAULT_MOCK: &str = r#"{"StateMachines":{"faulty":{"TestCases":{"Happy":{"Charge":"Ok","Ship":"Shipped"}}}},
  "MockedResponses":{"Ok":{"0":{"Return":{"StatusCode":200,"Payload":{"receipt":"r-1"}}}},
                     "Shipped":{"0":{"Return":{"StatusCode":200,"Payload":{"shipped":true}}}}}}"#;

async fn run_fault_machine(faults: bool) -> Option<Vec<(Value, Vec<String>)>> {
    let h = harness(Some(FAULT_MOCK), faults).await?;
    let def: Value = serde_json::from_str(FAULT_MACHINE).expect("json");
    let sm = h.create("faulty", &def).await;
    let mut arns = Vec::new();
    for i in 0..5 {
        let input = json!({"order": i, "items": [i, i + 1]});
        arns.push(
            start_execution(&h, &sm, Some(format!("e{i}")), input, Some("Happy".into()))
                .await
                .expect("start"),
        );
    }
    h.run_until_done(&arns, Duration::from_secs(300)).await;
    let mut out = Vec::new();
    for arn in arns {
        let (e, events) = h.outcome(&arn).await;
        assert_eq!(
            e.state.status,
            Status::Succeeded,
            "{:?} {:?}",
            e.state.error,
            e.state.cause
        );
        assert_gapless(&events);
        out.push((
            e.state.output.clone().unwrap_or(Value::Null),
            events.iter().map(|x| x.event_type().to_string()).collect(),
        ));
    }
    Some(out)
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicated_messages_and_a_killed_stepper_change_nothing() {
    let Some(calm) = run_fault_machine(false).await else {
        return;
    };
    let Some(stormy) = run_fault_machine(true).await else {
        return;
    };
    assert_eq!(
        calm, stormy,
        "every execution ends exactly as in the undisturbed run"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_100k_event_execution_does_per_step_work_independent_of_its_history() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    // Each round: 160 Pass states, a Wait of 0 s (a step boundary through the queues), a
    // Choice: ~324 events a step, so 100,000 events take ~320 steps, enough samples early and
    // late (with 50 Pass states a round it took ~1,900 steps and five minutes of CI).
    const PASSES: usize = 160;
    const ROUNDS: usize = 320;
    let mut states = serde_json::Map::new();
    states.insert(
        "Count".into(),
        json!({"Type":"Pass","Parameters":{"n.$":"States.MathAdd($.n, 1)"},"Next":"P1"}),
    );
    for i in 1..PASSES {
        let next = if i == PASSES - 1 {
            "Tick".to_string()
        } else {
            format!("P{}", i + 1)
        };
        states.insert(format!("P{i}"), json!({"Type":"Pass","Next": next}));
    }
    states.insert(
        "Tick".into(),
        json!({"Type":"Wait","Seconds":0,"Next":"Again"}),
    );
    states.insert(
        "Again".into(),
        json!({"Type":"Choice","Choices":[{"Variable":"$.n","NumericLessThan":ROUNDS,"Next":"Count"}],"Default":"Done"}),
    );
    states.insert("Done".into(), json!({"Type":"Succeed"}));
    let def = json!({"StartAt":"Count","States": states});
    let sm = h.create("long", &def).await;
    let arn = start_execution(&h, &sm, Some("long".into()), json!({"n": 0}), None)
        .await
        .expect("start");
    // Sample the execution's usage as it goes: (version, usage).
    let mut samples: Vec<(u64, Usage)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(1500);
    loop {
        let progressed = h.pump_transitions().await | h.pump_timers().await | h.pump_tasks().await;
        let e = h
            .table()
            .load_execution(&arn)
            .await
            .expect("load")
            .expect("exists");
        if samples.last().is_none_or(|(v, _)| *v != e.version) {
            samples.push((e.version, e.usage.clone()));
        }
        if e.state.status != Status::Running {
            assert_eq!(e.state.status, Status::Succeeded, "{:?}", e.state.cause);
            break;
        }
        assert!(Instant::now() < deadline, "still running");
        if !progressed {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let (e, events) = h.outcome(&arn).await;
    assert!(events.len() >= 100_000, "only {} events", events.len());
    assert_gapless(&events);
    // DynamoDB work per committed step, early in the history and late in it.
    let per_step = |a: &(u64, Usage), b: &(u64, Usage)| -> f64 {
        let steps = (b.0 - a.0).max(1) as f64;
        ((b.1.dynamodb_write_units + b.1.dynamodb_read_units)
            - (a.1.dynamodb_write_units + a.1.dynamodb_read_units))
            / steps
    };
    let n = samples.len();
    assert!(n > 200, "too few samples: {n}");
    let early = per_step(&samples[10], &samples[110]);
    let late = per_step(&samples[n - 101], &samples[n - 1]);
    eprintln!(
        "{} events, {} steps: {early:.1} DynamoDB units per step early, {late:.1} late; total usage {:?}",
        events.len(),
        e.version,
        e.usage
    );
    assert!(
        late <= early * 1.25 + 2.0,
        "per-step work grew with the history: {early:.1} -> {late:.1}"
    );
}

/// One line per workload: Stepwise's own overhead per million transitions, the task functions'
/// cost apart (paid the same under Step Functions).
pub(super) fn print_usage(what: &str, u: &Usage) {
    let prices = Prices::default();
    let per_million = |c: f64| {
        if u.transitions > 0 {
            c / u.transitions as f64 * 1e6
        } else {
            0.0
        }
    };
    eprintln!(
        "{what:22} transitions {:6} | DynamoDB {:.0} WRU {:.0} RRU {} req | SQS fifo {} std {} | schedules {} | Lambda {} inv {:.3} GB-s | S3 {}/{} | overhead ${:.2} per million transitions (Step Functions Standard: $25.00) | task calls {} ({:.3} s): ${:.2} per million transitions",
        u.transitions,
        u.dynamodb_write_units,
        u.dynamodb_read_units,
        u.dynamodb_requests,
        u.sqs_fifo_requests,
        u.sqs_standard_requests,
        u.schedules,
        u.lambda_invocations,
        u.lambda_gb_seconds,
        u.s3_puts,
        u.s3_gets,
        per_million(prices.cost(u)),
        u.task_invocations,
        u.task_seconds,
        per_million(prices.task_cost(u)),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lambda_task_heavy_machine_is_metered() {
    let Some(h) = harness(Some(&task_heavy_mock()), false).await else {
        return;
    };
    let total = run_task_heavy(&h).await;
    print_usage("20 Lambda tasks x5 (tasks queue)", &total);
}

/// The same reference as the templates deploy it: each Task call handed to the invoker
/// directly, or worked next in the invocation that applied the step making it, so no
/// tasks-queue request is made or billed, and nothing is given up on.
#[tokio::test(flavor = "multi_thread")]
async fn a_lambda_task_heavy_machine_handing_calls_to_the_invoker_is_metered() {
    let Some(h) = harness_direct(Some(&task_heavy_mock()), false).await else {
        return;
    };
    let total = run_task_heavy(&h).await;
    print_usage("20 Lambda tasks x5 (handed over)", &total);
    assert_eq!(total.sqs_standard_requests, 0, "{total:?}");
    // Each execution's first call is handed over by the stepper that applied its start; the
    // other 19 are chained in that invocation (crate::chain of stepwise-store-aws): 5 stepper
    // and 5 invoker invocations, where handing every call over made 105.
    assert_eq!(total.lambda_invocations, 10, "{total:?}");
    assert_eq!(
        super::timers_and_attempts::queued(&h, &h.aws.names.tasks_queue_url).await,
        0
    );
    let given_up = h
        .direct
        .as_ref()
        .map(|d| d.given_up.lock().expect("lock").len());
    assert_eq!(given_up, Some(0));
}

/// A Task call handed over directly and delivered twice (Lambda's queue delivers at least
/// once) calls its task once, as a redelivered tasks-queue message does.
#[tokio::test(flavor = "multi_thread")]
async fn a_task_call_handed_to_the_invoker_twice_calls_its_task_once() {
    let Some(h) = harness_direct(Some(&task_heavy_mock()), true).await else {
        return;
    };
    let total = run_task_heavy(&h).await;
    assert_eq!(total.sqs_standard_requests, 0, "{total:?}");
}

/// The mock of [`run_task_heavy`]'s machine: every task answers `{"n": 1}`.
fn task_heavy_mock() -> String {
    let mut cases = serde_json::Map::new();
    for i in 0..20 {
        cases.insert(format!("T{i}"), json!("Work"));
    }
    json!({"StateMachines":{"tasks":{"TestCases":{"Run": cases}}},
        "MockedResponses":{"Work":{"0":{"Return":{"StatusCode":200,"Payload":{"n":1}}}}}})
    .to_string()
}

/// Five executions of 20 Lambda tasks each, each task called once; their usage together.
async fn run_task_heavy(h: &Harness) -> Usage {
    // 20 Lambda tasks in a row, served by mocks in the invoker; each is a step boundary.
    let mut states = serde_json::Map::new();
    for i in 0..20 {
        let mut s = json!({"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
            "Parameters":{"FunctionName":"work","Payload.$":"$"},"ResultSelector":{"n.$":"$.Payload.n"}});
        if i == 19 {
            s["End"] = json!(true);
        } else {
            s["Next"] = json!(format!("T{}", i + 1));
        }
        states.insert(format!("T{i}"), s);
    }
    let sm = h
        .create("tasks", &json!({"StartAt":"T0","States": states}))
        .await;
    let mut arns = Vec::new();
    for i in 0..5 {
        arns.push(
            start_execution(
                h,
                &sm,
                Some(format!("e{i}")),
                json!({"n": 0}),
                Some("Run".into()),
            )
            .await
            .expect("start"),
        );
    }
    h.run_until_done(&arns, Duration::from_secs(300)).await;
    let mut total = Usage::default();
    for arn in &arns {
        let (e, events) = h.outcome(arn).await;
        assert_eq!(e.state.status, Status::Succeeded, "{:?}", e.state.cause);
        assert_eq!(e.state.output, Some(json!({"n": 1})));
        assert_gapless(&events);
        total.add(&e.usage);
    }
    assert_eq!(total.task_invocations, 100);
    total
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_and_eventbridge_events_start_executions() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let sm = h
        .create(
            "on-upload",
            &json!({"StartAt":"Keys","States":{"Keys":{"Type":"Pass","Parameters":{
                "keys.$":"$.Records[*].s3.object.key"},"End":true}}}),
        )
        .await;
    let s3_event = json!({"Records": [
        {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "in"}, "object": {"key": "a.csv"}}},
        {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "in"}, "object": {"key": "b.csv"}}}
    ]});
    let trigger_api = h.api();
    let started = trigger::handle(
        &trigger_api,
        &sm,
        LambdaEvent::new(s3_event, Context::default()),
    )
    .await
    .expect("trigger");
    let bridge = json!({"version": "0", "source": "my.app", "detail-type": "OrderPlaced", "detail": {"id": 7}, "Records": []});
    let started_too = trigger::handle(
        &trigger_api,
        &sm,
        LambdaEvent::new(bridge, Context::default()),
    )
    .await
    .expect("trigger");
    let mut arns: Vec<String> = started["executionArns"]
        .as_array()
        .expect("arns")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    assert_eq!(arns.len(), 2, "one execution per S3 record");
    arns.extend(
        started_too["executionArns"]
            .as_array()
            .expect("arns")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string)),
    );
    h.run_until_done(&arns, Duration::from_secs(120)).await;
    let mut outputs = Vec::new();
    for arn in &arns {
        let (e, _) = h.outcome(arn).await;
        assert_eq!(e.state.status, Status::Succeeded, "{:?}", e.state.cause);
        outputs.push(e.state.output.unwrap_or(Value::Null));
    }
    outputs.sort_by_key(|o| o.to_string());
    assert_eq!(
        outputs,
        vec![
            json!({"keys": ["a.csv"]}),
            json!({"keys": ["b.csv"]}),
            json!({"keys": []})
        ]
    );
}

/// S3 and EventBridge retry an asynchronous invocation that failed or timed out, and may deliver
/// an event twice: each delivery of one event (while its execution runs, and after it ended)
/// finds the execution the first one started.
#[tokio::test(flavor = "multi_thread")]
async fn a_trigger_event_delivered_twice_starts_one_execution() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let sm = h
        .create(
            "on-event",
            &json!({"StartAt":"Done","States":{"Done":{"Type":"Pass","End":true}}}),
        )
        .await;
    let s3_event = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "in"}, "object": {"key": "orders/a.csv", "size": 3,
        "eTag": "0123456789abcdef0123456789abcdef", "sequencer": "0055AED6DCD90281E5"}}}]});
    let bridge = json!({"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "source": "my.app", "detail-type": "OrderPlaced", "account": "111111111111",
        "time": "2026-12-02T07:00:00Z", "region": "us-east-1", "resources": [], "detail": {"id": 7}});
    let trigger_api = h.api();
    let deliver = |event: &Value| {
        let event = event.clone();
        let api = &trigger_api;
        let sm = sm.clone();
        async move {
            let out = trigger::handle(api, &sm, LambdaEvent::new(event, Context::default()))
                .await
                .expect("trigger");
            out["executionArns"].clone()
        }
    };
    let first = [deliver(&s3_event).await, deliver(&bridge).await];
    // Redelivered while the executions run.
    assert_eq!(deliver(&s3_event).await, first[0]);
    assert_eq!(deliver(&bridge).await, first[1]);
    let arns: Vec<String> = first
        .iter()
        .filter_map(|a| a[0].as_str().map(str::to_string))
        .collect();
    assert_eq!(arns.len(), 2);
    h.run_until_done(&arns, Duration::from_secs(120)).await;
    // Redelivered after they ended.
    assert_eq!(deliver(&s3_event).await, first[0]);
    assert_eq!(deliver(&bridge).await, first[1]);
    h.settle_queues().await;
    let (status, listed) = trigger_api
        .service
        .handle(
            "AWSStepFunctions.ListExecutions",
            json!({"stateMachineArn": sm}).to_string().as_bytes(),
        )
        .await;
    assert_eq!(status, 200);
    let listed: Value = serde_json::from_slice(&listed).expect("json");
    let listed = listed["executions"].as_array().expect("executions");
    assert_eq!(listed.len(), 2, "one execution per event: {listed:?}");
    for arn in &arns {
        let (e, events) = h.outcome(arn).await;
        assert_eq!(e.state.status, Status::Succeeded, "{:?}", e.state.cause);
        let started = events
            .iter()
            .filter(|ev| ev.event_type() == "ExecutionStarted")
            .count();
        assert_eq!(started, 1, "{arn} started once");
    }
}

// ----- the api function: API Gateway proxy events through the real handler -----
