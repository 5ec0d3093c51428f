//! Which invoker a Task resource goes to, read from its ARN: the router (which needs no
//! Lambda client) and the Lambda invoker both ask here.

/// Which Lambda resource form a Task uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LambdaResource {
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`
    Function {
        /// The function ARN as written.
        arn: String,
        /// Its region.
        region: String,
    },
    /// `arn:aws:states:::lambda:invoke[.waitForTaskToken]`
    Invoke,
}

/// The Lambda resource form of a Task resource, if it is one.
pub fn parse_resource(resource: &str) -> Option<LambdaResource> {
    let parts: Vec<&str> = resource.split(':').collect();
    if parts.len() < 7 || parts[0] != "arn" {
        return None;
    }
    match parts[2] {
        "lambda" if parts[5] == "function" && !parts[6].is_empty() && parts.len() <= 8 => {
            Some(LambdaResource::Function {
                arn: resource.to_string(),
                region: parts[3].to_string(),
            })
        }
        "states"
            if parts.len() == 7
                && parts[5] == "lambda"
                && (parts[6] == "invoke" || parts[6] == "invoke.waitForTaskToken") =>
        {
            Some(LambdaResource::Invoke)
        }
        _ => None,
    }
}

/// Whether a Task resource is one the Lambda invoker (`stepwise-tasks-aws`) serves.
pub fn is_lambda_resource(resource: &str) -> bool {
    parse_resource(resource).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_lambda_resources() {
        assert_eq!(
            parse_resource("arn:aws:lambda:eu-west-1:123456789012:function:fn"),
            Some(LambdaResource::Function {
                arn: "arn:aws:lambda:eu-west-1:123456789012:function:fn".into(),
                region: "eu-west-1".into()
            })
        );
        assert!(is_lambda_resource(
            "arn:aws:lambda:eu-west-1:123456789012:function:fn:live"
        ));
        assert!(is_lambda_resource("arn:aws:states:::lambda:invoke"));
        assert!(is_lambda_resource(
            "arn:aws-cn:states:::lambda:invoke.waitForTaskToken"
        ));
        assert!(!is_lambda_resource("arn:aws:states:::lambda:invoke.sync"));
        assert!(!is_lambda_resource("arn:aws:states:::sqs:sendMessage"));
        assert!(!is_lambda_resource(
            "arn:aws:states:us-east-1:123456789012:activity:a"
        ));
        assert!(!is_lambda_resource("arn:aws:lambda:eu-west-1:1:layer:x"));
        assert!(!is_lambda_resource("not an arn"));
    }
}
