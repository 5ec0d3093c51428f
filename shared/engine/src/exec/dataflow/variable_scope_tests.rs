//! Which variables each scope sees: Assign, Map iterations, Parallel branches.

use crate::exec::{step, ExecutionState};
use crate::{Event, Status};
use serde_json::{json, Value};
use stepwise_asl::model::Definition;

fn run(def: &str, input: Value) -> ExecutionState {
    let def = Definition::from_json(def).expect("valid definition");
    let info = crate::test_support::info();
    step(&def, ExecutionState::new(info), 0, Event::Start { input }).state
}

/// (what, definition, expected output or Err(error name))
#[test]
fn scopes_of_variables_in_map_and_parallel() {
    let cases: Vec<(&str, &str, Result<Value, &str>)> = vec![
        (
            "Assign expressions all see the values from before the state",
            r#"{"StartAt":"A","States":{
                "A":{"Type":"Pass","Assign":{"a":1},"Next":"B"},
                "B":{"Type":"Pass","Assign":{"a":2,"b.$":"$a"},"Next":"C"},
                "C":{"Type":"Pass","Parameters":{"a.$":"$a","b.$":"$b"},"End":true}}}"#,
            Ok(json!({"a": 2, "b": 1})),
        ),
        (
            "Map iterations read outer variables",
            r#"{"StartAt":"A","States":{
                "A":{"Type":"Pass","Assign":{"k":10},"Next":"M"},
                "M":{"Type":"Map","ItemProcessor":{"StartAt":"I","States":{
                    "I":{"Type":"Pass","Parameters":{"v.$":"States.MathAdd($, $k)"},"End":true}}},"End":true}}}"#,
            Ok(json!([{"v": 11}, {"v": 12}])),
        ),
        (
            "what an iteration assigns stays inside it",
            r#"{"StartAt":"M","States":{
                "M":{"Type":"Map","ItemProcessor":{"StartAt":"I","States":{
                    "I":{"Type":"Pass","Assign":{"inner.$":"$"},"End":true}}},"Next":"After"},
                "After":{"Type":"Pass","Parameters":{"x.$":"$inner"},"End":true}}}"#,
            Err("States.Runtime"),
        ),
        (
            "an iteration's own assignments are visible to its later states",
            r#"{"StartAt":"M","States":{
                "M":{"Type":"Map","ItemProcessor":{"StartAt":"I","States":{
                    "I":{"Type":"Pass","Assign":{"inner.$":"$"},"Next":"J"},
                    "J":{"Type":"Pass","Parameters":{"x.$":"$inner"},"End":true}}},"End":true}}}"#,
            Ok(json!([{"x": 1}, {"x": 2}])),
        ),
        (
            "Parallel branches read outer variables; their assignments stay inside",
            r#"{"StartAt":"A","States":{
                "A":{"Type":"Pass","Assign":{"k":"outer"},"Next":"P"},
                "P":{"Type":"Parallel","Branches":[
                    {"StartAt":"B1","States":{"B1":{"Type":"Pass","Assign":{"k":"inner"},"Next":"B2"},
                        "B2":{"Type":"Pass","Parameters":{"k.$":"$k"},"End":true}}},
                    {"StartAt":"C1","States":{"C1":{"Type":"Pass","Parameters":{"k.$":"$k"},"End":true}}}],
                 "Next":"After"},
                "After":{"Type":"Pass","Parameters":{"branches.$":"$","k.$":"$k"},"End":true}}}"#,
            Ok(json!({"branches": [{"k": "inner"}, {"k": "outer"}], "k": "outer"})),
        ),
        (
            "a distributed Map's iterations see no outer variables",
            r#"{"StartAt":"A","States":{
                "A":{"Type":"Pass","Assign":{"k":10},"Next":"M"},
                "M":{"Type":"Map","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},
                    "StartAt":"I","States":{"I":{"Type":"Pass","Parameters":{"v.$":"$k"},"End":true}}},"End":true}}}"#,
            Err("States.Runtime"),
        ),
        (
            "a state that assigns more than 256 KiB fails",
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"big.$":"$.big"},"End":true}}}"#,
            Err("States.DataLimitExceeded"),
        ),
        (
            "JSONata Assign reads $states.result and the old values",
            r#"{"QueryLanguage":"JSONata","StartAt":"A","States":{
                "A":{"Type":"Pass","Assign":{"n":1},"Next":"B"},
                "B":{"Type":"Pass","Assign":{"n":"{% $n + 1 %}","m":"{% $n %}"},"Next":"C"},
                "C":{"Type":"Pass","Output":{"n":"{% $n %}","m":"{% $m %}"},"End":true}}}"#,
            Ok(json!({"n": 2, "m": 1})),
        ),
    ];
    for (what, def, expected) in cases {
        let input = if what.contains("256 KiB") {
            json!({"big": "x".repeat(300 * 1024)})
        } else {
            json!([1, 2])
        };
        let s = run(def, input);
        match expected {
            Ok(out) => {
                assert_eq!(
                    s.status,
                    Status::Succeeded,
                    "{what}: {:?} {:?}",
                    s.error,
                    s.cause
                );
                assert_eq!(s.output, Some(out), "{what}");
            }
            Err(error) => {
                assert_eq!(s.status, Status::Failed, "{what}");
                assert_eq!(s.error.as_deref(), Some(error), "{what}: {:?}", s.cause);
            }
        }
    }
}
