//! One contract for every store: generic test cases over the ports
//! ([`ExecutionStore`], [`ApiStore`]) that a store must pass to stand in for another.
//!
//! `stepwise-store-embedded` runs them on SQLite in its own tests (every `cargo test`); the tests
//! crate runs them on the DynamoDB store against DynamoDB Local (`tests/store_contract.rs`).
//! Each case panics with what went wrong, names its records after `ns` so that cases can share
//! one table, and leaves out what only one store keeps (pending timers and in-flight tasks live
//! in SQS and Scheduler on AWS: see [`timers_and_inflight_are_kept`], run on SQLite only).
//! [`run_all`] runs every shared case.

pub mod deep;

use serde_json::{json, Value};
use std::collections::HashSet;
use stepwise_engine::{Command, ExecutionInfo, ExecutionState, HistoryEvent, Status};
use stepwise_ports::api::{
    ActivityTask, ApiStore, ExecutionFilter, ExecutionMeta, PendingTimer, Resource, ResourceKind,
};
use stepwise_ports::execution::{StoreError, StoredExecution, Usage};

/// The account and region of every ARN the cases make.
const PREFIX: &str = "arn:aws:states:us-east-1:123456789012";

/// A definition every case can run: one Pass state.
const DEFINITION: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;

/// A state machine ARN for this case.
fn sm_arn(ns: &str, name: &str) -> String {
    format!("{PREFIX}:stateMachine:{ns}-{name}")
}

/// A new execution (version 0, as StartExecution creates it) and its listing metadata.
fn new_execution(sm: &str, name: &str, start_ms: i64) -> (StoredExecution, ExecutionMeta) {
    let arn = format!("{}:{name}", sm.replacen(":stateMachine:", ":execution:", 1));
    let sm_name = sm.rsplit(':').next().unwrap_or_default().to_string();
    let info = ExecutionInfo {
        execution_arn: arn.clone(),
        name: name.to_string(),
        state_machine_arn: sm.to_string(),
        state_machine_name: sm_name,
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        start_time_ms: start_ms,
        redrive_count: 0,
        seed: 7,
    };
    let mut state = ExecutionState::new(info);
    state.input = json!({"n": start_ms});
    let stored = StoredExecution {
        arn: arn.clone(),
        state_machine_arn: sm.to_string(),
        revision: 1,
        state,
        version: 0,
        outbox: Vec::new(),
        test_case: Some("happy".into()),
        usage: Usage::default(),
        history_tail: None,
    };
    let meta = ExecutionMeta {
        arn,
        name: name.to_string(),
        state_machine_arn: sm.to_string(),
        version_arn: None,
        alias_arn: None,
        kind: "STANDARD".into(),
        input: format!("{{\"n\":{start_ms}}}"),
        start_ms,
        trace_header: None,
        map_run_arn: None,
    };
    (stored, meta)
}

/// History events `from..=to`, each following the one before.
fn events(from: u64, to: u64) -> Vec<HistoryEvent> {
    (from..=to)
        .map(|id| {
            HistoryEvent::new(
                id,
                id - 1,
                1_000 + id as i64,
                if id == 1 {
                    "ExecutionStarted".into()
                } else {
                    "PassStateEntered".into()
                },
                Some(json!({"name": "P", "n": id})),
            )
        })
        .collect()
}

/// The next version of `e` with `last_event_id` moved to `last`.
fn next_of(e: &StoredExecution, last: u64) -> StoredExecution {
    let mut next = e.clone();
    next.version = e.version + 1;
    next.state.last_event_id = last;
    next.state.transitions += 1;
    next
}

/// What a store must give back as written (usage aside: a metering store adds what the write
/// itself cost).
fn comparable(e: &StoredExecution) -> Value {
    json!({
        "arn": e.arn, "stateMachineArn": e.state_machine_arn, "revision": e.revision,
        "version": e.version, "test_case": e.test_case,
        "state": serde_json::to_value(&e.state).unwrap_or(Value::Null),
        "outbox": serde_json::to_value(&e.outbox).unwrap_or(Value::Null),
    })
}

fn is_conflict<T: std::fmt::Debug>(r: &Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

fn ids(events: &[HistoryEvent]) -> Vec<u64> {
    events.iter().map(|e| e.id).collect()
}

/// Executions are created once and change only through commits conditioned on the version read;
/// the outbox is cleared only for the version it belongs to.
pub async fn executions_commit_on_the_version_read<S: ApiStore>(store: &S, ns: &str) {
    let sm = sm_arn(ns, "exec");
    let (e, meta) = new_execution(&sm, "e1", 1_000);
    assert!(
        store.load(&e.arn).await.expect("load").is_none(),
        "an execution never created loads as None"
    );
    store
        .create_execution(&e, &meta)
        .await
        .expect("create execution");
    assert!(
        is_conflict(&store.create_execution(&e, &meta).await),
        "creating an execution twice is a Conflict"
    );
    let loaded = store.load(&e.arn).await.expect("load").expect("exists");
    assert_eq!(
        comparable(&loaded),
        comparable(&e),
        "load gives back what was created"
    );

    let mut v1 = next_of(&loaded, 2);
    v1.outbox = vec![Command::StartTimer {
        timer: 3,
        at_ms: 5_000,
    }];
    store
        .commit(&v1, 0, &events(1, 2))
        .await
        .expect("commit on the version read");
    let mut stale = next_of(&loaded, 3);
    stale.test_case = Some("stale".into());
    assert!(
        is_conflict(&store.commit(&stale, 0, &events(3, 3)).await),
        "a commit on a version that moved on is a Conflict"
    );
    let after = store.load(&e.arn).await.expect("load").expect("exists");
    assert_eq!(
        comparable(&after),
        comparable(&v1),
        "the losing commit changed nothing"
    );

    store.clear_outbox(&e.arn, 0).await.expect("clear stale");
    let kept = store.load(&e.arn).await.expect("load").expect("exists");
    assert_eq!(
        kept.outbox.len(),
        1,
        "clearing an older version's outbox is a no-op"
    );
    store.clear_outbox(&e.arn, 1).await.expect("clear");
    let cleared = store.load(&e.arn).await.expect("load").expect("exists");
    assert!(
        cleared.outbox.is_empty(),
        "the outbox of the current version is cleared"
    );
    assert_eq!(cleared.version, 1, "clearing the outbox is not a step");

    let (ghost, _) = new_execution(&sm, "never-created", 1_000);
    assert!(
        is_conflict(&store.commit(&next_of(&ghost, 1), 0, &events(1, 1)).await),
        "a commit to an execution that does not exist is a Conflict"
    );
    store
        .clear_outbox(&ghost.arn, 0)
        .await
        .expect("clearing the outbox of a missing execution is a no-op");
}

/// An execution created with its first step ([`ApiStore::create_committed`]) is stored whole
/// (the step's checkpoint and history) or, by a store that writes them apart, created alone as
/// it was before the step; never twice. Says which the store did (`true`: with the step).
pub async fn executions_are_created_with_their_first_step<S: ApiStore>(
    store: &S,
    ns: &str,
) -> bool {
    let sm = sm_arn(ns, "first");
    let (e, meta) = new_execution(&sm, "e1", 1_000);
    let mut v1 = next_of(&e, 2);
    v1.outbox = vec![Command::StartTimer {
        timer: 3,
        at_ms: 5_000,
    }];
    let with_step = store
        .create_committed(&e, &meta, &v1, &events(1, 2))
        .await
        .expect("create with the first step");
    let loaded = store.load(&e.arn).await.expect("load").expect("exists");
    let history = store.history(&e.arn, 0, false, 100).await.expect("history");
    if with_step {
        assert_eq!(
            comparable(&loaded),
            comparable(&v1),
            "the first step's checkpoint"
        );
        assert_eq!(ids(&history), vec![1, 2], "the first step's history");
    } else {
        assert_eq!(comparable(&loaded), comparable(&e), "created as it was");
        assert!(history.is_empty(), "no history before the first step");
    }
    let row = store
        .execution_row(&e.arn)
        .await
        .expect("row")
        .expect("a row");
    assert_eq!(row.status, "RUNNING");
    // DescribeExecution's read: the same row and checkpoint as read apart.
    let (both_row, both) = store
        .execution_with_row(&e.arn)
        .await
        .expect("row and checkpoint")
        .expect("both");
    assert_eq!(both_row.meta.name, row.meta.name);
    assert_eq!(
        (both_row.status, both_row.stop_ms),
        (row.status, row.stop_ms)
    );
    assert_eq!(comparable(&both), comparable(&loaded));
    let missing = store
        .execution_with_row(&format!("{}-missing", e.arn))
        .await
        .expect("a read");
    assert!(missing.is_none(), "a missing execution is None");
    assert!(
        is_conflict(&store.create_committed(&e, &meta, &v1, &events(1, 2)).await),
        "creating an execution twice is a Conflict"
    );
    assert!(
        is_conflict(&store.create_execution(&e, &meta).await),
        "and so is creating it again the other way"
    );
    let again = store.load(&e.arn).await.expect("load").expect("exists");
    assert_eq!(
        comparable(&again),
        comparable(&loaded),
        "a losing create changes nothing"
    );
    with_step
}

/// History pages forward (ids after `after`) and backward (ids before `after`, newest first),
/// and shows only what a successful commit wrote.
pub async fn history_pages_forward_and_backward<S: ApiStore>(store: &S, ns: &str) {
    let sm = sm_arn(ns, "hist");
    let (e, meta) = new_execution(&sm, "h1", 2_000);
    store.create_execution(&e, &meta).await.expect("create");
    let v1 = next_of(&e, 3);
    store.commit(&v1, 0, &events(1, 3)).await.expect("commit 1");
    let v2 = next_of(&v1, 5);
    store.commit(&v2, 1, &events(4, 5)).await.expect("commit 2");
    // A step that lost its race must leave nothing a reader sees.
    let lost = next_of(&v1, 7);
    assert!(is_conflict(&store.commit(&lost, 1, &events(6, 7)).await));

    let page = |after, reverse, limit| store.history(&e.arn, after, reverse, limit);
    let all = page(0, false, 100).await.expect("history");
    assert_eq!(
        ids(&all),
        vec![1, 2, 3, 4, 5],
        "every committed event, in order"
    );
    assert_eq!(all, events(1, 5), "events come back as written");
    assert_eq!(ids(&page(0, false, 2).await.expect("page")), vec![1, 2]);
    assert_eq!(ids(&page(2, false, 2).await.expect("page")), vec![3, 4]);
    assert_eq!(ids(&page(4, false, 2).await.expect("page")), vec![5]);
    assert!(page(5, false, 2).await.expect("page").is_empty());
    assert_eq!(
        ids(&page(0, true, 2).await.expect("page")),
        vec![5, 4],
        "reverse from the end"
    );
    assert_eq!(
        ids(&page(4, true, 2).await.expect("page")),
        vec![3, 2],
        "reverse before an id"
    );
    assert_eq!(ids(&page(2, true, 5).await.expect("page")), vec![1]);
    let (none, _) = new_execution(&sm, "no-such", 2_000);
    assert!(
        store
            .history(&none.arn, 0, false, 10)
            .await
            .expect("history")
            .is_empty(),
        "an unknown execution has no history"
    );
}

/// Executions are listed per state machine, newest first, filtered by status, version,
/// alias and whether they were redriven, paged by offset; rows follow commits; running executions are found for recovery.
pub async fn executions_are_listed_and_filtered<S: ApiStore>(store: &S, ns: &str) {
    let sm = sm_arn(ns, "list");
    let other = sm_arn(ns, "other");
    let version = format!("{sm}:1");
    let alias = format!("{sm}:prod");
    let mut made = Vec::new();
    for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
        let (e, mut meta) = new_execution(&sm, name, 10_000 + i as i64 * 1_000);
        if *name == "c" {
            meta.version_arn = Some(version.clone());
            meta.alias_arn = Some(alias.clone());
        }
        store.create_execution(&e, &meta).await.expect("create");
        made.push(e);
    }
    let (o, ometa) = new_execution(&other, "x", 50_000);
    store.create_execution(&o, &ometa).await.expect("create");

    // "b" succeeds.
    let mut done = next_of(&made[1], 1);
    done.state.status = Status::Succeeded;
    done.state.stop_ms = Some(12_500);
    done.state.output = Some(json!(1));
    store.commit(&done, 0, &events(1, 1)).await.expect("commit");

    let names = |rows: Vec<stepwise_ports::api::ExecutionRow>| {
        rows.into_iter().map(|r| r.meta.name).collect::<Vec<_>>()
    };
    let of = |status: Option<&str>| ExecutionFilter {
        state_machine_arn: Some(sm.clone()),
        status: status.map(str::to_string),
        ..ExecutionFilter::default()
    };
    let all = store
        .list_executions(&of(None), 0, 100)
        .await
        .expect("list");
    assert_eq!(
        names(all),
        ["d", "c", "b", "a"],
        "newest first, one machine only"
    );
    let page = store.list_executions(&of(None), 1, 2).await.expect("list");
    assert_eq!(names(page), ["c", "b"], "offset and limit");
    let ok = store
        .list_executions(&of(Some("SUCCEEDED")), 0, 100)
        .await
        .expect("list");
    assert_eq!(names(ok), ["b"], "by status");
    let running = store
        .list_executions(&of(Some("RUNNING")), 0, 100)
        .await
        .expect("list");
    assert_eq!(names(running), ["d", "c", "a"]);
    let by_version = ExecutionFilter {
        version_arn: Some(version.clone()),
        ..of(None)
    };
    let by_alias = ExecutionFilter {
        alias_arn: Some(alias.clone()),
        ..of(None)
    };
    assert_eq!(
        names(
            store
                .list_executions(&by_version, 0, 100)
                .await
                .expect("list")
        ),
        ["c"]
    );
    assert_eq!(
        names(
            store
                .list_executions(&by_alias, 0, 100)
                .await
                .expect("list")
        ),
        ["c"]
    );

    // "a" is redriven (ListExecutions' redriveFilter): REDRIVEN lists it alone, NOT_REDRIVEN
    // the others, both still newest first and within the status filter.
    let mut redriven = next_of(&made[0], 1);
    redriven.state.info.redrive_count = 1;
    store
        .commit(&redriven, 0, &events(1, 1))
        .await
        .expect("commit");
    let by_redrive = |redriven: bool, status: Option<&str>| ExecutionFilter {
        redriven: Some(redriven),
        ..of(status)
    };
    for (filter, want) in [
        (by_redrive(true, None), vec!["a"]),
        (by_redrive(false, None), vec!["d", "c", "b"]),
        (by_redrive(false, Some("RUNNING")), vec!["d", "c"]),
        (by_redrive(true, Some("SUCCEEDED")), vec![]),
    ] {
        let got = names(store.list_executions(&filter, 0, 100).await.expect("list"));
        assert_eq!(
            got, want,
            "redriven {:?}, status {:?}",
            filter.redriven, filter.status
        );
    }
    assert_eq!(
        names(
            store
                .list_executions(&by_redrive(false, None), 1, 1)
                .await
                .expect("list")
        ),
        ["c"],
        "offset and limit among the ones kept"
    );

    let row = store
        .execution_row(&made[1].arn)
        .await
        .expect("row")
        .expect("exists");
    assert_eq!(row.status, "SUCCEEDED");
    assert_eq!(row.stop_ms, Some(12_500));
    assert_eq!(row.redrive_count, 0);
    assert_eq!(row.meta.input, "{\"n\":11000}", "the input text as given");
    assert_eq!(row.meta.state_machine_arn, sm);
    let c = store
        .execution_row(&made[2].arn)
        .await
        .expect("row")
        .expect("exists");
    assert_eq!(c.status, "RUNNING");
    assert_eq!(c.stop_ms, None);
    assert_eq!(c.meta.version_arn.as_deref(), Some(version.as_str()));
    assert_eq!(c.meta.alias_arn.as_deref(), Some(alias.as_str()));
    let (ghost, _) = new_execution(&sm, "ghost", 1);
    assert!(store
        .execution_row(&ghost.arn)
        .await
        .expect("row")
        .is_none());

    let running: HashSet<String> = store
        .running_executions()
        .await
        .expect("running")
        .into_iter()
        .collect();
    for e in [&made[0], &made[2], &made[3], &o] {
        assert!(running.contains(&e.arn), "{} is running", e.arn);
    }
    assert!(
        !running.contains(&made[1].arn),
        "an ended execution is not recovered"
    );
}

/// A task token belongs to the first execution and task recorded for it, and is closed once.
pub async fn task_tokens_record_their_task<S: ApiStore>(store: &S, ns: &str) {
    let exec = format!("{PREFIX}:execution:{ns}-tok:e");
    let token = format!("{ns}-token-1");
    assert!(store.token(&token).await.expect("token").is_none());
    store.put_token(&token, &exec, 4).await.expect("put token");
    let t = store.token(&token).await.expect("token").expect("recorded");
    assert_eq!(
        (t.execution_arn.as_str(), t.task, t.closed),
        (exec.as_str(), 4, false)
    );
    store
        .put_token(&token, &format!("{exec}-other"), 9)
        .await
        .expect("a token recorded again is not an error");
    let t = store.token(&token).await.expect("token").expect("recorded");
    assert_eq!(
        (t.execution_arn.as_str(), t.task),
        (exec.as_str(), 4),
        "the first record of a token stands"
    );
    store.close_token(&token).await.expect("close");
    store.close_token(&token).await.expect("close again");
    assert!(
        store
            .token(&token)
            .await
            .expect("token")
            .expect("kept")
            .closed
    );
    let ghost = format!("{ns}-never-recorded");
    store
        .close_token(&ghost)
        .await
        .expect("closing an unknown token is a no-op");
    assert!(
        store.token(&ghost).await.expect("token").is_none(),
        "closing does not record a token"
    );
}

/// Activity tasks are handed out oldest first, each once, per activity; a task whose token was
/// closed (timed out, cancelled) is dropped; pushing a waiting task again queues it once.
pub async fn activity_tasks_are_handed_out_once<S: ApiStore>(store: &S, ns: &str) {
    let activity = format!("{PREFIX}:activity:{ns}-work");
    let elsewhere = format!("{PREFIX}:activity:{ns}-other");
    let exec = format!("{PREFIX}:execution:{ns}-act:e");
    let task = |i: u64| ActivityTask {
        token: format!("{ns}-act-{i}"),
        input: format!("{{\"i\":{i}}}"),
    };
    for i in 1..=4 {
        store
            .put_token(&task(i).token, &exec, i)
            .await
            .expect("token");
    }
    assert!(store
        .take_activity_task(&activity)
        .await
        .expect("take")
        .is_none());
    store
        .push_activity_task(&activity, &task(1))
        .await
        .expect("push");
    store
        .push_activity_task(&activity, &task(2))
        .await
        .expect("push");
    store
        .push_activity_task(&activity, &task(1))
        .await
        .expect("a redelivered push");
    store
        .push_activity_task(&elsewhere, &task(3))
        .await
        .expect("push");
    store
        .push_activity_task(&activity, &task(4))
        .await
        .expect("push");
    store.close_token(&task(4).token).await.expect("close");

    let take = || store.take_activity_task(&activity);
    assert_eq!(take().await.expect("take"), Some(task(1)), "oldest first");
    assert_eq!(take().await.expect("take"), Some(task(2)), "each once");
    assert_eq!(
        take().await.expect("take"),
        None,
        "a closed token's task is dropped, another activity's is not handed out"
    );
    assert_eq!(
        store.take_activity_task(&elsewhere).await.expect("take"),
        Some(task(3))
    );
}

/// The control plane's records: created once, updated in place (keeping their creation order),
/// listed by kind and parent, deleted; a revision's definition is what executions run.
pub async fn records_are_kept_by_kind_and_arn<S: ApiStore>(store: &S, ns: &str) {
    let sm = sm_arn(ns, "rec");
    let machine = |revision: u64| Resource {
        kind: ResourceKind::StateMachine,
        arn: sm.clone(),
        parent: None,
        body: json!({
            "name": format!("{ns}-rec"), "arn": sm, "type": "STANDARD",
            "roleArn": "arn:aws:iam::123456789012:role/r", "creationDate": 1_000,
            "updateDate": 1_000 + revision, "revision": revision, "revisionId": "",
            "definition": DEFINITION, "nextVersion": 1,
        }),
    };
    assert!(store
        .get_resource(ResourceKind::StateMachine, &sm)
        .await
        .expect("get")
        .is_none());
    store.put_resource(&machine(1), true).await.expect("create");
    assert!(
        is_conflict(&store.put_resource(&machine(1), true).await),
        "create_only on an existing record is a Conflict"
    );
    store
        .put_resource(&machine(2), false)
        .await
        .expect("update");
    let got = store
        .get_resource(ResourceKind::StateMachine, &sm)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(got, machine(2), "a record comes back as written");

    for rev in 1..=2u64 {
        let r = Resource {
            kind: ResourceKind::Revision,
            arn: format!("{sm}#{rev}"),
            parent: Some(sm.clone()),
            body: json!({"definition": DEFINITION, "roleArn": "r", "type": "STANDARD",
                "revisionId": format!("rev-{rev}"), "updateDate": 1_000 + rev}),
        };
        store.put_resource(&r, false).await.expect("revision");
        assert_eq!(
            store
                .get_resource(ResourceKind::Revision, &r.arn)
                .await
                .expect("get")
                .as_ref(),
            Some(&r)
        );
    }
    store.definition(&sm, 2).await.expect("definition");
    let broken = Resource {
        kind: ResourceKind::Revision,
        arn: format!("{sm}#3"),
        parent: Some(sm.clone()),
        body: json!({"definition": "{\"StartAt\": 1}", "roleArn": "r", "type": "STANDARD"}),
    };
    store.put_resource(&broken, false).await.expect("revision");
    assert!(
        matches!(
            store.definition(&sm, 3).await,
            Err(StoreError::BadDefinition(..))
        ),
        "the revision's own definition is what is parsed"
    );
    store
        .delete_resource(ResourceKind::Revision, &broken.arn)
        .await
        .expect("delete");
    assert!(
        matches!(store.definition(&sm, 9).await, Err(StoreError::NotFound(_))),
        "a missing revision is NotFound"
    );

    // Versions and aliases belong to their state machine and list in creation order.
    let child = |kind, arn: String| Resource {
        kind,
        arn,
        parent: Some(sm.clone()),
        body: json!({"description": "d"}),
    };
    for v in [3, 1, 2] {
        let r = child(ResourceKind::Version, format!("{sm}:{v}"));
        store.put_resource(&r, true).await.expect("version");
    }
    let alias = child(ResourceKind::Alias, format!("{sm}:live"));
    store.put_resource(&alias, true).await.expect("alias");
    // Updating a record keeps its place.
    let mut first = child(ResourceKind::Version, format!("{sm}:3"));
    first.body = json!({"description": "changed"});
    store
        .put_resource(&first, false)
        .await
        .expect("update version");
    let versions = store
        .list_resources(ResourceKind::Version, Some(&sm))
        .await
        .expect("list");
    let arns: Vec<String> = versions.iter().map(|r| r.arn.clone()).collect();
    assert_eq!(
        arns,
        [format!("{sm}:3"), format!("{sm}:1"), format!("{sm}:2")],
        "in creation order, updates keep their place"
    );
    assert_eq!(versions[0].body, json!({"description": "changed"}));
    let aliases = store
        .list_resources(ResourceKind::Alias, Some(&sm))
        .await
        .expect("list");
    assert_eq!(aliases, vec![alias.clone()]);
    let revisions = store
        .list_resources(ResourceKind::Revision, Some(&sm))
        .await
        .expect("list");
    assert_eq!(revisions.len(), 2);

    // Listing a kind without a parent sees every record of that kind.
    let machines = store
        .list_resources(ResourceKind::StateMachine, None)
        .await
        .expect("list");
    assert_eq!(machines.iter().filter(|r| r.arn == sm).count(), 1);

    let activity = Resource {
        kind: ResourceKind::Activity,
        arn: format!("{PREFIX}:activity:{ns}-rec"),
        parent: None,
        body: json!({"name": format!("{ns}-rec"), "creationDate": 5}),
    };
    store.put_resource(&activity, true).await.expect("activity");
    let tags = Resource {
        kind: ResourceKind::Tags,
        arn: activity.arn.clone(),
        parent: None,
        body: json!([{"key": "k", "value": "v"}]),
    };
    store.put_resource(&tags, false).await.expect("tags");
    assert_eq!(
        store
            .get_resource(ResourceKind::Tags, &activity.arn)
            .await
            .expect("get"),
        Some(tags),
        "a kind and an ARN name one record: tags beside their activity"
    );
    assert_eq!(
        store
            .get_resource(ResourceKind::Activity, &activity.arn)
            .await
            .expect("get"),
        Some(activity.clone())
    );

    assert!(store
        .delete_resource(ResourceKind::Alias, &alias.arn)
        .await
        .expect("delete"));
    assert!(
        !store
            .delete_resource(ResourceKind::Alias, &alias.arn)
            .await
            .expect("delete again"),
        "deleting what is not there answers false"
    );
    assert!(store
        .get_resource(ResourceKind::Alias, &alias.arn)
        .await
        .expect("get")
        .is_none());
    assert!(store
        .list_resources(ResourceKind::Alias, Some(&sm))
        .await
        .expect("list")
        .is_empty());
}

/// Pending timers and in-flight task invocations survive in the store (for a store whose
/// driver recovers them after a restart: the embedded one; on AWS, SQS and Scheduler hold them).
pub async fn timers_and_inflight_are_kept<S: ApiStore>(store: &S, ns: &str) {
    let exec = format!("{PREFIX}:execution:{ns}-t:e");
    let timer = |timer, at_ms| PendingTimer {
        execution_arn: exec.clone(),
        timer,
        at_ms,
    };
    store.put_timer(&timer(2, 9_000)).await.expect("timer");
    store.put_timer(&timer(1, 8_000)).await.expect("timer");
    store
        .put_timer(&timer(1, 8_500))
        .await
        .expect("timer again");
    let mine: Vec<PendingTimer> = store
        .timers()
        .await
        .expect("timers")
        .into_iter()
        .filter(|t| t.execution_arn == exec)
        .collect();
    assert_eq!(
        mine,
        vec![timer(1, 8_500), timer(2, 9_000)],
        "earliest first, one per id"
    );
    store.delete_timer(&exec, 1).await.expect("delete");
    assert!(!store
        .timers()
        .await
        .expect("timers")
        .contains(&timer(1, 8_500)));

    let call = Command::InvokeTask {
        task: 5,
        state_name: "T".into(),
        resource: "arn:aws:states:::lambda:invoke".into(),
        parameters: json!({"x": 1}),
        task_token: None,
        heartbeat_seconds: None,
        timeout_seconds: Some(3),
    };
    store.put_inflight(&exec, &call).await.expect("inflight");
    let inflight = store.inflight().await.expect("inflight");
    assert!(inflight.contains(&(exec.clone(), call.clone())));
    store.delete_inflight(&exec, 5).await.expect("delete");
    assert!(!store
        .inflight()
        .await
        .expect("inflight")
        .contains(&(exec, call)));
}

/// Every case both stores implement, each under its own part of `ns`.
pub async fn run_all<S: ApiStore>(store: &S, ns: &str) {
    executions_commit_on_the_version_read(store, &format!("{ns}1")).await;
    executions_are_created_with_their_first_step(store, &format!("{ns}8")).await;
    history_pages_forward_and_backward(store, &format!("{ns}2")).await;
    executions_are_listed_and_filtered(store, &format!("{ns}3")).await;
    task_tokens_record_their_task(store, &format!("{ns}4")).await;
    activity_tasks_are_handed_out_once(store, &format!("{ns}5")).await;
    records_are_kept_by_kind_and_arn(store, &format!("{ns}6")).await;
    deep::payloads_of_any_depth_are_kept(store, &format!("{ns}7")).await;
}
