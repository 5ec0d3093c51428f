//! The one lifecycle every state goes through: entered, run, exited (or failed), next; and the
//! run loop that schedules threads.

use crate::exec::dataflow::Vars;
use crate::exec::errors::data_limit_exceeded;
use crate::exec::state::{Children, Phase, RedrivePoint, Thread, Waiter};
use crate::exec::states::TaskFields;
use crate::exec::{to_text, Engine, ThreadId, MAX_PAYLOAD_BYTES};
use crate::history::{EventKind, PayloadText};
use crate::{Command, Status};
use serde_json::{Map, Value};
use stepwise_asl::model::{State, StateId, StateKind};

/// What a state's evaluation leads to; [`Engine::run_state`] carries it out.
pub(crate) enum Next {
    /// Leave the state with this output and these assigned variables, to `next` (`None`: the
    /// state's own `Next`, or the end).
    Exit {
        output: Value,
        assigned: Vars,
        next: Option<StateId>,
    },
    /// Wait for what the thread's phase names (a task, a timer).
    Park,
    /// Run children (Parallel branches already created, or Map iterations started as room
    /// allows).
    Fork(Box<Children>, Vec<ThreadId>),
    /// End the thread as failed, with no Retry or Catch (a Fail state).
    FailThread {
        error: Option<String>,
        cause: Option<String>,
    },
}

impl Next {
    /// Leave the state by its own `Next` (or end).
    pub(crate) fn exit(output: Value, assigned: Vars) -> Next {
        Next::Exit {
            output,
            assigned,
            next: None,
        }
    }
}

impl<'d> Engine<'d> {
    /// Runs the queued threads until each is blocked (on a task or a timer) or finished, or
    /// until the step has recorded [`super::STEP_EVENTS`] events: then the threads still to
    /// run wait for a timer that fires at once, so that a step's history, and the memory
    /// and time it takes, stay bounded however long an execution runs without waiting (a
    /// loop of a million Pass and Choice states, a Map of 100,000 items).
    pub(crate) fn run(&mut self) {
        self.running = true;
        while let Some(tid) = self.queue.pop_front() {
            if self.s.status != Status::Running {
                break;
            }
            if self.history.len() >= super::STEP_EVENTS {
                self.queue.push_front(tid);
                self.put_back_next_up();
                let ready = self.queue.drain(..).collect();
                self.start_timer(Waiter::Continue(ready), self.now);
                break;
            }
            let t = match self.next_up.take() {
                Some((id, t)) if id == tid => t,
                other => {
                    if let Some((id, t)) = other {
                        self.s.threads.insert(id, t);
                    }
                    let Some(t) = self.s.threads.remove(&tid) else {
                        continue;
                    };
                    t
                }
            };
            self.tick(tid, t);
        }
        self.running = false;
        self.put_back_next_up();
        self.queue.clear();
    }

    /// Puts [`Engine::next_up`]'s thread into the thread table.
    pub(crate) fn put_back_next_up(&mut self) {
        if let Some((id, t)) = self.next_up.take() {
            self.s.threads.insert(id, t);
        }
    }

    /// Puts a thread back and, when it can go on, schedules it: Parallel branches go to the back
    /// of the queue (they take turns), everything else to the front (it runs on).
    pub(crate) fn park(&mut self, tid: ThreadId, t: Box<Thread>) {
        let runnable = matches!(t.phase, Phase::Enter | Phase::Run | Phase::ChildrenDone(_));
        let round_robin = self.takes_turns(&t);
        let parent = t.parent;
        self.s.threads.insert(tid, t);
        if runnable {
            if round_robin {
                self.queue.push_back(tid);
            } else {
                self.queue.push_front(tid);
            }
        } else if let Some((p, _)) = parent {
            // A Map iteration that blocked lets the next one start.
            self.pump(p);
        }
    }

    /// A Parallel branch: it goes to the back of the queue when it can go on.
    fn takes_turns(&self, t: &Thread) -> bool {
        t.parent.is_some_and(|(p, _)| {
            self.s
                .threads
                .get(&p)
                .is_some_and(|pt| matches!(&pt.phase, Phase::Children(c) if !c.is_map))
        })
    }

    /// One move of a thread: enter its state, run the state, or take its children's results.
    pub(crate) fn tick(&mut self, tid: ThreadId, mut t: Box<Thread>) {
        let def = self.def;
        let st = def.state(t.machine, t.state);
        match std::mem::replace(&mut t.phase, Phase::Run) {
            Phase::Enter => {
                t.entered_ms = self.now;
                t.retries = vec![0; st.retry.len()];
                self.s.transitions += 1;
                let input = match t.input_text.take() {
                    Some(text) => text,
                    None => PayloadText::of(&t.input),
                };
                t.entered_prev = t.last_event;
                t.entered_event =
                    self.emit_state(&mut t, false, st.type_index(), st.name.clone(), input);
                t.phase = Phase::Run;
                // Parked, the thread would be the next one run (front of the queue) unless it
                // takes turns with Parallel siblings or the step is full: it runs on at once,
                // without going through the thread table (a tenth of a transition's time).
                if !self.takes_turns(&t) && self.history.len() < super::STEP_EVENTS {
                    self.run_state(tid, t, st);
                } else {
                    self.park(tid, t);
                }
            }
            Phase::Run => self.run_state(tid, t, st),
            Phase::ChildrenDone(c) => self.children_done(tid, t, *c),
            other => {
                t.phase = other;
                self.s.threads.insert(tid, t);
            }
        }
    }

    /// Runs a state's own evaluation, then does what it leads to: every state type shares what
    /// follows (exit and next, parking, children, Retry and Catch).
    ///
    /// Each state type's `run_*` is `#[inline(never)]`: inlined here they made one function too
    /// big for the instruction cache around a loop of states (W2 missed it ~39 times per
    /// transition in callgrind's simulation, 15 after; 7% faster).
    pub(crate) fn run_state(&mut self, tid: ThreadId, mut t: Box<Thread>, st: &'d State) {
        let next = match &st.kind {
            StateKind::Pass { result } => self.run_pass(&mut t, st, result.as_ref()),
            StateKind::Choice { choices, default } => self.run_choice(&mut t, st, choices, default),
            StateKind::Wait(w) => self.run_wait(tid, &mut t, st, w),
            StateKind::Succeed => self.run_succeed(&mut t, st),
            StateKind::Fail { error, cause } => self.run_fail(&mut t, st, error, cause),
            StateKind::Task {
                resource,
                timeout_seconds,
                heartbeat_seconds,
                credentials,
            } => {
                let fields = TaskFields {
                    resource,
                    timeout_seconds,
                    heartbeat_seconds,
                    credentials,
                };
                self.run_task(tid, &mut t, st, fields)
            }
            StateKind::Parallel { branches } => self.run_parallel(tid, &mut t, st, branches),
            StateKind::Map(spec) => self.run_map(tid, &mut t, st, spec),
        };
        match next {
            Ok(Next::Exit {
                output,
                assigned,
                next: None,
            }) => self.exit_state(tid, t, output, assigned),
            Ok(Next::Exit {
                output,
                assigned,
                next,
            }) => self.exit_to(tid, t, st, output, assigned, next),
            Ok(Next::Park) => self.park(tid, t),
            Ok(Next::Fork(children, spawned)) => {
                t.phase = Phase::Children(children);
                self.s.threads.insert(tid, t);
                for id in spawned {
                    self.queue.push_back(id);
                }
                self.pump(tid);
            }
            Ok(Next::FailThread { error, cause }) => self.thread_failed(tid, t, error, cause),
            Err(f) => self.fail_state(tid, t, f),
        }
    }

    /// Records the exit and moves to the next state, or ends the thread.
    pub(crate) fn exit_state(
        &mut self,
        tid: ThreadId,
        t: Box<Thread>,
        output: Value,
        assigned: Option<Map<String, Value>>,
    ) {
        let st = self.def.state(t.machine, t.state);
        let next = match st.kind {
            StateKind::Succeed => None,
            _ => st.next,
        };
        self.exit_to(tid, t, st, output, assigned, next);
    }

    pub(crate) fn goto(
        &mut self,
        tid: ThreadId,
        mut t: Box<Thread>,
        next: Option<StateId>,
        output: Value,
        output_text: Option<PayloadText>,
    ) {
        match next {
            Some(n) => {
                t.state = n;
                t.input = output;
                t.input_text = output_text;
                t.entered_text = None;
                t.merge_undo = None;
                t.phase = Phase::Enter;
                // Within a run, a thread that runs on next (front of the queue, as `park`
                // puts it) waits outside the thread table.
                if self.running && self.next_up.is_none() && !self.takes_turns(&t) {
                    self.queue.push_front(tid);
                    self.next_up = Some((tid, t));
                } else {
                    self.park(tid, t);
                }
            }
            None => self.thread_succeeded(tid, t, output, output_text),
        }
    }

    /// Like [`Self::exit_state`] with an explicit next state (Choice, Catch).
    pub(crate) fn exit_to(
        &mut self,
        tid: ThreadId,
        mut t: Box<Thread>,
        st: &State,
        output: Value,
        assigned: Option<Map<String, Value>>,
        next: Option<StateId>,
    ) {
        let text = match t.output_text.take() {
            Some(text) => text,
            None => PayloadText::of(&output),
        };
        if text.len() > MAX_PAYLOAD_BYTES {
            // A ResultPath merge took the input to make this output: the state fails with the
            // input it entered with (a redrive starts there), when its entry text is at hand.
            if t.entered_text.is_none() {
                t.entered_text = self.entered_text(&t);
            }
            if let Some(undo) = t.merge_undo.take().filter(|_| t.entered_text.is_none()) {
                let mut input = output;
                if crate::exec::dataflow::undo_merge(&mut input, undo) {
                    t.input = input;
                }
            }
            self.fail_state(tid, t, data_limit_exceeded(&st.name));
            return;
        }
        // The history shows each assigned value as its JSON text.
        let shown = assigned.as_ref().map(|vars| {
            vars.iter()
                .map(|(k, v)| (k.clone(), Value::String(to_text(v))))
                .collect()
        });
        // Not `into_iter().flatten()`: building and dropping that iterator cost most states,
        // which assign nothing, ~80 instructions (2% of W2).
        if let Some(vars) = assigned {
            for (k, v) in vars {
                t.variables.insert(k, v);
            }
        }
        // TestState: the tested state was left. The run ends here with its output; the state
        // that would come next is only named.
        let tested = self.inspecting(&t);
        if tested {
            let vars = t.variables.clone();
            let next_state = next.map(|n| self.def.state(t.machine, n).name.to_string());
            self.inspect(&t, |i| {
                i.variables = Some(vars);
                i.next_state = next_state;
                i.closed = true;
            });
        }
        let next = if tested { None } else { next };
        // The next state's input is this output: its StateEntered reuses the text, as does the
        // execution's end (its output).
        let next_text = ((next.is_some() || t.parent.is_none()) && !t.hidden).then(|| text.clone());
        match shown {
            None => {
                self.emit_state(&mut t, true, st.type_index(), st.name.clone(), text);
            }
            Some(assigned) => {
                let event = EventKind::StateExited {
                    state_type: st.type_name(),
                    name: st.name.clone(),
                    output: text.as_str().to_string(),
                    assigned: Some(assigned),
                };
                self.emit(&mut t, event);
            }
        }
        self.goto(tid, t, next, output, next_text);
    }

    pub(crate) fn end(
        &mut self,
        status: Status,
        output: Option<Value>,
        error: Option<String>,
        cause: Option<String>,
        event: EventKind,
    ) {
        if self.s.status != Status::Running {
            return;
        }
        self.put_back_next_up();
        // A stop comes from outside the run: AWS's ExecutionAborted follows no event.
        let prev = if matches!(event, EventKind::ExecutionAborted { .. }) {
            0
        } else {
            self.s.last_event_id
        };
        self.emit_raw(prev, event);
        self.s.status = status;
        self.s.output = output;
        self.s.error = error;
        self.s.cause = cause;
        self.s.stop_ms = Some(self.now);
        if let Some(root) = self.s.threads.values().find(|t| t.parent.is_none()) {
            self.s.redrive_point = Some(RedrivePoint {
                state: root.state,
                input: root.input.clone(),
                variables: root.variables.clone(),
            });
        }
        let ids: Vec<ThreadId> = self.s.threads.ids();
        for id in ids {
            self.cancel_thread(id);
        }
        for (id, w) in std::mem::take(&mut self.s.waits) {
            match w {
                Waiter::Task(_) => self.commands.push(Command::CancelTask {
                    task: id,
                    task_token: None,
                }),
                _ => self.commands.push(Command::CancelTimer { timer: id }),
            }
        }
        self.queue.clear();
    }
}
