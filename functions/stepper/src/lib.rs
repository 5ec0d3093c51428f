//! The stepper's handler: an SQS batch from the transitions queue in, the messages to retry out.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use stepwise_store_aws::handlers::{on_transitions, Deps, Record};

/// Applies each message to its execution; failed ones (and those after them in their message
/// group) are reported so SQS delivers them again, in order.
pub async fn handle(deps: &Deps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    let records: Vec<Record> = event
        .payload
        .records
        .into_iter()
        .map(|m| Record {
            message_id: m.message_id.unwrap_or_default(),
            body: m.body.unwrap_or_default(),
            group: m.attributes.get("MessageGroupId").cloned(),
        })
        .collect();
    let failed = on_transitions(deps, &records).await;
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
