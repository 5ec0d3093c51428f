//! Lambda entry point of the stepper.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use stepwise_store_aws::handlers::Deps;
use stepwise_store_aws::{Aws, Names};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = Deps::new(Aws::from_env(Names::from_env()?).await);
    let deps = &deps;
    run(service_fn(move |event: LambdaEvent<_>| async move {
        stepper::handle(deps, event).await
    }))
    .await
}
