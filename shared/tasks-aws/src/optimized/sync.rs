//! The Run a Job (`.sync`) pattern: after the start call, the job's describe call is polled with
//! a growing interval until the job reaches a terminal state; success gives the job's
//! description as the task's result, failure `States.TaskFailed` with the description as JSON
//! text for the cause (as AWS Step Functions reports a failed ECS task, Batch job, Glue job run
//! or Athena query).

use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stepwise_ports::tasks::TaskFailure;

use super::backend::{Backend, StopCall};

/// The error of a `.sync` job that ended in a failed state.
pub const TASK_FAILED: &str = "States.TaskFailed";

pub use stepwise_ports::tasks::SyncPolling;

/// A started `.sync` job as data (it waits in the serverless tasks queue between looks): the
/// describe call that looks at it, the call that stops it, and what reading the description
/// needs beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The API's model name (`glue`).
    pub service: String,
    /// The describe operation (`GetJobRun`).
    pub describe: String,
    /// Its input.
    pub describe_input: Value,
    /// The operation that stops the job (`BatchStopJobRun`).
    pub stop: String,
    /// Its input.
    pub stop_input: Value,
    /// What the description is read with (Glue's job name).
    #[serde(default)]
    pub context: Value,
}

impl Job {
    /// The call that stops the job.
    pub fn stop_call(&self) -> StopCall {
        StopCall {
            service: self.service.clone(),
            operation: self.stop.clone(),
            input: self.stop_input.clone(),
        }
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

/// Stops the job when dropped while armed: the polling future was dropped before the job
/// ended (the execution was stopped or timed out), as Step Functions stops the job then.
struct StopOnDrop<'a> {
    backend: &'a dyn Backend,
    stop: Option<StopCall>,
}

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            self.backend
                .call_detached(&stop.service, &stop.operation, stop.input);
        }
    }
}

/// Polls `describe` until the job is done; if this future is dropped first, `stop` is called in
/// the background.
pub async fn until_done<F, Fut>(
    polling: &SyncPolling,
    backend: &dyn Backend,
    stop: StopCall,
    mut describe: F,
) -> Result<Value, TaskFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<JobState, TaskFailure>>,
{
    let mut guard = StopOnDrop {
        backend,
        stop: Some(stop),
    };
    let mut wait = polling.first;
    let outcome = loop {
        tokio::time::sleep(wait).await;
        match describe().await {
            Ok(JobState::Running) => wait = polling.next(wait),
            Ok(JobState::Succeeded(result)) => break Ok(result),
            Ok(JobState::Failed(description)) => {
                break Err(TaskFailure::new(TASK_FAILED, description.to_string()))
            }
            Err(failure) => break Err(failure),
        }
    };
    guard.stop = None;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

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

    /// Records detached calls.
    #[derive(Default)]
    struct Stops(std::sync::Mutex<Vec<(String, Value)>>);

    impl Backend for Stops {
        fn call<'a>(
            &'a self,
            _service: &'a str,
            _operation: &'a str,
            _input: Value,
        ) -> stepwise_ports::BoxFuture<'a, Result<super::super::Reply, super::super::CallFailure>>
        {
            Box::pin(async { Err(super::super::CallFailure::Unavailable("unused".into())) })
        }

        fn call_detached(&self, _service: &str, operation: &str, input: Value) {
            if let Ok(mut s) = self.0.lock() {
                s.push((operation.to_string(), input));
            }
        }
    }

    fn stop() -> StopCall {
        StopCall {
            service: "ecs".into(),
            operation: "StopTask".into(),
            input: json!({"task": "t1"}),
        }
    }

    #[tokio::test]
    async fn a_dropped_poll_stops_the_job_and_a_finished_one_does_not() {
        let stops = Stops::default();
        let polling = SyncPolling::every(Duration::from_millis(1));
        let forever = until_done(&polling, &stops, stop(), || async { Ok(JobState::Running) });
        let timed_out = tokio::time::timeout(Duration::from_millis(20), forever).await;
        assert!(timed_out.is_err());
        let done = until_done(&polling, &stops, stop(), || async {
            Ok(JobState::Succeeded(json!({})))
        })
        .await;
        assert_eq!(done, Ok(json!({})));
        let seen = stops.0.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(seen, [("StopTask".to_string(), json!({"task": "t1"}))]);
    }

    #[tokio::test]
    async fn polls_until_a_terminal_state() {
        let stops = Stops::default();
        let mut calls = 0;
        let out = until_done(
            &SyncPolling::every(Duration::from_millis(1)),
            &stops,
            stop(),
            || {
                calls += 1;
                let n = calls;
                async move {
                    Ok(if n < 3 {
                        JobState::Running
                    } else {
                        JobState::Succeeded(json!({"n": n}))
                    })
                }
            },
        )
        .await;
        assert_eq!(out, Ok(json!({"n": 3})));

        let failed = until_done(
            &SyncPolling::every(Duration::from_millis(1)),
            &stops,
            stop(),
            || async { Ok(JobState::Failed(json!({"Status": "FAILED"}))) },
        )
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
