//! The one lifecycle every state goes through: entered, run, exited (or failed), next; and the
//! run loop that schedules threads.

use crate::exec::errors::*;
use crate::exec::state::*;
use crate::exec::{to_text, Engine, ThreadId, MAX_PAYLOAD_BYTES};
use crate::{Command, Status};
use serde_json::{json, Map, Value};
use stepwise_asl::model::{State, StateId, StateKind};

impl<'d> Engine<'d> {
    pub(crate) fn run(&mut self) {
        while let Some(tid) = self.queue.pop_front() {
            if self.s.status != Status::Running {
                break;
            }
            let Some(t) = self.s.threads.remove(&tid) else {
                continue;
            };
            self.tick(tid, t);
        }
        self.queue.clear();
    }

    /// Puts a thread back and, when it can go on, schedules it: Parallel branches go to the back
    /// of the queue (they take turns), everything else to the front (it runs on).
    pub(crate) fn park(&mut self, tid: ThreadId, t: Thread) {
        let runnable = matches!(t.phase, Phase::Enter | Phase::Run | Phase::ChildrenDone(_));
        let round_robin = t.parent.is_some_and(|(p, _)| {
            self.s
                .threads
                .get(&p)
                .is_some_and(|pt| matches!(&pt.phase, Phase::Children(c) if !c.is_map))
        });
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

    pub(crate) fn tick(&mut self, tid: ThreadId, mut t: Thread) {
        let def = self.def;
        let st = def.state(t.machine, t.state);
        match std::mem::replace(&mut t.phase, Phase::Run) {
            Phase::Enter => {
                t.entered_ms = self.now;
                t.retries = vec![0; st.retry.len()];
                self.s.transitions += 1;
                let d = json!({"name": st.name, "input": to_text(&t.input), "inputDetails": {"truncated": false}});
                t.entered_event =
                    self.emit(&mut t, &format!("{}StateEntered", st.type_name()), Some(d));
                t.phase = Phase::Run;
                self.park(tid, t);
            }
            Phase::Run => self.run_state(tid, t, st),
            Phase::ChildrenDone(c) => self.children_done(tid, t, *c),
            other => {
                t.phase = other;
                self.s.threads.insert(tid, t);
            }
        }
    }

    pub(crate) fn run_state(&mut self, tid: ThreadId, t: Thread, st: &'d State) {
        let result = match &st.kind {
            StateKind::Pass { result } => self.run_pass(tid, t, st, result.as_ref()),
            StateKind::Choice { .. } => self.run_choice(tid, t, st),
            StateKind::Wait(w) => self.run_wait(tid, t, st, w),
            StateKind::Succeed => self.run_succeed(tid, t, st),
            StateKind::Fail { .. } => self.run_fail(tid, t, st),
            StateKind::Task { .. } => self.run_task(tid, t, st),
            StateKind::Parallel { branches } => self.run_parallel(tid, t, st, branches),
            StateKind::Map(spec) => self.run_map(tid, t, st, spec),
        };
        if let Err((t, f)) = result {
            self.fail_state(tid, t, f);
        }
    }

    /// Records the exit and moves to the next state, or ends the thread.
    pub(crate) fn exit_state(
        &mut self,
        tid: ThreadId,
        t: Thread,
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
        mut t: Thread,
        next: Option<StateId>,
        output: Value,
    ) {
        match next {
            Some(n) => {
                t.state = n;
                t.input = output;
                t.phase = Phase::Enter;
                self.park(tid, t);
            }
            None => self.thread_succeeded(tid, t, output),
        }
    }

    /// Like [`Self::exit_state`] with an explicit next state (Choice, Catch).
    pub(crate) fn exit_to(
        &mut self,
        tid: ThreadId,
        mut t: Thread,
        st: &State,
        output: Value,
        assigned: Option<Map<String, Value>>,
        next: Option<StateId>,
    ) {
        let text = to_text(&output);
        if text.len() > MAX_PAYLOAD_BYTES {
            self.fail_state(tid, t, data_limit_exceeded(&st.name));
            return;
        }
        let mut d = Map::new();
        d.insert("name".into(), Value::String(st.name.clone()));
        d.insert("output".into(), Value::String(text));
        d.insert("outputDetails".into(), json!({"truncated": false}));
        if let Some(vars) = assigned {
            let shown: Map<String, Value> = vars
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(to_text(v))))
                .collect();
            d.insert("assignedVariables".into(), Value::Object(shown));
            d.insert(
                "assignedVariablesDetails".into(),
                json!({"truncated": false}),
            );
            for (k, v) in vars {
                t.variables.insert(k, v);
            }
        }
        let ty = format!("{}StateExited", st.type_name());
        self.emit(&mut t, &ty, Some(Value::Object(d)));
        self.goto(tid, t, next, output);
    }

    pub(crate) fn end(
        &mut self,
        status: Status,
        output: Option<Value>,
        error: Option<String>,
        cause: Option<String>,
        event_type: &str,
        details: Option<Value>,
    ) {
        if self.s.status != Status::Running {
            return;
        }
        // A stop comes from outside the run: AWS's ExecutionAborted follows no event.
        let prev = if event_type == "ExecutionAborted" {
            0
        } else {
            self.s.last_event_id
        };
        self.emit_raw(prev, event_type, details);
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
        let ids: Vec<ThreadId> = self.s.threads.keys().copied().collect();
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
