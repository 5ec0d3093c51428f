//! The durable driver both homes share: `advance(execution, event)` = load the checkpoint, run
//! the engine's [`step`], commit the new checkpoint, its history events and its outbox of commands
//! in one conditional write, then dispatch the commands and clear the outbox.
//!
//! Exactly-once transitions on at-least-once delivery: the commit is conditioned on the version
//! read, a redelivered event finds the wait it answers no longer outstanding (the engine ignores
//! it), and an outbox left behind by a crash between commit and dispatch is dispatched by the
//! next `advance` of that execution before anything else.
//!
//! The ports are [`ExecutionStore`] (checkpoints, history, definitions) and [`Dispatcher`]
//! (tasks, timers); SQLite and an in-process queue implement them embedded, DynamoDB, SQS and
//! EventBridge Scheduler serverless.

use crate::tasks::BoxFuture;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use stepwise_asl::model::Definition;
use stepwise_engine::{step, Command, Event, ExecutionState, HistoryEvent};

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
}

/// Requests an execution made on the services that run it, for the cost meter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Usage {
    /// DynamoDB read request units (4 KB strongly consistent reads).
    pub dynamodb_read_units: f64,
    /// DynamoDB write request units (1 KB writes).
    pub dynamodb_write_units: f64,
    /// DynamoDB requests (for reference; units are what is billed).
    pub dynamodb_requests: u64,
    /// SQS requests on FIFO queues (64 KB chunks).
    pub sqs_fifo_requests: u64,
    /// SQS requests on standard queues (64 KB chunks).
    pub sqs_standard_requests: u64,
    /// EventBridge Scheduler schedules created (each fires once).
    pub schedules: u64,
    /// Invocations of Stepwise's own Lambda functions.
    pub lambda_invocations: u64,
    /// Their duration in GB-seconds (arm64).
    pub lambda_gb_seconds: f64,
    /// Invocations of task Lambda functions (billed to the user's functions, listed apart).
    pub task_invocations: u64,
    /// S3 PUT requests.
    pub s3_puts: u64,
    /// S3 GET requests.
    pub s3_gets: u64,
    /// State transitions (states entered): what Step Functions Standard bills.
    pub transitions: u64,
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
        self.s3_puts += o.s3_puts;
        self.s3_gets += o.s3_gets;
        self.transitions += o.transitions;
    }

    /// The cost in US dollars at `p`.
    pub fn cost(&self, p: &Prices) -> f64 {
        self.dynamodb_read_units * p.dynamodb_read_unit
            + self.dynamodb_write_units * p.dynamodb_write_unit
            + self.sqs_fifo_requests as f64 * p.sqs_fifo_request
            + self.sqs_standard_requests as f64 * p.sqs_standard_request
            + self.schedules as f64 * p.scheduler_invocation
            + self.lambda_invocations as f64 * p.lambda_request
            + self.lambda_gb_seconds * p.lambda_gb_second
            + self.s3_puts as f64 * p.s3_put
            + self.s3_gets as f64 * p.s3_get
    }

    /// What AWS Step Functions Standard would charge for the same transitions.
    pub fn step_functions_cost(&self, p: &Prices) -> f64 {
        self.transitions as f64 * p.step_functions_transition
    }
}

/// Public on-demand prices in us-east-1, in US dollars per unit (list prices as published in
/// 2025; override them when yours differ).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    /// Per DynamoDB on-demand read request unit ($0.125 per million).
    pub dynamodb_read_unit: f64,
    /// Per DynamoDB on-demand write request unit ($0.625 per million).
    pub dynamodb_write_unit: f64,
    /// Per SQS FIFO request ($0.50 per million).
    pub sqs_fifo_request: f64,
    /// Per SQS standard request ($0.40 per million).
    pub sqs_standard_request: f64,
    /// Per EventBridge Scheduler invocation ($1.00 per million).
    pub scheduler_invocation: f64,
    /// Per Lambda request ($0.20 per million).
    pub lambda_request: f64,
    /// Per Lambda GB-second on arm64 ($0.0000133334).
    pub lambda_gb_second: f64,
    /// Per S3 PUT ($0.005 per thousand).
    pub s3_put: f64,
    /// Per S3 GET ($0.0004 per thousand).
    pub s3_get: f64,
    /// Per Step Functions Standard state transition ($25 per million).
    pub step_functions_transition: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            dynamodb_read_unit: 0.125e-6,
            dynamodb_write_unit: 0.625e-6,
            sqs_fifo_request: 0.50e-6,
            sqs_standard_request: 0.40e-6,
            scheduler_invocation: 1.00e-6,
            lambda_request: 0.20e-6,
            lambda_gb_second: 0.000_013_333_4,
            s3_put: 0.005e-3,
            s3_get: 0.0004e-3,
            step_functions_transition: 25e-6,
        }
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
}

/// What [`advance`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Advanced {
    /// The event was applied and committed as this version.
    Committed {
        /// The new version.
        version: u64,
        /// History events added.
        events: usize,
    },
    /// The event changed nothing (a duplicate, a late timer, an ended execution).
    Ignored,
    /// There is no such execution.
    Unknown,
}

/// How many times [`advance`] retries a lost conditional write before giving up.
const MAX_CONFLICTS: u32 = 8;

/// Applies one event to an execution: load, step, commit (conditional), dispatch, clear outbox.
pub async fn advance(
    store: &dyn ExecutionStore,
    dispatcher: &dyn Dispatcher,
    arn: &str,
    event: Event,
    now_ms: i64,
) -> Result<Advanced, StoreError> {
    let mut conflicts = 0;
    loop {
        let Some(current) = store.load(arn).await? else {
            return Ok(Advanced::Unknown);
        };
        // A crash between an earlier commit and its dispatch left commands behind: send them now.
        if !current.outbox.is_empty() {
            dispatcher.dispatch(&current, &current.outbox).await?;
            store.clear_outbox(arn, current.version).await?;
        }
        let def = store
            .definition(&current.state_machine_arn, current.revision)
            .await?;
        let before = current.state.transitions;
        let tr = step(&def, current.state.clone(), now_ms, event.clone());
        if tr.history.is_empty() && tr.commands.is_empty() {
            return Ok(Advanced::Ignored);
        }
        let mut next = StoredExecution {
            state: tr.state,
            version: current.version + 1,
            outbox: tr.commands,
            ..current.clone()
        };
        let mut usage = store.take_usage();
        usage.transitions = next.state.transitions - before;
        next.usage.add(&usage);
        match store.commit(&next, current.version, &tr.history).await {
            Ok(()) => {
                if !next.outbox.is_empty() {
                    dispatcher.dispatch(&next, &next.outbox).await?;
                    store.clear_outbox(arn, next.version).await?;
                }
                return Ok(Advanced::Committed {
                    version: next.version,
                    events: tr.history.len(),
                });
            }
            Err(StoreError::Conflict(_)) if conflicts < MAX_CONFLICTS => conflicts += 1,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::Mutex;
    use stepwise_engine::ExecutionInfo;

    /// An in-memory store for the driver's unit tests.
    #[derive(Default)]
    struct Memory {
        executions: Mutex<HashMap<String, StoredExecution>>,
        history: Mutex<Vec<HistoryEvent>>,
        def: Mutex<Option<Arc<Definition>>>,
        fail_next_commit: Mutex<bool>,
    }

    impl ExecutionStore for Memory {
        fn load<'a>(
            &'a self,
            arn: &'a str,
        ) -> BoxFuture<'a, Result<Option<StoredExecution>, StoreError>> {
            Box::pin(async move { Ok(self.executions.lock().expect("lock").get(arn).cloned()) })
        }
        fn commit<'a>(
            &'a self,
            next: &'a StoredExecution,
            expected: u64,
            history: &'a [HistoryEvent],
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            Box::pin(async move {
                let mut m = self.executions.lock().expect("lock");
                let seen = m.get(&next.arn).map(|e| e.version);
                if seen != Some(expected)
                    || std::mem::take(&mut *self.fail_next_commit.lock().expect("lock"))
                {
                    return Err(StoreError::Conflict(next.arn.clone()));
                }
                m.insert(next.arn.clone(), next.clone());
                self.history
                    .lock()
                    .expect("lock")
                    .extend_from_slice(history);
                Ok(())
            })
        }
        fn clear_outbox<'a>(
            &'a self,
            arn: &'a str,
            version: u64,
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            Box::pin(async move {
                if let Some(e) = self.executions.lock().expect("lock").get_mut(arn) {
                    if e.version == version {
                        e.outbox.clear();
                    }
                }
                Ok(())
            })
        }
        fn definition<'a>(
            &'a self,
            arn: &'a str,
            _revision: u64,
        ) -> BoxFuture<'a, Result<Arc<Definition>, StoreError>> {
            Box::pin(async move {
                self.def
                    .lock()
                    .expect("lock")
                    .clone()
                    .ok_or_else(|| StoreError::NotFound(arn.to_string()))
            })
        }
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Command>>);

    impl Dispatcher for Recorder {
        fn dispatch<'a>(
            &'a self,
            _e: &'a StoredExecution,
            commands: &'a [Command],
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            Box::pin(async move {
                self.0.lock().expect("lock").extend_from_slice(commands);
                Ok(())
            })
        }
    }

    fn setup() -> (Memory, String) {
        let def = Definition::from_json(
            r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Next":"W"},
                "W":{"Type":"Wait","Seconds":5,"End":true}}}"#,
        )
        .expect("valid");
        let arn = "arn:aws:states:us-east-1:123456789012:execution:m:e".to_string();
        let info = ExecutionInfo {
            execution_arn: arn.clone(),
            name: "e".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
            state_machine_name: "m".into(),
            role_arn: "r".into(),
            start_time_ms: 0,
            redrive_count: 0,
            seed: 3,
        };
        let m = Memory::default();
        *m.def.lock().expect("lock") = Some(Arc::new(def));
        m.executions.lock().expect("lock").insert(
            arn.clone(),
            StoredExecution {
                arn: arn.clone(),
                state_machine_arn: info.state_machine_arn.clone(),
                revision: 1,
                state: ExecutionState::new(info),
                version: 0,
                outbox: Vec::new(),
                test_case: None,
                usage: Usage::default(),
            },
        );
        (m, arn)
    }

    #[tokio::test]
    async fn duplicate_events_are_applied_once() {
        let (store, arn) = setup();
        let d = Recorder::default();
        let start = Event::Start { input: json!({}) };
        assert!(matches!(
            advance(&store, &d, &arn, start.clone(), 0).await,
            Ok(Advanced::Committed { version: 1, .. })
        ));
        assert_eq!(
            advance(&store, &d, &arn, start, 0).await.ok(),
            Some(Advanced::Ignored)
        );
        let task = d.0.lock().expect("lock").iter().find_map(|c| match c {
            Command::InvokeTask { task, .. } => Some(*task),
            _ => None,
        });
        let done = Event::TaskSucceeded {
            task: task.expect("invoked"),
            output: json!(1),
        };
        assert!(matches!(
            advance(&store, &d, &arn, done.clone(), 1).await,
            Ok(Advanced::Committed { .. })
        ));
        assert_eq!(
            advance(&store, &d, &arn, done, 1).await.ok(),
            Some(Advanced::Ignored)
        );
        let ids: Vec<u64> = store
            .history
            .lock()
            .expect("lock")
            .iter()
            .map(|h| h.id)
            .collect();
        assert_eq!(
            ids,
            (1..=ids.len() as u64).collect::<Vec<_>>(),
            "no gap, no duplicate"
        );
    }

    #[tokio::test]
    async fn a_lost_commit_is_retried_and_a_left_outbox_is_dispatched_first() {
        let (store, arn) = setup();
        let d = Recorder::default();
        *store.fail_next_commit.lock().expect("lock") = true;
        assert!(matches!(
            advance(&store, &d, &arn, Event::Start { input: json!({}) }, 0).await,
            Ok(Advanced::Committed { .. })
        ));
        // Simulate a crash after commit, before dispatch: put the commands back in the outbox.
        let sent: Vec<Command> = std::mem::take(&mut *d.0.lock().expect("lock"));
        store
            .executions
            .lock()
            .expect("lock")
            .get_mut(&arn)
            .expect("exists")
            .outbox = sent.clone();
        let _ = advance(&store, &d, &arn, Event::TimerFired { timer: 999 }, 1).await;
        assert_eq!(*d.0.lock().expect("lock"), sent);
    }
}
