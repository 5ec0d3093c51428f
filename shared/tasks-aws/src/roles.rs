//! Calling as the state machine's role, as Step Functions does: the execution's `roleArn` is
//! assumed with STS AssumeRole (the session named after the execution), and every AWS call the
//! integrations make for that execution is signed with those credentials (refreshed by the
//! provider before they expire). The serverless invoker turns it on; the embedded homes keep
//! the local credentials.
//!
//! `TaskRequest` does not carry the role: [`RoleLookup`] finds it from the execution's ARN (the
//! serverless home reads the stored execution once per execution and container).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_credential_types::provider::SharedCredentialsProvider;
use stepwise_aws_api::AwsCaller;
use stepwise_ports::BoxFuture;

use crate::wire::AwsEndpoints;

/// Finds the role an execution runs as.
pub trait RoleLookup: Send + Sync {
    /// The execution's `roleArn`, if it is known.
    fn role_of<'a>(&'a self, execution_arn: &'a str) -> BoxFuture<'a, Option<String>>;
}

/// The callers of one assumed role.
#[derive(Clone)]
pub struct RoleCallers {
    /// For the optimized and `aws-sdk:*` integrations.
    pub caller: AwsCaller,
    /// For `apigateway:invoke` signing, connections and Step Functions over HTTP.
    pub endpoints: Arc<AwsEndpoints>,
}

/// How many executions' callers are kept before the cache starts over.
const CACHE_LIMIT: usize = 512;

/// Assumes each execution's role and keeps its callers.
pub struct AssumedRoles {
    lookup: Arc<dyn RoleLookup>,
    base: aws_config::SdkConfig,
    region: Option<String>,
    endpoint_url: Option<String>,
    cache: Mutex<HashMap<String, Option<RoleCallers>>>,
}

/// The session name for an execution: its name, with what STS refuses replaced, at most 64
/// characters.
pub fn session_name(execution_arn: &str) -> String {
    let name = execution_arn.rsplit(':').next().unwrap_or(execution_arn);
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if cleaned.len() < 2 {
        "stepwise-execution".into()
    } else {
        cleaned
    }
}

impl AssumedRoles {
    /// Roles found with `lookup`, assumed through STS (at `endpoint_url` when given, like the
    /// other calls) with `base` credentials, else the default chain's.
    pub async fn new(
        lookup: Arc<dyn RoleLookup>,
        region: Option<String>,
        endpoint_url: Option<String>,
        base: Option<aws_credential_types::Credentials>,
    ) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(c) = base {
            loader = loader.credentials_provider(c);
        }
        if let Some(r) = &region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(u) = &endpoint_url {
            loader = loader.endpoint_url(u.clone());
        }
        AssumedRoles {
            lookup,
            base: loader.load().await,
            region,
            endpoint_url,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The callers of the execution's role, or `None` when its role is unknown (the default
    /// credentials are used then).
    pub async fn callers(&self, base: &AwsCaller, execution_arn: &str) -> Option<RoleCallers> {
        if let Some(found) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(execution_arn)
        {
            return found.clone();
        }
        let found = match self.lookup.role_of(execution_arn).await {
            Some(role) => {
                let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                    .session_name(session_name(execution_arn))
                    .configure(&self.base)
                    .build()
                    .await;
                let shared = SharedCredentialsProvider::new(provider);
                Some(RoleCallers {
                    caller: base.with_credentials(shared.clone()),
                    endpoints: Arc::new(
                        AwsEndpoints::new(self.region.clone(), self.endpoint_url.clone())
                            .with_provider(shared),
                    ),
                })
            }
            None => None,
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(execution_arn.to_string(), found.clone());
        found
    }
}

/// Checks a `roleArn` as Step Functions does before it accepts a state machine: the role must
/// be assumable by the caller that will act as it (STS AssumeRole with this caller's
/// credentials), and must exist (IAM GetRole, asked as the role itself: a `NoSuchEntity` answer
/// refuses it; no permission to ask leaves the decision to AssumeRole, which AWS refuses for a
/// role that does not exist).
pub struct StsRoleCheck {
    caller: AwsCaller,
}

impl StsRoleCheck {
    /// Checks with `caller`'s credentials and endpoints (those the invoker assumes roles with).
    pub fn new(caller: AwsCaller) -> Self {
        StsRoleCheck { caller }
    }

    async fn check_role(&self, role_arn: &str) -> Result<(), String> {
        let call = |service: &'static str, operation: &'static str, input: serde_json::Value| {
            let caller = self.caller.clone();
            async move {
                caller
                    .call(stepwise_aws_api::ApiCall {
                        service,
                        operation,
                        input: &input,
                        region: None,
                    })
                    .await
            }
        };
        let assumed = call(
            "sts",
            "AssumeRole",
            serde_json::json!({"RoleArn": role_arn, "RoleSessionName": "stepwise-role-check"}),
        )
        .await
        .map_err(|e| format!("AssumeRole: {e}"))?;
        let c = &assumed.output["Credentials"];
        let text = |k: &str| c[k].as_str().map(str::to_string);
        let (Some(key), Some(secret)) = (text("AccessKeyId"), text("SecretAccessKey")) else {
            return Err("AssumeRole returned no credentials".into());
        };
        let credentials = aws_credential_types::Credentials::new(
            key,
            secret,
            text("SessionToken"),
            None,
            "stepwise-role-check",
        );
        let as_role = self
            .caller
            .with_credentials(SharedCredentialsProvider::new(credentials));
        let name = role_arn.rsplit('/').next().unwrap_or(role_arn);
        let input = serde_json::json!({ "RoleName": name });
        let got = as_role
            .call(stepwise_aws_api::ApiCall {
                service: "iam",
                operation: "GetRole",
                input: &input,
                region: None,
            })
            .await;
        match got {
            Err(stepwise_aws_api::ApiCallError::Service { code, message, .. })
                if code == "NoSuchEntity" =>
            {
                Err(format!("GetRole: {message}"))
            }
            _ => Ok(()),
        }
    }
}

impl stepwise_ports::roles::RoleCheck for StsRoleCheck {
    fn check<'a>(&'a self, role_arn: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(self.check_role(role_arn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_named_after_the_execution() {
        assert_eq!(
            session_name("arn:aws:states:us-east-1:1:execution:M:run-1"),
            "run-1"
        );
        assert_eq!(
            session_name("arn:aws:states:us-east-1:1:execution:M:a b/c"),
            "a-b-c"
        );
        assert_eq!(session_name("x:"), "stepwise-execution");
        assert_eq!(session_name(&format!("e:{}", "n".repeat(80))).len(), 64);
    }
}
