//! Whole machines on rules AWS applies at run time and at creation, one row each: the status,
//! error, cause and event types AWS gives (from AWS's own recordings of the same situations).

use serde_json::{json, Value};
mod support;

use support::run_definition;

const PREFIX: &str = "An error occurred while executing the state";

/// (what, definition, input, status, error, cause (exact, or after the state prefix), events)
/// (what, definition, input, status, error, cause, event types)
type Row = (
    &'static str,
    Value,
    Value,
    &'static str,
    Option<&'static str>,
    Option<String>,
    Vec<&'static str>,
);

fn rows() -> Vec<Row> {
    let fail = |error_path: &str, cause_path: &str| json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": error_path, "CausePath": cause_path}}});
    let wait_path = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "TimestampPath": "$.t", "End": true}}});
    let wait_jsonata = json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {"W": {"Type": "Wait", "Timestamp": "{% $states.input.t %}", "End": true}}});
    let items = |expr: &str| {
        json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {"Type": "Map", "Items": expr,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}})
    };
    let tolerated = |field: &str| {
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", field: "$.t",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}})
    };
    let big = "a".repeat(257 * 1024);
    let under = "a".repeat(250 * 1024);
    // AWS reads the tolerated-failure settings after MapStateStarted.
    let map_started_then_failed = vec![
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "ExecutionFailed",
    ];
    let items_failed = vec![
        "ExecutionStarted",
        "MapStateEntered",
        "EvaluationFailed",
        "MapStateFailed",
        "ExecutionFailed",
    ];
    vec![
        (
            "a Parallel records ParallelStateSucceeded before its exit",
            json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
                "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]}}}),
            json!({"a": 1}),
            "SUCCEEDED", None, None,
            vec!["ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted", "PassStateEntered",
                 "PassStateExited", "ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"],
        ),
        (
            "a Wait assigns variables",
            json!({"StartAt": "W", "States": {
                "W": {"Type": "Wait", "Seconds": 0, "Assign": {"foo": "oof"}, "Next": "P"},
                "P": {"Type": "Pass", "Parameters": {"v.$": "$foo"}, "End": true}}}),
            json!({}),
            "SUCCEEDED", None, None,
            vec!["ExecutionStarted", "WaitStateEntered", "WaitStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"],
        ),
        (
            "OutputPath sees the variables from before the state",
            json!({"StartAt": "A", "States": {
                "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
                "B": {"Type": "Pass", "Assign": {"x": 2}, "OutputPath": "$x", "End": true}}}),
            json!({}),
            "SUCCEEDED", None, None,
            vec!["ExecutionStarted", "PassStateEntered", "PassStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"],
        ),
        (
            "an ErrorPath that selects nothing fails as a payload field does",
            fail("$.missing", "$.c"),
            json!({"c": "x"}),
            "FAILED", Some("States.Runtime"),
            Some(" (entered at the event id #2). The JSONPath '$.missing' specified for the field 'ErrorPath' could not be found in the input '{\"c\":\"x\"}'".into()),
            vec!["ExecutionStarted", "FailStateEntered", "ExecutionFailed"],
        ),
        (
            "ErrorPath and CausePath take intrinsic functions",
            fail("States.Format('{}', $.e)", "States.Format('custom message for {}, caused by {}.', $.e, $.c)"),
            json!({"e": "error string", "c": "cause string"}),
            "FAILED", Some("error string"), Some("custom message for error string, caused by cause string.".into()),
            vec!["ExecutionStarted", "FailStateEntered", "ExecutionFailed"],
        ),
        (
            "a state output over 256 KiB fails with States.DataLimitExceeded",
            json!({"StartAt": "S", "States": {"S": {"Type": "Pass", "Result": {"a": big}, "End": true}}}),
            json!({}),
            "FAILED", Some("States.DataLimitExceeded"),
            Some("The state/task 'S' returned a result with a size exceeding the maximum number of bytes service limit.".into()),
            vec!["ExecutionStarted", "PassStateEntered", "ExecutionFailed"],
        ),
        (
            "an output under 256 KiB passes",
            json!({"StartAt": "S", "States": {"S": {"Type": "Pass", "Result": {"a": under}, "End": true}}}),
            json!({}),
            "SUCCEEDED", None, None,
            vec!["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"],
        ),
        (
            "TimestampPath wants a T between date and time",
            wait_path.clone(), json!({"t": "2016-12-05 21:29:29Z"}),
            "FAILED", Some("States.Runtime"),
            Some(" (entered at the event id #2). The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.t == 2016-12-05 21:29:29Z".into()),
            vec!["ExecutionStarted", "WaitStateEntered", "ExecutionFailed"],
        ),
        (
            "TimestampPath with nanoseconds waits",
            wait_path, json!({"t": "2016-12-05T21:29:29.123456789Z"}),
            "SUCCEEDED", None, None,
            vec!["ExecutionStarted", "WaitStateEntered", "WaitStateExited", "ExecutionSucceeded"],
        ),
        (
            "a JSONata Timestamp wants a T between date and time",
            wait_jsonata, json!({"t": "2016-12-05 21:29:29Z"}),
            "FAILED", Some("States.QueryEvaluationError"),
            Some(" (entered at the event id #2). The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: 2016-12-05 21:29:29Z".into()),
            vec!["ExecutionStarted", "WaitStateEntered", "EvaluationFailed", "ExecutionFailed"],
        ),
        (
            "JSONata Items that are not an array name their type",
            items("{% 1 %}"), json!({}),
            "FAILED", Some("States.QueryEvaluationError"),
            Some(" (entered at the event id #2). The JSONata expression '1' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'number' for value: 1".into()),
            items_failed.clone(),
        ),
        (
            "JSONata Items: an object",
            items("{% {'foo': 'bar'} %}"), json!({}),
            "FAILED", Some("States.QueryEvaluationError"),
            Some(" (entered at the event id #2). The JSONata expression '{'foo': 'bar'}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'object' for value: {\"foo\":\"bar\"}".into()),
            items_failed,
        ),
        (
            "a negative ToleratedFailureCount is out of range, not of the wrong type",
            tolerated("ToleratedFailureCountPath"), json!({"items": [0], "t": -1}),
            "FAILED", Some("States.Runtime"),
            Some(" (entered at the event id #2). ToleratedFailureCount cannot be negative.".into()),
            map_started_then_failed.clone(),
        ),
        (
            "a ToleratedFailurePercentage that is not a number is of the wrong type",
            tolerated("ToleratedFailurePercentagePath"), json!({"items": [0], "t": "NoNumber"}),
            "FAILED", Some("States.Runtime"),
            Some(" (entered at the event id #2). The ToleratedFailurePercentagePath field refers to value \"NoNumber\" which is not a valid float: $.t".into()),
            map_started_then_failed.clone(),
        ),
        (
            "a ToleratedFailurePercentage over 100 is out of range",
            tolerated("ToleratedFailurePercentagePath"), json!({"items": [0], "t": 100.1}),
            "FAILED", Some("States.Runtime"),
            Some(" (entered at the event id #2). ToleratedFailurePercentage must be between 0 and 100.".into()),
            map_started_then_failed.clone(),
        ),
    ]
}

#[test]
fn machines_follow_aws_rules() {
    let mut problems = Vec::new();
    for (what, definition, input, status, error, cause, events) in rows() {
        let (state, history) = match run_definition(&definition, input, "rules") {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{what}: {e}"));
                continue;
            }
        };
        let types: Vec<&str> = history.iter().map(|e| e.event_type()).collect();
        let want_cause = cause.map(|c| {
            if c.starts_with(' ') {
                let state = definition["StartAt"].as_str().unwrap_or_default();
                format!("{PREFIX} '{state}'{c}")
            } else {
                c
            }
        });
        if state.status.as_str() != status
            || state.error.as_deref() != error
            || state.cause != want_cause
            || types != events
        {
            problems.push(format!(
                "{what}: got {} {:?} {:?} {types:?}, want {status} {error:?} {want_cause:?} {events:?}",
                state.status.as_str(),
                state.error,
                state.cause
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Literal timestamps are checked when the definition is created: shape and calendar.
#[test]
fn literal_wait_timestamps_are_checked_at_creation() {
    for (timestamp, valid) in [
        ("2016-12-05T21:29:29Z", true),
        ("2016-12-05T21:29:29.5+01:00", true),
        ("2016-13-05T21:29:29Z", false),
        ("2016-12-05T25:29:29Z", false),
        ("2016-12-05 21:29:29Z", false),
        ("2016-12-05T21:29:29", false),
    ] {
        let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Timestamp": timestamp, "End": true}}});
        let diags = stepwise_asl::validate::validate(&def.to_string());
        assert_eq!(diags.is_empty(), valid, "{timestamp}: {diags:?}");
        if !valid {
            assert_eq!(diags[0].code, "SCHEMA_VALIDATION_FAILED");
            assert_eq!(diags[0].message, "String does not match RFC3339 timestamp");
            assert_eq!(diags[0].location, "/States/W/Timestamp");
        }
    }
}

/// The outputs of the rows that succeed with a value worth checking.
#[test]
fn variables_take_effect_when_the_state_is_left() {
    for (what, want) in [
        ("a Wait assigns variables", json!({"v": "oof"})),
        (
            "OutputPath sees the variables from before the state",
            json!(1),
        ),
    ] {
        let (_, definition, input, ..) = rows().into_iter().find(|r| r.0 == what).expect("row");
        let (state, _) = run_definition(&definition, input, "rules").expect("runs");
        assert_eq!(state.output, Some(want), "{what}");
    }
}

/// EvaluationFailed names the field whose expression failed, as AWS's `location`.
#[test]
fn evaluation_failures_name_their_location() {
    let definition = json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {
        "S": {"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}, "End": true}}});
    let (_, history) = run_definition(&definition, json!({}), "rules").expect("runs");
    let failed = history
        .iter()
        .find(|e| e.event_type() == "EvaluationFailed")
        .expect("an EvaluationFailed event");
    let details = failed.details().cloned().unwrap_or_default();
    assert_eq!(details["location"], "Output/result");
    assert_eq!(details["state"], "S");
}

/// An intrinsic function's string knows four escapes; AWS refuses a definition with another.
#[test]
fn intrinsic_strings_refuse_unknown_escapes() {
    for (expr, valid) in [
        (r"States.Format('a \{\} \' \\ b')", true),
        (r#"States.Format('He said \"hi\"')"#, false),
    ] {
        let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": expr}, "End": true}}});
        let diags = stepwise_asl::validate::validate(&def.to_string());
        assert_eq!(diags.is_empty(), valid, "{expr}: {diags:?}");
    }
}

/// A `.waitForTaskToken` call's return delivered twice (the serverless home delivers at least
/// once; simulation seed 8122) records one TaskSubmitted, as AWS records one per attempt; the
/// token's answer still ends the task.
#[test]
fn a_repeated_task_submission_records_one_task_submitted() {
    use stepwise_engine::{step, Command, Event, ExecutionInfo, ExecutionState, Status};
    let def = stepwise_asl::model::Definition::from_value(&json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}}, "End": true}}}))
    .expect("a valid definition");
    let info = ExecutionInfo {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:e".into(),
        name: "e".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
        state_machine_name: "m".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        start_time_ms: 1_700_000_000_000,
        redrive_count: 0,
        seed: 1,
    };
    let now = 1_700_000_000_000;
    let tr = step(
        &def,
        ExecutionState::new(info),
        now,
        Event::Start { input: json!({}) },
    );
    let task = tr
        .commands
        .iter()
        .find_map(|c| match c {
            Command::InvokeTask { task, .. } => Some(*task),
            _ => None,
        })
        .expect("the task is invoked");
    let mut types: Vec<String> = tr
        .history
        .iter()
        .map(|e| e.event_type().to_string())
        .collect();
    let mut state = tr.state;
    for event in [
        Event::TaskSubmitted {
            task,
            output: json!({"StatusCode": 202}),
        },
        Event::TaskSubmitted {
            task,
            output: json!({"StatusCode": 202}),
        },
        Event::TaskSucceeded {
            task,
            output: json!({"ok": true}),
        },
    ] {
        let tr = step(&def, state, now + 1, event);
        types.extend(tr.history.iter().map(|e| e.event_type().to_string()));
        state = tr.state;
    }
    assert_eq!(state.status, Status::Succeeded);
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
}
