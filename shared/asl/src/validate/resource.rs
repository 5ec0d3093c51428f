//! Task `Resource` checks: Lambda function ARNs and optimized service integrations
//! (`arn:aws:states:::service:action[.sync|.sync:2|.waitForTaskToken]`).
//!
//! Only shapes Step Functions is known to reject are rejected: an unknown action of an optimized
//! integration, an integration pattern the action does not support, a malformed Lambda alias.
//! Anything else (activities, other ARNs) is left alone.

const WAIT: &str = ".waitForTaskToken";

/// The integration patterns (suffixes, `""` = request-response) each optimized action supports.
fn optimized(service: &str, action: &str) -> Option<Option<&'static [&'static str]>> {
    const RR: &[&str] = &[""];
    const RR_WAIT: &[&str] = &["", WAIT];
    const ALL: &[&str] = &["", ".sync", WAIT];
    let actions: &[(&str, &[&str])] = match service {
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
        "states" => &[("startExecution", &["", ".sync", ".sync:2", WAIT])],
        "batch" => &[("submitJob", ALL)],
        "glue" => &[("startJobRun", ALL)],
        "ecs" => &[("runTask", ALL)],
        "athena" => &[
            ("startQueryExecution", ALL),
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

/// Splits `action.pattern` into the action and its pattern suffix.
fn split_pattern(rest: &str) -> (&str, &str) {
    for suffix in [".sync:2", ".sync", WAIT] {
        if let Some(action) = rest.strip_suffix(suffix) {
            return (action, suffix);
        }
    }
    (rest, "")
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

/// `Err(message)` when Step Functions would reject `resource`.
pub fn check(resource: &str) -> Result<(), String> {
    let not_recognized = || {
        format!(
            "The resource provided {resource} is not recognized. The value is not a valid \
             resource ARN, or the resource is not available in this region."
        )
    };
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" || !partition_ok(parts[1]) {
        return Ok(());
    }
    match parts[2] {
        "lambda" => {
            let rest: Vec<&str> = parts[5].split(':').collect();
            if rest.first() != Some(&"function") {
                return Ok(());
            }
            let ok = match rest.as_slice() {
                [_, name] => lambda_name_ok(name),
                [_, name, qualifier] => lambda_name_ok(name) && qualifier_ok(qualifier),
                _ => false,
            };
            if ok {
                Ok(())
            } else {
                Err(not_recognized())
            }
        }
        "states" if parts[3].is_empty() && parts[4].is_empty() => {
            let rest = parts[5];
            if let Some(sdk) = rest.strip_prefix("aws-sdk:") {
                let (action, pattern) = split_pattern(sdk);
                return if pattern.starts_with(".sync") || !action.contains(':') {
                    Err(not_recognized())
                } else {
                    Ok(())
                };
            }
            let Some((service, action)) = rest.split_once(':') else {
                return Err(not_recognized());
            };
            let (action, pattern) = split_pattern(action);
            match optimized(service, action) {
                None => Ok(()),
                Some(None) => Err(not_recognized()),
                Some(Some(patterns)) if patterns.contains(&pattern) => Ok(()),
                Some(Some(_)) => Err(not_recognized()),
            }
        }
        _ => Ok(()),
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
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
