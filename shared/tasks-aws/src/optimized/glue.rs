//! `arn:aws:states:::glue:startJobRun[.sync]`: Glue `StartJobRun`. The result is
//! `{"JobName", "JobRunId"}` (Step Functions adds the job's name) with the HTTP metadata. With
//! `.sync` the run is read with `GetJobRun` until it ends: `SUCCEEDED` or `STOPPED` give the
//! `JobRun` (timestamps as epoch milliseconds); `FAILED`, `TIMEOUT` and `ERROR` fail with
//! `States.TaskFailed` and the `JobRun` as JSON text.

use serde_json::{json, Value};
use stepwise_ports::tasks::{TaskFailure, TaskRequest};

use super::backend::{sort_keys, with_metadata, Backend, ServiceNames};
use super::params;
use super::sync::{Job, JobState};
use super::Started;

/// How Glue errors are named.
pub const NAMES: ServiceNames = ServiceNames {
    prefix: "Glue",
    service: "AWSGlue",
    generic: "AWSGlueException",
    modeled: &[
        ("InvalidInputException", "InvalidInputException"),
        ("EntityNotFoundException", "EntityNotFoundException"),
        ("InternalServiceException", "InternalServiceException"),
        ("OperationTimeoutException", "OperationTimeoutException"),
        (
            "ResourceNumberLimitExceededException",
            "ResourceNumberLimitExceededException",
        ),
        (
            "ConcurrentRunsExceededException",
            "ConcurrentRunsExceededException",
        ),
    ],
};

const FIELDS: &[&str] = &[
    "JobName",
    "JobRunQueuingEnabled",
    "JobRunId",
    "Arguments",
    "AllocatedCapacity",
    "Timeout",
    "MaxCapacity",
    "SecurityConfiguration",
    "NotificationProperty",
    "WorkerType",
    "NumberOfWorkers",
    "ExecutionClass",
    "ExecutionRoleSessionPolicy",
];

const TIMESTAMPS: &[&str] = &["CompletedOn", "LastModifiedOn", "StartedOn"];

/// The StartJobRun input for the task's parameters.
pub fn input(req: &TaskRequest) -> Result<Value, TaskFailure> {
    let map = params::fields(req, FIELDS)?;
    if let Some(member) = params::first_missing(&map, &["JobName"]) {
        return Err(NAMES.missing_member(member));
    }
    Ok(Value::Object(map))
}

/// What a `JobRun` says about the `.sync` job.
pub fn run_state(job_run: &Value, job_name: &Value) -> JobState {
    let state = job_run.get("JobRunState").and_then(Value::as_str);
    let mut run = params::millis_timestamps(job_run.clone(), TIMESTAMPS);
    if let Some(obj) = run.as_object_mut() {
        obj.entry("JobName").or_insert_with(|| job_name.clone());
    }
    let run = sort_keys(run);
    match state {
        Some("SUCCEEDED" | "STOPPED") => JobState::Succeeded(run),
        Some("FAILED" | "TIMEOUT" | "ERROR") => JobState::Failed(run),
        _ => JobState::Running,
    }
}

/// `glue:startJobRun`, `glue:startJobRun.sync`.
pub async fn start_job_run(
    b: &dyn Backend,
    req: &TaskRequest,
    sync: bool,
) -> Result<Started, TaskFailure> {
    let input = input(req)?;
    let job_name = input.get("JobName").cloned().unwrap_or(Value::Null);
    let reply = b
        .call("glue", "StartJobRun", input)
        .await
        .map_err(|f| NAMES.failure(f))?;
    let run_id = reply.output.get("JobRunId").cloned().unwrap_or(Value::Null);
    let output = with_metadata(json!({"JobName": job_name, "JobRunId": run_id}), &reply);
    if !sync {
        return Ok(Started::Done(output));
    }
    let job = Job {
        service: "glue".into(),
        describe: "GetJobRun".into(),
        describe_input: json!({"JobName": job_name, "RunId": run_id}),
        stop: "BatchStopJobRun".into(),
        stop_input: json!({"JobName": job_name, "JobRunIds": [run_id]}),
        context: job_name,
    };
    Ok(Started::Job {
        output,
        job: Box::new(job),
    })
}

/// What GetJobRun says about the `.sync` run.
pub fn look(described: &Value, job: &Job) -> Result<JobState, TaskFailure> {
    Ok(match described.get("JobRun") {
        Some(run) => run_state(run, &job.context),
        None => JobState::Running,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_run_states() {
        let name = json!("job");
        assert_eq!(
            run_state(&json!({"JobRunState": "RUNNING"}), &name),
            JobState::Running
        );
        assert_eq!(
            run_state(
                &json!({"JobRunState": "SUCCEEDED", "Id": "jr_1", "StartedOn": 1638296005.295}),
                &name
            ),
            JobState::Succeeded(
                json!({"Id": "jr_1", "JobName": "job", "JobRunState": "SUCCEEDED",
                "StartedOn": 1638296005295_i64})
            )
        );
        for bad in ["FAILED", "TIMEOUT", "ERROR"] {
            assert!(matches!(
                run_state(&json!({"JobRunState": bad}), &name),
                JobState::Failed(_)
            ));
        }
    }
}
