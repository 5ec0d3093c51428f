//! The invoker's handler: Task calls handed over directly (asynchronous invocations) or from the
//! tasks queue, outcomes to the transitions queue; and [`Invoker`], the function as `main`
//! builds it (Lambda, the service integrations, `states:startExecution` into this same
//! deployment).

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use stepwise_api::map_run::MapRunInvoker;
use stepwise_api::{Service, ServiceConfig};
use stepwise_ports::execution::ExecutionStore;
use stepwise_ports::states_api::StatesApi;
use stepwise_ports::tasks::TaskInvoker;
use stepwise_ports::BoxFuture;
use stepwise_runtime::tasks::{MockInvoker, TaskRouter};
use stepwise_store_aws::api_driver::AwsDriver;
use stepwise_store_aws::attempts::Invocation;
use stepwise_store_aws::handlers::{on_task_invocation, on_tasks, Deps, Record};
use stepwise_store_aws::meter::Meter;
use stepwise_store_aws::ports::AwsStore;
pub use stepwise_store_aws::queues::TaskInvocation;
use stepwise_store_aws::Aws;
use stepwise_tasks_aws::connections::ConnectionsFileError;
use stepwise_tasks_aws::roles::{AssumedRoles, RoleLookup};
use stepwise_tasks_aws::{AwsServiceInvoker, LambdaInvoker, ServiceSettings};

/// Reads an execution's role from the table.
struct StoredRoles(Arc<AwsStore>);

impl RoleLookup for StoredRoles {
    fn role_of<'a>(&'a self, execution_arn: &'a str) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            self.0
                .load(execution_arn)
                .await
                .ok()
                .flatten()
                .map(|e| e.state.info.role_arn)
        })
    }
}

/// The invoker function: its dependencies, its task router and the driver of the Step Functions
/// service that `states:startExecution` starts children with.
pub struct Invoker {
    /// The store, queues and meter.
    pub deps: Deps,
    /// Distributed Maps' runs (in pieces: [`MAP_RUN_PIECE`]), then mock, then Lambda, then
    /// the service integrations.
    pub router: Arc<dyn TaskInvoker>,
    /// The front of `router`: map runs.
    pub map_runs: Arc<MapRunInvoker<AwsStore>>,
    driver: Arc<AwsDriver>,
}

/// How long one invocation carries a map run on before it pauses (the function's timeout is
/// 15 minutes).
pub const MAP_RUN_PIECE: std::time::Duration = std::time::Duration::from_secs(600);

impl Invoker {
    /// The function over `aws`: Lambda tasks with `lambda` (when given), the other integrations
    /// with `settings`, child executions in the same table (ARNs in `config`'s region and
    /// account), mocked states from `mock` first. With `assume_roles`, every AWS call of a task
    /// is made as its execution's `roleArn` (STS AssumeRole, the session named after the
    /// execution), as Step Functions does.
    pub async fn new(
        aws: Aws,
        config: ServiceConfig,
        lambda: Option<LambdaInvoker>,
        mock: Option<MockInvoker>,
        settings: ServiceSettings,
        assume_roles: bool,
    ) -> Result<Self, ConnectionsFileError> {
        let store = Arc::new(AwsStore::new(aws.clone(), Arc::new(Meter::default())));
        let driver = Arc::new(AwsDriver::new(store.clone()));
        let roles = if assume_roles {
            Some(
                AssumedRoles::new(
                    Arc::new(StoredRoles(store.clone())),
                    settings.region.clone(),
                    settings.endpoint_url.clone(),
                    settings.credentials.clone(),
                )
                .await,
            )
        } else {
            None
        };
        // A distributed Map's children are executions of their own, as in Step Functions.
        let config = ServiceConfig {
            map_runs_as_executions: true,
            ..config
        };
        let service = Arc::new(Service::new(store, driver.clone(), config));
        let states: Arc<dyn StatesApi> = service.clone();
        let mut services = AwsServiceInvoker::new(settings)
            .await?
            .with_states_api(states);
        if let Some(r) = roles {
            services = services.with_roles(r);
        }
        let map_objects = services.map_objects();
        let mut router = TaskRouter::new().with_fallback(Arc::new(services));
        if let Some(l) = lambda {
            router = router.with_lambda(l);
        }
        if let Some(m) = mock {
            router = router.with_mock(m);
        }
        let map_runs = MapRunInvoker::in_pieces(Arc::new(router), map_objects, MAP_RUN_PIECE);
        map_runs.bind(&service);
        Ok(Invoker {
            deps: Deps::new(aws),
            router: map_runs.clone(),
            map_runs,
            driver,
        })
    }

    /// Runs a batch; child executions started meanwhile are on the transitions queue before it
    /// returns (Lambda freezes whatever still runs after the response).
    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        // Boxed: the router's future (every integration's state) is large for a stack.
        let out = Box::pin(handle(&self.deps, self.router.as_ref(), event)).await;
        self.driver.flush().await?;
        out
    }

    /// Runs a Task call handed over directly (an asynchronous invocation).
    pub async fn handle_invocation(&self, event: LambdaEvent<TaskInvocation>) -> Result<(), Error> {
        let out = Box::pin(handle_invocation(&self.deps, self.router.as_ref(), event)).await;
        self.driver.flush().await?;
        out
    }

    /// What Lambda hands the function: a batch of the tasks queue (its event source mapping)
    /// or a Task call invoked directly ([`TaskInvocation`]); the answer is the batch's partial
    /// failures, or nothing.
    pub async fn handle_any(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let (payload, context) = (event.payload, event.context);
        if payload.get("stepwiseTask").is_some() {
            let call: TaskInvocation = serde_json::from_value(payload)?;
            self.handle_invocation(LambdaEvent::new(call, context))
                .await?;
            return Ok(Value::Null);
        }
        let batch: SqsEvent = serde_json::from_value(payload)?;
        let response = self.handle(LambdaEvent::new(batch, context)).await?;
        Ok(serde_json::to_value(response)?)
    }
}

/// Runs one Task call handed over directly ([`on_task_invocation`]): `Err` makes Lambda invoke
/// again, then send the event to the on-failure destination (the tasks dead-letter queue).
pub async fn handle_invocation(
    deps: &Deps,
    invoker: &dyn TaskInvoker,
    event: LambdaEvent<TaskInvocation>,
) -> Result<(), Error> {
    let by = Invocation::new(
        event.context.request_id.clone(),
        i64::try_from(event.context.deadline).unwrap_or(i64::MAX),
    );
    on_task_invocation(deps, invoker, &event.payload, &by).await?;
    Ok(())
}

/// Runs each message (the event source sends one at a time: a batch would be handed back whole
/// when the function times out, and every call in it made again); failed ones are reported for
/// redelivery. The function's deadline and request id are recorded with each task attempt, so a
/// duplicate delivered meanwhile waits for it rather than calling the task again, and the SDK's
/// retry of the record's own write (its answer lost) is known as this invocation's.
pub async fn handle(
    deps: &Deps,
    invoker: &dyn TaskInvoker,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let by = Invocation::new(
        event.context.request_id.clone(),
        i64::try_from(event.context.deadline).unwrap_or(i64::MAX),
    );
    let failed = on_tasks(deps, invoker, &records(event.payload), &by).await;
    Ok(batch_response(failed))
}

/// The batch's messages (the tasks queue is a standard queue: no message groups).
fn records(event: SqsEvent) -> Vec<Record> {
    event
        .records
        .into_iter()
        .map(|m| Record {
            receive_count: Record::receive_count_of(&m.attributes),
            receipt_handle: m.receipt_handle.clone(),
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
