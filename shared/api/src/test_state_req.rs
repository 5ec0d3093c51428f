//! TestState's request: the state under test (alone, or named in a whole state machine), its
//! mock, Context object, variables and configuration, checked as AWS checks them and with
//! AWS's messages (recorded in LocalStack's AWS-validated TestState snapshots).

use crate::error::{ApiError, ApiResult, Shown};
use crate::req::Req;
use crate::MAX_PAYLOAD;
use serde_json::{json, Map, Value};
use stepwise_asl::model::Definition;
use stepwise_asl::resource::TaskResource;

/// The name AWS gives a state tested on its own (`$$.State.Name`).
pub(crate) const SINGLE_STATE_NAME: &str = "StateName";

/// What TestState's `mock` says the state returns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Mock {
    /// `result`: the state's (or task's) result.
    Result(Value),
    /// `errorOutput`: the error the state raises.
    Error { error: String, cause: String },
}

/// A TestState request, read and checked.
#[derive(Debug)]
pub(crate) struct TestRequest {
    /// The name of the state under test.
    pub name: String,
    /// The machine that runs it: the state at `StartAt`, its successors present.
    pub machine: Definition,
    pub input: Value,
    pub level: Level,
    pub role_arn: Option<String>,
    pub reveal_secrets: bool,
    pub mock: Option<Mock>,
    pub context: Option<Value>,
    pub variables: Map<String, Value>,
    pub retrier_retry_count: Option<u32>,
    /// `stateConfiguration.mapIterationFailureCount`.
    pub map_iteration_failure_count: Option<u64>,
    /// A mocked Task result to check against its API's output shape: the Task's resource and
    /// whether required members count (`fieldValidationMode` STRICT) or only present ones
    /// (PRESENT); none for NONE or without such a mock.
    pub check_result: Option<(TaskResource, bool)>,
    /// A Map or Parallel, whose mock stands in for its iterations or branches.
    pub fan_out: bool,
}

/// `inspectionLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Info,
    Debug,
    Trace,
}

fn invalid_definition(m: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        "InvalidDefinition",
        format!("Invalid State Machine Definition: '{m}'"),
    )
}

fn schema_error(e: stepwise_asl::model::ModelError) -> ApiError {
    invalid_definition(format!(
        "SCHEMA_VALIDATION_FAILED: {} at {}",
        e.message, e.location
    ))
}

/// A JSON text member no longer than AWS's SensitiveData (256 KiB).
fn sensitive(r: &Req, field: &str) -> ApiResult<Option<String>> {
    let v = r.opt_str(field)?;
    if v.as_ref().is_some_and(|v| v.len() > MAX_PAYLOAD) {
        return Err(ApiError::constraint(
            Shown::Withheld,
            field,
            &format!("Member must have length less than or equal to {MAX_PAYLOAD}"),
        ));
    }
    Ok(v)
}

/// The states a state can go to: its Next, Default, Choices' and Catchers' Next.
fn successors(state: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |v: Option<&Value>| {
        if let Some(Value::String(s)) = v {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
    };
    push(state.get("Next"));
    push(state.get("Default"));
    for list in ["Choices", "Catch"] {
        if let Some(Value::Array(a)) = state.get(list) {
            for c in a {
                push(c.get("Next"));
            }
        }
    }
    out
}

fn type_of(state: &Map<String, Value>) -> &str {
    state.get("Type").and_then(Value::as_str).unwrap_or("")
}

impl TestRequest {
    pub(crate) fn read(r: &Req) -> ApiResult<TestRequest> {
        let definition = r.str("definition")?;
        let state_name = r.opt_str("stateName")?;
        if let Some(n) = &state_name {
            if n.is_empty() || n.chars().count() > 80 {
                let c = if n.is_empty() {
                    "Member must have length greater than or equal to 1"
                } else {
                    "Member must have length less than or equal to 80"
                };
                return Err(ApiError::constraint(Shown::Withheld, "stateName", c));
            }
        }
        let level = match r.opt_str("inspectionLevel")?.as_deref() {
            None | Some("INFO") => Level::Info,
            Some("DEBUG") => Level::Debug,
            Some("TRACE") => Level::Trace,
            Some(other) => {
                return Err(ApiError::constraint(
                    Shown::Text(other),
                    "inspectionLevel",
                    "Member must satisfy enum value set: [INFO, DEBUG, TRACE]",
                ))
            }
        };
        let parsed: Value = serde_json::from_str(&definition)
            .map_err(|e| invalid_definition(format!("INVALID_JSON_DESCRIPTION: {e}")))?;
        let Value::Object(parsed) = parsed else {
            return Err(invalid_definition(
                "SCHEMA_VALIDATION_FAILED: the definition must be a JSON object at /",
            ));
        };
        // The state and the machine it runs in.
        let (name, state, machine) = match &state_name {
            Some(n) => {
                // A whole state machine: valid as a whole, the named state at its top level.
                Definition::from_value(&Value::Object(parsed.clone())).map_err(schema_error)?;
                // The named state may sit at the top level or inside a Parallel's branch or a
                // Map's ItemProcessor (AWS tests a Map's `HandleItem` so); it runs in the States
                // it belongs to, in the machine's query language.
                let Some((state, states)) = parsed
                    .get("States")
                    .and_then(Value::as_object)
                    .and_then(|states| find_state(states, n))
                else {
                    return Err(ApiError::validation("State not found in definition"));
                };
                let mut machine = Map::new();
                machine.insert("StartAt".into(), json!(n));
                machine.insert("States".into(), Value::Object(states.clone()));
                if let Some(ql) = parsed.get("QueryLanguage") {
                    machine.insert("QueryLanguage".into(), ql.clone());
                }
                (n.clone(), state.clone(), machine)
            }
            None => {
                let mut states = Map::new();
                for n in successors(&parsed) {
                    states.insert(n, json!({"Type": "Succeed"}));
                }
                states.insert(SINGLE_STATE_NAME.into(), Value::Object(parsed.clone()));
                let mut machine = Map::new();
                machine.insert("StartAt".into(), json!(SINGLE_STATE_NAME));
                machine.insert("States".into(), Value::Object(states));
                if let Some(ql) = parsed.get("QueryLanguage") {
                    machine.insert("QueryLanguage".into(), ql.clone());
                }
                Definition::from_value(&Value::Object(machine.clone())).map_err(schema_error)?;
                (SINGLE_STATE_NAME.to_string(), parsed, machine)
            }
        };
        let state_type = type_of(&state).to_string();

        let map_iteration_failure_count = match r.opt_obj("stateConfiguration")? {
            None => None,
            Some(cfg) => match cfg.get("mapIterationFailureCount") {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_u64() {
                    Some(n) => Some(n),
                    None => {
                        return Err(ApiError::constraint(
                            Shown::Text(&v.to_string()),
                            "stateConfiguration.mapIterationFailureCount",
                            "Member must have value greater than or equal to 0",
                        ))
                    }
                },
            },
        };
        let retrier_retry_count = match r.opt_obj("stateConfiguration")? {
            None => None,
            Some(cfg) => {
                if cfg.contains_key("mapIterationFailureCount") && r.opt_obj("mock")?.is_none() {
                    return Err(ApiError::validation(
                        "TestState does not support MapIterationFailureCount when a mock is not specified.",
                    ));
                }
                match cfg.get("retrierRetryCount") {
                    None | Some(Value::Null) => None,
                    Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                        Some(n) => Some(n),
                        None => {
                            return Err(ApiError::constraint(
                                Shown::Text(&v.to_string()),
                                "stateConfiguration.retrierRetryCount",
                                "Member must have value greater than or equal to 0",
                            ))
                        }
                    },
                }
            }
        };

        let error_caused_by_state = Self::read_error_caused_by_state(r)?;

        let mock_obj = r.opt_obj("mock")?;
        if mock_obj.is_none() && matches!(state_type.as_str(), "Map" | "Parallel") {
            return Err(ApiError::new(
                "InvalidDefinition",
                "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]",
            ));
        }
        let mock = match &mock_obj {
            None => None,
            Some(m) => Some(Self::read_mock(r, m, &state, &state_type)?),
        };
        if let Some(n) = &error_caused_by_state {
            check_error_caused_by_state(n, mock.as_ref(), &state, &state_type)?;
        }
        if let (Some(failed), Some(Mock::Result(Value::Array(items)))) =
            (map_iteration_failure_count, &mock)
        {
            if failed > items.len() as u64 {
                return Err(ApiError::validation(
                    "Map iteration failure count must be less than or equal to the number of Map iterations",
                ));
            }
        }
        let machine = Definition::from_value(&Value::Object(machine)).map_err(schema_error)?;
        let check_result = match (&mock, state.get("Resource").and_then(Value::as_str)) {
            (Some(Mock::Result(_)), Some(resource)) if state_type == "Task" => {
                let mode = mock_obj
                    .as_ref()
                    .and_then(|m| m.get("fieldValidationMode"))
                    .and_then(Value::as_str);
                match mode {
                    Some("NONE") => None,
                    Some("PRESENT") => Some((TaskResource::parse(resource), false)),
                    _ => Some((TaskResource::parse(resource), true)),
                }
            }
            _ => None,
        };

        let role_arn = r.opt_str("roleArn")?;
        if role_arn.is_none() && mock.is_none() && state_type == "Task" {
            return Err(ApiError::validation(
                "RoleArn must be specified when testing a Task state",
            ));
        }

        let input = sensitive(r, "input")?.unwrap_or_else(|| "{}".into());
        let input: Value = stepwise_engine::deep::from_str(&input).map_err(|e| {
            ApiError::new(
                "InvalidExecutionInput",
                format!("Invalid State Machine Execution Input: '{e}'"),
            )
        })?;

        let variables = match sensitive(r, "variables")? {
            None => Map::new(),
            Some(text) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(m)) => m,
                Ok(_) => {
                    return Err(ApiError::validation(
                        "Invalid variables: the variables must be a JSON object",
                    ))
                }
                Err(e) => return Err(ApiError::validation(format!("Invalid variables: {e}"))),
            },
        };

        let context = match sensitive(r, "context")? {
            None => None,
            Some(text) => {
                if mock.is_none() {
                    // AWS: "This field may only be specified if a mock is specified in the same
                    // request."
                    return Err(ApiError::validation(
                        "TestState does not support Context when a mock is not specified.",
                    ));
                }
                Some(check_context(&text, &state).map_err(|m| {
                    ApiError::validation(format!("Invalid Context object provided: {m}"))
                })?)
            }
        };

        Ok(TestRequest {
            name,
            machine,
            input,
            level,
            role_arn,
            reveal_secrets: r.opt_bool("revealSecrets")?.unwrap_or(false),
            mock,
            context,
            variables,
            retrier_retry_count,
            map_iteration_failure_count,
            check_result,
            fan_out: matches!(state_type.as_str(), "Map" | "Parallel"),
        })
    }

    /// `stateConfiguration.errorCausedByState`: a state name (1 to 80 characters, AWS's
    /// TestStateStateName), only with a mock.
    fn read_error_caused_by_state(r: &Req) -> ApiResult<Option<String>> {
        let Some(cfg) = r.opt_obj("stateConfiguration")? else {
            return Ok(None);
        };
        let name = match cfg.get("errorCausedByState") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                return Err(ApiError::validation(
                    "stateConfiguration.errorCausedByState must be a string",
                ))
            }
        };
        let len = name.chars().count();
        if len == 0 || len > 80 {
            let c = if len == 0 {
                "Member must have length greater than or equal to 1"
            } else {
                "Member must have length less than or equal to 80"
            };
            return Err(ApiError::constraint(
                Shown::Withheld,
                "stateConfiguration.errorCausedByState",
                c,
            ));
        }
        if r.opt_obj("mock")?.is_none() {
            return Err(ApiError::validation(
                "TestState does not support ErrorCausedByState when a mock is not specified.",
            ));
        }
        Ok(Some(name))
    }

    fn read_mock(
        r: &Req,
        m: &Map<String, Value>,
        state: &Map<String, Value>,
        state_type: &str,
    ) -> ApiResult<Mock> {
        if !matches!(state_type, "Task" | "Map" | "Parallel") {
            return Err(ApiError::validation(format!(
                "State type '{state_type}' is not supported when a mock is specified"
            )));
        }
        if r.opt_bool("revealSecrets")?.unwrap_or(false) {
            return Err(ApiError::validation(
                "TestState does not support RevealSecrets when a mock is specified.",
            ));
        }
        match m.get("fieldValidationMode") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if matches!(s.as_str(), "STRICT" | "PRESENT" | "NONE") => {}
            Some(v) => {
                return Err(ApiError::constraint(
                    Shown::Text(v.as_str().unwrap_or_default()),
                    "mock.fieldValidationMode",
                    "Member must satisfy enum value set: [STRICT, PRESENT, NONE]",
                ))
            }
        }
        let result = m.get("result").filter(|v| !v.is_null());
        let error_output = m.get("errorOutput").filter(|v| !v.is_null());
        match (result, error_output) {
            (Some(_), Some(_)) => Err(ApiError::validation(
                "A test mock should have only one of the following fields: [result, errorOutput].",
            )),
            (Some(text), None) => {
                let text = text.as_str().unwrap_or_default();
                if text.len() > MAX_PAYLOAD {
                    return Err(ApiError::constraint(
                        Shown::Withheld,
                        "mock.result",
                        &format!("Member must have length less than or equal to {MAX_PAYLOAD}"),
                    ));
                }
                let v: Value = stepwise_engine::deep::from_str(text)
                    .map_err(|_| ApiError::validation("Mocked result must be valid JSON"))?;
                match state_type {
                    "Map" if state.contains_key("ResultWriter") && !v.is_object() => {
                        Err(ApiError::validation("Mocked result must be a JSON object."))
                    }
                    "Map" if !state.contains_key("ResultWriter") && !v.is_array() => {
                        Err(ApiError::validation("Mocked result must be an array."))
                    }
                    "Parallel" => {
                        let branches = state
                            .get("Branches")
                            .and_then(Value::as_array)
                            .map_or(0, Vec::len);
                        match v.as_array() {
                            None => Err(ApiError::validation("Mocked result must be an array.")),
                            Some(a) if a.len() != branches => Err(ApiError::validation(
                                "Mocked result must contain the same number of items as number of Parallel branches.",
                            )),
                            Some(_) => Ok(Mock::Result(v)),
                        }
                    }
                    _ => Ok(Mock::Result(v)),
                }
            }
            (None, Some(e)) => {
                let error = e.get("error").and_then(Value::as_str);
                let Some(error) = error else {
                    return Err(ApiError::missing("mock.errorOutput.error"));
                };
                let cause = e
                    .get("cause")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                Ok(Mock::Error {
                    error: error.to_string(),
                    cause,
                })
            }
            (None, None) => Err(ApiError::validation(
                "A test mock should have one of the following fields: [result, errorOutput].",
            )),
        }
    }
}

/// A JSON object (a state, or a States map).
type Object = Map<String, Value>;

/// Finds a state by name among `states` and, below them, in Parallel branches and Map item
/// processors: the state and the States it belongs to.
fn find_state<'a>(states: &'a Map<String, Value>, name: &str) -> Option<(&'a Object, &'a Object)> {
    if let Some(Value::Object(state)) = states.get(name) {
        return Some((state, states));
    }
    states
        .values()
        .filter_map(Value::as_object)
        .flat_map(nested_state_lists)
        .find_map(|inner| find_state(inner, name))
}

/// The States of a state's Parallel branches and Map item processor (`Iterator` too).
fn nested_state_lists(state: &Map<String, Value>) -> Vec<&Map<String, Value>> {
    let mut out = Vec::new();
    if let Some(Value::Array(branches)) = state.get("Branches") {
        out.extend(
            branches
                .iter()
                .filter_map(|b| b.get("States").and_then(Value::as_object)),
        );
    }
    for key in ["ItemProcessor", "Iterator"] {
        if let Some(states) = state
            .get(key)
            .and_then(|p| p.get("States"))
            .and_then(Value::as_object)
        {
            out.push(states);
        }
    }
    out
}

/// `errorCausedByState` says which state inside a mocked Map or Parallel raised the mocked
/// error, so with an errorOutput mock it must name one of the states the Map's iterations or the
/// Parallel's branches run (at any depth). AWS's recordings name `TestState` and `HandleItem`,
/// the Map's own inner states; other uses are not recorded and are left as accepted.
fn check_error_caused_by_state(
    name: &str,
    mock: Option<&Mock>,
    state: &Map<String, Value>,
    state_type: &str,
) -> ApiResult<()> {
    if !matches!(mock, Some(Mock::Error { .. })) {
        return Ok(());
    }
    let inside = nested_state_lists(state)
        .into_iter()
        .any(|states| find_state(states, name).is_some());
    if matches!(state_type, "Map" | "Parallel") && !inside {
        return Err(ApiError::validation(format!(
            "ErrorCausedByState '{name}' is not a state of the tested {state_type} state."
        )));
    }
    Ok(())
}

/// TestState's `context`: the Context object's own fields only, each of its type; `Map` is not
/// mocked, and `Task` only for a Task that waits (`.sync`, `.waitForTaskToken`).
fn check_context(text: &str, state: &Map<String, Value>) -> Result<Value, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("Invalid JSON: {e}"))?;
    let Value::Object(top) = &v else {
        return Err("Context object must be a JSON object".into());
    };
    // Each part's fields and whether each is a string (`s`), an integer (`i`) or any JSON (`a`).
    let parts: &[(&str, &[(&str, char)])] = &[
        (
            "Execution",
            &[
                ("Id", 's'),
                ("Input", 'a'),
                ("Name", 's'),
                ("RoleArn", 's'),
                ("StartTime", 's'),
                ("RedriveCount", 'i'),
            ],
        ),
        (
            "State",
            &[("EnteredTime", 's'), ("Name", 's'), ("RetryCount", 'i')],
        ),
        ("StateMachine", &[("Id", 's'), ("Name", 's')]),
        ("Task", &[("Token", 's')]),
    ];
    for (key, value) in top {
        if key == "Map" {
            return Err("'Map' field is not supported when mocking a Context object".into());
        }
        let Some((_, fields)) = parts.iter().find(|(k, _)| k == key) else {
            return Err(format!("Field '{key}' is not allowed"));
        };
        if value.is_null() {
            continue;
        }
        let Value::Object(o) = value else {
            return Err(format!("{key} must be a object"));
        };
        for (f, fv) in o {
            let Some((_, kind)) = fields.iter().find(|(n, _)| n == f) else {
                return Err(format!("Field '{f}' is not allowed"));
            };
            let ok = fv.is_null()
                || match kind {
                    's' => fv.is_string(),
                    'i' => fv.is_i64() || fv.is_u64(),
                    _ => true,
                };
            if !ok {
                let what = if *kind == 's' { "string" } else { "integer" };
                return Err(format!("{key}.{f} must be a {what}"));
            }
        }
    }
    if top.contains_key("Task") {
        let resource = state
            .get("Resource")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let waits = type_of(state) == "Task"
            && (resource.ends_with(".sync")
                || resource.ends_with(".sync:2")
                || resource.ends_with(".waitForTaskToken"));
        if !waits {
            return Err("Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern".into());
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(resource: &str) -> Map<String, Value> {
        match json!({"Type": "Task", "Resource": resource, "End": true}) {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn the_context_object_is_checked_as_aws_checks_it() {
        let lambda = task("arn:aws:states:::lambda:invoke");
        let cases = [
            (r#"{"Execution": {"Id": 1}}"#, Err("Execution.Id must be a string")),
            (
                r#"{"Map": {"Item": {"Index": 0}}}"#,
                Err("'Map' field is not supported when mocking a Context object"),
            ),
            (r#"{"Execution": {"Pokedex": 1}}"#, Err("Field 'Pokedex' is not allowed")),
            (r#"{"pokemon": 1}"#, Err("Field 'pokemon' is not allowed")),
            (
                r#"{"Task": {"Token": "t"}}"#,
                Err("Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern"),
            ),
            (r#"{}"#, Ok(())),
            (r#"{"Execution": {}, "State": {}, "StateMachine": {}}"#, Ok(())),
            (r#"{"State": {"RetryCount": 2, "Name": "A"}}"#, Ok(())),
        ];
        for (text, want) in cases {
            let got = check_context(text, &lambda).map(|_| ());
            assert_eq!(got, want.map_err(str::to_string), "{text}");
        }
        let token = task("arn:aws:states:::sqs:sendMessage.waitForTaskToken");
        assert!(check_context(r#"{"Task": {"Token": "abcd123"}}"#, &token).is_ok());
    }
}
