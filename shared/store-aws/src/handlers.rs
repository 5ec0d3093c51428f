//! What the stepper and invoker functions do, without lambda_runtime: each function's `main`
//! parses its event, calls one of these and maps the result. Tests call them the same way.
//! Executions are created only by the API service (`stepwise-api`'s StartExecution, which the
//! api and trigger functions call), never here.

use crate::attempts::{Attempt, Invocation, LOST_ATTEMPT_ERROR};
use crate::chain::{Chain, Chaining};
use crate::meter::Meter;
use crate::ports::{AwsDispatcher, AwsStore};
use crate::queues::{self, TaskMessage, TransitionMessage};
use crate::{timers, Aws, AwsError};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stepwise_engine::{Command, Event, WaitId};
use stepwise_ports::api::ActivityTask;
use stepwise_ports::execution::Advanced;
use stepwise_ports::execution::ExecutionStore;
use stepwise_ports::execution::{Dispatcher, Usage};
use stepwise_ports::tasks::{JobLook, Submission, TaskFailure, TaskInvoker, TaskRequest};
use stepwise_runtime::durable::{advance, advance_inline};
use tracing::Instrument;

/// One SQS record: its message id and body.
#[derive(Debug, Clone)]
pub struct Record {
    /// The SQS message id (reported back on failure).
    pub message_id: String,
    /// The body.
    pub body: String,
    /// The FIFO message group, when there is one.
    pub group: Option<String>,
    /// The receipt handle of this delivery (to hold the message longer or shorter).
    pub receipt_handle: Option<String>,
    /// Its deliveries so far, this one included (SQS's `ApproximateReceiveCount`; 1 unknown).
    pub receive_count: u32,
}

impl Record {
    /// The delivery count in SQS's message `attributes`.
    pub fn receive_count_of(attributes: &std::collections::HashMap<String, String>) -> u32 {
        attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1)
    }
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

    /// The invocation's usage since `s`: its request billed only with its first piece of work
    /// (a call chained after another, [`crate::chain`], pays for its time alone).
    fn usage_since(&self, s: Started) -> Usage {
        let mut u = self.lambda_usage(s.at);
        if !s.request {
            u.lambda_invocations = 0;
        }
        u
    }
}

/// How a message reached [`forward`]: by which invocation, from a queue (its `receipt`, when
/// it can be held) or handed over directly, and the [`Chain`] a direct one may add calls to.
struct Delivery<'a> {
    by: &'a Invocation,
    receipt: Option<&'a str>,
    queued: bool,
    chain: Option<&'a Chain>,
}

/// When a piece of an invocation's work began, and whether the invocation's Lambda request is
/// billed with it.
#[derive(Debug, Clone, Copy)]
struct Started {
    at: Instant,
    request: bool,
}

impl Started {
    fn new(at: Instant) -> Self {
        Started { at, request: true }
    }
}

fn now_ms() -> i64 {
    stepwise_runtime::local::wall_clock_ms()
}

/// The stepper: applies each transitions-queue message to its execution, in order, and forwards
/// the timers-queue messages that are due (a record without a message group comes from the
/// timers queue, a standard queue). Returns the ids of the messages to report as failed; once a
/// message of a group fails, the later ones of that group fail too, so SQS redelivers them in
/// order.
pub async fn on_transitions(deps: &Deps, records: &[Record]) -> Vec<String> {
    let mut failed = Vec::new();
    let mut blocked: HashSet<String> = HashSet::new();
    for r in records {
        let started = Instant::now();
        let Some(group) = r.group.clone() else {
            if let Err(e) = forward_timer(deps, r, started).await {
                tracing::warn!(message_id = %r.message_id, error = %e, "stepper: timer not forwarded");
                failed.push(r.message_id.clone());
            }
            continue;
        };
        if blocked.contains(&group) {
            failed.push(r.message_id.clone());
            continue;
        }
        // Large events come as a pointer to S3 (read with a meter of its own: the execution's
        // is begun below).
        let reads = Meter::default();
        let body = match queues::received(&deps.aws, &reads, &r.body).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(message_id = %r.message_id, error = %e, "stepper: message not read");
                blocked.insert(group);
                failed.push(r.message_id.clone());
                continue;
            }
        };
        let msg: TransitionMessage = match stepwise_engine::deep::from_str(&body) {
            Ok(m) => m,
            Err(e) => {
                // A message that can never be read would block its group forever: drop it loudly.
                tracing::error!(message_id = %r.message_id, error = %e, "stepper: dropping unreadable message");
                continue;
            }
        };
        // Every line logged while working on it carries the execution's ARN.
        let span = tracing::info_span!("transition", execution_arn = %msg.execution);
        // Scheduler fires up to a minute early: a timer not yet due is armed again for the rest
        // of its time, never applied early.
        if let (Event::TimerFired { timer }, Some(due)) = (&msg.event, msg.due_ms) {
            let now = now_ms();
            if due > now {
                if let Err(e) =
                    timers::rearm(&deps.aws, &deps.meter, &msg.execution, *timer, due, now)
                        .instrument(span.clone())
                        .await
                {
                    span.in_scope(|| tracing::warn!(message_id = %r.message_id, error = %e, "stepper: early timer not re-armed"));
                    blocked.insert(group);
                    failed.push(r.message_id.clone());
                }
                continue;
            }
        }
        // The event source mapping's receive and delete of this message are billed too.
        reads.sqs_delivery(true, r.body.len());
        let mut usage = msg.usage.clone().unwrap_or_default();
        usage.add(&deps.lambda_usage(started));
        usage.add(&reads.take());
        deps.meter.begin(&msg.execution);
        deps.meter.record(|u| u.add(&usage));
        match advance(
            &deps.store,
            deps.dispatcher.as_ref(),
            &msg.execution,
            msg.event.clone(),
            now_ms(),
        )
        .instrument(span.clone())
        .await
        {
            Ok(_) => span
                .in_scope(|| tracing::info!(message_id = %r.message_id, "stepper: event applied")),
            Err(e) => {
                span.in_scope(|| tracing::warn!(message_id = %r.message_id, error = %e, "stepper: event not applied"));
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

/// A timers-queue message: its timer's [`Event::TimerFired`] to the transitions queue.
async fn forward_timer(deps: &Deps, r: &Record, started: Instant) -> Result<(), AwsError> {
    let msg: TaskMessage = match stepwise_engine::deep::from_str(&r.body) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(message_id = %r.message_id, error = %e, "stepper: dropping unreadable timer");
            return Ok(());
        }
    };
    let span = tracing::info_span!("timer", execution_arn = %msg.execution());
    let started = Started::new(started);
    let delivery = Delivery {
        by: &Invocation::default(),
        receipt: None,
        queued: true,
        chain: None,
    };
    forward(deps, None, msg, started, delivery)
        .instrument(span)
        .await
}

/// The invoker: runs Task calls, sending outcomes to the transitions queue; each attempt is
/// called at most once ([`crate::attempts`]), by the invoker's invocation `by` (Lambda's request
/// id and deadline). A `.sync` job is started and its `TaskSubmitted` sent; then a
/// [`TaskMessage::Poll`] looks at it after each wait of its back-off (a delayed message on the
/// tasks queue), until it ends or its task no longer waits for it (then the job is stopped): no
/// invocation waits for a job. Returns the ids of the messages to report as failed.
pub async fn on_tasks(
    deps: &Deps,
    invoker: &dyn TaskInvoker,
    records: &[Record],
    by: &Invocation,
) -> Vec<String> {
    let mut failed = Vec::new();
    for r in records {
        let started = Instant::now();
        // Large parameters come as a pointer to S3.
        let body = match queues::received(&deps.aws, &Meter::default(), &r.body).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(message_id = %r.message_id, error = %e, "invoker: message not read");
                failed.push(r.message_id.clone());
                continue;
            }
        };
        let mut msg: TaskMessage = match stepwise_engine::deep::from_str(&body) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(message_id = %r.message_id, error = %e, "invoker: dropping unreadable message");
                continue;
            }
        };
        // A job's look delivered again (its invocation stopped midway, or the mapping's delete
        // was lost) goes on as a fresh message: a distributed Map's looks last minutes, and
        // five deliveries of one look (three stopped, two deletes lost) sent it to the
        // dead-letter queue although each was taken up again (seed 2529). Its stopped look's
        // hold is over by now (the message came back after it), so the next look is due. A
        // look that fails every time is handed on a few times only, then goes to the
        // dead-letter queue (and its alarm) as any message does.
        if let TaskMessage::Poll { handed_on, .. } = &mut msg {
            if r.receive_count > 1 && *handed_on < MAX_LOOK_HAND_ONS {
                *handed_on += 1;
                if let Err(e) = queues::send_task(&deps.aws, &deps.meter, &msg).await {
                    tracing::warn!(message_id = %r.message_id, error = %e, "invoker: look not handed on");
                    failed.push(r.message_id.clone());
                }
                continue;
            }
        }
        // Every line logged while working on it carries the execution's ARN.
        let span = tracing::info_span!("task", execution_arn = %msg.execution());
        let receipt = r.receipt_handle.as_deref();
        if let Err(e) = Box::pin(forward(
            deps,
            Some(invoker),
            msg,
            Started::new(started),
            Delivery {
                by,
                receipt,
                queued: true,
                chain: None,
            },
        ))
        .instrument(span.clone())
        .await
        {
            span.in_scope(|| tracing::warn!(message_id = %r.message_id, error = %e, "invoker: message failed"));
            failed.push(r.message_id.clone());
        }
    }
    failed
}

/// A Task call handed to the invoker directly (an asynchronous invocation, see
/// `queues::deliver_tasks`): worked as a tasks-queue message is. One that cannot be worked now
/// (its attempt in flight in another invocation, a service error) goes on through the tasks
/// queue, whose redelivery, visibility and dead-letter queue then take over. `Err` only when
/// that send failed too: Lambda invokes again (twice at most), then sends the event to the
/// function's on-failure destination, the tasks dead-letter queue.
pub async fn on_task_invocation(
    deps: &Deps,
    invoker: &dyn TaskInvoker,
    event: &queues::TaskInvocation,
    by: &Invocation,
) -> Result<(), AwsError> {
    let chain = Chain::new(now_ms(), by.deadline_ms);
    let mut started = Started::new(Instant::now());
    let mut body = Some(event.body.clone());
    let mut next = None;
    loop {
        let worked = async {
            let msg: TaskMessage = match next.take() {
                Some(m) => m,
                None => {
                    let text = queues::received(
                        &deps.aws,
                        &Meter::default(),
                        body.as_deref().unwrap_or_default(),
                    )
                    .await?;
                    stepwise_engine::deep::from_str(&text).map_err(|e| AwsError::Corrupt {
                        key: "a Task call handed to the invoker".into(),
                        message: e.to_string(),
                    })?
                }
            };
            let span = tracing::info_span!("task", execution_arn = %msg.execution());
            // A chained call's message, should it go to the tasks queue below.
            if body.is_none() {
                body = Some(queues::task_body(&deps.aws, &deps.meter, &msg).await?);
            }
            Box::pin(forward(
                deps,
                Some(invoker),
                msg,
                started,
                Delivery {
                    by,
                    receipt: None,
                    queued: false,
                    chain: Some(&chain),
                },
            ))
            .instrument(span)
            .await
        };
        let delay_ms = match worked.await {
            Ok(()) => None,
            // Unreadable: nothing can work it, as on the queue.
            Err(e @ AwsError::Corrupt { .. }) => {
                tracing::error!(error = %e, "invoker: dropping an unreadable Task call");
                None
            }
            // Back when the other invocation's time is over, as the queue's hold would bring it.
            Err(AwsError::AttemptInFlight { deadline_ms, .. }) => {
                Some(deadline_ms.saturating_sub(now_ms()) + 5_000)
            }
            Err(e) => {
                tracing::warn!(error = %e, "invoker: Task call handed to the tasks queue");
                Some(0)
            }
        };
        if let Some(delay_ms) = delay_ms {
            // No body: a chained call whose message could not be made; Lambda invokes the
            // chain's first call again (see crate::chain).
            let Some(text) = body.take() else {
                return Err(AwsError::service(
                    "SQS",
                    "SendMessage",
                    "the chained Task call's message could not be made",
                ));
            };
            queues::send_task_body_delayed(&deps.aws, &deps.meter, text, delay_ms).await?;
        }
        // The call the step just committed makes, taken to be worked here (crate::chain).
        let Some(m) = chain.take() else {
            return Ok(());
        };
        next = Some(m);
        body = None;
        started = Started {
            at: Instant::now(),
            request: false,
        };
    }
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

/// Sends a message's outcome to the transitions queue: a due timer's firing, or a task's answer
/// after calling it or looking at its job (`invoker`, when the message is a Task call or a poll).
async fn forward(
    deps: &Deps,
    invoker: Option<&dyn TaskInvoker>,
    msg: TaskMessage,
    started: Started,
    delivery: Delivery<'_>,
) -> Result<(), AwsError> {
    let Delivery {
        by,
        receipt,
        queued,
        chain,
    } = delivery;
    let local = Meter::default();
    // The event source mapping's receive and delete of this message (a standard queue: the
    // tasks or the timers queue) are billed too; a call handed over directly had none.
    if queued {
        local.sqs_delivery(false, 0);
    }
    match msg {
        TaskMessage::Timer {
            execution,
            timer,
            at_ms,
        } => {
            let event = Event::TimerFired { timer };
            send_outcome(deps, execution, event, Some(at_ms), &local, started).await
        }
        TaskMessage::Poll {
            execution,
            state_machine_name,
            test_case,
            command,
            job,
            polling,
            wait_ms,
            ..
        } => {
            let Some(invoker) = invoker else {
                return Err(AwsError::Corrupt {
                    key: execution,
                    message: "a job poll on the timers queue".into(),
                });
            };
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
            // A look that holds its job for long (a map run's piece) is taken up again soon
            // after its hold surely ended if this invocation stops midway, not after the
            // queue's visibility timeout (90 minutes, for the longest task call): this message
            // comes back then. Surely: the hold may begin as late as this invocation's end
            // (a delayed request), and a message back while its own look's hold lasts would
            // take it for another look's and end the chain (seed 4, a 60-item Map).
            if let Some(hold) = invoker.job_hold(&req) {
                hold_until(deps, &local, receipt, by.deadline_ms, hold).await;
            }
            let called = Instant::now();
            let polled = invoker.poll_job(&req, &job).await;
            // A map run is Stepwise's own work (in the invoker's duration), not a user's task.
            if !is_map_run(&req) {
                local.record(|u| {
                    u.task_invocations += 1;
                    u.task_seconds += called.elapsed().as_secs_f64();
                });
            }
            let outcome = match polled {
                // Another delivery of this look carries the job on (its message stays queued
                // until its look is done): this chain ends.
                Ok(JobLook::Elsewhere) => return Ok(()),
                Ok(look @ (JobLook::Running | JobLook::Unrecorded { .. })) => {
                    let mut wait = polling
                        .next(std::time::Duration::from_millis(wait_ms))
                        .as_millis() as u64;
                    // A hold this look could not release: the next look once it is over.
                    if let JobLook::Unrecorded { until_ms } = look {
                        let left = (until_ms + 1_000).saturating_sub(now_ms());
                        wait = wait.max(left.clamp(0, queues::MAX_SQS_DELAY_MS) as u64);
                    }
                    let again = TaskMessage::Poll {
                        execution,
                        state_machine_name,
                        test_case,
                        command,
                        job,
                        polling,
                        wait_ms: wait,
                        handed_on: 0,
                    };
                    return queues::send_task_delayed(&deps.aws, &deps.meter, &again, wait as i64)
                        .await;
                }
                Ok(JobLook::Ended(result)) => Ok(result),
                Err(f) => Err(f),
            };
            let event = outcome_event(task, outcome);
            send_outcome(deps, execution, event, None, &local, started).await
        }
        TaskMessage::Invoke {
            execution,
            state_machine_name,
            test_case,
            command,
            redrive_count,
            uncalled,
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
            let Some(invoker) = invoker else {
                return Err(AwsError::Corrupt {
                    key: execution,
                    message: "a Task call on the timers queue".into(),
                });
            };
            let Some((task, req)) = request(
                &execution,
                state_machine_name.clone(),
                test_case.clone(),
                command.clone(),
                redrive_count,
            ) else {
                return Ok(());
            };
            // The attempt's records are the execution's cost: counted on `local`, which the
            // outcome carries. Recorded before the call (an invoke or a `.sync` submit).
            // A distributed Map's run is a job too: it lasts longer than a function. Starting
            // it again is harmless (its children and files are named by the run).
            let map_run = is_map_run(&req);
            let table = crate::table::Table::new(&deps.aws, &local);
            let attempt = match table
                .begin_attempt_after(&execution, task, by, &uncalled)
                .await
            {
                Ok(a) => a,
                // The record may exist (a put that took effect, its every answer lost) though
                // the task was not called: handed on, naming this invocation, the command's
                // next delivery takes the record over rather than fail the attempt as lost.
                Err(e) => {
                    let Some(me) = by.claim().filter(|_| uncalled.len() < MAX_HAND_ONS) else {
                        return Err(e);
                    };
                    tracing::warn!(task, error = %e, "attempt record in doubt: command handed on");
                    let mut uncalled = uncalled;
                    uncalled.push(me);
                    let again = TaskMessage::Invoke {
                        execution,
                        state_machine_name,
                        test_case,
                        command,
                        redrive_count,
                        uncalled,
                    };
                    return queues::send_task(&deps.aws, &deps.meter, &again)
                        .await
                        .map_err(|_| e);
                }
            };
            match attempt {
                Attempt::First => {}
                // The first invoker recorded the outcome and may have stopped before sending
                // it: send it again (a duplicate is dropped by the queue or ignored by the
                // engine).
                Attempt::Taken {
                    outcome: Some(recorded),
                    ..
                } => return resend(deps, recorded).await,
                Attempt::Taken { sent: true, .. } => return Ok(()),
                Attempt::Taken { deadline_ms, .. } if now_ms() < deadline_ms => {
                    // Back when the first call's time is over (then answered or lost), not
                    // after the queue's visibility timeout.
                    hold_until(deps, &local, receipt, deadline_ms, Duration::ZERO).await;
                    return Err(AwsError::AttemptInFlight {
                        execution,
                        task,
                        deadline_ms,
                    });
                }
                // The first invoker ended without sending the outcome: a map run is started
                // again (it goes on from its cursor, if it has one).
                Attempt::Taken { .. } if map_run => {}
                // The first invoker ended without sending the outcome: it is lost, and the
                // task is not called twice.
                Attempt::Taken { .. } => {
                    let event = Event::TaskFailed {
                        task,
                        error: LOST_ATTEMPT_ERROR.into(),
                        cause: format!(
                            "The outcome of the call of {} was lost: the invoker \
                             calling it stopped (a timeout or a crash). Stepwise calls a task \
                             once per attempt.",
                            req.state_name
                        ),
                    };
                    return send_outcome(deps, execution, event, None, &local, started).await;
                }
            }
            let waits_for_token = req.resource.waits_for_task_token();
            let (event, poll) = if req.resource.is_sync() || map_run {
                // A `.sync` job: started here, then looked at through the tasks queue.
                let called = Instant::now();
                let submitted = invoker.submit(req).await;
                if !map_run {
                    local.record(|u| {
                        u.task_invocations += 1;
                        u.task_seconds += called.elapsed().as_secs_f64();
                    });
                }
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
                            handed_on: 0,
                        };
                        (Event::TaskSubmitted { task, output }, Some((poll, first)))
                    }
                    Ok(Submission::Done(output)) => (outcome_event(task, Ok(output)), None),
                    // A map run that could not begin (its record's write failed after the
                    // SDK's retries): the command comes again and begins it again (harmless,
                    // see above), rather than fail the Map for Stepwise's own trouble (seed 84).
                    Err(f) if map_run => {
                        tracing::warn!(task, error = %f.cause, "invoker: the map run did not begin; its command comes again");
                        return Err(AwsError::service(
                            "DynamoDB",
                            "the map run's cursor",
                            f.cause,
                        ));
                    }
                    Err(f) => (outcome_event(task, Err(f)), None),
                }
            } else {
                let called = Instant::now();
                let outcome = invoker.invoke(req).await;
                local.record(|u| {
                    u.task_invocations += 1;
                    u.task_seconds += called.elapsed().as_secs_f64();
                });
                tracing::info!(task, succeeded = outcome.is_ok(), "invoker: task called");
                let event = match outcome {
                    Ok(output) if waits_for_token => Event::TaskSubmitted { task, output },
                    other => outcome_event(task, other),
                };
                (event, None)
            };
            // Applied here, in one step (load, step, commit, dispatch): the commit is the
            // outcome's first durable write, as the record below would be, and no queue hop
            // is paid for it (a send, the mapping's receive and delete, a stepper invocation,
            // the record). A redelivered command finds the attempt taken and sends the lost
            // attempt's failure, which the engine ignores once this answer is in, after
            // dispatching an outbox a stop left behind. When the step cannot be made now (a
            // conflict past the driver's retries, a service error) or the invocation is
            // near its end, the outcome is recorded and sent to the transitions queue instead.
            // (A deadline already past is one the context did not give, as in tests.)
            let left = by.deadline_ms.saturating_sub(now_ms());
            let room = left <= 0 || left > DIRECT_APPLY_MARGIN_MS;
            let event = if poll.is_none() && room {
                match apply_outcome(deps, &execution, event.clone(), &local, started, chain).await {
                    Ok(true) => return Ok(()),
                    // An earlier step's outbox is still being sent: the queue applies it after.
                    Ok(false) => {
                        tracing::info!(task, "invoker: outcome sent behind an outbox in dispatch");
                        event
                    }
                    Err(e) => {
                        tracing::warn!(task, error = %e, "invoker: outcome applied through the queue");
                        event
                    }
                }
            } else {
                event
            };
            // Recorded on the attempt before it is sent: a redelivered command then sends it
            // again, whenever this invoker stops. Only a stop between the task's answer and
            // this write loses it (a task is called once per attempt).
            let (transition, group, dedup) =
                outcome_body(deps, execution.clone(), event, &local, started).await?;
            let poll = match poll {
                Some((poll, first)) => Some((
                    queues::task_body(&deps.aws, &deps.meter, &poll).await?,
                    first as i64,
                )),
                None => None,
            };
            let recorded = crate::attempts::Recorded {
                transition,
                group,
                dedup,
                poll,
            };
            crate::table::Table::new(&deps.aws, &Meter::default())
                .record_outcome(&execution, task, &recorded)
                .await?;
            resend(deps, recorded).await
        }
    }
}

/// Makes the tasks-queue message being worked on (its `receipt`) come back, should this
/// invocation stop, 5 s after `deadline_ms` plus `then` instead of after the queue's visibility
/// timeout. Best effort: the message keeps its visibility when the request fails.
async fn hold_until(
    deps: &Deps,
    local: &Meter,
    receipt: Option<&str>,
    deadline_ms: i64,
    then: Duration,
) {
    let Some(receipt) = receipt else {
        return;
    };
    let left = deadline_ms.saturating_sub(now_ms()).max(0) as u64;
    let after = then + Duration::from_millis(left + 5_000);
    if let Err(e) = queues::hold_task_message(&deps.aws, local, receipt, after).await {
        tracing::warn!(error = %e, "invoker: the message keeps its visibility");
    }
}

/// How many times one look is handed on as a fresh message before its deliveries count
/// towards the dead-letter queue.
const MAX_LOOK_HAND_ONS: u32 = 10;

/// How many invocations may hand one command on (each one's attempt record in doubt) before
/// its failure is left to the queue's redelivery.
const MAX_HAND_ONS: usize = 5;

/// The invoker applies a task's outcome itself only with this much of its invocation left
/// (a step takes a few requests; a slow one is better sent).
const DIRECT_APPLY_MARGIN_MS: i64 = 30_000;

/// Applies a task's outcome to its execution here, as the stepper would, with the usage of the
/// call (and of this invocation so far) billed to that step. `false`: not applied, an earlier
/// step's outbox is still in dispatch ([`Advanced::Deferred`]); the requests made here go back
/// on `local`, for the message that then carries the outcome.
async fn apply_outcome(
    deps: &Deps,
    execution: &str,
    event: Event,
    local: &Meter,
    started: Started,
    chain: Option<&Chain>,
) -> Result<bool, stepwise_ports::execution::StoreError> {
    let mut usage = deps.usage_since(started);
    usage.add(&local.take());
    deps.meter.begin(execution);
    deps.meter.record(|u| u.add(&usage));
    let applying = Instant::now();
    let chaining = chain.map(|chain| Chaining {
        inner: deps.dispatcher.as_ref(),
        chain,
        now_ms,
    });
    let dispatcher = match &chaining {
        Some(c) => c as &dyn Dispatcher,
        None => deps.dispatcher.as_ref(),
    };
    let r = advance_inline(&deps.store, dispatcher, execution, event, now_ms()).await;
    // Time spent here is billed with the execution's next commit.
    let elapsed = applying.elapsed().as_secs_f64() * deps.memory_mb / 1024.0;
    deps.meter.record(|u| u.lambda_gb_seconds += elapsed);
    match r? {
        // The message that carries the outcome carries its usage (the calls' records, this
        // invocation's time, counted again there) instead.
        Advanced::Deferred => {
            let mut metered = deps.meter.take();
            metered.lambda_invocations = 0;
            metered.lambda_gb_seconds = 0.0;
            local.record(|u| u.add(&metered));
            Ok(false)
        }
        _ => Ok(true),
    }
}

/// Sends a recorded outcome (and the first poll of its `.sync` job).
async fn resend(deps: &Deps, r: crate::attempts::Recorded) -> Result<(), AwsError> {
    queues::send_transition_body(&deps.aws, &Meter::default(), r.transition, r.group, r.dedup)
        .await?;
    if let Some((poll, delay)) = r.poll {
        queues::send_task_body_delayed(&deps.aws, &deps.meter, poll, delay).await?;
    }
    Ok(())
}

/// The transitions-queue message of an outcome, with the usage it carries (the record and the
/// send below counted in it: after the send, nothing carries usage to the execution any more).
async fn outcome_body(
    deps: &Deps,
    execution: String,
    event: Event,
    local: &Meter,
    started: Started,
) -> Result<(String, String, String), AwsError> {
    local.dynamodb_write(256);
    let mut usage = deps.usage_since(started);
    usage.add(&local.take());
    usage.sqs_fifo_requests += 1;
    let msg = TransitionMessage {
        execution,
        event,
        usage: Some(usage),
        due_ms: None,
    };
    queues::transition_body(&deps.aws, &Meter::default(), &msg, now_ms()).await
}

async fn send_outcome(
    deps: &Deps,
    execution: String,
    event: Event,
    due_ms: Option<i64>,
    local: &Meter,
    started: Started,
) -> Result<(), AwsError> {
    let mut usage = deps.usage_since(started);
    usage.add(&local.take());
    // The send below is counted in the usage it carries.
    usage.sqs_fifo_requests += 1;
    let msg = TransitionMessage {
        execution,
        event,
        usage: Some(usage),
        due_ms,
    };
    queues::send_transition(&deps.aws, &Meter::default(), &msg, now_ms()).await
}

/// Whether `req` is a distributed Map's run (a job the invoker carries out itself).
fn is_map_run(req: &TaskRequest) -> bool {
    req.resource.arn().ends_with(":::mapRun")
        && req
            .parameters
            .get(stepwise_engine::map_run::MapRunRequest::KEY)
            .is_some()
}
