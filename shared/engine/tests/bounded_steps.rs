//! A step records at most about `STEP_EVENTS` history events: an execution that runs long
//! without waiting goes on in further steps (a timer that fires at once), with the same
//! events, ids and output as one step would record, so no step's memory, time or history write
//! grows with the execution.

use serde_json::{json, Value};
use stepwise_asl::model::Definition;
use stepwise_engine::{step, Command, Event, ExecutionInfo, ExecutionState, Status, STEP_EVENTS};

fn info() -> ExecutionInfo {
    ExecutionInfo {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:long:run".into(),
        name: "run".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:long".into(),
        state_machine_name: "long".into(),
        role_arn: "arn:aws:iam::123456789012:role/long".into(),
        start_time_ms: 1_700_000_000_000,
        redrive_count: 0,
        seed: 7,
    }
}

/// Runs to the end firing each timer at once: the final state, and each step's event count.
fn run(def: &Value, input: Value) -> (ExecutionState, Vec<usize>, Vec<u64>) {
    let def = Definition::from_json(&def.to_string()).expect("a valid definition");
    let mut now = 1_700_000_000_000;
    let mut tr = step(
        &def,
        ExecutionState::new(info()),
        now,
        Event::Start { input },
    );
    let (mut sizes, mut ids) = (Vec::new(), Vec::new());
    loop {
        sizes.push(tr.history.len());
        ids.extend(tr.history.iter().map(|e| e.id));
        if tr.state.status != Status::Running {
            return (tr.state, sizes, ids);
        }
        let timer = tr.commands.iter().find_map(|c| match c {
            Command::StartTimer { timer, at_ms } => Some((*timer, *at_ms)),
            _ => None,
        });
        let Some((timer, at)) = timer else {
            panic!(
                "a running execution with nothing to wait for: {:?}",
                tr.commands
            );
        };
        now = now.max(at) + 1;
        tr = step(&def, tr.state, now, Event::TimerFired { timer });
    }
}

fn check_steps(sizes: &[usize], ids: &[u64]) {
    // One move of a thread records a few events at most past the bound.
    assert!(
        sizes.iter().all(|&n| n <= STEP_EVENTS + 8),
        "a step recorded {:?} events",
        sizes.iter().max()
    );
    let want: Vec<u64> = (1..=ids.len() as u64).collect();
    assert!(
        ids == want,
        "event ids are not 1, 2, 3, ... across the steps"
    );
}

#[test]
fn a_loop_of_forty_thousand_transitions_runs_in_bounded_steps() {
    let def = json!({"StartAt": "Inc", "States": {
        "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"},
        "Check": {"Type": "Choice",
            "Choices": [{"Variable": "$.i", "NumericLessThan": 20000, "Next": "Inc"}],
            "Default": "Done"},
        "Done": {"Type": "Succeed"}}});
    let (state, sizes, ids) = run(&def, json!({"i": 0}));
    assert_eq!(state.status, Status::Succeeded);
    assert_eq!(state.output, Some(json!({"i": 20000})));
    assert_eq!(state.transitions, 40_001);
    assert!(sizes.len() >= 8, "{} steps", sizes.len());
    check_steps(&sizes, &ids);
}

#[test]
fn a_map_of_thirty_thousand_items_runs_in_bounded_steps() {
    let def = json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Parameters": {"y.$": "States.MathAdd($, 1)"},
                "OutputPath": "$.y", "End": true}}},
        "End": true}}});
    let items: Vec<Value> = (0..30_000).map(|i| json!(i)).collect();
    let (state, sizes, ids) = run(&def, json!({ "items": items }));
    assert_eq!(state.status, Status::Succeeded);
    let want: Vec<Value> = (1..=30_000).map(|i| json!(i)).collect();
    assert_eq!(state.output, Some(Value::Array(want)));
    assert!(sizes.len() >= 5, "{} steps", sizes.len());
    check_steps(&sizes, &ids);
}

#[test]
fn a_short_execution_is_one_step() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": true}}});
    let (state, sizes, _) = run(&def, json!({"x": 1}));
    assert_eq!(state.output, Some(json!({"x": 1})));
    assert_eq!(sizes.len(), 1);
}
