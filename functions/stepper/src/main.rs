//! Lambda entry point of the stepper. With `STEPWISE_EVENT_BUS` set, the steps that start, redrive
//! or end an execution send its status change event there.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use std::sync::Arc;
use stepwise_store_aws::handlers::Deps;
use stepwise_store_aws::{Aws, Names};
use stepwise_tasks_aws::EventBridgeStatusEvents;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON lines, each with the execution's ARN (stepwise_store_aws::logs).
    stepwise_store_aws::logs::init();
    let mut aws = Aws::from_env(Names::from_env()?).await;
    if let Some(sink) = EventBridgeStatusEvents::from_env().await {
        aws = aws.with_status_events(Arc::new(sink));
    }
    let deps = Deps::new(aws);
    let deps = &deps;
    run(service_fn(move |event: LambdaEvent<_>| async move {
        stepper::handle(deps, event).await
    }))
    .await
}
