//! The execution ports: the stored execution (checkpoint, version, outbox, usage), the store
//! that keeps it ([`ExecutionStore`], commits conditioned on a version) and the dispatcher that
//! carries out the engine's commands ([`Dispatcher`]).

use crate::BoxFuture;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use stepwise_asl::model::Definition;
use stepwise_engine::{Command, ExecutionState, HistoryEvent};

/// An execution as stored: the engine's checkpoint plus what the drivers keep beside it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredExecution {
    /// The execution ARN.
    pub arn: String,
    /// The state machine ARN (without version or alias).
    pub state_machine_arn: String,
    /// The definition revision it runs.
    pub revision: u64,
    /// The engine checkpoint.
    pub state: ExecutionState,
    /// Incremented by every committed step.
    pub version: u64,
    /// Commands committed with the state and not yet dispatched.
    pub outbox: Vec<Command>,
    /// The mock test case, if any.
    pub test_case: Option<String>,
    /// What the execution cost so far, as counted by the adapters.
    pub usage: Usage,
    /// The last step's history events where the store keeps them beside the checkpoint until
    /// the next step pages them (the AWS store: so that a step is one conditional write); the
    /// driver carries it from load to commit untouched. `None` in stores that page every
    /// step's events as it commits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_tail: Option<HistoryTail>,
}

/// A step's history events as a store packed them: ids `first..=last`, as text (one event a
/// line) or, when `in_s3`, the key of an S3 object holding that text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryTail {
    /// The id of the first event.
    pub first: u64,
    /// The id of the last event.
    pub last: u64,
    /// The events, one JSON a line, or the key of their S3 object.
    pub body: String,
    /// Whether `body` is an S3 key.
    pub in_s3: bool,
}

/// Requests an execution made on the services that run it, for the cost meter. The stored form
/// is short (it is written with every step, and each KB is a write unit): zero counts left out,
/// one- or two-letter names (the longer names of earlier stored forms still read), fractions
/// kept to six decimals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Usage {
    /// DynamoDB read request units (4 KB strongly consistent reads).
    #[serde(
        rename = "r",
        alias = "dynamodbReadUnits",
        skip_serializing_if = "zero_f64",
        serialize_with = "short_f64"
    )]
    pub dynamodb_read_units: f64,
    /// DynamoDB write request units (1 KB writes; a secondary index's writes included).
    #[serde(
        rename = "w",
        alias = "dynamodbWriteUnits",
        skip_serializing_if = "zero_f64",
        serialize_with = "short_f64"
    )]
    pub dynamodb_write_units: f64,
    /// DynamoDB requests (for reference; units are what is billed).
    #[serde(
        rename = "d",
        alias = "dynamodbRequests",
        skip_serializing_if = "zero_u64"
    )]
    pub dynamodb_requests: u64,
    /// SQS requests on FIFO queues (64 KB chunks): sends, and the event source mapping's
    /// receives and deletes.
    #[serde(
        rename = "f",
        alias = "sqsFifoRequests",
        skip_serializing_if = "zero_u64"
    )]
    pub sqs_fifo_requests: u64,
    /// SQS requests on standard queues (64 KB chunks), counted as the FIFO ones.
    #[serde(
        rename = "q",
        alias = "sqsStandardRequests",
        skip_serializing_if = "zero_u64"
    )]
    pub sqs_standard_requests: u64,
    /// EventBridge Scheduler schedules created (each fires once).
    #[serde(rename = "sc", alias = "schedules", skip_serializing_if = "zero_u64")]
    pub schedules: u64,
    /// Invocations of Stepwise's own Lambda functions.
    #[serde(
        rename = "l",
        alias = "lambdaInvocations",
        skip_serializing_if = "zero_u64"
    )]
    pub lambda_invocations: u64,
    /// Their duration in GB-seconds (arm64), the time they wait for a task's answer included.
    #[serde(
        rename = "g",
        alias = "lambdaGbSeconds",
        skip_serializing_if = "zero_f64",
        serialize_with = "short_f64"
    )]
    pub lambda_gb_seconds: f64,
    /// Task calls (the user's functions and services: billed to them, listed apart).
    #[serde(
        rename = "ti",
        alias = "taskInvocations",
        skip_serializing_if = "zero_u64"
    )]
    pub task_invocations: u64,
    /// How long the task calls took, in seconds (the user's functions' duration).
    #[serde(
        rename = "ts",
        alias = "taskSeconds",
        skip_serializing_if = "zero_f64",
        serialize_with = "short_f64"
    )]
    pub task_seconds: f64,
    /// S3 PUT requests.
    #[serde(rename = "sp", alias = "s3Puts", skip_serializing_if = "zero_u64")]
    pub s3_puts: u64,
    /// S3 GET requests.
    #[serde(rename = "sg", alias = "s3Gets", skip_serializing_if = "zero_u64")]
    pub s3_gets: u64,
    /// State transitions (states entered): what Step Functions Standard bills.
    #[serde(rename = "t", alias = "transitions", skip_serializing_if = "zero_u64")]
    pub transitions: u64,
}

fn zero_f64(x: &f64) -> bool {
    *x == 0.0
}

/// Six decimals are more than a cost per million transitions shows.
fn short_f64<S: serde::Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((x * 1e6).round() / 1e6)
}

fn zero_u64(x: &u64) -> bool {
    *x == 0
}

impl Usage {
    /// Adds another usage to this one.
    pub fn add(&mut self, o: &Usage) {
        self.dynamodb_read_units += o.dynamodb_read_units;
        self.dynamodb_write_units += o.dynamodb_write_units;
        self.dynamodb_requests += o.dynamodb_requests;
        self.sqs_fifo_requests += o.sqs_fifo_requests;
        self.sqs_standard_requests += o.sqs_standard_requests;
        self.schedules += o.schedules;
        self.lambda_invocations += o.lambda_invocations;
        self.lambda_gb_seconds += o.lambda_gb_seconds;
        self.task_invocations += o.task_invocations;
        self.task_seconds += o.task_seconds;
        self.s3_puts += o.s3_puts;
        self.s3_gets += o.s3_gets;
        self.transitions += o.transitions;
    }
}

/// Why a port failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The conditional write lost: someone else moved the execution on.
    #[error("the execution {0} was changed concurrently")]
    Conflict(String),
    /// No such execution or definition.
    #[error("{0} does not exist")]
    NotFound(String),
    /// A definition in the store does not parse.
    #[error("the stored definition of {0} is invalid: {1}")]
    BadDefinition(String, String),
    /// Anything else (I/O, the service).
    #[error("{0}")]
    Other(String),
}

/// Where executions, their history and definitions are kept.
pub trait ExecutionStore: Send + Sync {
    /// The execution, if it exists.
    fn load<'a>(
        &'a self,
        arn: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredExecution>, StoreError>>;
    /// Writes `next` (whose `version` is one more than `expected_version`) with its new history
    /// events, atomically and only if the stored version is still `expected_version`.
    fn commit<'a>(
        &'a self,
        next: &'a StoredExecution,
        expected_version: u64,
        history: &'a [HistoryEvent],
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Marks the outbox of `version` dispatched (a no-op once the execution moved on).
    fn clear_outbox<'a>(
        &'a self,
        arn: &'a str,
        version: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// A state machine's definition at a revision.
    fn definition<'a>(
        &'a self,
        state_machine_arn: &'a str,
        revision: u64,
    ) -> BoxFuture<'a, Result<Arc<Definition>, StoreError>>;
    /// What the adapters counted since the last call (added to the execution's usage when it
    /// commits); stores that don't meter return nothing.
    fn take_usage(&self) -> Usage {
        Usage::default()
    }
}

/// Carries out the engine's commands: invoke tasks, start and cancel timers.
pub trait Dispatcher: Send + Sync {
    /// Dispatches `commands` of `execution` (already committed in its outbox). Must tolerate
    /// being called twice with the same commands.
    fn dispatch<'a>(
        &'a self,
        execution: &'a StoredExecution,
        commands: &'a [Command],
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Dispatches the outbox of the step the driver just committed as `execution`. An outbox
    /// found on load (a crash between a commit and its dispatch) goes through
    /// [`Dispatcher::dispatch`] instead, and the driver clears it after: only a dispatch here
    /// may keep a command back to carry out later itself (the invoker's chain of Task calls),
    /// since the outbox still holds it. By default the same as `dispatch`.
    fn dispatch_committed<'a>(
        &'a self,
        execution: &'a StoredExecution,
        commands: &'a [Command],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.dispatch(execution, commands)
    }
    /// Whether status changes are announced ([`Command::PublishStatusChange`]): only then does
    /// the durable driver put them in the outbox (no write for events nobody receives).
    fn publishes_status_changes(&self) -> bool {
        false
    }
    /// Whether dispatching an outbox without status changes again is harmless (each task
    /// attempt is called once whatever the commands sent for it, a timer fired twice is
    /// ignored): then the driver spares the write that clears such an outbox, and the next
    /// step, which rewrites the outbox anyway, replaces it (see `stepwise_runtime::durable`).
    fn redispatch_is_harmless(&self) -> bool {
        false
    }
}

/// What applying one event to an execution did (the runtime's `advance`).
#[derive(Debug, Clone, PartialEq)]
pub enum Advanced {
    /// The event was applied and committed as this version.
    Committed {
        /// The new version.
        version: u64,
        /// History events added.
        events: usize,
        /// Whether the execution is still running after it.
        running: bool,
    },
    /// The event changed nothing (a duplicate, a late timer, an ended execution).
    Ignored,
    /// There is no such execution.
    Unknown,
    /// Not applied: an earlier step's commands are still in the execution's outbox (another
    /// invocation is dispatching them, or one stopped before it was done), and only the
    /// execution's queue dispatches an outbox again (the callers of the runtime's
    /// `advance_inline` send the event there instead: re-sending a Map's thousand task calls
    /// from every task answer that arrives meanwhile would call the queue a million times).
    Deferred,
    /// Not applied here: sent to the execution's queue (after [`Advanced::Deferred`]), where it
    /// is applied in order.
    Queued,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_stored_short_and_read_in_either_form() {
        let u = Usage {
            dynamodb_write_units: 12.5,
            lambda_gb_seconds: 0.123_456_789_012,
            lambda_invocations: 3,
            transitions: 2,
            ..Usage::default()
        };
        let text = serde_json::to_string(&u).expect("serialized");
        assert_eq!(text, r#"{"w":12.5,"l":3,"g":0.123457,"t":2}"#);
        let back: Usage = serde_json::from_str(&text).expect("read back");
        assert_eq!(back.lambda_invocations, 3);
        assert!((back.lambda_gb_seconds - 0.123_457).abs() < 1e-12);
        // The form written before.
        let old: Usage = serde_json::from_str(
            r#"{"dynamodbWriteUnits":12.5,"lambdaInvocations":3,"lambdaGbSeconds":0.5,"transitions":2}"#,
        )
        .expect("the old form");
        assert_eq!(
            (
                old.dynamodb_write_units,
                old.lambda_invocations,
                old.transitions
            ),
            (12.5, 3, 2)
        );
    }
}
