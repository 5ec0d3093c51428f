//! `arn:aws:states:::batch:submitJob[.sync|.waitForTaskToken]`: Batch `SubmitJob`, parameters
//! in PascalCase (`JobName`, `JobQueue`, `JobDefinition`, `ContainerOverrides`, ...) sent in the
//! API's camelCase (the keys of `Parameters` and `Tags` are data and kept). The result is
//! `{"JobArn", "JobId", "JobName"}` with the HTTP metadata. With `.sync` the container gets the
//! environment variable `MANAGED_BY_AWS=STARTED_BY_STEP_FUNCTIONS` and the job is described
//! until it is `SUCCEEDED` (the result: the job's description in PascalCase) or `FAILED`
//! (`States.TaskFailed`, the description as JSON text).

use serde_json::{json, Map, Value};
use stepwise_ports::tasks::{TaskFailure, TaskRequest};

use super::backend::{sort_keys, with_metadata, Backend, ServiceNames};
use super::params;
use super::sync::{self, Job, JobState};
use super::Started;

/// How Batch errors are named.
pub const NAMES: ServiceNames = ServiceNames {
    prefix: "Batch",
    service: "AWSBatch",
    generic: "AWSBatchException",
    modeled: &[
        ("ClientException", "ClientException"),
        ("ServerException", "ServerException"),
    ],
};

const FIELDS: &[&str] = &[
    "JobName",
    "JobQueue",
    "ShareIdentifier",
    "SchedulingPriorityOverride",
    "ArrayProperties",
    "DependsOn",
    "JobDefinition",
    "Parameters",
    "ContainerOverrides",
    "NodeOverrides",
    "RetryStrategy",
    "PropagateTags",
    "Timeout",
    "Tags",
    "EksPropertiesOverride",
    "EcsPropertiesOverride",
    "ConsumableResourcePropertiesOverride",
];

/// Why a `.sync` job is terminated when its execution is stopped or times out.
const STOP_REASON: &str = "Job terminated because its AWS Step Functions execution ended";

/// Map-typed members: their keys are data.
const MAPS: &[&str] = &[
    "annotations",
    "labels",
    "limits",
    "options",
    "parameters",
    "requests",
    "statusSummary",
    "tags",
];

/// The SubmitJob input for the task's parameters.
pub fn input(req: &TaskRequest, sync: bool) -> Result<Value, TaskFailure> {
    let map = params::fields(req, FIELDS)?;
    if let Some(member) = params::first_missing(&map, &["JobName", "JobQueue", "JobDefinition"]) {
        return Err(NAMES.missing_member(member));
    }
    let mut input = params::to_camel(Value::Object(map), MAPS);
    if sync {
        let Some(obj) = input.as_object_mut() else {
            return Ok(input);
        };
        let overrides = obj
            .entry("containerOverrides")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(overrides) = overrides.as_object_mut() {
            let env = overrides
                .entry("environment")
                .or_insert_with(|| Value::Array(vec![]));
            if let Some(env) = env.as_array_mut() {
                env.push(json!({"name": "MANAGED_BY_AWS", "value": "STARTED_BY_STEP_FUNCTIONS"}));
            }
        }
    }
    Ok(input)
}

fn sfn_shape(value: Value) -> Value {
    sort_keys(params::to_pascal(value, MAPS))
}

/// What a described job says about the `.sync` job.
pub fn job_state(job: &Value) -> JobState {
    match job.get("status").and_then(Value::as_str) {
        Some("SUCCEEDED") => JobState::Succeeded(sfn_shape(job.clone())),
        Some("FAILED") => JobState::Failed(sfn_shape(job.clone())),
        _ => JobState::Running,
    }
}

/// `batch:submitJob`, `batch:submitJob.sync`, `batch:submitJob.waitForTaskToken`.
pub async fn submit_job(
    b: &dyn Backend,
    req: &TaskRequest,
    sync: bool,
) -> Result<Started, TaskFailure> {
    let input = input(req, sync)?;
    let reply = b
        .call("batch", "SubmitJob", input)
        .await
        .map_err(|f| NAMES.failure(f))?;
    let output = with_metadata(sfn_shape(reply.output.clone()), &reply);
    if !sync {
        return Ok(Started::Done(output));
    }
    let Some(job_id) = reply.output.get("jobId").cloned() else {
        return Err(TaskFailure::new(
            sync::TASK_FAILED,
            sfn_shape(reply.output.clone()).to_string(),
        ));
    };
    let job = Job {
        service: "batch".into(),
        describe: "DescribeJobs".into(),
        describe_input: json!({ "jobs": [job_id.clone()] }),
        stop: "TerminateJob".into(),
        stop_input: json!({"jobId": job_id, "reason": STOP_REASON}),
        context: Value::Null,
    };
    Ok(Started::Job {
        output,
        job: Box::new(job),
    })
}

/// What DescribeJobs says about the `.sync` job.
pub fn look(described: &Value, _job: &Job) -> Result<JobState, TaskFailure> {
    Ok(match described.get("jobs").and_then(|j| j.get(0)) {
        Some(job) => job_state(job),
        None => JobState::Running,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(parameters: Value) -> TaskRequest {
        TaskRequest {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:sm:e1".into(),
            state_machine_name: "sm".into(),
            state_name: "Submit".into(),
            resource: "arn:aws:states:::batch:submitJob.sync".into(),
            parameters,
            test_case: None,
            task_token: None,
            redrive_count: 0,
        }
    }

    #[test]
    fn sync_jobs_are_marked_as_started_by_step_functions() {
        let r = req(
            json!({"JobName": "j", "JobQueue": "q", "JobDefinition": "d",
            "Parameters": {"InputKey": "v"}}),
        );
        assert_eq!(
            input(&r, true),
            Ok(
                json!({"jobName": "j", "jobQueue": "q", "jobDefinition": "d",
                "parameters": {"InputKey": "v"},
                "containerOverrides": {"environment": [
                    {"name": "MANAGED_BY_AWS", "value": "STARTED_BY_STEP_FUNCTIONS"}]}})
            )
        );
        let missing = input(&req(json!({"JobName": "j"})), false).err();
        assert_eq!(
            missing.map(|f| f.error).as_deref(),
            Some("Batch.AWSBatchException")
        );
    }

    #[test]
    fn terminal_job_states() {
        assert_eq!(job_state(&json!({"status": "RUNNABLE"})), JobState::Running);
        assert_eq!(
            job_state(&json!({"status": "SUCCEEDED", "jobId": "1", "tags": {"k": "v"}})),
            JobState::Succeeded(json!({"JobId": "1", "Status": "SUCCEEDED", "Tags": {"k": "v"}}))
        );
        assert!(matches!(
            job_state(&json!({"status": "FAILED"})),
            JobState::Failed(_)
        ));
    }
}
