//! What the stepper and invoker functions do, without lambda_runtime: each function's `main`
//! parses its event, calls one of these and maps the result. Tests call them the same way.
//! Executions are created only by the API service (`stepwise-api`'s StartExecution, which the
//! api and trigger functions call), never here.

use crate::meter::Meter;
use crate::ports::{AwsDispatcher, AwsStore};
use crate::queues::{self, TaskMessage, TransitionMessage};
use crate::{Aws, AwsError};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;
use stepwise_engine::{Command, Event, WaitId};
use stepwise_ports::api::ActivityTask;
use stepwise_ports::execution::ExecutionStore;
use stepwise_ports::execution::{Dispatcher, Usage};
use stepwise_ports::tasks::{Submission, TaskFailure, TaskInvoker, TaskRequest};
use stepwise_runtime::durable::advance;

/// One SQS record: its message id and body.
#[derive(Debug, Clone)]
pub struct Record {
    /// The SQS message id (reported back on failure).
    pub message_id: String,
    /// The body.
    pub body: String,
    /// The FIFO message group, when there is one.
    pub group: Option<String>,
}

/// Clients and adapters, built once per container.
pub struct Deps {
    /// The AWS clients.
    pub aws: Aws,
    /// The request meter of this container.
    pub meter: Arc<Meter>,
    /// Executions in DynamoDB.
    pub store: AwsStore,
    /// Commands to SQS and Scheduler (an [`AwsDispatcher`]; tests wrap it to inject faults).
    pub dispatcher: Box<dyn Dispatcher>,
    /// Memory of this function in MB, to price its duration (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`).
    pub memory_mb: f64,
}

impl Deps {
    /// Adapters over `aws`.
    pub fn new(aws: Aws) -> Self {
        let meter = Arc::new(Meter::default());
        let memory_mb = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
            .ok()
            .and_then(|m| m.parse().ok())
            .unwrap_or(128.0);
        Deps {
            store: AwsStore::new(aws.clone(), meter.clone()),
            dispatcher: Box::new(AwsDispatcher::new(aws.clone(), meter.clone())),
            aws,
            meter,
            memory_mb,
        }
    }

    fn lambda_usage(&self, started: Instant) -> Usage {
        Usage {
            lambda_invocations: 1,
            lambda_gb_seconds: started.elapsed().as_secs_f64() * self.memory_mb / 1024.0,
            ..Usage::default()
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The stepper: applies each transitions-queue message to its execution, in order. Returns the
/// ids of the messages to report as failed; once a message of a group fails, the later ones of
/// that group fail too, so SQS redelivers them in order.
pub async fn on_transitions(deps: &Deps, records: &[Record]) -> Vec<String> {
    let mut failed = Vec::new();
    let mut blocked: HashSet<String> = HashSet::new();
    for r in records {
        let started = Instant::now();
        let group = r.group.clone().unwrap_or_default();
        if blocked.contains(&group) {
            failed.push(r.message_id.clone());
            continue;
        }
        let msg: TransitionMessage = match stepwise_engine::deep::from_str(&r.body) {
            Ok(m) => m,
            Err(e) => {
                // A message that can never be read would block its group forever: drop it loudly.
                eprintln!("stepper: dropping unreadable message {}: {e}", r.message_id);
                continue;
            }
        };
        let mut usage = msg.usage.clone().unwrap_or_default();
        usage.add(&deps.lambda_usage(started));
        deps.meter.begin(&msg.execution);
        deps.meter.record(|u| u.add(&usage));
        match advance(
            &deps.store,
            deps.dispatcher.as_ref(),
            &msg.execution,
            msg.event.clone(),
            now_ms(),
        )
        .await
        {
            Ok(_) => {}
            Err(e) => {
                eprintln!("stepper: {} on {}: {e}", r.message_id, msg.execution);
                blocked.insert(group);
                failed.push(r.message_id.clone());
            }
        }
        // Time spent here is billed with the execution's next commit.
        let elapsed = started.elapsed().as_secs_f64() * deps.memory_mb / 1024.0;
        deps.meter.record(|u| u.lambda_gb_seconds += elapsed);
    }
    failed
}

/// The invoker: runs Task calls and forwards due timers, sending outcomes to the transitions
/// queue. A `.sync` job is started and its `TaskSubmitted` sent; then a [`TaskMessage::Poll`]
/// looks at it after each wait of its back-off (a delayed message), until it ends or its task
/// no longer waits for it (then the job is stopped): no invocation waits for a job. Returns the
/// ids of the messages to report as failed.
pub async fn on_tasks(deps: &Deps, invoker: &dyn TaskInvoker, records: &[Record]) -> Vec<String> {
    let mut failed = Vec::new();
    for r in records {
        let started = Instant::now();
        let msg: TaskMessage = match stepwise_engine::deep::from_str(&r.body) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("invoker: dropping unreadable message {}: {e}", r.message_id);
                continue;
            }
        };
        if let Err(e) = handle_task(deps, invoker, msg, started).await {
            eprintln!("invoker: {}: {e}", r.message_id);
            failed.push(r.message_id.clone());
        }
    }
    failed
}

fn request(
    execution: &str,
    state_machine_name: String,
    test_case: Option<String>,
    command: Command,
    redrive_count: u32,
) -> Option<(WaitId, TaskRequest)> {
    let Command::InvokeTask {
        task,
        state_name,
        resource,
        parameters,
        task_token,
        ..
    } = command
    else {
        return None;
    };
    Some((
        task,
        TaskRequest {
            execution_arn: execution.to_string(),
            state_machine_name,
            state_name,
            resource,
            parameters,
            test_case,
            task_token,
            redrive_count,
        },
    ))
}

fn outcome_event(task: WaitId, outcome: Result<Value, TaskFailure>) -> Event {
    match outcome {
        Ok(output) => Event::TaskSucceeded { task, output },
        Err(f) => Event::TaskFailed {
            task,
            error: f.error,
            cause: f.cause,
        },
    }
}

async fn handle_task(
    deps: &Deps,
    invoker: &dyn TaskInvoker,
    msg: TaskMessage,
    started: Instant,
) -> Result<(), AwsError> {
    let local = Meter::default();
    let (execution, event) = match msg {
        TaskMessage::Timer {
            execution, timer, ..
        } => (execution, Event::TimerFired { timer }),
        TaskMessage::Poll {
            execution,
            state_machine_name,
            test_case,
            command,
            job,
            polling,
            wait_ms,
        } => {
            // A mocked state is answered at submission: a polled job takes no mock, and its
            // redrive count matters to mocks only.
            let Some((task, req)) = request(
                &execution,
                state_machine_name.clone(),
                test_case.clone(),
                command.clone(),
                0,
            ) else {
                return Ok(());
            };
            let waits = deps
                .store
                .load(&execution)
                .await
                .map_err(|e| AwsError::service("DynamoDB", "GetItem", e))?
                .is_some_and(|e| e.state.awaits_task(task));
            if !waits {
                // Stopped, timed out, or the task ended otherwise: as Step Functions does, the
                // job is stopped.
                invoker.stop_job(&req, &job).await;
                return Ok(());
            }
            local.record(|u| u.task_invocations += 1);
            let outcome = match invoker.poll_job(&req, &job).await {
                Ok(None) => {
                    let wait = polling
                        .next(std::time::Duration::from_millis(wait_ms))
                        .as_millis() as u64;
                    let again = TaskMessage::Poll {
                        execution,
                        state_machine_name,
                        test_case,
                        command,
                        job,
                        polling,
                        wait_ms: wait,
                    };
                    return queues::send_task(&deps.aws, &deps.meter, &again, wait as i64).await;
                }
                Ok(Some(result)) => Ok(result),
                Err(f) => Err(f),
            };
            (execution, outcome_event(task, outcome))
        }
        TaskMessage::Invoke {
            execution,
            state_machine_name,
            test_case,
            command,
            redrive_count,
        } => {
            // An activity: queue the task for GetActivityTask; its worker answers through the
            // API (SendTaskSuccess/Failure), nothing is invoked.
            if let Command::InvokeTask {
                resource,
                parameters,
                task_token,
                ..
            } = &command
            {
                if resource.is_activity() {
                    let task = ActivityTask {
                        token: task_token.clone().unwrap_or_default(),
                        input: stepwise_engine::deep::to_string(parameters).map_err(|e| {
                            AwsError::Corrupt {
                                key: execution.clone(),
                                message: e.to_string(),
                            }
                        })?,
                    };
                    return deps
                        .store
                        .push_activity(resource.arn(), &task)
                        .await
                        .map_err(|e| AwsError::service("DynamoDB", "PutItem", e));
                }
            }
            let Some((task, req)) = request(
                &execution,
                state_machine_name.clone(),
                test_case.clone(),
                command.clone(),
                redrive_count,
            ) else {
                return Ok(());
            };
            let waits_for_token = req.resource.waits_for_task_token();
            if req.resource.is_sync() {
                // A `.sync` job: started here, then looked at through the tasks queue.
                let submitted = invoker.submit(req).await;
                local.record(|u| u.task_invocations += 1);
                match submitted {
                    Ok(Submission::Job {
                        output,
                        job,
                        polling,
                    }) => {
                        let first = polling.first.as_millis() as u64;
                        let poll = TaskMessage::Poll {
                            execution: execution.clone(),
                            state_machine_name,
                            test_case,
                            command,
                            job,
                            polling,
                            wait_ms: first,
                        };
                        send_event(
                            deps,
                            &local,
                            started,
                            execution,
                            Event::TaskSubmitted { task, output },
                        )
                        .await?;
                        return queues::send_task(&deps.aws, &deps.meter, &poll, first as i64)
                            .await;
                    }
                    Ok(Submission::Done(output)) => (execution, outcome_event(task, Ok(output))),
                    Err(f) => (execution, outcome_event(task, Err(f))),
                }
            } else {
                let outcome = invoker.invoke(req).await;
                local.record(|u| u.task_invocations += 1);
                let event = match outcome {
                    Ok(output) if waits_for_token => Event::TaskSubmitted { task, output },
                    other => outcome_event(task, other),
                };
                (execution, event)
            }
        }
    };
    send_event(deps, &local, started, execution, event).await
}

/// Sends an event to the transitions queue with the usage spent on it here.
async fn send_event(
    deps: &Deps,
    local: &Meter,
    started: Instant,
    execution: String,
    event: Event,
) -> Result<(), AwsError> {
    let mut usage = deps.lambda_usage(started);
    usage.add(&local.take());
    // The send below is counted in the usage it carries.
    usage.sqs_fifo_requests += 1;
    let msg = TransitionMessage {
        execution,
        event,
        usage: Some(usage),
    };
    queues::send_transition(&deps.aws, &Meter::default(), &msg, now_ms()).await
}
