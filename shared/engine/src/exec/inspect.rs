//! What TestState reports of the state it tests (its `inspectionData`): the data flow of the
//! top-level state, step by step, and which Retry or Catch handled its error.
//!
//! Recorded only when [`ExecutionState::inspection`](super::ExecutionState) is set, which only
//! TestState does: an execution never pays for it (one `None` check per step of the data flow).

use super::state::Thread;
use super::Engine;
use serde_json::{Map, Value};

/// The top-level state's data flow, as TestState's `inspectionData` names it, and what TestState
/// sets beyond an execution's own state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    /// After InputPath (JSONPath).
    pub after_input_path: Option<Value>,
    /// After Parameters (JSONPath).
    pub after_parameters: Option<Value>,
    /// After Arguments (JSONata).
    pub after_arguments: Option<Value>,
    /// The state's raw result (JSONPath).
    pub result: Option<Value>,
    /// After ResultSelector (JSONPath).
    pub after_result_selector: Option<Value>,
    /// After ResultPath, before OutputPath (JSONPath).
    pub after_result_path: Option<Value>,
    /// Every variable once the state was left (the ones it was given and the ones it assigned).
    pub variables: Option<Map<String, Value>>,
    /// The index of the Catch that handled the error.
    pub catch_index: Option<usize>,
    /// The error and cause the Catch handled.
    pub caught: Option<(String, String)>,
    /// The index of the Retry that matched the error.
    pub retry_index: Option<usize>,
    /// The Retry's back-off before the next attempt, when it would retry.
    pub retry_backoff_seconds: Option<u64>,
    /// The error a Retry would retry: TestState stops there (status `RETRIABLE`).
    pub retriable: Option<(String, String)>,
    /// Input: the Context object to use instead of the execution's (TestState's `context`).
    pub context: Option<Value>,
    /// Input: attempts already made by the Retry that matches the error
    /// (`stateConfiguration.retrierRetryCount`).
    pub retrier_retry_count: Option<u32>,
    /// The state the tested one would go to next (its Next, a Choice's or a Catch's).
    pub next_state: Option<String>,
    /// The tested state was left: what runs after it is not inspected.
    pub closed: bool,
}

impl<'d> Engine<'d> {
    /// Records into the inspection when there is one and `t` is the top-level thread.
    pub(crate) fn inspect(&mut self, t: &Thread, record: impl FnOnce(&mut Inspection)) {
        if t.parent.is_some() {
            return;
        }
        if let Some(i) = self.s.inspection.as_deref_mut().filter(|i| !i.closed) {
            record(i);
        }
    }

    /// Whether the inspection is on for `t` (to skip clones it would not keep).
    pub(crate) fn inspecting(&self, t: &Thread) -> bool {
        t.parent.is_none() && self.s.inspection.as_ref().is_some_and(|i| !i.closed)
    }
}
