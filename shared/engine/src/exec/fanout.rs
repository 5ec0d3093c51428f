//! Children of Parallel and Map: starting them, their concurrency, collecting results, tolerated
//! failures and cancelling siblings.

use crate::exec::dataflow::language;
use crate::exec::errors::Failure;
use crate::exec::state::{Children, PendingInner, Phase, RedrivePoint, Thread, Waiter};
use crate::exec::{Engine, ThreadId};
use crate::history::{EventKind, IterationEvent, PayloadText};
use crate::{Command, Status, WaitId};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use stepwise_asl::errors;
use stepwise_asl::model::{MapSpec, State, StateKind};

impl<'d> Engine<'d> {
    /// Starts the next Map iteration if the concurrency limit and the running iterations allow,
    /// or marks the Map done when every iteration has finished.
    pub(crate) fn pump(&mut self, tid: ThreadId) {
        let Some(mut t) = self.s.threads.remove(&tid) else {
            return;
        };
        let Phase::Children(mut c) = std::mem::replace(&mut t.phase, Phase::Run) else {
            self.s.threads.insert(tid, t);
            return;
        };
        let total = if c.is_map {
            c.items.len()
        } else {
            c.results.len()
        };
        // Every child is done (or there were none), or one failed and the others are gone.
        if c.done == total || c.failure.is_some() && c.running.is_empty() {
            t.phase = Phase::ChildrenDone(c);
            self.s.threads.insert(tid, t);
            self.queue.push_front(tid);
            return;
        }
        // Parallel branches all start at once; only Map iterations start here.
        if !c.is_map {
            t.phase = Phase::Children(c);
            self.s.threads.insert(tid, t);
            return;
        }
        // Start one iteration when no started one is still running synchronously.
        let busy = c.running.iter().any(|id| {
            self.s.threads.get(id).is_none_or(|ct| {
                matches!(ct.phase, Phase::Enter | Phase::Run | Phase::ChildrenDone(_))
            })
        });
        // Iterations a resume kept do not run.
        while c.next < c.items.len() && c.kept.contains(&c.next) {
            c.next += 1;
        }
        let room = c.max_concurrency == 0 || c.running.len() < c.max_concurrency;
        if busy || !room || c.next >= c.items.len() || c.failure.is_some() {
            t.phase = Phase::Children(c);
            self.s.threads.insert(tid, t);
            return;
        }
        let index = c.next;
        c.next += 1;
        let st = self.def.state(t.machine, t.state);
        let StateKind::Map(spec) = &st.kind else {
            return;
        };
        let item = c.items[index].clone();
        let resumed = c.resume_child.take_if(|r| r.index == index);
        let prepared = c.map_run.as_ref().is_some_and(|r| r.prepared);
        let input = match &spec.item_selector {
            _ if resumed.is_some() => Value::Null,
            // A distributed Map made its children's inputs when its items were known.
            _ if prepared => item,
            Some(sel) => {
                let r = language(st).item_selector(self, &t, st, sel, &c.effective, index, &item);
                match r {
                    Ok(v) => v,
                    Err(f) => {
                        t.phase = Phase::Children(c);
                        self.fail_children_then_state(tid, t, f);
                        return;
                    }
                }
            }
            None => item,
        };
        let hidden = t.hidden || c.distributed;
        let start = self.def.machines[spec.processor].start_at;
        let mut child = Thread {
            machine: spec.processor,
            state: start,
            parent: Some((tid, index)),
            input,
            // A distributed Map's iterations are child executions: they see no outer variables.
            variables: if c.distributed {
                Map::new()
            } else {
                t.variables.clone()
            },
            phase: Phase::Enter,
            entered_event: 0,
            entered_prev: 0,
            entered_ms: self.now,
            last_event: t.last_event,
            retries: Vec::new(),
            map_item: None,
            hidden,
            input_text: None,
            entered_text: None,
            output_text: None,
            entered_payload: None,
            merge_undo: None,
        };
        let mut deeper = None;
        if let Some(r) = resumed {
            child.state = r.state;
            child.input = r.input;
            child.variables = r.variables;
            deeper = r.deeper;
        }
        let name = iteration_name(st, spec);
        // Every MapIterationStarted follows the Map's last event (MapStateStarted, or the last
        // state event of the iteration that ended before it), as AWS records it.
        if !hidden {
            let id = self.emit_iteration(t.last_event, IterationEvent::Started, name, index);
            child.last_event = id;
        }
        let cid = self.new_thread(child);
        self.pass_resume_down(deeper, cid);
        c.running.push(cid);
        t.phase = Phase::Children(c);
        self.s.threads.insert(tid, t);
        self.queue.push_front(cid);
    }

    /// The chosen branch or iteration of a resume, when `t` is the top-level Parallel/Map it
    /// is inside (once: a retried Parallel/Map runs every branch or iteration again).
    pub(crate) fn take_resume_inner(&mut self, tid: ThreadId, t: &Thread) -> Option<PendingInner> {
        match &self.s.resume_inner {
            Some(r)
                if r.enclosing == t.state
                    && match r.thread {
                        Some(owner) => owner == tid,
                        None => t.parent.is_none(),
                    } =>
            {
                self.s.resume_inner.take()
            }
            _ => None,
        }
    }

    /// The next level of a resume waits for the thread that starts at its Parallel/Map.
    pub(crate) fn pass_resume_down(&mut self, deeper: Option<Box<PendingInner>>, tid: ThreadId) {
        if let Some(mut d) = deeper {
            d.thread = Some(tid);
            self.s.resume_inner = Some(*d);
        }
    }

    pub(crate) fn fail_children_then_state(
        &mut self,
        tid: ThreadId,
        mut t: Box<Thread>,
        f: Failure,
    ) {
        if let Phase::Children(c) = std::mem::replace(&mut t.phase, Phase::Run) {
            for id in c.running {
                self.cancel_thread(id);
            }
        }
        self.fail_state(tid, t, f);
    }

    /// Removes a thread and everything under it, cancelling its tasks and timers.
    pub(crate) fn cancel_thread(&mut self, tid: ThreadId) {
        let Some(t) = self.s.threads.remove(&tid) else {
            return;
        };
        let waits: Vec<WaitId> = self
            .s
            .waits
            .iter()
            .filter(|(_, w)| matches!(w, Waiter::Task(x) | Waiter::TaskTimeout(x) | Waiter::Heartbeat(x) | Waiter::Wait(x) | Waiter::Retry(x) if *x == tid))
            .map(|(id, _)| *id)
            .collect();
        for id in waits {
            if let Some(w) = self.s.waits.remove(&id) {
                match w {
                    Waiter::Task(_) => {
                        let token = match &t.phase {
                            Phase::Task(tw) => tw.token.clone(),
                            _ => None,
                        };
                        self.commands.push(Command::CancelTask {
                            task: id,
                            task_token: token,
                        });
                    }
                    _ => self.commands.push(Command::CancelTimer { timer: id }),
                }
            }
        }
        if let Phase::Children(c) | Phase::ChildrenDone(c) = t.phase {
            for id in c.running {
                self.cancel_thread(id);
            }
        }
    }

    /// A Task that failed its branch or iteration (no Catch took it) is recorded as aborted
    /// when the branch or iteration ends: AWS's TaskFailed/TaskTimedOut, then TaskStateAborted.
    fn failed_task_aborted(&mut self, t: &Thread, anchor: u64) {
        let st = self.def.state(t.machine, t.state);
        if !t.hidden && matches!(st.kind, StateKind::Task { .. }) {
            let state_type = st.type_name();
            self.emit_raw(anchor, EventKind::StateAborted { state_type });
        }
    }

    /// Stops the branches or iterations still running beside one that failed, in their order,
    /// recording what AWS records for each (all following `anchor`, the failure's last event):
    /// `MapIterationAborted` for an iteration of the Map named `map` (its label or name), then
    /// the aborted state it was in.
    fn abort_siblings(&mut self, running: Vec<ThreadId>, anchor: u64, map: Option<Arc<str>>) {
        for id in self.in_slot_order(running) {
            self.record_aborted(id, anchor, map.as_deref());
            self.cancel_thread(id);
        }
    }

    fn in_slot_order(&self, mut ids: Vec<ThreadId>) -> Vec<ThreadId> {
        ids.sort_by_key(|id| self.s.threads.get(id).and_then(|t| t.parent).map(|p| p.1));
        ids
    }

    /// The events of a thread being stopped: `MapIterationAborted` when it is an iteration of
    /// the Map named `map`, then `{Type}StateAborted` for the state it is in (Task, Wait, Map,
    /// Parallel: those AWS has an aborted event for), then the same for each branch or
    /// iteration that state runs.
    fn record_aborted(&mut self, tid: ThreadId, anchor: u64, map: Option<&str>) {
        let Some(t) = self.s.threads.get(&tid) else {
            return;
        };
        if t.hidden {
            return;
        }
        let (machine, state, index) = (t.machine, t.state, t.parent.map(|p| p.1));
        let entered = !matches!(t.phase, Phase::Enter);
        let inner = match &t.phase {
            Phase::Children(c) | Phase::ChildrenDone(c) => c.running.clone(),
            _ => Vec::new(),
        };
        if let (Some(name), Some(index)) = (map, index) {
            let name = Arc::from(name);
            self.emit_iteration(anchor, IterationEvent::Aborted, name, index);
        }
        let st = self.def.state(machine, state);
        let abortable = matches!(
            st.kind,
            StateKind::Task { .. }
                | StateKind::Wait(_)
                | StateKind::Map(_)
                | StateKind::Parallel { .. }
        );
        if entered && abortable {
            let state_type = st.type_name();
            self.emit_raw(anchor, EventKind::StateAborted { state_type });
        }
        let inner_map = match &st.kind {
            StateKind::Map(spec) => Some(iteration_name(st, spec)),
            _ => None,
        };
        for id in self.in_slot_order(inner) {
            self.record_aborted(id, anchor, inner_map.as_deref());
        }
    }

    pub(crate) fn children_done(&mut self, tid: ThreadId, t: Box<Thread>, c: Children) {
        let Some((mut t, c)) = self.write_results_first(tid, t, c) else {
            return;
        };
        let st = self.def.state(t.machine, t.state);
        if let Some((error, cause)) = c.failure {
            if c.is_map && c.distributed {
                let event = EventKind::MapRunFailed {
                    error: error.clone(),
                    cause: cause.clone(),
                };
                self.emit(&mut t, event);
            }
            self.fail_state(tid, t, Failure::new(error, cause));
            return;
        }
        if c.is_map && c.distributed {
            self.emit(&mut t, EventKind::MapRunSucceeded);
        }
        // AWS records MapStateSucceeded / ParallelStateSucceeded, then the state's exit, both
        // following the last event before them.
        if c.last_iteration_event != 0 {
            t.last_event = c.last_iteration_event;
        }
        if !t.hidden {
            let state_type = st.type_name();
            self.emit_raw(t.last_event, EventKind::StateSucceeded { state_type });
        }
        let result = match c.map_run.and_then(|r| r.written) {
            Some(written) => written,
            None => Value::Array(c.results),
        };
        self.finish_with_result(tid, t, result);
    }

    /// A thread left its last state with `output` (`text`: its StateExited text, when it is
    /// at hand).
    pub(crate) fn thread_succeeded(
        &mut self,
        tid: ThreadId,
        t: Box<Thread>,
        output: Value,
        text: Option<PayloadText>,
    ) {
        self.s.threads.remove(&tid);
        match t.parent {
            None => {
                // The execution's output is its last state's: that text again.
                let output_text = match text {
                    Some(text) => text,
                    None => PayloadText::of(&output),
                };
                let event = EventKind::ExecutionSucceeded {
                    output: output_text,
                };
                self.end(Status::Succeeded, Some(output), None, None, event);
            }
            Some((pid, slot)) => {
                let Some(mut p) = self.s.threads.remove(&pid) else {
                    return;
                };
                let Phase::Children(mut c) = std::mem::replace(&mut p.phase, Phase::Run) else {
                    self.s.threads.insert(pid, p);
                    return;
                };
                c.running.retain(|&x| x != tid);
                c.results[slot] = output;
                c.done += 1;
                if c.is_map && !t.hidden && !c.distributed {
                    let pst = self.def.state(p.machine, p.state);
                    let StateKind::Map(spec) = &pst.kind else {
                        return;
                    };
                    let name = iteration_name(pst, spec);
                    c.last_iteration_event =
                        self.emit_iteration(t.last_event, IterationEvent::Succeeded, name, slot);
                    p.last_event = t.last_event;
                } else if !c.is_map {
                    p.last_event = p.last_event.max(t.last_event);
                }
                let total = if c.is_map {
                    c.items.len()
                } else {
                    c.results.len()
                };
                if c.done == total {
                    p.phase = Phase::ChildrenDone(c);
                    self.s.threads.insert(pid, p);
                    self.queue.push_front(pid);
                } else {
                    p.phase = Phase::Children(c);
                    self.s.threads.insert(pid, p);
                    self.pump(pid);
                }
            }
        }
    }

    pub(crate) fn thread_failed(
        &mut self,
        tid: ThreadId,
        t: Box<Thread>,
        error: Option<String>,
        cause: Option<String>,
    ) {
        self.s.threads.remove(&tid);
        match t.parent {
            None => {
                self.s.redrive_point = Some(RedrivePoint {
                    state: t.state,
                    input: t.input.clone(),
                    variables: t.variables.clone(),
                });
                // An empty cause (a timeout's) is left out, as AWS does.
                let event = EventKind::ExecutionFailed {
                    error: error.clone(),
                    cause: cause.clone().filter(|c| !c.is_empty()),
                };
                self.end(Status::Failed, None, error, cause, event);
            }
            Some((pid, slot)) => {
                let Some(mut p) = self.s.threads.remove(&pid) else {
                    return;
                };
                let Phase::Children(mut c) = std::mem::replace(&mut p.phase, Phase::Run) else {
                    self.s.threads.insert(pid, p);
                    return;
                };
                c.running.retain(|&x| x != tid);
                let err = error.unwrap_or_default();
                let cause = cause.unwrap_or_default();
                // What follows the failure (the failing iteration's or branch's aborted Task,
                // the siblings stopped, the Map's or Parallel's failure) follows its last event.
                let anchor = t.last_event;
                let pst = self.def.state(p.machine, p.state);
                let map_name = match &pst.kind {
                    StateKind::Map(spec) => Some(iteration_name(pst, spec)),
                    _ => None,
                };
                if c.is_map {
                    if let (false, false, Some(name)) = (t.hidden, c.distributed, &map_name) {
                        let name = name.clone();
                        self.emit_iteration(anchor, IterationEvent::Failed, name, slot);
                        p.last_event = anchor;
                    }
                    c.failures += 1;
                    c.done += 1;
                    c.results[slot] = json!({"Error": err, "Cause": cause});
                    if let Some(r) = c.map_run.as_mut() {
                        r.failed.push(slot);
                    }
                    let total = c.items.len();
                    let tolerated = match (c.tolerated_count, c.tolerated_percentage) {
                        (None, None) => false,
                        (count, pct) => {
                            let by_count = count.is_some_and(|n| c.failures as u64 <= n);
                            let by_pct = pct.is_some_and(|p| {
                                total > 0 && (c.failures as f64) * 100.0 / (total as f64) <= p
                            });
                            by_count || by_pct
                        }
                    };
                    if !tolerated {
                        let failure =
                            if c.tolerated_count.is_some() || c.tolerated_percentage.is_some() {
                                (
                                    errors::EXCEED_TOLERATED_FAILURE_THRESHOLD.to_string(),
                                    "The specified tolerated failure threshold was exceeded"
                                        .to_string(),
                                )
                            } else {
                                (err, cause)
                            };
                        c.failure = Some(failure);
                        self.failed_task_aborted(&t, anchor);
                        let running = std::mem::take(&mut c.running);
                        self.abort_siblings(running, anchor, map_name);
                        p.phase = Phase::ChildrenDone(c);
                        self.s.threads.insert(pid, p);
                        self.queue.push_front(pid);
                    } else if c.done == total {
                        p.phase = Phase::ChildrenDone(c);
                        self.s.threads.insert(pid, p);
                        self.queue.push_front(pid);
                    } else {
                        p.phase = Phase::Children(c);
                        self.s.threads.insert(pid, p);
                        self.pump(pid);
                    }
                } else {
                    if !t.hidden {
                        p.last_event = anchor;
                    }
                    self.failed_task_aborted(&t, anchor);
                    self.abort_siblings(std::mem::take(&mut c.running), anchor, None);
                    c.failure = Some((err, cause));
                    p.phase = Phase::ChildrenDone(c);
                    self.s.threads.insert(pid, p);
                    self.queue.push_front(pid);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "fanout_tests.rs"]
mod tests;

/// The name a Map's iteration events carry: its Label, else the state's name (shared, not
/// copied, per iteration).
fn iteration_name(st: &State, spec: &MapSpec) -> Arc<str> {
    match &spec.label {
        Some(label) => Arc::from(label.as_str()),
        None => st.name.clone(),
    }
}
