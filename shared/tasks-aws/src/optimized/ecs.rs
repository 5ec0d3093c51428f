//! `arn:aws:states:::ecs:runTask[.sync|.waitForTaskToken]`: ECS `RunTask`, parameters in
//! PascalCase (`Cluster`, `TaskDefinition`, `NetworkConfiguration.AwsvpcConfiguration`, ...;
//! `Count` and `StartedBy` are not supported), sent in the API's camelCase. The result is
//! RunTask's output in PascalCase (`Tasks`, `Failures`) with the HTTP metadata, timestamps as
//! epoch milliseconds. With `.sync`, `StartedBy` is `AWS Step Functions` and the task is
//! described until its `LastStatus` is `STOPPED`: the result is the described task; a task
//! that failed to start or whose container exited with a non-zero code fails with
//! `States.TaskFailed` and the task as JSON text.

use serde_json::{json, Value};
use stepwise_ports::tasks::{TaskFailure, TaskRequest};

use super::backend::{sort_keys, with_metadata, Backend, ServiceNames};
use super::params;
use super::sync::{self, Job, JobState};
use super::Started;

/// How ECS errors are named.
pub const NAMES: ServiceNames = ServiceNames {
    prefix: "ECS",
    service: "AmazonECS",
    generic: "AmazonECSException",
    modeled: &[
        ("AccessDeniedException", "AccessDeniedException"),
        ("BlockedException", "BlockedException"),
        ("ClientException", "ClientException"),
        ("ClusterNotFoundException", "ClusterNotFoundException"),
        ("ConflictException", "ConflictException"),
        ("InvalidParameterException", "InvalidParameterException"),
        (
            "PlatformTaskDefinitionIncompatibilityException",
            "PlatformTaskDefinitionIncompatibilityException",
        ),
        ("PlatformUnknownException", "PlatformUnknownException"),
        ("ServerException", "ServerException"),
        ("UnsupportedFeatureException", "UnsupportedFeatureException"),
    ],
};

const FIELDS: &[&str] = &[
    "Cluster",
    "Group",
    "LaunchType",
    "NetworkConfiguration",
    "Overrides",
    "PlacementConstraints",
    "PlacementStrategy",
    "PlatformVersion",
    "PropagateTags",
    "TaskDefinition",
    "EnableExecuteCommand",
    "CapacityProviderStrategy",
    "EnableECSManagedTags",
    "ReferenceId",
    "Tags",
    "VolumeConfigurations",
];

/// The timestamp members of an ECS task.
const TIMESTAMPS: &[&str] = &[
    "connectivityAt",
    "createdAt",
    "executionStoppedAt",
    "lastStartedAt",
    "pullStartedAt",
    "pullStoppedAt",
    "startedAt",
    "stoppedAt",
    "stoppingAt",
];

/// Why a `.sync` task is stopped when its execution is stopped or times out.
const STOP_REASON: &str = "Task stopped because its AWS Step Functions execution ended";

/// What `StartedBy` says for a `.sync` task.
pub const STARTED_BY: &str = "AWS Step Functions";

/// The RunTask input for the task's parameters.
pub fn input(req: &TaskRequest, sync: bool) -> Result<Value, TaskFailure> {
    let mut map = params::fields(req, FIELDS)?;
    if let Some(member) = params::first_missing(&map, &["TaskDefinition"]) {
        return Err(NAMES.missing_member(member));
    }
    if sync {
        map.insert("StartedBy".into(), Value::String(STARTED_BY.into()));
    }
    Ok(params::to_camel(Value::Object(map), &[]))
}

/// An ECS value in Step Functions' spelling: PascalCase, epoch milliseconds, sorted keys.
fn sfn_shape(value: Value) -> Value {
    sort_keys(params::to_pascal(
        params::millis_timestamps(value, TIMESTAMPS),
        &[],
    ))
}

/// What a described task says about the `.sync` job.
pub fn task_state(task: &Value) -> JobState {
    if task.get("lastStatus").and_then(Value::as_str) != Some("STOPPED") {
        return JobState::Running;
    }
    let stop_code = task.get("stopCode").and_then(Value::as_str);
    let bad_exit = task
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| {
            c.get("exitCode")
                .and_then(Value::as_i64)
                .is_some_and(|code| code != 0)
        });
    let shaped = sfn_shape(task.clone());
    if bad_exit || stop_code.is_some_and(|c| c != "EssentialContainerExited") {
        JobState::Failed(shaped)
    } else {
        JobState::Succeeded(shaped)
    }
}

/// `ecs:runTask`, `ecs:runTask.sync`, `ecs:runTask.waitForTaskToken`.
pub async fn run_task(
    b: &dyn Backend,
    req: &TaskRequest,
    sync: bool,
) -> Result<Started, TaskFailure> {
    let input = input(req, sync)?;
    let reply = b
        .call("ecs", "RunTask", input)
        .await
        .map_err(|f| NAMES.failure(f))?;
    let output = with_metadata(sfn_shape(reply.output.clone()), &reply);
    if !sync {
        return Ok(Started::Done(output));
    }
    let first = reply.output.get("tasks").and_then(|t| t.get(0));
    let (Some(task_arn), cluster) = (
        first.and_then(|t| t.get("taskArn")).cloned(),
        first.and_then(|t| t.get("clusterArn")).cloned(),
    ) else {
        // No task started (the output's `Failures` say why).
        return Err(TaskFailure::new(
            sync::TASK_FAILED,
            sfn_shape(reply.output.clone()).to_string(),
        ));
    };
    let mut describe = json!({ "tasks": [task_arn] });
    let mut stop_task = json!({ "task": task_arn, "reason": STOP_REASON });
    if let Some(cluster) = cluster {
        describe["cluster"] = cluster.clone();
        stop_task["cluster"] = cluster;
    }
    let job = Job {
        service: "ecs".into(),
        describe: "DescribeTasks".into(),
        describe_input: describe,
        stop: "StopTask".into(),
        stop_input: stop_task,
        context: Value::Null,
    };
    Ok(Started::Job {
        output,
        job: Box::new(job),
    })
}

/// What DescribeTasks says about the `.sync` task.
pub fn look(described: &Value, _job: &Job) -> Result<JobState, TaskFailure> {
    match described.get("tasks").and_then(|t| t.get(0)) {
        Some(task) => Ok(task_state(task)),
        None => Err(TaskFailure::new(
            sync::TASK_FAILED,
            sfn_shape(described.clone()).to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(parameters: Value) -> TaskRequest {
        TaskRequest {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:sm:e1".into(),
            state_machine_name: "sm".into(),
            state_name: "Run".into(),
            resource: "arn:aws:states:::ecs:runTask.sync".into(),
            parameters,
            test_case: None,
            task_token: None,
            redrive_count: 0,
        }
    }

    #[test]
    fn parameters_go_out_in_camel_case_with_started_by_for_sync() {
        let r = req(
            json!({"Cluster": "c", "TaskDefinition": "td", "LaunchType": "FARGATE",
            "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["s"], "AssignPublicIp": "ENABLED"}},
            "Overrides": {"ContainerOverrides": [{"Name": "app", "Environment": [{"Name": "A", "Value": "1"}]}]}}),
        );
        assert_eq!(
            input(&r, true),
            Ok(
                json!({"cluster": "c", "taskDefinition": "td", "launchType": "FARGATE",
                "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["s"], "assignPublicIp": "ENABLED"}},
                "overrides": {"containerOverrides": [{"name": "app", "environment": [{"name": "A", "value": "1"}]}]},
                "startedBy": "AWS Step Functions"})
            )
        );
        let count = input(&req(json!({"TaskDefinition": "td", "Count": 2})), false).err();
        assert_eq!(count.map(|f| f.error).as_deref(), Some("States.Runtime"));
        let missing = input(&req(json!({"Cluster": "c"})), false).err();
        assert_eq!(
            missing.map(|f| f.error).as_deref(),
            Some("ECS.AmazonECSException")
        );
    }

    #[test]
    fn a_stopped_task_succeeds_or_fails_by_its_stop_code_and_exit_codes() {
        let running = json!({"lastStatus": "RUNNING"});
        assert_eq!(task_state(&running), JobState::Running);
        let ok = json!({"lastStatus": "STOPPED", "stopCode": "EssentialContainerExited",
            "createdAt": 1700000000.5, "containers": [{"exitCode": 0, "name": "app"}]});
        assert_eq!(
            task_state(&ok),
            JobState::Succeeded(json!({"Containers": [{"ExitCode": 0, "Name": "app"}],
                "CreatedAt": 1700000000500_i64, "LastStatus": "STOPPED",
                "StopCode": "EssentialContainerExited"}))
        );
        let exit1 = json!({"lastStatus": "STOPPED", "stopCode": "EssentialContainerExited",
            "containers": [{"exitCode": 1}]});
        assert!(matches!(task_state(&exit1), JobState::Failed(_)));
        let no_start = json!({"lastStatus": "STOPPED", "stopCode": "TaskFailedToStart"});
        assert!(matches!(task_state(&no_start), JobState::Failed(_)));
    }
}
