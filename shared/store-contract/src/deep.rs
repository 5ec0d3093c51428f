//! Payloads as deep and as large as Step Functions' limits allow (issue 11): whatever a store
//! accepted, it gives back, and a store reopened on the same data gives it back too.
//!
//! A value of 256 KiB may nest 131,072 levels (`[[[…]]]`); the engine may wrap it deeper still
//! (a Pass whose Parameters nest around `$`). These cases write such a value everywhere a
//! payload goes and read every part back. Cloning and dropping a deep [`Value`] recurse: call
//! them on a thread with `stepwise_engine::deep::STACK_SIZE` of stack.

use super::{events, new_execution, next_of, sm_arn};
use serde_json::{json, Map, Value};
use stepwise_engine::{deep, Command};
use stepwise_ports::api::{ApiStore, ExecutionFilter, Resource, ResourceKind};

/// `depth` arrays around `leaf`, built without recursion.
pub fn nested_arrays(depth: usize, leaf: Value) -> Value {
    (0..depth).fold(leaf, |v, _| Value::Array(vec![v]))
}

/// `depth` objects `{"a": …}` around `leaf`, built without recursion.
pub fn nested_objects(depth: usize, leaf: Value) -> Value {
    (0..depth).fold(leaf, |v, _| {
        let mut m = Map::new();
        m.insert("a".into(), v);
        Value::Object(m)
    })
}

/// Values the stores must keep: past serde_json's default 128 levels, far past it, and as
/// large as a payload may be.
pub fn hard_values() -> Vec<Value> {
    vec![
        nested_arrays(129, json!(1)),
        nested_arrays(10_000, Value::Null),
        nested_objects(5_000, json!("leaf")),
        nested_arrays(
            2_000,
            nested_objects(2_000, json!({"s": "x".repeat(1_000)})),
        ),
        json!({"big": "y".repeat(200_000)}),
    ]
}

fn text(v: &Value) -> String {
    deep::to_string(v).expect("a value writes as text")
}

/// Writes `value` everywhere a payload goes (the execution's input and state, a pending task's
/// parameters, an event's details, the listing's input, a record's body), reads it all back,
/// and returns the execution's ARN for [`payload_reads_back`].
pub async fn payload_is_stored<S: ApiStore>(
    store: &S,
    ns: &str,
    name: &str,
    value: &Value,
) -> String {
    let sm = sm_arn(ns, "deep");
    let (mut e, mut meta) = new_execution(&sm, name, 2_000);
    e.state.input = value.clone();
    meta.input = text(value);
    store
        .create_execution(&e, &meta)
        .await
        .expect("an execution with a deep input is created");
    let mut next = next_of(&e, 2);
    next.outbox = vec![Command::InvokeTask {
        task: 1,
        state_name: "T".into(),
        resource: "arn:aws:states:::lambda:invoke".into(),
        parameters: json!({"Payload": value.clone()}),
        task_token: None,
        heartbeat_seconds: None,
        timeout_seconds: None,
    }];
    let mut history = events(1, 2);
    history[1].set_details(Some(json!({"name": "P", "output": value.clone()})));
    store
        .commit(&next, 0, &history)
        .await
        .expect("a commit carrying a deep value");
    store
        .put_resource(
            &Resource {
                kind: ResourceKind::Tags,
                arn: e.arn.clone(),
                parent: None,
                body: json!({"value": value.clone()}),
            },
            false,
        )
        .await
        .expect("a record with a deep body");
    payload_reads_back(store, &e.arn, value).await;
    e.arn
}

/// Everything [`payload_is_stored`] wrote for `arn` reads back as written.
pub async fn payload_reads_back<S: ApiStore>(store: &S, arn: &str, value: &Value) {
    let want = text(value);
    let loaded = store
        .load(arn)
        .await
        .expect("a deep execution record reads back")
        .expect("it exists");
    assert!(text(&loaded.state.input) == want, "the input reads back");
    match loaded.outbox.first() {
        Some(Command::InvokeTask { parameters, .. }) => {
            assert!(
                text(&parameters["Payload"]) == want,
                "the task's parameters read back"
            )
        }
        other => panic!("the outbox reads back: {other:?}"),
    }
    let history = store
        .history(arn, 0, false, 10)
        .await
        .expect("deep history reads back");
    let output = history
        .get(1)
        .and_then(|h| h.details())
        .map(|d| text(&d["output"]));
    assert!(
        output.as_deref() == Some(want.as_str()),
        "the event reads back"
    );
    let back = store
        .history(arn, 0, true, 10)
        .await
        .expect("deep history reads back newest first");
    assert_eq!(back.len(), 2);
    let row = store
        .execution_row(arn)
        .await
        .expect("the listing row reads back")
        .expect("it exists");
    assert!(row.meta.input == want, "the listing's input reads back");
    let listed = store
        .list_executions(
            &ExecutionFilter {
                state_machine_arn: Some(loaded.state_machine_arn.clone()),
                ..ExecutionFilter::default()
            },
            0,
            1_000,
        )
        .await
        .expect("executions with deep inputs list");
    assert!(listed.iter().any(|r| r.meta.arn == arn), "it is listed");
    let record = store
        .get_resource(ResourceKind::Tags, arn)
        .await
        .expect("a deep record reads back")
        .expect("it exists");
    assert!(text(&record.body["value"]) == want, "the record reads back");
}

/// [`payload_is_stored`] for each of [`hard_values`], under `ns`.
pub async fn payloads_of_any_depth_are_kept<S: ApiStore>(store: &S, ns: &str) {
    for (i, value) in hard_values().iter().enumerate() {
        payload_is_stored(store, ns, &format!("deep{i}"), value).await;
    }
}
