//! The caller: credentials, endpoints, signing, the HTTP exchange and retries.

use crate::{ApiCall, ApiCallError, ApiResponse, AwsSettings};
use aws_credential_types::provider::SharedCredentialsProvider;
use std::sync::Arc;

struct Inner {
    region: String,
    endpoint_url: Option<String>,
    credentials: Option<SharedCredentialsProvider>,
}

/// Calls AWS APIs. Cheap to clone (an `Arc` inside); `Send + Sync`.
#[derive(Clone)]
pub struct AwsCaller {
    inner: Arc<Inner>,
}

impl AwsCaller {
    /// A caller configured as the AWS SDKs configure themselves: the region from `settings` or
    /// the default chain (`AWS_REGION`, the profile; `us-east-1` when none), the default
    /// credentials chain, and the endpoint overrides (`settings.endpoint_url`, then
    /// `AWS_ENDPOINT_URL_<SERVICE>` with the service id upper-cased and spaces turned into
    /// underscores, then `AWS_ENDPOINT_URL`).
    pub async fn from_env(settings: AwsSettings) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = &settings.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        let conf = loader.load().await;
        let region = conf
            .region()
            .map(|r| r.as_ref().to_string())
            .unwrap_or_else(|| "us-east-1".to_string());
        Self {
            inner: Arc::new(Inner {
                region,
                endpoint_url: settings.endpoint_url,
                credentials: conf.credentials_provider(),
            }),
        }
    }

    /// The same caller signing with other credentials (a state machine's assumed role).
    pub fn with_credentials(&self, provider: SharedCredentialsProvider) -> Self {
        Self {
            inner: Arc::new(Inner {
                region: self.inner.region.clone(),
                endpoint_url: self.inner.endpoint_url.clone(),
                credentials: Some(provider),
            }),
        }
    }

    /// The caller's region.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// Validates, sends and parses one call (see the crate docs).
    pub async fn call(&self, call: ApiCall<'_>) -> Result<ApiResponse, ApiCallError> {
        let _ = (&self.inner.credentials, &self.inner.endpoint_url);
        Err(ApiCallError::Transport {
            message: format!("{}:{} not implemented yet", call.service, call.operation),
        })
    }
}
