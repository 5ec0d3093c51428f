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
    let failed = on_tasks(deps, invoker, &records(event.payload)).await;
    Ok(batch_response(failed))
}

/// The batch's messages (the tasks queue is a standard queue: no message groups).
fn records(event: SqsEvent) -> Vec<Record> {
    event
        .records
        .into_iter()
        .map(|m| Record {
            message_id: m.message_id.unwrap_or_default(),
            body: m.body.unwrap_or_default(),
            group: None,
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
    fn messages_are_read_and_failures_reported_by_id() {
        let mut m = SqsMessage::default();
        m.message_id = Some("t-1".into());
        m.body = Some(r#"{"task":1}"#.into());
        let mut event = SqsEvent::default();
        event.records = vec![m];
        let r = records(event);
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].message_id.as_str(), r[0].body.as_str()),
            ("t-1", r#"{"task":1}"#)
        );
        let response = batch_response(vec!["t-1".into()]);
        assert_eq!(response.batch_item_failures.len(), 1);
        assert_eq!(response.batch_item_failures[0].item_identifier, "t-1");
    }
}
