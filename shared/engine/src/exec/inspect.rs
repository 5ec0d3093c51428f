//! What TestState reports of the state it tests (its `inspectionData`): the data flow of the
//! top-level state, step by step, and which Retry or Catch handled its error.
//!
//! Recorded only when [`ExecutionState::inspection`](super::ExecutionState) is set, which only
//! TestState does: an execution never pays for it (one `None` check per step of the data flow).

use super::dataflow::language;
use super::errors::Failure;
use super::lifecycle::Next;
use super::state::Thread;
use super::Engine;
use serde_json::{Map, Value};
use stepwise_asl::model::State;

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
    /// Input: how many iterations of the tested (mocked) Map failed
    /// (`stateConfiguration.mapIterationFailureCount`): past its tolerated failures the Map
    /// fails with States.ExceedToleratedFailureThreshold.
    pub map_iteration_failure_count: Option<u64>,
    /// After ItemsPath (a JSONPath Map).
    pub after_items_path: Option<Value>,
    /// Each item after ItemSelector (a Map with one).
    pub after_item_selector: Option<Value>,
    /// A Map's MaxConcurrency, evaluated (0 without one).
    pub max_concurrency: Option<u64>,
    /// A Map's ToleratedFailureCount, evaluated.
    pub tolerated_failure_count: Option<u64>,
    /// A Map's ToleratedFailurePercentage, evaluated.
    pub tolerated_failure_percentage: Option<f64>,
    /// Input: the mocked outcome of a tested Map or Parallel (its result, or its error and
    /// cause): its iterations or branches do not run.
    pub stand_in: Option<Result<Value, (String, String)>>,
    /// The state the tested one would go to next (its Next, a Choice's or a Catch's).
    pub next_state: Option<String>,
    /// Input: the name the tested state has in its Context object (`$$.State.Name`); AWS
    /// shows `StateName` however the state is named.
    pub state_name: Option<String>,
    /// The tested state was left: what runs after it is not inspected.
    pub closed: bool,
}

impl<'d> Engine<'d> {
    /// The mocked outcome standing in for the tested Map's or Parallel's children.
    pub(crate) fn stand_in(&self, t: &Thread) -> Option<Result<Value, (String, String)>> {
        if !self.inspecting(t) {
            return None;
        }
        self.s.inspection.as_ref()?.stand_in.clone()
    }

    /// Leaves a tested Map or Parallel with its mocked outcome, as AWS reports it: no input
    /// steps or raw result for a Parallel, no raw result for a Map.
    pub(crate) fn leave_with_stand_in(
        &mut self,
        t: &mut Thread,
        st: &State,
        outcome: Result<Value, (String, String)>,
        is_map: bool,
    ) -> Result<Next, Failure> {
        self.inspect(t, |i| {
            i.after_parameters = None;
            i.after_arguments = None;
            if !is_map {
                i.after_input_path = None;
            }
        });
        let result = outcome.map_err(|(error, cause)| Failure::new(error, cause))?;
        let (out, vars) = language(st).result_output(self, t, st, result)?;
        self.inspect(t, |i| i.result = None);
        Ok(Next::exit(out, vars))
    }

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

#[cfg(test)]
mod tests {
    use super::Inspection;
    use crate::exec::{step, ExecutionState};
    use crate::{Event, ExecutionInfo, Status};
    use serde_json::{json, Value};
    use stepwise_asl::model::Definition;

    fn inspect(def: &str, input: Value) -> ExecutionState {
        let def = Definition::from_json(def).expect("valid definition");
        let info = ExecutionInfo {
            execution_arn: "arn:aws:states:us-east-1:123456789012:express:m:e".into(),
            name: "e".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
            state_machine_name: "m".into(),
            role_arn: String::new(),
            start_time_ms: 0,
            redrive_count: 0,
            seed: 1,
        };
        let mut s = ExecutionState::new(info);
        s.inspection = Some(Box::default());
        step(&def, s, 0, Event::Start { input }).state
    }

    #[test]
    fn the_tested_state_is_inspected_and_the_run_stops_when_it_is_left() {
        let s = inspect(
            r#"{"StartAt":"A","States":{
                "A":{"Type":"Pass","InputPath":"$.in","Parameters":{"v.$":"$.n"},
                     "ResultPath":"$.r","Assign":{"x.$":"$.v"},"Next":"B"},
                "B":{"Type":"Pass","Result":"not run","End":true}}}"#,
            json!({"in": {"n": 1}}),
        );
        assert_eq!(s.status, Status::Succeeded);
        assert_eq!(s.output, Some(json!({"in": {"n": 1}, "r": {"v": 1}})));
        let i = s.inspection.as_deref().cloned().unwrap_or_default();
        assert_eq!(
            i,
            Inspection {
                after_input_path: Some(json!({"n": 1})),
                after_parameters: Some(json!({"v": 1})),
                after_result_selector: Some(json!({"v": 1})),
                after_result_path: Some(json!({"in": {"n": 1}, "r": {"v": 1}})),
                variables: json!({"x": 1}).as_object().cloned(),
                next_state: Some("B".into()),
                closed: true,
                ..Inspection::default()
            }
        );
    }

    #[test]
    fn without_an_inspection_nothing_is_recorded_and_the_run_goes_on() {
        let def = Definition::from_json(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Result":1,"End":true}}}"#,
        )
        .expect("valid");
        let info = ExecutionInfo {
            execution_arn: "e".into(),
            name: "e".into(),
            state_machine_arn: "m".into(),
            state_machine_name: "m".into(),
            role_arn: String::new(),
            start_time_ms: 0,
            redrive_count: 0,
            seed: 1,
        };
        let s = step(
            &def,
            ExecutionState::new(info),
            0,
            Event::Start { input: json!({}) },
        )
        .state;
        assert_eq!((s.status, s.output), (Status::Succeeded, Some(json!(1))));
        assert!(s.inspection.is_none());
    }
}
