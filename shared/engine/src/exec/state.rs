//! What an execution keeps between steps: its status, its threads and what each waits for.

use crate::exec::threads::ThreadTable;
use crate::exec::ThreadId;
use crate::history::ServiceResource;
use crate::{ExecutionInfo, Status, WaitId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use stepwise_asl::model::{MachineId, StateId};

/// The compact checkpoint of one execution: everything [`crate::step`] needs besides the definition.
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
    pub(crate) redrive_point: Option<RedrivePoint>,
    /// A new execution that starts at this top-level state instead of `StartAt` (beyond AWS):
    /// set before [`crate::Event::Start`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<String>,
    /// The execution a new one started at a state came from, when it came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_execution_arn: Option<String>,
    /// The variables a new execution started at a state begins with (those the state had in
    /// the source execution).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_variables: Option<Map<String, Value>>,
    /// A new execution that starts inside `start_at` (a Parallel or Map): the branch or
    /// iteration and the state there, planned from the source execution's history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_inner: Option<crate::resume::InnerPoint>,
    /// A resume inside a branch or an iteration, until the enclosing Parallel/Map forks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) resume_inner: Option<PendingInner>,
    /// The distributed Maps' runs that ended (their counts; a running one is read from its
    /// Map's children).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) map_runs: Vec<crate::map_io::MapRunInfo>,
    /// The home runs a distributed Map's children as child executions of their own
    /// ([`crate::map_run`]); otherwise they run inside this execution.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub map_runs_as_executions: bool,
    pub(crate) next_wait: WaitId,
    pub(crate) rng: u64,
    pub(crate) next_thread: ThreadId,
    pub(crate) threads: ThreadTable,
    pub(crate) waits: BTreeMap<WaitId, Waiter>,
    /// TestState's inspection of the state it tests; never set for an execution, never stored.
    #[serde(skip)]
    pub inspection: Option<Box<crate::exec::Inspection>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RedrivePoint {
    pub(crate) state: StateId,
    pub(crate) input: Value,
    pub(crate) variables: Map<String, Value>,
}

/// The chosen branch or iteration of a resume, for the Parallel/Map it is inside: a top-level
/// one (`thread` unset) or one in the thread a level above started at it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingInner {
    /// The Parallel or Map.
    pub(crate) enclosing: StateId,
    /// The thread that runs it, below the top level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) thread: Option<ThreadId>,
    pub(crate) index: usize,
    /// The chosen state, in the branch's or the item processor's machine.
    pub(crate) state: StateId,
    pub(crate) input: Value,
    pub(crate) variables: Map<String, Value>,
    pub(crate) kept: Vec<(usize, Value)>,
    /// The chosen state is a Parallel/Map the resume goes further into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) deeper: Option<Box<PendingInner>>,
}

/// A Map iteration that starts at a chosen state instead of the processor's `StartAt`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ResumeChild {
    pub(crate) index: usize,
    pub(crate) state: StateId,
    pub(crate) input: Value,
    pub(crate) variables: Map<String, Value>,
    /// The resume goes further into the Parallel/Map `state` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) deeper: Option<Box<PendingInner>>,
}

/// What an outstanding wait id stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Waiter {
    Task(ThreadId),
    TaskTimeout(ThreadId),
    Heartbeat(ThreadId),
    Wait(ThreadId),
    Retry(ThreadId),
    ExecutionTimeout,
    /// A step that recorded [`crate::exec::STEP_EVENTS`] events stopped there: these threads,
    /// in this order, run on when the timer fires (at once), in a step of their own.
    Continue(Vec<ThreadId>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Thread {
    pub(crate) machine: MachineId,
    pub(crate) state: StateId,
    /// Parent thread and this thread's slot in it (branch or item index).
    pub(crate) parent: Option<(ThreadId, usize)>,
    /// The current state's raw input.
    pub(crate) input: Value,
    pub(crate) variables: Map<String, Value>,
    pub(crate) phase: Phase,
    pub(crate) entered_event: u64,
    /// The event the current state's StateEntered followed: AWS's EvaluationFailed follows it
    /// too.
    #[serde(default)]
    pub(crate) entered_prev: u64,
    pub(crate) entered_ms: i64,
    pub(crate) last_event: u64,
    /// Attempts so far per retrier of the current state.
    pub(crate) retries: Vec<u32>,
    pub(crate) map_item: Option<(usize, Value)>,
    /// Events of a distributed Map's iterations belong to child executions, not this history.
    pub(crate) hidden: bool,
    /// The JSON text of `input`, when the state before already wrote it (its output): the
    /// StateEntered event copies it instead of serializing the payload again. Not kept in the
    /// checkpoint; without it the text is made from `input`.
    #[serde(skip)]
    pub(crate) input_text: Option<crate::history::PayloadText>,
    /// The state's input as it entered (its StateEntered text), set while the state's input has
    /// had values moved out of it ([`crate::exec::Engine::jsonpath_template_taking`]): a failure
    /// of the state restores the input from it, for a redrive to start from.
    #[serde(skip)]
    pub(crate) entered_text: Option<crate::history::PayloadText>,
    /// The JSON text of the output a state is leaving with, when the state knows it already
    /// (a Choice whose output is its input as it entered): its StateExited event takes it
    /// instead of serializing the output again. Set just before the exit, taken by it.
    #[serde(skip)]
    pub(crate) output_text: Option<crate::history::PayloadText>,
    /// A Task's StateEntered text, kept from its run while it waits for its result: the exit
    /// may record its output as this input with the result set at a member
    /// ([`crate::history::PayloadText::with_member`]). Set by each Task's run, read only by a
    /// Task's exit and dropped there (or when the state fails). Not kept in the checkpoint.
    #[serde(skip)]
    pub(crate) entered_payload: Option<crate::history::PayloadText>,
    /// What a ResultPath of member names held before the state's result was merged into its
    /// input in place, when no entry text is at hand to give the input back (a Task whose
    /// result came in a later step, its checkpoint loaded again): the exit's quota check
    /// undoes the merge with it. Set by the merge, dropped with the state.
    #[serde(skip)]
    pub(crate) merge_undo: Option<MergeUndo>,
}

/// A merge at a member path to undo: the path's names and the member's value before (None:
/// it was not there).
pub(crate) type MergeUndo = (std::sync::Arc<[String]>, Option<serde_json::Value>);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Phase {
    Enter,
    Run,
    Task(Box<TaskWait>),
    Wait {
        timer: WaitId,
    },
    Retry {
        timer: WaitId,
    },
    Children(Box<Children>),
    ChildrenDone(Box<Children>),
    /// A distributed Map waits for its `ItemReader` (the task [`Waiter::Task`] names).
    MapRead(Box<Children>),
    /// A distributed Map waits for its `ResultWriter`.
    MapWrite(Box<Children>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TaskWait {
    pub(crate) task: WaitId,
    pub(crate) kind: TaskKind,
    pub(crate) token: Option<String>,
    pub(crate) timeout_timer: Option<WaitId>,
    pub(crate) heartbeat_timer: Option<WaitId>,
    pub(crate) heartbeat_s: Option<u64>,
    pub(crate) resource_type: String,
    pub(crate) resource: String,
    /// A `.waitForTaskToken` call has returned and its TaskSubmitted is recorded: AWS records
    /// one per attempt, so a repeated submission (an at-least-once delivery) records nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) submitted: bool,
}

impl TaskWait {
    /// The integration as task events name it.
    pub(crate) fn service(&self) -> ServiceResource {
        ServiceResource {
            resource_type: self.resource_type.clone(),
            resource: self.resource.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum TaskKind {
    /// `arn:aws:states:::service:action` integrations.
    Service,
    /// A Lambda function ARN as the resource.
    LambdaFunction,
    /// An activity ARN.
    Activity,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Children {
    pub(crate) is_map: bool,
    pub(crate) distributed: bool,
    /// A Map's effective input (after InputPath/Parameters), for ItemSelector and batching
    /// (null for a Parallel: its branches took theirs when they started).
    pub(crate) effective: Value,
    pub(crate) items: Vec<Value>,
    pub(crate) results: Vec<Value>,
    pub(crate) done: usize,
    pub(crate) next: usize,
    pub(crate) running: Vec<ThreadId>,
    pub(crate) max_concurrency: usize,
    pub(crate) failures: usize,
    pub(crate) tolerated_count: Option<u64>,
    pub(crate) tolerated_percentage: Option<f64>,
    pub(crate) failure: Option<(String, String)>,
    /// Map iterations whose recorded result a resume kept: they do not run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) kept: Vec<usize>,
    /// The Map iteration a resume starts at a chosen state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) resume_child: Option<Box<ResumeChild>>,
    /// The last MapIterationSucceeded: AWS's MapStateSucceeded and the Map's exit follow it,
    /// while the next MapIterationStarted follows the iteration's last state event.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) last_iteration_event: u64,
    /// A distributed Map's run: its ARN, batching, what the ResultWriter needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) map_run: Option<Box<crate::exec::states::map_io::MapRun>>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ExecutionState {
    /// A new execution, not yet started: feed it [`crate::Event::Start`].
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
            start_at: None,
            source_execution_arn: None,
            start_variables: None,
            start_inner: None,
            resume_inner: None,
            last_event_id: 0,
            transitions: 0,
            map_runs: Vec::new(),
            map_runs_as_executions: false,
            next_wait: 1,
            rng,
            next_thread: 0,
            threads: ThreadTable::default(),
            waits: BTreeMap::new(),
            inspection: None,
        }
    }

    /// The execution's map runs, ended and running, in the order they started.
    pub fn map_runs(&self) -> Vec<crate::map_io::MapRunInfo> {
        let mut out = self.map_runs.clone();
        for t in self.threads.values() {
            if let Phase::Children(c) | Phase::MapRead(c) | Phase::MapWrite(c) = &t.phase {
                if let Some(run) = &c.map_run {
                    if !out.iter().any(|r| r.map_run_arn == run.arn) {
                        let info = crate::exec::states::map_io::describe(
                            run,
                            c,
                            "RUNNING",
                            None,
                            &self.threads,
                        );
                        out.push(info);
                    }
                }
            }
        }
        out.sort_by_key(|r| r.start_ms);
        out
    }

    /// Ids of the outstanding waits (tasks and timers); empty once the execution ended.
    pub fn outstanding(&self) -> usize {
        self.waits.len()
    }

    /// Whether the execution still waits for this task's outcome (a `.sync` job polled from
    /// outside stops being polled, and its job is stopped, once it does not).
    pub fn awaits_task(&self, task: WaitId) -> bool {
        self.status == Status::Running && matches!(self.waits.get(&task), Some(Waiter::Task(_)))
    }
}
