//! The Task state: scheduling the call of its typed resource.

use crate::exec::dataflow::language;
use crate::exec::errors::Failure;
use crate::exec::lifecycle::Next;
use crate::exec::state::{Phase, TaskKind, TaskWait, Thread, Waiter};
use crate::exec::{to_text, Engine, ThreadId};
use crate::history::{EventKind, ServiceResource};
use crate::Command;
use stepwise_asl::model::{State, ValueOrPath};
use stepwise_asl::payload::Template;
use stepwise_asl::resource::TaskResource;

/// The fields of a Task state, as the lifecycle found them in its `StateKind::Task`.
pub(crate) struct TaskFields<'a> {
    pub(crate) resource: &'a TaskResource,
    pub(crate) timeout_seconds: &'a Option<ValueOrPath>,
    pub(crate) heartbeat_seconds: &'a Option<ValueOrPath>,
    pub(crate) credentials: &'a Option<Template>,
}

impl<'d> Engine<'d> {
    #[inline(never)]
    pub(crate) fn run_task(
        &mut self,
        tid: ThreadId,
        t: &mut Thread,
        st: &State,
        task: TaskFields<'_>,
    ) -> Result<Next, Failure> {
        // The input's text as it entered, for the exit to record the output as it with the
        // result set at a member (see `deferred_output_text`); none on a retry in a later step
        // (the exit then renders its text).
        t.entered_payload = self.entered_text(t);
        let TaskFields {
            resource,
            timeout_seconds,
            heartbeat_seconds,
            credentials,
        } = task;
        let wait_for_token = resource.waits_for_task_token();
        let kind = if resource.is_lambda_function() {
            TaskKind::LambdaFunction
        } else if resource.is_activity() {
            TaskKind::Activity
        } else {
            TaskKind::Service
        };
        let token = if wait_for_token || kind == TaskKind::Activity {
            Some(self.rng().uuid())
        } else {
            None
        };
        let params = self.effective_input(t, st, token.as_deref())?;
        let timeout =
            self.positive_seconds(t, st, timeout_seconds, "TimeoutSeconds", &t.input.clone())?;
        let heartbeat = self.positive_seconds(
            t,
            st,
            heartbeat_seconds,
            "HeartbeatSeconds",
            &t.input.clone(),
        )?;
        // The role the task runs as: AWS records it on the scheduled event.
        let role_arn = match credentials {
            None => None,
            Some(c) => {
                let evaluated =
                    language(st).template(self, t, st, c, "Credentials", token.as_deref());
                evaluated?.get("RoleArn").cloned()
            }
        };
        let (resource_type, short) = resource.history_parts();
        let task = self.new_wait(Waiter::Task(tid));
        match kind {
            TaskKind::Service => {
                let service = ServiceResource {
                    resource_type: resource_type.clone(),
                    resource: short.clone(),
                };
                let scheduled = EventKind::TaskScheduled {
                    resource: service.clone(),
                    region: resource.region().unwrap_or("us-east-1").to_string(),
                    parameters: to_text(&params),
                    timeout_s: timeout,
                    heartbeat_s: heartbeat,
                    role_arn,
                };
                self.emit(t, scheduled);
                self.emit(t, EventKind::TaskStarted { resource: service });
            }
            TaskKind::LambdaFunction => {
                let scheduled = EventKind::LambdaFunctionScheduled {
                    resource: resource.as_str().to_string(),
                    input: to_text(&params),
                    timeout_s: timeout,
                    role_arn,
                };
                self.emit(t, scheduled);
                self.emit(t, EventKind::LambdaFunctionStarted);
            }
            TaskKind::Activity => {
                let scheduled = EventKind::ActivityScheduled {
                    resource: resource.as_str().to_string(),
                    input: to_text(&params),
                    timeout_s: timeout,
                    heartbeat_s: heartbeat,
                };
                self.emit(t, scheduled);
            }
        }
        // Without TimeoutSeconds a callback or activity task waits up to a year, as on AWS; a
        // plain invocation is bounded by the invoker.
        let timeout_timer = timeout.map(|s| {
            self.start_timer(
                Waiter::TaskTimeout(tid),
                self.now.saturating_add(s as i64 * 1000),
            )
        });
        let heartbeat_timer = heartbeat.map(|s| {
            self.start_timer(
                Waiter::Heartbeat(tid),
                self.now.saturating_add(s as i64 * 1000),
            )
        });
        self.commands.push(Command::InvokeTask {
            task,
            state_name: st.name.to_string(),
            resource: resource.clone(),
            parameters: params,
            task_token: token.clone(),
            heartbeat_seconds: heartbeat,
            timeout_seconds: timeout,
        });
        t.phase = Phase::Task(Box::new(TaskWait {
            task,
            kind,
            token,
            timeout_timer,
            heartbeat_timer,
            heartbeat_s: heartbeat,
            resource_type,
            resource: short,
            submitted: false,
        }));
        Ok(Next::Park)
    }
}
