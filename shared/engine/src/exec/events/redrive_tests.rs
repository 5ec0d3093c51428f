//! Redrive and the input a failed state keeps for it (each state type, Retry and Catch, the
//! payload quota), and the texts that states share with their entry.

use crate::exec::{step, ExecutionState};
use crate::{Command, Event, Status};
use serde_json::{json, Value};
use stepwise_asl::model::Definition;

/// A new execution of `def` started at time 0 with `input`.
fn start(def: &Definition, input: Value) -> crate::Transition {
    step(def, ExecutionState::new(info()), 0, Event::Start { input })
}

/// A plain redrive (from where the execution failed, with its input).
fn redrive(def: &Definition, state: ExecutionState, now: i64) -> crate::Transition {
    step(
        def,
        state,
        now,
        Event::Redrive {
            from_state: None,
            input: None,
            resume: None,
        },
    )
}

use crate::test_support::{info, task_id};

#[test]
fn redrive_restarts_the_failed_state_with_its_input() {
    let def = Definition::from_json(
        r#"{"StartAt":"A","States":{
            "A":{"Type":"Pass","Result":{"k":1},"Next":"T"},
            "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}"#,
    )
    .expect("valid");
    let tr = start(&def, json!({}));
    let task = task_id(&tr.commands);
    let tr = step(
        &def,
        tr.state,
        1,
        Event::TaskFailed {
            task,
            error: "Boom".into(),
            cause: "c".into(),
        },
    );
    assert_eq!(tr.state.status, Status::Failed);
    let tr = redrive(&def, tr.state, 2);
    assert_eq!(tr.state.status, Status::Running);
    assert_eq!(tr.history[0].event_type(), "ExecutionRedriven");
    assert_eq!(tr.state.redrive_ms, Some(2));
    assert_eq!(tr.history[1].event_type(), "TaskStateEntered");
    let params = tr.commands.iter().find_map(|c| match c {
        Command::InvokeTask { parameters, .. } => Some(parameters.clone()),
        _ => None,
    });
    assert_eq!(params, Some(json!({"k": 1})));
    let task = task_id(&tr.commands);
    let tr = step(
        &def,
        tr.state,
        3,
        Event::TaskSucceeded {
            task,
            output: json!("ok"),
        },
    );
    assert_eq!(tr.state.status, Status::Succeeded);
    assert_eq!(tr.state.info.redrive_count, 1);
    // history ids go on without a gap
    assert_eq!(
        tr.history.last().map(|h| h.id),
        Some(tr.state.last_event_id)
    );
}

#[test]
fn redrive_from_any_state_and_not_after_success() {
    let def = Definition::from_json(
        r#"{"StartAt":"A","States":{"A":{"Type":"Fail","Error":"E"},"B":{"Type":"Pass","End":true}}}"#,
    )
    .expect("valid");
    let tr = start(&def, json!({"x": 1}));
    assert_eq!(tr.state.status, Status::Failed);
    let tr = step(
        &def,
        tr.state,
        1,
        Event::Redrive {
            from_state: Some("B".into()),
            input: Some(json!(5)),
            resume: None,
        },
    );
    assert_eq!(tr.state.status, Status::Succeeded);
    assert_eq!(tr.state.output, Some(json!(5)));
    let tr = redrive(&def, tr.state, 2);
    assert!(tr.history.is_empty());
}

/// Runs `definition` on `input` to a failure with `error`, redrives it and checks that the
/// redrive enters a state of `state_type` with that input.
fn assert_redriven_with_input(definition: &str, input: Value, error: &str, state_type: &str) {
    let def = Definition::from_json(definition).expect("valid");
    let tr = start(&def, input.clone());
    assert_eq!(tr.state.status, Status::Failed);
    assert_eq!(tr.state.error.as_deref(), Some(error));
    let tr = redrive(&def, tr.state, 1);
    assert_eq!(
        tr.history[1].event_type(),
        format!("{state_type}StateEntered")
    );
    let entered = tr.history[1]
        .details()
        .and_then(|d| d.get("input"))
        .cloned();
    assert_eq!(entered, Some(Value::String(input.to_string())));
}

/// A Choice with InputPath and OutputPath `$` moves its input to its output; when it
/// fails (no rule matched, or a rule could not be evaluated) the input is put back, and a
/// redrive enters the Choice with it.
#[test]
fn a_failed_choice_is_redriven_with_its_input() {
    for (input, error) in [
        (json!({"i": 5, "keep": [1, 2]}), "States.NoChoiceMatched"),
        (json!({"keep": [1, 2]}), "States.Runtime"),
    ] {
        assert_redriven_with_input(
            r#"{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[
                {"Variable":"$.i","NumericEquals":1,"Next":"D"}]},"D":{"Type":"Succeed"}}}"#,
            input,
            error,
            "Choice",
        );
    }
}

/// A result merged into the input at its ResultPath makes an output past the payload
/// quota: the state fails with States.DataLimitExceeded, and a redrive enters it with the
/// input it had (not the input the merge took).
#[test]
fn a_state_failed_by_its_merged_output_s_size_is_redriven_with_its_input() {
    let big = "x".repeat(200 * 1024);
    assert_redriven_with_input(
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"copy.$":"$.s"},
            "ResultPath":"$.r","End":true}}}"#,
        json!({"s": big, "keep": [1, 2]}),
        "States.DataLimitExceeded",
        "Pass",
    );
}

/// The same for a Task whose result comes in a later step: of the same process (`stepwise
/// run`: its kept entry text gives the input back), or to a checkpoint read back (as `serve`
/// and the serverless home load it: no entry text is at hand, and the merge at the member is
/// undone — the member gets its value back, or goes if the input had none).
#[test]
fn a_task_failed_by_its_merged_output_s_size_is_redriven_with_its_input() {
    let def = Definition::from_json(
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f",
            "ResultPath":"$.r","End":true}}}"#,
    )
    .expect("valid");
    let s = "x".repeat(150 * 1024);
    for checkpointed in [false, true] {
        for input in [
            json!({"r": {"old": 1}, "s": s, "keep": [1, 2]}),
            json!({"s": s, "keep": [1, 2]}),
        ] {
            let tr = start(&def, input.clone());
            let task = task_id(&tr.commands);
            let state = if checkpointed {
                let stored = serde_json::to_string(&tr.state).expect("checkpoint");
                serde_json::from_str(&stored).expect("checkpoint")
            } else {
                tr.state
            };
            let tr = step(
                &def,
                state,
                1,
                Event::TaskSucceeded {
                    task,
                    output: json!("y".repeat(150 * 1024)),
                },
            );
            assert_eq!(tr.state.error.as_deref(), Some("States.DataLimitExceeded"));
            let tr = redrive(&def, tr.state, 2);
            assert_eq!(tr.history[1].event_type(), "TaskStateEntered");
            let entered = tr.history[1]
                .details()
                .and_then(|d| d.get("input"))
                .cloned();
            assert_eq!(
                entered,
                Some(Value::String(input.to_string())),
                "checkpointed: {checkpointed}"
            );
        }
    }
}

/// A catcher's ResultPath merges the error into the state's input in place; when the merge
/// fails (the path goes through a string) the input is put back, and a redrive enters the
/// state with it.
#[test]
fn a_failed_catch_merge_is_redriven_with_the_state_input() {
    assert_redriven_with_input(
        r#"{"StartAt":"T","States":{"T":{"Type":"Parallel","Branches":[{"StartAt":"F",
            "States":{"F":{"Type":"Fail","Error":"Boom"}}}],
            "Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.s.err","Next":"D"}],
            "End":true},"D":{"Type":"Succeed"}}}"#,
        json!({"s": "text", "keep": [1, 2]}),
        "States.ResultPathMatchFailure",
        "Parallel",
    );
}

/// A Choice that leaves with its input as it entered shares the entry's text with its exit
/// (not serialized again); one that changes its output (OutputPath) writes its own.
#[test]
fn a_choice_exit_shares_its_entry_text() {
    let def = Definition::from_json(
        r#"{"StartAt":"C","States":{
            "C":{"Type":"Choice","Choices":[{"Variable":"$.a","NumericEquals":1,"Next":"D"}],
                 "Default":"D"},
            "D":{"Type":"Choice","OutputPath":"$.b",
                 "Choices":[{"Variable":"$.a","NumericEquals":1,"Next":"E"}],"Default":"E"},
            "E":{"Type":"Succeed"}}}"#,
    )
    .expect("valid");
    let tr = start(&def, json!({"a": 1, "b": {"c": 2}}));
    assert_eq!(tr.state.status, Status::Succeeded);
    let text = |ty: &str| {
        tr.history
            .iter()
            .find(|h| h.event_type() == ty)
            .and_then(|h| h.state_text())
            .cloned()
            .expect(ty)
    };
    let (entered, exited) = (text("ChoiceStateEntered"), text("ChoiceStateExited"));
    assert!(crate::history::PayloadText::ptr_eq(&entered, &exited));
    assert_eq!(exited.as_str(), r#"{"a":1,"b":{"c":2}}"#);
    let exits: Vec<_> = tr
        .history
        .iter()
        .filter(|h| h.event_type() == "ChoiceStateExited")
        .filter_map(|h| h.state_text())
        .map(|t| t.as_str().to_string())
        .collect();
    assert_eq!(exits, [r#"{"a":1,"b":{"c":2}}"#, r#"{"c":2}"#]);
}

/// A Parallel's branches start with its input as it entered: their first StateEntered
/// events share its entry's text; with Parameters each branch's input is the parameters'.
#[test]
fn parallel_branches_share_the_entry_text() {
    let branch = |name: &str| {
        format!(r#"{{"StartAt":"{name}","States":{{"{name}":{{"Type":"Pass","End":true}}}}}}"#)
    };
    let def = Definition::from_json(&format!(
        r#"{{"StartAt":"P","States":{{
            "P":{{"Type":"Parallel","Branches":[{},{}],"Next":"Q"}},
            "Q":{{"Type":"Parallel","Parameters":{{"x.$":"$[0].a"}},"Branches":[{}],"End":true}}}}}}"#,
        branch("A"),
        branch("B"),
        branch("C")
    ))
    .expect("valid");
    let tr = start(&def, json!({"a": 1}));
    assert_eq!(tr.state.status, Status::Succeeded);
    let entered = |name: &str| {
        tr.history
            .iter()
            .filter(|h| h.event_type().ends_with("StateEntered"))
            .find(|h| h.details().and_then(|d| d.get("name")) == Some(&json!(name)))
            .and_then(|h| h.state_text())
            .cloned()
            .expect(name)
    };
    let p = entered("P");
    assert!(crate::history::PayloadText::ptr_eq(&p, &entered("A")));
    assert!(crate::history::PayloadText::ptr_eq(&p, &entered("B")));
    assert_eq!(entered("C").as_str(), r#"{"x":1}"#);
    assert_eq!(entered("A").as_str(), r#"{"a":1}"#);
}

/// A Parallel's branches take turns, so a branch's entry lies behind its siblings' events
/// when its state runs: it is found all the same (each Choice's exit shares its entry's
/// text, as in a lone thread), with five branches as with one.
#[test]
fn states_of_interleaved_branches_find_their_entry() {
    let branch = |i: usize| {
        format!(
            r#"{{"StartAt":"C{i}","States":{{"C{i}":{{"Type":"Choice","Choices":[
                {{"Variable":"$.a","NumericEquals":1,"Next":"D{i}"}}],"Default":"D{i}"}},
                "D{i}":{{"Type":"Succeed"}}}}}}"#
        )
    };
    let branches: Vec<String> = (0..5).map(branch).collect();
    let def = Definition::from_json(&format!(
        r#"{{"StartAt":"P","States":{{"P":{{"Type":"Parallel","Branches":[{}],"End":true}}}}}}"#,
        branches.join(",")
    ))
    .expect("valid");
    let tr = start(&def, json!({"a": 1}));
    assert_eq!(tr.state.status, Status::Succeeded);
    let text = |ty: &str, name: &str| {
        tr.history
            .iter()
            .filter(|h| h.event_type() == ty)
            .find(|h| h.details().and_then(|d| d.get("name")) == Some(&json!(name)))
            .and_then(|h| h.state_text())
            .cloned()
            .expect(name)
    };
    for i in 0..5 {
        let name = format!("C{i}");
        let (entered, exited) = (
            text("ChoiceStateEntered", &name),
            text("ChoiceStateExited", &name),
        );
        assert!(
            crate::history::PayloadText::ptr_eq(&entered, &exited),
            "{name}"
        );
        assert_eq!(exited.as_str(), r#"{"a":1}"#);
    }
}
