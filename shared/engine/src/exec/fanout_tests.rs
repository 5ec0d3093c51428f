//! The history of Map and Parallel failures, event by event with each `previousEventId`, as
//! AWS records them (LocalStack's AWS recordings: `test_base_scenarios`'
//! `test_map_state_break_condition`, `test_timeouts`' `test_service_lambda_map_timeout`,
//! `test_callback`'s `SQS_PARALLEL_WAIT_FOR_TASK_TOKEN`).

use crate::{step, Command, Event, ExecutionState, Status, WaitId};
use serde_json::{json, Value};
use stepwise_asl::model::Definition;

use crate::test_support::info;

/// Runs `def`, then feeds each event made from the tasks the start invoked; returns every
/// history event as (type, id, previous id), and the last step's commands.
fn run(
    def: &str,
    input: Value,
    then: impl Fn(&[WaitId]) -> Vec<Event>,
) -> (Vec<(String, u64, u64)>, Vec<Command>, ExecutionState) {
    let def = Definition::from_json(def).expect("valid");
    let tr = step(&def, ExecutionState::new(info()), 1, Event::Start { input });
    let mut history = tr.history;
    let tasks: Vec<WaitId> = tr
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::InvokeTask { task, .. } => Some(*task),
            _ => None,
        })
        .collect();
    let mut state = tr.state;
    let mut commands = tr.commands;
    for (i, e) in then(&tasks).into_iter().enumerate() {
        let tr = step(&def, state, 2 + i as i64, e);
        history.extend(tr.history);
        state = tr.state;
        commands = tr.commands;
    }
    let shape = history
        .into_iter()
        .map(|h| (h.event_type().to_string(), h.id, h.previous_event_id))
        .collect();
    (shape, commands, state)
}

fn ev(list: &[(&str, u64, u64)]) -> Vec<(String, u64, u64)> {
    list.iter()
        .map(|(t, i, p)| (t.to_string(), *i, *p))
        .collect()
}

const TASK: &str = r#"{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}"#;

#[test]
fn a_failed_iteration_aborts_its_running_siblings_and_their_tasks() {
    let def = format!(
        r#"{{"StartAt":"M","States":{{"M":{{"Type":"Map","End":true,
            "ItemProcessor":{{"StartAt":"T","States":{{"T":{TASK}}}}}}}}}}}"#
    );
    let (h, commands, state) = run(&def, json!([1, 2, 3]), |t| {
        vec![Event::TaskFailed {
            task: t[0],
            error: "Boom".into(),
            cause: "broken".into(),
        }]
    });
    assert_eq!(
        h,
        ev(&[
            ("ExecutionStarted", 1, 0),
            ("MapStateEntered", 2, 0),
            ("MapStateStarted", 3, 2),
            // Each iteration started while others run follows MapStateStarted.
            ("MapIterationStarted", 4, 3),
            ("TaskStateEntered", 5, 4),
            ("TaskScheduled", 6, 5),
            ("TaskStarted", 7, 6),
            ("MapIterationStarted", 8, 3),
            ("TaskStateEntered", 9, 8),
            ("TaskScheduled", 10, 9),
            ("TaskStarted", 11, 10),
            ("MapIterationStarted", 12, 3),
            ("TaskStateEntered", 13, 12),
            ("TaskScheduled", 14, 13),
            ("TaskStarted", 15, 14),
            ("TaskFailed", 16, 7),
            // Everything the failure closes follows its last event.
            ("MapIterationFailed", 17, 16),
            ("TaskStateAborted", 18, 16),
            ("MapIterationAborted", 19, 16),
            ("TaskStateAborted", 20, 16),
            ("MapIterationAborted", 21, 16),
            ("TaskStateAborted", 22, 16),
            ("MapStateFailed", 23, 16),
            ("ExecutionFailed", 24, 23),
        ])
    );
    assert_eq!(state.status, Status::Failed);
    let cancelled = commands
        .iter()
        .filter(|c| matches!(c, Command::CancelTask { .. }))
        .count();
    assert_eq!(cancelled, 2, "{commands:?}");
}

#[test]
fn a_sequential_map_starts_each_iteration_after_the_last_ones_final_state_event() {
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":1,"End":true,
        "ItemProcessor":{"StartAt":"C","States":{
            "C":{"Type":"Choice","Choices":[{"Variable":"$","NumericEquals":3,"Next":"Break"}],"Default":"P"},
            "Break":{"Type":"Fail","Error":"SomeFailure"},
            "P":{"Type":"Pass","End":true}}}}}}"#;
    let (h, _, _) = run(def, json!([1, 2]), |_| vec![]);
    assert_eq!(
        h,
        ev(&[
            ("ExecutionStarted", 1, 0),
            ("MapStateEntered", 2, 0),
            ("MapStateStarted", 3, 2),
            ("MapIterationStarted", 4, 3),
            ("ChoiceStateEntered", 5, 4),
            ("ChoiceStateExited", 6, 5),
            ("PassStateEntered", 7, 6),
            ("PassStateExited", 8, 7),
            ("MapIterationSucceeded", 9, 8),
            ("MapIterationStarted", 10, 8),
            ("ChoiceStateEntered", 11, 10),
            ("ChoiceStateExited", 12, 11),
            ("PassStateEntered", 13, 12),
            ("PassStateExited", 14, 13),
            ("MapIterationSucceeded", 15, 14),
            ("MapStateSucceeded", 16, 15),
            ("MapStateExited", 17, 15),
            ("ExecutionSucceeded", 18, 17),
        ])
    );
    let (h, _, _) = run(def, json!([1, 3]), |_| vec![]);
    assert_eq!(
        h[9..],
        ev(&[
            ("MapIterationStarted", 10, 8),
            ("ChoiceStateEntered", 11, 10),
            ("ChoiceStateExited", 12, 11),
            ("FailStateEntered", 13, 12),
            // A Fail state has nothing to abort.
            ("MapIterationFailed", 14, 13),
            ("MapStateFailed", 15, 13),
            ("ExecutionFailed", 16, 15),
        ])[..]
    );
}

#[test]
fn a_failed_branch_aborts_its_task_and_the_siblings_ones() {
    let def = format!(
        r#"{{"StartAt":"P","States":{{"P":{{"Type":"Parallel","End":true,"Branches":[
            {{"StartAt":"A","States":{{"A":{TASK}}}}},
            {{"StartAt":"B","States":{{"B":{{"Type":"Wait","Seconds":60,"End":true}}}}}}]}}}}}}"#
    );
    let (h, _, _) = run(&def, json!({}), |t| {
        vec![Event::TaskFailed {
            task: t[0],
            error: "Boom".into(),
            cause: "broken".into(),
        }]
    });
    let n = h.len() as u64;
    let failed = h.iter().find(|e| e.0 == "TaskFailed").expect("failed").1;
    assert_eq!(
        h[h.len() - 5..],
        ev(&[
            ("TaskFailed", n - 4, failed - 1),
            ("TaskStateAborted", n - 3, failed),
            ("WaitStateAborted", n - 2, failed),
            ("ParallelStateFailed", n - 1, failed),
            ("ExecutionFailed", n, n - 1),
        ])[..]
    );
}

#[test]
fn an_evaluation_failure_in_a_pass_follows_the_event_before_its_entry() {
    let def = r#"{"QueryLanguage":"JSONata","StartAt":"A","States":{
        "A":{"Type":"Pass","Next":"B"},
        "B":{"Type":"Pass","Output":"{% $nothing %}","End":true}}}"#;
    let (h, _, _) = run(def, json!({}), |_| vec![]);
    assert_eq!(
        h,
        ev(&[
            ("ExecutionStarted", 1, 0),
            ("PassStateEntered", 2, 0),
            ("PassStateExited", 3, 2),
            ("PassStateEntered", 4, 3),
            ("EvaluationFailed", 5, 3),
            ("ExecutionFailed", 6, 5),
        ])
    );
}
