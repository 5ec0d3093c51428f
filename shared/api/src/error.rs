//! AWS error types, as the awsJson1_0 protocol carries them (`__type` and `message`).

use serde_json::json;
use stepwise_ports::execution::StoreError;

/// An error an action answers with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// AWS's error type, e.g. `StateMachineDoesNotExist`.
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// The HTTP status (400 for client errors).
    pub status: u16,
}

impl ApiError {
    /// A client error (HTTP 400).
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            status: 400,
        }
    }

    /// `ValidationException`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }

    /// `InvalidArn`.
    pub fn invalid_arn(arn: &str) -> Self {
        Self::new("InvalidArn", format!("Invalid Arn: '{arn}'"))
    }

    /// The body of the error response.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&json!({"__type": self.code, "message": self.message}))
            .unwrap_or_default()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError {
            code: "InternalFailure",
            message: e.to_string(),
            status: 500,
        }
    }
}

/// The result of an action.
pub type ApiResult<T> = Result<T, ApiError>;
