//! The typed definition a state machine parses into.
//!
//! All (sub)machines of a definition — the top level, each Parallel branch, each Map's
//! `ItemProcessor` — are flattened into [`Definition::machines`] and referred to by index, so an
//! execution's checkpoint can name a state with two small numbers.

use crate::choice::Rule;
use crate::jsonpath::JsonPath;
use crate::payload::{Expression, Template};
use crate::resource::TaskResource;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Index of a (sub)machine in [`Definition::machines`].
pub type MachineId = usize;
/// Index of a state in [`Machine::states`].
pub type StateId = usize;

/// Why a definition could not be turned into a [`Definition`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at {location}")]
pub struct ModelError {
    /// What is wrong.
    pub message: String,
    /// Where, as a path into the definition (`/States/A/Next`).
    pub location: String,
}

/// The query language of a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryLanguage {
    /// Paths, payload templates and intrinsic functions.
    JsonPath,
    /// `{% ... %}` expressions.
    Jsonata,
}

/// A whole state machine definition.
#[derive(Debug, Clone)]
pub struct Definition {
    /// Every (sub)machine; index 0 is the top level.
    pub machines: Vec<Machine>,
    /// The machine's `TimeoutSeconds`.
    pub timeout_seconds: Option<u64>,
    /// The top-level query language.
    pub query_language: QueryLanguage,
}

/// A list of states with a start: the top level, a Parallel branch or a Map's processor.
#[derive(Debug, Clone)]
pub struct Machine {
    /// The state `StartAt` names.
    pub start_at: StateId,
    /// The states, in definition order.
    pub states: Vec<State>,
    /// For a Map processor: `ProcessorConfig.Mode` is `DISTRIBUTED`.
    pub distributed: bool,
}

/// A value given either literally or by a path (`TimeoutSeconds` / `TimeoutSecondsPath`).
#[derive(Debug, Clone, PartialEq)]
pub enum ValueOrPath {
    /// A literal value, or in JSONata a `{% %}` string.
    Value(Value),
    /// A reference path (for `ErrorPath` and `CausePath`, or an intrinsic function call),
    /// compiled.
    Path(Expression),
}

/// `Error`/`ErrorPath` and `Cause`/`CausePath` of a Fail state.
pub type FailField = Option<ValueOrPath>;

/// One retrier of a `Retry` list.
#[derive(Debug, Clone)]
pub struct Retrier {
    /// Error names this retrier handles.
    pub error_equals: Vec<String>,
    /// Seconds before the first retry.
    pub interval_seconds: f64,
    /// Retries allowed.
    pub max_attempts: u32,
    /// Multiplier of the interval per retry.
    pub backoff_rate: f64,
    /// Cap on the interval.
    pub max_delay_seconds: Option<f64>,
    /// `JitterStrategy` is `FULL`.
    pub full_jitter: bool,
}

/// One catcher of a `Catch` list.
#[derive(Debug, Clone)]
pub struct Catcher {
    /// Error names this catcher handles.
    pub error_equals: Vec<String>,
    /// The state to go to.
    pub next: StateId,
    /// Where the `{Error, Cause}` object goes (JSONPath); `None` is JSON null.
    pub result_path: Option<JsonPath>,
    /// JSONata `Output`.
    pub output: Option<Value>,
    /// Variables to assign.
    pub assign: Option<Template>,
}

/// A Choice rule with its target.
#[derive(Debug, Clone)]
pub struct ChoiceBranch {
    /// The condition.
    pub condition: Condition,
    /// Where to go when it holds.
    pub next: StateId,
    /// Variables to assign when taken.
    pub assign: Option<Template>,
    /// JSONata `Output` when taken.
    pub output: Option<Value>,
}

/// A Choice rule's condition.
#[derive(Debug, Clone)]
pub enum Condition {
    /// A JSONPath rule (`Variable` + operator, `And`/`Or`/`Not`).
    Rule(Rule),
    /// A JSONata `Condition` (a `{% %}` string or a literal boolean).
    Jsonata(Value),
}

/// How long a Wait state waits.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    /// `Seconds` (a number, or a JSONata expression).
    Seconds(Value),
    /// `Timestamp` (a string, or a JSONata expression).
    Timestamp(Value),
    /// `SecondsPath`.
    SecondsPath(JsonPath),
    /// `TimestampPath`.
    TimestampPath(JsonPath),
}

/// What a Map state iterates over and how.
#[derive(Debug, Clone)]
pub struct MapSpec {
    /// The processor machine.
    pub processor: MachineId,
    /// `ItemsPath` (JSONPath), default `$`.
    pub items_path: Option<JsonPath>,
    /// `Items` (JSONata, or a literal array).
    pub items: Option<Value>,
    /// `ItemSelector`, or the older `Parameters`.
    pub item_selector: Option<Template>,
    /// `MaxConcurrency` or `MaxConcurrencyPath`.
    pub max_concurrency: Option<ValueOrPath>,
    /// `ToleratedFailurePercentage` or its Path form.
    pub tolerated_failure_percentage: Option<ValueOrPath>,
    /// `ToleratedFailureCount` or its Path form.
    pub tolerated_failure_count: Option<ValueOrPath>,
    /// `ItemReader`: the items come from S3 (or a local folder standing for it).
    pub item_reader: Option<crate::map_io::ItemReaderSpec>,
    /// `ItemBatcher`.
    pub item_batcher: Option<crate::map_io::ItemBatcherSpec>,
    /// `ResultWriter`.
    pub result_writer: Option<crate::map_io::ResultWriterSpec>,
    /// `Label`.
    pub label: Option<String>,
}

/// The part of a state that depends on its type.
#[derive(Debug, Clone)]
pub enum StateKind {
    /// Pass, with its optional `Result`.
    Pass {
        /// `Result`.
        result: Option<Value>,
    },
    /// Task.
    Task {
        /// `Resource`, parsed.
        resource: TaskResource,
        /// `TimeoutSeconds` or `TimeoutSecondsPath`.
        timeout_seconds: Option<ValueOrPath>,
        /// `HeartbeatSeconds` or `HeartbeatSecondsPath`.
        heartbeat_seconds: Option<ValueOrPath>,
        /// `Credentials`.
        credentials: Option<Template>,
    },
    /// Choice.
    Choice {
        /// `Choices`.
        choices: Vec<ChoiceBranch>,
        /// `Default`.
        default: Option<StateId>,
    },
    /// Wait.
    Wait(WaitFor),
    /// Succeed.
    Succeed,
    /// Fail.
    Fail {
        /// `Error` or `ErrorPath`.
        error: FailField,
        /// `Cause` or `CausePath`.
        cause: FailField,
    },
    /// Parallel, with one machine per branch.
    Parallel {
        /// `Branches`.
        branches: Vec<MachineId>,
    },
    /// Map.
    Map(Box<MapSpec>),
}

/// One state.
#[derive(Debug, Clone)]
pub struct State {
    /// Its name.
    pub name: std::sync::Arc<str>,
    /// Its `Type`-specific part.
    pub kind: StateKind,
    /// The query language in effect for it.
    pub query_language: QueryLanguage,
    /// `Next`, or `None` when it ends its machine.
    pub next: Option<StateId>,
    /// `InputPath`; `None` is JSON null. Defaults to `$`.
    pub input_path: Option<JsonPath>,
    /// `OutputPath`; `None` is JSON null. Defaults to `$`.
    pub output_path: Option<JsonPath>,
    /// `ResultPath`; `None` is JSON null. Defaults to `$`.
    pub result_path: Option<JsonPath>,
    /// `Parameters` (JSONPath) or `Arguments` (JSONata).
    pub parameters: Option<Template>,
    /// `ResultSelector`.
    pub result_selector: Option<Template>,
    /// JSONata `Output`.
    pub output: Option<Value>,
    /// `Assign`.
    pub assign: Option<Template>,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
}

impl State {
    /// The prefix of this state's history event types (`Pass` in `PassStateEntered`).
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            StateKind::Pass { .. } => "Pass",
            StateKind::Task { .. } => "Task",
            StateKind::Choice { .. } => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail { .. } => "Fail",
            StateKind::Parallel { .. } => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }

    /// The index of [`State::type_name`] in `Pass, Task, Choice, Wait, Succeed, Fail,
    /// Parallel, Map` (the engine's history names state events by it).
    pub fn type_index(&self) -> u8 {
        match self.kind {
            StateKind::Pass { .. } => 0,
            StateKind::Task { .. } => 1,
            StateKind::Choice { .. } => 2,
            StateKind::Wait(_) => 3,
            StateKind::Succeed => 4,
            StateKind::Fail { .. } => 5,
            StateKind::Parallel { .. } => 6,
            StateKind::Map(_) => 7,
        }
    }
}

impl Definition {
    /// Parses a definition's JSON text.
    pub fn from_json(text: &str) -> Result<Definition, ModelError> {
        let value: Value = serde_json::from_str(text).map_err(|e| ModelError {
            message: format!("invalid JSON: {e}"),
            location: String::new(),
        })?;
        Definition::from_value(&value)
    }

    /// Parses a definition.
    pub fn from_value(value: &Value) -> Result<Definition, ModelError> {
        let root = obj(value, "")?;
        let query_language = match root.get("QueryLanguage") {
            None => QueryLanguage::JsonPath,
            Some(v) => language(v, "/QueryLanguage")?,
        };
        let timeout_seconds = match root.get("TimeoutSeconds") {
            None => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                err(
                    "TimeoutSeconds must be a positive integer",
                    "/TimeoutSeconds",
                )
            })?),
        };
        let mut def = Definition {
            machines: Vec::new(),
            timeout_seconds,
            query_language,
        };
        def.parse_machine(root, "", query_language, false)?;
        Ok(def)
    }

    /// The top-level machine.
    pub fn root(&self) -> &Machine {
        &self.machines[0]
    }

    /// A state by machine and index.
    pub fn state(&self, machine: MachineId, state: StateId) -> &State {
        &self.machines[machine].states[state]
    }

    fn parse_machine(
        &mut self,
        m: &Map<String, Value>,
        loc: &str,
        lang: QueryLanguage,
        distributed: bool,
    ) -> Result<MachineId, ModelError> {
        let id = self.machines.len();
        self.machines.push(Machine {
            start_at: 0,
            states: Vec::new(),
            distributed,
        });
        let states_loc = format!("{loc}/States");
        let states = obj(m.get("States").unwrap_or(&Value::Null), &states_loc)?;
        let index: HashMap<&str, StateId> = states
            .keys()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        let lookup = |name: &Value, at: String| -> Result<StateId, ModelError> {
            name.as_str()
                .and_then(|n| index.get(n).copied())
                .ok_or_else(|| err(format!("no state named {name}"), &at))
        };
        let start_at = lookup(
            m.get("StartAt").unwrap_or(&Value::Null),
            format!("{loc}/StartAt"),
        )?;
        let mut parsed = Vec::with_capacity(states.len());
        for (name, sv) in states {
            let sloc = format!("{states_loc}/{name}");
            let s = obj(sv, &sloc)?;
            let q = match s.get("QueryLanguage") {
                None => lang,
                Some(v) => language(v, &format!("{sloc}/QueryLanguage"))?,
            };
            let ty = s.get("Type").and_then(Value::as_str).unwrap_or("");
            let next = match s.get("Next") {
                Some(n) => Some(lookup(n, format!("{sloc}/Next"))?),
                None => None,
            };
            let kind = match ty {
                "Pass" => StateKind::Pass {
                    result: s.get("Result").cloned(),
                },
                "Task" => StateKind::Task {
                    resource: s
                        .get("Resource")
                        .and_then(Value::as_str)
                        .ok_or_else(|| err("Task needs a Resource", &format!("{sloc}/Resource")))?
                        .into(),
                    timeout_seconds: value_or_path(s, "TimeoutSeconds"),
                    heartbeat_seconds: value_or_path(s, "HeartbeatSeconds"),
                    credentials: template(s.get("Credentials")),
                },
                "Choice" => {
                    let mut choices = Vec::new();
                    let list = s.get("Choices").and_then(Value::as_array).ok_or_else(|| {
                        err("Choice needs a Choices array", &format!("{sloc}/Choices"))
                    })?;
                    for (i, c) in list.iter().enumerate() {
                        let cloc = format!("{sloc}/Choices/{i}");
                        let co = obj(c, &cloc)?;
                        let condition = if q == QueryLanguage::Jsonata {
                            Condition::Jsonata(co.get("Condition").cloned().unwrap_or(Value::Null))
                        } else {
                            Condition::Rule(Rule::parse(c).map_err(|m| err(m, &cloc))?)
                        };
                        choices.push(ChoiceBranch {
                            condition,
                            next: lookup(
                                co.get("Next").unwrap_or(&Value::Null),
                                format!("{cloc}/Next"),
                            )?,
                            assign: template(co.get("Assign")),
                            output: co.get("Output").cloned(),
                        });
                    }
                    let default = match s.get("Default") {
                        Some(d) => Some(lookup(d, format!("{sloc}/Default"))?),
                        None => None,
                    };
                    StateKind::Choice { choices, default }
                }
                "Wait" => {
                    let w = if let Some(v) = s.get("Seconds") {
                        WaitFor::Seconds(v.clone())
                    } else if let Some(v) = s.get("Timestamp") {
                        WaitFor::Timestamp(v.clone())
                    } else if let Some(p) = s.get("SecondsPath").and_then(Value::as_str) {
                        WaitFor::SecondsPath(p.into())
                    } else if let Some(p) = s.get("TimestampPath").and_then(Value::as_str) {
                        WaitFor::TimestampPath(p.into())
                    } else {
                        return Err(err(
                            "Wait needs Seconds, Timestamp, SecondsPath or TimestampPath",
                            &sloc,
                        ));
                    };
                    StateKind::Wait(w)
                }
                "Succeed" => StateKind::Succeed,
                "Fail" => StateKind::Fail {
                    error: value_or_path(s, "Error"),
                    cause: value_or_path(s, "Cause"),
                },
                "Parallel" => {
                    let list = s.get("Branches").and_then(Value::as_array).ok_or_else(|| {
                        err(
                            "Parallel needs a Branches array",
                            &format!("{sloc}/Branches"),
                        )
                    })?;
                    if list.is_empty() {
                        return Err(err("Value cannot be empty", &format!("{sloc}/Branches")));
                    }
                    let mut branches = Vec::new();
                    for (i, b) in list.iter().enumerate() {
                        let bloc = format!("{sloc}/Branches/{i}");
                        let bo = obj(b, &bloc)?;
                        branches.push(self.parse_machine(bo, &bloc, q, false)?);
                    }
                    StateKind::Parallel { branches }
                }
                "Map" => {
                    let (key, proc_value) = match (s.get("ItemProcessor"), s.get("Iterator")) {
                        (Some(p), _) => ("ItemProcessor", p),
                        (None, Some(p)) => ("Iterator", p),
                        (None, None) => {
                            return Err(err(
                                "Map needs an ItemProcessor",
                                &format!("{sloc}/ItemProcessor"),
                            ))
                        }
                    };
                    let ploc = format!("{sloc}/{key}");
                    let po = obj(proc_value, &ploc)?;
                    let distributed = po
                        .get("ProcessorConfig")
                        .and_then(|c| c.get("Mode"))
                        .and_then(Value::as_str)
                        == Some("DISTRIBUTED");
                    let processor = self.parse_machine(po, &ploc, q, distributed)?;
                    StateKind::Map(Box::new(MapSpec {
                        processor,
                        items_path: match s.get("ItemsPath") {
                            None => Some("$".into()),
                            Some(Value::String(p)) => Some(p.as_str().into()),
                            Some(_) => None,
                        },
                        items: s.get("Items").cloned(),
                        item_selector: s
                            .get("ItemSelector")
                            .or_else(|| {
                                if q == QueryLanguage::JsonPath {
                                    s.get("Parameters")
                                } else {
                                    None
                                }
                            })
                            .cloned()
                            .map(Template::new),
                        max_concurrency: value_or_path(s, "MaxConcurrency"),
                        tolerated_failure_percentage: value_or_path(
                            s,
                            "ToleratedFailurePercentage",
                        ),
                        tolerated_failure_count: value_or_path(s, "ToleratedFailureCount"),
                        item_reader: s
                            .get("ItemReader")
                            .and_then(|v| crate::map_io::ItemReaderSpec::parse(v, q)),
                        item_batcher: s
                            .get("ItemBatcher")
                            .and_then(crate::map_io::ItemBatcherSpec::parse),
                        result_writer: s
                            .get("ResultWriter")
                            .and_then(|v| crate::map_io::ResultWriterSpec::parse(v, q)),
                        label: s.get("Label").and_then(Value::as_str).map(str::to_string),
                    }))
                }
                _ => {
                    return Err(err(
                        // AWS's wording (its TestState answer for an unknown type).
                        "The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]",
                        &format!("{sloc}/Type"),
                    ));
                }
            };
            let mut retry = Vec::new();
            if let Some(list) = s.get("Retry").and_then(Value::as_array) {
                for r in list {
                    retry.push(Retrier {
                        error_equals: strings(r.get("ErrorEquals")),
                        interval_seconds: r
                            .get("IntervalSeconds")
                            .and_then(Value::as_f64)
                            .unwrap_or(1.0),
                        max_attempts: r
                            .get("MaxAttempts")
                            .and_then(Value::as_u64)
                            .map(|n| n.min(u32::MAX as u64) as u32)
                            .unwrap_or(3),
                        backoff_rate: r.get("BackoffRate").and_then(Value::as_f64).unwrap_or(2.0),
                        max_delay_seconds: r.get("MaxDelaySeconds").and_then(Value::as_f64),
                        full_jitter: r.get("JitterStrategy").and_then(Value::as_str)
                            == Some("FULL"),
                    });
                }
            }
            let mut catch = Vec::new();
            if let Some(list) = s.get("Catch").and_then(Value::as_array) {
                for (i, c) in list.iter().enumerate() {
                    catch.push(Catcher {
                        error_equals: strings(c.get("ErrorEquals")),
                        next: lookup(
                            c.get("Next").unwrap_or(&Value::Null),
                            format!("{sloc}/Catch/{i}/Next"),
                        )?,
                        result_path: path_field(c.get("ResultPath")),
                        output: c.get("Output").cloned(),
                        assign: template(c.get("Assign")),
                    });
                }
            }
            let (parameters, input_path, output_path, result_path) = if q == QueryLanguage::Jsonata
            {
                (
                    template(s.get("Arguments")),
                    Some("$".into()),
                    Some("$".into()),
                    Some("$".into()),
                )
            } else {
                (
                    if ty == "Map" {
                        None
                    } else {
                        template(s.get("Parameters"))
                    },
                    path_field(s.get("InputPath")),
                    path_field(s.get("OutputPath")),
                    path_field(s.get("ResultPath")),
                )
            };
            parsed.push(State {
                name: name.as_str().into(),
                kind,
                query_language: q,
                next,
                input_path,
                output_path,
                result_path,
                parameters,
                result_selector: template(s.get("ResultSelector")),
                output: s.get("Output").cloned(),
                assign: template(s.get("Assign")),
                retry,
                catch,
            });
        }
        self.machines[id] = Machine {
            start_at,
            states: parsed,
            distributed,
        };
        Ok(id)
    }
}

fn err(message: impl Into<String>, location: &str) -> ModelError {
    ModelError {
        message: message.into(),
        location: location.to_string(),
    }
}

fn obj<'a>(v: &'a Value, loc: &str) -> Result<&'a Map<String, Value>, ModelError> {
    v.as_object().ok_or_else(|| err("expected an object", loc))
}

fn language(v: &Value, loc: &str) -> Result<QueryLanguage, ModelError> {
    match v.as_str() {
        Some("JSONPath") => Ok(QueryLanguage::JsonPath),
        Some("JSONata") => Ok(QueryLanguage::Jsonata),
        _ => Err(err("QueryLanguage must be JSONPath or JSONata", loc)),
    }
}

/// A path field: absent means `$`, JSON null means `None`.
fn path_field(v: Option<&Value>) -> Option<JsonPath> {
    match v {
        None => Some("$".into()),
        Some(Value::String(s)) => Some(s.as_str().into()),
        Some(_) => None,
    }
}

fn value_or_path(s: &Map<String, Value>, field: &str) -> Option<ValueOrPath> {
    if let Some(v) = s.get(field) {
        return Some(ValueOrPath::Value(v.clone()));
    }
    s.get(&format!("{field}Path"))
        .and_then(Value::as_str)
        .map(|p| ValueOrPath::Path(p.into()))
}

/// A payload template field, compiled (JSONata states keep it too: they read its JSON).
fn template(v: Option<&Value>) -> Option<Template> {
    v.cloned().map(Template::new)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_branches_and_processors() {
        let def = Definition::from_json(
            r#"{"StartAt":"P","States":{
                "P":{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}],"Next":"M"},
                "M":{"Type":"Map","ItemProcessor":{"StartAt":"B","States":{"B":{"Type":"Succeed"}}},"End":true}}}"#,
        )
        .expect("valid");
        assert_eq!(def.machines.len(), 3);
        assert_eq!(def.root().states[0].next, Some(1));
        assert!(
            matches!(def.root().states[0].kind, StateKind::Parallel { ref branches } if branches == &[1])
        );
    }

    #[test]
    fn unknown_next_is_an_error_with_its_location() {
        let e = Definition::from_json(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nope"}}}"#,
        )
        .expect_err("invalid");
        assert_eq!(e.location, "/States/A/Next");
    }

    #[test]
    fn templates_and_path_fields_are_compiled_at_load() {
        let def = Definition::from_json(
            r#"{"StartAt":"A","States":{
                "A":{"Type":"Pass","Parameters":{"k.$":"$.["},"Next":"F"},
                "F":{"Type":"Fail","ErrorPath":"States.Format('{}', $.e)","CausePath":"$.c"}}}"#,
        )
        .expect("a bad path in a template fails when evaluated, not at load");
        let a = &def.root().states[0];
        assert_eq!(
            a.parameters.as_ref().map(|p| p.source().clone()),
            Some(serde_json::json!({"k.$": "$.["}))
        );
        let StateKind::Fail { error, cause } = &def.root().states[1].kind else {
            panic!("a Fail state");
        };
        assert_eq!(
            error,
            &Some(ValueOrPath::Path("States.Format('{}', $.e)".into()))
        );
        assert_eq!(cause, &Some(ValueOrPath::Path("$.c".into())));
    }

    #[test]
    fn null_paths_are_none_and_absent_paths_default_to_root() {
        let def = Definition::from_json(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":null,"End":true}}}"#,
        )
        .expect("valid");
        let a = &def.root().states[0];
        assert_eq!(a.result_path, None);
        assert_eq!(a.input_path.as_deref(), Some("$"));
    }
}
