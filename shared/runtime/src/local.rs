//! Runs one execution to its end inside this process: the driver behind `stepwise run`.
//!
//! It owns what the engine may not: the clock, the timers and the task invocations. Each engine
//! command is carried out here and each outcome goes back into [`stepwise_engine::step`] as an
//! event.

use crate::tasks::follow_job;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use stepwise_asl::model::Definition;
use stepwise_engine::{
    step, Command, Event, ExecutionInfo, ExecutionState, HistoryEvent, Status, WaitId,
};
use stepwise_ports::tasks::{Submission, TaskFailure, TaskInvoker, TaskRequest};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How [`run_execution`] behaves.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Fire timers at once instead of waiting for them (for tests): the execution's clock jumps
    /// ahead, so its timestamps still read as if it had waited.
    pub skip_waits: bool,
    /// The mock test case to serve tasks from.
    pub test_case: Option<String>,
    /// Start at this top-level state instead of `StartAt` (beyond AWS).
    pub start_at: Option<String>,
    /// The variables the execution begins with at `start_at`.
    pub start_variables: Option<serde_json::Map<String, Value>>,
}

/// Something told about the execution as it goes (live progress, `--history`).
pub trait Observer: Send {
    /// A history event was recorded.
    fn on_event(&mut self, event: &HistoryEvent);
    /// The driver is waiting for a timer due at `at_ms` (execution clock).
    fn on_waiting(&mut self, _at_ms: i64, _now_ms: i64) {}
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {
    fn on_event(&mut self, _event: &HistoryEvent) {}
}

/// The wall clock in milliseconds since the Unix epoch (this thread's own clock when it has
/// one, [`crate::clock`]).
pub fn wall_clock_ms() -> i64 {
    if let Some(ms) = crate::clock::thread_clock_ms() {
        return ms;
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

enum Outcome {
    /// A task's result, and whether it was a callback task's hand-off.
    Task(WaitId, Result<Value, TaskFailure>, bool),
    /// A `.sync` job started (its start call's output); the task goes on.
    Submitted(WaitId, Value),
}

/// Runs an execution from its start to its end and returns its final state.
pub async fn run_execution(
    def: Arc<Definition>,
    info: ExecutionInfo,
    input: Value,
    invoker: Arc<dyn TaskInvoker>,
    options: RunOptions,
    observer: &mut dyn Observer,
) -> ExecutionState {
    let mut offset_ms: i64 = 0;
    let now = |offset: i64| wall_clock_ms() + offset;
    let (tx, mut rx) = mpsc::unbounded_channel::<Outcome>();
    let mut timers: BTreeSet<(i64, WaitId)> = BTreeSet::new();
    let mut timer_due: HashMap<WaitId, i64> = HashMap::new();
    let mut running: HashMap<WaitId, JoinHandle<()>> = HashMap::new();
    let exec_arn = info.execution_arn.clone();
    let sm_name = info.state_machine_name.clone();
    let start_ms = info.start_time_ms;
    let mut state = ExecutionState::new(info);
    state.start_at = options.start_at.clone();
    state.start_variables = options.start_variables.clone();
    let mut event = Some((start_ms, Event::Start { input }));

    loop {
        if let Some((at, ev)) = event.take() {
            let tr = step(&def, state, at, ev);
            state = tr.state;
            for h in &tr.history {
                observer.on_event(h);
            }
            for c in tr.commands {
                match c {
                    Command::InvokeTask {
                        task,
                        state_name,
                        resource,
                        parameters,
                        task_token,
                        ..
                    } => {
                        let req = TaskRequest {
                            execution_arn: exec_arn.clone(),
                            state_machine_name: sm_name.clone(),
                            state_name,
                            resource,
                            parameters,
                            test_case: options.test_case.clone(),
                            task_token,
                            redrive_count: state.info.redrive_count,
                        };
                        let callback = req.task_token.is_some() && !invoker.answers_callback(&req);
                        let inv = invoker.clone();
                        let tx = tx.clone();
                        running.insert(
                            task,
                            tokio::spawn(async move {
                                let r = perform(inv, req, |output| {
                                    let _ = tx.send(Outcome::Submitted(task, output));
                                    std::future::ready(())
                                })
                                .await;
                                let _ = tx.send(Outcome::Task(task, r, callback));
                            }),
                        );
                    }
                    Command::StartTimer { timer, at_ms } => {
                        timers.insert((at_ms, timer));
                        timer_due.insert(timer, at_ms);
                    }
                    Command::CancelTimer { timer } => {
                        if let Some(at) = timer_due.remove(&timer) {
                            timers.remove(&(at, timer));
                        }
                    }
                    Command::CancelTask { task, .. } => {
                        if let Some(h) = running.remove(&task) {
                            h.abort();
                        }
                    }
                    // Only the durable driver announces status changes; a local run has no bus.
                    Command::PublishStatusChange { .. } => {}
                }
            }
        }
        if state.status != Status::Running {
            break;
        }
        // What happens next: a task outcome, or the earliest timer.
        let next_timer = timers.iter().next().copied();
        if let Ok(outcome) = rx.try_recv() {
            event = Some((now(offset_ms), outcome_event(outcome, &mut running)));
            continue;
        }
        match next_timer {
            Some((at, id)) => {
                let current = now(offset_ms);
                if options.skip_waits && running.is_empty() {
                    offset_ms += (at - current).max(0);
                } else if at > current {
                    observer.on_waiting(at, current);
                    // Sleep at most a second at a time so observers can count down.
                    let sleep =
                        tokio::time::sleep(Duration::from_millis((at - current).min(1000) as u64));
                    tokio::select! {
                        msg = rx.recv() => {
                            if let Some(outcome) = msg {
                                event = Some((now(offset_ms), outcome_event(outcome, &mut running)));
                            }
                            continue;
                        }
                        _ = sleep => {
                            if now(offset_ms) < at {
                                continue;
                            }
                        }
                    }
                }
                timers.remove(&(at, id));
                timer_due.remove(&id);
                event = Some((now(offset_ms).max(at), Event::TimerFired { timer: id }));
            }
            None if running.is_empty() => break, // nothing can move it on
            None => match rx.recv().await {
                Some(outcome) => {
                    event = Some((now(offset_ms), outcome_event(outcome, &mut running)));
                }
                None => break,
            },
        }
    }
    for (_, h) in running {
        h.abort();
    }
    state
}

/// Performs a task's call: a `.sync` job is submitted (`submitted` gets the start call's
/// output, AWS's `TaskSubmitted`) and then followed here until it ends.
pub async fn perform<F: std::future::Future<Output = ()>>(
    invoker: Arc<dyn TaskInvoker>,
    req: TaskRequest,
    submitted: impl FnOnce(Value) -> F,
) -> Result<Value, TaskFailure> {
    if !req.resource.is_sync() {
        return invoker.invoke(req).await;
    }
    match invoker.submit(req.clone()).await? {
        Submission::Done(v) => Ok(v),
        Submission::Job {
            output,
            job,
            polling,
        } => {
            submitted(output).await;
            follow_job(invoker, req, job, polling).await
        }
    }
}

/// The event of an outcome; a finished task is no longer running.
fn outcome_event(outcome: Outcome, running: &mut HashMap<WaitId, JoinHandle<()>>) -> Event {
    match outcome {
        Outcome::Task(id, r, callback) => {
            running.remove(&id);
            task_event(id, r, callback)
        }
        Outcome::Submitted(task, output) => Event::TaskSubmitted { task, output },
    }
}

/// A callback task's invocation only hands its token out: it is submitted, and waits.
fn task_event(task: WaitId, r: Result<Value, TaskFailure>, callback: bool) -> Event {
    match r {
        Ok(output) if callback => Event::TaskSubmitted { task, output },
        Ok(output) => Event::TaskSucceeded { task, output },
        Err(f) => Event::TaskFailed {
            task,
            error: f.error,
            cause: f.cause,
        },
    }
}
