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
            merge_undo: None,
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
            merge_undo: None,
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
mod redrive_tests;
