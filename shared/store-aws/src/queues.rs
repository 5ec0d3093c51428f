//! The transitions queue (SQS FIFO: one message group per execution, so one execution is
//! advanced by one stepper at a time, in order), the tasks queue (SQS standard: Task calls for
//! the invoker, one per invocation) and the timers queue (SQS standard: timers due within 15
//! minutes as delayed messages, for the stepper to forward; a queue of their own so that no
//! timer, heartbeat or timeout waits behind a slow call).

use crate::meter::Meter;
use crate::{content_key, fnv64, Aws, AwsError};
use serde::{Deserialize, Serialize};
use stepwise_engine::{Command, Event};

/// The longest delay SQS gives a message.
pub const MAX_SQS_DELAY_MS: i64 = 900_000;

/// Messages larger than this go to S3, and the queue carries a pointer ([`Offloaded`]): SQS takes
/// 256 KiB a message (1 MiB on queues created since 2025), where a task's result can be 6 MB (a
/// Lambda response) and an event's wrapping adds to a 256 KiB input.
pub const INLINE_MESSAGE_LIMIT: usize = 250 * 1024;

/// The body of a message whose content is in the payload bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offloaded {
    /// The object's key.
    #[serde(rename = "payloadS3")]
    pub payload_s3: String,
}

/// The body to send for `body`: itself, or a pointer to it in S3 when it is too large.
async fn sendable(aws: &Aws, meter: &Meter, body: String) -> Result<String, AwsError> {
    if body.len() <= INLINE_MESSAGE_LIMIT {
        return Ok(body);
    }
    offload(aws, meter, body).await
}

/// A pointer to `body`, put in the payload bucket.
async fn offload(aws: &Aws, meter: &Meter, body: String) -> Result<String, AwsError> {
    // Named by content: a message sent twice is one object.
    let key = format!("messages/{}.json", content_key(&body));
    crate::table::Table::new(aws, meter)
        .put_payload(&key, body, false)
        .await?;
    serde_json::to_string(&Offloaded { payload_s3: key })
        .map_err(|e| AwsError::service("SQS", "SendMessage", e))
}

/// A received body as it was sent: read back from S3 when it was offloaded.
pub async fn received(aws: &Aws, meter: &Meter, body: &str) -> Result<String, AwsError> {
    match serde_json::from_str::<Offloaded>(body) {
        Ok(o) if body.starts_with("{\"payloadS3\"") => {
            crate::table::Table::new(aws, meter)
                .get_payload(&o.payload_s3, &o.payload_s3)
                .await
        }
        _ => Ok(body.to_string()),
    }
}

/// A message on the transitions queue: an event for an execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionMessage {
    /// The execution ARN.
    pub execution: String,
    /// The event to apply.
    pub event: Event,
    /// Requests made on the execution's behalf outside the stepper (by the invoker), to add to
    /// its usage when the event is applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<stepwise_ports::execution::Usage>,
    /// For [`Event::TimerFired`]: when the timer is due (milliseconds since the epoch). Scheduler
    /// may deliver a minute early: the stepper never applies a timer before it is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_ms: Option<i64>,
}

/// A message on the tasks queue ([`TaskMessage::Invoke`], [`TaskMessage::Poll`]) or the timers
/// queue ([`TaskMessage::Timer`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
// Messages live for one send or one receive; boxing the command would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum TaskMessage {
    /// Run a Task state's call and send its outcome to the transitions queue.
    Invoke {
        /// The execution ARN.
        execution: String,
        /// Its state machine's name (mock configurations are chosen by it).
        state_machine_name: String,
        /// The mock test case, if any.
        test_case: Option<String>,
        /// The engine's [`Command::InvokeTask`].
        command: Command,
        /// The execution's redrive count when the task was scheduled (mock counters restart
        /// per redrive). Absent in messages sent before it existed.
        #[serde(default)]
        redrive_count: u32,
        /// Invocations that recorded this command's attempt and did not call the task (their
        /// record's answer lost), handing the command on: their record is this delivery's
        /// ([`crate::attempts::Claim`]).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        uncalled: Vec<crate::attempts::Claim>,
    },
    /// Look at a `.sync` job the invoker started (`TaskInvoker::submit`): its outcome to the
    /// transitions queue when it ended, else this message again after the next wait of the
    /// back-off; the job is stopped instead when its task no longer waits for it. No Lambda
    /// waits for the job in between.
    Poll {
        /// The execution ARN.
        execution: String,
        /// Its state machine's name.
        state_machine_name: String,
        /// The mock test case, if any.
        test_case: Option<String>,
        /// The engine's [`Command::InvokeTask`] that started the job.
        command: Command,
        /// The job, as the invoker described it.
        job: serde_json::Value,
        /// The back-off.
        polling: stepwise_ports::tasks::SyncPolling,
        /// The wait before this look, in milliseconds (the next one doubles it).
        wait_ms: u64,
        /// How many deliveries of this look were handed on as fresh messages (see
        /// `handlers::on_tasks`); the next look starts again from 0.
        #[serde(default, skip_serializing_if = "is_zero")]
        handed_on: u32,
    },
    /// A timer due now: forward [`Event::TimerFired`] to the transitions queue.
    Timer {
        /// The execution ARN.
        execution: String,
        /// The timer.
        timer: u64,
        /// When it is due (milliseconds since the epoch).
        at_ms: i64,
    },
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

pub use stepwise_ports::ids::group_id;

/// A deduplication id naming the event, so a re-sent event is dropped by the FIFO queue
/// (and, past its 5-minute window, ignored by the engine as no longer outstanding). A timer's
/// names its send (`nonce`): a timer found early is sent again when due, and must not be dropped
/// as a duplicate of its early delivery; a timer fired twice is ignored by the engine.
pub fn dedup_id(execution: &str, event: &Event, nonce: i64) -> String {
    let what = match event {
        Event::Start { .. } => "start".to_string(),
        Event::TaskSucceeded { task, .. } | Event::TaskFailed { task, .. } => {
            format!("task-{task}-done")
        }
        Event::TaskSubmitted { task, .. } => format!("task-{task}-submitted"),
        Event::TaskStarted { task, .. } => format!("task-{task}-started"),
        Event::TaskHeartbeat { task } => format!("task-{task}-heartbeat-{nonce}"),
        Event::TimerFired { timer } => format!("timer-{timer}-{nonce}"),
        Event::Stop { .. } => "stop".to_string(),
        Event::Redrive { .. } => format!("redrive-{nonce}"),
        // Each UpdateMapRun call is its own change.
        Event::UpdateMapRun { map_run_arn, .. } => format!("update-{map_run_arn}-{nonce}"),
    };
    format!(
        "{:016x}{:016x}",
        fnv64(&[execution, &what]),
        fnv64(&[&what, execution])
    )
}

/// Sends an event to the transitions queue.
pub async fn send_transition(
    aws: &Aws,
    meter: &Meter,
    msg: &TransitionMessage,
    nonce: i64,
) -> Result<(), AwsError> {
    let (body, group, dedup) = transition_body(aws, meter, msg, nonce).await?;
    send_transition_body(aws, meter, body, group, dedup).await
}

/// What [`send_transition`] sends for `msg`: the body (large ones put in S3 first), its message
/// group and its deduplication id.
pub async fn transition_body(
    aws: &Aws,
    meter: &Meter,
    msg: &TransitionMessage,
    nonce: i64,
) -> Result<(String, String, String), AwsError> {
    let body = stepwise_engine::deep::to_string(msg)
        .map_err(|e| AwsError::service("SQS", "SendMessage", e))?;
    let body = sendable(aws, meter, body).await?;
    Ok((
        body,
        group_id(&msg.execution),
        dedup_id(&msg.execution, &msg.event, nonce),
    ))
}

/// Sends a body made by [`transition_body`] (again, when it was recorded).
pub async fn send_transition_body(
    aws: &Aws,
    meter: &Meter,
    body: String,
    group: String,
    dedup: String,
) -> Result<(), AwsError> {
    meter.sqs(true, body.len());
    aws.sqs
        .send_message()
        .queue_url(&aws.names.transitions_queue_url)
        .message_group_id(group)
        .message_deduplication_id(dedup)
        .message_body(body)
        .send()
        .await
        .map_err(|e| {
            AwsError::service(
                "SQS",
                "SendMessage",
                aws_sdk_sqs::error::DisplayErrorContext(e),
            )
        })?;
    Ok(())
}

/// Sends a Task call to the tasks queue.
pub async fn send_task(aws: &Aws, meter: &Meter, msg: &TaskMessage) -> Result<(), AwsError> {
    send_standard(aws, meter, &aws.names.tasks_queue_url, msg, 0).await
}

/// Sends task messages to the tasks queue, ten to a request (SendMessageBatch) as far as a
/// request's 256 KiB allow: a Map's fan-out of a thousand calls is a hundred requests, a
/// tenth of the time and of the price. The last message goes alone after all the others were
/// taken: its answer shows the whole outbox sent (`shows_dispatched` in the runtime), which a
/// batch whose last entry went through while an earlier one failed would not.
pub async fn send_tasks(aws: &Aws, meter: &Meter, msgs: &[TaskMessage]) -> Result<(), AwsError> {
    let Some((last, rest)) = msgs.split_last() else {
        return Ok(());
    };
    let mut bodies = Vec::with_capacity(rest.len());
    for m in rest {
        bodies.push(task_body(aws, meter, m).await?);
    }
    let mut left = bodies.as_slice();
    while !left.is_empty() {
        let mut n = 0;
        let mut bytes = 0;
        while n < left.len()
            && n < BATCH_ENTRIES
            && (n == 0 || bytes + left[n].len() <= BATCH_BYTES)
        {
            bytes += left[n].len();
            n += 1;
        }
        let (batch, tail) = left.split_at(n);
        match batch {
            [one] => send_body(aws, meter, &aws.names.tasks_queue_url, one.clone(), 0).await?,
            _ => send_batch(aws, meter, &aws.names.tasks_queue_url, batch).await?,
        }
        left = tail;
    }
    send_task(aws, meter, last).await
}

/// How many Task calls are handed to the invoker at once; a step with more sends them through
/// the tasks queue.
const DIRECT_CONCURRENCY: usize = 16;

/// The event of an asynchronous invocation of the invoker: a tasks-queue body ([`task_body`])
/// as a string, so that Lambda's parse of the event never meets a payload deeper than a JSON
/// parser's nesting limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInvocation {
    /// The body, as the tasks queue would carry it.
    #[serde(rename = "stepwiseTask")]
    pub body: String,
}

/// Hands the Task calls of a step to the invoker: each its own asynchronous invocation of the
/// invoker function (`InvocationType=Event`) when the deployment names it
/// ([`crate::Names::invoker_function`]), else through the tasks queue ([`send_tasks`]). The
/// invocation is the request the queue's event source mapping would have made, without the
/// queue's send, receive and delete (three SQS requests per call, 30% of a task's overhead).
/// Lambda retries an invocation that failed twice, then sends its event to the function's
/// on-failure destination (the tasks dead-letter queue); the invoker hands a call it cannot
/// work now to the tasks queue (`handlers::on_task_invocation`). The last call goes alone
/// after all the others were taken, as in [`send_tasks`].
pub async fn deliver_tasks(aws: &Aws, meter: &Meter, msgs: &[TaskMessage]) -> Result<(), AwsError> {
    let Some(function) = aws.names.invoker_function.as_deref() else {
        return send_tasks(aws, meter, msgs).await;
    };
    // A large fan-out goes through the queue, ten calls to a request: one by one, even
    // sixteen at a time, a thousand invocations outlasted the stepper (seeds 100 and 200: a
    // Map of 1,000's start delivered five times, then dead).
    if msgs.len() > DIRECT_CONCURRENCY {
        return send_tasks(aws, meter, msgs).await;
    }
    let Some((last, rest)) = msgs.split_last() else {
        return Ok(());
    };
    for chunk in rest.chunks(DIRECT_CONCURRENCY) {
        let mut bodies = Vec::with_capacity(chunk.len());
        for m in chunk {
            bodies.push(task_body(aws, meter, m).await?);
        }
        // Polled in this task (no spawn): a stop of the invocation stops them all.
        let sent = futures_util::future::join_all(
            bodies
                .into_iter()
                .map(|b| Box::pin(invoke_invoker(aws, meter, function, b))),
        )
        .await;
        sent.into_iter().collect::<Result<Vec<()>, _>>()?;
    }
    let body = task_body(aws, meter, last).await?;
    // Boxed: the SDK's request future is large, and dispatches run deep in the stack.
    Box::pin(invoke_invoker(aws, meter, function, body)).await
}

/// The largest event of an asynchronous invocation Lambda takes (256 KiB; a body's escaping in
/// the event's string can take an inline body past it).
const ASYNC_EVENT_LIMIT: usize = 256 * 1024;

/// One asynchronous invocation of the invoker with a tasks-queue body. The invocation itself is
/// not metered here: Lambda bills it as a request, which the invoker counts when it runs.
async fn invoke_invoker(
    aws: &Aws,
    meter: &Meter,
    function: &str,
    body: String,
) -> Result<(), AwsError> {
    let encode = |body: String| {
        serde_json::to_vec(&TaskInvocation { body })
            .map_err(|e| AwsError::service("Lambda", "Invoke", e))
    };
    let mut event = encode(body.clone())?;
    if event.len() > ASYNC_EVENT_LIMIT {
        event = encode(offload(aws, meter, body).await?)?;
    }
    aws.lambda
        .invoke()
        .function_name(function)
        .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
        .payload(aws_sdk_lambda::primitives::Blob::new(event))
        .send()
        .await
        .map_err(|e| {
            AwsError::service(
                "Lambda",
                "Invoke",
                aws_sdk_lambda::error::DisplayErrorContext(e),
            )
        })?;
    Ok(())
}

/// Makes a tasks-queue message being worked on visible again `after` from now (rounded up to
/// a second; SQS's limit is 12 hours): if the invocation stops, the message comes back then.
pub async fn hold_task_message(
    aws: &Aws,
    meter: &Meter,
    receipt_handle: &str,
    after: std::time::Duration,
) -> Result<(), AwsError> {
    meter.sqs(false, 0);
    let secs = after.as_millis().div_ceil(1000).min(12 * 3600) as i32;
    aws.sqs
        .change_message_visibility()
        .queue_url(&aws.names.tasks_queue_url)
        .receipt_handle(receipt_handle)
        .visibility_timeout(secs)
        .send()
        .await
        .map_err(|e| {
            AwsError::service(
                "SQS",
                "ChangeMessageVisibility",
                aws_sdk_sqs::error::DisplayErrorContext(e),
            )
        })?;
    Ok(())
}

/// Entries of a SendMessageBatch.
const BATCH_ENTRIES: usize = 10;
/// The bodies of one SendMessageBatch together.
const BATCH_BYTES: usize = 256 * 1024;
/// How many times the entries a batch did not take are sent again.
const BATCH_TRIES: usize = 3;

/// One SendMessageBatch; entries the queue did not take (on its side: `SenderFault` false) are
/// sent again.
async fn send_batch(
    aws: &Aws,
    meter: &Meter,
    queue_url: &str,
    bodies: &[String],
) -> Result<(), AwsError> {
    let error = |e: String| AwsError::service("SQS", "SendMessageBatch", e);
    let mut pending: Vec<usize> = (0..bodies.len()).collect();
    for _ in 0..BATCH_TRIES {
        meter.sqs(false, pending.iter().map(|&i| bodies[i].len()).sum());
        let entries = pending
            .iter()
            .map(|&i| {
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(bodies[i].clone())
                    .build()
                    .map_err(|e| error(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = aws
            .sqs
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| error(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        if let Some(f) = out.failed().iter().find(|f| f.sender_fault()) {
            return Err(error(format!(
                "entry {} refused: {} {}",
                f.id(),
                f.code(),
                f.message().unwrap_or_default()
            )));
        }
        pending = out
            .failed()
            .iter()
            .filter_map(|f| f.id().parse().ok())
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
    }
    Err(error(format!(
        "{} of {} entries not taken after {BATCH_TRIES} tries",
        pending.len(),
        bodies.len()
    )))
}

/// Sends a message to the tasks queue delayed by up to 15 minutes: a `.sync` job's next look
/// ([`TaskMessage::Poll`]).
pub async fn send_task_delayed(
    aws: &Aws,
    meter: &Meter,
    msg: &TaskMessage,
    delay_ms: i64,
) -> Result<(), AwsError> {
    send_standard(aws, meter, &aws.names.tasks_queue_url, msg, delay_ms).await
}

/// Sends a timer to the timers queue, delayed by up to 15 minutes (rounded up to a second, so it
/// never arrives early).
pub async fn send_timer(
    aws: &Aws,
    meter: &Meter,
    msg: &TaskMessage,
    delay_ms: i64,
) -> Result<(), AwsError> {
    send_standard(aws, meter, &aws.names.timers_queue_url, msg, delay_ms).await
}

/// What [`send_task_delayed`] sends for `msg` (large ones put in S3 first).
pub async fn task_body(aws: &Aws, meter: &Meter, msg: &TaskMessage) -> Result<String, AwsError> {
    let body = stepwise_engine::deep::to_string(msg)
        .map_err(|e| AwsError::service("SQS", "SendMessage", e))?;
    sendable(aws, meter, body).await
}

/// Sends a body made by [`task_body`] to the tasks queue, delayed.
pub async fn send_task_body_delayed(
    aws: &Aws,
    meter: &Meter,
    body: String,
    delay_ms: i64,
) -> Result<(), AwsError> {
    send_body(aws, meter, &aws.names.tasks_queue_url, body, delay_ms).await
}

async fn send_standard(
    aws: &Aws,
    meter: &Meter,
    queue_url: &str,
    msg: &TaskMessage,
    delay_ms: i64,
) -> Result<(), AwsError> {
    let body = task_body(aws, meter, msg).await?;
    send_body(aws, meter, queue_url, body, delay_ms).await
}

async fn send_body(
    aws: &Aws,
    meter: &Meter,
    queue_url: &str,
    body: String,
    delay_ms: i64,
) -> Result<(), AwsError> {
    meter.sqs(false, body.len());
    let delay = (delay_ms.clamp(0, MAX_SQS_DELAY_MS) + 999) / 1000;
    aws.sqs
        .send_message()
        .queue_url(queue_url)
        .delay_seconds(delay as i32)
        .message_body(body)
        .send()
        .await
        .map_err(|e| {
            AwsError::service(
                "SQS",
                "SendMessage",
                aws_sdk_sqs::error::DisplayErrorContext(e),
            )
        })?;
    Ok(())
}

impl TaskMessage {
    /// The message that carries `command` (a Task call) of `execution` to the invoker, as the
    /// step that made it was committed.
    pub fn call(
        execution: &stepwise_ports::execution::StoredExecution,
        command: &stepwise_engine::Command,
    ) -> Self {
        TaskMessage::Invoke {
            execution: execution.arn.clone(),
            state_machine_name: execution.state.info.state_machine_name.clone(),
            test_case: execution.test_case.clone(),
            command: command.clone(),
            redrive_count: execution.state.info.redrive_count,
            uncalled: Vec::new(),
        }
    }

    /// The execution the message is for.
    pub fn execution(&self) -> &str {
        match self {
            TaskMessage::Invoke { execution, .. }
            | TaskMessage::Poll { execution, .. }
            | TaskMessage::Timer { execution, .. } => execution,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_fit_sqs_limits_and_name_the_event() {
        let arn = format!(
            "arn:aws:states:us-east-1:123456789012:execution:{}:{}",
            "m".repeat(80),
            "e".repeat(80)
        );
        assert_eq!(group_id(&arn).len(), 32);
        let done = |task| Event::TaskFailed {
            task,
            error: String::new(),
            cause: String::new(),
        };
        let a = dedup_id(&arn, &done(3), 0);
        assert_eq!(a, dedup_id(&arn, &done(3), 99));
        assert_ne!(a, dedup_id(&arn, &done(4), 0));
        // A timer sent again when due is not a duplicate of its early delivery.
        assert_ne!(
            dedup_id(&arn, &Event::TimerFired { timer: 3 }, 1),
            dedup_id(&arn, &Event::TimerFired { timer: 3 }, 2)
        );
        assert_ne!(
            dedup_id(&arn, &Event::TaskHeartbeat { task: 1 }, 1),
            dedup_id(&arn, &Event::TaskHeartbeat { task: 1 }, 2)
        );
    }
}
