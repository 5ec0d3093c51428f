//! The stepper's handler: an SQS batch from the transitions queue (or the timers queue) in, the
//! messages to retry out.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use stepwise_store_aws::handlers::{on_transitions, Deps, Record};

/// Applies each message to its execution; failed ones (and those after them in their message
/// group) are reported so SQS delivers them again, in order.
pub async fn handle(deps: &Deps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    // Boxed: the step's future (engine, store, dispatcher) is deep for a stack.
    let failed = Box::pin(on_transitions(deps, &records(event.payload))).await;
    Ok(batch_response(failed))
}

/// The batch's messages, each with its FIFO message group (one execution's transitions; none
/// for the timers queue's).
fn records(event: SqsEvent) -> Vec<Record> {
    event
        .records
        .into_iter()
        .map(|m| Record {
            receive_count: Record::receive_count_of(&m.attributes),
            receipt_handle: m.receipt_handle.clone(),
            message_id: m.message_id.unwrap_or_default(),
            body: m.body.unwrap_or_default(),
            group: m.attributes.get("MessageGroupId").cloned(),
        })
        .collect()
}

/// The partial batch response that makes SQS redeliver exactly the `failed` messages.
fn batch_response(failed: Vec<String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::sqs::SqsMessage;

    #[test]
    fn messages_keep_their_group_and_failures_are_reported_by_id() {
        let mut m = SqsMessage::default();
        m.message_id = Some("m-1".into());
        m.body = Some("{}".into());
        m.attributes
            .insert("MessageGroupId".into(), "arn:execution".into());
        let mut event = SqsEvent::default();
        event.records = vec![m, SqsMessage::default()];
        let r = records(event);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].message_id, "m-1");
        assert_eq!(r[0].group.as_deref(), Some("arn:execution"));
        assert_eq!(r[1].group, None);
        let response = batch_response(vec!["m-1".into(), "m-3".into()]);
        let ids: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(ids, ["m-1", "m-3"]);
    }
}
