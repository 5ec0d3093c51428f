//! What the engine records ([`EventKind`]), with typed details, and the names of state events.

use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::Arc;
use stepwise_asl::errors;

/// What the engine records, with typed details: each variant becomes one [`HistoryEvent`](super::HistoryEvent) whose
/// type and details are exactly AWS's (the stored and API forms stay those of `HistoryEvent`).
///
/// Payload texts (`input`, `output`, `parameters`) are carried as the JSON text already
/// measured against the payload quota, so a payload is serialized once.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EventKind {
    /// `started_at`: a new execution started at a state (beyond AWS): the state and the
    /// execution it came from; recorded as extra details only then. AWS's details have no
    /// `stateMachineArn`, so neither do these.
    /// The input's text is the first StateEntered's (one rendering for both).
    ExecutionStarted {
        input: super::PayloadText,
        role_arn: String,
        started_at: Option<(String, Option<String>)>,
    },
    /// `resumed`: a resume (beyond AWS); a plain redrive has AWS's details only.
    ExecutionRedriven {
        redrive_count: u32,
        resumed: Option<Resumed>,
    },
    /// The output's text is the last StateExited's (rendered when read, as it is).
    ExecutionSucceeded {
        output: super::PayloadText,
    },
    /// Each part only when present.
    ExecutionFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    /// Each part only when present.
    ExecutionAborted {
        error: Option<String>,
        cause: Option<String>,
    },
    ExecutionTimedOut,
    /// `{state_type}StateEntered`.
    StateEntered {
        state_type: &'static str,
        name: Arc<str>,
        input: String,
    },
    /// `{state_type}StateExited`; `assigned` holds each assigned variable's JSON text.
    StateExited {
        state_type: &'static str,
        name: Arc<str>,
        output: String,
        assigned: Option<Map<String, Value>>,
    },
    /// `{state_type}StateStarted` (Parallel; Map has [`EventKind::MapStateStarted`]).
    StateStarted {
        state_type: &'static str,
    },
    /// `{state_type}StateSucceeded` (Map, Parallel).
    StateSucceeded {
        state_type: &'static str,
    },
    /// `{state_type}StateFailed` (Map, Parallel).
    StateFailed {
        state_type: &'static str,
    },
    /// `{state_type}StateAborted` (Task, Wait, Map, Parallel): the state was left unfinished
    /// because the branch or iteration it runs in was stopped.
    StateAborted {
        state_type: &'static str,
    },
    MapStateStarted {
        length: usize,
    },
    MapRunStarted {
        map_run_arn: String,
    },
    MapRunSucceeded,
    /// The map run stopped with its parent (StopExecution); AWS gives it no details.
    MapRunAborted,
    /// A failed map run runs again with its parent's redrive (its failed and pending children).
    MapRunRedriven {
        map_run_arn: String,
        redrive_count: u32,
    },
    MapRunFailed {
        error: String,
        cause: String,
    },
    MapIterationStarted {
        name: Arc<str>,
        index: usize,
    },
    MapIterationSucceeded {
        name: Arc<str>,
        index: usize,
    },
    MapIterationFailed {
        name: Arc<str>,
        index: usize,
    },
    /// A sibling iteration failed and the Map stopped this one.
    MapIterationAborted {
        name: Arc<str>,
        index: usize,
    },
    EvaluationFailed {
        error: String,
        cause: String,
        state: String,
        location: Option<String>,
    },
    TaskScheduled {
        resource: ServiceResource,
        region: String,
        parameters: String,
        timeout_s: Option<u64>,
        heartbeat_s: Option<u64>,
        role_arn: Option<Value>,
    },
    TaskStarted {
        resource: ServiceResource,
    },
    TaskSubmitted {
        resource: ServiceResource,
        output: String,
    },
    TaskSucceeded {
        resource: ServiceResource,
        output: String,
    },
    TaskFailed {
        resource: ServiceResource,
        error: String,
        cause: String,
    },
    TaskTimedOut {
        resource: ServiceResource,
        error: String,
    },
    LambdaFunctionScheduled {
        resource: String,
        input: String,
        timeout_s: Option<u64>,
        role_arn: Option<Value>,
    },
    LambdaFunctionStarted,
    LambdaFunctionSucceeded {
        output: String,
    },
    LambdaFunctionFailed {
        error: String,
        cause: String,
    },
    LambdaFunctionTimedOut {
        error: String,
    },
    ActivityScheduled {
        resource: String,
        input: String,
        timeout_s: Option<u64>,
        heartbeat_s: Option<u64>,
    },
    ActivityStarted {
        worker_name: Option<String>,
    },
    ActivitySucceeded {
        output: String,
    },
    ActivityFailed {
        error: String,
        cause: String,
    },
    ActivityTimedOut {
        error: String,
    },
}

/// Where a resume restarted, as its ExecutionRedriven event records it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resumed {
    pub(crate) state_name: String,
    pub(crate) input_replaced: bool,
    pub(crate) branch_index: Option<usize>,
    pub(crate) map_iteration_index: Option<usize>,
}

/// A service integration as AWS names it in task events: `lambda` and `invoke` for
/// `arn:aws:states:::lambda:invoke`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ServiceResource {
    pub(crate) resource_type: String,
    pub(crate) resource: String,
}

/// A details object from its fields in order, moving each value in (payload texts can be
/// large: they are not copied again).
macro_rules! object {
    ([$(($k:literal, $v:expr)),* $(,)?]) => {{
        #[allow(unused_mut)] // `object!([])` has nothing to insert
        let mut m = Map::new();
        $(m.insert(String::from($k), $v);)*
        Value::Object(m)
    }};
}

/// `{"truncated": false}`: Stepwise never truncates a payload in history.
fn not_truncated() -> Value {
    object!([("truncated", Value::Bool(false))])
}

/// A Lambda function's or an activity's scheduling: `{"resource", "input", "inputDetails",
/// "timeoutInSeconds"?}`, what the two have in common, in AWS's order.
fn scheduled(resource: String, input: String, timeout_s: Option<u64>) -> Value {
    let mut d = object!([
        ("resource", text(resource)),
        ("input", text(input)),
        ("inputDetails", not_truncated()),
    ]);
    insert_some(&mut d, "timeoutInSeconds", timeout_s.map(Value::from));
    d
}

/// Inserts `key` when there is a value.
fn insert_some(d: &mut Value, key: &str, v: Option<Value>) {
    if let (Value::Object(m), Some(v)) = (d, v) {
        m.insert(key.to_string(), v);
    }
}

fn text(s: String) -> Value {
    Value::String(s)
}

/// `{"error", "cause"}` with each part only when present.
fn error_and_cause(error: Option<String>, cause: Option<String>) -> Value {
    let mut d = object!([]);
    insert_some(&mut d, "error", error.map(text));
    insert_some(&mut d, "cause", cause.map(text));
    d
}

/// The events a state records under its own type's name, in [`STATE_EVENT_SUFFIXES`]' order.
#[derive(Debug, Clone, Copy)]
pub(super) enum StateEvent {
    Entered,
    Exited,
    Started,
    Succeeded,
    Failed,
    Aborted,
}

pub(super) const STATE_EVENT_SUFFIXES: [&str; 6] = [
    "StateEntered",
    "StateExited",
    "StateStarted",
    "StateSucceeded",
    "StateFailed",
    "StateAborted",
];

/// The eight state types, in the order of [`STATE_EVENT_NAMES`] (and of a packed page's state
/// type byte).
pub(crate) const STATE_TYPES: [&str; 8] = [
    "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
];

/// A state type's index in [`STATE_TYPES`]: told apart by length and first letter (this runs for
/// every state event: matching the names one by one was 3% of a Choice loop), then checked.
pub(crate) fn state_type_index(t: &str) -> Option<usize> {
    let i = match (t.len(), t.as_bytes().first()?) {
        (4, b'P') => 0,
        (4, b'T') => 1,
        (6, _) => 2,
        (4, b'W') => 3,
        (7, _) => 4,
        (4, b'F') => 5,
        (8, _) => 6,
        (3, _) => 7,
        _ => return None,
    };
    (STATE_TYPES[i] == t).then_some(i)
}

/// Every state type's event names, spelled out once so that recording one allocates nothing.
macro_rules! state_event_names {
    ($($t:literal),*) => {
        pub(super) const STATE_EVENT_NAMES: [[&str; 6]; 8] = [$([
            concat!($t, "StateEntered"),
            concat!($t, "StateExited"),
            concat!($t, "StateStarted"),
            concat!($t, "StateSucceeded"),
            concat!($t, "StateFailed"),
            concat!($t, "StateAborted"),
        ]),*];
    };
}
state_event_names!("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map");

pub(super) fn state_event_type(state_type: &str, e: StateEvent) -> Option<&'static str> {
    Some(STATE_EVENT_NAMES[state_type_index(state_type)?][e as usize])
}

/// `{state_type}{suffix}`, from the static table for the eight state types.
fn state_event_name(state_type: &str, suffix: StateEvent) -> Cow<'static, str> {
    match state_event_type(state_type, suffix) {
        Some(t) => Cow::Borrowed(t),
        None => Cow::Owned(format!(
            "{state_type}{}",
            STATE_EVENT_SUFFIXES[suffix as usize]
        )),
    }
}

impl EventKind {
    /// AWS's event type (the type [`EventKind::into_parts`] gives), without building details.
    pub(crate) fn event_type(&self) -> Cow<'static, str> {
        use EventKind::*;
        let state = state_event_name;
        let plain = match self {
            StateEntered { state_type, .. } => return state(state_type, StateEvent::Entered),
            StateExited { state_type, .. } => return state(state_type, StateEvent::Exited),
            StateStarted { state_type } => return state(state_type, StateEvent::Started),
            StateSucceeded { state_type } => return state(state_type, StateEvent::Succeeded),
            StateFailed { state_type } => return state(state_type, StateEvent::Failed),
            StateAborted { state_type } => return state(state_type, StateEvent::Aborted),
            ExecutionStarted { .. } => "ExecutionStarted",
            ExecutionRedriven { .. } => "ExecutionRedriven",
            ExecutionSucceeded { .. } => "ExecutionSucceeded",
            ExecutionFailed { .. } => "ExecutionFailed",
            ExecutionAborted { .. } => "ExecutionAborted",
            ExecutionTimedOut => "ExecutionTimedOut",
            MapStateStarted { .. } => "MapStateStarted",
            MapRunStarted { .. } => "MapRunStarted",
            MapRunRedriven { .. } => "MapRunRedriven",
            MapRunSucceeded => "MapRunSucceeded",
            MapRunAborted => "MapRunAborted",
            MapRunFailed { .. } => "MapRunFailed",
            MapIterationStarted { .. } => "MapIterationStarted",
            MapIterationSucceeded { .. } => "MapIterationSucceeded",
            MapIterationFailed { .. } => "MapIterationFailed",
            MapIterationAborted { .. } => "MapIterationAborted",
            EvaluationFailed { .. } => "EvaluationFailed",
            TaskScheduled { .. } => "TaskScheduled",
            TaskStarted { .. } => "TaskStarted",
            TaskSubmitted { .. } => "TaskSubmitted",
            TaskSucceeded { .. } => "TaskSucceeded",
            TaskFailed { .. } => "TaskFailed",
            TaskTimedOut { .. } => "TaskTimedOut",
            LambdaFunctionScheduled { .. } => "LambdaFunctionScheduled",
            LambdaFunctionStarted => "LambdaFunctionStarted",
            LambdaFunctionSucceeded { .. } => "LambdaFunctionSucceeded",
            LambdaFunctionFailed { .. } => "LambdaFunctionFailed",
            LambdaFunctionTimedOut { .. } => "LambdaFunctionTimedOut",
            ActivityScheduled { .. } => "ActivityScheduled",
            ActivityStarted { .. } => "ActivityStarted",
            ActivitySucceeded { .. } => "ActivitySucceeded",
            ActivityFailed { .. } => "ActivityFailed",
            ActivityTimedOut { .. } => "ActivityTimedOut",
        };
        Cow::Borrowed(plain)
    }

    /// AWS's event type and details object. Keys are in AWS's order, which the stored form keeps.
    pub(crate) fn into_parts(self) -> (String, Option<Value>) {
        use EventKind::*;
        let (ty, details): (Cow<'static, str>, Option<Value>) = match self {
            ExecutionStarted {
                input,
                role_arn,
                started_at,
            } => {
                let mut d = object!([
                    ("input", text(input.rendered().into_owned())),
                    ("inputDetails", not_truncated()),
                    ("roleArn", text(role_arn)),
                ]);
                if let Some((state, source)) = started_at {
                    insert_some(&mut d, "startAt", Some(text(state)));
                    insert_some(&mut d, "sourceExecutionArn", source.map(text));
                }
                ("ExecutionStarted".into(), Some(d))
            }
            ExecutionRedriven {
                redrive_count,
                resumed,
            } => {
                let mut d = object!([("redriveCount", Value::from(redrive_count))]);
                if let Some(r) = resumed {
                    insert_some(&mut d, "stateName", Some(text(r.state_name)));
                    insert_some(&mut d, "inputReplaced", Some(Value::Bool(r.input_replaced)));
                    insert_some(&mut d, "branchIndex", r.branch_index.map(Value::from));
                    insert_some(
                        &mut d,
                        "mapIterationIndex",
                        r.map_iteration_index.map(Value::from),
                    );
                }
                ("ExecutionRedriven".into(), Some(d))
            }
            ExecutionSucceeded { output } => (
                "ExecutionSucceeded".into(),
                Some(object!([
                    ("output", text(output.rendered().into_owned())),
                    ("outputDetails", not_truncated()),
                ])),
            ),
            ExecutionFailed { error, cause } => (
                "ExecutionFailed".into(),
                Some(error_and_cause(error, cause)),
            ),
            ExecutionAborted { error, cause } => (
                "ExecutionAborted".into(),
                Some(error_and_cause(error, cause)),
            ),
            ExecutionTimedOut => (
                "ExecutionTimedOut".into(),
                Some(error_and_cause(
                    Some(errors::TIMEOUT.into()),
                    Some("The execution timed out".into()),
                )),
            ),
            StateEntered {
                state_type,
                name,
                input,
            } => (
                format!("{state_type}StateEntered").into(),
                Some(object!([
                    ("name", text(name.to_string())),
                    ("input", text(input)),
                    ("inputDetails", not_truncated()),
                ])),
            ),
            StateExited {
                state_type,
                name,
                output,
                assigned,
            } => {
                let mut d = object!([
                    ("name", text(name.to_string())),
                    ("output", text(output)),
                    ("outputDetails", not_truncated()),
                ]);
                if let Some(vars) = assigned {
                    insert_some(&mut d, "assignedVariables", Some(Value::Object(vars)));
                    insert_some(&mut d, "assignedVariablesDetails", Some(not_truncated()));
                }
                (format!("{state_type}StateExited").into(), Some(d))
            }
            StateStarted { state_type } => (format!("{state_type}StateStarted").into(), None),
            StateSucceeded { state_type } => (format!("{state_type}StateSucceeded").into(), None),
            StateFailed { state_type } => (format!("{state_type}StateFailed").into(), None),
            StateAborted { state_type } => (format!("{state_type}StateAborted").into(), None),
            MapStateStarted { length } => (
                "MapStateStarted".into(),
                Some(object!([("length", Value::from(length))])),
            ),
            MapRunStarted { map_run_arn } => (
                "MapRunStarted".into(),
                Some(object!([("mapRunArn", text(map_run_arn))])),
            ),
            MapRunSucceeded => ("MapRunSucceeded".into(), None),
            MapRunAborted => ("MapRunAborted".into(), None),
            MapRunRedriven {
                map_run_arn,
                redrive_count,
            } => (
                "MapRunRedriven".into(),
                Some(object!([
                    ("mapRunArn", text(map_run_arn)),
                    ("redriveCount", Value::from(redrive_count))
                ])),
            ),
            MapRunFailed { error, cause } => (
                "MapRunFailed".into(),
                Some(error_and_cause(Some(error), Some(cause))),
            ),
            MapIterationStarted { name, index } => {
                ("MapIterationStarted".into(), Some(iteration(name, index)))
            }
            MapIterationSucceeded { name, index } => {
                ("MapIterationSucceeded".into(), Some(iteration(name, index)))
            }
            MapIterationFailed { name, index } => {
                ("MapIterationFailed".into(), Some(iteration(name, index)))
            }
            MapIterationAborted { name, index } => {
                ("MapIterationAborted".into(), Some(iteration(name, index)))
            }
            EvaluationFailed {
                error,
                cause,
                state,
                location,
            } => {
                let mut d = object!([
                    ("error", text(error)),
                    ("cause", text(cause)),
                    ("state", text(state)),
                ]);
                insert_some(&mut d, "location", location.map(text));
                ("EvaluationFailed".into(), Some(d))
            }
            TaskScheduled {
                resource,
                region,
                parameters,
                timeout_s,
                heartbeat_s,
                role_arn,
            } => {
                let mut d = object!([
                    ("resourceType", text(resource.resource_type)),
                    ("resource", text(resource.resource)),
                    ("region", text(region)),
                    ("parameters", text(parameters)),
                ]);
                insert_some(&mut d, "timeoutInSeconds", timeout_s.map(Value::from));
                insert_some(&mut d, "heartbeatInSeconds", heartbeat_s.map(Value::from));
                insert_some(
                    &mut d,
                    "taskCredentials",
                    role_arn.map(|r| object!([("roleArn", r)])),
                );
                ("TaskScheduled".into(), Some(d))
            }
            TaskStarted { resource } => (
                "TaskStarted".into(),
                Some(object!([
                    ("resourceType", text(resource.resource_type)),
                    ("resource", text(resource.resource))
                ])),
            ),
            TaskSubmitted { resource, output } => (
                "TaskSubmitted".into(),
                Some(service_output(resource, output)),
            ),
            TaskSucceeded { resource, output } => (
                "TaskSucceeded".into(),
                Some(service_output(resource, output)),
            ),
            TaskFailed {
                resource,
                error,
                cause,
            } => (
                "TaskFailed".into(),
                Some(object!([
                    ("error", text(error)),
                    ("cause", text(cause)),
                    ("resourceType", text(resource.resource_type)),
                    ("resource", text(resource.resource)),
                ])),
            ),
            // AWS records no cause for a timeout.
            TaskTimedOut { resource, error } => (
                "TaskTimedOut".into(),
                Some(object!([
                    ("error", text(error)),
                    ("resourceType", text(resource.resource_type)),
                    ("resource", text(resource.resource))
                ])),
            ),
            LambdaFunctionScheduled {
                resource,
                input,
                timeout_s,
                role_arn,
            } => {
                let mut d = scheduled(resource, input, timeout_s);
                insert_some(
                    &mut d,
                    "taskCredentials",
                    role_arn.map(|r| object!([("roleArn", r)])),
                );
                ("LambdaFunctionScheduled".into(), Some(d))
            }
            LambdaFunctionStarted => ("LambdaFunctionStarted".into(), None),
            LambdaFunctionSucceeded { output } => {
                ("LambdaFunctionSucceeded".into(), Some(output_only(output)))
            }
            LambdaFunctionFailed { error, cause } => (
                "LambdaFunctionFailed".into(),
                Some(error_and_cause(Some(error), Some(cause))),
            ),
            LambdaFunctionTimedOut { error } => (
                "LambdaFunctionTimedOut".into(),
                Some(error_and_cause(Some(error), None)),
            ),
            ActivityScheduled {
                resource,
                input,
                timeout_s,
                heartbeat_s,
            } => {
                let mut d = scheduled(resource, input, timeout_s);
                insert_some(&mut d, "heartbeatInSeconds", heartbeat_s.map(Value::from));
                ("ActivityScheduled".into(), Some(d))
            }
            // AWS records empty details when the worker gave no name.
            ActivityStarted { worker_name } => {
                let mut d = object!([]);
                insert_some(&mut d, "workerName", worker_name.map(text));
                ("ActivityStarted".into(), Some(d))
            }
            ActivitySucceeded { output } => ("ActivitySucceeded".into(), Some(output_only(output))),
            ActivityFailed { error, cause } => (
                "ActivityFailed".into(),
                Some(error_and_cause(Some(error), Some(cause))),
            ),
            ActivityTimedOut { error } => (
                "ActivityTimedOut".into(),
                Some(error_and_cause(Some(error), None)),
            ),
        };
        (ty.into_owned(), details)
    }
}

/// `{"name", "index"}` of a Map iteration's events.
fn iteration(name: Arc<str>, index: usize) -> Value {
    object!([
        ("name", text(name.to_string())),
        ("index", Value::from(index))
    ])
}

/// `{"output", "outputDetails"}`.
fn output_only(output: String) -> Value {
    object!([("output", text(output)), ("outputDetails", not_truncated())])
}

/// A service integration's result: the integration, then the output.
fn service_output(resource: ServiceResource, output: String) -> Value {
    object!([
        ("resourceType", text(resource.resource_type)),
        ("resource", text(resource.resource)),
        ("output", text(output)),
        ("outputDetails", not_truncated()),
    ])
}

pub(super) fn is_state_type(prefix: &str) -> bool {
    matches!(
        prefix,
        "Pass" | "Task" | "Choice" | "Wait" | "Succeed" | "Fail" | "Parallel" | "Map"
    )
}
