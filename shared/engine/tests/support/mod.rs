//! Shared by the engine's own tests: where the shared corpus lives, a pure driver that runs a
//! definition to its end through [`stepwise_engine::step`], and AWS-recording placeholder
//! matching.
//!
//! The driver answers as `stepwise run` with no invokers does (`stepwise_runtime`'s
//! `run_execution` with `TaskRouter::new()` and `skip_waits`): every task fails with
//! `States.Runtime`, and timers fire at once, the execution's clock jumping ahead to them.

#![allow(dead_code)] // each test binary uses its own part of this module

use regex::Regex;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};
use stepwise_asl::model::Definition;
use stepwise_asl::resource::{IntegrationPattern, ResourceKind, TaskResource};
use stepwise_engine::{
    step, Command, Event, ExecutionInfo, ExecutionState, HistoryEvent, Status, WaitId,
};

/// The `shared` folder beside the repository (conformance cases, benchmark workloads), or
/// `STEPWISE_SHARED` when set.
pub fn shared_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("STEPWISE_SHARED") {
        return Some(PathBuf::from(p));
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    p.join("conformance").is_dir().then_some(p)
}

/// The workspace's target directory, where the conformance reports go.
pub fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target")
}

fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A task the driver has yet to answer.
struct PendingTask {
    task: WaitId,
    state_name: String,
    resource: TaskResource,
}

/// Runs a definition to its end, skipping waits, with no task invokers.
pub fn run_definition(
    definition: &Value,
    input: Value,
    name: &str,
) -> Result<(ExecutionState, Vec<HistoryEvent>), String> {
    let def = Definition::from_value(definition)
        .map_err(|e| format!("{} at {}", e.message, e.location))?;
    let info = ExecutionInfo {
        execution_arn: format!(
            "arn:aws:states:us-east-1:111111111111:execution:{name}:exec-{name}"
        ),
        name: format!("exec-{name}"),
        state_machine_arn: format!("arn:aws:states:us-east-1:111111111111:stateMachine:{name}"),
        state_machine_name: name.to_string(),
        role_arn: "arn:aws:iam::111111111111:role/conformance".into(),
        start_time_ms: 1_700_000_000_000,
        redrive_count: 0,
        seed: 42,
    };
    Ok(drive(&def, info, input))
}

/// The loop of `run_execution`, without a runtime: tasks are answered in the order they were
/// invoked, before any timer (they need no time); then the earliest timer fires.
fn drive(
    def: &Definition,
    info: ExecutionInfo,
    input: Value,
) -> (ExecutionState, Vec<HistoryEvent>) {
    // The execution's clock: the wall clock plus the waits skipped so far.
    let mut offset_ms: i64 = 0;
    let now = |offset: i64| wall_clock_ms() + offset;
    let sm_name = info.state_machine_name.clone();
    let start_ms = info.start_time_ms;
    let mut tasks: VecDeque<PendingTask> = VecDeque::new();
    let mut timers: BTreeSet<(i64, WaitId)> = BTreeSet::new();
    let mut timer_due: HashMap<WaitId, i64> = HashMap::new();
    let mut history = Vec::new();
    let mut state = ExecutionState::new(info);
    let mut event = Some((start_ms, Event::Start { input }));
    while let Some((at, ev)) = event.take() {
        let tr = step(def, state, at, ev);
        state = tr.state;
        history.extend(tr.history);
        for c in tr.commands {
            match c {
                Command::InvokeTask {
                    task,
                    state_name,
                    resource,
                    ..
                } => tasks.push_back(PendingTask {
                    task,
                    state_name,
                    resource,
                }),
                Command::StartTimer { timer, at_ms } => {
                    timers.insert((at_ms, timer));
                    timer_due.insert(timer, at_ms);
                }
                Command::CancelTimer { timer } => {
                    if let Some(at) = timer_due.remove(&timer) {
                        timers.remove(&(at, timer));
                    }
                }
                Command::CancelTask { task, .. } => tasks.retain(|p| p.task != task),
                // `step` never emits it (the durable driver adds it).
                Command::PublishStatusChange { .. } => {}
            }
        }
        if state.status != Status::Running {
            break;
        }
        if let Some(p) = tasks.pop_front() {
            let (error, cause) = unserved(&sm_name, &p.state_name, &p.resource);
            event = Some((
                now(offset_ms),
                Event::TaskFailed {
                    task: p.task,
                    error,
                    cause,
                },
            ));
        } else if let Some((at, timer)) = timers.pop_first() {
            timer_due.remove(&timer);
            offset_ms += (at - now(offset_ms)).max(0);
            event = Some((now(offset_ms).max(at), Event::TimerFired { timer }));
        }
    }
    (state, history)
}

/// What `TaskRouter::new()` answers every task: `States.Runtime`, naming what would serve it.
fn unserved(
    state_machine_name: &str,
    state_name: &str,
    resource: &TaskResource,
) -> (String, String) {
    let how = if is_lambda_resource(resource) {
        "no Lambda endpoint is configured (start with --lambda-endpoint URL) and no mocked \
         response was found (start the execution with a mock test case)"
    } else {
        "Stepwise has no invoker for this integration here; mock it with a test case of the \
         mock configuration file"
    };
    (
        "States.Runtime".to_string(),
        format!(
            "Cannot run Task state '{state_name}' of state machine '{state_machine_name}': \
             resource '{resource}' cannot be served: {how}."
        ),
    )
}

/// The runtime's Lambda invoker's test of what it serves: a function ARN or `lambda:invoke`
/// (request-response or `.waitForTaskToken`).
fn is_lambda_resource(resource: &TaskResource) -> bool {
    match resource.kind() {
        ResourceKind::LambdaFunction { name, qualifier } => {
            !name.is_empty() && !qualifier.as_deref().is_some_and(|q| q.contains(':'))
        }
        ResourceKind::LambdaInvoke => matches!(
            resource.pattern(),
            IntegrationPattern::RequestResponse | IntegrationPattern::WaitForTaskToken
        ),
        _ => false,
    }
}

fn placeholder() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"<[A-Za-z][^<>]*>").expect("valid regex"))
}

/// JSON equality in which a `<...>` part of an expected string matches any text (as
/// `shared/conformance/harness.py` does).
pub fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(e), _) if placeholder().is_match(e) => {
            if placeholder()
                .find(e)
                .is_some_and(|m| m.start() == 0 && m.end() == e.len())
            {
                return true;
            }
            let Value::String(a) = actual else {
                return false;
            };
            let parts: Vec<String> = placeholder().split(e).map(regex::escape).collect();
            Regex::new(&format!("(?s)^{}$", parts.join(".+?"))).is_ok_and(|re| re.is_match(a))
        }
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter()
                    .all(|(k, v)| a.get(k).is_some_and(|av| matches(v, av)))
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| matches(x, y))
        }
        (Value::Number(e), Value::Number(a)) => e.as_f64() == a.as_f64(),
        _ => expected == actual,
    }
}

/// Error and cause: a recorded value may be JSON text the recording parsed.
pub fn text_matches(expected: &Value, actual: Option<&str>) -> bool {
    match expected {
        Value::Null => actual.is_none_or(str::is_empty),
        _ => {
            let Some(a) = actual else { return false };
            let parsed = serde_json::from_str::<Value>(a).unwrap_or(Value::String(a.to_string()));
            matches(expected, &parsed) || matches(expected, &Value::String(a.to_string()))
        }
    }
}

/// How an execution ended, as the conformance comparison sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `SUCCEEDED`, `FAILED`, ...
    pub status: String,
    /// The output, when it succeeded.
    pub output: Option<Value>,
    /// The error, when it failed.
    pub error: Option<String>,
    /// The cause, when it failed.
    pub cause: Option<String>,
    /// The history event types in order.
    pub events: Vec<String>,
}

impl Outcome {
    /// The outcome of an ended execution.
    pub fn of(state: &ExecutionState, events: Vec<String>) -> Outcome {
        Outcome {
            status: state.status.as_str().to_string(),
            output: state.output.clone(),
            error: state.error.clone(),
            cause: state.cause.clone(),
            events,
        }
    }
}

/// A conformance case: its definition, input and what AWS recorded, with the recordings' habit
/// of keeping non-object values as their JSON text undone.
pub fn load_case(dir: &std::path::Path) -> (Value, Value, Value) {
    let load = |f: &str| -> Value {
        std::fs::read_to_string(dir.join(f))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null)
    };
    let mut expected = load("expected.json");
    expected["output"] = unwrap_recorded_text(expected["output"].take());
    (
        load("definition.json"),
        unwrap_recorded_text(load("input.json")),
        expected,
    )
}

/// The recordings keep top-level values that are not objects as their JSON text (`"[1,2,3]"`,
/// `"42"`, `"true"`) where AWS gave (or was given) the value itself; read them back as values.
fn unwrap_recorded_text(v: Value) -> Value {
    match &v {
        Value::String(s) => serde_json::from_str::<Value>(s).unwrap_or(v),
        _ => v,
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(300).collect()
}

/// Compares an outcome with what AWS recorded: status, output, error, cause, event types.
pub fn compare_with_recording(expected: &Value, got: &Outcome) -> Result<(), String> {
    let mut problems = Vec::new();
    if expected["status"] != got.status.as_str() {
        problems.push(format!("status {} != {}", got.status, expected["status"]));
    }
    if expected["status"] == "SUCCEEDED" {
        let out = got.output.clone().unwrap_or(Value::Null);
        if !matches(&expected["output"], &out) {
            problems.push(format!(
                "output {} != {}",
                truncate(&out.to_string()),
                truncate(&expected["output"].to_string())
            ));
        }
    }
    if expected["status"] == "FAILED" {
        if !text_matches(&expected["error"], got.error.as_deref()) {
            problems.push(format!("error {:?} != {}", got.error, expected["error"]));
        }
        if !text_matches(&expected["cause"], got.cause.as_deref()) {
            problems.push(format!(
                "cause {:?} != {}",
                got.cause.as_deref().map(truncate),
                truncate(&expected["cause"].to_string())
            ));
        }
    }
    let types = Value::Array(got.events.iter().cloned().map(Value::String).collect());
    if types != expected["events"] {
        problems.push(format!("events {types} != {}", expected["events"]));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
