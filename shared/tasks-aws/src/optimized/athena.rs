//! `arn:aws:states:::athena:startQueryExecution[.sync]`, `athena:stopQueryExecution`,
//! `athena:getQueryExecution`, `athena:getQueryResults`: the Athena API as it is, results with
//! the HTTP metadata and timestamps as epoch milliseconds. With `.sync` the query is read with
//! `GetQueryExecution` until its state is `SUCCEEDED` (the result: `{"QueryExecution": ...}`),
//! `FAILED` or `CANCELLED` (`States.TaskFailed`, that output as JSON text).

use serde_json::{json, Value};
use stepwise_ports::tasks::{TaskFailure, TaskRequest};

use super::backend::{sort_keys, with_metadata, Backend, ServiceNames};
use super::params;
use super::sync::{Job, JobState};
use super::Started;

/// How Athena errors are named.
pub const NAMES: ServiceNames = ServiceNames {
    prefix: "Athena",
    service: "AmazonAthena",
    generic: "AmazonAthenaException",
    modeled: &[
        ("InternalServerException", "InternalServerException"),
        ("InvalidRequestException", "InvalidRequestException"),
        ("TooManyRequestsException", "TooManyRequestsException"),
        ("ResourceNotFoundException", "ResourceNotFoundException"),
    ],
};

const TIMESTAMPS: &[&str] = &["CompletionDateTime", "SubmissionDateTime"];

/// One of the Athena actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AthenaOp {
    /// `startQueryExecution`.
    StartQueryExecution,
    /// `stopQueryExecution`.
    StopQueryExecution,
    /// `getQueryExecution`.
    GetQueryExecution,
    /// `getQueryResults`.
    GetQueryResults,
}

impl AthenaOp {
    /// The operation for an integration action.
    pub fn from_action(action: &str) -> Option<Self> {
        match action {
            "startQueryExecution" => Some(Self::StartQueryExecution),
            "stopQueryExecution" => Some(Self::StopQueryExecution),
            "getQueryExecution" => Some(Self::GetQueryExecution),
            "getQueryResults" => Some(Self::GetQueryResults),
            _ => None,
        }
    }

    fn operation(self) -> &'static str {
        match self {
            Self::StartQueryExecution => "StartQueryExecution",
            Self::StopQueryExecution => "StopQueryExecution",
            Self::GetQueryExecution => "GetQueryExecution",
            Self::GetQueryResults => "GetQueryResults",
        }
    }

    fn fields(self) -> &'static [&'static str] {
        match self {
            Self::StartQueryExecution => &[
                "QueryString",
                "ClientRequestToken",
                "QueryExecutionContext",
                "ResultConfiguration",
                "WorkGroup",
                "ExecutionParameters",
                "ResultReuseConfiguration",
                "EngineConfiguration",
            ],
            Self::StopQueryExecution | Self::GetQueryExecution => &["QueryExecutionId"],
            Self::GetQueryResults => &[
                "QueryExecutionId",
                "NextToken",
                "MaxResults",
                "QueryResultType",
            ],
        }
    }

    fn required(self) -> &'static [&'static str] {
        match self {
            Self::StartQueryExecution => &["QueryString"],
            _ => &["QueryExecutionId"],
        }
    }
}

/// The operation's input for the task's parameters.
pub fn input(op: AthenaOp, req: &TaskRequest) -> Result<Value, TaskFailure> {
    let map = params::fields(req, op.fields())?;
    if let Some(member) = params::first_missing(&map, op.required()) {
        return Err(NAMES.missing_member(member));
    }
    Ok(Value::Object(map))
}

/// What `GetQueryExecution`'s output says about the `.sync` query.
pub fn query_state(output: &Value) -> JobState {
    let state = output
        .get("QueryExecution")
        .and_then(|q| q.get("Status"))
        .and_then(|s| s.get("State"))
        .and_then(Value::as_str);
    let shaped = || {
        sort_keys(json!({
            "QueryExecution": params::millis_timestamps(
                output.get("QueryExecution").cloned().unwrap_or(Value::Null),
                TIMESTAMPS,
            )
        }))
    };
    match state {
        Some("SUCCEEDED") => JobState::Succeeded(shaped()),
        Some("FAILED" | "CANCELLED") => JobState::Failed(shaped()),
        _ => JobState::Running,
    }
}

/// `athena:<op>` (`.sync` only for startQueryExecution).
pub async fn run(
    b: &dyn Backend,
    op: AthenaOp,
    req: &TaskRequest,
    sync: bool,
) -> Result<Started, TaskFailure> {
    let input = input(op, req)?;
    let reply = b
        .call("athena", op.operation(), input)
        .await
        .map_err(|f| NAMES.failure(f))?;
    let output = sort_keys(params::millis_timestamps(reply.output.clone(), TIMESTAMPS));
    let output = with_metadata(output, &reply);
    if !sync {
        return Ok(Started::Done(output));
    }
    let id = reply
        .output
        .get("QueryExecutionId")
        .cloned()
        .unwrap_or(Value::Null);
    let get = json!({ "QueryExecutionId": id });
    let job = Job {
        service: "athena".into(),
        describe: "GetQueryExecution".into(),
        describe_input: get.clone(),
        stop: "StopQueryExecution".into(),
        stop_input: get,
        context: Value::Null,
    };
    Ok(Started::Job {
        output,
        job: Box::new(job),
    })
}

/// What GetQueryExecution says about the `.sync` query.
pub fn look(described: &Value, _job: &Job) -> Result<JobState, TaskFailure> {
    Ok(query_state(described))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_query_states() {
        let q = |s: &str| {
            json!({"QueryExecution": {"QueryExecutionId": "q1",
            "Status": {"State": s, "SubmissionDateTime": 1700000000.25}}})
        };
        assert_eq!(query_state(&q("RUNNING")), JobState::Running);
        assert_eq!(query_state(&q("QUEUED")), JobState::Running);
        assert_eq!(
            query_state(&q("SUCCEEDED")),
            JobState::Succeeded(json!({"QueryExecution": {"QueryExecutionId": "q1",
                "Status": {"State": "SUCCEEDED", "SubmissionDateTime": 1700000000250_i64}}}))
        );
        assert!(matches!(query_state(&q("FAILED")), JobState::Failed(_)));
        assert!(matches!(query_state(&q("CANCELLED")), JobState::Failed(_)));
    }
}
