//! The Context object (`$$` in JSONPath, `$states.context` in JSONata).

use crate::time_fmt::iso_millis;
use crate::ExecutionInfo;
use serde_json::{json, Map, Value};
use stepwise_asl::jsonpath::member_mut;

/// What the Context object says about the running state.
pub(crate) struct StateContext<'a> {
    pub name: &'a str,
    pub entered_ms: i64,
    /// Retries so far: always for a Task (AWS shows `RetryCount: 0` on its first attempt), for
    /// other states once they retried.
    pub retry_count: Option<u32>,
    pub task_token: Option<&'a str>,
    pub map_item: Option<(usize, &'a Value)>,
}

/// Builds the Context object for one evaluation.
pub(crate) fn build(info: &ExecutionInfo, input: Option<&Value>, s: &StateContext) -> Value {
    let mut ctx = Map::new();
    // Every execution has a role; TestState may run without one, which AWS shows as null.
    let role = match info.role_arn.as_str() {
        "" => Value::Null,
        r => Value::String(r.to_string()),
    };
    ctx.insert(
        "Execution".into(),
        json!({
            "Id": info.execution_arn,
            "Input": input.unwrap_or(&Value::Null),
            "Name": info.name,
            "RoleArn": role,
            "StartTime": iso_millis(info.start_time_ms),
            "RedriveCount": info.redrive_count,
        }),
    );
    let mut state = Map::new();
    state.insert(
        "EnteredTime".into(),
        Value::String(iso_millis(s.entered_ms)),
    );
    state.insert("Name".into(), Value::String(s.name.to_string()));
    if let Some(n) = s.retry_count {
        state.insert("RetryCount".into(), Value::from(n));
    }
    ctx.insert("State".into(), Value::Object(state));
    ctx.insert(
        "StateMachine".into(),
        json!({ "Id": info.state_machine_arn, "Name": info.state_machine_name }),
    );
    if let Some(token) = s.task_token {
        ctx.insert("Task".into(), json!({ "Token": token }));
    }
    if let Some((index, value)) = s.map_item {
        ctx.insert(
            "Map".into(),
            json!({ "Item": { "Index": index, "Value": value } }),
        );
    }
    Value::Object(ctx)
}

/// The Context object as far as `$$.Map...` paths read it: only its `Map` part (nothing outside
/// a Map iteration, where the whole object has no `Map` either).
pub(crate) fn map_only(map_item: Option<(usize, &Value)>) -> Value {
    let mut ctx = Map::new();
    if let Some((index, value)) = map_item {
        ctx.insert(
            "Map".into(),
            json!({ "Item": { "Index": index, "Value": value } }),
        );
    }
    Value::Object(ctx)
}

/// Makes `ctx` the [`map_only`] object of `map_item`, in place when it already is one for
/// another item (its index and value replaced, nothing else allocated).
pub(crate) fn fill_map_item(ctx: &mut Value, map_item: Option<(usize, &Value)>) {
    if let Some((index, value)) = map_item {
        // Members found by comparing keys: hashing them (four lookups) was most of the fill.
        let item = ctx
            .as_object_mut()
            .and_then(|c| member_mut(c, "Map"))
            .and_then(Value::as_object_mut)
            .and_then(|m| member_mut(m, "Item"))
            .and_then(Value::as_object_mut);
        if let Some(item) = item.filter(|item| item.len() == 2) {
            let mut filled = 0;
            for (k, slot) in item.iter_mut() {
                match k.as_str() {
                    "Index" => *slot = Value::from(index),
                    "Value" => slot.clone_from(value),
                    _ => continue,
                }
                filled += 1;
            }
            if filled == 2 {
                return;
            }
        }
    }
    *ctx = map_only(map_item);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Filled in place or built anew, the object is the one `map_only` builds for the item.
    #[test]
    fn a_filled_map_context_is_the_items_own() {
        let items = [
            Some((0, json!(1))),
            Some((1, json!({"a": [1, 2]}))),
            Some((7, json!("x"))),
            None,
            Some((2, json!(null))),
        ];
        let mut ctx = Value::Null;
        for item in &items {
            let item = item.as_ref().map(|(i, v)| (*i, v));
            fill_map_item(&mut ctx, item);
            assert_eq!(ctx, map_only(item));
        }
        let mut other = json!({"Map": {"Item": {"Index": 0, "Value": 1, "Source": "x"}}});
        fill_map_item(&mut other, Some((3, &json!(4))));
        assert_eq!(other, map_only(Some((3, &json!(4)))));
        // Two members, not the two: built anew.
        let mut two = json!({"Map": {"Item": {"Index": 0, "Source": "x"}}});
        fill_map_item(&mut two, Some((5, &json!([6]))));
        assert_eq!(two, map_only(Some((5, &json!([6])))));
    }
}
