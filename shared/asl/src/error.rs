//! The error every evaluation (path, template, intrinsic, Choice rule, JSONata) returns.

/// A runtime failure while evaluating part of a state, as Step Functions reports it.
///
/// `error` is the ASL error name (`States.Runtime`, `States.IntrinsicFailure`,
/// `States.QueryEvaluationError`, ...). `cause` is the detail AWS prints *after* the prefix
/// "An error occurred while executing the state 'X' (entered at the event id #N). ", which the
/// engine adds because only it knows the state name and event id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct EvalError {
    /// The ASL error name.
    pub error: String,
    /// The cause text, without the state prefix.
    pub cause: String,
}

impl EvalError {
    /// A `States.Runtime` failure.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self {
            error: crate::errors::RUNTIME.into(),
            cause: cause.into(),
        }
    }

    /// A `States.IntrinsicFailure`.
    pub fn intrinsic(cause: impl Into<String>) -> Self {
        Self {
            error: crate::errors::INTRINSIC_FAILURE.into(),
            cause: cause.into(),
        }
    }

    /// A `States.QueryEvaluationError` (JSONata).
    pub fn query(cause: impl Into<String>) -> Self {
        Self {
            error: crate::errors::QUERY_EVALUATION_ERROR.into(),
            cause: cause.into(),
        }
    }
}
