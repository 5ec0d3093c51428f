//! Errors inside states: the failure type, Retry, Catch.

use crate::exec::dataflow::language;
use crate::exec::state::{Phase, RedrivePoint, Thread, Waiter};
use crate::exec::{Engine, ThreadId};
use crate::history::EventKind;
use crate::Status;
use serde_json::json;
use stepwise_asl::errors;
use stepwise_asl::model::{Catcher, State, StateKind};

/// A failure inside a state.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) error: String,
    pub(crate) cause: String,
    /// A JSONata evaluation error: AWS records an EvaluationFailed event first.
    pub(crate) evaluation: bool,
}

impl Failure {
    pub(crate) fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            cause: cause.into(),
            evaluation: false,
        }
    }
}

/// The field an evaluation failure happened in (`Output/result`, `Items`), which AWS records as
/// the EvaluationFailed event's `location`: every expression failure names it in its cause.
pub(crate) fn evaluation_location(cause: &str) -> Option<&str> {
    let (_, rest) = cause.split_once("specified for the field '")?;
    rest.split_once('\'').map(|(field, _)| field)
}

/// A state or task (`who`: its name, its integration or its function ARN) produced more than
/// AWS's payload quota.
pub(crate) fn data_limit_exceeded(who: &str) -> Failure {
    Failure::new(
        errors::DATA_LIMIT_EXCEEDED,
        format!("The state/task '{who}' returned a result with a size exceeding the maximum number of bytes service limit."),
    )
}

/// States.Runtime ends the execution: no Retry or Catch applies. (States.DataLimitExceeded
/// from a task's result is caught, by name and by States.ALL, as AWS records.)
pub(crate) fn terminal(error: &str) -> bool {
    error == errors::RUNTIME
}

pub(crate) fn error_matches(list: &[String], error: &str) -> bool {
    if terminal(error) {
        return false;
    }
    // States.TaskFailed matches every error but States.Timeout.
    list.iter().any(|e| {
        e == error || e == errors::ALL || (e == errors::TASK_FAILED && error != errors::TIMEOUT)
    })
}

impl<'d> Engine<'d> {
    /// A state failed: Retry, then Catch, then fail the thread.
    pub(crate) fn fail_state(&mut self, tid: ThreadId, mut t: Box<Thread>, f: Failure) {
        // An output text the state had made is not what a catcher leaves with, nor is a Task's
        // kept entry text what a later state entered with.
        t.output_text = None;
        t.entered_payload = None;
        // Values were moved out of the state's input: it is put back as it entered, for what
        // reads it now (a redrive's starting point).
        if let Some(text) = t.entered_text.take() {
            if let Ok(input) = crate::deep::from_str(text.as_str()) {
                t.input = input;
            }
        }
        if terminal(&f.error) {
            if t.parent.is_none() {
                self.s.redrive_point = Some(RedrivePoint {
                    state: t.state,
                    input: t.input.clone(),
                    variables: t.variables.clone(),
                });
            }
            // No Retry or Catch: the whole execution fails.
            let event = EventKind::ExecutionFailed {
                error: Some(f.error.clone()),
                cause: Some(f.cause.clone()),
            };
            self.end(Status::Failed, None, Some(f.error), Some(f.cause), event);
            return;
        }
        let st = self.def.state(t.machine, t.state);
        if f.evaluation {
            let event = EventKind::EvaluationFailed {
                error: f.error.clone(),
                cause: f.cause.clone(),
                state: st.name.to_string(),
                location: evaluation_location(&f.cause).map(str::to_string),
            };
            // In a Pass or a Map, AWS records it after the event the state's entry followed,
            // not after the entry (a Wait's follows its entry).
            if !t.hidden && matches!(st.kind, StateKind::Pass { .. } | StateKind::Map(_)) {
                t.last_event = t.entered_prev;
            }
            self.emit(&mut t, event);
        }
        // Retry
        if let Some(i) = st
            .retry
            .iter()
            .position(|r| error_matches(&r.error_equals, &f.error))
        {
            let r = &st.retry[i];
            if t.retries.len() < st.retry.len() {
                t.retries.resize(st.retry.len(), 0);
            }
            let mut attempt = t.retries[i];
            // TestState: the attempts already made, as its stateConfiguration says.
            if let Some(n) = self
                .s
                .inspection
                .as_ref()
                .filter(|_| t.parent.is_none())
                .and_then(|x| x.retrier_retry_count)
            {
                attempt = n;
            }
            self.inspect(&t, |x| x.retry_index = Some(i));
            if attempt < r.max_attempts {
                t.retries[i] += 1;
                let mut delay = r.interval_seconds * r.backoff_rate.powi(attempt as i32);
                if let Some(max) = r.max_delay_seconds {
                    delay = delay.min(max);
                }
                if r.full_jitter {
                    delay *= self.rng().next_f64();
                }
                self.inspect(&t, |x| {
                    x.retry_backoff_seconds = Some(delay as u64);
                    x.retriable = Some((f.error.clone(), f.cause.clone()));
                });
                let at = self.now.saturating_add((delay * 1000.0) as i64);
                let timer = self.start_timer(Waiter::Retry(tid), at);
                t.phase = Phase::Retry { timer };
                self.s.threads.insert(tid, t);
                return;
            }
        }
        if matches!(st.kind, StateKind::Map(_) | StateKind::Parallel { .. }) {
            let state_type = st.type_name();
            self.emit(&mut t, EventKind::StateFailed { state_type });
        }
        // Catch
        if let Some(i) = st
            .catch
            .iter()
            .position(|c| error_matches(&c.error_equals, &f.error))
        {
            self.inspect(&t, |x| {
                x.catch_index = Some(i);
                x.caught = Some((f.error.clone(), f.cause.clone()));
            });
            self.catch(tid, t, st, &st.catch[i], f);
            return;
        }
        self.thread_failed(tid, t, Some(f.error), Some(f.cause));
    }

    pub(crate) fn catch(
        &mut self,
        tid: ThreadId,
        mut t: Box<Thread>,
        st: &State,
        c: &Catcher,
        f: Failure,
    ) {
        let error_output = json!({"Error": f.error, "Cause": f.cause});
        // A failure while catching is not caught again: the thread fails with it.
        match language(st).catch_output(self, &mut t, st, c, error_output) {
            Ok((out, vars)) => self.exit_to(tid, t, st, out, vars, Some(c.next)),
            Err(f) => self.thread_failed(tid, t, Some(f.error), Some(f.cause)),
        }
    }
}
