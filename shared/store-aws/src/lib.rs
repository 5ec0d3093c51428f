//! The serverless home's storage, queues and timers on AWS.
//!
//! * [`table`]: one DynamoDB table — executions (checkpoint + version + outbox), history events
//!   as items paged by Query (no 25,000-event cap), state machines, task tokens.
//! * [`queues`]: the SQS FIFO transitions queue (one message group per execution), the standard
//!   tasks queue (one Task call per invocation of the invoker) and the standard timers queue
//!   (timers due within 15 minutes as delayed messages, as a FIFO queue takes no per-message
//!   delay; apart from the tasks so that they never wait behind a slow call).
//! * [`timers`]: EventBridge Scheduler one-time `at()` schedules for timers beyond SQS's
//!   15-minute delay, targeting the transitions queue (with a retry policy and a dead-letter
//!   queue), deleted after completion or when the timer is cancelled.
//! * [`commit`]: a step's writes, atomic; [`attempts`]: one record per task attempt, so a
//!   redelivered command never calls a task twice.
//! * [`meter`]: counts the AWS requests each execution makes and prices them.
//!
//! Names come from the environment (see [`Names::from_env`]), the contract the SAM template and
//! the CDK app set for every function.

pub mod meter;
pub mod queues;
pub mod retention;
pub mod table;
pub mod timers;

use std::sync::Arc;
use stepwise_ports::status_events::StatusEventSink;

/// Why an AWS call failed.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The conditional write lost: someone else moved the execution on.
    #[error("the execution {0} was changed by someone else (version conflict)")]
    Conflict(String),
    /// The item to create exists already.
    #[error("{0} exists already")]
    AlreadyExists(String),
    /// A stored item does not decode.
    #[error("corrupt item {key}: {message}")]
    Corrupt {
        /// Which item.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// The task attempt was taken by an invoker that may still be calling it (an SQS duplicate
    /// delivered while the first runs): try again after that invoker's deadline.
    #[error("task {task} of {execution} is being called by another invoker until {deadline_ms}")]
    AttemptInFlight {
        /// The execution.
        execution: String,
        /// The task id.
        task: u64,
        /// When the other invoker's function times out (milliseconds since the epoch).
        deadline_ms: i64,
    },
    /// An item would pass DynamoDB's 400 KB limit.
    #[error("the item of {key} would hold {bytes} bytes, past DynamoDB's 400 KB item limit")]
    ItemTooLarge {
        /// Which item.
        key: String,
        /// Its size.
        bytes: usize,
    },
    /// A required setting is missing.
    #[error("missing setting {0}")]
    Config(&'static str),
    /// A setting does not parse.
    #[error("the setting {0} is not valid: {1}")]
    BadConfig(&'static str, String),
    /// The service answered with an error.
    #[error("{service} {operation} failed: {message}")]
    Service {
        /// DynamoDB, SQS, ...
        service: &'static str,
        /// The operation.
        operation: &'static str,
        /// The SDK's message.
        message: String,
    },
}

impl AwsError {
    pub(crate) fn service(
        service: &'static str,
        operation: &'static str,
        e: impl std::fmt::Display,
    ) -> Self {
        AwsError::Service {
            service,
            operation,
            message: e.to_string(),
        }
    }

    /// The error of a DynamoDB call, named by its operation, with the SDK's whole error context
    /// (`.map_err(AwsError::dynamodb("GetItem"))`).
    pub(crate) fn dynamodb<E: std::error::Error>(
        operation: &'static str,
    ) -> impl FnOnce(E) -> Self {
        move |e| {
            Self::service(
                "DynamoDB",
                operation,
                aws_sdk_dynamodb::error::DisplayErrorContext(e),
            )
        }
    }
}

/// The resource names the functions work with.
#[derive(Debug, Clone)]
pub struct Names {
    /// The DynamoDB table.
    pub table: String,
    /// The FIFO transitions queue URL.
    pub transitions_queue_url: String,
    /// Its ARN (the target of Scheduler schedules).
    pub transitions_queue_arn: String,
    /// The standard tasks queue URL.
    pub tasks_queue_url: String,
    /// The standard timers queue URL (short timers, heartbeats and timeouts included).
    pub timers_queue_url: String,
    /// The standard queue Scheduler sends a schedule's event to when it cannot deliver it.
    pub scheduler_dead_letter_queue_arn: String,
    /// The bucket for payloads too large for an item.
    pub payload_bucket: String,
    /// The Scheduler group.
    pub schedule_group: String,
    /// The role Scheduler assumes to send to the transitions queue.
    pub scheduler_role_arn: String,
    /// Days after its close an execution's items and payloads expire; `None` (or 0): never.
    pub retention_days: Option<u32>,
    /// The invoker function, when Task calls are handed to it directly (Lambda's asynchronous
    /// invocation: no queue hop, see `queues::deliver_tasks`); `None`: through the tasks queue.
    pub invoker_function: Option<String>,
}

impl Names {
    /// Reads `STEPWISE_TABLE`, `STEPWISE_TRANSITIONS_QUEUE_URL`, `STEPWISE_TRANSITIONS_QUEUE_ARN`,
    /// `STEPWISE_TASKS_QUEUE_URL`, `STEPWISE_TIMERS_QUEUE_URL`, `STEPWISE_PAYLOAD_BUCKET`,
    /// `STEPWISE_SCHEDULE_GROUP`, `STEPWISE_SCHEDULER_ROLE_ARN`,
    /// `STEPWISE_SCHEDULER_DEAD_LETTER_QUEUE_ARN`, `STEPWISE_RETENTION_DAYS` (optional;
    /// absent or 0: keep everything) and `STEPWISE_INVOKER_FUNCTION` (optional: absent, Task
    /// calls go through the tasks queue).
    pub fn from_env() -> Result<Self, AwsError> {
        let get = |k: &'static str| std::env::var(k).map_err(|_| AwsError::Config(k));
        let retention_days = match std::env::var("STEPWISE_RETENTION_DAYS") {
            Ok(v) if !v.trim().is_empty() => Some(v.trim().parse::<u32>().map_err(|_| {
                AwsError::BadConfig(
                    "STEPWISE_RETENTION_DAYS",
                    format!("{v:?} is not a whole number of days"),
                )
            })?)
            .filter(|d| *d > 0),
            _ => None,
        };
        Ok(Names {
            retention_days,
            invoker_function: std::env::var("STEPWISE_INVOKER_FUNCTION")
                .ok()
                .filter(|f| !f.trim().is_empty()),
            table: get("STEPWISE_TABLE")?,
            transitions_queue_url: get("STEPWISE_TRANSITIONS_QUEUE_URL")?,
            transitions_queue_arn: get("STEPWISE_TRANSITIONS_QUEUE_ARN")?,
            tasks_queue_url: get("STEPWISE_TASKS_QUEUE_URL")?,
            timers_queue_url: get("STEPWISE_TIMERS_QUEUE_URL")?,
            scheduler_dead_letter_queue_arn: get("STEPWISE_SCHEDULER_DEAD_LETTER_QUEUE_ARN")?,
            payload_bucket: get("STEPWISE_PAYLOAD_BUCKET")?,
            schedule_group: get("STEPWISE_SCHEDULE_GROUP")?,
            scheduler_role_arn: get("STEPWISE_SCHEDULER_ROLE_ARN")?,
        })
    }
}

/// The AWS clients, built once per process (per Lambda container) and shared.
#[derive(Clone)]
pub struct Aws {
    /// Resource names.
    pub names: Arc<Names>,
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// EventBridge Scheduler.
    pub scheduler: aws_sdk_scheduler::Client,
    /// S3.
    pub s3: aws_sdk_s3::Client,
    /// Lambda: Task calls handed to the invoker function ([`Names::invoker_function`]).
    pub lambda: aws_sdk_lambda::Client,
    /// Where execution status change events go, when a bus is configured.
    pub status_events: Option<Arc<dyn StatusEventSink>>,
}

impl Aws {
    /// The same clients, Lambda's at `endpoint_url` (a Lambda-compatible server in tests).
    pub fn with_lambda_endpoint(
        mut self,
        config: &aws_config::SdkConfig,
        endpoint_url: &str,
    ) -> Self {
        self.lambda = aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::config::Builder::from(config)
                .endpoint_url(endpoint_url)
                .build(),
        );
        self
    }

    /// The same clients, announcing status changes to `sink`.
    pub fn with_status_events(mut self, sink: Arc<dyn StatusEventSink>) -> Self {
        self.status_events = Some(sink);
        self
    }
}

impl Aws {
    /// Clients from the default credential chain and region; endpoints follow
    /// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` as the SDK reads them.
    pub async fn from_env(names: Names) -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Aws::from_sdk_config(names, &config, None)
    }

    /// Clients from an SDK configuration; `dynamodb_endpoint` overrides DynamoDB's endpoint
    /// (DynamoDB Local beside moto's server in tests).
    pub fn from_sdk_config(
        names: Names,
        config: &aws_config::SdkConfig,
        dynamodb_endpoint: Option<&str>,
    ) -> Self {
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(config)
                .force_path_style(true)
                .build(),
        );
        let mut ddb = aws_sdk_dynamodb::config::Builder::from(config);
        if let Some(url) = dynamodb_endpoint {
            ddb = ddb.endpoint_url(url);
        }
        Aws {
            names: Arc::new(names),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(ddb.build()),
            sqs: aws_sdk_sqs::Client::new(config),
            scheduler: aws_sdk_scheduler::Client::new(config),
            s3,
            lambda: aws_sdk_lambda::Client::new(config),
            status_events: None,
        }
    }
}

/// A 128-bit key named by a text's content, for S3 objects that must never be replaced by
/// different content under the same key (and for claims).
pub(crate) fn content_key(text: &str) -> String {
    format!("{:016x}{:016x}", fnv64(&[text]), fnv64(&["content", text]))
}

pub use stepwise_ports::ids::fnv64;

mod activities;
pub mod api_driver;
mod api_keys;
pub mod api_store;
pub mod attempts;
mod chain;
pub mod commit;
pub mod handlers;
pub mod listing;
pub mod logs;
pub mod ports;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_keys_differ_by_content() {
        assert_eq!(content_key("a"), content_key("a"));
        assert_ne!(content_key("a"), content_key("b"));
        assert_eq!(content_key("a").len(), 32);
    }
}
