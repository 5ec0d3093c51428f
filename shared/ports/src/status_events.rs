//! Step Functions' "Step Functions Execution Status Change" events (source `aws.states`): one
//! for every execution that starts, succeeds, fails, times out, is aborted or is redriven, with
//! AWS's detail shape, and the [`StatusEventSink`] that sends them (EventBridge's PutEvents).
//!
//! The durable driver adds a [`Command::PublishStatusChange`](stepwise_engine::Command) to the
//! outbox of the step that changed the status; the dispatcher builds the event from the
//! execution as that step committed it ([`status_change`]) and hands it to the sink. An event is
//! therefore never lost (the outbox stays until it is sent); it is sent twice only when a
//! process dies between PutEvents and clearing the outbox, as EventBridge's own delivery is at
//! least once.

use crate::execution::{StoreError, StoredExecution};
use crate::BoxFuture;
use serde_json::{json, Value};
use stepwise_engine::Status;

/// The event's `detail-type`.
pub const DETAIL_TYPE: &str = "Step Functions Execution Status Change";

/// The event's `source` on AWS. EventBridge keeps `aws.*` sources for AWS's own services, so a
/// deployment on real AWS names another (`STEPWISE_EVENT_SOURCE`); emulators take this one.
pub const SOURCE: &str = "aws.states";

/// EventBridge drops the input when the escaped input and output together pass 248 KB, and the
/// output when it alone does (`inputDetails`/`outputDetails` say so).
const PAYLOAD_LIMIT: usize = 248 * 1024;

/// One status change, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    /// The execution (the event's `resources`).
    pub execution_arn: String,
    /// When it changed, milliseconds since the Unix epoch (the event's `time`).
    pub at_ms: i64,
    /// The event's `detail`.
    pub detail: Value,
}

/// Sends status change events (EventBridge's PutEvents to the configured bus).
pub trait StatusEventSink: Send + Sync {
    /// Sends `changes` in order; an error (or an entry EventBridge refused) leaves them in the
    /// outbox, to be sent again.
    fn publish<'a>(&'a self, changes: &'a [StatusChange]) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// Whether an execution's status changes are announced: Standard executions only (Express
/// workflows send no status change events on AWS).
pub fn announced(execution_arn: &str) -> bool {
    execution_arn.split(':').nth(5) != Some("express")
}

/// The status a history event gives its execution, for the events that change it.
pub fn status_of_event(event_type: &str) -> Option<Status> {
    Some(match event_type {
        "ExecutionStarted" | "ExecutionRedriven" => Status::Running,
        "ExecutionSucceeded" => Status::Succeeded,
        "ExecutionFailed" => Status::Failed,
        "ExecutionTimedOut" => Status::TimedOut,
        "ExecutionAborted" => Status::Aborted,
        _ => return None,
    })
}

fn text(v: &Value) -> String {
    stepwise_engine::deep::to_string(v).unwrap_or_else(|_| "null".into())
}

/// How long a text is once escaped into the event's JSON.
fn escaped_len(s: &str) -> usize {
    serde_json::to_string(s).map(|e| e.len()).unwrap_or(s.len())
}

/// The event for `status`, reached at `at_ms`, of the execution as the step that reached it
/// committed it. A start (or redrive) announced by the same step as the end carries no end yet.
pub fn status_change(e: &StoredExecution, status: Status, at_ms: i64) -> StatusChange {
    let st = &e.state;
    let ended = status != Status::Running;
    let output =
        (status == Status::Succeeded).then(|| text(st.output.as_ref().unwrap_or(&Value::Null)));
    let input = text(&st.input);
    let output_len = output.as_deref().map(escaped_len).unwrap_or(0);
    let output_included = output_len <= PAYLOAD_LIMIT;
    let input_included =
        escaped_len(&input) + if output_included { output_len } else { 0 } <= PAYLOAD_LIMIT;
    let (redrive_status, reason) = match status {
        Status::Running | Status::Succeeded => (
            "NOT_REDRIVABLE",
            json!(format!(
                "Execution is {} and cannot be redriven",
                status.as_str()
            )),
        ),
        _ => ("REDRIVABLE", Value::Null),
    };
    let detail = json!({
        "executionArn": e.arn,
        "stateMachineArn": e.state_machine_arn,
        "name": st.info.name,
        "status": status.as_str(),
        "startDate": st.info.start_time_ms,
        "stopDate": if ended { json!(st.stop_ms.unwrap_or(at_ms)) } else { Value::Null },
        "input": if input_included { json!(input) } else { Value::Null },
        "output": match &output { Some(o) if output_included => json!(o), _ => Value::Null },
        "inputDetails": {"included": input_included},
        "outputDetails": if output.is_some() { json!({"included": output_included}) } else { Value::Null },
        "error": if ended { json!(st.error) } else { Value::Null },
        "cause": if ended { json!(st.cause) } else { Value::Null },
        "redriveCount": st.info.redrive_count,
        "redriveDate": st.redrive_ms.map_or(Value::Null, |ms| json!(ms)),
        "redriveStatus": redrive_status,
        "redriveStatusReason": reason,
    });
    StatusChange {
        execution_arn: e.arn.clone(),
        at_ms,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execution::Usage;
    use stepwise_engine::{ExecutionInfo, ExecutionState};

    fn execution(input: Value, output: Option<Value>) -> StoredExecution {
        let arn = "arn:aws:states:us-east-1:123456789012:execution:m:e".to_string();
        let mut state = ExecutionState::new(ExecutionInfo {
            execution_arn: arn.clone(),
            name: "e".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
            state_machine_name: "m".into(),
            role_arn: "r".into(),
            start_time_ms: 1_000,
            redrive_count: 0,
            seed: 1,
        });
        state.input = input;
        state.output = output;
        state.status = Status::Succeeded;
        state.stop_ms = Some(2_000);
        StoredExecution {
            arn,
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
            revision: 1,
            state,
            version: 3,
            outbox: Vec::new(),
            test_case: None,
            usage: Usage::default(),
            history_tail: None,
        }
    }

    #[test]
    fn a_start_announced_with_the_end_carries_no_end() {
        let e = execution(json!({"a": 1}), Some(json!("ok")));
        let running = status_change(&e, Status::Running, 1_000).detail;
        assert_eq!(running["status"], "RUNNING");
        assert_eq!(
            (
                &running["stopDate"],
                &running["output"],
                &running["outputDetails"]
            ),
            (&Value::Null, &Value::Null, &Value::Null)
        );
        assert_eq!(running["input"], "{\"a\":1}");
        let done = status_change(&e, Status::Succeeded, 2_000).detail;
        assert_eq!(
            (&done["stopDate"], &done["output"], &done["outputDetails"]),
            (&json!(2_000), &json!("\"ok\""), &json!({"included": true}))
        );
    }

    #[test]
    fn payloads_past_eventbridges_limit_are_left_out_as_aws_does() {
        let big = json!("x".repeat(200 * 1024));
        // Input and output together too large: the input goes.
        let e = execution(big.clone(), Some(big.clone()));
        let d = status_change(&e, Status::Succeeded, 2_000).detail;
        assert_eq!(d["input"], Value::Null);
        assert_eq!(d["inputDetails"], json!({"included": false}));
        assert_eq!(d["outputDetails"], json!({"included": true}));
        // The output alone too large: it goes, the input stays.
        let e = execution(json!({}), Some(json!("y".repeat(300 * 1024))));
        let d = status_change(&e, Status::Succeeded, 2_000).detail;
        assert_eq!(d["output"], Value::Null);
        assert_eq!(d["outputDetails"], json!({"included": false}));
        assert_eq!(d["inputDetails"], json!({"included": true}));
    }

    #[test]
    fn express_executions_are_not_announced() {
        assert!(announced("arn:aws:states:us-east-1:1:execution:m:e"));
        assert!(!announced("arn:aws:states:us-east-1:1:express:m:e:u"));
        assert_eq!(status_of_event("ExecutionRedriven"), Some(Status::Running));
        assert_eq!(status_of_event("PassStateEntered"), None);
    }
}
