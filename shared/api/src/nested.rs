//! Nested executions: the `arn:aws:states:::states:startExecution` integration (`.sync`,
//! `.sync:2`, `.waitForTaskToken`), run inside the same service.

use crate::Service;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock, Weak};
use stepwise_asl::errors;
use stepwise_asl::resource::IntegrationPattern;
use stepwise_ports::api::ApiStore;
use stepwise_ports::tasks::{TaskFailure, TaskInvoker, TaskRequest};
use stepwise_ports::BoxFuture;

/// Serves `states:startExecution` tasks by starting executions on the service it is bound to;
/// anything else fails with `States.Runtime`.
pub struct NestedInvoker<S: ApiStore + 'static> {
    service: OnceLock<Weak<Service<S>>>,
}

impl<S: ApiStore + 'static> Default for NestedInvoker<S> {
    fn default() -> Self {
        NestedInvoker {
            service: OnceLock::new(),
        }
    }
}

impl<S: ApiStore + 'static> NestedInvoker<S> {
    /// An invoker not bound yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Binds it to the service (once).
    pub fn bind(&self, service: &Arc<Service<S>>) {
        let _ = self.service.set(Arc::downgrade(service));
    }

    async fn run(&self, req: TaskRequest) -> Result<Value, TaskFailure> {
        let is_start = req.resource.service_action() == Some(("states", "startExecution"))
            && req.resource.partition() == Some("aws");
        if !is_start {
            return Err(TaskFailure::runtime(format!(
                "Cannot run Task state '{}' of state machine '{}': resource '{}' cannot be served: \
                 Stepwise has no invoker for this integration here; mock it with a test case of \
                 the mock configuration file.",
                req.state_name, req.state_machine_name, req.resource
            )));
        }
        let Some(svc) = self.service.get().and_then(Weak::upgrade) else {
            return Err(TaskFailure::runtime("the service is not running"));
        };
        let p = &req.parameters;
        let Some(sm) = p.get("StateMachineArn").and_then(Value::as_str) else {
            return Err(TaskFailure::new(
                errors::RUNTIME,
                "The field 'StateMachineArn' is required",
            ));
        };
        let input = match p.get("Input") {
            None => "{}".to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => stepwise_engine::deep::to_string(v).unwrap_or_default(),
        };
        let name = p.get("Name").and_then(Value::as_str).map(str::to_string);
        let (arn, start) = svc
            .start(sm, name, Some(input.clone()), None, false)
            .await
            .map_err(|e| {
                TaskFailure::new(format!("StepFunctions.{}", e.code), e.message.clone())
            })?;
        if !req.resource.is_sync() {
            return Ok(json!({"ExecutionArn": arn, "StartDate": start}));
        }
        loop {
            svc.driver.wait_end(&arn, 60_000).await;
            let ex = svc
                .store
                .load(&arn)
                .await
                .map_err(|e| TaskFailure::runtime(e.to_string()))?;
            let Some(ex) = ex else {
                return Err(TaskFailure::runtime(format!("execution {arn} vanished")));
            };
            if ex.state.status == stepwise_engine::Status::Running {
                continue;
            }
            let st = &ex.state;
            let v2 = req.resource.pattern() == IntegrationPattern::Sync2;
            let input_v: Value = stepwise_engine::deep::from_str(&input).unwrap_or(Value::Null);
            let mut d = json!({
                "ExecutionArn": arn,
                "Input": if v2 { input_v } else { json!(input) },
                "InputDetails": {"Included": true},
                "Name": st.info.name,
                "StartDate": start,
                "StateMachineArn": st.info.state_machine_arn,
                "Status": st.status.as_str(),
                "StopDate": st.stop_ms.unwrap_or(start),
                "RedriveCount": st.info.redrive_count,
                "RedriveStatus": "NOT_REDRIVABLE",
            });
            if st.status == stepwise_engine::Status::Succeeded {
                let out = st.output.clone().unwrap_or(Value::Null);
                d["Output"] = if v2 {
                    out
                } else {
                    json!(stepwise_engine::deep::to_string(&out).unwrap_or_default())
                };
                d["OutputDetails"] = json!({"Included": true});
                return Ok(d);
            }
            if let Some(e) = &st.error {
                d["Error"] = json!(e);
            }
            if let Some(c) = &st.cause {
                d["Cause"] = json!(c);
            }
            let error = match st.status {
                stepwise_engine::Status::TimedOut => errors::TIMEOUT,
                _ => errors::TASK_FAILED,
            };
            return Err(TaskFailure::new(
                error,
                stepwise_engine::deep::to_string(&d).unwrap_or_default(),
            ));
        }
    }
}

impl<S: ApiStore + 'static> TaskInvoker for NestedInvoker<S> {
    fn invoke(&self, req: TaskRequest) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        Box::pin(self.run(req))
    }
}
