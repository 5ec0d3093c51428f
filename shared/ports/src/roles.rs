//! The execution role a state machine names: whether Stepwise can act as it. The serverless
//! home checks it at CreateStateMachine/UpdateStateMachine, as Step Functions checks that it
//! can assume the role (`stepwise_tasks_aws::roles::StsRoleCheck`).

use crate::BoxFuture;

/// Decides whether a `roleArn` can be used.
pub trait RoleCheck: Send + Sync {
    /// `Ok` when Stepwise can assume the role, else why not (for the logs; the API answers with
    /// AWS's message).
    fn check<'a>(&'a self, role_arn: &'a str) -> BoxFuture<'a, Result<(), String>>;
}
