//! The Step Functions API as the `states:startExecution` integration calls it: one action in,
//! its JSON answer (or AWS error) out. The embedded and serverless homes answer it in process
//! (`stepwise_api::Service`), `stepwise run` over HTTP (a `stepwise serve` or AWS itself).

use crate::BoxFuture;
use serde_json::Value;
use std::sync::{Arc, OnceLock, Weak};

/// A successful answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiReply {
    /// The response body (awsJson1_0, camelCase members).
    pub body: Value,
    /// The HTTP status.
    pub status: u16,
    /// The response headers (for `SdkHttpMetadata`).
    pub headers: Vec<(String, String)>,
    /// The request id.
    pub request_id: String,
}

/// A failed call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiCallError {
    /// The service answered with an error (`__type`, message).
    #[error("{code}: {message}")]
    Service {
        /// The HTTP status.
        status: u16,
        /// The error code, e.g. `StateMachineDoesNotExist`.
        code: String,
        /// The message.
        message: String,
        /// The request id.
        request_id: String,
    },
    /// No answer (connection refused, the service is gone).
    #[error("{0}")]
    Transport(String),
}

/// Calls Step Functions API actions (`StartExecution`, `DescribeExecution`, `StopExecution`).
pub trait StatesApi: Send + Sync {
    /// Calls `action` with `body`.
    fn call<'a>(
        &'a self,
        action: &'a str,
        body: Value,
    ) -> BoxFuture<'a, Result<ApiReply, ApiCallError>>;
}

/// A [`StatesApi`] bound after it is handed out: the service that answers is built after the
/// task router that needs it.
#[derive(Default)]
pub struct LateStatesApi {
    target: OnceLock<Weak<dyn StatesApi>>,
}

impl LateStatesApi {
    /// Not bound yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Binds it (once; later binds are ignored).
    pub fn bind(&self, target: Weak<dyn StatesApi>) {
        let _ = self.target.set(target);
    }
}

impl StatesApi for LateStatesApi {
    fn call<'a>(
        &'a self,
        action: &'a str,
        body: Value,
    ) -> BoxFuture<'a, Result<ApiReply, ApiCallError>> {
        Box::pin(async move {
            match self.target.get().and_then(Weak::upgrade) {
                Some(api) => api.call(action, body).await,
                None => Err(ApiCallError::Transport(
                    "the Step Functions service is not running".into(),
                )),
            }
        })
    }
}
