//! The store contract (`stepwise-store-contract`) on the SQLite store, in a fresh temporary
//! directory per case.

use std::future::Future;
use stepwise_engine::deep;
use stepwise_store_contract as contract;
use stepwise_store_embedded::SqliteStore;

/// Runs `case` on a thread with room for the deepest payload (cloning and dropping a 10,000-level
/// value overflows the test harness's 2 MiB threads), on a runtime of its own.
fn on_deep_stack<F: Future<Output = ()>>(case: impl FnOnce() -> F + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(deep::STACK_SIZE)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(case())
        })
        .expect("a thread")
        .join()
        .expect("the case passed");
}

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open the store");
    (dir, store)
}

#[tokio::test]
async fn executions_commit_on_the_version_read() {
    let (_d, s) = store();
    contract::executions_commit_on_the_version_read(&s, "c").await;
}

#[tokio::test]
async fn history_pages_forward_and_backward() {
    let (_d, s) = store();
    contract::history_pages_forward_and_backward(&s, "c").await;
}

#[tokio::test]
async fn executions_are_listed_and_filtered() {
    let (_d, s) = store();
    contract::executions_are_listed_and_filtered(&s, "c").await;
}

#[tokio::test]
async fn task_tokens_record_their_task() {
    let (_d, s) = store();
    contract::task_tokens_record_their_task(&s, "c").await;
}

#[tokio::test]
async fn activity_tasks_are_handed_out_once() {
    let (_d, s) = store();
    contract::activity_tasks_are_handed_out_once(&s, "c").await;
}

#[tokio::test]
async fn records_are_kept_by_kind_and_arn() {
    let (_d, s) = store();
    contract::records_are_kept_by_kind_and_arn(&s, "c").await;
}

#[tokio::test]
async fn timers_and_inflight_are_kept() {
    let (_d, s) = store();
    contract::timers_and_inflight_are_kept(&s, "c").await;
}

#[test]
fn every_case_in_one_store() {
    on_deep_stack(|| async {
        let (_d, s) = store();
        contract::run_all(&s, "all").await;
    });
}

/// Deep and large payloads read back, and read back again from the same file reopened.
#[test]
fn payloads_of_any_depth_are_kept_across_a_reopen() {
    on_deep_stack(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let values = contract::deep::hard_values();
        let mut arns = Vec::new();
        {
            let s = SqliteStore::open(dir.path()).expect("open the store");
            for (i, v) in values.iter().enumerate() {
                arns.push(contract::deep::payload_is_stored(&s, "r", &format!("e{i}"), v).await);
            }
        }
        let s = SqliteStore::open(dir.path()).expect("the store reopens");
        for (arn, v) in arns.iter().zip(&values) {
            contract::deep::payload_reads_back(&s, arn, v).await;
        }
    });
}

/// A record damaged outside Stepwise (not JSON any more) costs only itself: the store opens,
/// lists the others, and a restart's reads of the rest work.
#[tokio::test]
async fn one_unreadable_record_is_left_out_of_lists() {
    use stepwise_ports::api::{ApiStore, ExecutionFilter, ResourceKind};
    let (d, s) = store();
    contract::executions_are_listed_and_filtered(&s, "c").await;
    contract::records_are_kept_by_kind_and_arn(&s, "r").await;
    let filter = ExecutionFilter::default();
    let before = s.list_executions(&filter, 0, 1_000).await.expect("list");
    let machines = s
        .list_resources(ResourceKind::StateMachine, None)
        .await
        .expect("list");
    assert!(before.len() > 1 && !machines.is_empty());
    drop(s);
    let db = rusqlite::Connection::open(d.path().join(stepwise_store_embedded::DB_FILE))
        .expect("open the file");
    db.execute(
        "UPDATE executions SET meta = '{not json' WHERE arn = ?1",
        [&before[0].meta.arn],
    )
    .expect("damage a row");
    db.execute(
        "UPDATE resources SET body = '[' WHERE kind = 'stateMachine' AND arn = ?1",
        [&machines[0].arn],
    )
    .expect("damage a record");
    drop(db);
    let s = SqliteStore::open(d.path()).expect("the store still opens");
    let after = s.list_executions(&filter, 0, 1_000).await.expect("list");
    assert_eq!(after.len(), before.len() - 1);
    let left = s
        .list_resources(ResourceKind::StateMachine, None)
        .await
        .expect("list");
    assert_eq!(left.len(), machines.len() - 1);
}

#[tokio::test]
async fn executions_are_created_with_their_first_step() {
    let (_d, s) = store();
    // SQLite writes the creation and the first step in one transaction.
    assert!(contract::executions_are_created_with_their_first_step(&s, "f").await);
}
