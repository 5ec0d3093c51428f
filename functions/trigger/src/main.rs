//! Lambda entry point of the trigger; `STEPWISE_TRIGGER_STATE_MACHINE_ARN` names the machine.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use stepwise_store_aws::handlers::Deps;
use stepwise_store_aws::{Aws, Names};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let arn = std::env::var("STEPWISE_TRIGGER_STATE_MACHINE_ARN")
        .map_err(|_| "STEPWISE_TRIGGER_STATE_MACHINE_ARN is not set")?;
    let deps = Deps::new(Aws::from_env(Names::from_env()?).await);
    let (deps, arn) = (&deps, arn.as_str());
    run(service_fn(move |event: LambdaEvent<_>| async move {
        trigger::handle(deps, arn, event).await
    }))
    .await
}
