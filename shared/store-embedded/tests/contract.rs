//! The store contract (`stepwise-store-contract`) on the SQLite store, in a fresh temporary
//! directory per case.

use stepwise_store_contract as contract;
use stepwise_store_embedded::SqliteStore;

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

#[tokio::test]
async fn every_case_in_one_store() {
    let (_d, s) = store();
    contract::run_all(&s, "all").await;
}
