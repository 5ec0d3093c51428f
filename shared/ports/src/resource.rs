//! Which invoker a Task resource goes to, read from its typed [`TaskResource`]: the router
//! (which needs no Lambda client) and the Lambda invoker both ask here.

use stepwise_asl::resource::{IntegrationPattern, ResourceKind, TaskResource};

/// Which Lambda resource form a Task uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaResource {
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`
    Function,
    /// `arn:aws:states:::lambda:invoke[.waitForTaskToken]`
    Invoke,
}

/// The Lambda resource form of a Task resource, if the Lambda invoker serves it.
pub fn lambda_resource(resource: &TaskResource) -> Option<LambdaResource> {
    match resource.kind() {
        ResourceKind::LambdaFunction { name, qualifier }
            if !name.is_empty() && !qualifier.as_deref().is_some_and(|q| q.contains(':')) =>
        {
            Some(LambdaResource::Function)
        }
        ResourceKind::LambdaInvoke
            if matches!(
                resource.pattern(),
                IntegrationPattern::RequestResponse | IntegrationPattern::WaitForTaskToken
            ) =>
        {
            Some(LambdaResource::Invoke)
        }
        _ => None,
    }
}

/// Whether a Task resource is one the Lambda invoker (`stepwise-tasks-aws`) serves.
pub fn is_lambda_resource(resource: &TaskResource) -> bool {
    lambda_resource(resource).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_lambda_resources() {
        let is = |r: &str| is_lambda_resource(&r.into());
        assert_eq!(
            lambda_resource(&"arn:aws:lambda:eu-west-1:123456789012:function:fn".into()),
            Some(LambdaResource::Function)
        );
        assert!(is("arn:aws:lambda:eu-west-1:123456789012:function:fn:live"));
        assert!(is("arn:aws:states:::lambda:invoke"));
        assert!(is("arn:aws-cn:states:::lambda:invoke.waitForTaskToken"));
        assert!(!is("arn:aws:states:::lambda:invoke.sync"));
        assert!(!is("arn:aws:states:::sqs:sendMessage"));
        assert!(!is("arn:aws:states:us-east-1:123456789012:activity:a"));
        assert!(!is("arn:aws:lambda:eu-west-1:1:layer:x"));
        assert!(!is("arn:aws:lambda:eu-west-1:1:function:f:1:2"));
        assert!(!is("not an arn"));
    }
}
