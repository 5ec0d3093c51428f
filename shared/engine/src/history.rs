//! History events, shaped as GetExecutionHistory returns them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One history event.
///
/// `details` is the `...EventDetails` object; its key in the API response is derived from the
/// event type (see [`HistoryEvent::details_key`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    /// 1-based, in order of the execution.
    pub id: u64,
    /// The event this one follows (0 for the first).
    pub previous_event_id: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// AWS's event type, e.g. `PassStateEntered`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The details object, if the type has one.
    pub details: Option<Value>,
}

impl HistoryEvent {
    /// The key AWS puts the details under: `PassStateEntered` -> `stateEnteredEventDetails`,
    /// `TaskScheduled` -> `taskScheduledEventDetails`, `MapIterationStarted` ->
    /// `mapIterationStartedEventDetails`.
    pub fn details_key(&self) -> String {
        let t = self.event_type.as_str();
        for suffix in ["StateEntered", "StateExited"] {
            if let Some(prefix) = t.strip_suffix(suffix) {
                if is_state_type(prefix) {
                    return format!("state{}EventDetails", &suffix[5..]);
                }
            }
        }
        let mut chars = t.chars();
        match chars.next() {
            Some(c) => format!("{}{}EventDetails", c.to_ascii_lowercase(), chars.as_str()),
            None => "eventDetails".into(),
        }
    }

    /// The event as the API returns it (timestamp in epoch seconds, details under their key).
    pub fn to_api_json(&self, include_data: bool) -> Value {
        let mut m = Map::new();
        m.insert(
            "timestamp".into(),
            serde_json::json!(self.timestamp_ms as f64 / 1000.0),
        );
        m.insert("type".into(), Value::String(self.event_type.clone()));
        m.insert("id".into(), Value::from(self.id));
        m.insert(
            "previousEventId".into(),
            Value::from(self.previous_event_id),
        );
        if let Some(d) = &self.details {
            let mut d = d.clone();
            if !include_data {
                if let Value::Object(o) = &mut d {
                    for k in ["input", "output", "parameters", "result"] {
                        if o.remove(k).is_some() {
                            o.remove(&format!("{k}Details"));
                        }
                    }
                }
            }
            m.insert(self.details_key(), d);
        }
        Value::Object(m)
    }
}

fn is_state_type(prefix: &str) -> bool {
    matches!(
        prefix,
        "Pass" | "Task" | "Choice" | "Wait" | "Succeed" | "Fail" | "Parallel" | "Map"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t: &str) -> HistoryEvent {
        HistoryEvent {
            id: 1,
            previous_event_id: 0,
            timestamp_ms: 0,
            event_type: t.into(),
            details: None,
        }
    }

    #[test]
    fn details_keys_follow_aws_names() {
        for (t, k) in [
            ("PassStateEntered", "stateEnteredEventDetails"),
            ("MapStateExited", "stateExitedEventDetails"),
            ("TaskScheduled", "taskScheduledEventDetails"),
            ("ExecutionStarted", "executionStartedEventDetails"),
            ("MapIterationStarted", "mapIterationStartedEventDetails"),
            ("MapStateStarted", "mapStateStartedEventDetails"),
            ("LambdaFunctionFailed", "lambdaFunctionFailedEventDetails"),
            ("EvaluationFailed", "evaluationFailedEventDetails"),
        ] {
            assert_eq!(ev(t).details_key(), k, "{t}");
        }
    }
}
