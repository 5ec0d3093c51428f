//! The Step Functions interpreter: a pure function from (execution state, event) to
//! (new state, history events, commands).
//!
//! Nothing here reads a clock, draws randomness or does I/O: the time of each event comes in with
//! it, randomness comes from a generator whose seed is part of the state, and everything the
//! outside world must do (invoke a task, start a timer) goes out as a [`Command`]. The embedded
//! binary and the serverless functions drive the same [`step`].

mod context;
pub mod deep;
mod exec;
pub mod history;
pub mod map_io;
pub mod map_run;
pub mod resume;
mod rng;
#[cfg(test)]
mod test_support;
mod time_fmt;

pub use exec::{step, Inspection, STEP_EVENTS};
pub use history::HistoryEvent;
pub use rng::{uuid_from_seed, write_hex};

use serde::{Deserialize, Serialize};
use serde_json::Value;
pub use stepwise_asl::resource::TaskResource;

/// Identifies an outstanding task invocation or timer within one execution.
pub type WaitId = u64;

/// The execution's identity, fixed when it starts (the `$$.Execution` and `$$.StateMachine` parts
/// of the Context object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionInfo {
    /// The execution ARN.
    pub execution_arn: String,
    /// The execution name.
    pub name: String,
    /// The state machine ARN.
    pub state_machine_arn: String,
    /// The state machine name.
    pub state_machine_name: String,
    /// The role the execution runs as.
    pub role_arn: String,
    /// Start time, milliseconds since the Unix epoch.
    pub start_time_ms: i64,
    /// How many times it has been redriven.
    pub redrive_count: u32,
    /// A seed for the execution's random numbers (UUIDs, jitter, task tokens).
    pub seed: u64,
}

/// The status of an execution, as DescribeExecution reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Still going.
    Running,
    /// Ended with an output.
    Succeeded,
    /// Ended with an error.
    Failed,
    /// Ran past the machine's `TimeoutSeconds`.
    TimedOut,
    /// Stopped by StopExecution.
    Aborted,
}

impl Status {
    /// The name the API uses (`RUNNING`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

/// Something that happened to an execution, fed to [`step`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    /// Start the execution with this input.
    Start {
        /// The execution input.
        input: Value,
    },
    /// A task invocation returned a result.
    TaskSucceeded {
        /// The invocation, from [`Command::InvokeTask`].
        task: WaitId,
        /// The result.
        output: Value,
    },
    /// A task invocation failed.
    TaskFailed {
        /// The invocation.
        task: WaitId,
        /// ASL error name.
        error: String,
        /// Cause text.
        cause: String,
    },
    /// A `.waitForTaskToken` task's call returned: the task now waits for its token.
    TaskSubmitted {
        /// The invocation.
        task: WaitId,
        /// What the call returned.
        output: Value,
    },
    /// An activity worker took the task (GetActivityTask).
    TaskStarted {
        /// The invocation.
        task: WaitId,
        /// The worker's name.
        worker_name: Option<String>,
    },
    /// SendTaskHeartbeat: restart the heartbeat timer.
    TaskHeartbeat {
        /// The invocation.
        task: WaitId,
    },
    /// A timer from [`Command::StartTimer`] is due.
    TimerFired {
        /// The timer.
        timer: WaitId,
    },
    /// RedriveExecution: run a FAILED, TIMED_OUT or ABORTED execution again from the state
    /// where it stopped (AWS), or from any top-level state (`from_state`, beyond AWS), with the
    /// input that state had or a new one.
    Redrive {
        /// A top-level state to restart at instead of the one that stopped.
        #[serde(default)]
        from_state: Option<String>,
        /// A new input for that state.
        #[serde(default)]
        input: Option<Value>,
        /// A resume planned by [`resume::plan`] (beyond AWS): it replaces `from_state` and
        /// `input`, and its ExecutionRedriven event says where and with what input.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<Box<resume::ResumePoint>>,
    },
    /// UpdateMapRun: a running map run's concurrency and failure tolerance change.
    UpdateMapRun {
        /// The map run.
        map_run_arn: String,
        /// A new MaxConcurrency (0: no limit).
        #[serde(default)]
        max_concurrency: Option<u64>,
        /// A new ToleratedFailureCount.
        #[serde(default)]
        tolerated_failure_count: Option<u64>,
        /// A new ToleratedFailurePercentage.
        #[serde(default)]
        tolerated_failure_percentage: Option<f64>,
    },
    /// StopExecution.
    Stop {
        /// Error to record.
        error: Option<String>,
        /// Cause to record.
        cause: Option<String>,
    },
}

/// Work the engine asks the outside world to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Command {
    /// Invoke a Task's resource; answer with TaskSucceeded/TaskFailed (or TaskSubmitted for
    /// `.waitForTaskToken`, then the token's outcome).
    InvokeTask {
        /// Identifies the invocation in the answer.
        task: WaitId,
        /// The Task state's name.
        state_name: String,
        /// The `Resource`, typed; serialized as its original ARN text.
        resource: TaskResource,
        /// The effective parameters.
        parameters: Value,
        /// The task token (`.waitForTaskToken` and activities).
        task_token: Option<String>,
        /// The `HeartbeatSeconds` in effect.
        heartbeat_seconds: Option<u64>,
        /// The `TimeoutSeconds` in effect.
        timeout_seconds: Option<u64>,
    },
    /// Fire [`Event::TimerFired`] at this time (milliseconds since the Unix epoch).
    StartTimer {
        /// Identifies the timer in the event.
        timer: WaitId,
        /// When.
        at_ms: i64,
    },
    /// A timer no longer needed (firing it anyway is harmless).
    CancelTimer {
        /// The timer.
        timer: WaitId,
    },
    /// A task whose result is no longer wanted (the execution ended or the branch was cancelled).
    CancelTask {
        /// The invocation.
        task: WaitId,
        /// Its task token, when it had one.
        task_token: Option<String>,
    },
    /// Announce that the execution's status changed (Step Functions' "Step Functions Execution
    /// Status Change" event): the durable driver adds it to the outbox of the step whose history
    /// started, redrove or ended the execution, so the announcement is as durable as the change.
    /// `step` itself never emits it.
    PublishStatusChange {
        /// `Running` for a start or a redrive, else how it ended.
        status: Status,
        /// When (the history event's timestamp).
        at_ms: i64,
    },
}

/// What one [`step`] produced.
#[derive(Debug, Clone)]
pub struct Transition {
    /// The state after the event.
    pub state: ExecutionState,
    /// History events appended, in order.
    pub history: Vec<HistoryEvent>,
    /// Work to dispatch.
    pub commands: Vec<Command>,
    /// The checkpoint changed though nothing was recorded or sent (UpdateMapRun): it must be
    /// saved all the same.
    pub changed: bool,
}

pub use exec::ExecutionState;
