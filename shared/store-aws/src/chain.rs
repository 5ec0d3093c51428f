//! Task calls chained in one invoker invocation.
//!
//! When the invoker applies a task's outcome itself (`handlers::forward`), the step it commits
//! often makes exactly one Task call, the next state's. Handing that call to a new invocation
//! (an asynchronous Invoke) costs a Lambda request ($0.20 a million): a third of a Lambda task
//! step's overhead beside its two DynamoDB writes. While the invocation is young, the call is
//! instead taken here and worked next in the same invocation, exactly as its delivery would
//! be: its attempt recorded first ([`crate::attempts`]), then called, then its outcome applied.
//!
//! Nothing is given up for it. The call stays in the committed step's outbox, as a handed-over
//! call does until its attempt is recorded: only the call of the step just committed is taken
//! (`Dispatcher::dispatch_committed`), never one of an outbox found on load, which the driver
//! clears once it is sent. Another invocation that finds it there sends it (an asynchronous
//! Invoke), and its attempt record makes the two deliveries one call. Should the invocation stop midway (a crash, its
//! timeout), Lambda invokes the chain's first call again; that call finds its attempt taken
//! and, once this invocation's time is over, sends the lost attempt's failure, which the engine
//! ignores (that call was answered) after dispatching the outbox left behind. The chained call
//! then goes out as any other, and its attempt record, taken by this invocation or not yet,
//! decides as for any call delivered again: called once, or failed as lost.
//!
//! A chain stops taking calls after [`CHAIN_BUDGET_MS`] (or a tenth of the invocation's time,
//! when shorter): each call it takes still has nearly all of a fresh invocation's time.

use crate::queues::TaskMessage;
use std::sync::Mutex;
use stepwise_engine::Command;
use stepwise_ports::execution::{Dispatcher, StoreError, StoredExecution};
use stepwise_ports::BoxFuture;

/// How long an invocation keeps taking calls after it began (see the module's documentation).
pub(crate) const CHAIN_BUDGET_MS: i64 = 60_000;

/// The call an invocation works next, and when it began.
#[derive(Debug)]
pub(crate) struct Chain {
    begun_ms: i64,
    deadline_ms: i64,
    next: Mutex<Option<TaskMessage>>,
}

impl Chain {
    /// A chain in an invocation that began at `begun_ms` and ends at `deadline_ms` (0 or
    /// earlier: not told, as in tests).
    pub(crate) fn new(begun_ms: i64, deadline_ms: i64) -> Self {
        Chain {
            begun_ms,
            deadline_ms,
            next: Mutex::new(None),
        }
    }

    /// Whether a call taken at `now_ms` still has nearly all of a fresh invocation's time.
    fn open(&self, now_ms: i64) -> bool {
        let mut budget = CHAIN_BUDGET_MS;
        if self.deadline_ms > self.begun_ms {
            budget = budget.min((self.deadline_ms - self.begun_ms) / 10);
        }
        now_ms.saturating_sub(self.begun_ms) <= budget
    }

    /// The call to work next, if one was taken.
    pub(crate) fn take(&self) -> Option<TaskMessage> {
        self.next.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Takes `commands` when they are one Task call without a task token (whose record the
    /// dispatcher writes) and the chain is open and holds none yet.
    fn offer(&self, execution: &StoredExecution, commands: &[Command], now_ms: i64) -> bool {
        let [c @ Command::InvokeTask {
            task_token: None, ..
        }] = commands
        else {
            return false;
        };
        if !self.open(now_ms) {
            return false;
        }
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        if next.is_some() {
            return false;
        }
        *next = Some(TaskMessage::call(execution, c));
        true
    }
}

/// A dispatcher that offers each dispatch to a [`Chain`] first and sends what it does not
/// take through `inner`.
pub(crate) struct Chaining<'a> {
    pub(crate) inner: &'a dyn Dispatcher,
    pub(crate) chain: &'a Chain,
    pub(crate) now_ms: fn() -> i64,
}

impl Dispatcher for Chaining<'_> {
    /// An outbox found on load is sent, never taken: the driver clears it after this dispatch,
    /// and a call taken from it would then be held in this invocation's memory alone (seed
    /// 600: two invocations applying a Map's answers at once, the second took the first's
    /// call from the outbox and cleared it, and both stopped before recording its attempt: the
    /// Map waited for that call for ever).
    fn dispatch<'a>(
        &'a self,
        execution: &'a StoredExecution,
        commands: &'a [Command],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.dispatch(execution, commands)
    }

    /// The step just committed: its one call may be taken, as the outbox keeps it until the
    /// next step (or a dispatch that sends it) replaces it.
    fn dispatch_committed<'a>(
        &'a self,
        execution: &'a StoredExecution,
        commands: &'a [Command],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        if self.chain.offer(execution, commands, (self.now_ms)()) {
            return Box::pin(async { Ok(()) });
        }
        self.inner.dispatch_committed(execution, commands)
    }

    fn publishes_status_changes(&self) -> bool {
        self.inner.publishes_status_changes()
    }

    fn redispatch_is_harmless(&self) -> bool {
        self.inner.redispatch_is_harmless()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stepwise_engine::{ExecutionInfo, ExecutionState};

    fn call(task: u64, token: Option<&str>) -> Command {
        serde_json::from_value(serde_json::json!({
            "type": "InvokeTask", "task": task, "state_name": "T",
            "resource": "arn:aws:states:::lambda:invoke", "parameters": {}, "task_token": token,
            "heartbeat_seconds": null, "timeout_seconds": null
        }))
        .expect("command")
    }

    fn execution() -> StoredExecution {
        let info = ExecutionInfo {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:sm:e".into(),
            name: "e".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm".into(),
            state_machine_name: "sm".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            start_time_ms: 0,
            redrive_count: 0,
            seed: 1,
        };
        StoredExecution {
            arn: info.execution_arn.clone(),
            state_machine_arn: info.state_machine_arn.clone(),
            revision: 1,
            state: ExecutionState::new(info),
            version: 1,
            outbox: Vec::new(),
            test_case: None,
            usage: Default::default(),
            history_tail: None,
        }
    }

    #[test]
    fn one_call_without_a_token_is_taken_while_the_chain_is_young() {
        let e = execution();
        let chain = Chain::new(1_000, 0);
        assert!(!chain.offer(&e, &[call(1, None), call(2, None)], 1_000));
        assert!(!chain.offer(&e, &[call(1, Some("tok"))], 1_000));
        assert!(!chain.offer(&e, &[], 1_000));
        assert!(chain.offer(&e, &[call(1, None)], 1_000));
        // One at a time: the next is taken once this one is worked.
        assert!(!chain.offer(&e, &[call(2, None)], 1_000));
        assert!(matches!(chain.take(), Some(TaskMessage::Invoke { .. })));
        assert!(chain.take().is_none());
        // Past the budget, calls are handed over.
        assert!(!chain.offer(&e, &[call(3, None)], 1_000 + CHAIN_BUDGET_MS + 1));
    }

    /// Counts the commands sent through it.
    #[derive(Default)]
    struct Sent(Mutex<usize>);

    impl Dispatcher for Sent {
        fn dispatch<'a>(
            &'a self,
            _: &'a StoredExecution,
            commands: &'a [Command],
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            *self.0.lock().unwrap() += commands.len();
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test]
    async fn only_the_committed_steps_call_is_taken_an_outbox_found_on_load_is_sent() {
        let e = execution();
        let sent = Sent::default();
        let chain = Chain::new(0, 0);
        let d = Chaining {
            inner: &sent,
            chain: &chain,
            now_ms: || 0,
        };
        // Found on load: the driver clears it after this dispatch, so it must go out.
        d.dispatch(&e, &[call(1, None)]).await.unwrap();
        assert_eq!(*sent.0.lock().unwrap(), 1);
        assert!(chain.take().is_none());
        // Just committed: the outbox keeps it, the chain takes it.
        d.dispatch_committed(&e, &[call(2, None)]).await.unwrap();
        assert_eq!(*sent.0.lock().unwrap(), 1);
        assert!(chain.take().is_some());
        // Two calls: both sent.
        d.dispatch_committed(&e, &[call(3, None), call(4, None)])
            .await
            .unwrap();
        assert_eq!(*sent.0.lock().unwrap(), 3);
    }

    #[test]
    fn a_short_invocation_chains_for_a_tenth_of_its_time() {
        let e = execution();
        let chain = Chain::new(0, 100_000);
        assert!(chain.offer(&e, &[call(1, None)], 10_000));
        chain.take();
        assert!(!chain.offer(&e, &[call(2, None)], 10_001));
    }
}
