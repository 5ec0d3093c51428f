//! The serverless home end to end, on real AWS-compatible servers started on 127.0.0.1
//! (DynamoDB Local, moto's server for SQS, Scheduler and S3).
//!
//! A harness plays what Lambda's event source mappings and EventBridge Scheduler would do: it
//! polls the queues and calls the real function handlers (`stepper::handle`, `invoker::handle`)
//! with SQS event batches, honours their partial batch failures, and fires due schedules (moto
//! stores schedules but never fires them).

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use stepwise_engine::{Command, Status};
use stepwise_ports::execution::{Dispatcher, StoreError, StoredExecution, Usage};
use stepwise_ports::BoxFuture;
use stepwise_runtime::tasks::{MockConfig, MockInvoker, TaskRouter};
use stepwise_store_aws::handlers::Deps;
use stepwise_store_aws::meter::Prices;
use stepwise_store_aws::ports::AwsDispatcher;
use stepwise_store_aws::table::{create_table, Table};
use stepwise_store_aws::{Aws, Names};
use stepwise_tests::emulators::{start_or_skip, Emulators};
use stepwise_tests::{compare_with_recording, load_case, run_definition, shared_dir, Outcome};

const ACCOUNT_SM: &str = "arn:aws:states:us-east-1:111111111111:stateMachine:";

struct Harness {
    _emulators: Emulators,
    aws: Aws,
    stepper: Deps,
    invoker: Deps,
    router: TaskRouter,
    /// Deliver every message twice.
    duplicate: bool,
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
}

async fn harness(mock: Option<&str>, faults: bool) -> Option<Harness> {
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
    let fifo = sqs
        .create_queue()
        .queue_name("stepwise-transitions.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
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
    let names = Names {
        table: "stepwise".into(),
        transitions_queue_url: fifo_url,
        transitions_queue_arn: fifo_arn,
        tasks_queue_url: tasks.queue_url().expect("url").to_string(),
        payload_bucket: "stepwise-payloads".into(),
        schedule_group: "stepwise".into(),
        scheduler_role_arn: "arn:aws:iam::123456789012:role/stepwise-scheduler".into(),
    };
    let aws = Aws::from_sdk_config(names, &config, Some(&emulators.dynamodb_url));
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
    let mut router = TaskRouter::new();
    if let Some(m) = mock {
        router = router.with_mock(MockInvoker::new(
            MockConfig::from_json_str(m).expect("mock config"),
        ));
    }
    Some(Harness {
        _emulators: emulators,
        invoker: Deps::new(aws.clone()),
        aws,
        stepper,
        router,
        duplicate: faults,
    })
}

impl Harness {
    fn table(&self) -> Table<'_> {
        self.stepper.store.table()
    }

    /// Receives a batch from a queue as Lambda's event source mapping would.
    async fn receive(&self, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
        self.aws
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
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
        let messages = self.receive(&url).await;
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

    async fn pump_tasks(&self) -> bool {
        let url = self.aws.names.tasks_queue_url.clone();
        let messages = self.receive(&url).await;
        if messages.is_empty() {
            return false;
        }
        let mut failed = HashSet::new();
        let rounds = if self.duplicate { 2 } else { 1 };
        for _ in 0..rounds {
            let ev = LambdaEvent::new(Self::event(&messages), Context::default());
            let resp = invoker::handle(&self.invoker, &self.router, ev)
                .await
                .expect("invoker handler");
            failed = resp
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect();
        }
        self.settle(&url, &messages, &failed).await;
        true
    }

    /// Fires due schedules: sends their input to their target queue and deletes them.
    async fn fire_schedules(&self) -> bool {
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
                .is_some_and(|at| at <= now_ms());
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
            let _ = self
                .aws
                .sqs
                .send_message()
                .queue_url(&self.aws.names.transitions_queue_url)
                .message_group_id(group)
                .message_deduplication_id(name)
                .message_body(target.input().unwrap_or("{}"))
                .send()
                .await;
            let _ = self
                .aws
                .scheduler
                .delete_schedule()
                .name(name)
                .group_name("stepwise")
                .send()
                .await;
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
            let mut progressed = self.pump_transitions().await;
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

#[tokio::test(flavor = "multi_thread")]
async fn workloads_give_their_expected_output() {
    let Some(shared) = shared_dir() else { return };
    let Some(h) = harness(None, false).await else {
        return;
    };
    let dir = shared.join("bench/workloads");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("workloads")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    names.sort();
    let mut started = Vec::new();
    for (i, w) in names.iter().enumerate() {
        let read = |f: &str| -> Value {
            serde_json::from_str(&std::fs::read_to_string(w.join(f)).expect("file")).expect("json")
        };
        let sm = h.create(&format!("w{i}"), &read("definition.json")).await;
        let arn = start_execution(&h, &sm, Some("run".into()), read("input.json"), None)
            .await
            .expect("start");
        started.push((w.clone(), arn, read("expected.json")));
    }
    let arns: Vec<String> = started.iter().map(|s| s.1.clone()).collect();
    h.run_until_done(&arns, Duration::from_secs(600)).await;
    let prices = Prices::default();
    for (w, arn, expected) in started {
        let (e, events) = h.outcome(&arn).await;
        assert_eq!(
            e.state.status,
            Status::Succeeded,
            "{}: {:?} {:?}",
            w.display(),
            e.state.error,
            e.state.cause
        );
        assert_eq!(e.state.output.as_ref(), Some(&expected), "{}", w.display());
        assert_gapless(&events);
        let u = &e.usage;
        let per_million = if u.transitions > 0 {
            prices.cost(u) / u.transitions as f64 * 1e6
        } else {
            0.0
        };
        eprintln!(
            "{:22} transitions {:6} | DynamoDB {:.0} WRU {:.0} RRU {} req | SQS fifo {} std {} | Lambda {} inv {:.3} GB-s | S3 {}/{} | ${:.2} per million transitions (Step Functions: $25.00)",
            w.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
            u.transitions,
            u.dynamodb_write_units,
            u.dynamodb_read_units,
            u.dynamodb_requests,
            u.sqs_fifo_requests,
            u.sqs_standard_requests,
            u.lambda_invocations,
            u.lambda_gb_seconds,
            u.s3_puts,
            u.s3_gets,
            per_million
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_cases_end_as_in_the_embedded_home() {
    let Some(shared) = shared_dir() else { return };
    let Some(h) = harness(None, false).await else {
        return;
    };
    let cases = shared.join("conformance/cases");
    let mut dirs: Vec<_> = std::fs::read_dir(&cases)
        .expect("cases")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    dirs.sort();
    let mut started = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let meta: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("meta.json")).unwrap_or_default(),
        )
        .unwrap_or(Value::Null);
        if meta["query_language"] != "JSONPath"
            || meta["needs"].as_array().is_some_and(|n| !n.is_empty())
        {
            continue;
        }
        let (definition, input, expected) = load_case(dir);
        // CreateStateMachine would refuse what does not parse (the redacted recordings); the
        // embedded run refuses it the same way.
        if stepwise_asl::model::Definition::from_value(&definition).is_err() {
            assert!(run_definition(&definition, input, "conformance")
                .await
                .is_err());
            continue;
        }
        let sm = h.create(&format!("c{i}"), &definition).await;
        let arn = start_execution(&h, &sm, Some("run".into()), input.clone(), None)
            .await
            .expect("start");
        started.push((dir.clone(), arn, definition, input, expected));
    }
    let arns: Vec<String> = started.iter().map(|s| s.1.clone()).collect();
    h.run_until_done(&arns, Duration::from_secs(600)).await;
    let (mut same, mut different) = (0, Vec::new());
    for (dir, arn, definition, input, expected) in started {
        let (e, events) = h.outcome(&arn).await;
        let serverless = Outcome::of(
            &e.state,
            events.iter().map(|x| x.event_type.clone()).collect(),
        );
        let (state, history) = run_definition(&definition, input, "conformance")
            .await
            .expect("embedded run");
        let embedded = Outcome::of(
            &state,
            history.iter().map(|x| x.event_type.clone()).collect(),
        );
        let a = compare_with_recording(&expected, &serverless).is_ok();
        let b = compare_with_recording(&expected, &embedded).is_ok();
        if a == b && serverless.status == embedded.status && serverless.events == embedded.events {
            same += 1;
        } else {
            different.push(format!(
                "{}: serverless {serverless:?} / embedded {embedded:?}",
                dir.display()
            ));
        }
    }
    eprintln!(
        "{same} cases end as in the embedded home, {} differ",
        different.len()
    );
    assert!(different.is_empty(), "{}", different.join("\n"));
}

const FAULT_MACHINE: &str = r#"{"StartAt":"Charge","States":{
  "Charge":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"charge","Payload.$":"$"},
    "ResultSelector":{"receipt.$":"$.Payload.receipt"},"ResultPath":"$.charge","Next":"Pause"},
  "Pause":{"Type":"Wait","Seconds":1,"Next":"Fan"},
  "Fan":{"Type":"Parallel","Branches":[
     {"StartAt":"Ship","States":{"Ship":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"ship"},"OutputPath":"$.Payload","End":true}}},
     {"StartAt":"Each","States":{"Each":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"Item","States":{"Item":{"Type":"Pass","Parameters":{"x.$":"$"},"End":true}}},"End":true}}}],
   "ResultPath":"$.fan","End":true}}}"#;

const FAULT_MOCK: &str = r#"{"StateMachines":{"faulty":{"TestCases":{"Happy":{"Charge":"Ok","Ship":"Shipped"}}}},
  "MockedResponses":{"Ok":{"0":{"Return":{"StatusCode":200,"Payload":{"receipt":"r-1"}}}},
                     "Shipped":{"0":{"Return":{"StatusCode":200,"Payload":{"shipped":true}}}}}}"#;

async fn run_fault_machine(faults: bool) -> Option<Vec<(Value, Vec<String>)>> {
    let h = harness(Some(FAULT_MOCK), faults).await?;
    let def: Value = serde_json::from_str(FAULT_MACHINE).expect("json");
    let sm = h.create("faulty", &def).await;
    let mut arns = Vec::new();
    for i in 0..5 {
        let input = json!({"order": i, "items": [i, i + 1]});
        arns.push(
            start_execution(&h, &sm, Some(format!("e{i}")), input, Some("Happy".into()))
                .await
                .expect("start"),
        );
    }
    h.run_until_done(&arns, Duration::from_secs(300)).await;
    let mut out = Vec::new();
    for arn in arns {
        let (e, events) = h.outcome(&arn).await;
        assert_eq!(
            e.state.status,
            Status::Succeeded,
            "{:?} {:?}",
            e.state.error,
            e.state.cause
        );
        assert_gapless(&events);
        out.push((
            e.state.output.clone().unwrap_or(Value::Null),
            events.iter().map(|x| x.event_type.clone()).collect(),
        ));
    }
    Some(out)
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicated_messages_and_a_killed_stepper_change_nothing() {
    let Some(calm) = run_fault_machine(false).await else {
        return;
    };
    let Some(stormy) = run_fault_machine(true).await else {
        return;
    };
    assert_eq!(
        calm, stormy,
        "every execution ends exactly as in the undisturbed run"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_100k_event_execution_does_per_step_work_independent_of_its_history() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    // Each round: 50 Pass states, a Wait of 0 s (a step boundary through the queues), a Choice.
    let mut states = serde_json::Map::new();
    states.insert(
        "Count".into(),
        json!({"Type":"Pass","Parameters":{"n.$":"States.MathAdd($.n, 1)"},"Next":"P1"}),
    );
    for i in 1..50 {
        let next = if i == 49 {
            "Tick".to_string()
        } else {
            format!("P{}", i + 1)
        };
        states.insert(format!("P{i}"), json!({"Type":"Pass","Next": next}));
    }
    states.insert(
        "Tick".into(),
        json!({"Type":"Wait","Seconds":0,"Next":"Again"}),
    );
    states.insert(
        "Again".into(),
        json!({"Type":"Choice","Choices":[{"Variable":"$.n","NumericLessThan":962,"Next":"Count"}],"Default":"Done"}),
    );
    states.insert("Done".into(), json!({"Type":"Succeed"}));
    let def = json!({"StartAt":"Count","States": states});
    let sm = h.create("long", &def).await;
    let arn = start_execution(&h, &sm, Some("long".into()), json!({"n": 0}), None)
        .await
        .expect("start");
    // Sample the execution's usage as it goes: (version, usage).
    let mut samples: Vec<(u64, Usage)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(1500);
    loop {
        let progressed = h.pump_transitions().await | h.pump_tasks().await;
        let e = h
            .table()
            .load_execution(&arn)
            .await
            .expect("load")
            .expect("exists");
        if samples.last().is_none_or(|(v, _)| *v != e.version) {
            samples.push((e.version, e.usage.clone()));
        }
        if e.state.status != Status::Running {
            assert_eq!(e.state.status, Status::Succeeded, "{:?}", e.state.cause);
            break;
        }
        assert!(Instant::now() < deadline, "still running");
        if !progressed {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let (e, events) = h.outcome(&arn).await;
    assert!(events.len() >= 100_000, "only {} events", events.len());
    assert_gapless(&events);
    // DynamoDB work per committed step, early in the history and late in it.
    let per_step = |a: &(u64, Usage), b: &(u64, Usage)| -> f64 {
        let steps = (b.0 - a.0).max(1) as f64;
        ((b.1.dynamodb_write_units + b.1.dynamodb_read_units)
            - (a.1.dynamodb_write_units + a.1.dynamodb_read_units))
            / steps
    };
    let n = samples.len();
    assert!(n > 200, "too few samples: {n}");
    let early = per_step(&samples[10], &samples[110]);
    let late = per_step(&samples[n - 101], &samples[n - 1]);
    eprintln!(
        "{} events, {} steps: {early:.1} DynamoDB units per step early, {late:.1} late; total usage {:?}",
        events.len(),
        e.version,
        e.usage
    );
    assert!(
        late <= early * 1.25 + 2.0,
        "per-step work grew with the history: {early:.1} -> {late:.1}"
    );
}

fn print_usage(what: &str, u: &Usage) {
    let prices = Prices::default();
    let per_million = if u.transitions > 0 {
        prices.cost(u) / u.transitions as f64 * 1e6
    } else {
        0.0
    };
    eprintln!(
        "{what:22} transitions {:6} | DynamoDB {:.0} WRU {:.0} RRU {} req | SQS fifo {} std {} | schedules {} | Lambda {} inv {:.3} GB-s | tasks {} | S3 {}/{} | ${per_million:.2} per million transitions (Step Functions Standard: $25.00)",
        u.transitions,
        u.dynamodb_write_units,
        u.dynamodb_read_units,
        u.dynamodb_requests,
        u.sqs_fifo_requests,
        u.sqs_standard_requests,
        u.schedules,
        u.lambda_invocations,
        u.lambda_gb_seconds,
        u.task_invocations,
        u.s3_puts,
        u.s3_gets,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lambda_task_heavy_machine_is_metered() {
    // 20 Lambda tasks in a row, served by mocks in the invoker; each is a step boundary.
    let mut states = serde_json::Map::new();
    for i in 0..20 {
        let mut s = json!({"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
            "Parameters":{"FunctionName":"work","Payload.$":"$"},"ResultSelector":{"n.$":"$.Payload.n"}});
        if i == 19 {
            s["End"] = json!(true);
        } else {
            s["Next"] = json!(format!("T{}", i + 1));
        }
        states.insert(format!("T{i}"), s);
    }
    let mut cases = serde_json::Map::new();
    for i in 0..20 {
        cases.insert(format!("T{i}"), json!("Work"));
    }
    let mock = json!({"StateMachines":{"tasks":{"TestCases":{"Run": cases}}},
        "MockedResponses":{"Work":{"0":{"Return":{"StatusCode":200,"Payload":{"n":1}}}}}})
    .to_string();
    let Some(h) = harness(Some(&mock), false).await else {
        return;
    };
    let sm = h
        .create("tasks", &json!({"StartAt":"T0","States": states}))
        .await;
    let mut arns = Vec::new();
    for i in 0..5 {
        arns.push(
            start_execution(
                &h,
                &sm,
                Some(format!("e{i}")),
                json!({"n": 0}),
                Some("Run".into()),
            )
            .await
            .expect("start"),
        );
    }
    h.run_until_done(&arns, Duration::from_secs(300)).await;
    let mut total = Usage::default();
    for arn in &arns {
        let (e, events) = h.outcome(arn).await;
        assert_eq!(e.state.status, Status::Succeeded, "{:?}", e.state.cause);
        assert_eq!(e.state.output, Some(json!({"n": 1})));
        assert_gapless(&events);
        total.add(&e.usage);
    }
    assert_eq!(total.task_invocations, 100);
    print_usage("20 Lambda tasks x5", &total);
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_and_eventbridge_events_start_executions() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let sm = h
        .create(
            "on-upload",
            &json!({"StartAt":"Keys","States":{"Keys":{"Type":"Pass","Parameters":{
                "keys.$":"$.Records[*].s3.object.key"},"End":true}}}),
        )
        .await;
    let s3_event = json!({"Records": [
        {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "in"}, "object": {"key": "a.csv"}}},
        {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "in"}, "object": {"key": "b.csv"}}}
    ]});
    let trigger_api = h.api();
    let started = trigger::handle(
        &trigger_api,
        &sm,
        LambdaEvent::new(s3_event, Context::default()),
    )
    .await
    .expect("trigger");
    let bridge = json!({"version": "0", "source": "my.app", "detail-type": "OrderPlaced", "detail": {"id": 7}, "Records": []});
    let started_too = trigger::handle(
        &trigger_api,
        &sm,
        LambdaEvent::new(bridge, Context::default()),
    )
    .await
    .expect("trigger");
    let mut arns: Vec<String> = started["executionArns"]
        .as_array()
        .expect("arns")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    assert_eq!(arns.len(), 2, "one execution per S3 record");
    arns.extend(
        started_too["executionArns"]
            .as_array()
            .expect("arns")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string)),
    );
    h.run_until_done(&arns, Duration::from_secs(120)).await;
    let mut outputs = Vec::new();
    for arn in &arns {
        let (e, _) = h.outcome(arn).await;
        assert_eq!(e.state.status, Status::Succeeded, "{:?}", e.state.cause);
        outputs.push(e.state.output.unwrap_or(Value::Null));
    }
    outputs.sort_by_key(|o| o.to_string());
    assert_eq!(
        outputs,
        vec![
            json!({"keys": ["a.csv"]}),
            json!({"keys": ["b.csv"]}),
            json!({"keys": []})
        ]
    );
}

// ----- the api function: API Gateway proxy events through the real handler -----

const API_ROLE: &str = "arn:aws:iam::111111111111:role/stepwise-run";

impl Harness {
    /// The api function's service over the harness's table and queues.
    fn api(&self) -> api::ApiService {
        api::ApiService::new(
            self.aws.clone(),
            stepwise_api::ServiceConfig {
                account: "111111111111".into(),
                ..Default::default()
            },
            None,
        )
    }

    /// Runs both queues (and due schedules) until nothing moves.
    async fn settle_queues(&self) {
        for _ in 0..100 {
            let mut progressed = self.pump_transitions().await;
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
    let resp = api::handle(svc, LambdaEvent::new(req, Context::default()))
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

#[tokio::test(flavor = "multi_thread")]
async fn the_api_function_creates_starts_lists_pages_and_stops_executions() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let svc = h.api();

    // Bad input answers with AWS's error types.
    let (status, out) = call_raw(&svc, Some("AWSStepFunctions.Frobnicate"), "{}", false).await;
    assert_eq!(
        (status, out["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    let (status, out) = call_raw(&svc, None, "{}", false).await;
    assert_eq!(
        (status, out["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    let (status, out) = call_raw(
        &svc,
        Some("AWSStepFunctions.ListStateMachines"),
        "{\"maxResults\": ",
        false,
    )
    .await;
    assert_eq!(
        (status, out["__type"].as_str()),
        (400, Some("SerializationException"))
    );
    assert_eq!(
        call_err(
            &svc,
            "CreateStateMachine",
            json!({"name": "broken", "definition": "{\"StartAt\":\"Nowhere\",\"States\":{}}", "roleArn": API_ROLE}),
        )
        .await,
        "InvalidDefinition"
    );
    assert_eq!(
        call_err(
            &svc,
            "DescribeExecution",
            json!({"executionArn": "arn:aws:states:us-east-1:111111111111:execution:nope:never"}),
        )
        .await,
        "ExecutionDoesNotExist"
    );

    // A machine created through the API runs on the stepper.
    let flow = create_through_api(
        &svc,
        "flow",
        json!({"StartAt":"P","States":{
            "P":{"Type":"Pass","Result":{"ok":true},"ResultPath":"$.r","Next":"W"},
            "W":{"Type":"Wait","Seconds":0,"Next":"Q"},
            "Q":{"Type":"Pass","End":true}}}),
    )
    .await;
    // Creating it again with the same definition is idempotent.
    let definition = json!({"StartAt":"P","States":{
        "P":{"Type":"Pass","Result":{"ok":true},"ResultPath":"$.r","Next":"W"},
        "W":{"Type":"Wait","Seconds":0,"Next":"Q"},
        "Q":{"Type":"Pass","End":true}}});
    assert_eq!(create_through_api(&svc, "flow", definition).await, flow);
    // A base64-encoded body (as API Gateway passes binary media) reads the same.
    let (status, again) = call_raw(
        &svc,
        Some("AWSStepFunctions.DescribeStateMachine"),
        &json!({"stateMachineArn": flow}).to_string(),
        true,
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["name"], "flow");
    let listed = call(&svc, "ListStateMachines", json!({})).await;
    assert!(listed["stateMachines"]
        .as_array()
        .is_some_and(|l| l.iter().any(|m| m["stateMachineArn"] == json!(flow))));

    let start = |name: &str, input: Value| json!({"stateMachineArn": flow, "name": name, "input": input.to_string()});
    let a = call(&svc, "StartExecution", start("a", json!({"x": 1}))).await;
    let a_arn = a["executionArn"].as_str().expect("arn").to_string();
    // The same name and input while it runs: the same execution.
    let a2 = call(&svc, "StartExecution", start("a", json!({"x": 1}))).await;
    assert_eq!(a2["executionArn"], a["executionArn"]);
    assert_eq!(
        call_err(&svc, "StartExecution", start("a", json!({"x": 2}))).await,
        "ExecutionAlreadyExists"
    );
    let b = call(&svc, "StartExecution", start("b", json!({"x": 2}))).await;
    let b_arn = b["executionArn"].as_str().expect("arn").to_string();
    let running = call(&svc, "DescribeExecution", json!({"executionArn": a_arn})).await;
    assert_eq!(running["status"], "RUNNING");

    h.run_until_done(&[a_arn.clone(), b_arn.clone()], Duration::from_secs(120))
        .await;
    let done = call(&svc, "DescribeExecution", json!({"executionArn": a_arn})).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(
        serde_json::from_str::<Value>(done["output"].as_str().unwrap_or("null")).ok(),
        Some(json!({"x": 1, "r": {"ok": true}}))
    );
    assert!(done["stopDate"].is_number(), "{done}");

    // History: pages of 2 give the same events as one page; reverse order is the mirror.
    let all = history_through_api(&svc, &a_arn, 1000, false).await;
    let paged = history_through_api(&svc, &a_arn, 2, false).await;
    assert!(all.len() >= 8, "{all:?}");
    assert_eq!(all, paged);
    let ids: Vec<u64> = all.iter().filter_map(|e| e["id"].as_u64()).collect();
    assert_eq!(ids, (1..=all.len() as u64).collect::<Vec<_>>());
    assert_eq!(all[0]["type"], "ExecutionStarted");
    assert_eq!(all[all.len() - 1]["type"], "ExecutionSucceeded");
    let mut reversed = history_through_api(&svc, &a_arn, 3, true).await;
    reversed.reverse();
    assert_eq!(reversed, all);

    // StopExecution on a long wait (a Scheduler timer).
    let waiter = create_through_api(
        &svc,
        "waiter",
        json!({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}),
    )
    .await;
    let w = call(
        &svc,
        "StartExecution",
        json!({"stateMachineArn": waiter, "name": "w"}),
    )
    .await;
    let w_arn = w["executionArn"].as_str().expect("arn").to_string();
    h.settle_queues().await;
    let hist = history_through_api(&svc, &w_arn, 100, false).await;
    assert_eq!(
        hist.last().map(|e| e["type"].clone()),
        Some(json!("WaitStateEntered"))
    );
    let stopped = call(
        &svc,
        "StopExecution",
        json!({"executionArn": w_arn, "error": "Halt", "cause": "enough"}),
    )
    .await;
    assert!(stopped["stopDate"].is_number(), "{stopped}");
    let d = call(&svc, "DescribeExecution", json!({"executionArn": w_arn})).await;
    assert_eq!(
        (d["status"].as_str(), d["error"].as_str()),
        (Some("ABORTED"), Some("Halt"))
    );

    // ListExecutions: newest first, filtered by status.
    let list = |sm: &str, status: Option<&str>| {
        let mut r = json!({"stateMachineArn": sm});
        if let Some(s) = status {
            r["statusFilter"] = json!(s);
        }
        r
    };
    let names = |v: &Value| -> Vec<String> {
        v["executions"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|e| e["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let ok = call(&svc, "ListExecutions", list(&flow, Some("SUCCEEDED"))).await;
    assert_eq!(names(&ok), vec!["b", "a"], "{ok}");
    assert!(ok["executions"][0]["stopDate"].is_number());
    let none = call(&svc, "ListExecutions", list(&flow, Some("RUNNING"))).await;
    assert!(names(&none).is_empty(), "{none}");
    let aborted = call(&svc, "ListExecutions", list(&waiter, Some("ABORTED"))).await;
    assert_eq!(names(&aborted), vec!["w"]);
    let first = call(
        &svc,
        "ListExecutions",
        json!({"stateMachineArn": flow, "maxResults": 1}),
    )
    .await;
    assert_eq!(names(&first), vec!["b"]);
    let token = first["nextToken"].as_str().expect("nextToken");
    let second = call(
        &svc,
        "ListExecutions",
        json!({"stateMachineArn": flow, "maxResults": 1, "nextToken": token}),
    )
    .await;
    assert_eq!(names(&second), vec!["a"]);

    // StartSyncExecution on an EXPRESS machine of Pass states: one inline step.
    let quick = call(
        &svc,
        "CreateStateMachine",
        json!({"name": "quick", "type": "EXPRESS", "roleArn": API_ROLE,
               "definition": json!({"StartAt":"P","States":{"P":{"Type":"Pass","Result":7,"End":true}}}).to_string()}),
    )
    .await;
    let sync = call(
        &svc,
        "StartSyncExecution",
        json!({"stateMachineArn": quick["stateMachineArn"], "input": "{}"}),
    )
    .await;
    assert_eq!(
        (sync["status"].as_str(), sync["output"].as_str()),
        (Some("SUCCEEDED"), Some("7"))
    );

    // An execution started by name through StartExecution (the trigger's path) runs and is
    // described like the others.
    let t_arn = start_execution(&h, &flow, Some("t".into()), json!({"x": 3}), None)
        .await
        .expect("start");
    h.run_until_done(std::slice::from_ref(&t_arn), Duration::from_secs(60))
        .await;
    let t = call(&svc, "DescribeExecution", json!({"executionArn": t_arn})).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
}

const CALLBACK_MOCK: &str = r#"{"StateMachines":{"worker":{"TestCases":{"Cb":{"Notify":"Sent"}}}},
  "MockedResponses":{"Sent":{"0":{"Return":{"MessageId":"m-1"}}}}}"#;

#[tokio::test(flavor = "multi_thread")]
async fn activities_and_task_tokens_round_trip_through_the_api_function() {
    let Some(h) = harness(Some(CALLBACK_MOCK), false).await else {
        return;
    };
    let svc = h.api();
    let activity = call(&svc, "CreateActivity", json!({"name": "work"})).await;
    let activity_arn = activity["activityArn"].as_str().expect("arn").to_string();
    let worker = create_through_api(
        &svc,
        "worker",
        json!({"StartAt":"Work","States":{
            "Work":{"Type":"Task","Resource": activity_arn,"ResultPath":"$.work","Next":"Notify"},
            "Notify":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters":{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/111111111111/q",
                              "MessageBody":{"token.$":"$$.Task.Token"}},
                "ResultPath":"$.callback","End":true}}}),
    )
    .await;
    // Nothing queued yet: GetActivityTask would long-poll; don't ask before the task is there.
    let started = call(
        &svc,
        "StartExecution",
        json!({"stateMachineArn": format!("{worker}#Cb"), "name": "job", "input": "{\"job\":1}"}),
    )
    .await;
    let arn = started["executionArn"].as_str().expect("arn").to_string();
    h.settle_queues().await;

    // The activity task: handed out once, with the state's input.
    let task = call(
        &svc,
        "GetActivityTask",
        json!({"activityArn": activity_arn, "workerName": "w-1"}),
    )
    .await;
    let token = task["taskToken"].as_str().expect("taskToken").to_string();
    assert_eq!(
        serde_json::from_str::<Value>(task["input"].as_str().unwrap_or("null")).ok(),
        Some(json!({"job": 1}))
    );
    call(&svc, "SendTaskHeartbeat", json!({"taskToken": token})).await;
    call(
        &svc,
        "SendTaskSuccess",
        json!({"taskToken": token, "output": "{\"done\":true}"}),
    )
    .await;
    assert_eq!(
        call_err(
            &svc,
            "SendTaskSuccess",
            json!({"taskToken": token, "output": "{}"})
        )
        .await,
        "TaskTimedOut"
    );
    assert_eq!(
        call_err(
            &svc,
            "SendTaskFailure",
            json!({"taskToken": "no-such-token"})
        )
        .await,
        "InvalidToken"
    );

    // The callback task: the invoker's mocked send gives TaskSubmitted; the token comes from the
    // history's TaskScheduled parameters.
    h.settle_queues().await;
    let events = history_through_api(&svc, &arn, 100, false).await;
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    for t in [
        "ActivityScheduled",
        "ActivityStarted",
        "ActivitySucceeded",
        "TaskScheduled",
        "TaskSubmitted",
    ] {
        assert!(types.contains(&t), "{t} missing from {types:?}");
    }
    let started_ev = events
        .iter()
        .find(|e| e["type"] == "ActivityStarted")
        .expect("ActivityStarted");
    assert_eq!(
        started_ev["activityStartedEventDetails"]["workerName"],
        "w-1"
    );
    let scheduled = events
        .iter()
        .find(|e| e["type"] == "TaskScheduled")
        .expect("TaskScheduled");
    let params: Value = serde_json::from_str(
        scheduled["taskScheduledEventDetails"]["parameters"]
            .as_str()
            .unwrap_or("null"),
    )
    .expect("parameters");
    let cb_token = params["MessageBody"]["token"]
        .as_str()
        .expect("token in parameters")
        .to_string();
    let running = call(&svc, "DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(running["status"], "RUNNING");
    call(
        &svc,
        "SendTaskSuccess",
        json!({"taskToken": cb_token, "output": "{\"answer\":42}"}),
    )
    .await;
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let done = call(&svc, "DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(
        serde_json::from_str::<Value>(done["output"].as_str().unwrap_or("null")).ok(),
        Some(json!({"job": 1, "work": {"done": true}, "callback": {"answer": 42}}))
    );
    assert_eq!(
        call_err(&svc, "SendTaskHeartbeat", json!({"taskToken": cb_token})).await,
        "TaskTimedOut"
    );
}
