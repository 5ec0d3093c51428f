//! Lambda entry point of the trigger; `STEPWISE_TRIGGER_STATE_MACHINE_ARN` names the machine.
//! The API service it starts executions through takes its region and account from that ARN.
// The futures of the API service it awaits nest deeper than the compiler's default layout depth.
#![recursion_limit = "256"]

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use stepwise_api::ServiceConfig;
use stepwise_store_aws::{Aws, Names};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON lines, each with the execution's ARN (stepwise_store_aws::logs).
    stepwise_store_aws::logs::init();
    let arn = std::env::var("STEPWISE_TRIGGER_STATE_MACHINE_ARN")
        .map_err(|_| "STEPWISE_TRIGGER_STATE_MACHINE_ARN is not set")?;
    let field = |i: usize| arn.split(':').nth(i).map(str::to_string);
    let defaults = ServiceConfig::default();
    let config = ServiceConfig {
        region: field(3).unwrap_or(defaults.region),
        account: field(4).unwrap_or(defaults.account),
        mock: None,
        ..ServiceConfig::default()
    };
    let service = api::ApiService::new(Aws::from_env(Names::from_env()?).await, config, None);
    let (service, arn) = (&service, arn.as_str());
    run(service_fn(move |event: LambdaEvent<_>| async move {
        trigger::handle(service, arn, event).await
    }))
    .await
}
