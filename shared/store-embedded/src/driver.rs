//! The in-process driver: applies events through the durable [`advance`], fires timers with
//! tokio, runs task invocations as spawned tasks, queues activity tasks, and picks everything up
//! again after a restart.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::Value;
use stepwise_engine::{Command, Event, Status};
use stepwise_ports::api::{
    ActivityTask, ApiStore, Driver, ExecutionMeta, PendingTimer, ResourceKind,
};
use stepwise_ports::execution::{Advanced, Dispatcher, StoreError, StoredExecution};
use stepwise_ports::status_events::{status_change, StatusEventSink};
use stepwise_ports::tasks::{TaskInvoker, TaskRequest};
use stepwise_ports::BoxFuture;
use stepwise_runtime::durable::{advance, start_created};
use stepwise_runtime::local::wall_clock_ms;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// How the driver behaves.
#[derive(Clone, Default)]
pub struct DriverOptions {
    /// Fire timers at once; the execution's clock jumps ahead so its timestamps read as if it
    /// had waited.
    pub skip_waits: bool,
    /// Where execution status change events go (an EventBridge bus), if anywhere.
    pub status_events: Option<Arc<dyn StatusEventSink>>,
}

impl std::fmt::Debug for DriverOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverOptions")
            .field("skip_waits", &self.skip_waits)
            .field("status_events", &self.status_events.is_some())
            .finish()
    }
}

/// Drives executions kept in `S` inside this process.
pub struct EmbeddedDriver<S: ApiStore + 'static> {
    store: Arc<S>,
    invoker: Arc<dyn TaskInvoker>,
    options: DriverOptions,
    me: Weak<Self>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    running: Mutex<HashMap<(String, u64), JoinHandle<()>>>,
    offsets: Mutex<HashMap<String, i64>>,
    ended: Notify,
    /// Who waits for one execution's end ([`Driver::wait_end_of`]).
    watchers: Mutex<HashMap<String, Arc<Notify>>>,
    activity: Notify,
}

impl<S: ApiStore + 'static> EmbeddedDriver<S> {
    /// A driver over `store` that invokes tasks with `invoker`.
    pub fn new(store: Arc<S>, invoker: Arc<dyn TaskInvoker>, options: DriverOptions) -> Arc<Self> {
        Arc::new_cyclic(|me| EmbeddedDriver {
            store,
            invoker,
            options,
            me: me.clone(),
            locks: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            offsets: Mutex::new(HashMap::new()),
            ended: Notify::new(),
            watchers: Mutex::new(HashMap::new()),
            activity: Notify::new(),
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    fn lock_for(&self, arn: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut m = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(arn.to_string()).or_default().clone()
    }

    fn wall_now(&self, arn: &str) -> i64 {
        let off = self
            .offsets
            .lock()
            .ok()
            .and_then(|m| m.get(arn).copied())
            .unwrap_or(0);
        wall_clock_ms() + off
    }

    async fn apply_inner(&self, arn: &str, event: Event) -> Result<Advanced, StoreError> {
        let lock = self.lock_for(arn);
        let _guard = lock.lock().await;
        let now = self.wall_now(arn);
        let r = advance(&*self.store, self, arn, event, now).await?;
        self.after_step(arn, &r);
        Ok(r)
    }

    /// An execution's step is committed: when it ended, whoever waits for its end hears.
    fn after_step(&self, arn: &str, r: &Advanced) {
        if let Advanced::Committed { running: false, .. } = r {
            self.ended.notify_waiters();
            let watcher = self.watchers.lock().ok().and_then(|mut m| m.remove(arn));
            if let Some(n) = watcher {
                n.notify_one();
            }
            if let Ok(mut m) = self.locks.lock() {
                m.remove(arn);
            }
        }
    }

    /// Picks up every running execution after a restart: starts those whose Start was never
    /// applied, dispatches outboxes left by a crash, re-arms pending timers and re-sends task
    /// invocations that were in flight.
    ///
    /// One execution that cannot be resumed (its record unreadable, say) is reported on stderr
    /// and left as it is; it never keeps the others, or the server, from starting.
    pub async fn recover(&self) -> Result<usize, StoreError> {
        let timers = self.store.timers().await?;
        let inflight = self.store.inflight().await?;
        let mut covered: HashSet<(String, u64)> = HashSet::new();
        let arns = self.store.running_executions().await?;
        for arn in &arns {
            if let Err(e) = self.recover_one(arn, &mut covered).await {
                eprintln!("stepwise: execution {arn} could not be resumed: {e}");
            }
        }
        for t in timers {
            if !covered.contains(&(t.execution_arn.clone(), t.timer)) {
                self.arm_timer(t.execution_arn, t.timer, t.at_ms);
            }
        }
        for (arn, cmd) in inflight {
            let Command::InvokeTask { task, .. } = &cmd else {
                continue;
            };
            if covered.contains(&(arn.clone(), *task)) {
                continue;
            }
            let resumed = match self.store.load(&arn).await {
                Ok(Some(ex)) if ex.state.status == Status::Running => {
                    self.spawn_invocation(&ex, &cmd);
                    Ok(())
                }
                Ok(Some(_)) => self.store.delete_inflight(&arn, *task).await,
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = resumed {
                eprintln!("stepwise: task {task} of execution {arn} could not be resumed: {e}");
            }
        }
        Ok(arns.len())
    }

    async fn recover_one(
        &self,
        arn: &str,
        covered: &mut HashSet<(String, u64)>,
    ) -> Result<(), StoreError> {
        let Some(ex) = self.store.load(arn).await? else {
            return Ok(());
        };
        if ex.version == 0 {
            if let Some(row) = self.store.execution_row(arn).await? {
                let input: Value = stepwise_engine::deep::from_str(&row.meta.input)
                    .map_err(|e| StoreError::Other(format!("stored input: {e}")))?;
                self.submit(arn, Event::Start { input });
            }
            return Ok(());
        }
        if !ex.outbox.is_empty() {
            for c in &ex.outbox {
                match c {
                    Command::InvokeTask { task, .. } => {
                        covered.insert((arn.to_string(), *task));
                    }
                    Command::StartTimer { timer, .. } => {
                        covered.insert((arn.to_string(), *timer));
                    }
                    _ => {}
                }
            }
            self.dispatch_all(&ex, &ex.outbox).await?;
            self.store.clear_outbox(arn, ex.version).await?;
        }
        Ok(())
    }

    fn arm_timer(&self, arn: String, timer: u64, at_ms: i64) {
        let Some(me) = self.me.upgrade() else {
            return;
        };
        let skip = self.options.skip_waits;
        tokio::spawn(async move {
            let now = me.wall_now(&arn);
            if skip {
                if at_ms > now {
                    if let Ok(mut m) = me.offsets.lock() {
                        *m.entry(arn.clone()).or_insert(0) += at_ms - now;
                    }
                }
            } else if at_ms > now {
                tokio::time::sleep(Duration::from_millis((at_ms - now) as u64)).await;
            }
            let _ = me.apply_inner(&arn, Event::TimerFired { timer }).await;
            let _ = me.store.delete_timer(&arn, timer).await;
        });
    }

    fn spawn_invocation(&self, ex: &StoredExecution, cmd: &Command) {
        let Command::InvokeTask {
            task,
            state_name,
            resource,
            parameters,
            task_token,
            ..
        } = cmd
        else {
            return;
        };
        let Some(me) = self.me.upgrade() else {
            return;
        };
        let req = TaskRequest {
            execution_arn: ex.arn.clone(),
            state_machine_name: ex.state.info.state_machine_name.clone(),
            state_name: state_name.clone(),
            resource: resource.clone(),
            parameters: parameters.clone(),
            test_case: ex.test_case.clone(),
            task_token: task_token.clone(),
            redrive_count: ex.state.info.redrive_count,
        };
        let arn = ex.arn.clone();
        let task = *task;
        let callback = task_token.is_some() && !self.invoker.answers_callback(&req);
        let token = task_token.clone();
        let key = (arn.clone(), task);
        let handle = tokio::spawn(async move {
            // A `.sync` job: its start is recorded (TaskSubmitted), then it is followed here.
            let invoker = me.invoker.clone();
            let r = stepwise_runtime::local::perform(invoker, req, |output| {
                let me = me.clone();
                let arn = arn.clone();
                async move {
                    let _ = me
                        .apply_inner(&arn, Event::TaskSubmitted { task, output })
                        .await;
                }
            })
            .await;
            let failed = r.is_err();
            let event = match r {
                Ok(output) if callback => Event::TaskSubmitted { task, output },
                Ok(output) => Event::TaskSucceeded { task, output },
                Err(f) => Event::TaskFailed {
                    task,
                    error: f.error,
                    cause: f.cause,
                },
            };
            let _ = me.apply_inner(&arn, event).await;
            if failed {
                if let Some(t) = &token {
                    let _ = me.store.close_token(t).await;
                }
            }
            let _ = me.store.delete_inflight(&arn, task).await;
            if let Ok(mut m) = me.running.lock() {
                m.remove(&(arn.clone(), task));
            }
        });
        if let Ok(mut m) = self.running.lock() {
            m.insert(key, handle);
        }
    }

    async fn dispatch_all(
        &self,
        ex: &StoredExecution,
        commands: &[Command],
    ) -> Result<(), StoreError> {
        for c in commands {
            match c {
                Command::InvokeTask {
                    task,
                    resource,
                    parameters,
                    task_token,
                    ..
                } => {
                    if let Some(t) = task_token {
                        self.store.put_token(t, &ex.arn, *task).await?;
                    }
                    // A Task on an activity that does not exist (deleted, or never created)
                    // fails its execution with States.Runtime, as AWS's does.
                    let missing = resource.is_activity()
                        && self
                            .store
                            .get_resource(ResourceKind::Activity, resource.arn())
                            .await?
                            .is_none();
                    if missing {
                        let event = Event::TaskFailed {
                            task: *task,
                            error: stepwise_asl::errors::RUNTIME.into(),
                            cause: format!("The activity {} does not exist.", resource.arn()),
                        };
                        self.submit(&ex.arn, event);
                    } else if resource.is_activity() {
                        let token = task_token.clone().unwrap_or_default();
                        let input = stepwise_engine::deep::to_string(parameters)
                            .map_err(|e| StoreError::Other(e.to_string()))?;
                        self.store
                            .push_activity_task(resource.arn(), &ActivityTask { token, input })
                            .await?;
                        self.activity.notify_waiters();
                    } else {
                        self.store.put_inflight(&ex.arn, c).await?;
                        self.spawn_invocation(ex, c);
                    }
                }
                Command::StartTimer { timer, at_ms } => {
                    self.store
                        .put_timer(&PendingTimer {
                            execution_arn: ex.arn.clone(),
                            timer: *timer,
                            at_ms: *at_ms,
                        })
                        .await?;
                    self.arm_timer(ex.arn.clone(), *timer, *at_ms);
                }
                Command::CancelTimer { timer } => {
                    self.store.delete_timer(&ex.arn, *timer).await?;
                }
                // Sent together below, in order.
                Command::PublishStatusChange { .. } => {}
                Command::CancelTask { task, task_token } => {
                    if let Some(t) = task_token {
                        self.store.close_token(t).await?;
                    }
                    self.store.delete_inflight(&ex.arn, *task).await?;
                    let h = self
                        .running
                        .lock()
                        .ok()
                        .and_then(|mut m| m.remove(&(ex.arn.clone(), *task)));
                    if let Some(h) = h {
                        h.abort();
                    }
                }
            }
        }
        if let Some(sink) = &self.options.status_events {
            let changes: Vec<_> = commands
                .iter()
                .filter_map(|c| match c {
                    Command::PublishStatusChange { status, at_ms } => {
                        Some(status_change(ex, *status, *at_ms))
                    }
                    _ => None,
                })
                .collect();
            if !changes.is_empty() {
                sink.publish(&changes).await?;
            }
        }
        Ok(())
    }
}

impl<S: ApiStore + 'static> Dispatcher for EmbeddedDriver<S> {
    fn dispatch<'a>(
        &'a self,
        execution: &'a StoredExecution,
        commands: &'a [Command],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.dispatch_all(execution, commands))
    }

    fn publishes_status_changes(&self) -> bool {
        self.options.status_events.is_some()
    }
}

impl<S: ApiStore + 'static> Driver for EmbeddedDriver<S> {
    fn apply<'a>(
        &'a self,
        execution_arn: &'a str,
        event: Event,
    ) -> BoxFuture<'a, Result<Advanced, StoreError>> {
        Box::pin(self.apply_inner(execution_arn, event))
    }

    fn submit(&self, execution_arn: &str, event: Event) {
        let Some(me) = self.me.upgrade() else {
            return;
        };
        let arn = execution_arn.to_string();
        tokio::spawn(async move {
            let _ = me.apply_inner(&arn, event).await;
        });
    }

    fn start_created<'a>(
        &'a self,
        created: StoredExecution,
        meta: &'a ExecutionMeta,
        event: Event,
    ) -> Result<BoxFuture<'a, Result<Advanced, StoreError>>, Box<(StoredExecution, Event)>> {
        Ok(Box::pin(async move {
            let arn = created.arn.clone();
            let lock = self.lock_for(&arn);
            let _guard = lock.lock().await;
            let now = self.wall_now(&arn);
            let r = start_created(&*self.store, self, created, meta, event, now).await?;
            self.after_step(&arn, &r);
            Ok(r)
        }))
    }

    fn wait_end<'a>(&'a self, execution_arn: &'a str, timeout_ms: u64) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);
            loop {
                let notified = self.ended.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                match self.store.execution_row(execution_arn).await {
                    Ok(Some(row)) if row.status == Status::Running.as_str() => {}
                    _ => return,
                }
                if tokio::time::timeout_at(deadline, notified).await.is_err() {
                    return;
                }
            }
        })
    }

    fn wait_end_of<'a>(&'a self, execution_arn: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            loop {
                // Registered before the status is read: an end in between leaves a permit.
                let n = match self.watchers.lock() {
                    Ok(mut m) => m.entry(execution_arn.to_string()).or_default().clone(),
                    Err(_) => return,
                };
                match self.store.execution_row(execution_arn).await {
                    Ok(Some(row)) if row.status == Status::Running.as_str() => {}
                    _ => {
                        if let Ok(mut m) = self.watchers.lock() {
                            m.remove(execution_arn);
                        }
                        return;
                    }
                }
                n.notified().await;
            }
        })
    }

    fn wait_activity<'a>(&'a self, _activity_arn: &'a str, timeout_ms: u64) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let _ =
                tokio::time::timeout(Duration::from_millis(timeout_ms), self.activity.notified())
                    .await;
        })
    }

    fn now_ms(&self, execution_arn: &str) -> i64 {
        self.wall_now(execution_arn)
    }
}
