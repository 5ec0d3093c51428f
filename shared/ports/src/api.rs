//! The ports the Step Functions API needs beside [`ExecutionStore`]: the control-plane records
//! (state machines, revisions, versions, aliases, activities, tags), execution listing and
//! history paging, task tokens, activity task queues, pending timers and in-flight task
//! invocations; and the [`Driver`] that applies events to executions.
//!
//! The embedded home implements them on SQLite (`stepwise-store-embedded`), the serverless home
//! on DynamoDB (`stepwise-store-aws`); every method is async so a networked store fits the same
//! shape.

use crate::execution::{Advanced, ExecutionStore, StoreError, StoredExecution};
use crate::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;
use stepwise_engine::{Command, Event, HistoryEvent};

/// The kinds of control-plane records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResourceKind {
    /// A state machine (its current configuration).
    StateMachine,
    /// One revision of a state machine's definition (kept while executions may run it).
    Revision,
    /// A published state machine version.
    Version,
    /// A state machine alias.
    Alias,
    /// An activity.
    Activity,
    /// The tags of a resource (keyed by the resource's ARN).
    Tags,
    /// A map run whose children are executions of their own (its counts; parent: the
    /// execution that started it).
    MapRun,
}

impl ResourceKind {
    /// The name used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::StateMachine => "stateMachine",
            ResourceKind::Revision => "revision",
            ResourceKind::Version => "version",
            ResourceKind::Alias => "alias",
            ResourceKind::Activity => "activity",
            ResourceKind::Tags => "tags",
            ResourceKind::MapRun => "mapRun",
        }
    }
}

/// One control-plane record: the API decides the body's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// What it is.
    pub kind: ResourceKind,
    /// Its ARN (unique per kind).
    pub arn: String,
    /// The record it belongs to (a version's or alias's state machine), if any.
    pub parent: Option<String>,
    /// The record.
    pub body: Value,
}

/// What an execution was started with, fixed at StartExecution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionMeta {
    /// The execution ARN.
    pub arn: String,
    /// The execution name.
    pub name: String,
    /// The state machine ARN (unqualified).
    pub state_machine_arn: String,
    /// The version ARN, when started through a version or an alias.
    pub version_arn: Option<String>,
    /// The alias ARN, when started through an alias.
    pub alias_arn: Option<String>,
    /// `STANDARD` or `EXPRESS`.
    pub kind: String,
    /// The input text as given.
    pub input: String,
    /// Start time, milliseconds since the Unix epoch.
    pub start_ms: i64,
    /// The execution's trace header, if given.
    #[serde(default)]
    pub trace_header: Option<String>,
    /// The map run that started it, for a distributed Map's child execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_run_arn: Option<String>,
}

/// An execution as listings see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionRow {
    /// What it was started with.
    pub meta: ExecutionMeta,
    /// `RUNNING`, `SUCCEEDED`, ...
    pub status: String,
    /// When it ended.
    pub stop_ms: Option<i64>,
    /// How many times it was redriven.
    pub redrive_count: u32,
}

/// Which executions a listing wants.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    /// Of this state machine.
    pub state_machine_arn: Option<String>,
    /// Started through this version.
    pub version_arn: Option<String>,
    /// Started through this alias.
    pub alias_arn: Option<String>,
    /// With this status.
    pub status: Option<String>,
    /// Redriven at least once (`Some(true)`, ListExecutions' `REDRIVEN`) or never
    /// (`Some(false)`, `NOT_REDRIVEN`).
    pub redriven: Option<bool>,
    /// Started by this map run.
    pub map_run_arn: Option<String>,
}

/// A task token's record.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    /// The execution it belongs to.
    pub execution_arn: String,
    /// The task's wait id in that execution.
    pub task: u64,
    /// The task ended (succeeded, failed, timed out, was cancelled).
    pub closed: bool,
}

/// An activity task waiting for a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityTask {
    /// Its task token.
    pub token: String,
    /// Its input, as JSON text.
    pub input: String,
}

/// A timer waiting to fire.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingTimer {
    /// The execution.
    pub execution_arn: String,
    /// The timer's wait id.
    pub timer: u64,
    /// When, milliseconds since the Unix epoch.
    pub at_ms: i64,
}

/// The store behind the API: [`ExecutionStore`] plus everything the control plane keeps.
pub trait ApiStore: ExecutionStore {
    /// Writes a record; with `create_only`, fails with [`StoreError::Conflict`] when one with this
    /// kind and ARN exists.
    fn put_resource(
        &self,
        resource: &Resource,
        create_only: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Writes a record only if the stored one's body has `"version": expected` (0: there is
    /// none), failing with [`StoreError::Conflict`] otherwise: a record some process owns for a
    /// while (a map run's cursor, [`Resource::body`] carrying its own `"version"`). Stores that
    /// serve one process may check and write in two steps, as this default does.
    fn put_resource_if(
        &self,
        resource: &Resource,
        expected: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send
    where
        Self: Sync,
    {
        async move {
            let stored = self.get_resource(resource.kind, &resource.arn).await?;
            let version = stored
                .as_ref()
                .and_then(|r| r.body.get("version"))
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
            if version != expected {
                return Err(StoreError::Conflict(resource.arn.clone()));
            }
            self.put_resource(resource, false).await
        }
    }
    /// A record by kind and ARN.
    fn get_resource(
        &self,
        kind: ResourceKind,
        arn: &str,
    ) -> impl Future<Output = Result<Option<Resource>, StoreError>> + Send;
    /// What `read` takes from a record, the record read in place: a store that keeps records
    /// in memory lends it instead of copying it (a state machine's record holds its whole
    /// definition, and StartExecution reads two records for a few fields).
    fn read_resource_with<T: Send>(
        &self,
        kind: ResourceKind,
        arn: &str,
        read: impl FnOnce(&Resource) -> T + Send,
    ) -> impl Future<Output = Result<Option<T>, StoreError>> + Send {
        async move { Ok(self.get_resource(kind, arn).await?.as_ref().map(read)) }
    }
    /// Deletes a record; true when there was one.
    fn delete_resource(
        &self,
        kind: ResourceKind,
        arn: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records of a kind (of one parent, when given), in creation order.
    fn list_resources(
        &self,
        kind: ResourceKind,
        parent: Option<&str>,
    ) -> impl Future<Output = Result<Vec<Resource>, StoreError>> + Send;
    /// Creates an execution (version 0, its Start not applied yet); [`StoreError::Conflict`] when
    /// one with this ARN exists.
    fn create_execution(
        &self,
        execution: &StoredExecution,
        meta: &ExecutionMeta,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Creates an execution together with its first step, all or nothing: `next` (version 1)
    /// and the step's `history`, committed from `created` (version 0); `Ok(true)` then.
    /// [`StoreError::Conflict`] when one with this ARN exists. A store that cannot write both
    /// at once creates `created` alone, as [`Self::create_execution`] (this default), and says
    /// `Ok(false)`: the caller applies the first step as any other.
    fn create_committed(
        &self,
        created: &StoredExecution,
        meta: &ExecutionMeta,
        next: &StoredExecution,
        history: &[HistoryEvent],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let _ = (next, history);
        let created = self.create_execution(created, meta);
        async move { created.await.map(|()| false) }
    }
    /// An execution's listing row and its checkpoint, as DescribeExecution reads them; `None`
    /// when either is missing. A store that can read both at once does (this default reads
    /// one after the other).
    fn execution_with_row(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<(ExecutionRow, StoredExecution)>, StoreError>> + Send
    {
        async move {
            let Some(row) = self.execution_row(arn).await? else {
                return Ok(None);
            };
            Ok(self.load(arn).await?.map(|ex| (row, ex)))
        }
    }
    /// An execution's listing row.
    fn execution_row(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<ExecutionRow>, StoreError>> + Send;
    /// Executions, newest first: `offset` rows skipped, at most `limit`.
    fn list_executions(
        &self,
        filter: &ExecutionFilter,
        offset: usize,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ExecutionRow>, StoreError>> + Send;
    /// History events with ids after `after` (ascending) or before `before` (descending when
    /// `reverse`), at most `limit`.
    fn history(
        &self,
        arn: &str,
        after: u64,
        reverse: bool,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<HistoryEvent>, StoreError>> + Send;
    /// Records a task token.
    fn put_token(
        &self,
        token: &str,
        execution_arn: &str,
        task: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A task token's record.
    fn token(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<TokenRecord>, StoreError>> + Send;
    /// Marks a task token's task ended.
    fn close_token(&self, token: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Queues an activity task.
    fn push_activity_task(
        &self,
        activity_arn: &str,
        task: &ActivityTask,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Claims the oldest activity task whose token is still open: no other poll gets it while
    /// the claim holds. The poll that claimed it then calls [`Self::activity_task_delivered`]
    /// once its answer is going out, or [`Self::release_activity_task`] when nobody is left to
    /// answer; a claim whose poller died lapses (stores with a lease), so the task is offered
    /// again rather than lost.
    fn take_activity_task(
        &self,
        activity_arn: &str,
    ) -> impl Future<Output = Result<Option<ActivityTask>, StoreError>> + Send;
    /// Forgets a claimed task: the poll that claimed it answers with it.
    fn activity_task_delivered(
        &self,
        activity_arn: &str,
        task: &ActivityTask,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Offers a claimed task to the next poll again.
    fn release_activity_task(
        &self,
        activity_arn: &str,
        task: &ActivityTask,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Executions that are running (for recovery after a restart).
    fn running_executions(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Records a pending timer.
    fn put_timer(
        &self,
        timer: &PendingTimer,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Forgets a timer.
    fn delete_timer(
        &self,
        execution_arn: &str,
        timer: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every pending timer.
    fn timers(&self) -> impl Future<Output = Result<Vec<PendingTimer>, StoreError>> + Send;
    /// Records a task invocation in flight.
    fn put_inflight(
        &self,
        execution_arn: &str,
        command: &Command,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Forgets a task invocation.
    fn delete_inflight(
        &self,
        execution_arn: &str,
        task: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every task invocation in flight.
    fn inflight(&self) -> impl Future<Output = Result<Vec<(String, Command)>, StoreError>> + Send;
}

/// Applies events to executions and tells when they end: the runtime side the API drives.
pub trait Driver: Send + Sync {
    /// Applies an event now and returns once it is committed.
    fn apply<'a>(
        &'a self,
        execution_arn: &'a str,
        event: Event,
    ) -> BoxFuture<'a, Result<Advanced, StoreError>>;
    /// Applies an event in the background.
    fn submit(&self, execution_arn: &str, event: Event);
    /// Starts an execution the caller has built (version 0) but not stored: creates it with its
    /// first step applied ([`ApiStore::create_committed`]) and returns once that is committed;
    /// [`StoreError::Conflict`] when one with this ARN exists. A driver that does not (this
    /// default) gives them back: the caller creates the execution, then submits `event`.
    #[allow(clippy::type_complexity)]
    fn start_created<'a>(
        &'a self,
        created: StoredExecution,
        meta: &'a ExecutionMeta,
        event: Event,
    ) -> Result<BoxFuture<'a, Result<Advanced, StoreError>>, Box<(StoredExecution, Event)>> {
        let _ = meta;
        Err(Box::new((created, event)))
    }
    /// Resolves once the execution is no longer running (or after `timeout_ms`).
    fn wait_end<'a>(&'a self, execution_arn: &'a str, timeout_ms: u64) -> BoxFuture<'a, ()>;
    /// Resolves once the execution is no longer running, woken by its own end only (a map run
    /// waits for many children at once). The default is [`Self::wait_end`] for a day.
    fn wait_end_of<'a>(&'a self, execution_arn: &'a str) -> BoxFuture<'a, ()> {
        self.wait_end(execution_arn, 86_400_000)
    }
    /// Resolves when an activity task may have been queued for `activity_arn` (or after
    /// `timeout_ms`).
    fn wait_activity<'a>(&'a self, activity_arn: &'a str, timeout_ms: u64) -> BoxFuture<'a, ()>;
    /// The time of an event for this execution now (its clock may run ahead with skipped
    /// waits), milliseconds since the Unix epoch.
    fn now_ms(&self, execution_arn: &str) -> i64;
}
