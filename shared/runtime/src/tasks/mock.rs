//! Mocked service integrations in AWS Step Functions Local's mock configuration file format.
//!
//! ```json
//! {
//!   "StateMachines": {
//!     "MyStateMachine": {
//!       "TestCases": {
//!         "HappyPath": { "LambdaState": "MockedLambdaSuccess" }
//!       }
//!     }
//!   },
//!   "MockedResponses": {
//!     "MockedLambdaSuccess": {
//!       "0": { "Throw": { "Error": "Lambda.TooManyRequestsException", "Cause": "slow down" } },
//!       "1-2": { "Return": { "StatusCode": 200, "Payload": { "ok": true } } }
//!     }
//!   }
//! }
//! ```
//!
//! An execution started with a test case (`stateMachineArn#HappyPath`) answers each mocked Task
//! state from the mocked response its test case names. The key of a mocked response step is the
//! invocation index of that state within the execution, counting retries (and Map iterations):
//! `"0"` is the first call, `"1-2"` the second and third. `Return` is the task's result as is;
//! `Throw` fails the task with its `Error` and `Cause`. As in Step Functions Local, every
//! invocation of a mocked state must have a response: a call past the last defined index fails
//! the task with `States.Runtime`. A state that the test case does not mention is not mocked and
//! falls through to the next invoker.
//!
//! Parsing is strict (required fields, one of `Return`/`Throw`, ranges that start at 0 and follow
//! each other without gaps or overlaps, every referenced mocked response defined) and reports the
//! path of the offending field.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use serde_json::{Map, Value};

use stepwise_ports::tasks::{TaskFailure, TaskInvoker, TaskRequest};
use stepwise_ports::BoxFuture;

/// Why a mock configuration file could not be loaded.
///
/// Each message is whole (it names the file and the underlying error), and none has a `source`:
/// printing the error chain then says everything once.
#[derive(Debug, thiserror::Error)]
pub enum MockConfigError {
    /// The file could not be read.
    #[error("cannot read mock configuration file '{path}': {error}")]
    Io {
        /// The file's path.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The text is not JSON.
    #[error("mock configuration is not valid JSON: {0}")]
    Json(serde_json::Error),
    /// The JSON does not have the mock configuration's shape.
    #[error("invalid mock configuration at '{path}': {message}")]
    Invalid {
        /// Where, e.g. `MockedResponses.MockedLambdaRetry.1-2.Throw.Cause`.
        path: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(path: &str, message: impl Into<String>) -> MockConfigError {
    MockConfigError::Invalid {
        path: path.to_string(),
        message: message.into(),
    }
}

/// What one mocked invocation does.
#[derive(Debug, Clone, PartialEq)]
pub enum MockOutcome {
    /// The task succeeds with this result.
    Return(Value),
    /// The task fails with this error and cause.
    Throw {
        /// ASL error name.
        error: String,
        /// Cause text.
        cause: String,
    },
}

/// One step of a mocked response: the outcome of invocations `start..=end`.
#[derive(Debug, Clone, PartialEq)]
pub struct MockStep {
    /// First invocation index (0-based) this step answers.
    pub start: u64,
    /// Last invocation index (inclusive) this step answers.
    pub end: u64,
    /// What these invocations do.
    pub outcome: MockOutcome,
}

/// A named mocked response: its steps in invocation order, contiguous from 0.
#[derive(Debug, Clone, PartialEq)]
pub struct MockedResponse {
    steps: Vec<MockStep>,
}

impl MockedResponse {
    /// The steps, sorted by invocation index.
    pub fn steps(&self) -> &[MockStep] {
        &self.steps
    }

    /// The outcome of the `index`-th invocation (0-based), if one is defined.
    pub fn outcome_for(&self, index: u64) -> Option<&MockOutcome> {
        self.steps
            .iter()
            .find(|s| s.start <= index && index <= s.end)
            .map(|s| &s.outcome)
    }

    /// The last invocation index that has an outcome.
    pub fn last_index(&self) -> u64 {
        self.steps.last().map(|s| s.end).unwrap_or(0)
    }
}

/// A parsed mock configuration file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MockConfig {
    /// state machine name -> test case name -> state name -> mocked response name
    state_machines: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    /// mocked response name -> response
    responses: BTreeMap<String, MockedResponse>,
}

impl MockConfig {
    /// Reads and parses a mock configuration file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, MockConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|error| MockConfigError::Io {
            path: path.display().to_string(),
            error,
        })?;
        Self::from_json_str(&text)
    }

    /// Parses a mock configuration from JSON text.
    pub fn from_json_str(text: &str) -> Result<Self, MockConfigError> {
        let value: Value = serde_json::from_str(text).map_err(MockConfigError::Json)?;
        Self::from_value(&value)
    }

    /// Parses a mock configuration from a JSON value.
    pub fn from_value(value: &Value) -> Result<Self, MockConfigError> {
        let root = as_object(value, "$")?;
        for key in root.keys() {
            if key != "StateMachines" && key != "MockedResponses" {
                return Err(invalid(
                    key,
                    "unknown top-level field (expected 'StateMachines' and 'MockedResponses')",
                ));
            }
        }
        let machines = as_object(required(root, "StateMachines", "$")?, "StateMachines")?;
        let raw_responses = as_object(required(root, "MockedResponses", "$")?, "MockedResponses")?;

        let mut responses = BTreeMap::new();
        for (name, raw) in raw_responses {
            let path = format!("MockedResponses.{name}");
            responses.insert(name.clone(), parse_response(raw, &path)?);
        }

        let mut state_machines = BTreeMap::new();
        for (sm_name, sm) in machines {
            let sm_path = format!("StateMachines.{sm_name}");
            let sm_obj = as_object(sm, &sm_path)?;
            for key in sm_obj.keys() {
                if key != "TestCases" {
                    return Err(invalid(
                        &format!("{sm_path}.{key}"),
                        "unknown field (a state machine holds only 'TestCases')",
                    ));
                }
            }
            let tcs_path = format!("{sm_path}.TestCases");
            let tcs = as_object(required(sm_obj, "TestCases", &sm_path)?, &tcs_path)?;
            let mut cases = BTreeMap::new();
            for (tc_name, tc) in tcs {
                let tc_path = format!("{tcs_path}.{tc_name}");
                let mut states = BTreeMap::new();
                for (state, response) in as_object(tc, &tc_path)? {
                    let st_path = format!("{tc_path}.{state}");
                    let Some(response) = response.as_str() else {
                        return Err(invalid(
                            &st_path,
                            "must be a string naming a mocked response",
                        ));
                    };
                    if !responses.contains_key(response) {
                        return Err(invalid(
                            &st_path,
                            format!(
                                "mocked response '{response}' is not defined in MockedResponses"
                            ),
                        ));
                    }
                    states.insert(state.clone(), response.to_string());
                }
                cases.insert(tc_name.clone(), states);
            }
            state_machines.insert(sm_name.clone(), cases);
        }
        Ok(Self {
            state_machines,
            responses,
        })
    }

    /// Whether the configuration defines this test case for this state machine (the API can
    /// check this at StartExecution).
    pub fn has_test_case(&self, state_machine_name: &str, test_case: &str) -> bool {
        self.state_machines
            .get(state_machine_name)
            .is_some_and(|cases| cases.contains_key(test_case))
    }

    /// The mocked response a test case assigns to a state.
    ///
    /// `Err` when the state machine or the test case is not defined; `Ok(None)` when the test
    /// case does not mock this state.
    pub fn response_for(
        &self,
        state_machine_name: &str,
        test_case: &str,
        state_name: &str,
    ) -> Result<Option<(&str, &MockedResponse)>, String> {
        let Some(cases) = self.state_machines.get(state_machine_name) else {
            return Err(format!(
                "the mock configuration defines no state machine named '{state_machine_name}' \
                 (test case '{test_case}' was requested)"
            ));
        };
        let Some(states) = cases.get(test_case) else {
            return Err(format!(
                "the mock configuration defines no test case '{test_case}' for state machine \
                 '{state_machine_name}'"
            ));
        };
        Ok(states.get(state_name).and_then(|name| {
            self.responses
                .get(name)
                .map(|response| (name.as_str(), response))
        }))
    }
}

fn as_object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, MockConfigError> {
    value
        .as_object()
        .ok_or_else(|| invalid(path, "must be a JSON object"))
}

fn required<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Value, MockConfigError> {
    obj.get(key)
        .ok_or_else(|| invalid(path, format!("missing required field '{key}'")))
}

fn parse_index(text: &str, path: &str) -> Result<u64, MockConfigError> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            path,
            format!(
                "invalid invocation key '{text}': expected a non-negative integer ('0') or an \
                 inclusive range ('1-2')"
            ),
        ));
    }
    t.parse::<u64>()
        .map_err(|_| invalid(path, format!("invocation index '{t}' is too large")))
}

fn parse_range(key: &str, path: &str) -> Result<(u64, u64), MockConfigError> {
    let (start, end) = match key.split_once('-') {
        None => {
            let n = parse_index(key, path)?;
            (n, n)
        }
        Some((a, b)) => (parse_index(a, path)?, parse_index(b, path)?),
    };
    if end < start {
        return Err(invalid(
            path,
            format!("invalid range '{key}': the end is before the start"),
        ));
    }
    Ok((start, end))
}

fn parse_response(raw: &Value, path: &str) -> Result<MockedResponse, MockConfigError> {
    let obj = as_object(raw, path)?;
    if obj.is_empty() {
        return Err(invalid(
            path,
            "a mocked response needs at least one step ('0')",
        ));
    }
    let mut steps = Vec::with_capacity(obj.len());
    for (key, step) in obj {
        let step_path = format!("{path}.{key}");
        let (start, end) = parse_range(key, &step_path)?;
        let step_obj = as_object(step, &step_path)?;
        let outcome = match (step_obj.get("Return"), step_obj.get("Throw")) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    &step_path,
                    "a step has either 'Return' or 'Throw', not both",
                ))
            }
            (None, None) => {
                return Err(invalid(&step_path, "a step needs a 'Return' or a 'Throw'"));
            }
            (Some(value), None) => MockOutcome::Return(value.clone()),
            (None, Some(throw)) => {
                let throw_path = format!("{step_path}.Throw");
                let t = as_object(throw, &throw_path)?;
                let field = |name: &str| -> Result<String, MockConfigError> {
                    required(t, name, &throw_path)?
                        .as_str()
                        .map(str::to_string)
                        .ok_or_else(|| invalid(&format!("{throw_path}.{name}"), "must be a string"))
                };
                let error = field("Error")?;
                let cause = field("Cause")?;
                if let Some(extra) = t.keys().find(|k| *k != "Error" && *k != "Cause") {
                    return Err(invalid(
                        &format!("{throw_path}.{extra}"),
                        "unknown field (a Throw holds 'Error' and 'Cause')",
                    ));
                }
                MockOutcome::Throw { error, cause }
            }
        };
        if let Some(extra) = step_obj.keys().find(|k| *k != "Return" && *k != "Throw") {
            return Err(invalid(
                &format!("{step_path}.{extra}"),
                "unknown field (a step holds 'Return' or 'Throw')",
            ));
        }
        steps.push(MockStep {
            start,
            end,
            outcome,
        });
    }
    steps.sort_by_key(|s| s.start);
    let mut expected = 0u64;
    for step in &steps {
        if step.start != expected {
            let key = if step.start == step.end {
                step.start.to_string()
            } else {
                format!("{}-{}", step.start, step.end)
            };
            let message = if step.start < expected {
                format!("step '{key}' overlaps invocation {}", step.start)
            } else {
                format!(
                    "invocations must be numbered consecutively from 0: step '{key}' starts at \
                     {} but invocation {expected} has no response",
                    step.start
                )
            };
            return Err(invalid(path, message));
        }
        expected = step.end.saturating_add(1);
    }
    Ok(MockedResponse { steps })
}

/// Serves Task states from a [`MockConfig`], keeping one invocation counter per
/// (execution, state). The count carries on across redrives, so a test case scripts a task that
/// fails before a redrive and succeeds after it (`"0"`: Throw, `"1"`: Return); running past the
/// last response fails with a cause that names the redrive, so the gap is visible.
///
/// Counters live in memory: a process restart in the middle of an execution starts them again
/// at 0, and [`MockInvoker::forget_execution`] drops an execution's counters when it ends.
#[derive(Debug)]
pub struct MockInvoker {
    config: MockConfig,
    counters: Mutex<HashMap<(String, String), u64>>,
}

impl MockInvoker {
    /// An invoker over this configuration, with no invocation counted yet.
    pub fn new(config: MockConfig) -> Self {
        Self {
            config,
            counters: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MockConfig {
        &self.config
    }

    /// Drops the invocation counters of an execution (call when it ends).
    pub fn forget_execution(&self, execution_arn: &str) {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        counters.retain(|(arn, _), _| arn != execution_arn);
    }

    /// Answers the request from the mock configuration, or `None` when it is not mocked (no
    /// test case on the execution, or the test case does not mention the state) so that the
    /// next invoker serves it.
    ///
    /// A test case or state machine missing from the configuration, and an invocation past the
    /// last defined step, fail with `States.Runtime`.
    /// Whether the execution's test case mocks this state (without using up a response).
    pub fn mocks(&self, req: &TaskRequest) -> bool {
        req.test_case.as_deref().is_some_and(|tc| {
            matches!(
                self.config
                    .response_for(&req.state_machine_name, tc, &req.state_name),
                Ok(Some(_))
            )
        })
    }

    pub fn try_invoke(&self, req: &TaskRequest) -> Option<Result<Value, TaskFailure>> {
        let test_case = req.test_case.as_deref()?;
        let (response_name, response) =
            match self
                .config
                .response_for(&req.state_machine_name, test_case, &req.state_name)
            {
                Err(message) => return Some(Err(TaskFailure::runtime(message))),
                Ok(None) => return None,
                Ok(Some(found)) => found,
            };
        let index = {
            let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
            let counter = counters
                .entry((req.execution_arn.clone(), req.state_name.clone()))
                .or_insert(0);
            let index = *counter;
            *counter += 1;
            index
        };
        Some(match response.outcome_for(index) {
            Some(MockOutcome::Return(value)) => Ok(value.clone()),
            Some(MockOutcome::Throw { error, cause }) => {
                Err(TaskFailure::new(error.clone(), cause.clone()))
            }
            None => Err(TaskFailure::runtime(format!(
                "State '{}' was invoked {} times in test case '{test_case}'{}, but mocked \
                 response '{response_name}' defines responses only for invocations 0 to {}",
                req.state_name,
                index + 1,
                match req.redrive_count {
                    0 => String::new(),
                    n => format!(" (counting across the execution's {n} redrive(s))"),
                },
                response.last_index()
            ))),
        })
    }
}

impl TaskInvoker for MockInvoker {
    /// Like [`MockInvoker::try_invoke`], with an unmocked state failing with `States.Runtime`.
    fn invoke(&self, req: TaskRequest) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        Box::pin(async move {
            self.try_invoke(&req).unwrap_or_else(|| {
                Err(TaskFailure::runtime(format!(
                    "State '{}' (resource '{}') has no mocked response{}",
                    req.state_name,
                    req.resource,
                    req.test_case
                        .as_deref()
                        .map(|tc| format!(" in test case '{tc}'"))
                        .unwrap_or_default()
                )))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AWS_EXAMPLE: &str = r#"{
      "StateMachines":{
        "LambdaSQSIntegration":{
          "TestCases":{
            "HappyPath":{ "LambdaState":"MockedLambdaSuccess", "SQSState":"MockedSQSSuccess" },
            "RetryPath":{ "LambdaState":"MockedLambdaRetry", "SQSState":"MockedSQSSuccess" },
            "HybridPath":{ "LambdaState":"MockedLambdaSuccess" }
          }
        }
      },
      "MockedResponses":{
        "MockedLambdaSuccess":{
          "0":{ "Return":{ "StatusCode":200, "Payload":{ "StatusCode":200, "body":"Hello from Lambda!" } } }
        },
        "LambdaMockedResourceNotReady":{
          "0":{ "Throw":{ "Error":"Lambda.ResourceNotReadyException", "Cause":"Lambda resource is not ready." } }
        },
        "MockedSQSSuccess":{
          "0":{ "Return":{ "MD5OfMessageBody":"3bcb6e8e-7h85-4375-b0bc-1a59812c6e51", "MessageId":"3bcb6e8e-8b51-4375-b0bc-1a59812c6e51" } }
        },
        "MockedLambdaRetry":{
          "0":{ "Throw":{ "Error":"Lambda.ResourceNotReadyException", "Cause":"Lambda resource is not ready." } },
          "1-2":{ "Throw":{ "Error":"Lambda.TimeoutException", "Cause":"Lambda timed out." } },
          "3":{ "Return":{ "StatusCode":200, "Payload":{ "StatusCode":200, "body":"Hello from Lambda!" } } }
        }
      }
    }"#;

    fn req(exec: &str, state: &str, test_case: Option<&str>) -> TaskRequest {
        TaskRequest {
            execution_arn: exec.into(),
            state_machine_name: "LambdaSQSIntegration".into(),
            state_name: state.into(),
            resource: "arn:aws:states:::lambda:invoke".into(),
            parameters: json!({}),
            test_case: test_case.map(str::to_string),
            task_token: None,
            redrive_count: 0,
        }
    }

    fn err_of(text: &str) -> String {
        match MockConfig::from_json_str(text) {
            Ok(_) => panic!("expected an error for {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_the_aws_example() {
        let config = MockConfig::from_json_str(AWS_EXAMPLE).expect("parses");
        assert!(config.has_test_case("LambdaSQSIntegration", "RetryPath"));
        assert!(!config.has_test_case("LambdaSQSIntegration", "Nope"));
        assert!(!config.has_test_case("Other", "RetryPath"));
        let (name, retry) = config
            .response_for("LambdaSQSIntegration", "RetryPath", "LambdaState")
            .expect("known case")
            .expect("mocked");
        assert_eq!(name, "MockedLambdaRetry");
        assert_eq!(retry.steps().len(), 3);
        assert_eq!(retry.last_index(), 3);
        assert_eq!(
            retry.outcome_for(2),
            Some(&MockOutcome::Throw {
                error: "Lambda.TimeoutException".into(),
                cause: "Lambda timed out.".into()
            })
        );
        assert!(matches!(retry.outcome_for(3), Some(MockOutcome::Return(_))));
        assert_eq!(retry.outcome_for(4), None);
        assert_eq!(
            config.response_for("LambdaSQSIntegration", "HybridPath", "SQSState"),
            Ok(None)
        );
    }

    #[test]
    fn counts_invocations_per_execution_and_state_across_ranges() {
        let mock = MockInvoker::new(MockConfig::from_json_str(AWS_EXAMPLE).expect("parses"));
        let e1 = "arn:aws:states:us-east-1:1:execution:LambdaSQSIntegration:e1";
        let e2 = "arn:aws:states:us-east-1:1:execution:LambdaSQSIntegration:e2";
        let call = |exec: &str| {
            mock.try_invoke(&req(exec, "LambdaState", Some("RetryPath")))
                .expect("mocked")
        };
        let not_ready = Err(TaskFailure::new(
            "Lambda.ResourceNotReadyException",
            "Lambda resource is not ready.",
        ));
        let timed_out = Err(TaskFailure::new(
            "Lambda.TimeoutException",
            "Lambda timed out.",
        ));
        let success = Ok(
            json!({"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}),
        );
        assert_eq!(call(e1), not_ready);
        assert_eq!(call(e1), timed_out);
        // another execution has its own counter
        assert_eq!(call(e2), not_ready);
        assert_eq!(call(e1), timed_out);
        assert_eq!(call(e1), success);
        // past the last step: the execution fails visibly
        let past = call(e1).expect_err("no response for invocation 4");
        assert_eq!(past.error, stepwise_ports::tasks::STATES_RUNTIME);
        assert!(past.cause.contains("MockedLambdaRetry"), "{}", past.cause);
        // another state of the same execution counts separately
        let sqs = mock
            .try_invoke(&req(e1, "SQSState", Some("RetryPath")))
            .expect("mocked");
        assert_eq!(
            sqs.expect("returns")["MessageId"],
            json!("3bcb6e8e-8b51-4375-b0bc-1a59812c6e51")
        );
        // after a redrive the count carries on; past the last response the cause says so
        let mut redriven = req(e1, "LambdaState", Some("RetryPath"));
        redriven.redrive_count = 1;
        let past = mock
            .try_invoke(&redriven)
            .expect("mocked")
            .expect_err("no response left");
        assert!(past.cause.contains("1 redrive(s)"), "{}", past.cause);
        // forgetting an execution restarts its counters
        mock.forget_execution(e1);
        assert_eq!(call(e1), not_ready);
        assert_eq!(call(e2), timed_out);
    }

    #[test]
    fn unmocked_states_fall_through_and_unknown_cases_fail() {
        let mock = MockInvoker::new(MockConfig::from_json_str(AWS_EXAMPLE).expect("parses"));
        let e = "arn:e";
        // no test case on the execution: nothing is mocked
        assert_eq!(mock.try_invoke(&req(e, "LambdaState", None)), None);
        // the test case does not mention the state
        assert_eq!(
            mock.try_invoke(&req(e, "SQSState", Some("HybridPath"))),
            None
        );
        // an unknown test case is an error, not a silent fall-through
        let err = mock
            .try_invoke(&req(e, "LambdaState", Some("Missing")))
            .expect("answered")
            .expect_err("fails");
        assert_eq!(err.error, stepwise_ports::tasks::STATES_RUNTIME);
        assert!(err.cause.contains("'Missing'"), "{}", err.cause);
        let mut other = req(e, "LambdaState", Some("HappyPath"));
        other.state_machine_name = "Other".into();
        let err = mock
            .try_invoke(&other)
            .expect("answered")
            .expect_err("fails");
        assert!(err.cause.contains("'Other'"), "{}", err.cause);
    }

    #[tokio::test]
    async fn invoker_trait_fails_unmocked_states() {
        let mock = MockInvoker::new(MockConfig::from_json_str(AWS_EXAMPLE).expect("parses"));
        let out = mock
            .invoke(req("arn:e", "LambdaState", Some("HappyPath")))
            .await;
        assert_eq!(out.expect("ok")["StatusCode"], json!(200));
        let err = mock
            .invoke(req("arn:e", "SQSState", Some("HybridPath")))
            .await
            .expect_err("not mocked");
        assert_eq!(err.error, stepwise_ports::tasks::STATES_RUNTIME);
    }

    #[test]
    fn return_values_may_be_any_json() {
        let config = MockConfig::from_json_str(
            r#"{"StateMachines":{"M":{"TestCases":{"T":{"S":"R"}}}},
                "MockedResponses":{"R":{"0-1":{"Return":"string-literal"},"2":{"Return":null}}}}"#,
        )
        .expect("parses");
        let mock = MockInvoker::new(config);
        let mut r = req("arn:e", "S", Some("T"));
        r.state_machine_name = "M".into();
        assert_eq!(mock.try_invoke(&r), Some(Ok(json!("string-literal"))));
        assert_eq!(mock.try_invoke(&r), Some(Ok(json!("string-literal"))));
        assert_eq!(mock.try_invoke(&r), Some(Ok(Value::Null)));
    }

    #[test]
    fn parse_errors_are_clear() {
        assert!(err_of("{").contains("not valid JSON"));
        assert!(err_of("[]").contains("must be a JSON object"));
        assert!(err_of(r#"{"MockedResponses":{}}"#).contains("'StateMachines'"));
        assert!(err_of(r#"{"StateMachines":{}}"#).contains("'MockedResponses'"));
        let e = err_of(
            r#"{"StateMachines":{"M":{"TestCases":{"T":{"S":"Nope"}}}},"MockedResponses":{}}"#,
        );
        assert!(e.contains("StateMachines.M.TestCases.T.S"), "{e}");
        assert!(e.contains("'Nope' is not defined"), "{e}");
        let e =
            err_of(r#"{"StateMachines":{"M":{"TestCases":{"T":{"S":1}}}},"MockedResponses":{}}"#);
        assert!(e.contains("must be a string"), "{e}");
        let e = err_of(r#"{"StateMachines":{"M":{}},"MockedResponses":{}}"#);
        assert!(e.contains("'TestCases'"), "{e}");

        let responses = |r: &str| {
            err_of(&format!(
                r#"{{"StateMachines":{{}},"MockedResponses":{{"R":{r}}}}}"#
            ))
        };
        let e = responses(r#"{"0":{"Return":1,"Throw":{"Error":"a","Cause":"b"}}}"#);
        assert!(e.contains("not both"), "{e}");
        let e = responses(r#"{"0":{}}"#);
        assert!(e.contains("'Return' or a 'Throw'"), "{e}");
        let e = responses(r#"{"0":{"Returns":1}}"#);
        assert!(e.contains("'Return' or a 'Throw'"), "{e}");
        let e = responses(r#"{"0":{"Return":1,"Extra":2}}"#);
        assert!(e.contains("MockedResponses.R.0.Extra"), "{e}");
        let e = responses(r#"{"0":{"Throw":{"Error":"a"}}}"#);
        assert!(
            e.contains("MockedResponses.R.0.Throw") && e.contains("'Cause'"),
            "{e}"
        );
        let e = responses(r#"{"0":{"Throw":{"Error":"a","Cause":3}}}"#);
        assert!(e.contains("MockedResponses.R.0.Throw.Cause"), "{e}");
        let e = responses(r#"{"x":{"Return":1}}"#);
        assert!(e.contains("invalid invocation key 'x'"), "{e}");
        let e = responses(r#"{"-1":{"Return":1}}"#);
        assert!(e.contains("invalid invocation key"), "{e}");
        let e = responses(r#"{"1-2-3":{"Return":1}}"#);
        assert!(e.contains("invalid invocation key"), "{e}");
        let e = responses(r#"{"3-1":{"Return":1}}"#);
        assert!(e.contains("end is before the start"), "{e}");
        let e = responses(r#"{"1":{"Return":1}}"#);
        assert!(e.contains("consecutively from 0"), "{e}");
        let e = responses(r#"{"0-2":{"Return":1},"2":{"Return":2}}"#);
        assert!(e.contains("overlaps"), "{e}");
        let e = responses(r#"{"0":{"Return":1},"2-3":{"Return":2}}"#);
        assert!(e.contains("invocation 1 has no response"), "{e}");
        let e = responses("{}");
        assert!(e.contains("at least one step"), "{e}");
        let e = responses(r#"{"99999999999999999999999":{"Return":1}}"#);
        assert!(e.contains("too large"), "{e}");
    }

    #[test]
    fn from_file_reports_missing_files() {
        let e =
            MockConfig::from_file("/nonexistent/MockConfigFile.json").expect_err("missing file");
        assert!(e.to_string().contains("/nonexistent/MockConfigFile.json"));
    }

    #[test]
    fn ranges_with_spaces_are_accepted() {
        let config = MockConfig::from_json_str(
            r#"{"StateMachines":{},"MockedResponses":{"R":{" 0 - 1 ":{"Return":1}}}}"#,
        )
        .expect("parses");
        assert_eq!(config.responses["R"].last_index(), 1);
    }
}
