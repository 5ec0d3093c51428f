//! Task `Resource` checks: Lambda function ARNs and optimized service integrations
//! (`arn:aws:states:::service:action[.sync|.sync:2|.waitForTaskToken]`).
//!
//! Only shapes Step Functions is known to reject are rejected: an unknown action of an optimized
//! integration, an integration pattern the action does not support, a malformed Lambda alias.
//! Anything else (activities, other ARNs) is left alone.

use crate::resource::{IntegrationPattern as P, ResourceKind, TaskResource};

/// The integration patterns each optimized action supports.
fn optimized(service: &str, action: &str) -> Option<Option<&'static [P]>> {
    const RR: &[P] = &[P::RequestResponse];
    const RR_WAIT: &[P] = &[P::RequestResponse, P::WaitForTaskToken];
    const RR_SYNC: &[P] = &[P::RequestResponse, P::Sync];
    const ALL: &[P] = &[P::RequestResponse, P::Sync, P::WaitForTaskToken];
    const START: &[P] = &[P::RequestResponse, P::Sync, P::Sync2, P::WaitForTaskToken];
    let actions: &[(&str, &[P])] = match service {
        "lambda" => &[("invoke", RR_WAIT)],
        "dynamodb" => &[
            ("getItem", RR),
            ("putItem", RR),
            ("deleteItem", RR),
            ("updateItem", RR),
        ],
        "sns" => &[("publish", RR_WAIT)],
        "sqs" => &[("sendMessage", RR_WAIT)],
        "events" => &[("putEvents", RR_WAIT)],
        "http" => &[("invoke", RR)],
        "apigateway" => &[("invoke", RR_WAIT)],
        "states" => &[("startExecution", START)],
        // AWS's table of optimized integrations: no callback pattern for Glue and Athena.
        // Batch's callback is listed there as unsupported but its page only says it is not
        // optimized, so it is not refused here.
        "batch" => &[("submitJob", ALL)],
        "glue" => &[("startJobRun", RR_SYNC)],
        "ecs" => &[("runTask", ALL)],
        "bedrock" => &[
            ("invokeModel", RR_WAIT),
            ("createModelCustomizationJob", RR_SYNC),
        ],
        "athena" => &[
            ("startQueryExecution", RR_SYNC),
            ("stopQueryExecution", RR),
            ("getQueryExecution", RR),
            ("getQueryResults", RR),
        ],
        _ => return None,
    };
    Some(
        actions
            .iter()
            .find(|(a, _)| *a == action)
            .map(|(_, patterns)| *patterns),
    )
}

fn partition_ok(p: &str) -> bool {
    matches!(p, "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b")
}

fn lambda_name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 140
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn qualifier_ok(s: &str) -> bool {
    s == "$LATEST"
        || (!s.is_empty()
            && s.len() <= 128
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
}

/// How an `aws-sdk:SERVICE:ACTION` resource is checked against AWS's service models: `Err`
/// carries AWS's diagnostic. The language crate has no models; a home that serves `aws-sdk:*`
/// (the `stepwise` binary, the API Lambda) registers its check once at start-up
/// (`stepwise_tasks_aws::aws_sdk::check_resource`), so `validate`, CreateStateMachine and
/// ValidateStateMachineDefinition reject an unknown service or action as AWS does. Without
/// one, any service and action are accepted.
pub type AwsSdkCheck = fn(&str, &str) -> Result<(), String>;

static AWS_SDK_CHECK: std::sync::OnceLock<AwsSdkCheck> = std::sync::OnceLock::new();

/// Registers the `aws-sdk:*` check (see [`AwsSdkCheck`]); later registrations are ignored.
pub fn register_aws_sdk_check(check: AwsSdkCheck) {
    let _ = AWS_SDK_CHECK.set(check);
}

/// `Err(message)` when Step Functions would reject `resource`.
pub fn check(resource: &str) -> Result<(), String> {
    let r = TaskResource::parse(resource);
    if !r.partition().is_some_and(partition_ok) {
        return Ok(());
    }
    let ok = match r.kind() {
        ResourceKind::LambdaFunction { name, qualifier } => {
            lambda_name_ok(name) && qualifier.as_deref().is_none_or(qualifier_ok)
        }
        ResourceKind::AwsSdk { service, action } => {
            if r.is_sync() {
                false
            } else if let Some(known) = AWS_SDK_CHECK.get() {
                // The home's service models say whether the service and action exist; its
                // diagnostic is AWS's own text.
                return known(service, action);
            } else {
                true
            }
        }
        ResourceKind::LambdaInvoke | ResourceKind::HttpInvoke | ResourceKind::Optimized { .. } => {
            let (service, action) = r.service_action().unwrap_or_default();
            match optimized(service, action) {
                None => true,
                Some(patterns) => patterns.is_some_and(|p| p.contains(&r.pattern())),
            }
        }
        // An integration ARN without `service:action`.
        ResourceKind::Other => !r.is_integration_arn(),
        ResourceKind::Activity { .. } => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "The resource provided {resource} is not recognized. The value is not a valid \
             resource ARN, or the resource is not available in this region."
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn resources() {
        for ok in [
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST",
            "arn:aws:lambda:us-east-1:123456789012:function:f:prod",
            "arn:aws:states:::lambda:invoke",
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "arn:aws:states:::dynamodb:putItem",
            "arn:aws:states:::states:startExecution.sync:2",
            "arn:aws:states:::aws-sdk:s3:listBuckets",
            "arn:aws:states:us-east-1:123456789012:activity:a",
            "__tbd__",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for bad in [
            "arn:aws:lambda:us-east-1:123456789012:function:f:",
            "arn:aws:lambda:us-east-1:123456789012:function:f:$*#$7485",
            "arn:aws:states:::dynamodb:query",
            "arn:aws:states:::dynamodb:getItem.sync",
            "arn:aws:states:::sns:publish.sync",
            "arn:aws:states:::aws-sdk:s3:listBuckets.sync",
            "arn:aws:states:::http:invoke.waitForTaskToken",
            "arn:aws:states:::glue:startJobRun.waitForTaskToken",
            "arn:aws:states:::athena:startQueryExecution.waitForTaskToken",
            "arn:aws:states:::athena:getQueryResults.sync",
            "arn:aws:states:::bedrock:invokeModel.sync",
            "arn:aws:states:::bedrock:createModelCustomizationJob.waitForTaskToken",
            "arn:aws:states:::lambda:invoke.sync",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
