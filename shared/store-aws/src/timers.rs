//! Timers: within 15 minutes a delayed message on the tasks queue; beyond, an EventBridge
//! Scheduler one-time schedule that sends [`Event::TimerFired`] to the transitions queue and
//! deletes itself. A timer that fires after its wait is over is ignored by the engine.

use crate::meter::Meter;
use crate::queues::{self, TaskMessage, TransitionMessage, MAX_SQS_DELAY_MS};
use crate::{fnv64, Aws, AwsError};
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, SqsParameters, Target,
};
use stepwise_engine::Event;

/// The schedule name of a timer (Scheduler allows 64 characters).
pub fn schedule_name(execution: &str, timer: u64) -> String {
    format!("sw-{:016x}-{timer}", fnv64(&[execution]))
}

/// `at()` takes UTC `yyyy-mm-ddThh:mm:ss`.
fn at_expression(at_ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(at_ms.div_euclid(1000))
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
    let delay = at_ms - now_ms;
    if delay <= MAX_SQS_DELAY_MS {
        let msg = TaskMessage::Timer {
            execution: execution.to_string(),
            timer,
            at_ms,
        };
        return queues::send_task(aws, meter, &msg, delay).await;
    }
    let input = stepwise_engine::deep::to_string(&TransitionMessage {
        execution: execution.to_string(),
        event: Event::TimerFired { timer },
        usage: None,
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
        .name(schedule_name(execution, timer))
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

/// Cancels a long timer's schedule (short timers just arrive late and are ignored).
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
        assert_eq!(at_expression(1_700_000_000_999), "at(2023-11-14T22:13:20)");
        assert!(schedule_name(&"x".repeat(300), 12345).len() <= 64);
    }
}
