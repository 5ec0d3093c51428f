//! The Run a Job (`.sync`) pattern: after the start call, the job's describe call is polled with
//! a growing interval until the job reaches a terminal state; success gives the job's
//! description as the task's result, failure `States.TaskFailed` with the description as JSON
//! text for the cause (as AWS Step Functions reports a failed ECS task, Batch job, Glue job run
//! or Athena query).

use std::future::Future;
use std::time::Duration;

use serde_json::Value;
use stepwise_ports::tasks::TaskFailure;

/// The error of a `.sync` job that ended in a failed state.
pub const TASK_FAILED: &str = "States.TaskFailed";

/// How a `.sync` job is polled: the first describe call after `first`, each next one after twice
/// the previous interval, never more than `max` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncPolling {
    /// The wait before the first describe call.
    pub first: Duration,
    /// The longest wait between two describe calls.
    pub max: Duration,
}

impl Default for SyncPolling {
    /// 1 s, then 2, 4, 8, 16, 30, 30, ... seconds.
    fn default() -> Self {
        Self {
            first: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }
    }
}

impl SyncPolling {
    /// A fixed interval (tests use a few milliseconds).
    pub fn every(interval: Duration) -> Self {
        Self {
            first: interval,
            max: interval,
        }
    }

    /// The wait after `previous`.
    fn next(&self, previous: Duration) -> Duration {
        previous
            .saturating_mul(2)
            .min(self.max)
            .max(self.first.min(self.max))
    }
}

/// What one describe call says about the job.
#[derive(Debug, Clone, PartialEq)]
pub enum JobState {
    /// Not finished yet.
    Running,
    /// Finished well: the task's result.
    Succeeded(Value),
    /// Finished badly: the description, the cause of `States.TaskFailed`.
    Failed(Value),
}

/// Polls `describe` until the job is done.
pub async fn until_done<F, Fut>(
    polling: &SyncPolling,
    mut describe: F,
) -> Result<Value, TaskFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<JobState, TaskFailure>>,
{
    let mut wait = polling.first;
    loop {
        tokio::time::sleep(wait).await;
        match describe().await? {
            JobState::Running => wait = polling.next(wait),
            JobState::Succeeded(result) => return Ok(result),
            JobState::Failed(description) => {
                return Err(TaskFailure::new(TASK_FAILED, description.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_interval_doubles_up_to_the_maximum() {
        let p = SyncPolling::default();
        let mut w = p.first;
        let mut seen = vec![w.as_secs()];
        for _ in 0..6 {
            w = p.next(w);
            seen.push(w.as_secs());
        }
        assert_eq!(seen, [1, 2, 4, 8, 16, 30, 30]);
        let fixed = SyncPolling::every(Duration::from_millis(5));
        assert_eq!(fixed.next(fixed.first), Duration::from_millis(5));
    }

    #[tokio::test]
    async fn polls_until_a_terminal_state() {
        let mut calls = 0;
        let out = until_done(&SyncPolling::every(Duration::from_millis(1)), || {
            calls += 1;
            let n = calls;
            async move {
                Ok(if n < 3 {
                    JobState::Running
                } else {
                    JobState::Succeeded(json!({"n": n}))
                })
            }
        })
        .await;
        assert_eq!(out, Ok(json!({"n": 3})));

        let failed = until_done(&SyncPolling::every(Duration::from_millis(1)), || async {
            Ok(JobState::Failed(json!({"Status": "FAILED"})))
        })
        .await;
        assert_eq!(
            failed,
            Err(TaskFailure::new(
                "States.TaskFailed",
                "{\"Status\":\"FAILED\"}"
            ))
        );
    }
}
