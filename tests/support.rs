//! Helpers shared by the end-to-end tests: where the shared corpus lives, how to run a
//! definition through the engine, and AWS-recording placeholder matching.

use regex::Regex;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use stepwise_asl::model::Definition;
use stepwise_engine::{ExecutionInfo, ExecutionState, HistoryEvent};
use stepwise_runtime::local::{run_execution, Observer, RunOptions};
use stepwise_runtime::tasks::TaskRouter;

/// The `shared` folder beside the repository (conformance cases, benchmark workloads), or
/// `STEPWISE_SHARED` when set.
pub fn shared_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("STEPWISE_SHARED") {
        return Some(PathBuf::from(p));
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    p.join("conformance").is_dir().then_some(p)
}

struct Collect(Vec<HistoryEvent>);

impl Observer for Collect {
    fn on_event(&mut self, event: &HistoryEvent) {
        self.0.push(event.clone());
    }
}

/// Runs a definition to its end in this process, skipping waits, with no task invokers.
pub async fn run_definition(
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
    let mut events = Collect(Vec::new());
    let options = RunOptions {
        skip_waits: true,
        test_case: None,
    };
    let state = run_execution(
        Arc::new(def),
        info,
        input,
        Arc::new(TaskRouter::new()),
        options,
        &mut events,
    )
    .await;
    Ok((state, events.0))
}

fn placeholder() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"<[A-Za-z][^<>]*>").expect("valid regex"))
}

/// JSON equality in which a `<...>` part of an expected string matches any text (as
/// `../shared/conformance/harness.py` does).
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

/// The `stepwise` binary of this workspace.
///
/// `cargo test --workspace` builds it beside the test executables (`target/debug/stepwise`) with
/// the workspace's features; that one is used unless a source file is newer. Otherwise (a single
/// package's tests after an edit) it is built here, once.
pub fn stepwise_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let beside = std::env::current_exe().ok().and_then(|exe| {
            exe.parent()
                .and_then(|deps| deps.parent())
                .map(|d| d.join("stepwise"))
        });
        if let Some(bin) = beside {
            let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
            if built.is_some_and(|t| !sources_newer_than(&root, t)) {
                return bin;
            }
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--quiet", "-p", "stepwise", "--bin", "stepwise"])
            .current_dir(&root)
            .status()
            .expect("running cargo build");
        assert!(status.success(), "cargo build -p stepwise failed");
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .map(|p| if p.is_absolute() { p } else { root.join(p) })
            .unwrap_or_else(|_| root.join("target"));
        target.join("debug").join("stepwise")
    })
    .clone()
}

/// True when a Rust source of the binary's crates changed after `t`.
fn sources_newer_than(root: &std::path::Path, t: std::time::SystemTime) -> bool {
    fn walk(dir: &std::path::Path, t: std::time::SystemTime) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return false;
        };
        entries.filter_map(|e| e.ok()).any(|e| {
            let p = e.path();
            if p.is_dir() {
                walk(&p, t)
            } else {
                e.metadata().and_then(|m| m.modified()).is_ok_and(|m| m > t)
            }
        })
    }
    let mut dirs = vec![root.join("functions/stepwise/src")];
    if let Ok(shared) = std::fs::read_dir(root.join("shared")) {
        dirs.extend(shared.filter_map(|e| e.ok()).map(|e| e.path().join("src")));
    }
    dirs.iter().any(|d| walk(d, t))
}

pub mod emulators;

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
