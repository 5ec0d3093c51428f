//! The invoker's handler: Task calls and due timers from the tasks queue, outcomes to the
//! transitions queue.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use stepwise_ports::tasks::TaskInvoker;
use stepwise_store_aws::handlers::{on_tasks, Deps, Record};

/// Runs each message; failed ones are reported for redelivery.
pub async fn handle(
    deps: &Deps,
    invoker: &dyn TaskInvoker,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let records: Vec<Record> = event
        .payload
        .records
        .into_iter()
        .map(|m| Record {
            message_id: m.message_id.unwrap_or_default(),
            body: m.body.unwrap_or_default(),
            group: None,
        })
        .collect();
    let failed = on_tasks(deps, invoker, &records).await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    Ok(response)
}
