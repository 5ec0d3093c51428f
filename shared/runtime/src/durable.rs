//! The durable driver both homes share: `advance(execution, event)` = load the checkpoint, run
//! the engine's [`step`], commit the new checkpoint, its history events and its outbox of commands
//! in one conditional write, then dispatch the commands and clear the outbox.
//!
//! Exactly-once transitions on at-least-once delivery: the commit is conditioned on the version
//! read, a redelivered event finds the wait it answers no longer outstanding (the engine ignores
//! it), and an outbox left behind by a crash between commit and dispatch is dispatched by the
//! next `advance` of that execution before anything else.
//!
//! The ports (`stepwise-ports`) are [`ExecutionStore`] (checkpoints, history, definitions) and
//! [`Dispatcher`] (tasks, timers); SQLite and an in-process queue implement them embedded, DynamoDB, SQS and
//! EventBridge Scheduler serverless.

use stepwise_asl::model::Definition;
use stepwise_engine::{step, Command, Event, ExecutionState, HistoryEvent};
use stepwise_ports::api::{ApiStore, ExecutionMeta};
use stepwise_ports::execution::{
    Advanced, Dispatcher, ExecutionStore, StoreError, StoredExecution,
};
use stepwise_ports::status_events::{announced, status_of_event};

/// How many times [`advance`] retries a lost conditional write before giving up.
const MAX_CONFLICTS: u32 = 8;

/// Applies one event to an execution: load, step, commit (conditional), dispatch, clear outbox.
/// For the one applier of an execution's events in order (its queue's consumer): an outbox an
/// earlier step left behind is dispatched first.
pub async fn advance(
    store: &dyn ExecutionStore,
    dispatcher: &dyn Dispatcher,
    arn: &str,
    event: Event,
    now_ms: i64,
) -> Result<Advanced, StoreError> {
    advance_with(store, dispatcher, arn, event, now_ms, false).await
}

/// [`advance`] for an applier beside the execution's queue (a task's invoker, the API): an
/// outbox an earlier step left behind is not dispatched here but returns
/// [`Advanced::Deferred`], and the caller sends the event to the queue. Such an outbox is most
/// often still being dispatched by the invocation that committed it (a Map's fan-out of a
/// thousand task calls takes seconds), and every task answer applied inline meanwhile would
/// send it all again. Except an outbox of one task call or timer (left in place on purpose, see
/// [`left_in_place`]): sending one command again is cheaper than a queue hop.
pub async fn advance_inline(
    store: &dyn ExecutionStore,
    dispatcher: &dyn Dispatcher,
    arn: &str,
    event: Event,
    now_ms: i64,
) -> Result<Advanced, StoreError> {
    advance_with(store, dispatcher, arn, event, now_ms, true).await
}

/// Starts an execution its caller holds but has not stored yet (`stepwise serve`'s
/// StartExecution): its first step is taken from `created` (version 0) and written with its
/// creation, one write where creating, reading it back and committing the step took three
/// ([`ApiStore::create_committed`]). [`StoreError::Conflict`] when an execution with this ARN
/// exists (nothing is written then).
pub async fn start_created<S: ApiStore>(
    store: &S,
    dispatcher: &dyn Dispatcher,
    created: StoredExecution,
    meta: &ExecutionMeta,
    event: Event,
    now_ms: i64,
) -> Result<Advanced, StoreError> {
    let def = store
        .definition(&created.state_machine_arn, created.revision)
        .await?;
    // The checkpoint as created and the event, for a store that writes the creation and the
    // step apart: an initial state is small (its input is the most of it).
    let (initial, again) = (created.clone(), event.clone());
    let Some(stepped) = take_step(store, dispatcher, created, &def, event, now_ms) else {
        store.create_execution(&initial, meta).await?;
        return Ok(Advanced::Ignored);
    };
    if store
        .create_committed(&initial, meta, &stepped.next, &stepped.history)
        .await?
    {
        return after_commit(store, dispatcher, &stepped).await;
    }
    // Created alone: the first step is applied as any other.
    advance(store, dispatcher, &initial.arn, again, now_ms).await
}

async fn advance_with(
    store: &dyn ExecutionStore,
    dispatcher: &dyn Dispatcher,
    arn: &str,
    event: Event,
    now_ms: i64,
    inline: bool,
) -> Result<Advanced, StoreError> {
    let mut conflicts = 0;
    loop {
        let Some(current) = store.load(arn).await? else {
            return Ok(Advanced::Unknown);
        };
        // A crash between an earlier commit and its dispatch left commands behind: send them now
        // (unless this event shows they were sent: an outbox left in place on purpose).
        if !current.outbox.is_empty() && !shows_dispatched(&current.outbox, &event) {
            if inline && !left_in_place(&current.outbox) {
                return Ok(Advanced::Deferred);
            }
            dispatcher.dispatch(&current, &current.outbox).await?;
            store.clear_outbox(arn, current.version).await?;
        }
        let def = store
            .definition(&current.state_machine_arn, current.revision)
            .await?;
        let Some(stepped) = take_step(store, dispatcher, current, &def, event.clone(), now_ms)
        else {
            return Ok(Advanced::Ignored);
        };
        match store
            .commit(&stepped.next, stepped.expected, &stepped.history)
            .await
        {
            Ok(()) => return after_commit(store, dispatcher, &stepped).await,
            Err(StoreError::Conflict(_)) if conflicts < MAX_CONFLICTS => conflicts += 1,
            Err(e) => return Err(e),
        }
    }
}

/// A step taken, to be committed.
struct Stepped {
    next: StoredExecution,
    expected: u64,
    history: Vec<HistoryEvent>,
}

/// Runs the engine's step on `current`'s checkpoint: the next checkpoint (version + 1, its
/// outbox of commands and the status changes it announces, its usage), or `None` when the event
/// changed nothing.
fn take_step<S: ExecutionStore + ?Sized>(
    store: &S,
    dispatcher: &dyn Dispatcher,
    mut current: StoredExecution,
    def: &Definition,
    event: Event,
    now_ms: i64,
) -> Option<Stepped> {
    let before = current.state.transitions;
    // The checkpoint moves into the step (a distributed Map's items are not copied); a
    // placeholder keeps its place in `current`, whose other fields the commit reuses.
    let placeholder = ExecutionState::new(current.state.info.clone());
    let state = std::mem::replace(&mut current.state, placeholder);
    let tr = step(def, state, now_ms, event);
    if tr.history.is_empty() && tr.commands.is_empty() && !tr.changed {
        return None;
    }
    let mut outbox = tr.commands;
    if dispatcher.publishes_status_changes() && announced(&current.arn) {
        // Announced from the commit that makes the change, so never lost.
        outbox.extend(tr.history.iter().filter_map(|h| {
            status_of_event(h.event_type()).map(|status| Command::PublishStatusChange {
                status,
                at_ms: h.timestamp_ms,
            })
        }));
    }
    let expected = current.version;
    let mut next = StoredExecution {
        state: tr.state,
        version: expected + 1,
        outbox,
        ..current
    };
    let mut usage = store.take_usage();
    usage.transitions = next.state.transitions - before;
    next.usage.add(&usage);
    Some(Stepped {
        next,
        expected,
        history: tr.history,
    })
}

/// After a step's commit: its outbox dispatched, then cleared.
async fn after_commit<S: ExecutionStore + ?Sized>(
    store: &S,
    dispatcher: &dyn Dispatcher,
    stepped: &Stepped,
) -> Result<Advanced, StoreError> {
    let next = &stepped.next;
    if !next.outbox.is_empty() {
        dispatcher.dispatch_committed(next, &next.outbox).await?;
        if !(dispatcher.redispatch_is_harmless() && left_in_place(&next.outbox)) {
            store.clear_outbox(&next.arn, next.version).await?;
        }
    }
    Ok(Advanced::Committed {
        version: next.version,
        events: stepped.history.len(),
        running: next.state.status == stepwise_engine::Status::Running,
    })
}

/// Whether an outbox may stay in place after its dispatch, sparing the write that clears it:
/// its last command is its one task call or its one timer, whose answer (or firing) is the
/// next event in the normal course and shows, as commands are dispatched in order, that all of
/// it went out ([`shows_dispatched`]); and it announces no status change, which would be seen
/// twice if an event that shows nothing (a Stop, a timeout) dispatched it again. Only for a
/// dispatcher for which sending the rest again is harmless.
fn left_in_place(outbox: &[Command]) -> bool {
    let count = |f: fn(&Command) -> bool| outbox.iter().filter(|c| f(c)).count();
    let tasks = count(|c| matches!(c, Command::InvokeTask { .. }));
    let timers = count(|c| matches!(c, Command::StartTimer { .. }));
    let announces = count(|c| matches!(c, Command::PublishStatusChange { .. }));
    let last_waits = matches!(
        outbox.last(),
        Some(Command::InvokeTask { .. } | Command::StartTimer { .. })
    );
    announces == 0 && tasks + timers == 1 && last_waits
}

/// Whether applying `event` shows that every command of `outbox` was dispatched: it answers its
/// last command (a task's answer or heartbeat, a timer's firing), which a dispatcher sending
/// commands in order sent after all the others.
fn shows_dispatched(outbox: &[Command], event: &Event) -> bool {
    match (outbox.last(), event) {
        (
            Some(Command::InvokeTask { task, .. }),
            Event::TaskSucceeded { task: t, .. }
            | Event::TaskFailed { task: t, .. }
            | Event::TaskSubmitted { task: t, .. }
            | Event::TaskStarted { task: t, .. }
            | Event::TaskHeartbeat { task: t },
        ) => task == t,
        (Some(Command::StartTimer { timer, .. }), Event::TimerFired { timer: t }) => timer == t,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use stepwise_asl::model::Definition;
    use stepwise_engine::ExecutionInfo;
    use stepwise_engine::{ExecutionState, HistoryEvent, Status};
    use stepwise_ports::execution::Usage;
    use stepwise_ports::BoxFuture;

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
                history_tail: None,
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

    /// Announces status changes, as a dispatcher with an event bus does.
    #[derive(Default)]
    struct Announcer(Recorder);

    impl Dispatcher for Announcer {
        fn dispatch<'a>(
            &'a self,
            e: &'a StoredExecution,
            commands: &'a [Command],
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            self.0.dispatch(e, commands)
        }
        fn publishes_status_changes(&self) -> bool {
            true
        }
    }

    #[tokio::test]
    async fn status_changes_go_in_the_outbox_of_the_step_that_makes_them() {
        let (store, arn) = setup();
        let d = Announcer::default();
        let changes = |d: &Announcer| -> Vec<(Status, i64)> {
            let sent = d.0 .0.lock().expect("lock");
            sent.iter()
                .filter_map(|c| match c {
                    Command::PublishStatusChange { status, at_ms } => Some((*status, *at_ms)),
                    _ => None,
                })
                .collect()
        };
        let _ = advance(&store, &d, &arn, Event::Start { input: json!({}) }, 5).await;
        assert_eq!(changes(&d), [(Status::Running, 5)]);
        let abort = Event::Stop {
            error: Some("E".into()),
            cause: None,
        };
        let _ = advance(&store, &d, &arn, abort, 9).await;
        assert_eq!(changes(&d), [(Status::Running, 5), (Status::Aborted, 9)]);
        // A dispatcher without a bus gets none.
        let (store, arn) = setup();
        let quiet = Recorder::default();
        let _ = advance(&store, &quiet, &arn, Event::Start { input: json!({}) }, 5).await;
        assert!(!quiet
            .0
            .lock()
            .expect("lock")
            .iter()
            .any(|c| matches!(c, Command::PublishStatusChange { .. })));
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

    /// A dispatcher for which sending commands again is harmless (the serverless one).
    #[derive(Default)]
    struct Idempotent(Recorder);

    impl Dispatcher for Idempotent {
        fn dispatch<'a>(
            &'a self,
            e: &'a StoredExecution,
            commands: &'a [Command],
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            self.0.dispatch(e, commands)
        }
        fn redispatch_is_harmless(&self) -> bool {
            true
        }
    }

    #[tokio::test]
    async fn a_task_call_outbox_stays_until_the_answer_shows_it_sent() {
        let (store, arn) = setup();
        let d = Idempotent::default();
        let _ = advance(&store, &d, &arn, Event::Start { input: json!({}) }, 0).await;
        let outbox = |s: &Memory| s.executions.lock().expect("lock")[&arn].outbox.clone();
        let left = outbox(&store);
        let Some(Command::InvokeTask { task, .. }) = left.last().cloned() else {
            panic!("the task call stays in the outbox: {left:?}");
        };
        assert_eq!(d.0 .0.lock().expect("lock").len(), left.len());
        // Its answer shows it was sent: nothing is dispatched again; the Wait's timer follows
        // and stays in turn.
        let done = Event::TaskSucceeded {
            task,
            output: json!(1),
        };
        let _ = advance(&store, &d, &arn, done, 1).await;
        let sent = d.0 .0.lock().expect("lock").clone();
        assert_eq!(
            sent.iter()
                .filter(|c| matches!(c, Command::InvokeTask { .. }))
                .count(),
            1,
            "{sent:?}"
        );
        assert!(matches!(
            outbox(&store).last(),
            Some(Command::StartTimer { .. })
        ));
        // An event that shows nothing (a stray timer) sends it again: harmless, never lost.
        let _ = advance(&store, &d, &arn, Event::TimerFired { timer: 999 }, 2).await;
        let again = d.0 .0.lock().expect("lock").clone();
        assert!(again.len() > sent.len(), "{again:?}");
    }

    #[tokio::test]
    async fn an_inline_answer_leaves_an_outbox_in_dispatch_to_the_queue() {
        let (store, arn) = setup();
        let d = Recorder::default();
        let _ = advance(&store, &d, &arn, Event::Start { input: json!({}) }, 0).await;
        // The committing invocation is still sending its commands: they are in the outbox.
        let sent: Vec<Command> = std::mem::take(&mut *d.0.lock().expect("lock"));
        let many = [sent.clone(), sent.clone()].concat();
        let set = |outbox: Vec<Command>| {
            store
                .executions
                .lock()
                .expect("lock")
                .get_mut(&arn)
                .expect("exists")
                .outbox = outbox;
        };
        set(many.clone());
        let version = store.executions.lock().expect("lock")[&arn].version;
        let stray = || Event::TimerFired { timer: 999 };
        assert!(matches!(
            advance_inline(&store, &d, &arn, stray(), 1).await,
            Ok(Advanced::Deferred)
        ));
        assert!(d.0.lock().expect("lock").is_empty(), "nothing sent again");
        assert_eq!(
            store.executions.lock().expect("lock")[&arn].version,
            version,
            "nothing applied"
        );
        // The queue's applier sends it (once more: it may have been left by a crash).
        let _ = advance(&store, &d, &arn, stray(), 1).await;
        assert_eq!(*d.0.lock().expect("lock"), many);
        // One task call left in place is sent again inline (cheaper than a queue hop).
        let one: Vec<Command> = sent
            .iter()
            .filter(|c| matches!(c, Command::InvokeTask { .. }))
            .cloned()
            .collect();
        assert_eq!(one.len(), 1, "{sent:?}");
        set(one.clone());
        d.0.lock().expect("lock").clear();
        assert!(!matches!(
            advance_inline(&store, &d, &arn, stray(), 2).await,
            Ok(Advanced::Deferred)
        ));
        assert_eq!(*d.0.lock().expect("lock"), one);
    }
}
