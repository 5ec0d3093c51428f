//! What the engine's unit tests share.

use crate::{Command, ExecutionInfo, WaitId};

/// The execution every unit test runs as.
pub(crate) fn info() -> ExecutionInfo {
    ExecutionInfo {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:e".into(),
        name: "e".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
        state_machine_name: "m".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        start_time_ms: 0,
        redrive_count: 0,
        seed: 1,
    }
}

/// The task a step's commands invoke.
pub(crate) fn task_id(commands: &[Command]) -> WaitId {
    commands
        .iter()
        .find_map(|c| match c {
            Command::InvokeTask { task, .. } => Some(*task),
            _ => None,
        })
        .expect("a task was invoked")
}
