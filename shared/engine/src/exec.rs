//! The interpreter proper: threads of execution over the states of a definition.
//!
//! An execution is a tree of threads: the top level, one per running Parallel branch and one per
//! running Map iteration. A thread is at one state, in one [`Phase`]. [`step`] applies an event,
//! then runs every runnable thread until each is blocked (on a task or a timer) or finished, so
//! one step runs as many synchronous states as it can.
//!
//! Scheduling follows what AWS records: Parallel branches advance in turn, one history event each
//! (all branches enter before any exits); Map iterations run one after another, the next starting
//! when the previous finishes or blocks.

// A failing state hands its thread back by value with the failure, so the caller can retry or
// catch without cloning it; the Err variant is large on purpose.
#![allow(clippy::result_large_err)]

use crate::context::{self, StateContext};
use crate::history::HistoryEvent;
use crate::rng::Rng;
use crate::time_fmt::parse_iso;
use crate::{Command, Event, ExecutionInfo, Status, Transition, WaitId};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, VecDeque};
use stepwise_asl::jsonpath::AsPath;
use stepwise_asl::model::{
    Catcher, Condition, Definition, MachineId, MapSpec, QueryLanguage, State, StateId, StateKind,
    ValueOrPath, WaitFor,
};
use stepwise_asl::{payload, EvalError, Scope};

type ThreadId = u32;

/// The most one state's `Assign` may store (256 KiB), as AWS enforces.
const MAX_ASSIGN_BYTES: usize = 256 * 1024;
/// AWS's quota on a state's output, in UTF-8 bytes (256 KiB).
const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// The compact checkpoint of one execution: everything [`step`] needs besides the definition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecutionState {
    /// Identity and start time.
    pub info: ExecutionInfo,
    /// Current status.
    pub status: Status,
    /// The execution input.
    pub input: Value,
    /// The output, once succeeded.
    pub output: Option<Value>,
    /// The error, once failed.
    pub error: Option<String>,
    /// The cause, once failed.
    pub cause: Option<String>,
    /// When it ended.
    pub stop_ms: Option<i64>,
    /// When it was last redriven.
    #[serde(default)]
    pub redrive_ms: Option<i64>,
    /// Id of the last history event.
    pub last_event_id: u64,
    /// State transitions so far (for metering).
    pub transitions: u64,
    /// Where a redrive restarts: the top-level state that was running when the execution
    /// stopped, with its input and variables.
    #[serde(default)]
    redrive_point: Option<RedrivePoint>,
    next_wait: WaitId,
    rng: u64,
    next_thread: ThreadId,
    threads: BTreeMap<ThreadId, Thread>,
    waits: BTreeMap<WaitId, Waiter>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RedrivePoint {
    state: StateId,
    input: Value,
    variables: Map<String, Value>,
}

/// What an outstanding wait id stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Waiter {
    Task(ThreadId),
    TaskTimeout(ThreadId),
    Heartbeat(ThreadId),
    Wait(ThreadId),
    Retry(ThreadId),
    ExecutionTimeout,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Thread {
    machine: MachineId,
    state: StateId,
    /// Parent thread and this thread's slot in it (branch or item index).
    parent: Option<(ThreadId, usize)>,
    /// The current state's raw input.
    input: Value,
    variables: Map<String, Value>,
    phase: Phase,
    entered_event: u64,
    entered_ms: i64,
    last_event: u64,
    /// Attempts so far per retrier of the current state.
    retries: Vec<u32>,
    map_item: Option<(usize, Value)>,
    /// Events of a distributed Map's iterations belong to child executions, not this history.
    hidden: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Phase {
    Enter,
    Run,
    Task(Box<TaskWait>),
    Wait { timer: WaitId },
    Retry { timer: WaitId },
    Children(Box<Children>),
    ChildrenDone(Box<Children>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TaskWait {
    task: WaitId,
    kind: TaskKind,
    token: Option<String>,
    timeout_timer: Option<WaitId>,
    heartbeat_timer: Option<WaitId>,
    heartbeat_s: Option<u64>,
    resource_type: String,
    resource: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum TaskKind {
    /// `arn:aws:states:::service:action` integrations.
    Service,
    /// A Lambda function ARN as the resource.
    LambdaFunction,
    /// An activity ARN.
    Activity,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Children {
    is_map: bool,
    distributed: bool,
    /// The state's effective input (after InputPath/Parameters), for ItemSelector and branches.
    effective: Value,
    items: Vec<Value>,
    results: Vec<Value>,
    done: usize,
    next: usize,
    running: Vec<ThreadId>,
    max_concurrency: usize,
    failures: usize,
    tolerated_count: Option<u64>,
    tolerated_percentage: Option<f64>,
    failure: Option<(String, String)>,
}

/// A failure inside a state.
#[derive(Debug, Clone)]
struct Failure {
    error: String,
    cause: String,
    /// A JSONata evaluation error: AWS records an EvaluationFailed event first.
    evaluation: bool,
}

impl Failure {
    fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            cause: cause.into(),
            evaluation: false,
        }
    }
}

/// The field an evaluation failure happened in (`Output/result`, `Items`), which AWS records as
/// the EvaluationFailed event's `location`: every expression failure names it in its cause.
fn evaluation_location(cause: &str) -> Option<&str> {
    let (_, rest) = cause.split_once("specified for the field '")?;
    rest.split_once('\'').map(|(field, _)| field)
}

/// A state or task (`who`: its name, its integration or its function ARN) produced more than
/// AWS's payload quota.
fn data_limit_exceeded(who: &str) -> Failure {
    Failure::new(
        "States.DataLimitExceeded",
        format!("The state/task '{who}' returned a result with a size exceeding the maximum number of bytes service limit."),
    )
}

/// States.Runtime ends the execution: no Retry or Catch applies. (States.DataLimitExceeded
/// from a task's result is caught, by name and by States.ALL, as AWS records.)
fn terminal(error: &str) -> bool {
    error == "States.Runtime"
}

fn error_matches(list: &[String], error: &str) -> bool {
    if terminal(error) {
        return false;
    }
    // States.TaskFailed matches every error but States.Timeout.
    list.iter().any(|e| {
        e == error || e == "States.ALL" || (e == "States.TaskFailed" && error != "States.Timeout")
    })
}

impl ExecutionState {
    /// A new execution, not yet started: feed it [`Event::Start`].
    pub fn new(info: ExecutionInfo) -> Self {
        let rng = info.seed;
        ExecutionState {
            info,
            status: Status::Running,
            input: Value::Null,
            output: None,
            error: None,
            cause: None,
            stop_ms: None,
            redrive_ms: None,
            redrive_point: None,
            last_event_id: 0,
            transitions: 0,
            next_wait: 1,
            rng,
            next_thread: 0,
            threads: BTreeMap::new(),
            waits: BTreeMap::new(),
        }
    }

    /// Ids of the outstanding waits (tasks and timers); empty once the execution ended.
    pub fn outstanding(&self) -> usize {
        self.waits.len()
    }
}

/// Applies one event to an execution.
///
/// `now_ms` is the time of the event (milliseconds since the Unix epoch); it stamps the history
/// and dates timers. Events for waits that are no longer outstanding (a late timer, a duplicate
/// task result) change nothing.
pub fn step(def: &Definition, state: ExecutionState, now_ms: i64, event: Event) -> Transition {
    let mut e = Engine {
        def,
        s: state,
        now: now_ms,
        history: Vec::new(),
        commands: Vec::new(),
        queue: VecDeque::new(),
    };
    e.apply(event);
    e.run();
    Transition {
        state: e.s,
        history: e.history,
        commands: e.commands,
    }
}

struct Engine<'d> {
    def: &'d Definition,
    s: ExecutionState,
    now: i64,
    history: Vec<HistoryEvent>,
    commands: Vec<Command>,
    queue: VecDeque<ThreadId>,
}

fn to_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

impl<'d> Engine<'d> {
    // ----- bookkeeping -----

    fn emit_raw(&mut self, previous: u64, event_type: &str, details: Option<Value>) -> u64 {
        self.s.last_event_id += 1;
        let id = self.s.last_event_id;
        self.history.push(HistoryEvent {
            id,
            previous_event_id: previous,
            timestamp_ms: self.now,
            event_type: event_type.to_string(),
            details,
        });
        id
    }

    /// Records an event on behalf of a thread (nothing for hidden threads).
    fn emit(&mut self, t: &mut Thread, event_type: &str, details: Option<Value>) -> u64 {
        if t.hidden {
            return t.last_event;
        }
        let id = self.emit_raw(t.last_event, event_type, details);
        t.last_event = id;
        id
    }

    fn new_wait(&mut self, waiter: Waiter) -> WaitId {
        let id = self.s.next_wait;
        self.s.next_wait += 1;
        self.s.waits.insert(id, waiter);
        id
    }

    fn start_timer(&mut self, waiter: Waiter, at_ms: i64) -> WaitId {
        let id = self.new_wait(waiter);
        self.commands.push(Command::StartTimer { timer: id, at_ms });
        id
    }

    fn cancel_wait(&mut self, id: Option<WaitId>) {
        if let Some(id) = id {
            if self.s.waits.remove(&id).is_some() {
                self.commands.push(Command::CancelTimer { timer: id });
            }
        }
    }

    fn new_thread(&mut self, t: Thread) -> ThreadId {
        let id = self.s.next_thread;
        self.s.next_thread += 1;
        self.s.threads.insert(id, t);
        id
    }

    fn rng(&mut self) -> Rng<'_> {
        Rng(&mut self.s.rng)
    }

    // ----- events -----

    fn apply(&mut self, event: Event) {
        if let Event::Redrive { from_state, input } = event {
            self.redrive(from_state, input);
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
            Event::Stop { error, cause } => {
                let mut d = Map::new();
                if let Some(e) = &error {
                    d.insert("error".into(), Value::String(e.clone()));
                }
                if let Some(c) = &cause {
                    d.insert("cause".into(), Value::String(c.clone()));
                }
                self.end(
                    Status::Aborted,
                    None,
                    error,
                    cause,
                    "ExecutionAborted",
                    Some(Value::Object(d)),
                );
            }
        }
    }

    fn start(&mut self, input: Value) {
        if self.s.last_event_id > 0 {
            return; // already started: a redelivered Start
        }
        self.s.input = input.clone();
        let details = json!({
            "input": to_text(&input),
            "inputDetails": {"truncated": false},
            "roleArn": self.s.info.role_arn,
            "stateMachineArn": self.s.info.state_machine_arn,
        });
        self.emit_raw(0, "ExecutionStarted", Some(details));
        if let Some(secs) = self.def.timeout_seconds {
            let at = self.now.saturating_add((secs as i64).saturating_mul(1000));
            self.start_timer(Waiter::ExecutionTimeout, at);
        }
        let root = self.def.root();
        let t = Thread {
            machine: 0,
            state: root.start_at,
            parent: None,
            input,
            variables: Map::new(),
            phase: Phase::Enter,
            entered_event: 0,
            entered_ms: self.now,
            // AWS's first StateEntered follows nothing (previousEventId 0), not ExecutionStarted.
            last_event: 0,
            retries: Vec::new(),
            map_item: None,
            hidden: false,
        };
        let id = self.new_thread(t);
        self.queue.push_back(id);
    }

    fn redrive(&mut self, from_state: Option<String>, input: Option<Value>) {
        if matches!(self.s.status, Status::Running | Status::Succeeded) {
            return;
        }
        let root = self.def.root();
        let point = match (&from_state, &self.s.redrive_point) {
            (Some(name), p) => match root.states.iter().position(|st| &st.name == name) {
                Some(state) => RedrivePoint {
                    state,
                    input: p
                        .as_ref()
                        .map(|p| p.input.clone())
                        .unwrap_or_else(|| self.s.input.clone()),
                    variables: p.as_ref().map(|p| p.variables.clone()).unwrap_or_default(),
                },
                None => return,
            },
            (None, Some(p)) => p.clone(),
            (None, None) => RedrivePoint {
                state: root.start_at,
                input: self.s.input.clone(),
                variables: Map::new(),
            },
        };
        let input = input.unwrap_or(point.input);
        self.s.info.redrive_count += 1;
        self.s.redrive_ms = Some(self.now);
        self.s.status = Status::Running;
        self.s.output = None;
        self.s.error = None;
        self.s.cause = None;
        self.s.stop_ms = None;
        let prev = self.s.last_event_id;
        let id = self.emit_raw(
            prev,
            "ExecutionRedriven",
            Some(json!({"redriveCount": self.s.info.redrive_count})),
        );
        if let Some(secs) = self.def.timeout_seconds {
            let at = self.now.saturating_add((secs as i64).saturating_mul(1000));
            self.start_timer(Waiter::ExecutionTimeout, at);
        }
        let t = Thread {
            machine: 0,
            state: point.state,
            parent: None,
            input,
            variables: point.variables,
            phase: Phase::Enter,
            entered_event: 0,
            entered_ms: self.now,
            last_event: id,
            retries: Vec::new(),
            map_item: None,
            hidden: false,
        };
        let tid = self.new_thread(t);
        self.queue.push_back(tid);
    }

    fn task_outcome(&mut self, task: WaitId, outcome: Result<Value, Failure>) {
        let Some(Waiter::Task(tid)) = self.s.waits.get(&task).cloned() else {
            return;
        };
        self.s.waits.remove(&task);
        let Some(mut t) = self.s.threads.remove(&tid) else {
            return;
        };
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
                _ => st.name.as_str(),
            };
            Err(data_limit_exceeded(who))
        });
        match outcome {
            Ok((output, text)) => {
                let (ty, details) = match w.kind {
                    TaskKind::LambdaFunction => (
                        "LambdaFunctionSucceeded",
                        json!({"output": text, "outputDetails": {"truncated": false}}),
                    ),
                    TaskKind::Activity => (
                        "ActivitySucceeded",
                        json!({"output": text, "outputDetails": {"truncated": false}}),
                    ),
                    TaskKind::Service => (
                        "TaskSucceeded",
                        json!({"resourceType": w.resource_type, "resource": w.resource, "output": text, "outputDetails": {"truncated": false}}),
                    ),
                };
                self.emit(&mut t, ty, Some(details));
                self.finish_with_result(tid, t, output);
            }
            Err(f) => {
                let ty = match w.kind {
                    TaskKind::LambdaFunction => "LambdaFunctionFailed",
                    TaskKind::Activity => "ActivityFailed",
                    TaskKind::Service => "TaskFailed",
                };
                let mut d = json!({"error": f.error, "cause": f.cause});
                if w.kind == TaskKind::Service {
                    d["resourceType"] = json!(w.resource_type);
                    d["resource"] = json!(w.resource);
                }
                self.emit(&mut t, ty, Some(d));
                self.fail_state(tid, t, f);
            }
        }
    }

    fn task_submitted(&mut self, task: WaitId, output: Value) {
        let Some(Waiter::Task(tid)) = self.s.waits.get(&task).cloned() else {
            return;
        };
        let Some(mut t) = self.s.threads.remove(&tid) else {
            return;
        };
        if let Phase::Task(w) = &t.phase {
            let d = json!({"resourceType": w.resource_type, "resource": w.resource, "output": to_text(&output), "outputDetails": {"truncated": false}});
            self.emit(&mut t, "TaskSubmitted", Some(d));
        }
        self.s.threads.insert(tid, t);
    }

    fn task_started(&mut self, task: WaitId, worker_name: Option<String>) {
        let Some(Waiter::Task(tid)) = self.s.waits.get(&task).cloned() else {
            return;
        };
        let Some(mut t) = self.s.threads.remove(&tid) else {
            return;
        };
        if matches!(&t.phase, Phase::Task(w) if w.kind == TaskKind::Activity) {
            // AWS records empty details when the worker gave no name.
            let d = match worker_name {
                Some(w) => json!({ "workerName": w }),
                None => json!({}),
            };
            self.emit(&mut t, "ActivityStarted", Some(d));
        }
        self.s.threads.insert(tid, t);
    }

    fn task_heartbeat(&mut self, task: WaitId) {
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

    fn timer_fired(&mut self, timer: WaitId) {
        let Some(waiter) = self.s.waits.remove(&timer) else {
            return;
        };
        match waiter {
            Waiter::ExecutionTimeout => {
                let d = json!({"error": "States.Timeout", "cause": "The execution timed out"});
                self.end(
                    Status::TimedOut,
                    None,
                    Some("States.Timeout".into()),
                    None,
                    "ExecutionTimedOut",
                    Some(d),
                );
            }
            Waiter::Wait(tid) => {
                let Some(mut t) = self.s.threads.remove(&tid) else {
                    return;
                };
                t.phase = Phase::Run;
                let st = self.def.state(t.machine, t.state);
                // A Wait may Assign: its expressions see the state's input.
                let out = self.wait_output(&t, st).and_then(|out| {
                    self.assign(&t, st, st.assign.as_ref(), &t.input, &[])
                        .map(|vars| (out, vars))
                });
                match out {
                    Ok((out, vars)) => self.exit_state(tid, t, out, vars),
                    Err(f) => self.fail_state(tid, t, f),
                }
            }
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
                let error = if heartbeat {
                    "States.HeartbeatTimeout"
                } else {
                    "States.Timeout"
                };
                let ty = match w.kind {
                    TaskKind::LambdaFunction => "LambdaFunctionTimedOut",
                    TaskKind::Activity => "ActivityTimedOut",
                    TaskKind::Service => "TaskTimedOut",
                };
                // AWS records no cause for a timeout (a Catch still sees "Cause": "").
                let mut d = json!({ "error": error });
                if w.kind == TaskKind::Service {
                    d["resourceType"] = json!(w.resource_type);
                    d["resource"] = json!(w.resource);
                }
                self.emit(&mut t, ty, Some(d));
                self.fail_state(tid, t, Failure::new(error, ""));
            }
            Waiter::Task(_) => {}
        }
    }

    // ----- the run loop -----

    fn run(&mut self) {
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
    fn park(&mut self, tid: ThreadId, t: Thread) {
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

    fn tick(&mut self, tid: ThreadId, mut t: Thread) {
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

    // ----- evaluation helpers -----

    fn context(&self, t: &Thread, st: &State, token: Option<&str>) -> Value {
        self.context_with(
            t,
            st,
            token,
            t.map_item.as_ref().map(|(i, v)| (*i, v)),
            true,
        )
    }

    /// The Context object; `include_input` false leaves out `Execution.Input`, which can be
    /// large and which most references do not read.
    fn context_with(
        &self,
        t: &Thread,
        st: &State,
        token: Option<&str>,
        map_item: Option<(usize, &Value)>,
        include_input: bool,
    ) -> Value {
        context::build(
            &self.s.info,
            include_input.then_some(&self.s.input),
            &StateContext {
                name: &st.name,
                entered_ms: t.entered_ms,
                retry_count: Some(t.retries.iter().sum())
                    .filter(|n| *n > 0 || matches!(st.kind, StateKind::Task { .. })),
                task_token: token,
                map_item,
            },
        )
    }

    /// Prefixes a failure's cause as AWS does for errors raised while evaluating a state.
    fn in_state(&self, t: &Thread, st: &State, e: EvalError) -> Failure {
        let evaluation = e.error == "States.QueryEvaluationError";
        Failure {
            cause: format!(
                "An error occurred while executing the state '{}' (entered at the event id #{}). {}",
                st.name, t.entered_event, e.cause
            ),
            error: e.error,
            evaluation,
        }
    }

    fn jsonpath_template(
        &mut self,
        t: &Thread,
        st: &State,
        template: &Value,
        input: &Value,
        token: Option<&str>,
    ) -> Result<Value, Failure> {
        self.jsonpath_template_item(
            t,
            st,
            template,
            input,
            token,
            t.map_item.as_ref().map(|(i, v)| (*i, v)),
        )
    }

    /// A payload template, with `$$.Map.Item` set to `map_item` (ItemSelector).
    fn jsonpath_template_item(
        &mut self,
        t: &Thread,
        st: &State,
        template: &Value,
        input: &Value,
        token: Option<&str>,
        map_item: Option<(usize, &Value)>,
    ) -> Result<Value, Failure> {
        let ctx = match context::needs(template) {
            context::Need::Nothing => Value::Null,
            need => self.context_with(t, st, token, map_item, need == context::Need::Everything),
        };
        let scope = Scope {
            input,
            context: &ctx,
            variables: &t.variables,
        };
        let mut rng = Rng(&mut self.s.rng);
        payload::evaluate_template(template, &scope, &mut rng).map_err(|e| self.in_state(t, st, e))
    }

    /// A field that takes a reference path or an intrinsic function call (ErrorPath, CausePath).
    fn path_field(
        &mut self,
        t: &Thread,
        st: &State,
        field: &str,
        expr: &str,
        input: &Value,
    ) -> Result<Value, Failure> {
        let ctx = if expr.contains("$$") {
            self.context(t, st, None)
        } else {
            Value::Null
        };
        let scope = Scope {
            input,
            context: &ctx,
            variables: &t.variables,
        };
        let mut rng = Rng(&mut self.s.rng);
        payload::evaluate_path_field(field, expr, &scope, &mut rng)
            .map_err(|e| self.in_state(t, st, e))
    }

    fn jsonpath_select<P: AsPath + ?Sized>(
        &self,
        t: &Thread,
        st: &State,
        field: &str,
        path: Option<&P>,
        input: &Value,
    ) -> Result<Value, Failure> {
        if path.is_some_and(|p| p.text() == "$") {
            return Ok(input.clone());
        }
        let ctx = match path {
            Some(p) if p.text().starts_with("$$") => self.context(t, st, None),
            _ => Value::Null,
        };
        let scope = Scope {
            input,
            context: &ctx,
            variables: &t.variables,
        };
        payload::select(field, path, &scope).map_err(|e| self.in_state(t, st, e))
    }

    fn jsonata_bindings(
        &self,
        t: &Thread,
        st: &State,
        extra: &[(&str, &Value)],
        token: Option<&str>,
    ) -> Map<String, Value> {
        let mut states = Map::new();
        states.insert("input".into(), t.input.clone());
        states.insert("context".into(), self.context(t, st, token));
        for (k, v) in extra {
            states.insert((*k).to_string(), (*v).clone());
        }
        let mut b = t.variables.clone();
        b.insert("states".into(), Value::Object(states));
        b
    }

    fn jsonata_value(
        &mut self,
        t: &Thread,
        st: &State,
        value: &Value,
        bindings: &Map<String, Value>,
        field: &str,
    ) -> Result<Value, Failure> {
        let mut rng = Rng(&mut self.s.rng);
        jsonata_template(value, bindings, &mut rng, field).map_err(|e| self.in_state(t, st, e))
    }

    /// Evaluates `Assign` with the variables from before the state and returns the new set.
    fn assign(
        &mut self,
        t: &Thread,
        st: &State,
        assign: Option<&Value>,
        input: &Value,
        extra: &[(&str, &Value)],
    ) -> Result<Option<Map<String, Value>>, Failure> {
        let Some(assign) = assign else {
            return Ok(None);
        };
        let Value::Object(fields) = assign else {
            return Ok(None);
        };
        let mut out = Map::new();
        if st.query_language == QueryLanguage::Jsonata {
            let b = self.jsonata_bindings(t, st, extra, None);
            for (k, v) in fields {
                let val = self.jsonata_value(t, st, v, &b, &format!("Assign/{k}"))?;
                out.insert(k.clone(), val);
            }
        } else {
            let evaluated = self.jsonpath_template(t, st, assign, input, None)?;
            if let Value::Object(m) = evaluated {
                out = m;
            }
        }
        // AWS bounds what one state may assign.
        let total: usize = out.values().map(|v| to_text(v).len()).sum();
        if total > MAX_ASSIGN_BYTES {
            return Err(self.in_state(
                t,
                st,
                EvalError {
                    error: "States.DataLimitExceeded".into(),
                    cause: format!(
                        "The variables assigned by this state ({total} bytes) exceed the limit of {MAX_ASSIGN_BYTES} bytes."
                    ),
                },
            ));
        }
        Ok(Some(out))
    }

    // ----- states -----

    fn run_state(&mut self, tid: ThreadId, t: Thread, st: &'d State) {
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

    /// InputPath and Parameters (JSONPath) or Arguments (JSONata).
    fn effective_input(
        &mut self,
        t: &Thread,
        st: &State,
        token: Option<&str>,
    ) -> Result<Value, Failure> {
        if st.query_language == QueryLanguage::Jsonata {
            return match &st.parameters {
                Some(args) => {
                    let b = self.jsonata_bindings(t, st, &[], token);
                    self.jsonata_value(t, st, args, &b, "Arguments")
                }
                None => Ok(t.input.clone()),
            };
        }
        let selected =
            self.jsonpath_select(t, st, "InputPath", st.input_path.as_ref(), &t.input)?;
        match &st.parameters {
            Some(p) => self.jsonpath_template(t, st, p, &selected, token),
            None => Ok(selected),
        }
    }

    fn run_pass(
        &mut self,
        tid: ThreadId,
        t: Thread,
        st: &State,
        result: Option<&Value>,
    ) -> Result<(), (Thread, Failure)> {
        if st.query_language == QueryLanguage::Jsonata {
            let b = self.jsonata_bindings(&t, st, &[], None);
            let out = match &st.output {
                Some(o) => self.jsonata_value(&t, st, o, &b, "Output"),
                None => Ok(t.input.clone()),
            };
            let out = match out {
                Ok(o) => o,
                Err(f) => return Err((t, f)),
            };
            let vars = match self.assign(&t, st, st.assign.as_ref(), &t.input, &[]) {
                Ok(v) => v,
                Err(f) => return Err((t, f)),
            };
            self.exit_state(tid, t, out, vars);
            return Ok(());
        }
        // With a Result and nothing to evaluate, the effective input would only be thrown away.
        let trivial_input = st.input_path.as_deref() == Some("$") && st.parameters.is_none();
        let result = match result {
            Some(r) if trivial_input => r.clone(),
            _ => {
                let effective = match self.effective_input(&t, st, None) {
                    Ok(v) => v,
                    Err(f) => return Err((t, f)),
                };
                result.cloned().unwrap_or(effective)
            }
        };
        self.finish_jsonpath(tid, t, st, result)
    }

    /// ResultSelector, Assign, ResultPath, OutputPath, then leave the state.
    fn finish_jsonpath(
        &mut self,
        tid: ThreadId,
        t: Thread,
        st: &State,
        result: Value,
    ) -> Result<(), (Thread, Failure)> {
        let result = match &st.result_selector {
            Some(sel) => match self.jsonpath_template(&t, st, sel, &result, None) {
                Ok(v) => v,
                Err(f) => return Err((t, f)),
            },
            None => result,
        };
        let vars = match self.assign(&t, st, st.assign.as_ref(), &result, &[]) {
            Ok(v) => v,
            Err(f) => return Err((t, f)),
        };
        let mut t = t;
        // The state's input is not needed once merged: move it rather than copy a large payload.
        let merged = match st.result_path.as_ref() {
            None => std::mem::take(&mut t.input),
            Some(p) if p == "$" => result,
            Some(p) => {
                let mut base = std::mem::take(&mut t.input);
                match stepwise_asl::jsonpath::set(&mut base, p, result) {
                    Ok(()) => base,
                    Err(e) => {
                        t.input = base;
                        let f = self.in_state(&t, st, e);
                        return Err((t, f));
                    }
                }
            }
        };
        // OutputPath, like everything else in the state, sees the variables as they were when
        // the state was entered: what it assigns takes effect when it is left.
        let out = match st.output_path.as_ref() {
            Some(p) if p == "$" => merged,
            p => match self.jsonpath_select(&t, st, "OutputPath", p, &merged) {
                Ok(v) => v,
                Err(f) => return Err((t, f)),
            },
        };
        self.exit_state(tid, t, out, vars);
        Ok(())
    }

    /// Task/Map/Parallel got their result: process it as the state's language says.
    fn finish_with_result(&mut self, tid: ThreadId, t: Thread, result: Value) {
        let st = self.def.state(t.machine, t.state);
        if st.query_language == QueryLanguage::Jsonata {
            let b = self.jsonata_bindings(&t, st, &[("result", &result)], None);
            let out = match &st.output {
                Some(o) => self.jsonata_value(&t, st, o, &b, "Output"),
                None => Ok(result.clone()),
            };
            let vars = out.and_then(|o| {
                self.assign(&t, st, st.assign.as_ref(), &t.input, &[("result", &result)])
                    .map(|v| (o, v))
            });
            match vars {
                Ok((o, v)) => self.exit_state(tid, t, o, v),
                Err(f) => self.fail_state(tid, t, f),
            }
            return;
        }
        if let Err((t, f)) = self.finish_jsonpath(tid, t, st, result) {
            self.fail_state(tid, t, f);
        }
    }

    /// Records the exit and moves to the next state, or ends the thread.
    fn exit_state(
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

    fn goto(&mut self, tid: ThreadId, mut t: Thread, next: Option<StateId>, output: Value) {
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

    fn run_choice(
        &mut self,
        tid: ThreadId,
        t: Thread,
        st: &State,
    ) -> Result<(), (Thread, Failure)> {
        let StateKind::Choice { choices, default } = &st.kind else {
            return Ok(());
        };
        let jsonata = st.query_language == QueryLanguage::Jsonata;
        let effective = if jsonata {
            t.input.clone()
        } else {
            match self.jsonpath_select(&t, st, "InputPath", st.input_path.as_ref(), &t.input) {
                Ok(v) => v,
                Err(f) => return Err((t, f)),
            }
        };
        let ctx = self.context(&t, st, None);
        let mut chosen = None;
        for (i, c) in choices.iter().enumerate() {
            let holds = match &c.condition {
                Condition::Rule(rule) => {
                    let scope = Scope {
                        input: &effective,
                        context: &ctx,
                        variables: &t.variables,
                    };
                    rule.evaluate(&scope).map_err(|e| self.in_state(&t, st, e))
                }
                Condition::Jsonata(cond) => {
                    let b = self.jsonata_bindings(&t, st, &[], None);
                    match self.jsonata_value(&t, st, cond, &b, &format!("Choices/{i}/Condition")) {
                        Ok(Value::Bool(b)) => Ok(b),
                        Ok(other) => Err(self.in_state(
                            &t,
                            st,
                            EvalError::query(format!(
                                "The Condition field of the choice rule at index {i} must evaluate to a boolean, but got: {}",
                                to_text(&other)
                            )),
                        )),
                        Err(f) => Err(f),
                    }
                }
            };
            match holds {
                Ok(true) => {
                    chosen = Some(c);
                    break;
                }
                Ok(false) => {}
                Err(f) => return Err((t, f)),
            }
        }
        let (next, assign, output) = match chosen {
            Some(c) => (
                c.next,
                c.assign.as_ref().or(st.assign.as_ref()),
                c.output.as_ref().or(st.output.as_ref()),
            ),
            None => match default {
                Some(d) => (*d, st.assign.as_ref(), st.output.as_ref()),
                None => {
                    return Err((t, Failure::new("States.NoChoiceMatched", "No Matches!")));
                }
            },
        };
        let vars = match self.assign(&t, st, assign, &effective, &[]) {
            Ok(v) => v,
            Err(f) => return Err((t, f)),
        };
        let out = if jsonata {
            match output {
                Some(o) => {
                    let b = self.jsonata_bindings(&t, st, &[], None);
                    match self.jsonata_value(&t, st, o, &b, "Output") {
                        Ok(v) => v,
                        Err(f) => return Err((t, f)),
                    }
                }
                None => effective,
            }
        } else {
            let mut tv = t.variables.clone();
            if let Some(v) = &vars {
                tv.extend(v.clone());
            }
            let ctx = Value::Null;
            let scope = Scope {
                input: &effective,
                context: &ctx,
                variables: &tv,
            };
            match st.output_path.as_ref() {
                Some(p) if p == "$" => effective.clone(),
                p => match payload::select("OutputPath", p, &scope) {
                    Ok(v) => v,
                    Err(e) => {
                        let f = self.in_state(&t, st, e);
                        return Err((t, f));
                    }
                },
            }
        };
        self.exit_to(tid, t, st, out, vars, Some(next));
        Ok(())
    }

    /// Like [`Self::exit_state`] with an explicit next state (Choice, Catch).
    fn exit_to(
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

    fn wait_output(&mut self, t: &Thread, st: &State) -> Result<Value, Failure> {
        if st.query_language == QueryLanguage::Jsonata {
            return match &st.output {
                Some(o) => {
                    let b = self.jsonata_bindings(t, st, &[], None);
                    self.jsonata_value(t, st, o, &b, "Output")
                }
                None => Ok(t.input.clone()),
            };
        }
        let selected =
            self.jsonpath_select(t, st, "InputPath", st.input_path.as_ref(), &t.input)?;
        self.jsonpath_select(t, st, "OutputPath", st.output_path.as_ref(), &selected)
    }

    fn run_wait(
        &mut self,
        tid: ThreadId,
        mut t: Thread,
        st: &State,
        w: &WaitFor,
    ) -> Result<(), (Thread, Failure)> {
        let due = match self.wait_due(&t, st, w) {
            Ok(d) => d,
            Err(f) => return Err((t, f)),
        };
        let timer = self.start_timer(Waiter::Wait(tid), due);
        t.phase = Phase::Wait { timer };
        self.park(tid, t);
        Ok(())
    }

    fn wait_due(&mut self, t: &Thread, st: &State, w: &WaitFor) -> Result<i64, Failure> {
        let jsonata = st.query_language == QueryLanguage::Jsonata;
        let effective = if jsonata {
            t.input.clone()
        } else {
            self.jsonpath_select(t, st, "InputPath", st.input_path.as_ref(), &t.input)?
        };
        let rt = |s: &Self, msg: String| s.in_state(t, st, EvalError::runtime(msg));
        let qe = |s: &Self, msg: String| s.in_state(t, st, EvalError::query(msg));
        match w {
            WaitFor::Seconds(v) | WaitFor::Timestamp(v) if jsonata => {
                let b = self.jsonata_bindings(t, st, &[], None);
                let is_seconds = matches!(w, WaitFor::Seconds(_));
                let field = if is_seconds { "Seconds" } else { "Timestamp" };
                let val = self.jsonata_value(t, st, v, &b, field)?;
                if is_seconds {
                    match val.as_i64() {
                        Some(n) if n >= 0 => Ok(self.now.saturating_add(n.saturating_mul(1000))),
                        _ => Err(qe(
                            self,
                            format!(
                                "The Seconds field must be a non-negative integer, but got: {}",
                                to_text(&val)
                            ),
                        )),
                    }
                } else {
                    let s = val.as_str().unwrap_or_default().to_string();
                    parse_iso(&s).ok_or_else(|| {
                        qe(self, format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {s}"))
                    })
                }
            }
            WaitFor::Seconds(v) => Ok(self
                .now
                .saturating_add(v.as_i64().unwrap_or(0).saturating_mul(1000))),
            WaitFor::Timestamp(v) => {
                let s = v.as_str().unwrap_or_default();
                parse_iso(s)
                    .ok_or_else(|| rt(self, format!("The Timestamp field cannot be parsed: {s}")))
            }
            WaitFor::SecondsPath(p) => {
                let v = self.jsonpath_select(t, st, "SecondsPath", Some(p), &effective)?;
                match v.as_i64().or_else(|| v.as_u64().map(|n| n as i64)) {
                    Some(n) if n < 0 => Err(rt(
                        self,
                        format!(
                            "The SecondsPath parameter references a negative value: {p} == {}",
                            to_text(&v)
                        ),
                    )),
                    Some(n) => Ok(self.now.saturating_add(n.saturating_mul(1000))),
                    None => Err(rt(
                        self,
                        format!(
                            "The SecondsPath parameter cannot be parsed as a long value: {p} == {}",
                            to_text(&v)
                        ),
                    )),
                }
            }
            WaitFor::TimestampPath(p) => {
                let v = self.jsonpath_select(t, st, "TimestampPath", Some(p), &effective)?;
                let s = match &v {
                    Value::String(s) => s.clone(),
                    other => to_text(other),
                };
                parse_iso(&s).ok_or_else(|| {
                    rt(self, format!("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {p} == {s}"))
                })
            }
        }
    }

    fn run_succeed(
        &mut self,
        tid: ThreadId,
        t: Thread,
        st: &State,
    ) -> Result<(), (Thread, Failure)> {
        match self.wait_output(&t, st) {
            Ok(out) => {
                self.exit_state(tid, t, out, None);
                Ok(())
            }
            Err(f) => Err((t, f)),
        }
    }

    fn run_fail(&mut self, tid: ThreadId, t: Thread, st: &State) -> Result<(), (Thread, Failure)> {
        let StateKind::Fail { error, cause } = &st.kind else {
            return Ok(());
        };
        let field = |this: &mut Self,
                     f: &Option<ValueOrPath>,
                     name: &str|
         -> Result<Option<String>, Failure> {
            match f {
                None => Ok(None),
                Some(ValueOrPath::Value(v)) if st.query_language == QueryLanguage::Jsonata => {
                    let b = this.jsonata_bindings(&t, st, &[], None);
                    let v = this.jsonata_value(&t, st, v, &b, name)?;
                    Ok(Some(match v {
                        Value::String(s) => s,
                        other => to_text(&other),
                    }))
                }
                Some(ValueOrPath::Value(v)) => Ok(v.as_str().map(str::to_string)),
                Some(ValueOrPath::Path(p)) => {
                    // ErrorPath and CausePath take a reference path or an intrinsic function.
                    let v = this.path_field(&t, st, &format!("{name}Path"), p, &t.input)?;
                    Ok(Some(match v {
                        Value::String(s) => s,
                        other => to_text(&other),
                    }))
                }
            }
        };
        let e = field(self, error, "Error");
        let c = e.and_then(|e| field(self, cause, "Cause").map(|c| (e, c)));
        match c {
            Ok((e, c)) => {
                self.thread_failed(tid, t, e, c);
                Ok(())
            }
            Err(f) => Err((t, f)),
        }
    }

    fn numeric_field(
        &mut self,
        t: &Thread,
        st: &State,
        f: &Option<ValueOrPath>,
        name: &str,
        input: &Value,
    ) -> Result<Option<Value>, Failure> {
        match f {
            None => Ok(None),
            Some(ValueOrPath::Value(v)) if st.query_language == QueryLanguage::Jsonata => {
                let b = self.jsonata_bindings(t, st, &[], None);
                self.jsonata_value(t, st, v, &b, name).map(Some)
            }
            Some(ValueOrPath::Value(v)) => Ok(Some(v.clone())),
            Some(ValueOrPath::Path(p)) => {
                let v = self.jsonpath_select(t, st, &format!("{name}Path"), Some(p), input)?;
                Ok(Some(v))
            }
        }
    }

    fn positive_seconds(
        &mut self,
        t: &Thread,
        st: &State,
        f: &Option<ValueOrPath>,
        name: &str,
        input: &Value,
    ) -> Result<Option<u64>, Failure> {
        let v = self.numeric_field(t, st, f, name, input)?;
        match v {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(self.in_state(t, st, not_valid(name, "integer", &v, f))),
            },
        }
    }

    fn run_task(
        &mut self,
        tid: ThreadId,
        mut t: Thread,
        st: &State,
    ) -> Result<(), (Thread, Failure)> {
        let StateKind::Task {
            resource,
            timeout_seconds,
            heartbeat_seconds,
            credentials,
        } = &st.kind
        else {
            return Ok(());
        };
        let wait_for_token = resource.waits_for_task_token();
        let kind = if resource.is_lambda_function() {
            TaskKind::LambdaFunction
        } else if resource.is_activity() {
            TaskKind::Activity
        } else {
            TaskKind::Service
        };
        let token = if wait_for_token || kind == TaskKind::Activity {
            Some(self.rng().uuid())
        } else {
            None
        };
        let params = match self.effective_input(&t, st, token.as_deref()) {
            Ok(v) => v,
            Err(f) => return Err((t, f)),
        };
        let timeout = match self.positive_seconds(
            &t,
            st,
            timeout_seconds,
            "TimeoutSeconds",
            &t.input.clone(),
        ) {
            Ok(v) => v,
            Err(f) => return Err((t, f)),
        };
        let heartbeat = match self.positive_seconds(
            &t,
            st,
            heartbeat_seconds,
            "HeartbeatSeconds",
            &t.input.clone(),
        ) {
            Ok(v) => v,
            Err(f) => return Err((t, f)),
        };
        // The role the task runs as: AWS records it on the scheduled event.
        let role_arn = match credentials {
            None => None,
            Some(c) => {
                let evaluated = if st.query_language == QueryLanguage::Jsonata {
                    let b = self.jsonata_bindings(&t, st, &[], token.as_deref());
                    self.jsonata_value(&t, st, c, &b, "Credentials")
                } else {
                    self.jsonpath_template(&t, st, c, &t.input, token.as_deref())
                };
                match evaluated {
                    Ok(v) => v.get("RoleArn").cloned(),
                    Err(f) => return Err((t, f)),
                }
            }
        };
        let (resource_type, short) = resource.history_parts();
        let task = self.new_wait(Waiter::Task(tid));
        match kind {
            TaskKind::Service => {
                let mut d = json!({"resourceType": resource_type, "resource": short, "region": resource.region().unwrap_or("us-east-1"), "parameters": to_text(&params)});
                if let Some(s) = timeout {
                    d["timeoutInSeconds"] = json!(s);
                }
                if let Some(s) = heartbeat {
                    d["heartbeatInSeconds"] = json!(s);
                }
                if let Some(r) = &role_arn {
                    d["taskCredentials"] = json!({ "roleArn": r });
                }
                self.emit(&mut t, "TaskScheduled", Some(d));
                self.emit(
                    &mut t,
                    "TaskStarted",
                    Some(json!({"resourceType": resource_type, "resource": short})),
                );
            }
            TaskKind::LambdaFunction => {
                let mut d = json!({"resource": resource, "input": to_text(&params), "inputDetails": {"truncated": false}});
                if let Some(s) = timeout {
                    d["timeoutInSeconds"] = json!(s);
                }
                if let Some(r) = &role_arn {
                    d["taskCredentials"] = json!({ "roleArn": r });
                }
                self.emit(&mut t, "LambdaFunctionScheduled", Some(d));
                self.emit(&mut t, "LambdaFunctionStarted", None);
            }
            TaskKind::Activity => {
                let mut d = json!({"resource": resource, "input": to_text(&params), "inputDetails": {"truncated": false}});
                if let Some(s) = timeout {
                    d["timeoutInSeconds"] = json!(s);
                }
                if let Some(s) = heartbeat {
                    d["heartbeatInSeconds"] = json!(s);
                }
                self.emit(&mut t, "ActivityScheduled", Some(d));
            }
        }
        // Without TimeoutSeconds a callback or activity task waits up to a year, as on AWS; a
        // plain invocation is bounded by the invoker.
        let timeout_timer = timeout.map(|s| {
            self.start_timer(
                Waiter::TaskTimeout(tid),
                self.now.saturating_add(s as i64 * 1000),
            )
        });
        let heartbeat_timer = heartbeat.map(|s| {
            self.start_timer(
                Waiter::Heartbeat(tid),
                self.now.saturating_add(s as i64 * 1000),
            )
        });
        self.commands.push(Command::InvokeTask {
            task,
            state_name: st.name.clone(),
            resource: resource.clone(),
            parameters: params,
            task_token: token.clone(),
            heartbeat_seconds: heartbeat,
            timeout_seconds: timeout,
        });
        t.phase = Phase::Task(Box::new(TaskWait {
            task,
            kind,
            token,
            timeout_timer,
            heartbeat_timer,
            heartbeat_s: heartbeat,
            resource_type,
            resource: short,
        }));
        self.park(tid, t);
        Ok(())
    }

    fn run_parallel(
        &mut self,
        tid: ThreadId,
        mut t: Thread,
        st: &State,
        branches: &[MachineId],
    ) -> Result<(), (Thread, Failure)> {
        let effective = match self.effective_input(&t, st, None) {
            Ok(v) => v,
            Err(f) => return Err((t, f)),
        };
        self.emit(&mut t, "ParallelStateStarted", None);
        let mut c = Children {
            is_map: false,
            distributed: false,
            effective: effective.clone(),
            items: Vec::new(),
            results: vec![Value::Null; branches.len()],
            done: 0,
            next: branches.len(),
            running: Vec::new(),
            max_concurrency: 0,
            failures: 0,
            tolerated_count: None,
            tolerated_percentage: None,
            failure: None,
        };
        let mut spawned = Vec::new();
        for (i, &m) in branches.iter().enumerate() {
            let child = Thread {
                machine: m,
                state: self.def.machines[m].start_at,
                parent: Some((tid, i)),
                input: effective.clone(),
                variables: t.variables.clone(),
                phase: Phase::Enter,
                entered_event: 0,
                entered_ms: self.now,
                last_event: t.last_event,
                retries: Vec::new(),
                map_item: None,
                hidden: t.hidden,
            };
            let id = self.new_thread(child);
            c.running.push(id);
            spawned.push(id);
        }
        let empty = branches.is_empty();
        t.phase = if empty {
            Phase::ChildrenDone(Box::new(c))
        } else {
            Phase::Children(Box::new(c))
        };
        self.s.threads.insert(tid, t);
        if empty {
            self.queue.push_front(tid);
        }
        for id in spawned {
            self.queue.push_back(id);
        }
        Ok(())
    }

    fn map_setting(
        &mut self,
        t: &Thread,
        st: &State,
        f: &Option<ValueOrPath>,
        name: &str,
        input: &Value,
    ) -> Result<Option<Value>, Failure> {
        self.numeric_field(t, st, f, name, input)
    }

    fn run_map(
        &mut self,
        tid: ThreadId,
        mut t: Thread,
        st: &State,
        spec: &MapSpec,
    ) -> Result<(), (Thread, Failure)> {
        let jsonata = st.query_language == QueryLanguage::Jsonata;
        let effective = match self.effective_input(&t, st, None) {
            Ok(v) => v,
            Err(f) => return Err((t, f)),
        };
        let items = if jsonata {
            match &spec.items {
                Some(v) => {
                    let b = self.jsonata_bindings(&t, st, &[], None);
                    self.jsonata_value(&t, st, v, &b, "Items")
                }
                None => Ok(effective.clone()),
            }
        } else {
            match spec.items_path.as_ref() {
                Some(p) => self.jsonpath_select(&t, st, "ItemsPath", Some(p), &effective),
                None => Ok(effective.clone()),
            }
        };
        let items = match items {
            Ok(Value::Array(a)) => a,
            Ok(other) => {
                let error = match (&spec.items, jsonata) {
                    // An `Items` expression is named with the type it returned.
                    (Some(Value::String(text)), true) => {
                        let expr = stepwise_asl::jsonata::is_template(text).unwrap_or(text);
                        stepwise_asl::jsonata::unexpected_type(expr, "Items", "array", &other)
                    }
                    (_, true) => EvalError::query(format!(
                        "Map state input must be an array but was: {}",
                        to_text(&other)
                    )),
                    (_, false) => EvalError::runtime(format!(
                        "Map state input must be an array but was: {}",
                        to_text(&other)
                    )),
                };
                let f = self.in_state(&t, st, error);
                return Err((t, f));
            }
            Err(f) => return Err((t, f)),
        };
        let max =
            match self.map_setting(&t, st, &spec.max_concurrency, "MaxConcurrency", &effective) {
                Ok(v) => v,
                Err(f) => return Err((t, f)),
            };
        let max_concurrency = match max {
            None => 0,
            Some(v) => match as_count(&v) {
                Some(n) => n as usize,
                None => {
                    let f = self.in_state(
                        &t,
                        st,
                        not_valid("MaxConcurrency", "integer", &v, &spec.max_concurrency),
                    );
                    return Err((t, f));
                }
            },
        };
        self.emit(
            &mut t,
            "MapStateStarted",
            Some(json!({"length": items.len()})),
        );
        let tolerated_count = match self.map_setting(
            &t,
            st,
            &spec.tolerated_failure_count,
            "ToleratedFailureCount",
            &effective,
        ) {
            Ok(None) => None,
            Ok(Some(v)) => match as_count(&v) {
                Some(n) => Some(n),
                // A negative integer is an integer: AWS names the range, not the type.
                None if as_integer(&v).is_some_and(|n| n < 0) => {
                    let f = self.in_state(
                        &t,
                        st,
                        EvalError::runtime("ToleratedFailureCount cannot be negative."),
                    );
                    return Err((t, f));
                }
                None => {
                    let f = self.in_state(
                        &t,
                        st,
                        not_valid(
                            "ToleratedFailureCount",
                            "integer",
                            &v,
                            &spec.tolerated_failure_count,
                        ),
                    );
                    return Err((t, f));
                }
            },
            Err(f) => return Err((t, f)),
        };
        let tolerated_percentage = match self.map_setting(
            &t,
            st,
            &spec.tolerated_failure_percentage,
            "ToleratedFailurePercentage",
            &effective,
        ) {
            Ok(None) => None,
            Ok(Some(v)) => match v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            {
                Some(p) if (0.0..=100.0).contains(&p) => Some(p),
                // The type is checked before the range.
                None => {
                    let f = self.in_state(
                        &t,
                        st,
                        not_valid(
                            "ToleratedFailurePercentage",
                            "float",
                            &v,
                            &spec.tolerated_failure_percentage,
                        ),
                    );
                    return Err((t, f));
                }
                Some(_) => {
                    let f = self.in_state(
                        &t,
                        st,
                        EvalError::runtime("ToleratedFailurePercentage must be between 0 and 100."),
                    );
                    return Err((t, f));
                }
            },
            Err(f) => return Err((t, f)),
        };
        let distributed = self.def.machines[spec.processor].distributed;
        if distributed {
            let arn = format!(
                "{}/{}",
                self.s.info.execution_arn.replace(":execution:", ":mapRun:"),
                uuid_short(&mut self.rng())
            );
            self.emit(&mut t, "MapRunStarted", Some(json!({"mapRunArn": arn})));
        }
        let n = items.len();
        let c = Children {
            is_map: true,
            distributed,
            effective,
            items,
            results: vec![Value::Null; n],
            done: 0,
            next: 0,
            running: Vec::new(),
            max_concurrency,
            failures: 0,
            tolerated_count,
            tolerated_percentage,
            failure: None,
        };
        t.phase = Phase::Children(Box::new(c));
        self.s.threads.insert(tid, t);
        self.pump(tid);
        Ok(())
    }

    /// Starts the next Map iteration if the concurrency limit and the running iterations allow,
    /// or marks the Map done when every iteration has finished.
    fn pump(&mut self, tid: ThreadId) {
        let Some(mut t) = self.s.threads.remove(&tid) else {
            return;
        };
        let Phase::Children(mut c) = std::mem::replace(&mut t.phase, Phase::Run) else {
            self.s.threads.insert(tid, t);
            return;
        };
        if !c.is_map {
            t.phase = Phase::Children(c);
            self.s.threads.insert(tid, t);
            return;
        }
        if c.done == c.items.len() || c.failure.is_some() && c.running.is_empty() {
            t.phase = Phase::ChildrenDone(c);
            self.s.threads.insert(tid, t);
            self.queue.push_front(tid);
            return;
        }
        // Start one iteration when no started one is still running synchronously.
        let busy = c.running.iter().any(|id| {
            self.s.threads.get(id).is_none_or(|ct| {
                matches!(ct.phase, Phase::Enter | Phase::Run | Phase::ChildrenDone(_))
            })
        });
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
        let input = match &spec.item_selector {
            Some(sel) => {
                let r = if st.query_language == QueryLanguage::Jsonata {
                    let mut b = self.jsonata_bindings(&t, st, &[], None);
                    if let Some(Value::Object(states)) = b.get_mut("states") {
                        if let Some(Value::Object(ctx)) = states.get_mut("context") {
                            ctx.insert(
                                "Map".into(),
                                json!({"Item": {"Index": index, "Value": item}}),
                            );
                        }
                    }
                    self.jsonata_value(&t, st, sel, &b, "ItemSelector")
                } else {
                    self.jsonpath_template_item(
                        &t,
                        st,
                        sel,
                        &c.effective,
                        None,
                        Some((index, &item)),
                    )
                };
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
        let mut child = Thread {
            machine: spec.processor,
            state: self.def.machines[spec.processor].start_at,
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
            entered_ms: self.now,
            last_event: t.last_event,
            retries: Vec::new(),
            map_item: None,
            hidden,
        };
        let name = spec.label.clone().unwrap_or_else(|| st.name.clone());
        if !hidden {
            let id = self.emit_raw(
                t.last_event,
                "MapIterationStarted",
                Some(json!({"name": name, "index": index})),
            );
            child.last_event = id;
            t.last_event = id;
        }
        let cid = self.new_thread(child);
        c.running.push(cid);
        t.phase = Phase::Children(c);
        self.s.threads.insert(tid, t);
        self.queue.push_front(cid);
    }

    fn fail_children_then_state(&mut self, tid: ThreadId, mut t: Thread, f: Failure) {
        if let Phase::Children(c) = std::mem::replace(&mut t.phase, Phase::Run) {
            for id in c.running {
                self.cancel_thread(id);
            }
        }
        self.fail_state(tid, t, f);
    }

    /// Removes a thread and everything under it, cancelling its tasks and timers.
    fn cancel_thread(&mut self, tid: ThreadId) {
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

    fn children_done(&mut self, tid: ThreadId, mut t: Thread, c: Children) {
        let st = self.def.state(t.machine, t.state);
        if let Some((error, cause)) = c.failure {
            if c.is_map && c.distributed {
                self.emit(
                    &mut t,
                    "MapRunFailed",
                    Some(json!({"error": error, "cause": cause})),
                );
            }
            self.fail_state(tid, t, Failure::new(error, cause));
            return;
        }
        if c.is_map && c.distributed {
            self.emit(&mut t, "MapRunSucceeded", None);
        }
        // AWS records MapStateSucceeded / ParallelStateSucceeded, then the state's exit, both
        // following the last event before them.
        let succeeded = if c.is_map {
            "MapStateSucceeded"
        } else {
            "ParallelStateSucceeded"
        };
        if !t.hidden {
            self.emit_raw(t.last_event, succeeded, None);
        }
        let _ = st;
        self.finish_with_result(tid, t, Value::Array(c.results));
    }

    // ----- endings -----

    fn thread_succeeded(&mut self, tid: ThreadId, t: Thread, output: Value) {
        self.s.threads.remove(&tid);
        match t.parent {
            None => {
                let d = json!({"output": to_text(&output), "outputDetails": {"truncated": false}});
                self.end(
                    Status::Succeeded,
                    Some(output),
                    None,
                    None,
                    "ExecutionSucceeded",
                    Some(d),
                );
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
                    let name = spec.label.clone().unwrap_or_else(|| pst.name.clone());
                    let id = self.emit_raw(
                        t.last_event,
                        "MapIterationSucceeded",
                        Some(json!({"name": name, "index": slot})),
                    );
                    p.last_event = id;
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

    fn thread_failed(
        &mut self,
        tid: ThreadId,
        t: Thread,
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
                let mut d = Map::new();
                if let Some(e) = &error {
                    d.insert("error".into(), Value::String(e.clone()));
                }
                // An empty cause (a timeout's) is left out, as AWS does.
                if let Some(c) = cause.as_ref().filter(|c| !c.is_empty()) {
                    d.insert("cause".into(), Value::String(c.clone()));
                }
                self.end(
                    Status::Failed,
                    None,
                    error,
                    cause,
                    "ExecutionFailed",
                    Some(Value::Object(d)),
                );
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
                if c.is_map {
                    if !t.hidden && !c.distributed {
                        let pst = self.def.state(p.machine, p.state);
                        if let StateKind::Map(spec) = &pst.kind {
                            let name = spec.label.clone().unwrap_or_else(|| pst.name.clone());
                            let id = self.emit_raw(
                                t.last_event,
                                "MapIterationFailed",
                                Some(json!({"name": name, "index": slot})),
                            );
                            p.last_event = id;
                        }
                    }
                    c.failures += 1;
                    c.done += 1;
                    c.results[slot] = json!({"Error": err, "Cause": cause});
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
                                    "States.ExceedToleratedFailureThreshold".to_string(),
                                    "The specified tolerated failure threshold was exceeded"
                                        .to_string(),
                                )
                            } else {
                                (err, cause)
                            };
                        c.failure = Some(failure);
                        for id in std::mem::take(&mut c.running) {
                            self.cancel_thread(id);
                        }
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
                    p.last_event = p.last_event.max(t.last_event);
                    for id in std::mem::take(&mut c.running) {
                        self.cancel_thread(id);
                    }
                    c.failure = Some((err, cause));
                    p.phase = Phase::ChildrenDone(c);
                    self.s.threads.insert(pid, p);
                    self.queue.push_front(pid);
                }
            }
        }
    }

    /// A state failed: Retry, then Catch, then fail the thread.
    fn fail_state(&mut self, tid: ThreadId, mut t: Thread, f: Failure) {
        if terminal(&f.error) {
            if t.parent.is_none() {
                self.s.redrive_point = Some(RedrivePoint {
                    state: t.state,
                    input: t.input.clone(),
                    variables: t.variables.clone(),
                });
            }
            // No Retry or Catch: the whole execution fails.
            let d = json!({"error": f.error, "cause": f.cause});
            self.end(
                Status::Failed,
                None,
                Some(f.error),
                Some(f.cause),
                "ExecutionFailed",
                Some(d),
            );
            return;
        }
        let st = self.def.state(t.machine, t.state);
        if f.evaluation {
            let mut d = json!({"error": f.error, "cause": f.cause, "state": st.name});
            if let Some(location) = evaluation_location(&f.cause) {
                d["location"] = Value::String(location.to_string());
            }
            self.emit(&mut t, "EvaluationFailed", Some(d));
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
            let attempt = t.retries[i];
            if attempt < r.max_attempts {
                t.retries[i] += 1;
                let mut delay = r.interval_seconds * r.backoff_rate.powi(attempt as i32);
                if let Some(max) = r.max_delay_seconds {
                    delay = delay.min(max);
                }
                if r.full_jitter {
                    delay *= self.rng().next_f64();
                }
                let at = self.now.saturating_add((delay * 1000.0) as i64);
                let timer = self.start_timer(Waiter::Retry(tid), at);
                t.phase = Phase::Retry { timer };
                self.s.threads.insert(tid, t);
                return;
            }
        }
        let ty = st.type_name();
        if ty == "Map" || ty == "Parallel" {
            let d = json!({"error": f.error, "cause": f.cause});
            let _ = d;
            self.emit(&mut t, &format!("{ty}StateFailed"), None);
        }
        // Catch
        if let Some(c) = st
            .catch
            .iter()
            .find(|c| error_matches(&c.error_equals, &f.error))
        {
            self.catch(tid, t, st, c, f);
            return;
        }
        self.thread_failed(tid, t, Some(f.error), Some(f.cause));
    }

    fn catch(&mut self, tid: ThreadId, t: Thread, st: &State, c: &Catcher, f: Failure) {
        let error_output = json!({"Error": f.error, "Cause": f.cause});
        if st.query_language == QueryLanguage::Jsonata {
            let b = self.jsonata_bindings(&t, st, &[("errorOutput", &error_output)], None);
            let out = match &c.output {
                Some(o) => self.jsonata_value(&t, st, o, &b, "Output"),
                None => Ok(error_output.clone()),
            };
            let vars = out.and_then(|o| {
                self.assign(
                    &t,
                    st,
                    c.assign.as_ref(),
                    &t.input,
                    &[("errorOutput", &error_output)],
                )
                .map(|v| (o, v))
            });
            match vars {
                Ok((o, v)) => self.exit_to(tid, t, st, o, v, Some(c.next)),
                Err(f) => self.thread_failed(tid, t, Some(f.error), Some(f.cause)),
            }
            return;
        }
        let vars = match self.assign(&t, st, c.assign.as_ref(), &error_output, &[]) {
            Ok(v) => v,
            Err(f) => return self.thread_failed(tid, t, Some(f.error), Some(f.cause)),
        };
        match payload::apply_result_path(&t.input, error_output, c.result_path.as_ref()) {
            Ok(out) => self.exit_to(tid, t, st, out, vars, Some(c.next)),
            Err(e) => {
                let f = self.in_state(&t, st, e);
                self.thread_failed(tid, t, Some(f.error), Some(f.cause))
            }
        }
    }

    fn end(
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

/// An integer, possibly negative, as a number or a numeric string.
fn as_integer(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        other => other.as_i64(),
    }
}

/// A non-negative integer setting, given as a number or as a string of digits (AWS accepts
/// `"1"` from a path).
fn as_count(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        other => other.as_u64(),
    }
}

/// A `…Path` setting whose value is not of the kind it must be (`integer`, `float`).
fn not_valid(field: &str, kind: &str, v: &Value, setting: &Option<ValueOrPath>) -> EvalError {
    let path = match setting {
        Some(ValueOrPath::Path(p)) => p.as_str(),
        _ => "",
    };
    EvalError::runtime(format!(
        "The {field}Path field refers to value \"{}\" which is not a valid {kind}: {path}",
        text_plain(v)
    ))
}

/// A value as AWS quotes it in messages: strings bare, everything else as JSON.
fn text_plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => to_text(other),
    }
}

fn uuid_short(rng: &mut Rng) -> String {
    rng.uuid()
}

/// Walks a JSON value and evaluates every `{% ... %}` string as JSONata.
fn jsonata_template(
    value: &Value,
    bindings: &Map<String, Value>,
    entropy: &mut dyn stepwise_asl::Entropy,
    field: &str,
) -> Result<Value, EvalError> {
    stepwise_asl::jsonata::evaluate_template(value, bindings, entropy, field)
}

#[cfg(test)]
mod redrive_tests {
    use super::*;

    fn info() -> ExecutionInfo {
        ExecutionInfo {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:e".into(),
            name: "e".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
            state_machine_name: "m".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            start_time_ms: 0,
            redrive_count: 0,
            seed: 1,
        }
    }

    fn task_id(commands: &[Command]) -> WaitId {
        commands
            .iter()
            .find_map(|c| match c {
                Command::InvokeTask { task, .. } => Some(*task),
                _ => None,
            })
            .expect("a task was invoked")
    }

    #[test]
    fn redrive_restarts_the_failed_state_with_its_input() {
        let def = Definition::from_json(
            r#"{"StartAt":"A","States":{
                "A":{"Type":"Pass","Result":{"k":1},"Next":"T"},
                "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}"#,
        )
        .expect("valid");
        let tr = step(
            &def,
            ExecutionState::new(info()),
            0,
            Event::Start { input: json!({}) },
        );
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
        let tr = step(
            &def,
            tr.state,
            2,
            Event::Redrive {
                from_state: None,
                input: None,
            },
        );
        assert_eq!(tr.state.status, Status::Running);
        assert_eq!(tr.history[0].event_type, "ExecutionRedriven");
        assert_eq!(tr.state.redrive_ms, Some(2));
        assert_eq!(tr.history[1].event_type, "TaskStateEntered");
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
        let tr = step(
            &def,
            ExecutionState::new(info()),
            0,
            Event::Start {
                input: json!({"x": 1}),
            },
        );
        assert_eq!(tr.state.status, Status::Failed);
        let tr = step(
            &def,
            tr.state,
            1,
            Event::Redrive {
                from_state: Some("B".into()),
                input: Some(json!(5)),
            },
        );
        assert_eq!(tr.state.status, Status::Succeeded);
        assert_eq!(tr.state.output, Some(json!(5)));
        let tr = step(
            &def,
            tr.state,
            2,
            Event::Redrive {
                from_state: None,
                input: None,
            },
        );
        assert!(tr.history.is_empty());
    }
}

#[cfg(test)]
mod variable_scope_tests {
    use super::*;

    fn run(def: &str, input: Value) -> ExecutionState {
        let def = Definition::from_json(def).expect("valid definition");
        let info = ExecutionInfo {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:e".into(),
            name: "e".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
            state_machine_name: "m".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            start_time_ms: 0,
            redrive_count: 0,
            seed: 1,
        };
        step(&def, ExecutionState::new(info), 0, Event::Start { input }).state
    }

    /// (what, definition, expected output or Err(error name))
    #[test]
    fn scopes_of_variables_in_map_and_parallel() {
        let cases: Vec<(&str, &str, Result<Value, &str>)> = vec![
            (
                "Assign expressions all see the values from before the state",
                r#"{"StartAt":"A","States":{
                    "A":{"Type":"Pass","Assign":{"a":1},"Next":"B"},
                    "B":{"Type":"Pass","Assign":{"a":2,"b.$":"$a"},"Next":"C"},
                    "C":{"Type":"Pass","Parameters":{"a.$":"$a","b.$":"$b"},"End":true}}}"#,
                Ok(json!({"a": 2, "b": 1})),
            ),
            (
                "Map iterations read outer variables",
                r#"{"StartAt":"A","States":{
                    "A":{"Type":"Pass","Assign":{"k":10},"Next":"M"},
                    "M":{"Type":"Map","ItemProcessor":{"StartAt":"I","States":{
                        "I":{"Type":"Pass","Parameters":{"v.$":"States.MathAdd($, $k)"},"End":true}}},"End":true}}}"#,
                Ok(json!([{"v": 11}, {"v": 12}])),
            ),
            (
                "what an iteration assigns stays inside it",
                r#"{"StartAt":"M","States":{
                    "M":{"Type":"Map","ItemProcessor":{"StartAt":"I","States":{
                        "I":{"Type":"Pass","Assign":{"inner.$":"$"},"End":true}}},"Next":"After"},
                    "After":{"Type":"Pass","Parameters":{"x.$":"$inner"},"End":true}}}"#,
                Err("States.Runtime"),
            ),
            (
                "an iteration's own assignments are visible to its later states",
                r#"{"StartAt":"M","States":{
                    "M":{"Type":"Map","ItemProcessor":{"StartAt":"I","States":{
                        "I":{"Type":"Pass","Assign":{"inner.$":"$"},"Next":"J"},
                        "J":{"Type":"Pass","Parameters":{"x.$":"$inner"},"End":true}}},"End":true}}}"#,
                Ok(json!([{"x": 1}, {"x": 2}])),
            ),
            (
                "Parallel branches read outer variables; their assignments stay inside",
                r#"{"StartAt":"A","States":{
                    "A":{"Type":"Pass","Assign":{"k":"outer"},"Next":"P"},
                    "P":{"Type":"Parallel","Branches":[
                        {"StartAt":"B1","States":{"B1":{"Type":"Pass","Assign":{"k":"inner"},"Next":"B2"},
                            "B2":{"Type":"Pass","Parameters":{"k.$":"$k"},"End":true}}},
                        {"StartAt":"C1","States":{"C1":{"Type":"Pass","Parameters":{"k.$":"$k"},"End":true}}}],
                     "Next":"After"},
                    "After":{"Type":"Pass","Parameters":{"branches.$":"$","k.$":"$k"},"End":true}}}"#,
                Ok(json!({"branches": [{"k": "inner"}, {"k": "outer"}], "k": "outer"})),
            ),
            (
                "a distributed Map's iterations see no outer variables",
                r#"{"StartAt":"A","States":{
                    "A":{"Type":"Pass","Assign":{"k":10},"Next":"M"},
                    "M":{"Type":"Map","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},
                        "StartAt":"I","States":{"I":{"Type":"Pass","Parameters":{"v.$":"$k"},"End":true}}},"End":true}}}"#,
                Err("States.Runtime"),
            ),
            (
                "a state that assigns more than 256 KiB fails",
                r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"big.$":"$.big"},"End":true}}}"#,
                Err("States.DataLimitExceeded"),
            ),
            (
                "JSONata Assign reads $states.result and the old values",
                r#"{"QueryLanguage":"JSONata","StartAt":"A","States":{
                    "A":{"Type":"Pass","Assign":{"n":1},"Next":"B"},
                    "B":{"Type":"Pass","Assign":{"n":"{% $n + 1 %}","m":"{% $n %}"},"Next":"C"},
                    "C":{"Type":"Pass","Output":{"n":"{% $n %}","m":"{% $m %}"},"End":true}}}"#,
                Ok(json!({"n": 2, "m": 1})),
            ),
        ];
        for (what, def, expected) in cases {
            let input = if what.contains("256 KiB") {
                json!({"big": "x".repeat(300 * 1024)})
            } else {
                json!([1, 2])
            };
            let s = run(def, input);
            match expected {
                Ok(out) => {
                    assert_eq!(
                        s.status,
                        Status::Succeeded,
                        "{what}: {:?} {:?}",
                        s.error,
                        s.cause
                    );
                    assert_eq!(s.output, Some(out), "{what}");
                }
                Err(error) => {
                    assert_eq!(s.status, Status::Failed, "{what}");
                    assert_eq!(s.error.as_deref(), Some(error), "{what}: {:?}", s.cause);
                }
            }
        }
    }
}
