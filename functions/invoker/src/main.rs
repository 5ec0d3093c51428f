//! Lambda entry point of the invoker. Lambda tasks go to the Lambda service of the account
//! (`AWS_ENDPOINT_URL_LAMBDA` points it elsewhere); the other service integrations go where the
//! SDK configuration says (`AWS_ENDPOINT_URL(_<SERVICE>)`, the region); `states:startExecution`
//! starts its child in this same deployment. `STEPWISE_MOCK_CONFIG` names a Step Functions Local
//! mock configuration file to serve mocked test cases from; `STEPWISE_ACCOUNT_ID` the account
//! of the ARNs the Step Functions service makes. AWS calls are made as each execution's
//! `roleArn` (STS AssumeRole) unless `STEPWISE_ASSUME_ROLE=0`. Its events are Task calls handed
//! to it directly (asynchronous invocations) or batches of the tasks queue; the calls of the
//! steps it commits it hands to itself.

use invoker::Invoker;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use stepwise_api::ServiceConfig;
use stepwise_runtime::tasks::{MockConfig, MockInvoker};
use stepwise_store_aws::{Aws, Names};
use stepwise_tasks_aws::{EventBridgeStatusEvents, LambdaInvoker, ServiceSettings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON lines, each with the execution's ARN (stepwise_store_aws::logs).
    stepwise_store_aws::logs::init();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mock = match std::env::var("STEPWISE_MOCK_CONFIG") {
        Ok(path) => Some(MockInvoker::new(MockConfig::from_file(&path)?)),
        Err(_) => None,
    };
    let service_config = ServiceConfig {
        region: config
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| ServiceConfig::default().region),
        account: std::env::var("STEPWISE_ACCOUNT_ID")
            .unwrap_or_else(|_| ServiceConfig::default().account),
        mock: None,
        ..ServiceConfig::default()
    };
    // A `.sync` child stopped with its parent's task commits a step here.
    let mut names = Names::from_env()?;
    // The Task calls of the steps this function commits go to itself, directly (its own name,
    // which Lambda gives every function), unless STEPWISE_INVOKER_FUNCTION says otherwise (set
    // empty: through the tasks queue).
    if std::env::var_os("STEPWISE_INVOKER_FUNCTION").is_none() {
        names.invoker_function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok();
    }
    let mut aws = Aws::from_env(names).await;
    if let Some(sink) = EventBridgeStatusEvents::from_env().await {
        aws = aws.with_status_events(std::sync::Arc::new(sink));
    }
    let invoker = Invoker::new(
        aws,
        service_config,
        Some(LambdaInvoker::from_sdk_config(&config)),
        mock,
        ServiceSettings::default(),
        // As Step Functions does: every call as the state machine's role, unless
        // STEPWISE_ASSUME_ROLE=0 says to use the function's own role.
        std::env::var("STEPWISE_ASSUME_ROLE").map_or(true, |v| v != "0"),
    )
    .await?;
    let invoker = &invoker;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            Box::pin(invoker.handle_any(event)).await
        },
    ))
    .await
}
