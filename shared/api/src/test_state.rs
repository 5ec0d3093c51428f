//! TestState: runs one state with the engine, its successors replaced by stubs.

use crate::error::{ApiError, ApiResult, Shown};
use crate::req::{seed, Req};
use crate::{Service, MAX_PAYLOAD};
use serde_json::{json, Map, Value};
use stepwise_asl::model::Definition;
use stepwise_engine::{step, Command, Event, ExecutionInfo, ExecutionState, Status};
use stepwise_ports::api::ApiStore;
use stepwise_ports::tasks::{TaskFailure, TaskRequest};
use stepwise_runtime::local::wall_clock_ms;

const NAME: &str = "TestState";

fn successors(state: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |v: Option<&Value>| {
        if let Some(Value::String(s)) = v {
            if s != NAME && !out.contains(s) {
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

impl<S: ApiStore + 'static> Service<S> {
    pub(crate) async fn test_state(&self, r: Req) -> ApiResult<Value> {
        let definition = r.str("definition")?;
        let input = r.opt_str("input")?.unwrap_or_else(|| "{}".into());
        if input.len() > MAX_PAYLOAD {
            return Err(ApiError::constraint(
                Shown::Withheld,
                "input",
                &format!("Member must have length less than or equal to {MAX_PAYLOAD}"),
            ));
        }
        let input: Value = stepwise_engine::deep::from_str(&input).map_err(|e| {
            ApiError::new(
                "InvalidExecutionInput",
                format!("Invalid State Machine Execution Input: '{e}'"),
            )
        })?;
        let invalid = |m: String| {
            ApiError::new(
                "InvalidDefinition",
                format!("Invalid State Machine Definition: '{m}'"),
            )
        };
        let state: Map<String, Value> = match serde_json::from_str::<Value>(&definition) {
            Ok(Value::Object(o)) => o,
            Ok(_) => {
                return Err(invalid(
                    "the definition must be a state (a JSON object)".into(),
                ))
            }
            Err(e) => return Err(invalid(format!("INVALID_JSON_DESCRIPTION: {e}"))),
        };
        let mut states = Map::new();
        for n in successors(&state) {
            states.insert(n, json!({"Type": "Succeed"}));
        }
        states.insert(NAME.into(), Value::Object(state.clone()));
        let mut machine = json!({"StartAt": NAME, "States": states});
        if let Some(ql) = state.get("QueryLanguage") {
            machine["QueryLanguage"] = ql.clone();
        }
        let def = Definition::from_value(&machine).map_err(|e| {
            invalid(format!(
                "SCHEMA_VALIDATION_FAILED: {} at {}",
                e.message, e.location
            ))
        })?;
        let now = wall_clock_ms();
        let info = ExecutionInfo {
            execution_arn: format!("{}:execution:TestState:test", self.prefix()),
            name: "test".into(),
            state_machine_arn: format!("{}:stateMachine:TestState", self.prefix()),
            state_machine_name: "TestState".into(),
            role_arn: r.opt_str("roleArn")?.unwrap_or_default(),
            start_time_ms: now,
            redrive_count: 0,
            seed: seed(),
        };
        let mut tr = step(&def, ExecutionState::new(info), now, Event::Start { input });
        let mut history = tr.history.clone();
        let mut rounds = 0;
        while tr.state.status == Status::Running && rounds < 200 {
            rounds += 1;
            let mut next = None;
            for c in &tr.commands {
                match c {
                    Command::StartTimer { timer, .. } if next.is_none() => {
                        next = Some(Event::TimerFired { timer: *timer });
                    }
                    Command::InvokeTask {
                        task,
                        state_name,
                        resource,
                        parameters,
                        task_token,
                        ..
                    } => {
                        let outcome = match &self.invoker {
                            Some(inv) => {
                                inv.invoke(TaskRequest {
                                    execution_arn: tr.state.info.execution_arn.clone(),
                                    state_machine_name: "TestState".into(),
                                    state_name: state_name.clone(),
                                    resource: resource.clone(),
                                    parameters: parameters.clone(),
                                    test_case: None,
                                    task_token: task_token.clone(),
                                    redrive_count: 0,
                                })
                                .await
                            }
                            None => Err(TaskFailure::runtime("no task invoker is configured")),
                        };
                        next = Some(match outcome {
                            Ok(output) => Event::TaskSucceeded {
                                task: *task,
                                output,
                            },
                            Err(f) => Event::TaskFailed {
                                task: *task,
                                error: f.error,
                                cause: f.cause,
                            },
                        });
                        break;
                    }
                    _ => {}
                }
            }
            let Some(ev) = next else { break };
            tr = step(&def, tr.state, wall_clock_ms(), ev);
            history.extend(tr.history.iter().cloned());
        }
        let st = &tr.state;
        let mut out = json!({});
        let entered = history.iter().find_map(|h| {
            (h.event_type == "SucceedStateEntered")
                .then(|| {
                    h.details
                        .as_ref()?
                        .get("name")?
                        .as_str()
                        .map(str::to_string)
                })
                .flatten()
        });
        let failure = history.iter().find_map(|h| {
            (h.event_type.ends_with("Failed") || h.event_type.ends_with("TimedOut"))
                .then(|| h.details.clone())
                .flatten()
        });
        match st.status {
            Status::Succeeded => {
                out["output"] = json!(serde_json::to_string(
                    &st.output.clone().unwrap_or(Value::Null)
                )
                .unwrap_or_default());
                if let Some(n) = entered {
                    out["nextState"] = json!(n);
                }
                match failure {
                    Some(f) => {
                        out["status"] = json!("CAUGHT_ERROR");
                        out["error"] = f.get("error").cloned().unwrap_or(Value::Null);
                        out["cause"] = f.get("cause").cloned().unwrap_or(Value::Null);
                    }
                    None => out["status"] = json!("SUCCEEDED"),
                }
            }
            Status::Running => {
                out["status"] = json!("FAILED");
                out["error"] = json!(stepwise_asl::errors::RUNTIME);
                out["cause"] = json!("The state did not finish");
            }
            _ => {
                out["status"] = json!("FAILED");
                out["error"] = json!(st.error.clone().unwrap_or_default());
                out["cause"] = json!(st.cause.clone().unwrap_or_default());
            }
        }
        Ok(out)
    }
}
