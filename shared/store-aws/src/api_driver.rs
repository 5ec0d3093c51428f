//! The [`Driver`] the API uses on AWS.
//!
//! * [`Driver::apply`] runs [`advance`] inline, in the API function. The API needs its answer:
//!   SendTaskSuccess must say `TaskTimedOut` when the task is no longer waited for, StopExecution
//!   and RedriveExecution answer with the state they left. Running it inline beside the stepper
//!   is safe: every commit is conditioned on the version it read, so the API and a stepper
//!   racing on one execution serialise on DynamoDB (the loser re-reads and re-steps), and the
//!   engine ignores an event whose wait is no longer outstanding, so an event applied here ahead
//!   of one still on the FIFO queue gives one of the two orders, both valid. Lost races are
//!   retried here with backoff, beyond what [`advance`] retries itself.
//! * [`Driver::submit`] sends the event to the transitions queue (StartExecution's `Start`):
//!   the request returns without running the execution. The send starts at once; the API
//!   function awaits it with [`AwsDriver::flush`] before it answers, because Lambda freezes
//!   whatever still runs after the response.
//! * [`Driver::wait_end`] and [`Driver::wait_activity`] poll the table with backoff.

use crate::meter::Meter;
use crate::ports::{AwsDispatcher, AwsStore};
use crate::queues::{self, TransitionMessage};
use crate::Aws;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stepwise_engine::Event;
use stepwise_ports::api::{ApiStore, Driver};
use stepwise_ports::execution::{Advanced, Dispatcher, StoreError};
use stepwise_ports::BoxFuture;
use stepwise_runtime::durable::{advance, advance_inline};
use stepwise_runtime::local::wall_clock_ms;
use tokio::task::JoinHandle;

/// How many times [`Driver::apply`] starts [`advance`] again after it gave up on conflicts.
const APPLY_ATTEMPTS: u32 = 6;

/// Why events submitted in the background were not sent.
#[derive(Debug, thiserror::Error)]
#[error("{failed} event(s) could not be sent to the transitions queue: {first}")]
pub struct FlushError {
    /// How many.
    pub failed: usize,
    /// The first reason.
    pub first: String,
}

type Pending = JoinHandle<Result<(), (String, Event, String)>>;

/// Applies the API's events to executions kept by [`AwsStore`].
pub struct AwsDriver {
    store: Arc<AwsStore>,
    dispatcher: Box<dyn Dispatcher>,
    aws: Aws,
    meter: Arc<Meter>,
    pending: Mutex<Vec<Pending>>,
}

impl AwsDriver {
    /// A driver over `store`, sending commands with an [`AwsDispatcher`] on the same clients.
    pub fn new(store: Arc<AwsStore>) -> Self {
        let aws = store.aws().clone();
        let meter = store.meter().clone();
        AwsDriver {
            dispatcher: Box::new(AwsDispatcher::new(aws.clone(), meter.clone())),
            store,
            aws,
            meter,
            pending: Mutex::new(Vec::new()),
        }
    }

    /// Waits for the events [`Driver::submit`] sent in the background. An event the queue
    /// refused is applied inline instead, so a created execution is never left unstarted; what
    /// fails both ways is reported.
    pub async fn flush(&self) -> Result<(), FlushError> {
        let handles: Vec<Pending> =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let mut failed = 0;
        let mut first = String::new();
        for h in handles {
            let reason = match h.await {
                Ok(Ok(())) => continue,
                Ok(Err((arn, event, why))) => match self.apply_inline(&arn, event).await {
                    Ok(_) => continue,
                    Err(e) => format!("{why}; applying it inline: {e}"),
                },
                Err(e) => e.to_string(),
            };
            if failed == 0 {
                first = reason;
            }
            failed += 1;
        }
        if failed == 0 {
            Ok(())
        } else {
            Err(FlushError { failed, first })
        }
    }

    async fn apply_inline(&self, arn: &str, event: Event) -> Result<Advanced, StoreError> {
        let mut attempt = 0;
        // A task's answer finding an earlier step's outbox still in dispatch goes to the queue
        // (see `advance_inline`); other events (Stop, Redrive) need their answer here, and
        // dispatch that outbox themselves.
        let answers_task = matches!(
            event,
            Event::TaskSucceeded { .. }
                | Event::TaskFailed { .. }
                | Event::TaskHeartbeat { .. }
                | Event::TaskStarted { .. }
        );
        loop {
            self.meter.begin(arn);
            let applied = if answers_task {
                advance_inline(
                    self.store.as_ref(),
                    self.dispatcher.as_ref(),
                    arn,
                    event.clone(),
                    wall_clock_ms(),
                )
                .await
            } else {
                advance(
                    self.store.as_ref(),
                    self.dispatcher.as_ref(),
                    arn,
                    event.clone(),
                    wall_clock_ms(),
                )
                .await
            };
            match applied {
                Ok(Advanced::Deferred) => {
                    let msg = TransitionMessage {
                        execution: arn.to_string(),
                        event: event.clone(),
                        usage: Some(self.meter.take()),
                        due_ms: None,
                    };
                    queues::send_transition(&self.aws, &Meter::default(), &msg, wall_clock_ms())
                        .await
                        .map_err(|e| StoreError::Other(e.to_string()))?;
                    return Ok(Advanced::Queued);
                }
                Err(StoreError::Conflict(_)) if attempt + 1 < APPLY_ATTEMPTS => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
                }
                other => return other,
            }
        }
    }
}

impl Driver for AwsDriver {
    fn apply<'a>(
        &'a self,
        execution_arn: &'a str,
        event: Event,
    ) -> BoxFuture<'a, Result<Advanced, StoreError>> {
        Box::pin(self.apply_inline(execution_arn, event))
    }

    fn submit(&self, execution_arn: &str, event: Event) {
        let aws = self.aws.clone();
        let meter = self.meter.clone();
        let arn = execution_arn.to_string();
        let handle = tokio::spawn(async move {
            meter.begin(&arn);
            let msg = TransitionMessage {
                execution: arn.clone(),
                event,
                usage: Some(meter.take()),
                due_ms: None,
            };
            queues::send_transition(&aws, &Meter::default(), &msg, wall_clock_ms())
                .await
                .map_err(|e| (arn, msg.event, e.to_string()))
        });
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
    }

    fn wait_end<'a>(&'a self, execution_arn: &'a str, timeout_ms: u64) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);
            let mut pause = 50u64;
            loop {
                // Ended only when read ended: a read that failed (throttled, timed out) or
                // found nothing yet (a child whose start is still on its way) waits on.
                match self.store.execution_row(execution_arn).await {
                    Ok(Some(row)) if row.status != "RUNNING" => return,
                    _ => {}
                }
                let now = tokio::time::Instant::now();
                if now >= deadline {
                    return;
                }
                let left = (deadline - now).as_millis() as u64;
                tokio::time::sleep(Duration::from_millis(pause.min(left))).await;
                pause = (pause * 2).min(1000);
            }
        })
    }

    fn wait_activity<'a>(&'a self, _activity_arn: &'a str, timeout_ms: u64) -> BoxFuture<'a, ()> {
        // The service polls the activity's queue again after this: wait a little, not long,
        // since a task pushed meanwhile should be handed out promptly.
        Box::pin(tokio::time::sleep(Duration::from_millis(
            timeout_ms.min(500),
        )))
    }

    fn now_ms(&self, _execution_arn: &str) -> i64 {
        wall_clock_ms()
    }
}
