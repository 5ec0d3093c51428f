//! The Context object (`$$` in JSONPath, `$states.context` in JSONata).

use crate::time_fmt::iso_millis;
use crate::ExecutionInfo;
use serde_json::{json, Map, Value};

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
    ctx.insert(
        "Execution".into(),
        json!({
            "Id": info.execution_arn,
            "Input": input.unwrap_or(&Value::Null),
            "Name": info.name,
            "RoleArn": info.role_arn,
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

/// How much of the Context object a template reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// No `$$` at all.
    Nothing,
    /// `$$` paths that do not reach `Execution.Input`.
    WithoutInput,
    /// `$$`, `$$.Execution` or `$$.Execution.Input...`.
    Everything,
}

/// What a payload template's strings read of the Context object.
pub(crate) fn needs(template: &Value) -> Need {
    match template {
        Value::String(s) => {
            let mut need = Need::Nothing;
            for (i, _) in s.match_indices("$$") {
                let rest = &s[i + 2..];
                let path: &str = rest.split([',', ')', ' ']).next().unwrap_or("");
                if path.is_empty()
                    || path == ".Execution"
                    || path.starts_with(".Execution.Input")
                    || path.starts_with(".Execution[")
                    || path.starts_with("[")
                {
                    return Need::Everything;
                }
                need = Need::WithoutInput;
            }
            need
        }
        Value::Array(a) => a.iter().map(needs).fold(Need::Nothing, max_need),
        Value::Object(o) => o.values().map(needs).fold(Need::Nothing, max_need),
        _ => Need::Nothing,
    }
}

fn max_need(a: Need, b: Need) -> Need {
    match (a, b) {
        (Need::Everything, _) | (_, Need::Everything) => Need::Everything,
        (Need::WithoutInput, _) | (_, Need::WithoutInput) => Need::WithoutInput,
        _ => Need::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn needs_reads_what_templates_reference() {
        for (t, n) in [
            (json!({"a.$": "$.x"}), Need::Nothing),
            (json!({"a.$": "$$.Map.Item.Value"}), Need::WithoutInput),
            (json!({"a.$": "$$"}), Need::Everything),
            (
                json!({"a": {"b.$": "$$.Execution.Input.k"}}),
                Need::Everything,
            ),
            (
                json!({"a.$": "States.Format('{}', $$.Execution)"}),
                Need::Everything,
            ),
            (json!({"a.$": "$$.Execution.Id"}), Need::WithoutInput),
        ] {
            assert_eq!(needs(&t), n, "{t}");
        }
    }
}
