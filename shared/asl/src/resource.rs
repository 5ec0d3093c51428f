//! A Task's `Resource`, parsed once when the definition loads.
//!
//! Every consumer (validator, engine, invokers, stores) asks the typed [`TaskResource`] what kind
//! of resource it is instead of matching on the ARN's text. The original text is kept verbatim:
//! it is what history events and error causes print, and what the value serializes to (the
//! engine's commands are persisted, so their JSON must not change).

use serde::{Deserialize, Serialize};
use std::fmt;

/// How Step Functions waits for an integration (the suffix of the action).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntegrationPattern {
    /// No suffix: the call's response is the result.
    RequestResponse,
    /// `.sync`: run a job and wait for it to finish.
    Sync,
    /// `.sync:2`: like `.sync`, with the output parsed as JSON (`states:startExecution`).
    Sync2,
    /// `.waitForTaskToken`: wait for SendTaskSuccess/SendTaskFailure with the task token.
    WaitForTaskToken,
}

impl IntegrationPattern {
    /// The suffix as written after the action (`""` for request-response).
    pub fn suffix(self) -> &'static str {
        match self {
            Self::RequestResponse => "",
            Self::Sync => ".sync",
            Self::Sync2 => ".sync:2",
            Self::WaitForTaskToken => ".waitForTaskToken",
        }
    }

    /// Splits `action.pattern` into the action and its pattern.
    fn split(text: &str) -> (&str, Self) {
        // `.sync:2` before `.sync`: the longer suffix first.
        for p in [Self::Sync2, Self::Sync, Self::WaitForTaskToken] {
            if let Some(action) = text.strip_suffix(p.suffix()) {
                return (action, p);
            }
        }
        (text, Self::RequestResponse)
    }
}

/// What a Task's `Resource` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceKind {
    /// `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
    LambdaFunction {
        /// The function name (may be empty in a malformed ARN, which the validator rejects).
        name: String,
        /// The version or alias after the name, verbatim (`None` when absent).
        qualifier: Option<String>,
    },
    /// `arn:PARTITION:states:::lambda:invoke[.pattern]`.
    LambdaInvoke,
    /// `arn:PARTITION:states:REGION:ACCOUNT:activity:NAME`.
    Activity {
        /// The activity name.
        name: String,
    },
    /// An optimized integration `arn:PARTITION:states:::SERVICE:ACTION[.pattern]`.
    Optimized {
        /// The service (`sqs`, `dynamodb`, `states`, ...).
        service: String,
        /// The action, without its pattern suffix.
        action: String,
    },
    /// An AWS SDK integration `arn:PARTITION:states:::aws-sdk:SERVICE:ACTION[.pattern]`.
    AwsSdk {
        /// The SDK service (`s3`, `ec2`, ...).
        service: String,
        /// The action (API name), without its pattern suffix.
        action: String,
    },
    /// `arn:PARTITION:states:::http:invoke`.
    HttpInvoke,
    /// Anything else (not an ARN, another service's ARN, an integration ARN without an action).
    /// Its pattern is still read from the text's suffix.
    Other,
}

/// A Task state's `Resource`: the original text and what it names.
///
/// Serializes as the original string, and parsing never fails: unknown shapes are
/// [`ResourceKind::Other`] and left to the validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct TaskResource {
    arn: String,
    // Boxed: the engine's commands carry this value, and should stay small.
    kind: Box<ResourceKind>,
    pattern: IntegrationPattern,
}

/// The fields of `arn:PARTITION:SERVICE:REGION:ACCOUNT:REST` (REST may contain `:`).
struct ArnFields<'a> {
    partition: &'a str,
    service: &'a str,
    region: &'a str,
    account: &'a str,
    rest: &'a str,
}

fn arn_fields(text: &str) -> Option<ArnFields<'_>> {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, service, region, account, rest] => Some(ArnFields {
            partition,
            service,
            region,
            account,
            rest,
        }),
        _ => None,
    }
}

impl TaskResource {
    /// Parses a `Resource` value.
    pub fn parse(text: impl Into<String>) -> Self {
        let arn = text.into();
        let (kind, pattern) = classify(&arn);
        Self {
            arn,
            kind: Box::new(kind),
            pattern,
        }
    }

    /// The original text, exactly as written in the definition.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The original text (same as [`Self::arn`]).
    pub fn as_str(&self) -> &str {
        &self.arn
    }

    /// What the resource names.
    pub fn kind(&self) -> &ResourceKind {
        &self.kind
    }

    /// The integration pattern (request-response for Lambda function ARNs and activities).
    pub fn pattern(&self) -> IntegrationPattern {
        self.pattern
    }

    /// The ARN's partition (`aws`, `aws-cn`, ...), if the text is an ARN.
    pub fn partition(&self) -> Option<&str> {
        arn_fields(&self.arn).map(|f| f.partition)
    }

    /// The ARN's region, if the text is an ARN with one (integration ARNs have none).
    pub fn region(&self) -> Option<&str> {
        arn_fields(&self.arn)
            .map(|f| f.region)
            .filter(|r| !r.is_empty())
    }

    /// The ARN's account, if the text is an ARN with one.
    pub fn account(&self) -> Option<&str> {
        arn_fields(&self.arn)
            .map(|f| f.account)
            .filter(|a| !a.is_empty())
    }

    /// A Lambda function ARN (called directly, with `LambdaFunction*` history events).
    pub fn is_lambda_function(&self) -> bool {
        matches!(*self.kind, ResourceKind::LambdaFunction { .. })
    }

    /// An activity ARN.
    pub fn is_activity(&self) -> bool {
        matches!(*self.kind, ResourceKind::Activity { .. })
    }

    /// `.waitForTaskToken`.
    pub fn waits_for_task_token(&self) -> bool {
        self.pattern == IntegrationPattern::WaitForTaskToken
    }

    /// `.sync` or `.sync:2`.
    pub fn is_sync(&self) -> bool {
        matches!(
            self.pattern,
            IntegrationPattern::Sync | IntegrationPattern::Sync2
        )
    }

    /// An `arn:PARTITION:states:::…` integration ARN (no region, no account), whatever follows.
    pub fn is_integration_arn(&self) -> bool {
        arn_fields(&self.arn)
            .is_some_and(|f| f.service == "states" && f.region.is_empty() && f.account.is_empty())
    }

    /// The service and action of an integration (`("lambda", "invoke")`,
    /// `("aws-sdk:s3", "getObject")`), without the pattern suffix.
    pub fn service_action(&self) -> Option<(&str, &str)> {
        match &*self.kind {
            ResourceKind::LambdaInvoke => Some(("lambda", "invoke")),
            ResourceKind::HttpInvoke => Some(("http", "invoke")),
            ResourceKind::Optimized { service, action } => Some((service, action)),
            ResourceKind::AwsSdk { .. } => {
                let rest = arn_fields(&self.arn)?.rest;
                let (service, action) = rest.rsplit_once(':')?;
                let (action, _) = IntegrationPattern::split(action);
                Some((service, action))
            }
            _ => None,
        }
    }

    /// The `resourceType` and `resource` of a service task's history events:
    /// `arn:aws:states:::lambda:invoke` -> (`lambda`, `invoke`),
    /// `arn:aws:states:::aws-sdk:s3:getObject` -> (`aws-sdk:s3`, `getObject`),
    /// `arn:aws:states:::sqs:sendMessage.waitForTaskToken` -> (`sqs`, `sendMessage.waitForTaskToken`).
    ///
    /// The text after the ARN's fifth `:` is split at its last `:`.
    pub fn history_parts(&self) -> (String, String) {
        let rest = arn_fields(&self.arn).map_or(self.arn.as_str(), |f| f.rest);
        match rest.rsplit_once(':') {
            Some((ty, action)) => (ty.to_string(), action.to_string()),
            None => (rest.to_string(), String::new()),
        }
    }
}

fn classify(text: &str) -> (ResourceKind, IntegrationPattern) {
    // Unknown shapes still carry the pattern their text ends with, as the engine always read it.
    let other = || (ResourceKind::Other, IntegrationPattern::split(text).1);
    let Some(f) = arn_fields(text) else {
        return other();
    };
    match f.service {
        "lambda" => {
            let Some(after) = f.rest.strip_prefix("function") else {
                return other();
            };
            let after = match after.strip_prefix(':') {
                Some(a) => a,
                None if after.is_empty() => "",
                None => return other(),
            };
            let (name, qualifier) = match after.split_once(':') {
                Some((n, q)) => (n, Some(q.to_string())),
                None => (after, None),
            };
            (
                ResourceKind::LambdaFunction {
                    name: name.to_string(),
                    qualifier,
                },
                IntegrationPattern::RequestResponse,
            )
        }
        "states" if f.region.is_empty() && f.account.is_empty() => {
            if let Some(sdk) = f.rest.strip_prefix("aws-sdk:") {
                let (sdk, pattern) = IntegrationPattern::split(sdk);
                let Some((service, action)) = sdk.split_once(':') else {
                    return other();
                };
                let kind = ResourceKind::AwsSdk {
                    service: service.to_string(),
                    action: action.to_string(),
                };
                return (kind, pattern);
            }
            let Some((service, action)) = f.rest.split_once(':') else {
                return other();
            };
            let (action, pattern) = IntegrationPattern::split(action);
            let kind = match (service, action) {
                ("lambda", "invoke") => ResourceKind::LambdaInvoke,
                ("http", "invoke") => ResourceKind::HttpInvoke,
                _ => ResourceKind::Optimized {
                    service: service.to_string(),
                    action: action.to_string(),
                },
            };
            (kind, pattern)
        }
        // Published samples deploy AWS SDK integrations with a region and account in the ARN
        // (`arn:aws:states:us-east-1:123456789012:aws-sdk:s3:getObject`); read them as such.
        "states" if f.rest.starts_with("aws-sdk:") => {
            let (sdk, pattern) = IntegrationPattern::split(&f.rest["aws-sdk:".len()..]);
            match sdk.split_once(':') {
                Some((service, action)) => (
                    ResourceKind::AwsSdk {
                        service: service.to_string(),
                        action: action.to_string(),
                    },
                    pattern,
                ),
                None => other(),
            }
        }
        "states" => match f.rest.strip_prefix("activity:") {
            Some(name) => (
                ResourceKind::Activity {
                    name: name.to_string(),
                },
                IntegrationPattern::RequestResponse,
            ),
            None => other(),
        },
        _ => other(),
    }
}

impl From<String> for TaskResource {
    fn from(text: String) -> Self {
        Self::parse(text)
    }
}

impl From<&str> for TaskResource {
    fn from(text: &str) -> Self {
        Self::parse(text)
    }
}

impl From<TaskResource> for String {
    fn from(r: TaskResource) -> Self {
        r.arn
    }
}

impl fmt::Display for TaskResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

impl AsRef<str> for TaskResource {
    fn as_ref(&self) -> &str {
        &self.arn
    }
}

impl PartialEq<str> for TaskResource {
    fn eq(&self, other: &str) -> bool {
        self.arn == other
    }
}

impl PartialEq<&str> for TaskResource {
    fn eq(&self, other: &&str) -> bool {
        self.arn == *other
    }
}

#[cfg(test)]
mod tests {
    use super::{IntegrationPattern as P, ResourceKind as K, TaskResource};

    fn f(name: &str, qualifier: Option<&str>) -> K {
        K::LambdaFunction {
            name: name.into(),
            qualifier: qualifier.map(str::to_string),
        }
    }

    fn opt(service: &str, action: &str) -> K {
        K::Optimized {
            service: service.into(),
            action: action.into(),
        }
    }

    fn sdk(service: &str, action: &str) -> K {
        K::AwsSdk {
            service: service.into(),
            action: action.into(),
        }
    }

    #[test]
    fn kinds_and_patterns() {
        let act = |n: &str| K::Activity { name: n.into() };
        let cases: Vec<(&str, K, P)> = vec![
            (
                "arn:aws:states:us-east-1:123456789012:aws-sdk:s3:getObject",
                sdk("s3", "getObject"),
                P::RequestResponse,
            ),
            (
                "arn:aws:lambda:us-east-1:1:function:f",
                f("f", None),
                P::RequestResponse,
            ),
            (
                "arn:aws:lambda:us-east-1:1:function:f:$LATEST",
                f("f", Some("$LATEST")),
                P::RequestResponse,
            ),
            (
                "arn:aws:lambda:us-east-1:1:function:f:",
                f("f", Some("")),
                P::RequestResponse,
            ),
            (
                "arn:aws:lambda:us-east-1:1:function",
                f("", None),
                P::RequestResponse,
            ),
            (
                "arn:aws:lambda:us-east-1:1:layer:x",
                K::Other,
                P::RequestResponse,
            ),
            (
                "arn:aws-cn:lambda:cn-north-1:1:function:f",
                f("f", None),
                P::RequestResponse,
            ),
            (
                "arn:aws:states:::lambda:invoke",
                K::LambdaInvoke,
                P::RequestResponse,
            ),
            (
                "arn:aws:states:::lambda:invoke.waitForTaskToken",
                K::LambdaInvoke,
                P::WaitForTaskToken,
            ),
            (
                "arn:aws:states:::lambda:invoke.sync",
                K::LambdaInvoke,
                P::Sync,
            ),
            (
                "arn:aws:states:::http:invoke",
                K::HttpInvoke,
                P::RequestResponse,
            ),
            (
                "arn:aws:states:::sqs:sendMessage",
                opt("sqs", "sendMessage"),
                P::RequestResponse,
            ),
            (
                "arn:aws:states:::states:startExecution.sync",
                opt("states", "startExecution"),
                P::Sync,
            ),
            (
                "arn:aws:states:::states:startExecution.sync:2",
                opt("states", "startExecution"),
                P::Sync2,
            ),
            (
                "arn:aws:states:::aws-sdk:s3:listBuckets",
                sdk("s3", "listBuckets"),
                P::RequestResponse,
            ),
            (
                "arn:aws:states:::aws-sdk:s3:listBuckets.sync",
                sdk("s3", "listBuckets"),
                P::Sync,
            ),
            ("arn:aws:states:::aws-sdk:s3", K::Other, P::RequestResponse),
            ("arn:aws:states:::foo", K::Other, P::RequestResponse),
            (
                "arn:aws:states:us-east-1:1:activity:a",
                act("a"),
                P::RequestResponse,
            ),
            (
                "arn:aws:states:us-east-1:1:stateMachine:m",
                K::Other,
                P::RequestResponse,
            ),
            ("__tbd__", K::Other, P::RequestResponse),
            ("x.waitForTaskToken", K::Other, P::WaitForTaskToken),
        ];
        for (text, kind, pattern) in cases {
            let r = TaskResource::parse(text);
            assert_eq!((r.kind(), r.pattern()), (&kind, pattern), "{text}");
            assert_eq!(r.arn(), text);
        }
    }

    #[test]
    fn arn_fields() {
        let r = TaskResource::parse("arn:aws:states:eu-west-1:123456789012:activity:a");
        assert_eq!(r.partition(), Some("aws"));
        assert_eq!(r.region(), Some("eu-west-1"));
        assert_eq!(r.account(), Some("123456789012"));
        let r = TaskResource::parse("arn:aws:states:::lambda:invoke");
        assert_eq!((r.region(), r.account()), (None, None));
        assert!(r.is_integration_arn());
        assert_eq!(TaskResource::parse("nope").partition(), None);
    }

    #[test]
    fn history_parts_split_like_aws() {
        for (text, ty, action) in [
            ("arn:aws:states:::lambda:invoke", "lambda", "invoke"),
            (
                "arn:aws:states:::aws-sdk:s3:getObject",
                "aws-sdk:s3",
                "getObject",
            ),
            (
                "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "sqs",
                "sendMessage.waitForTaskToken",
            ),
            ("__tbd__", "__tbd__", ""),
        ] {
            let parts = TaskResource::parse(text).history_parts();
            assert_eq!(parts, (ty.to_string(), action.to_string()), "{text}");
        }
    }

    #[test]
    fn service_action() {
        for (text, want) in [
            (
                "arn:aws:states:::lambda:invoke.waitForTaskToken",
                Some(("lambda", "invoke")),
            ),
            (
                "arn:aws:states:::aws-sdk:s3:getObject",
                Some(("aws-sdk:s3", "getObject")),
            ),
            (
                "arn:aws:states:::dynamodb:putItem",
                Some(("dynamodb", "putItem")),
            ),
            ("arn:aws:lambda:us-east-1:1:function:f", None),
        ] {
            assert_eq!(TaskResource::parse(text).service_action(), want, "{text}");
        }
    }

    #[test]
    fn serializes_as_the_original_text() {
        let text = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";
        let r = TaskResource::parse(text);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        let back: TaskResource = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }
}
