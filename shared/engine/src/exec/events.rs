//! The event handlers: start, redrive, stop, task outcomes and timers.

use crate::exec::errors::{data_limit_exceeded, Failure};
use crate::exec::state::{PendingInner, Phase, RedrivePoint, TaskKind, Thread, Waiter};
use crate::exec::{to_text, Engine, MAX_PAYLOAD_BYTES};
use crate::history::{EventKind, PayloadText, Resumed};
use crate::resume::{InnerPoint, ResumePoint};
use crate::{Command, Event, Status, WaitId};
use serde_json::{Map, Value};
use stepwise_asl::errors;
use stepwise_asl::model::{MachineId, StateId, StateKind};

impl<'d> Engine<'d> {
    pub(crate) fn apply(&mut self, event: Event) {
        if let Event::Redrive {
            from_state,
            input,
            resume,
        } = event
        {
            self.redrive(from_state, input, resume);
            return;
        }
        if self.s.status != Status::Running {
            return;
        }
        match event {
            Event::Start { input } => self.start(input),
            Event::TaskSucceeded { task, output } => self.task_outcome(task, Ok(output)),
            Event::TaskFailed { task, error, cause } => {
                self.task_outcome(task, Err(Failure::new(error, cause)))
            }
            Event::TaskSubmitted { task, output } => self.task_submitted(task, output),
            Event::TaskStarted { task, worker_name } => self.task_started(task, worker_name),
            Event::TaskHeartbeat { task } => self.task_heartbeat(task),
            Event::TimerFired { timer } => self.timer_fired(timer),
            Event::Redrive { .. } => {}
            Event::UpdateMapRun {
                map_run_arn,
                max_concurrency,
                tolerated_failure_count,
                tolerated_failure_percentage,
            } => self.update_map_run(
                &map_run_arn,
                max_concurrency,
                tolerated_failure_count,
                tolerated_failure_percentage,
            ),
            Event::Stop { error, cause } => {
                if self.s.status == Status::Running {
                    self.abort_map_runs();
                }
                let event = EventKind::ExecutionAborted {
                    error: error.clone(),
                    cause: cause.clone(),
                };
                self.end(Status::Aborted, None, error, cause, event);
            }
        }
    }

    pub(crate) fn start(&mut self, input: Value) {
        if self.s.last_event_id > 0 {
            return; // already started: a redelivered Start
        }
        self.s.input = input.clone();
        let root = self.def.root();
        // A new execution started at a state (beyond AWS) records where, and where it came from.
        let start = self
            .s
            .start_at
            .as_ref()
            .and_then(|name| root.states.iter().position(|st| *st.name == **name));
        // Inside a Parallel/Map: the chosen branch or iteration waits for it to fork.
        let inner = match (start, self.s.start_inner.clone()) {
            (Some(at), Some(inner)) => Some((
                inner.innermost().state.clone(),
                self.pending_inner(0, at, inner),
            )),
            _ => None,
        };
        let started_at = start.and(self.s.start_at.clone()).map(|name| {
            let source = self.s.source_execution_arn.clone();
            (inner.as_ref().map(|i| i.0.clone()).unwrap_or(name), source)
        });
        if let Some((_, pending)) = inner {
            self.s.resume_inner = pending;
        }
        // The first state's StateEntered shows the same text: rendered once.
        let input_text = PayloadText::of(&input);
        let event = EventKind::ExecutionStarted {
            input: input_text.clone(),
            role_arn: self.s.info.role_arn.clone(),
            started_at,
        };
        self.emit_raw(0, event);
        if let Some(secs) = self.def.timeout_seconds {
            let at = self.now.saturating_add((secs as i64).saturating_mul(1000));
            self.start_timer(Waiter::ExecutionTimeout, at);
        }
        let t = Thread {
            machine: 0,
            state: start.unwrap_or(root.start_at),
            parent: None,
            input,
            variables: match start {
                Some(_) => self.s.start_variables.take().unwrap_or_default(),
                None => Map::new(),
            },
            phase: Phase::Enter,
            entered_event: 0,
            entered_prev: 0,
            entered_ms: self.now,
            // AWS's first StateEntered follows nothing (previousEventId 0), not ExecutionStarted.
            last_event: 0,
            retries: Vec::new(),
            map_item: None,
            hidden: false,
            input_text: Some(input_text),
            entered_text: None,
            output_text: None,
            entered_payload: None,
        };
        let id = self.new_thread(t);
        self.queue.push_back(id);
    }

    pub(crate) fn redrive(
        &mut self,
        from_state: Option<String>,
        input: Option<Value>,
        resume: Option<Box<ResumePoint>>,
    ) {
        let succeeded_too = resume.as_ref().is_some_and(|r| r.include_succeeded);
        match self.s.status {
            Status::Running => return,
            Status::Succeeded if !succeeded_too => return,
            _ => {}
        }
        let (point, resumed) = match resume {
            Some(r) => match self.resume_point(*r) {
                Some(p) => p,
                None => return,
            },
            None => match self.redrive_from(from_state, input) {
                Some(p) => {
                    // A resume's branch or iteration that never forked is not this redrive's.
                    self.s.resume_inner = None;
                    (p, None)
                }
                None => return,
            },
        };
        self.s.info.redrive_count += 1;
        self.s.redrive_ms = Some(self.now);
        self.s.status = Status::Running;
        self.s.output = None;
        self.s.error = None;
        self.s.cause = None;
        self.s.stop_ms = None;
        let prev = self.s.last_event_id;
        let redrive_count = self.s.info.redrive_count;
        let event = EventKind::ExecutionRedriven {
            redrive_count,
            resumed,
        };
        let id = self.emit_raw(prev, event);
        if let Some(secs) = self.def.timeout_seconds {
            let at = self.now.saturating_add((secs as i64).saturating_mul(1000));
            self.start_timer(Waiter::ExecutionTimeout, at);
        }
        let t = Thread {
            machine: 0,
            state: point.state,
            parent: None,
            input: point.input,
            variables: point.variables,
            phase: Phase::Enter,
            entered_event: 0,
            entered_prev: 0,
            entered_ms: self.now,
            last_event: id,
            retries: Vec::new(),
            map_item: None,
            hidden: false,
            input_text: None,
            entered_text: None,
            output_text: None,
            entered_payload: None,
        };
        let tid = self.new_thread(t);
        self.queue.push_back(tid);
    }

    /// A resume's top-level restart point and what its event records; the chosen branch or
    /// iteration waits in the checkpoint for the enclosing state to fork. `None` when the
    /// point does not fit this definition.
    fn resume_point(&mut self, r: ResumePoint) -> Option<(RedrivePoint, Option<Resumed>)> {
        let root = self.def.root();
        let state = root.states.iter().position(|st| *st.name == *r.state)?;
        let mut resumed = Resumed {
            state_name: r.state.clone(),
            input_replaced: r.input_replaced,
            branch_index: None,
            map_iteration_index: None,
        };
        self.s.resume_inner = None;
        if let Some(inner) = r.inner {
            let deepest = inner.innermost();
            resumed.state_name = deepest.state.clone();
            // The innermost Map's iteration and the innermost Parallel's branch on the way.
            let mut at = Some(&inner);
            while let Some(level) = at {
                if level.is_map {
                    resumed.map_iteration_index = Some(level.index);
                } else {
                    resumed.branch_index = Some(level.index);
                }
                at = level.deeper.as_deref();
            }
            self.s.resume_inner = Some(self.pending_inner(0, state, inner)?);
        }
        let point = RedrivePoint {
            state,
            input: r.input,
            variables: r.variables,
        };
        Some((point, Some(resumed)))
    }

    /// A resume's chosen branch or iteration of the Parallel/Map `enclosing` (in `machine`), and
    /// the levels further in; `None` when it does not fit this definition.
    fn pending_inner(
        &self,
        machine: MachineId,
        enclosing: StateId,
        inner: InnerPoint,
    ) -> Option<PendingInner> {
        let child = match &self.def.machines.get(machine)?.states.get(enclosing)?.kind {
            StateKind::Parallel { branches } => branches.get(inner.index).copied(),
            StateKind::Map(spec) => Some(spec.processor),
            _ => None,
        }?;
        let chosen = self.def.machines[child]
            .states
            .iter()
            .position(|st| *st.name == *inner.state)?;
        let deeper = match inner.deeper {
            Some(d) => Some(Box::new(self.pending_inner(child, chosen, *d)?)),
            None => None,
        };
        Some(PendingInner {
            enclosing,
            thread: None,
            index: inner.index,
            state: chosen,
            input: inner.input,
            variables: inner.variables,
            kept: inner.kept,
            deeper,
        })
    }

    /// A redrive's restart point: where it stopped, or a top-level `from_state`.
    fn redrive_from(
        &self,
        from_state: Option<String>,
        input: Option<Value>,
    ) -> Option<RedrivePoint> {
        let root = self.def.root();
        let point = match (&from_state, &self.s.redrive_point) {
            (Some(name), p) => match root.states.iter().position(|st| *st.name == **name) {
                Some(state) => RedrivePoint {
                    state,
                    input: p
                        .as_ref()
                        .map(|p| p.input.clone())
                        .unwrap_or_else(|| self.s.input.clone()),
                    variables: p.as_ref().map(|p| p.variables.clone()).unwrap_or_default(),
                },
                None => return None,
            },
            (None, Some(p)) => p.clone(),
            (None, None) => RedrivePoint {
                state: root.start_at,
                input: self.s.input.clone(),
                variables: Map::new(),
            },
        };
        Some(RedrivePoint {
            input: input.unwrap_or(point.input),
            ..point
        })
    }

    pub(crate) fn task_outcome(&mut self, task: WaitId, outcome: Result<Value, Failure>) {
        let Some(Waiter::Task(tid)) = self.s.waits.get(&task).cloned() else {
            return;
        };
        self.s.waits.remove(&task);
        let Some(mut t) = self.s.threads.remove(&tid) else {
            return;
        };
        if matches!(t.phase, Phase::MapRead(_) | Phase::MapWrite(_)) {
            if let Some(t) = self.map_io_outcome(tid, t, outcome) {
                self.s.threads.insert(tid, t);
            }
            return;
        }
        let Phase::Task(w) = std::mem::replace(&mut t.phase, Phase::Run) else {
            self.s.threads.insert(tid, t);
            return;
        };
        self.cancel_wait(w.timeout_timer);
        self.cancel_wait(w.heartbeat_timer);
        // A result over the payload quota fails the task (Retry and Catch apply), named by the
        // integration (`lambda`) or by the function's ARN.
        // The result's text, once: the quota is checked on it and the event records it.
        let outcome = outcome.and_then(|output| {
            let text = to_text(&output);
            if text.len() <= MAX_PAYLOAD_BYTES {
                return Ok((output, text));
            }
            let st = self.def.state(t.machine, t.state);
            let who = match (&st.kind, w.kind) {
                (_, TaskKind::Service) => w.resource_type.as_str(),
                (StateKind::Task { resource, .. }, _) => resource.as_str(),
                _ => &*st.name,
            };
            Err(data_limit_exceeded(who))
        });
        match outcome {
            Ok((output, text)) => {
                let event = match w.kind {
                    TaskKind::LambdaFunction => EventKind::LambdaFunctionSucceeded { output: text },
                    TaskKind::Activity => EventKind::ActivitySucceeded { output: text },
                    TaskKind::Service => EventKind::TaskSucceeded {
                        resource: w.service(),
                        output: text,
                    },
                };
                self.emit(&mut t, event);
                self.finish_with_result(tid, t, output);
            }
            // A missing activity ends the execution at once, with the state named as AWS names
            // it and no ActivityFailed.
            Err(mut f) if w.kind == TaskKind::Activity && f.error == errors::RUNTIME => {
                let st = self.def.state(t.machine, t.state);
                f.cause = format!(
                    "An error occurred while executing the state '{}' (entered at the event id #{}). {}",
                    st.name, t.entered_event, f.cause
                );
                self.fail_state(tid, t, f);
            }
            Err(f) => {
                let (error, cause) = (f.error.clone(), f.cause.clone());
                let event = match w.kind {
                    TaskKind::LambdaFunction => EventKind::LambdaFunctionFailed { error, cause },
                    TaskKind::Activity => EventKind::ActivityFailed { error, cause },
                    TaskKind::Service => EventKind::TaskFailed {
                        resource: w.service(),
                        error,
                        cause,
                    },
                };
                self.emit(&mut t, event);
                self.fail_state(tid, t, f);
            }
        }
    }

    pub(crate) fn task_submitted(&mut self, task: WaitId, output: Value) {
        let Some(Waiter::Task(tid)) = self.s.waits.get(&task).cloned() else {
            return;
        };
        let Some(mut t) = self.s.threads.remove(&tid) else {
            return;
        };
        if let Phase::Task(w) = &mut t.phase {
            if !w.submitted {
                w.submitted = true;
                let event = EventKind::TaskSubmitted {
                    resource: w.service(),
                    output: to_text(&output),
                };
                self.emit(&mut t, event);
            }
        }
        self.s.threads.insert(tid, t);
    }

    pub(crate) fn task_started(&mut self, task: WaitId, worker_name: Option<String>) {
        let Some(Waiter::Task(tid)) = self.s.waits.get(&task).cloned() else {
            return;
        };
        let Some(mut t) = self.s.threads.remove(&tid) else {
            return;
        };
        if matches!(&t.phase, Phase::Task(w) if w.kind == TaskKind::Activity) {
            self.emit(&mut t, EventKind::ActivityStarted { worker_name });
        }
        self.s.threads.insert(tid, t);
    }

    pub(crate) fn task_heartbeat(&mut self, task: WaitId) {
        let Some(Waiter::Task(tid)) = self.s.waits.get(&task).cloned() else {
            return;
        };
        let Some(mut t) = self.s.threads.remove(&tid) else {
            return;
        };
        if let Phase::Task(w) = &mut t.phase {
            if let Some(secs) = w.heartbeat_s {
                let old = w.heartbeat_timer.take();
                let at = self.now.saturating_add(secs as i64 * 1000);
                let id = self.s.next_wait;
                self.s.next_wait += 1;
                self.s.waits.insert(id, Waiter::Heartbeat(tid));
                self.commands.push(Command::StartTimer {
                    timer: id,
                    at_ms: at,
                });
                w.heartbeat_timer = Some(id);
                if let Some(old) = old {
                    self.s.waits.remove(&old);
                    self.commands.push(Command::CancelTimer { timer: old });
                }
            }
        }
        self.s.threads.insert(tid, t);
    }

    pub(crate) fn timer_fired(&mut self, timer: WaitId) {
        let Some(waiter) = self.s.waits.remove(&timer) else {
            return;
        };
        match waiter {
            Waiter::ExecutionTimeout => {
                self.end(
                    Status::TimedOut,
                    None,
                    Some(errors::TIMEOUT.into()),
                    None,
                    EventKind::ExecutionTimedOut,
                );
            }
            Waiter::Wait(tid) => {
                let Some(mut t) = self.s.threads.remove(&tid) else {
                    return;
                };
                t.phase = Phase::Run;
                let st = self.def.state(t.machine, t.state);
                match self.wait_over(&t, st) {
                    Ok((out, vars)) => self.exit_state(tid, t, out, vars),
                    Err(f) => self.fail_state(tid, t, f),
                }
            }
            // Threads that no longer exist or cannot run are skipped by `run`.
            Waiter::Continue(ready) => self.queue.extend(ready),
            Waiter::Retry(tid) => {
                if let Some(mut t) = self.s.threads.remove(&tid) {
                    t.phase = Phase::Run;
                    self.s.threads.insert(tid, t);
                    self.queue.push_front(tid);
                }
            }
            Waiter::TaskTimeout(tid) | Waiter::Heartbeat(tid) => {
                let heartbeat = matches!(waiter, Waiter::Heartbeat(_));
                let Some(mut t) = self.s.threads.remove(&tid) else {
                    return;
                };
                let Phase::Task(w) = std::mem::replace(&mut t.phase, Phase::Run) else {
                    self.s.threads.insert(tid, t);
                    return;
                };
                self.s.waits.remove(&w.task);
                self.commands.push(Command::CancelTask {
                    task: w.task,
                    task_token: w.token.clone(),
                });
                self.cancel_wait(if heartbeat {
                    w.timeout_timer
                } else {
                    w.heartbeat_timer
                });
                // A `.waitForTaskToken` task whose heartbeat expired is recorded by AWS as
                // States.Timeout (LocalStack's AWS recordings, `test_heartbeats`); an activity's
                // keeps the documented States.HeartbeatTimeout (no recording shows one).
                let error = if heartbeat && w.kind == TaskKind::Activity {
                    errors::HEARTBEAT_TIMEOUT
                } else {
                    errors::TIMEOUT
                };
                // AWS records no cause for a timeout (a Catch still sees "Cause": "").
                let event = match w.kind {
                    TaskKind::LambdaFunction => EventKind::LambdaFunctionTimedOut {
                        error: error.into(),
                    },
                    TaskKind::Activity => EventKind::ActivityTimedOut {
                        error: error.into(),
                    },
                    TaskKind::Service => EventKind::TaskTimedOut {
                        resource: w.service(),
                        error: error.into(),
                    },
                };
                self.emit(&mut t, event);
                self.fail_state(tid, t, Failure::new(error, ""));
            }
            Waiter::Task(_) => {}
        }
    }
}

#[cfg(test)]
mod redrive_tests {
    use crate::exec::{step, ExecutionState};
    use crate::{Command, Event, Status};
    use serde_json::{json, Value};
    use stepwise_asl::model::Definition;

    /// A new execution of `def` started at time 0 with `input`.
    fn start(def: &Definition, input: Value) -> crate::Transition {
        step(def, ExecutionState::new(info()), 0, Event::Start { input })
    }

    /// A plain redrive (from where the execution failed, with its input).
    fn redrive(def: &Definition, state: ExecutionState, now: i64) -> crate::Transition {
        step(
            def,
            state,
            now,
            Event::Redrive {
                from_state: None,
                input: None,
                resume: None,
            },
        )
    }

    use crate::test_support::{info, task_id};

    #[test]
    fn redrive_restarts_the_failed_state_with_its_input() {
        let def = Definition::from_json(
            r#"{"StartAt":"A","States":{
                "A":{"Type":"Pass","Result":{"k":1},"Next":"T"},
                "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}"#,
        )
        .expect("valid");
        let tr = start(&def, json!({}));
        let task = task_id(&tr.commands);
        let tr = step(
            &def,
            tr.state,
            1,
            Event::TaskFailed {
                task,
                error: "Boom".into(),
                cause: "c".into(),
            },
        );
        assert_eq!(tr.state.status, Status::Failed);
        let tr = redrive(&def, tr.state, 2);
        assert_eq!(tr.state.status, Status::Running);
        assert_eq!(tr.history[0].event_type(), "ExecutionRedriven");
        assert_eq!(tr.state.redrive_ms, Some(2));
        assert_eq!(tr.history[1].event_type(), "TaskStateEntered");
        let params = tr.commands.iter().find_map(|c| match c {
            Command::InvokeTask { parameters, .. } => Some(parameters.clone()),
            _ => None,
        });
        assert_eq!(params, Some(json!({"k": 1})));
        let task = task_id(&tr.commands);
        let tr = step(
            &def,
            tr.state,
            3,
            Event::TaskSucceeded {
                task,
                output: json!("ok"),
            },
        );
        assert_eq!(tr.state.status, Status::Succeeded);
        assert_eq!(tr.state.info.redrive_count, 1);
        // history ids go on without a gap
        assert_eq!(
            tr.history.last().map(|h| h.id),
            Some(tr.state.last_event_id)
        );
    }

    #[test]
    fn redrive_from_any_state_and_not_after_success() {
        let def = Definition::from_json(
            r#"{"StartAt":"A","States":{"A":{"Type":"Fail","Error":"E"},"B":{"Type":"Pass","End":true}}}"#,
        )
        .expect("valid");
        let tr = start(&def, json!({"x": 1}));
        assert_eq!(tr.state.status, Status::Failed);
        let tr = step(
            &def,
            tr.state,
            1,
            Event::Redrive {
                from_state: Some("B".into()),
                input: Some(json!(5)),
                resume: None,
            },
        );
        assert_eq!(tr.state.status, Status::Succeeded);
        assert_eq!(tr.state.output, Some(json!(5)));
        let tr = redrive(&def, tr.state, 2);
        assert!(tr.history.is_empty());
    }

    /// Runs `definition` on `input` to a failure with `error`, redrives it and checks that the
    /// redrive enters a state of `state_type` with that input.
    fn assert_redriven_with_input(definition: &str, input: Value, error: &str, state_type: &str) {
        let def = Definition::from_json(definition).expect("valid");
        let tr = start(&def, input.clone());
        assert_eq!(tr.state.status, Status::Failed);
        assert_eq!(tr.state.error.as_deref(), Some(error));
        let tr = redrive(&def, tr.state, 1);
        assert_eq!(
            tr.history[1].event_type(),
            format!("{state_type}StateEntered")
        );
        let entered = tr.history[1]
            .details()
            .and_then(|d| d.get("input"))
            .cloned();
        assert_eq!(entered, Some(Value::String(input.to_string())));
    }

    /// A Choice with InputPath and OutputPath `$` moves its input to its output; when it
    /// fails (no rule matched, or a rule could not be evaluated) the input is put back, and a
    /// redrive enters the Choice with it.
    #[test]
    fn a_failed_choice_is_redriven_with_its_input() {
        for (input, error) in [
            (json!({"i": 5, "keep": [1, 2]}), "States.NoChoiceMatched"),
            (json!({"keep": [1, 2]}), "States.Runtime"),
        ] {
            assert_redriven_with_input(
                r#"{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[
                    {"Variable":"$.i","NumericEquals":1,"Next":"D"}]},"D":{"Type":"Succeed"}}}"#,
                input,
                error,
                "Choice",
            );
        }
    }

    /// A result merged into the input at its ResultPath makes an output past the payload
    /// quota: the state fails with States.DataLimitExceeded, and a redrive enters it with the
    /// input it had (not the input the merge took).
    #[test]
    fn a_state_failed_by_its_merged_output_s_size_is_redriven_with_its_input() {
        let big = "x".repeat(200 * 1024);
        assert_redriven_with_input(
            r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"copy.$":"$.s"},
                "ResultPath":"$.r","End":true}}}"#,
            json!({"s": big, "keep": [1, 2]}),
            "States.DataLimitExceeded",
            "Pass",
        );
    }

    /// The same for a Task whose result comes in a later step of the same process (`stepwise
    /// run`): its kept entry text gives the input back.
    #[test]
    fn a_task_failed_by_its_merged_output_s_size_is_redriven_with_its_input() {
        let def = Definition::from_json(
            r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f",
                "ResultPath":"$.r","End":true}}}"#,
        )
        .expect("valid");
        let input = json!({"s": "x".repeat(150 * 1024), "keep": [1, 2]});
        let tr = start(&def, input.clone());
        let task = task_id(&tr.commands);
        let tr = step(
            &def,
            tr.state,
            1,
            Event::TaskSucceeded {
                task,
                output: json!("y".repeat(150 * 1024)),
            },
        );
        assert_eq!(tr.state.status, Status::Failed);
        assert_eq!(tr.state.error.as_deref(), Some("States.DataLimitExceeded"));
        let tr = redrive(&def, tr.state, 2);
        assert_eq!(tr.history[1].event_type(), "TaskStateEntered");
        let entered = tr.history[1]
            .details()
            .and_then(|d| d.get("input"))
            .cloned();
        assert_eq!(entered, Some(Value::String(input.to_string())));
    }

    /// A catcher's ResultPath merges the error into the state's input in place; when the merge
    /// fails (the path goes through a string) the input is put back, and a redrive enters the
    /// state with it.
    #[test]
    fn a_failed_catch_merge_is_redriven_with_the_state_input() {
        assert_redriven_with_input(
            r#"{"StartAt":"T","States":{"T":{"Type":"Parallel","Branches":[{"StartAt":"F",
                "States":{"F":{"Type":"Fail","Error":"Boom"}}}],
                "Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.s.err","Next":"D"}],
                "End":true},"D":{"Type":"Succeed"}}}"#,
            json!({"s": "text", "keep": [1, 2]}),
            "States.ResultPathMatchFailure",
            "Parallel",
        );
    }

    /// A Choice that leaves with its input as it entered shares the entry's text with its exit
    /// (not serialized again); one that changes its output (OutputPath) writes its own.
    #[test]
    fn a_choice_exit_shares_its_entry_text() {
        let def = Definition::from_json(
            r#"{"StartAt":"C","States":{
                "C":{"Type":"Choice","Choices":[{"Variable":"$.a","NumericEquals":1,"Next":"D"}],
                     "Default":"D"},
                "D":{"Type":"Choice","OutputPath":"$.b",
                     "Choices":[{"Variable":"$.a","NumericEquals":1,"Next":"E"}],"Default":"E"},
                "E":{"Type":"Succeed"}}}"#,
        )
        .expect("valid");
        let tr = start(&def, json!({"a": 1, "b": {"c": 2}}));
        assert_eq!(tr.state.status, Status::Succeeded);
        let text = |ty: &str| {
            tr.history
                .iter()
                .find(|h| h.event_type() == ty)
                .and_then(|h| h.state_text())
                .cloned()
                .expect(ty)
        };
        let (entered, exited) = (text("ChoiceStateEntered"), text("ChoiceStateExited"));
        assert!(crate::history::PayloadText::ptr_eq(&entered, &exited));
        assert_eq!(exited.as_str(), r#"{"a":1,"b":{"c":2}}"#);
        let exits: Vec<_> = tr
            .history
            .iter()
            .filter(|h| h.event_type() == "ChoiceStateExited")
            .filter_map(|h| h.state_text())
            .map(|t| t.as_str().to_string())
            .collect();
        assert_eq!(exits, [r#"{"a":1,"b":{"c":2}}"#, r#"{"c":2}"#]);
    }

    /// A Parallel's branches start with its input as it entered: their first StateEntered
    /// events share its entry's text; with Parameters each branch's input is the parameters'.
    #[test]
    fn parallel_branches_share_the_entry_text() {
        let branch = |name: &str| {
            format!(r#"{{"StartAt":"{name}","States":{{"{name}":{{"Type":"Pass","End":true}}}}}}"#)
        };
        let def = Definition::from_json(&format!(
            r#"{{"StartAt":"P","States":{{
                "P":{{"Type":"Parallel","Branches":[{},{}],"Next":"Q"}},
                "Q":{{"Type":"Parallel","Parameters":{{"x.$":"$[0].a"}},"Branches":[{}],"End":true}}}}}}"#,
            branch("A"),
            branch("B"),
            branch("C")
        ))
        .expect("valid");
        let tr = start(&def, json!({"a": 1}));
        assert_eq!(tr.state.status, Status::Succeeded);
        let entered = |name: &str| {
            tr.history
                .iter()
                .filter(|h| h.event_type().ends_with("StateEntered"))
                .find(|h| h.details().and_then(|d| d.get("name")) == Some(&json!(name)))
                .and_then(|h| h.state_text())
                .cloned()
                .expect(name)
        };
        let p = entered("P");
        assert!(crate::history::PayloadText::ptr_eq(&p, &entered("A")));
        assert!(crate::history::PayloadText::ptr_eq(&p, &entered("B")));
        assert_eq!(entered("C").as_str(), r#"{"x":1}"#);
        assert_eq!(entered("A").as_str(), r#"{"a":1}"#);
    }

    /// A Parallel's branches take turns, so a branch's entry lies behind its siblings' events
    /// when its state runs: it is found all the same (each Choice's exit shares its entry's
    /// text, as in a lone thread), with five branches as with one.
    #[test]
    fn states_of_interleaved_branches_find_their_entry() {
        let branch = |i: usize| {
            format!(
                r#"{{"StartAt":"C{i}","States":{{"C{i}":{{"Type":"Choice","Choices":[
                    {{"Variable":"$.a","NumericEquals":1,"Next":"D{i}"}}],"Default":"D{i}"}},
                    "D{i}":{{"Type":"Succeed"}}}}}}"#
            )
        };
        let branches: Vec<String> = (0..5).map(branch).collect();
        let def = Definition::from_json(&format!(
            r#"{{"StartAt":"P","States":{{"P":{{"Type":"Parallel","Branches":[{}],"End":true}}}}}}"#,
            branches.join(",")
        ))
        .expect("valid");
        let tr = start(&def, json!({"a": 1}));
        assert_eq!(tr.state.status, Status::Succeeded);
        let text = |ty: &str, name: &str| {
            tr.history
                .iter()
                .filter(|h| h.event_type() == ty)
                .find(|h| h.details().and_then(|d| d.get("name")) == Some(&json!(name)))
                .and_then(|h| h.state_text())
                .cloned()
                .expect(name)
        };
        for i in 0..5 {
            let name = format!("C{i}");
            let (entered, exited) = (
                text("ChoiceStateEntered", &name),
                text("ChoiceStateExited", &name),
            );
            assert!(
                crate::history::PayloadText::ptr_eq(&entered, &exited),
                "{name}"
            );
            assert_eq!(exited.as_str(), r#"{"a":1}"#);
        }
    }
}
