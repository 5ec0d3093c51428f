//! Lambda entry point of the api function. The clients are built once per container from the
//! environment (`stepwise_store_aws::Names::from_env`); the service's region is `AWS_REGION`,
//! its account the API's (`requestContext.accountId` of the first request) unless
//! `STEPWISE_ACCOUNT_ID` says otherwise; `STEPWISE_MOCK_CONFIG` (the invoker's mock configuration
//! file) lets StartExecution accept and check `stateMachineArn#TestCase`. TestState runs Lambda
//! tasks with the account's Lambda and the other integrations where the SDK configuration says. A
//! `roleArn` Stepwise cannot assume is refused at CreateStateMachine and UpdateStateMachine unless
//! `STEPWISE_ASSUME_ROLE=0`.

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use std::sync::Arc;
use stepwise_api::ServiceConfig;
use stepwise_aws_api::{AwsCaller, AwsSettings};
use stepwise_ports::roles::RoleCheck;
use stepwise_ports::states_api::{LateStatesApi, StatesApi};
use stepwise_runtime::tasks::{MockConfig, TaskRouter};
use stepwise_store_aws::{Aws, Names};
use stepwise_tasks_aws::roles::StsRoleCheck;
use stepwise_tasks_aws::{
    AwsServiceInvoker, EventBridgeStatusEvents, LambdaInvoker, ServiceSettings,
};
use tokio::sync::OnceCell;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON lines, each with the execution's ARN (stepwise_store_aws::logs).
    stepwise_store_aws::logs::init();
    // CreateStateMachine and ValidateStateMachineDefinition reject an unknown aws-sdk service
    // or action as AWS does.
    stepwise_asl::validate::register_aws_sdk_check(stepwise_tasks_aws::aws_sdk::check_resource);
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut aws = Aws::from_sdk_config(Names::from_env()?, &config, None);
    // StopExecution, RedriveExecution and the task callbacks commit steps here too.
    if let Some(sink) = EventBridgeStatusEvents::from_env().await {
        aws = aws.with_status_events(Arc::new(sink));
    }
    let region = config
        .region()
        .map(|r| r.to_string())
        .or_else(|| std::env::var("AWS_REGION").ok())
        .unwrap_or_else(|| "us-east-1".into());
    // TestState's service tasks: states:startExecution starts its child in this deployment.
    let states_api = LateStatesApi::new();
    let services = AwsServiceInvoker::new(ServiceSettings::default())
        .await?
        .with_states_api(states_api.clone());
    let invoker = Arc::new(
        TaskRouter::new()
            .with_lambda(LambdaInvoker::from_sdk_config(&config))
            .with_fallback(Arc::new(services)),
    );
    let mock = match std::env::var("STEPWISE_MOCK_CONFIG") {
        Ok(path) => Some(Arc::new(MockConfig::from_file(&path)?)),
        Err(_) => None,
    };
    // As Step Functions does: a roleArn that cannot be assumed is refused at creation (the
    // invoker calls as it), unless STEPWISE_ASSUME_ROLE=0 says the functions' own role is used.
    let roles: Option<Arc<dyn RoleCheck>> =
        if std::env::var("STEPWISE_ASSUME_ROLE").map_or(true, |v| v != "0") {
            let caller = AwsCaller::from_env(AwsSettings::default()).await;
            Some(Arc::new(StsRoleCheck::new(caller)))
        } else {
            None
        };
    let service: OnceCell<api::ApiService> = OnceCell::new();
    let (service, aws, region, invoker, states_api, roles, mock) = (
        &service,
        &aws,
        &region,
        &invoker,
        &states_api,
        &roles,
        &mock,
    );
    run(service_fn(
        move |event: LambdaEvent<ApiGatewayProxyRequest>| async move {
            let s = service
                .get_or_init(|| async {
                    let account = std::env::var("STEPWISE_ACCOUNT_ID")
                        .ok()
                        .or_else(|| event.payload.request_context.account_id.clone())
                        .unwrap_or_else(|| ServiceConfig::default().account);
                    let config = ServiceConfig {
                        region: region.clone(),
                        account,
                        mock: mock.clone(),
                        ..ServiceConfig::default()
                    };
                    let s = api::ApiService::with_role_check(
                        aws.clone(),
                        config,
                        Some(invoker.clone()),
                        roles.clone(),
                    );
                    let as_api: Arc<dyn StatesApi> = s.service.clone();
                    states_api.bind(Arc::downgrade(&as_api));
                    s
                })
                .await;
            Box::pin(api::handle(s, event)).await
        },
    ))
    .await
}
