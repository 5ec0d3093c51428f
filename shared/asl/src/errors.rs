//! The error names the Amazon States Language predefines (all start with `States.`), in one
//! place, so every crate spells them the same way.
//!
//! Names as listed in AWS's "Handling errors in Step Functions workflows" and the ASL
//! specification's appendix A.

/// Matches any error name in `ErrorEquals` (but never `States.Runtime`).
pub const ALL: &str = "States.ALL";
/// A branch of a Parallel state failed.
pub const BRANCH_FAILED: &str = "States.BranchFailed";
/// A connector's or a state's payload exceeded the size quota.
pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
/// A Map state's failed items exceeded its tolerated failure threshold.
pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
/// A Task did not heartbeat within `HeartbeatSeconds`.
pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
/// An HTTP Task could not reach its endpoint (socket timeout).
pub const HTTP_SOCKET: &str = "States.Http.Socket";
/// An intrinsic function failed.
pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
/// A Map state's `ItemReader` could not read its items.
pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
/// No Choice rule matched and there is no `Default`.
pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
/// A `.$` field of `Parameters` could not be evaluated.
pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
/// A Task lacked the privileges to run.
pub const PERMISSIONS: &str = "States.Permissions";
/// A JSONata expression failed.
pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
/// `ResultPath` cannot be applied to the state's input.
pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
/// A Map state's `ResultWriter` could not write its results.
pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
/// A runtime error that no Retry or Catch can handle (not matched by `States.ALL`).
pub const RUNTIME: &str = "States.Runtime";
/// A Task failed.
pub const TASK_FAILED: &str = "States.TaskFailed";
/// A Task ran longer than `TimeoutSeconds` (or an execution longer than its timeout).
pub const TIMEOUT: &str = "States.Timeout";

/// Every predefined name, for checks that a name is one of them.
pub const PREDEFINED: &[&str] = &[
    ALL,
    BRANCH_FAILED,
    DATA_LIMIT_EXCEEDED,
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    HEARTBEAT_TIMEOUT,
    HTTP_SOCKET,
    INTRINSIC_FAILURE,
    ITEM_READER_FAILED,
    NO_CHOICE_MATCHED,
    PARAMETER_PATH_FAILURE,
    PERMISSIONS,
    QUERY_EVALUATION_ERROR,
    RESULT_PATH_MATCH_FAILURE,
    RESULT_WRITER_FAILED,
    RUNTIME,
    TASK_FAILED,
    TIMEOUT,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_states_prefixed_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for name in PREDEFINED {
            assert!(name.starts_with("States."), "{name}");
            assert!(seen.insert(name), "{name}");
        }
    }
}
