//! Lambda entry point of the invoker. Lambda tasks go to the Lambda service of the account
//! (`AWS_ENDPOINT_URL_LAMBDA` points it elsewhere); `STEPWISE_MOCK_CONFIG` names a Step Functions
//! Local mock configuration file to serve mocked test cases from.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use stepwise_runtime::tasks::{MockConfig, MockInvoker, TaskRouter};
use stepwise_store_aws::handlers::Deps;
use stepwise_store_aws::{Aws, Names};
use stepwise_tasks_aws::LambdaInvoker;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut router = TaskRouter::new().with_lambda(LambdaInvoker::from_sdk_config(&config));
    if let Ok(path) = std::env::var("STEPWISE_MOCK_CONFIG") {
        router = router.with_mock(MockInvoker::new(MockConfig::from_file(&path)?));
    }
    let deps = Deps::new(Aws::from_env(Names::from_env()?).await);
    let (deps, router) = (&deps, &router);
    run(service_fn(move |event: LambdaEvent<_>| async move {
        invoker::handle(deps, router, event).await
    }))
    .await
}
