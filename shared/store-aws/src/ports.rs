//! The runtime's ports on AWS: [`AwsStore`] keeps executions in DynamoDB (and S3), [`AwsDispatcher`]
//! sends Task calls to the tasks queue and timers to SQS or EventBridge Scheduler.

use crate::meter::Meter;
use crate::queues::{self, TaskMessage};
use crate::table::Table;
use crate::{timers, Aws, AwsError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use stepwise_asl::model::Definition;
use stepwise_engine::{Command, HistoryEvent};
use stepwise_ports::execution::{Dispatcher, ExecutionStore, StoreError, StoredExecution, Usage};
use stepwise_ports::status_events::{status_change, StatusChange};
use stepwise_ports::BoxFuture;

pub(crate) fn store_error(e: AwsError) -> StoreError {
    match e {
        AwsError::Conflict(arn) => StoreError::Conflict(arn),
        other => StoreError::Other(other.to_string()),
    }
}

/// Executions, history and definitions in the DynamoDB table.
pub struct AwsStore {
    aws: Aws,
    meter: Arc<Meter>,
    /// Definitions never change for a revision: keep them for the life of the container.
    definitions: Mutex<HashMap<(String, u64), Arc<Definition>>>,
    /// Activity tasks this process claimed and has not delivered or released: token -> sort key.
    pub(crate) activity_claims: Mutex<HashMap<String, String>>,
}

impl AwsStore {
    /// A store over `aws`, counting on `meter`.
    pub fn new(aws: Aws, meter: Arc<Meter>) -> Self {
        AwsStore {
            aws,
            meter,
            definitions: Mutex::new(HashMap::new()),
            activity_claims: Mutex::new(HashMap::new()),
        }
    }

    /// The table, for operations beyond the port (creating executions, history pages).
    pub fn table(&self) -> Table<'_> {
        Table::new(&self.aws, &self.meter)
    }

    /// The AWS clients.
    pub fn aws(&self) -> &Aws {
        &self.aws
    }

    /// The request meter.
    pub fn meter(&self) -> &Arc<Meter> {
        &self.meter
    }
}

impl ExecutionStore for AwsStore {
    fn load<'a>(
        &'a self,
        arn: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredExecution>, StoreError>> {
        Box::pin(async move { self.table().load_execution(arn).await.map_err(store_error) })
    }

    fn commit<'a>(
        &'a self,
        next: &'a StoredExecution,
        expected_version: u64,
        history: &'a [HistoryEvent],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.table()
                .commit(next, expected_version, history)
                .await
                .map_err(store_error)
        })
    }

    fn clear_outbox<'a>(
        &'a self,
        arn: &'a str,
        version: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.table()
                .clear_outbox(arn, version)
                .await
                .map_err(store_error)
        })
    }

    fn definition<'a>(
        &'a self,
        arn: &'a str,
        revision: u64,
    ) -> BoxFuture<'a, Result<Arc<Definition>, StoreError>> {
        Box::pin(async move {
            let key = (arn.to_string(), revision);
            if let Some(d) = self
                .definitions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
            {
                return Ok(d.clone());
            }
            let text = self
                .table()
                .get_definition(arn, revision)
                .await
                .map_err(store_error)?
                .ok_or_else(|| StoreError::NotFound(format!("{arn} revision {revision}")))?;
            let def = Arc::new(
                Definition::from_json(&text)
                    .map_err(|e| StoreError::BadDefinition(arn.to_string(), e.to_string()))?,
            );
            self.definitions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, def.clone());
            Ok(def)
        })
    }

    fn take_usage(&self) -> Usage {
        self.meter.take()
    }
}

/// Sends the engine's commands out: Task calls to the tasks queue, short timers to the timers
/// queue, long timers to EventBridge Scheduler (and deletes their schedules when cancelled).
pub struct AwsDispatcher {
    aws: Aws,
    meter: Arc<Meter>,
}

impl AwsDispatcher {
    /// A dispatcher over `aws`, counting on `meter`.
    pub fn new(aws: Aws, meter: Arc<Meter>) -> Self {
        AwsDispatcher { aws, meter }
    }
}

fn now_ms() -> i64 {
    stepwise_runtime::local::wall_clock_ms()
}

impl Dispatcher for AwsDispatcher {
    fn dispatch<'a>(
        &'a self,
        execution: &'a StoredExecution,
        commands: &'a [Command],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        // Every line logged while dispatching carries the execution's ARN (the api and trigger
        // functions dispatch their commits here too).
        let span = tracing::info_span!("dispatch", execution_arn = %execution.arn);
        Box::pin(tracing::Instrument::instrument(
            async move {
                let table = Table::new(&self.aws, &self.meter);
                // Task calls in a row go out together (see `queues::deliver_tasks`), before the
                // next command of another kind: commands are sent in order.
                let mut calls: Vec<TaskMessage> = Vec::new();
                for c in commands {
                    if !matches!(c, Command::InvokeTask { .. }) && !calls.is_empty() {
                        Box::pin(queues::deliver_tasks(&self.aws, &self.meter, &calls))
                            .await
                            .map_err(store_error)?;
                        calls.clear();
                    }
                    match c {
                        Command::InvokeTask {
                            task, task_token, ..
                        } => {
                            if let Some(token) = task_token {
                                table
                                    .put_token(token, &execution.arn, *task)
                                    .await
                                    .map_err(store_error)?;
                            }
                            calls.push(TaskMessage::call(execution, c));
                        }
                        Command::StartTimer { timer, at_ms } => {
                            timers::start(
                                &self.aws,
                                &self.meter,
                                &execution.arn,
                                *timer,
                                *at_ms,
                                now_ms(),
                            )
                            .await
                            .map_err(store_error)?;
                        }
                        // A cancelled task's token no longer answers SendTask* and its activity
                        // task is no longer handed out.
                        Command::CancelTask {
                            task_token: Some(token),
                            ..
                        } => {
                            table.close_token(token).await.map_err(store_error)?;
                        }
                        // A long timer's schedule would fire for nothing (and be billed): delete it.
                        Command::CancelTimer { timer } => {
                            timers::cancel(&self.aws, &execution.arn, *timer)
                                .await
                                .map_err(store_error)?;
                        }
                        // A task result that arrives after its wait ended is ignored by the engine.
                        Command::CancelTask { .. } => {}
                        // Published below, in one PutEvents.
                        Command::PublishStatusChange { .. } => {}
                    }
                }
                Box::pin(queues::deliver_tasks(&self.aws, &self.meter, &calls))
                    .await
                    .map_err(store_error)?;
                // The step's status changes, in order, in one PutEvents.
                let changes: Vec<StatusChange> = commands
                    .iter()
                    .filter_map(|c| match c {
                        Command::PublishStatusChange { status, at_ms } => {
                            Some(status_change(execution, *status, *at_ms))
                        }
                        _ => None,
                    })
                    .collect();
                if let (Some(sink), false) = (&self.aws.status_events, changes.is_empty()) {
                    sink.publish(&changes).await?;
                }
                // The dashboard's Executions metric counts these lines (a metric filter on
                // `message` with the dimension `status`): after the events went out.
                for c in commands {
                    if let Command::PublishStatusChange { status, .. } = c {
                        tracing::info!(status = status.as_str(), "execution status changed");
                    }
                }
                Ok(())
            },
            span,
        ))
    }

    fn publishes_status_changes(&self) -> bool {
        self.aws.status_events.is_some()
    }

    // A task call sent again finds its attempt recorded and is not called twice
    // ([`crate::attempts`]); a timer fired twice is ignored by the engine; token records are
    // written once.
    fn redispatch_is_harmless(&self) -> bool {
        true
    }
}
