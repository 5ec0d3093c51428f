//! TestState: runs one state with the engine (on its own, or named in a whole state machine)
//! and answers what AWS answers: its output, the state it would go to next, its status
//! (SUCCEEDED, FAILED, RETRIABLE, CAUGHT_ERROR) and, at DEBUG and TRACE, its `inspectionData`.
//!
//! The engine stops the run as soon as the tested state is left and records its data flow in
//! [`Inspection`]; a Retry that would retry ends the test as RETRIABLE. Tasks go to the task
//! invoker unless the request mocks them; a mocked Map or Parallel takes the mock as its result
//! (its iterations or branches do not run).

use crate::error::{ApiError, ApiResult};
use crate::req::{seed, uuid, Req};
use crate::test_state_req::{Level, Mock, TestRequest};
use crate::Service;
use serde_json::{json, Map, Value};
use stepwise_engine::{
    step, Command, Event, ExecutionInfo, ExecutionState, Inspection, Status, Transition,
};
use stepwise_ports::api::ApiStore;
use stepwise_ports::tasks::{HttpExchange, TaskFailure, TaskRequest};
use stepwise_runtime::local::wall_clock_ms;

/// Steps a test may take (a Wait, a task) before it counts as not finishing.
const MAX_ROUNDS: usize = 200;

fn text(v: &Value) -> Value {
    Value::String(stepwise_engine::deep::to_string(v).unwrap_or_default())
}

/// AWS's `inspectionData` from what the engine recorded.
fn inspection_data(req: &TestRequest, i: &Inspection) -> Value {
    let mut d = Map::new();
    d.insert("input".into(), text(&req.input));
    let fields = [
        ("afterInputPath", &i.after_input_path),
        ("afterParameters", &i.after_parameters),
        ("afterArguments", &i.after_arguments),
        ("result", &i.result),
        ("afterResultSelector", &i.after_result_selector),
        ("afterResultPath", &i.after_result_path),
        ("afterItemsPath", &i.after_items_path),
        ("afterItemSelector", &i.after_item_selector),
    ];
    for (k, v) in fields {
        if let Some(v) = v {
            d.insert(k.into(), text(v));
        }
    }
    if let Some(n) = i.max_concurrency {
        d.insert("maxConcurrency".into(), json!(n));
    }
    if let Some(n) = i.tolerated_failure_count {
        d.insert("toleratedFailureCount".into(), json!(n));
    }
    if let Some(p) = i.tolerated_failure_percentage {
        d.insert("toleratedFailurePercentage".into(), json!(p));
    }
    if let Some(vars) = i.variables.as_ref().filter(|v| !v.is_empty()) {
        d.insert("variables".into(), text(&Value::Object(vars.clone())));
    }
    let mut details = Map::new();
    if let Some(n) = i.catch_index {
        details.insert("catchIndex".into(), json!(n));
    }
    if let Some(n) = i.retry_index {
        details.insert("retryIndex".into(), json!(n));
    }
    if let (Some(n), Some(_)) = (i.retry_backoff_seconds, &i.retriable) {
        details.insert("retryBackoffIntervalSeconds".into(), json!(n));
    }
    if !details.is_empty() {
        d.insert("errorDetails".into(), Value::Object(details));
    }
    Value::Object(d)
}

impl<S: ApiStore + 'static> Service<S> {
    pub(crate) async fn test_state(&self, r: Req) -> ApiResult<Value> {
        let req = TestRequest::read(&r)?;
        if let (Some((resource, strict)), Some(Mock::Result(v)), Some(inv)) =
            (&req.check_result, &req.mock, &self.invoker)
        {
            inv.check_mock_result(resource, v, *strict)
                .map_err(ApiError::validation)?;
        }
        let now = wall_clock_ms();
        let name = uuid();
        let info = ExecutionInfo {
            execution_arn: format!("{}:express:TestState:{name}", self.prefix()),
            name,
            state_machine_arn: format!("{}:stateMachine:TestState", self.prefix()),
            state_machine_name: "TestState".into(),
            role_arn: req.role_arn.clone().unwrap_or_default(),
            start_time_ms: now,
            redrive_count: 0,
            seed: seed(),
        };
        let mut state = ExecutionState::new(info);
        // Started at the tested state, with the request's variables.
        state.start_at = Some(req.name.clone());
        state.start_variables = Some(req.variables.clone());
        // A mocked Map or Parallel: the mock stands in for its iterations or branches.
        let stand_in = match (&req.mock, req.fan_out) {
            (Some(Mock::Result(v)), true) => Some(Ok(v.clone())),
            (Some(Mock::Error { error, cause }), true) => Some(Err((error.clone(), cause.clone()))),
            _ => None,
        };
        state.inspection = Some(Box::new(Inspection {
            context: req.context.clone(),
            retrier_retry_count: req.retrier_retry_count,
            map_iteration_failure_count: req.map_iteration_failure_count,
            stand_in,
            state_name: Some(crate::test_state_req::SINGLE_STATE_NAME.into()),
            ..Inspection::default()
        }));
        let input = req.input.clone();
        let mut tr = step(&req.machine, state, now, Event::Start { input });
        let mut rounds = 0;
        let mut http = None;
        while tr.state.status == Status::Running && rounds < MAX_ROUNDS {
            if retriable(&tr).is_some() {
                break;
            }
            rounds += 1;
            let Some(ev) = self.next_event(&req, &tr, &mut http).await else {
                break;
            };
            tr = step(&req.machine, tr.state, wall_clock_ms(), ev);
        }
        Ok(answer(&req, &tr, http.as_ref()))
    }

    /// What answers the run's first outstanding command: a task's outcome (the mock's, or the
    /// invoker's), or a timer firing at once.
    async fn next_event(
        &self,
        req: &TestRequest,
        tr: &Transition,
        http: &mut Option<HttpExchange>,
    ) -> Option<Event> {
        let mut timer = None;
        for c in &tr.commands {
            match c {
                Command::StartTimer { timer: t, .. } if timer.is_none() => {
                    timer = Some(Event::TimerFired { timer: *t });
                }
                Command::InvokeTask {
                    task,
                    state_name,
                    resource,
                    parameters,
                    task_token,
                    ..
                } => {
                    let outcome = match &req.mock {
                        Some(Mock::Result(v)) => Ok(v.clone()),
                        Some(Mock::Error { error, cause }) => Err(TaskFailure {
                            error: error.clone(),
                            cause: cause.clone(),
                        }),
                        None => match &self.invoker {
                            Some(inv) => {
                                let call = TaskRequest {
                                    execution_arn: tr.state.info.execution_arn.clone(),
                                    state_machine_name: "TestState".into(),
                                    state_name: state_name.clone(),
                                    resource: resource.clone(),
                                    parameters: parameters.clone(),
                                    test_case: None,
                                    task_token: task_token.clone(),
                                    redrive_count: 0,
                                };
                                let (outcome, exchange) =
                                    inv.invoke_traced(call, req.reveal_secrets).await;
                                *http = exchange.or(http.take());
                                outcome
                            }
                            None => Err(TaskFailure::runtime("no task invoker is configured")),
                        },
                    };
                    return Some(match outcome {
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
                }
                _ => {}
            }
        }
        timer
    }
}

/// The error a Retry would retry, once the engine stopped there.
fn retriable(tr: &Transition) -> Option<&(String, String)> {
    tr.state.inspection.as_ref()?.retriable.as_ref()
}

/// TestState's answer from where the run stopped.
fn answer(req: &TestRequest, tr: &Transition, http: Option<&HttpExchange>) -> Value {
    let st = &tr.state;
    let empty = Inspection::default();
    let i = st.inspection.as_deref().unwrap_or(&empty);
    let mut out = Map::new();
    let error = |out: &mut Map<String, Value>, e: &str, c: &str| {
        out.insert("error".into(), json!(e));
        out.insert("cause".into(), json!(c));
    };
    match (st.status, retriable(tr)) {
        (Status::Running, Some((e, c))) => {
            out.insert("status".into(), json!("RETRIABLE"));
            error(&mut out, e, c);
        }
        (Status::Succeeded, _) => {
            out.insert(
                "output".into(),
                text(st.output.as_ref().unwrap_or(&Value::Null)),
            );
            if let Some(n) = &i.next_state {
                out.insert("nextState".into(), json!(n));
            }
            match i.caught.clone().filter(|_| i.catch_index.is_some()) {
                Some((e, c)) => {
                    out.insert("status".into(), json!("CAUGHT_ERROR"));
                    error(&mut out, &e, &c);
                }
                None => {
                    out.insert("status".into(), json!("SUCCEEDED"));
                }
            }
        }
        (Status::Running, None) => {
            out.insert("status".into(), json!("FAILED"));
            error(
                &mut out,
                stepwise_asl::errors::RUNTIME,
                &format!(
                    "The state '{}' did not finish within the test (it waits for a callback, an activity worker or more than {MAX_ROUNDS} steps)",
                    req.name
                ),
            );
        }
        _ => {
            out.insert("status".into(), json!("FAILED"));
            error(
                &mut out,
                st.error.as_deref().unwrap_or_default(),
                st.cause.as_deref().unwrap_or_default(),
            );
        }
    }
    if req.level >= Level::Debug {
        let mut data = inspection_data(req, i);
        // The HTTP Task's request and response, at TRACE only.
        if let (Level::Trace, Some(x), Value::Object(d)) = (req.level, http, &mut data) {
            d.insert("request".into(), x.request.clone());
            if let Some(r) = &x.response {
                d.insert("response".into(), r.clone());
            }
        }
        out.insert("inspectionData".into(), data);
    }
    Value::Object(out)
}
