//! The store contract (`stepwise-store-contract`) on the DynamoDB store, against DynamoDB Local
//! (started as the serverless tests start it; skipped where it cannot run, failed under CI).
//! The same cases run on SQLite in `stepwise-store-embedded`'s own tests.

use std::sync::Arc;
use stepwise_store_aws::meter::Meter;
use stepwise_store_aws::ports::AwsStore;
use stepwise_store_aws::table::create_table;
use stepwise_store_aws::{Aws, Names};
use stepwise_store_contract as contract;
use stepwise_tests::emulators::{start_or_skip, Emulators};

/// A store on a fresh table and payload bucket; the queues are named but never used by these
/// ports.
async fn store() -> Option<(Emulators, AwsStore)> {
    let emulators = start_or_skip()?;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&emulators.moto_url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    let names = Names {
        table: "stepwise-contract".into(),
        transitions_queue_url: format!("{}/queue/unused.fifo", emulators.moto_url),
        transitions_queue_arn: "arn:aws:sqs:us-east-1:123456789012:unused.fifo".into(),
        tasks_queue_url: format!("{}/queue/unused", emulators.moto_url),
        timers_queue_url: format!("{}/queue/unused", emulators.moto_url),
        scheduler_dead_letter_queue_arn: "arn:aws:sqs:us-east-1:123456789012:unused".into(),
        // Payloads past DynamoDB's item size go to S3 (the contract's 200 KB case does).
        payload_bucket: "stepwise-contract-payloads".into(),
        schedule_group: "unused".into(),
        scheduler_role_arn: "arn:aws:iam::123456789012:role/unused".into(),
        retention_days: None,
        invoker_function: None,
    };
    let aws = Aws::from_sdk_config(names, &config, Some(&emulators.dynamodb_url));
    aws.s3
        .create_bucket()
        .bucket("stepwise-contract-payloads")
        .send()
        .await
        .expect("create the payload bucket");
    create_table(&aws).await.expect("create table");
    Some((emulators, AwsStore::new(aws, Arc::new(Meter::default()))))
}

/// Every shared case on one table, each under its own namespace; then the cases one by one
/// again on the same table, as they would meet other records in a real one.
#[test]
fn the_dynamodb_store_keeps_the_store_contract() {
    // On a thread with room for the contract's deepest payloads (10,000 levels and more).
    std::thread::Builder::new()
        .stack_size(stepwise_engine::deep::STACK_SIZE)
        .spawn(|| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(every_case())
        })
        .expect("a thread")
        .join()
        .expect("the contract holds");
}

async fn every_case() {
    let Some((_emulators, s)) = store().await else {
        return;
    };
    contract::executions_commit_on_the_version_read(&s, "a").await;
    contract::history_pages_forward_and_backward(&s, "b").await;
    contract::executions_are_listed_and_filtered(&s, "c").await;
    contract::task_tokens_record_their_task(&s, "d").await;
    contract::activity_tasks_are_handed_out_once(&s, "e").await;
    contract::records_are_kept_by_kind_and_arn(&s, "f").await;
    contract::run_all(&s, "all").await;
}
