//! The serverless home end to end, on real AWS-compatible servers started on 127.0.0.1
//! (DynamoDB Local, moto's server for SQS, Scheduler and S3).
//!
//! A harness plays what Lambda's event source mappings and EventBridge Scheduler would do: it
//! polls the queues and calls the real function handlers (`stepper::handle`, `invoker::handle`)
//! with SQS event batches (the tasks queue one message at a time, as the templates map it),
//! honours their partial batch failures, and fires due schedules as Scheduler does (moto stores
//! schedules but never fires them): the target input sent to the FIFO queue with the message
//! group and no deduplication id, the schedule deleted only when `ActionAfterCompletion` says so.
//! The queues are created with the templates' attributes.
//!
//! - [`runs`]: machines run to their end (workloads, the conformance corpus, faults, a 100k-event
//!   execution, metering, S3/EventBridge triggers);
//! - [`api_function`]: the API Lambda's lifecycle, activities and task tokens;
//! - [`resume`]: resume from any state and start at a state through the API Lambda;
//! - [`retention`]: the TTL attributes and payload tags `RetentionDays` puts on closed executions.
//! - [`integrations`], [`services`], [`jobs`], [`callbacks`]: the service integrations through the invoker function.
//! - [`dlq`]: `stepwise dlq list` / `redrive` on a dead transition;
//! - [`status_events`]: execution status change events to EventBridge (moto), via the outbox;
//! - [`commit_race`]: two writers stepping one execution from the same version;
//! - [`large_payloads`]: events and task parameters past SQS's message size, through S3;
//! - [`map_runs`]: a distributed Map whose children are executions, its run carried out in pieces;
//! - [`timers_and_attempts`]: the timers queue, Scheduler's early firing, task attempts called once.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use stepwise_api::ServiceConfig;
use stepwise_engine::{Command, Status};
use stepwise_ports::execution::{Dispatcher, StoreError, StoredExecution, Usage};
use stepwise_ports::BoxFuture;
use stepwise_runtime::tasks::{MockConfig, MockInvoker};
use stepwise_store_aws::handlers::Deps;
use stepwise_store_aws::meter::Prices;
use stepwise_store_aws::ports::AwsDispatcher;
use stepwise_store_aws::table::{create_table, Table};
use stepwise_store_aws::{Aws, Names};
use stepwise_tasks_aws::ServiceSettings;
use stepwise_tests::emulators::{start_or_skip, Emulators};
use stepwise_tests::{compare_with_recording, load_case, run_definition, shared_dir, Outcome};

const ACCOUNT_SM: &str = "arn:aws:states:us-east-1:111111111111:stateMachine:";

struct Harness {
    _emulators: Emulators,
    aws: Aws,
    stepper: Deps,
    /// The invoker function as its `main` builds it: mocks, then the service integrations
    /// (AWS calls to moto, `states:startExecution` into this deployment).
    invoker: invoker::Invoker,
    /// Deliver every message twice.
    duplicate: bool,
    /// The mock configuration the api function checks test cases against.
    mock_config: Option<std::sync::Arc<MockConfig>>,
    /// Schedules fired already (a one-time schedule fires once, deleted or not).
    fired: Mutex<HashSet<String>>,
    /// Task calls handed to the invoker directly ([`harness_direct`]): the events Lambda took
    /// at the test's Lambda endpoint, not yet run.
    direct: Option<DirectCalls>,
}

/// The name the harness's invoker answers asynchronous invocations under.
const INVOKER_FUNCTION: &str = "stepwise-invoker";

/// Asynchronous invocations of the invoker taken by the test's Lambda endpoint, with the tries
/// each has had; and the events Lambda gave up on (three failed tries: its on-failure
/// destination).
#[derive(Clone, Default)]
struct DirectCalls {
    pending: std::sync::Arc<Mutex<Vec<(Value, u32)>>>,
    given_up: std::sync::Arc<Mutex<Vec<Value>>>,
}

/// Fails the first dispatch after each commit, as if the stepper were killed between its commit
/// and its dispatch; the redelivered message then finds the outbox and sends it.
struct KilledAfterCommit {
    inner: AwsDispatcher,
    seen: Mutex<HashSet<(String, u64)>>,
}

impl Dispatcher for KilledAfterCommit {
    fn dispatch<'a>(
        &'a self,
        e: &'a StoredExecution,
        commands: &'a [Command],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let first = self
                .seen
                .lock()
                .expect("lock")
                .insert((e.arn.clone(), e.version));
            if first {
                return Err(StoreError::Other(
                    "killed between commit and dispatch".into(),
                ));
            }
            self.inner.dispatch(e, commands).await
        })
    }

    fn publishes_status_changes(&self) -> bool {
        self.inner.publishes_status_changes()
    }
}

async fn harness(mock: Option<&str>, faults: bool) -> Option<Harness> {
    harness_full(mock, faults, None, None, None, None, false).await
}

/// The harness as the templates deploy it: the functions that commit steps hand their Task
/// calls to the invoker directly (`STEPWISE_INVOKER_FUNCTION`, asynchronous invocations to a
/// Lambda-compatible endpoint the test starts), not through the tasks queue.
async fn harness_direct(mock: Option<&str>, faults: bool) -> Option<Harness> {
    harness_full(mock, faults, None, None, None, None, true).await
}

/// [`harness`] with the deployment's `RetentionDays` (`STEPWISE_RETENTION_DAYS`) and an invoker
/// that reads `http:invoke`'s connections from this file.
async fn harness_with(
    mock: Option<&str>,
    faults: bool,
    retention_days: Option<u32>,
    http_connections: Option<std::path::PathBuf>,
) -> Option<Harness> {
    harness_full(
        mock,
        faults,
        retention_days,
        http_connections,
        None,
        None,
        false,
    )
    .await
}

/// The harness; with `event_bus`, status change events go to that bus on moto.
async fn harness_with_events(
    mock: Option<&str>,
    faults: bool,
    event_bus: Option<&str>,
) -> Option<Harness> {
    harness_full(mock, faults, None, None, event_bus, None, false).await
}

/// A harness whose invoker calls Lambda tasks at `lambda_endpoint` (a Lambda-compatible server).
async fn harness_with_lambda(
    mock: Option<&str>,
    faults: bool,
    lambda_endpoint: Option<String>,
) -> Option<Harness> {
    harness_full(mock, faults, None, None, None, lambda_endpoint, false).await
}

/// The harness with every option.
async fn harness_full(
    mock: Option<&str>,
    faults: bool,
    retention_days: Option<u32>,
    http_connections: Option<std::path::PathBuf>,
    event_bus: Option<&str>,
    lambda_endpoint: Option<String>,
    direct_tasks: bool,
) -> Option<Harness> {
    let emulators = start_or_skip()?;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&emulators.moto_url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    // As template.yaml declares it.
    let fifo = sqs
        .create_queue()
        .queue_name("stepwise-transitions.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
        .attributes(QueueAttributeName::DeduplicationScope, "messageGroup")
        .attributes(QueueAttributeName::FifoThroughputLimit, "perMessageGroupId")
        .send()
        .await
        .expect("create FIFO queue");
    let fifo_url = fifo.queue_url().expect("url").to_string();
    let fifo_arn = sqs
        .get_queue_attributes()
        .queue_url(&fifo_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue arn");
    let tasks = sqs
        .create_queue()
        .queue_name("stepwise-tasks")
        .send()
        .await
        .expect("create tasks queue");
    let timers = sqs
        .create_queue()
        .queue_name("stepwise-timers")
        .send()
        .await
        .expect("create timers queue");
    let schedules_dlq = sqs
        .create_queue()
        .queue_name("stepwise-schedules-dlq")
        .send()
        .await
        .expect("create the schedules' dead-letter queue");
    let schedules_dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(schedules_dlq.queue_url().expect("url"))
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue arn");
    let names = Names {
        table: "stepwise".into(),
        transitions_queue_url: fifo_url,
        transitions_queue_arn: fifo_arn,
        tasks_queue_url: tasks.queue_url().expect("url").to_string(),
        timers_queue_url: timers.queue_url().expect("url").to_string(),
        scheduler_dead_letter_queue_arn: schedules_dlq_arn,
        payload_bucket: "stepwise-payloads".into(),
        schedule_group: "stepwise".into(),
        scheduler_role_arn: "arn:aws:iam::123456789012:role/stepwise-scheduler".into(),
        retention_days,
        invoker_function: direct_tasks.then(|| INVOKER_FUNCTION.to_string()),
    };
    let mut aws = Aws::from_sdk_config(names, &config, Some(&emulators.dynamodb_url));
    let direct = direct_tasks.then(DirectCalls::default);
    if let Some(calls) = &direct {
        // Lambda's side of an asynchronous invocation: the event taken, run later.
        let pending = calls.pending.clone();
        let lambda = crate::serve_common::FakeLambda::start(
            true,
            std::sync::Arc::new(move |name: &str, payload: &Value| {
                assert_eq!(
                    name, INVOKER_FUNCTION,
                    "only the invoker is handed Task calls"
                );
                pending.lock().expect("lock").push((payload.clone(), 0));
                Value::Null
            }),
        );
        aws = aws.with_lambda_endpoint(&config, &lambda.endpoint());
    }
    if let Some(bus) = event_bus {
        let sink = stepwise_tasks_aws::EventBridgeStatusEvents::with_caller(
            moto_caller(&emulators.moto_url).await,
            bus.to_string(),
            None,
        );
        aws = aws.with_status_events(std::sync::Arc::new(sink));
    }
    aws.s3
        .create_bucket()
        .bucket("stepwise-payloads")
        .send()
        .await
        .expect("create bucket");
    aws.scheduler
        .create_schedule_group()
        .name("stepwise")
        .send()
        .await
        .expect("create schedule group");
    create_table(&aws).await.expect("create table");
    let mut stepper = Deps::new(aws.clone());
    if faults {
        stepper.dispatcher = Box::new(KilledAfterCommit {
            inner: AwsDispatcher::new(aws.clone(), stepper.meter.clone()),
            seen: Mutex::new(HashSet::new()),
        });
    }
    let mock_config =
        mock.map(|m| std::sync::Arc::new(MockConfig::from_json_str(m).expect("mock config")));
    let mock = mock_config.as_deref().cloned().map(MockInvoker::new);
    let invoker = invoker_at(
        &aws,
        &emulators.moto_url,
        lambda_endpoint.map(|url| stepwise_tasks_aws::LambdaInvoker::local(url, None)),
        mock,
        http_connections,
    )
    .await;
    // The harness runs the functions one after another: a map run's piece must end for its
    // children's steps to run.
    invoker.map_runs.set_piece(Duration::from_millis(300));
    Some(Harness {
        _emulators: emulators,
        invoker,
        aws,
        stepper,
        duplicate: faults,
        mock_config,
        fired: Mutex::new(HashSet::new()),
        direct,
    })
}

/// The invoker function as the tests deploy it: account 111111111111 in us-east-1, every AWS
/// call to `endpoint_url` with test credentials and made as the execution's role (assumed
/// through moto's STS), `lambda` answering `lambda:invoke` when given.
pub(super) async fn invoker_at(
    aws: &Aws,
    endpoint_url: &str,
    lambda: Option<stepwise_tasks_aws::LambdaInvoker>,
    mock: Option<MockInvoker>,
    http_connections: Option<std::path::PathBuf>,
) -> invoker::Invoker {
    invoker::Invoker::new(
        aws.clone(),
        ServiceConfig {
            region: "us-east-1".into(),
            account: "111111111111".into(),
            mock: None,
            ..Default::default()
        },
        lambda,
        mock,
        ServiceSettings {
            region: Some("us-east-1".into()),
            endpoint_url: Some(endpoint_url.to_string()),
            http_connections,
            credentials: Some(aws_sdk_sqs::config::Credentials::new(
                "test", "test", None, None, "tests",
            )),
            s3_dir: None,
        },
        true,
    )
    .await
    .expect("the invoker function")
}

/// The generic AWS caller, to moto with test credentials.
async fn moto_caller(moto_url: &str) -> stepwise_aws_api::AwsCaller {
    stepwise_aws_api::AwsCaller::from_env(stepwise_aws_api::AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(moto_url.to_string()),
    })
    .await
    .with_credentials(
        aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "tests"),
        ),
    )
}

impl Harness {
    fn table(&self) -> Table<'_> {
        self.stepper.store.table()
    }

    /// Receives a batch from a queue as Lambda's event source mapping would (`batch` messages
    /// at most).
    async fn receive(&self, url: &str, batch: i32) -> Vec<aws_sdk_sqs::types::Message> {
        self.aws
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(batch)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .visibility_timeout(30)
            .send()
            .await
            .map(|o| o.messages().to_vec())
            .unwrap_or_default()
    }

    fn event(messages: &[aws_sdk_sqs::types::Message]) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = messages
            .iter()
            .map(|m| {
                let mut r = SqsMessage::default();
                r.message_id = m.message_id().map(str::to_string);
                r.receipt_handle = m.receipt_handle().map(str::to_string);
                r.body = m.body().map(str::to_string);
                if let Some(attrs) = m.attributes() {
                    for (k, v) in attrs {
                        r.attributes.insert(k.as_str().to_string(), v.clone());
                    }
                }
                r
            })
            .collect();
        event
    }

    /// Deletes what the handler processed; makes what it reported failed visible again.
    async fn settle(
        &self,
        url: &str,
        messages: &[aws_sdk_sqs::types::Message],
        failed: &HashSet<String>,
    ) {
        for m in messages {
            let (Some(id), Some(handle)) = (m.message_id(), m.receipt_handle()) else {
                continue;
            };
            if failed.contains(id) {
                let _ = self
                    .aws
                    .sqs
                    .change_message_visibility()
                    .queue_url(url)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await;
            } else {
                let _ = self
                    .aws
                    .sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
    }

    async fn pump_transitions(&self) -> bool {
        let url = self.aws.names.transitions_queue_url.clone();
        self.pump_stepper(&url).await
    }

    /// The stepper's second event source: due short timers.
    async fn pump_timers(&self) -> bool {
        let url = self.aws.names.timers_queue_url.clone();
        self.pump_stepper(&url).await
    }

    async fn pump_stepper(&self, url: &str) -> bool {
        let url = url.to_string();
        let messages = self.receive(&url, 10).await;
        if messages.is_empty() {
            return false;
        }
        let mut failed = HashSet::new();
        let rounds = if self.duplicate { 2 } else { 1 };
        for _ in 0..rounds {
            let ev = LambdaEvent::new(Self::event(&messages), Context::default());
            let resp = stepper::handle(&self.stepper, ev)
                .await
                .expect("stepper handler");
            failed = resp
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect();
        }
        self.settle(&url, &messages, &failed).await;
        true
    }

    /// Runs the Task calls handed to the invoker directly, as Lambda would: each event once
    /// (twice with `duplicate`), a failed one again (twice at most), then given up.
    async fn pump_direct(&self) -> bool {
        let Some(calls) = &self.direct else {
            return false;
        };
        let taken: Vec<(Value, u32)> = std::mem::take(&mut *calls.pending.lock().expect("lock"));
        if taken.is_empty() {
            return false;
        }
        for (event, tries) in taken {
            let rounds = if self.duplicate { 2 } else { 1 };
            let mut ok = true;
            for _ in 0..rounds {
                let call: invoker::TaskInvocation =
                    serde_json::from_value(event.clone()).expect("a Task call's event");
                ok = self
                    .invoker
                    .handle_invocation(LambdaEvent::new(call, Context::default()))
                    .await
                    .is_ok();
            }
            match (ok, tries) {
                (true, _) => {}
                (false, 0 | 1) => calls.pending.lock().expect("lock").push((event, tries + 1)),
                (false, _) => calls.given_up.lock().expect("lock").push(event),
            }
        }
        true
    }

    async fn pump_tasks(&self) -> bool {
        if self.pump_direct().await {
            return true;
        }
        let url = self.aws.names.tasks_queue_url.clone();
        let messages = self.receive(&url, 1).await;
        if messages.is_empty() {
            return false;
        }
        let mut failed = HashSet::new();
        let rounds = if self.duplicate { 2 } else { 1 };
        for _ in 0..rounds {
            let ev = LambdaEvent::new(Self::event(&messages), Context::default());
            let resp = self.invoker.handle(ev).await.expect("invoker handler");
            failed = resp
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect();
        }
        self.settle(&url, &messages, &failed).await;
        true
    }

    /// Fires due schedules as Scheduler does: sends their input to their target queue (the
    /// message group, no deduplication id), then deletes those whose `ActionAfterCompletion` is
    /// DELETE.
    async fn fire_schedules(&self) -> bool {
        self.fire_schedules_early(0).await
    }

    /// Fires the schedules due within `lead_ms` (Scheduler may fire up to a minute early).
    async fn fire_schedules_early(&self, lead_ms: i64) -> bool {
        let Ok(list) = self
            .aws
            .scheduler
            .list_schedules()
            .group_name("stepwise")
            .send()
            .await
        else {
            return false;
        };
        let mut fired = false;
        for s in list.schedules() {
            let Some(name) = s.name() else { continue };
            let Ok(detail) = self
                .aws
                .scheduler
                .get_schedule()
                .name(name)
                .group_name("stepwise")
                .send()
                .await
            else {
                continue;
            };
            let due = detail
                .schedule_expression()
                .and_then(parse_at)
                .is_some_and(|at| at <= now_ms() + lead_ms);
            if self.fired.lock().expect("lock").contains(name) {
                continue;
            }
            let Some(target) = detail.target() else {
                continue;
            };
            if !due {
                continue;
            }
            let group = target
                .sqs_parameters()
                .and_then(|p| p.message_group_id())
                .unwrap_or("schedules");
            self.aws
                .sqs
                .send_message()
                .queue_url(&self.aws.names.transitions_queue_url)
                .message_group_id(group)
                .message_body(target.input().unwrap_or("{}"))
                .send()
                .await
                .expect("Scheduler's delivery to the FIFO target");
            self.fired.lock().expect("lock").insert(name.to_string());
            if detail.action_after_completion()
                == Some(&aws_sdk_scheduler::types::ActionAfterCompletion::Delete)
            {
                let _ = self
                    .aws
                    .scheduler
                    .delete_schedule()
                    .name(name)
                    .group_name("stepwise")
                    .send()
                    .await;
            }
            fired = true;
        }
        fired
    }

    /// Creates a state machine through the API service (CreateStateMachine).
    async fn create(&self, name: &str, definition: &Value) -> String {
        let arn = create_through_api(&self.api(), name, definition.clone()).await;
        assert_eq!(arn, format!("{ACCOUNT_SM}{name}"));
        arn
    }

    /// Runs the queues until every execution ended (or `limit` passes).
    async fn run_until_done(&self, executions: &[String], limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            // Also while messages keep coming: one that always fails is retried forever.
            assert!(
                Instant::now() < deadline,
                "executions still running after {limit:?}"
            );
            let mut progressed = self.pump_transitions().await;
            progressed |= self.pump_timers().await;
            progressed |= self.pump_tasks().await;
            progressed |= self.fire_schedules().await;
            if !progressed {
                let mut all_done = true;
                for arn in executions {
                    let e = self
                        .table()
                        .load_execution(arn)
                        .await
                        .expect("load")
                        .expect("exists");
                    all_done &= e.state.status != Status::Running;
                }
                if all_done {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "executions still running after {limit:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    async fn outcome(&self, arn: &str) -> (StoredExecution, Vec<stepwise_engine::HistoryEvent>) {
        let e = self
            .table()
            .load_execution(arn)
            .await
            .expect("load")
            .expect("exists");
        let mut events = Vec::new();
        let mut after = 0;
        loop {
            let page = self
                .table()
                .history_page(arn, after, e.state.last_event_id, 1000, false)
                .await
                .expect("history");
            let Some(last) = page.last() else { break };
            after = last.id;
            events.extend(page);
        }
        (e, events)
    }
}

/// Starts an execution through the API service (StartExecution, its Start event sent to the
/// transitions queue before the call returns), with a mock test case when given.
async fn start_execution(
    h: &Harness,
    state_machine_arn: &str,
    name: Option<String>,
    input: Value,
    test_case: Option<String>,
) -> Result<String, String> {
    let target = match test_case {
        Some(tc) => format!("{state_machine_arn}#{tc}"),
        None => state_machine_arn.to_string(),
    };
    let mut body = json!({"stateMachineArn": target, "input": input.to_string()});
    if let Some(n) = name {
        body["name"] = json!(n);
    }
    let out = call(&h.api(), "StartExecution", body).await;
    out["executionArn"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no executionArn in {out}"))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `at(2024-01-02T03:04:05)` in UTC to epoch milliseconds.
fn parse_at(expr: &str) -> Option<i64> {
    let inner = expr.strip_prefix("at(")?.strip_suffix(')')?;
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let t = time::PrimitiveDateTime::parse(inner, &format).ok()?;
    Some(t.assume_utc().unix_timestamp() * 1000)
}

fn assert_gapless(events: &[stepwise_engine::HistoryEvent]) {
    let ids: Vec<u64> = events.iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        (1..=ids.len() as u64).collect::<Vec<_>>(),
        "history ids must run 1..n without gap or duplicate"
    );
}

const API_ROLE: &str = "arn:aws:iam::111111111111:role/stepwise-run";

impl Harness {
    /// The api function's service over the harness's table and queues.
    fn api(&self) -> api::ApiService {
        api::ApiService::new(
            self.aws.clone(),
            stepwise_api::ServiceConfig {
                account: "111111111111".into(),
                mock: self.mock_config.clone(),
                ..Default::default()
            },
            None,
        )
    }

    /// Runs both queues (and due schedules) until nothing moves.
    async fn settle_queues(&self) {
        for _ in 0..100 {
            let mut progressed = self.pump_transitions().await;
            progressed |= self.pump_timers().await;
            progressed |= self.pump_tasks().await;
            progressed |= self.fire_schedules().await;
            if !progressed {
                return;
            }
        }
    }
}

/// One API Gateway REST proxy request through `api::handle`: (status, body). With `base64`, the
/// body travels base64-encoded as API Gateway sends binary payloads.
async fn call_raw(
    svc: &api::ApiService,
    target: Option<&str>,
    body: &str,
    base64: bool,
) -> (i64, Value) {
    use aws_lambda_events::apigw::ApiGatewayProxyRequest;
    use aws_lambda_events::encodings::Body;
    use aws_lambda_events::http::{HeaderName, HeaderValue};
    let mut req = ApiGatewayProxyRequest::default();
    req.http_method = aws_lambda_events::http::Method::POST;
    req.path = Some("/".into());
    if let Some(t) = target {
        req.headers.insert(
            HeaderName::from_static("x-amz-target"),
            HeaderValue::from_str(t).expect("header"),
        );
    }
    req.headers.insert(
        HeaderName::from_static("content-type"),
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    if base64 {
        req.body = Some(aws_smithy_types_base64(body.as_bytes()));
        req.is_base64_encoded = true;
    } else {
        req.body = Some(body.to_string());
    }
    // Boxed: in a debug build the handler's future is large, and every test awaits many calls.
    let resp = Box::pin(api::handle(svc, LambdaEvent::new(req, Context::default())))
        .await
        .expect("api handler");
    assert_eq!(
        resp.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/x-amz-json-1.0")
    );
    let text = match resp.body {
        Some(Body::Text(t)) => t,
        Some(Body::Binary(b)) => String::from_utf8(b).expect("utf-8"),
        _ => String::new(),
    };
    (
        resp.status_code,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn aws_smithy_types_base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A successful call: its body.
async fn call(svc: &api::ApiService, action: &str, body: Value) -> Value {
    let (status, out) = call_raw(
        svc,
        Some(&format!("AWSStepFunctions.{action}")),
        &body.to_string(),
        false,
    )
    .await;
    assert_eq!(status, 200, "{action} {body}: {out}");
    out
}

/// A failing call: its `__type`.
async fn call_err(svc: &api::ApiService, action: &str, body: Value) -> String {
    let (status, out) = call_raw(
        svc,
        Some(&format!("AWSStepFunctions.{action}")),
        &body.to_string(),
        false,
    )
    .await;
    assert!(status >= 400, "{action} {body} should fail: {out}");
    out["__type"].as_str().unwrap_or_default().to_string()
}

async fn create_through_api(svc: &api::ApiService, name: &str, definition: Value) -> String {
    let out = call(
        svc,
        "CreateStateMachine",
        json!({"name": name, "definition": definition.to_string(), "roleArn": API_ROLE}),
    )
    .await;
    out["stateMachineArn"]
        .as_str()
        .expect("stateMachineArn")
        .to_string()
}

async fn history_through_api(
    svc: &api::ApiService,
    arn: &str,
    page: u64,
    reverse: bool,
) -> Vec<Value> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = json!({"executionArn": arn, "maxResults": page, "reverseOrder": reverse});
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let out = call(svc, "GetExecutionHistory", req).await;
        let got = out["events"].as_array().cloned().unwrap_or_default();
        assert!(got.len() as u64 <= page);
        events.extend(got);
        match out["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => return events,
        }
    }
}

mod api_function;
mod callbacks;
mod commit_race;
mod dlq;
mod integrations;
mod jobs;
mod large_payloads;
mod listing;
mod logs;
mod map_runs;
mod resume;
mod retention;
mod runs;
mod services;
mod status_events;
mod timers_and_attempts;

/// The META item of `arn`, as DynamoDB Local holds it.
async fn meta_item(
    h: &Harness,
    arn: &str,
) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    h.aws
        .dynamodb
        .get_item()
        .table_name("stepwise")
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("EX#{arn}")),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("META".into()),
        )
        .send()
        .await
        .expect("get")
        .item()
        .cloned()
}
