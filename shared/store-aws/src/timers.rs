//! Timers: within 15 minutes a delayed message on the timers queue; beyond, an EventBridge
//! Scheduler one-time schedule that sends [`Event::TimerFired`] to the transitions queue and
//! deletes itself (`ActionAfterCompletion: DELETE`), or is deleted when the engine cancels the
//! timer. A timer that fires after its wait is over is ignored by the engine.
//!
//! What AWS requires and does here: Scheduler sends to a FIFO queue only when the queue has
//! content-based deduplication (it sends no deduplication id; the templates turn it on), retries
//! a failed delivery by its retry policy and then sends the event to the dead-letter queue (a
//! standard queue), and fires up to a minute off its time even with the flexible window off. So
//! every timer carries its due time, and the stepper re-arms a timer that arrives early for the
//! rest of its time instead of applying it ([`crate::handlers::on_transitions`]).

use crate::meter::Meter;
use crate::queues::{self, TaskMessage, TransitionMessage, MAX_SQS_DELAY_MS};
use crate::{fnv64, Aws, AwsError};
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
    RetryPolicy, SqsParameters, Target,
};
use stepwise_engine::Event;

/// How long Scheduler keeps retrying a delivery (its maximum, 24 hours), and how often (its
/// maximum, 185 times), before the event goes to the dead-letter queue.
const RETRY_MAX_AGE_SECONDS: i32 = 86_400;
const RETRY_MAX_ATTEMPTS: i32 = 185;

/// The schedule name of a timer (Scheduler allows 64 characters).
pub fn schedule_name(execution: &str, timer: u64) -> String {
    format!("sw-{:016x}-{timer}", fnv64(&[execution]))
}

/// The name of a timer's schedule made again because Scheduler fired the first one early: its
/// own name, as the first may not be deleted yet. Cancelling the timer deletes the first name
/// only: a re-armed schedule (Scheduler fires at most a minute early, so one is rare) fires once
/// into a timer the engine no longer waits for, and deletes itself.
fn rearmed_name(execution: &str, timer: u64, at_ms: i64) -> String {
    format!(
        "{}-r{}",
        schedule_name(execution, timer),
        at_ms.div_euclid(1000)
    )
}

/// `at()` takes UTC `yyyy-mm-ddThh:mm:ss`: the due time rounded up to the second.
fn at_expression(at_ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(at_ms.saturating_add(999).div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "at({:04}-{:02}-{:02}T{:02}:{:02}:{:02})",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Starts a timer for an execution.
pub async fn start(
    aws: &Aws,
    meter: &Meter,
    execution: &str,
    timer: u64,
    at_ms: i64,
    now_ms: i64,
) -> Result<(), AwsError> {
    arm(aws, meter, execution, timer, at_ms, now_ms, false).await
}

/// Starts a timer again that arrived before `at_ms`, for the rest of its time.
pub async fn rearm(
    aws: &Aws,
    meter: &Meter,
    execution: &str,
    timer: u64,
    at_ms: i64,
    now_ms: i64,
) -> Result<(), AwsError> {
    arm(aws, meter, execution, timer, at_ms, now_ms, true).await
}

async fn arm(
    aws: &Aws,
    meter: &Meter,
    execution: &str,
    timer: u64,
    at_ms: i64,
    now_ms: i64,
    rearmed: bool,
) -> Result<(), AwsError> {
    let delay = at_ms - now_ms;
    if delay <= MAX_SQS_DELAY_MS {
        let msg = TaskMessage::Timer {
            execution: execution.to_string(),
            timer,
            at_ms,
        };
        return queues::send_timer(aws, meter, &msg, delay).await;
    }
    let name = if rearmed {
        rearmed_name(execution, timer, at_ms)
    } else {
        schedule_name(execution, timer)
    };
    let input = stepwise_engine::deep::to_string(&TransitionMessage {
        execution: execution.to_string(),
        event: Event::TimerFired { timer },
        usage: None,
        due_ms: Some(at_ms),
    })
    .map_err(|e| AwsError::service("Scheduler", "CreateSchedule", e))?;
    let target = Target::builder()
        .arn(&aws.names.transitions_queue_arn)
        .role_arn(&aws.names.scheduler_role_arn)
        .input(input)
        .sqs_parameters(
            SqsParameters::builder()
                .message_group_id(queues::group_id(execution))
                .build(),
        )
        .retry_policy(
            RetryPolicy::builder()
                .maximum_event_age_in_seconds(RETRY_MAX_AGE_SECONDS)
                .maximum_retry_attempts(RETRY_MAX_ATTEMPTS)
                .build(),
        )
        .dead_letter_config(
            DeadLetterConfig::builder()
                .arn(&aws.names.scheduler_dead_letter_queue_arn)
                .build(),
        )
        .build()
        .map_err(|e| AwsError::service("Scheduler", "CreateSchedule", e))?;
    let window = FlexibleTimeWindow::builder()
        .mode(FlexibleTimeWindowMode::Off)
        .build()
        .map_err(|e| AwsError::service("Scheduler", "CreateSchedule", e))?;
    meter.record(|u| u.schedules += 1);
    let r = aws
        .scheduler
        .create_schedule()
        .name(name)
        .group_name(&aws.names.schedule_group)
        .schedule_expression(at_expression(at_ms))
        .schedule_expression_timezone("UTC")
        .flexible_time_window(window)
        .target(target)
        .action_after_completion(ActionAfterCompletion::Delete)
        .send()
        .await;
    match r {
        Ok(_) => Ok(()),
        // A redelivered step creates the same schedule again: that is fine.
        Err(e)
            if e.as_service_error()
                .is_some_and(|x| x.is_conflict_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(AwsError::service(
            "Scheduler",
            "CreateSchedule",
            aws_sdk_scheduler::error::DisplayErrorContext(e),
        )),
    }
}

/// Cancels a timer: deletes its schedule, if it has one (a short timer has none and just
/// arrives to be ignored; which one a timer is, is not kept, so every cancel asks). Scheduler
/// bills invocations, not API calls: nothing to meter.
pub async fn cancel(aws: &Aws, execution: &str, timer: u64) -> Result<(), AwsError> {
    let r = aws
        .scheduler
        .delete_schedule()
        .name(schedule_name(execution, timer))
        .group_name(&aws.names.schedule_group)
        .send()
        .await;
    match r {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|x| x.is_resource_not_found_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(AwsError::service(
            "Scheduler",
            "DeleteSchedule",
            aws_sdk_scheduler::error::DisplayErrorContext(e),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_expressions_are_utc_seconds() {
        // Rounded up: a schedule never fires before its timer is due because of the rounding.
        assert_eq!(at_expression(1_700_000_000_999), "at(2023-11-14T22:13:21)");
        assert_eq!(at_expression(1_700_000_000_000), "at(2023-11-14T22:13:20)");
        assert_ne!(rearmed_name("x", 3, 1_000), schedule_name("x", 3));
        assert!(rearmed_name(&"x".repeat(300), u64::MAX, i64::MAX).len() <= 64);
        assert!(schedule_name(&"x".repeat(300), 12345).len() <= 64);
    }
}
