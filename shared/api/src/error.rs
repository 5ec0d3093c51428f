//! AWS error types, as the awsJson1_0 protocol carries them (`__type` and `message`).

use serde_json::json;
use stepwise_ports::execution::StoreError;

/// How a constraint failure shows the member's value: AWS prints `null` for a missing member,
/// the value quoted for a short one, and nothing for a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown<'a> {
    /// `Value null at ...`.
    Null,
    /// `Value '<text>' at ...`.
    Text(&'a str),
    /// `Value at ...`.
    Withheld,
}

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

    /// A `ValidationException` for one member that fails a constraint, worded as AWS words it:
    /// `1 validation error detected: Value 'x' at 'field' failed to satisfy constraint: <why>`.
    pub fn constraint(value: Shown<'_>, field: &str, constraint: &str) -> Self {
        let value = match value {
            Shown::Null => "Value null".to_string(),
            Shown::Text(t) => format!("Value '{t}'"),
            Shown::Withheld => "Value".to_string(),
        };
        Self::validation(format!(
            "1 validation error detected: {value} at '{field}' failed to satisfy constraint: {constraint}"
        ))
    }

    /// The constraint failure of a required member that is missing.
    pub fn missing(field: &str) -> Self {
        Self::constraint(Shown::Null, field, "Member must not be null")
    }

    /// `InvalidArn`; AWS names what is wrong when the text does not start as an ARN does.
    pub fn invalid_arn(arn: &str) -> Self {
        if arn.starts_with("arn:") {
            Self::new("InvalidArn", format!("Invalid Arn: '{arn}'"))
        } else {
            Self::new(
                "InvalidArn",
                format!("Invalid Arn: 'Invalid ARN prefix: {arn}'"),
            )
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_messages_are_worded_as_aws_words_them() {
        assert_eq!(
            ApiError::missing("name").message,
            "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"
        );
        assert_eq!(
            ApiError::constraint(Shown::Text("7"), "maxResults", "Member must be small").message,
            "1 validation error detected: Value '7' at 'maxResults' failed to satisfy constraint: Member must be small"
        );
        let e = ApiError::constraint(Shown::Withheld, "input", "Member must be short");
        assert_eq!(
            e.message,
            "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must be short"
        );
        assert_eq!(e.code, "ValidationException");
    }
}
