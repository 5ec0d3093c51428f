//! What the store's unit tests share: a store in a temporary directory and executions in it.

use crate::SqliteStore;
use serde_json::json;
use stepwise_engine::{ExecutionInfo, ExecutionState, HistoryEvent, Status};
use stepwise_ports::api::{ApiStore, ExecutionMeta};
use stepwise_ports::execution::{ExecutionStore, StoredExecution, Usage};

pub(crate) const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:etl";

pub(crate) fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open the store");
    (dir, store)
}

pub(crate) fn arn(name: &str) -> String {
    format!("arn:aws:states:us-east-1:123456789012:execution:etl:{name}")
}

/// What `name` was started with: `{}` at time 0.
pub(crate) fn meta(name: &str) -> ExecutionMeta {
    ExecutionMeta {
        arn: arn(name),
        name: name.into(),
        state_machine_arn: SM.into(),
        version_arn: None,
        alias_arn: None,
        kind: "STANDARD".into(),
        input: "{}".into(),
        start_ms: 0,
        trace_header: None,
        map_run_arn: None,
    }
}

pub(crate) fn event(id: u64, kind: &str) -> HistoryEvent {
    HistoryEvent::new(id, id - 1, id as i64, kind.into(), Some(json!({})))
}

/// Starts `name` at time 0 with three history events, a task token and a timer, then (when
/// `closed_at` is given) closes it as SUCCEEDED at that time.
pub(crate) async fn execution(s: &SqliteStore, name: &str, closed_at: Option<i64>) {
    let info = ExecutionInfo {
        execution_arn: arn(name),
        name: name.into(),
        state_machine_arn: SM.into(),
        state_machine_name: "etl".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        start_time_ms: 0,
        redrive_count: 0,
        seed: 1,
    };
    let e = StoredExecution {
        arn: arn(name),
        state_machine_arn: SM.into(),
        revision: 1,
        state: ExecutionState::new(info),
        version: 0,
        outbox: Vec::new(),
        test_case: None,
        usage: Usage::default(),
        history_tail: None,
    };
    let meta = meta(name);
    s.create_execution(&e, &meta).await.expect("create");
    let mut next = e.clone();
    next.version = 1;
    next.state.last_event_id = 2;
    s.commit(
        &next,
        0,
        &[event(1, "ExecutionStarted"), event(2, "PassStateEntered")],
    )
    .await
    .expect("commit");
    s.put_token(&format!("tok-{name}"), &arn(name), 1)
        .await
        .expect("token");
    if let Some(at) = closed_at {
        let mut done = next.clone();
        done.version = 2;
        done.state.last_event_id = 3;
        done.state.status = Status::Succeeded;
        done.state.stop_ms = Some(at);
        s.commit(&done, 1, &[event(3, "ExecutionSucceeded")])
            .await
            .expect("close");
    }
}
