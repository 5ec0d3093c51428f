//! The deployment (the template's queues, table and bucket) and what Lambda does around the
//! handlers: event source mappings that poll the queues and hand batches to the functions
//! (deleting what succeeded, leaving the rest to come back after its visibility timeout),
//! function timeouts, crashes (the sandbox dies mid-request: nothing after it runs), containers
//! reused between invocations and replaced after a crash; and the API function behind API
//! Gateway for clients.

use crate::sqs::{self, Queue};
use crate::Sim;
use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use stepwise_api::{ActivityPoll, ServiceConfig};
use stepwise_ports::tasks::TaskInvoker;
use stepwise_store_aws::handlers::Deps;
use stepwise_store_aws::{Aws, Names};

/// The stepper's timeout (template.yaml).
pub const STEPPER_TIMEOUT_MS: i64 = 60_000;
/// The invoker's.
pub const INVOKER_TIMEOUT_MS: i64 = 900_000;
/// The invoker's name (Task calls are handed to it directly).
pub const INVOKER_FUNCTION: &str = "stepwise-invoker";
/// The api function's (API Gateway's limit).
pub const API_TIMEOUT_MS: i64 = 29_000;

/// The deployment's names.
pub fn names() -> Names {
    Names {
        table: "stepwise".into(),
        transitions_queue_url: sqs::url("stepwise-transitions.fifo"),
        transitions_queue_arn: sqs::arn("stepwise-transitions.fifo"),
        tasks_queue_url: sqs::url("stepwise-tasks"),
        timers_queue_url: sqs::url("stepwise-timers"),
        scheduler_dead_letter_queue_arn: sqs::arn("stepwise-schedules-dlq"),
        payload_bucket: "stepwise-payloads".into(),
        schedule_group: "stepwise".into(),
        scheduler_role_arn: "arn:aws:iam::111111111111:role/stepwise-scheduler".into(),
        retention_days: None,
        invoker_function: Some(INVOKER_FUNCTION.into()),
    }
}

/// The dead-letter queues: a message in one is a lost transition.
pub const DEAD_LETTER_QUEUES: [&str; 4] = [
    "stepwise-transitions-dlq.fifo",
    "stepwise-tasks-dlq",
    "stepwise-timers-dlq",
    "stepwise-schedules-dlq",
];

/// Creates the queues (with the template's attributes) and the bucket.
pub fn deploy(sim: &Sim) {
    let mut w = sim.world();
    let q = |name: &str, fifo: bool, visibility_s: i64, dlq: Option<&str>| Queue {
        name: name.into(),
        fifo,
        content_dedup: fifo,
        visibility_ms: visibility_s * 1000,
        max_receives: if dlq.is_some() { 5 } else { 0 },
        dead_letter: dlq.map(sqs::url),
        ..Queue::default()
    };
    for d in DEAD_LETTER_QUEUES {
        w.sqs.create(q(d, d.ends_with(".fifo"), 30, None));
    }
    w.sqs.create(q(
        "stepwise-transitions.fifo",
        true,
        360,
        Some("stepwise-transitions-dlq.fifo"),
    ));
    w.sqs
        .create(q("stepwise-tasks", false, 5400, Some("stepwise-tasks-dlq")));
    w.sqs.create(q(
        "stepwise-timers",
        false,
        360,
        Some("stepwise-timers-dlq"),
    ));
    w.s3.buckets.push("stepwise-payloads".into());
}

/// Runs one function invocation as Lambda would: `None` when it crashed or timed out.
pub async fn invoke<T: 'static>(
    sim: &Sim,
    timeout_ms: i64,
    fatal: bool,
    handler: impl Future<Output = T> + 'static,
) -> Option<T> {
    let timeout = Duration::from_millis(timeout_ms as u64);
    let handle =
        tokio::task::spawn_local(async move { tokio::time::timeout(timeout, handler).await });
    let id = handle.id();
    sim.world()
        .invocations
        .insert(id, (handle.abort_handle(), fatal));
    let out = handle.await;
    let mut w = sim.world();
    w.invocations.remove(&id);
    let held = w.holding.remove(&id);
    match out {
        Ok(Ok(v)) => Some(v),
        Ok(Err(_)) => {
            w.counts.lambda_timeout += 1;
            if held {
                w.answers_lost += 1;
            }
            None
        }
        Err(_) => None,
    }
}

/// An invocation's context: its deadline and a request id of its own, as Lambda gives every
/// invocation (an event source mapping's redelivery of a batch included).
pub(crate) fn context(sim: &Sim, deadline_ms: i64) -> Context {
    let mut c = Context::default();
    c.deadline = deadline_ms.max(0) as u64;
    let n = {
        let mut w = sim.world();
        w.request_ids += 1;
        w.request_ids
    };
    c.request_id = format!("00000000-0000-4000-8000-{n:012x}");
    c
}

/// Which function a mapping feeds.
#[derive(Clone)]
pub enum Function {
    /// The stepper (transitions and timers queues).
    Stepper,
    /// The invoker, calling tasks with this task function.
    Invoker(Arc<dyn TaskInvoker>),
}

/// The clients of a run.
pub fn aws(sim: &Sim) -> Aws {
    Aws::from_sdk_config(names(), &crate::http::sdk_config(sim), None)
}

/// One event source mapping poller: receives batches of `batch` from `queue` and runs the
/// function on each, until `stop` says so.
pub async fn poller(
    sim: Sim,
    queue: String,
    batch: usize,
    function: Function,
    stop: Rc<std::cell::Cell<bool>>,
    wake: Arc<tokio::sync::Notify>,
) {
    let mut container: Option<Rc<Deps>> = None;
    while !stop.get() {
        let now = sim.now_ms();
        let (messages, next) = {
            let mut w = sim.world();
            let w = &mut *w;
            let dup = w.faults.duplicate;
            let (m, duplicated, reordered) = w.sqs.receive(&queue, batch, now, &mut w.rng, dup);
            w.counts.duplicate += duplicated;
            w.counts.reorder += reordered;
            (m, w.sqs.next_visible(&queue))
        };
        if messages.is_empty() {
            // A long poll: back when something is sent or becomes visible (20 s at most).
            let wait = next.map_or(20_000, |t| (t - now).clamp(1, 20_000)) + sim.range(0, 200);
            tokio::select! {
                biased;
                _ = wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            }
            continue;
        }
        let deps = match &container {
            Some(d) => d.clone(),
            None => {
                let d = Rc::new(Deps::new(aws(&sim)));
                container = Some(d.clone());
                d
            }
        };
        let records: Vec<SqsMessage> = messages
            .iter()
            .map(|m| {
                let mut s = SqsMessage::default();
                s.message_id = Some(m.id.clone());
                s.receipt_handle = Some(sqs::receipt_handle(&m.id, m.receipt));
                s.body = Some(m.body.clone());
                s.attributes
                    .insert("ApproximateReceiveCount".into(), m.receives.to_string());
                if let Some(g) = &m.group {
                    s.attributes.insert("MessageGroupId".into(), g.clone());
                }
                s
            })
            .collect();
        let fatal = messages.iter().all(|m| m.receives <= crate::FATAL_RECEIVES);
        let mut event = SqsEvent::default();
        event.records = records;
        let failed: Option<Vec<String>> = match &function {
            Function::Stepper => {
                let ctx = context(&sim, sim.now_ms() + STEPPER_TIMEOUT_MS);
                let d = deps.clone();
                invoke(&sim, STEPPER_TIMEOUT_MS, fatal, async move {
                    stepper::handle(&d, LambdaEvent::new(event, ctx)).await
                })
                .await
                .and_then(Result::ok)
                .map(|r| {
                    r.batch_item_failures
                        .into_iter()
                        .map(|f| f.item_identifier)
                        .collect()
                })
            }
            Function::Invoker(tasks) => {
                let ctx = context(&sim, sim.now_ms() + INVOKER_TIMEOUT_MS);
                let (d, t) = (deps.clone(), tasks.clone());
                invoke(&sim, INVOKER_TIMEOUT_MS, fatal, async move {
                    invoker::handle(&d, t.as_ref(), LambdaEvent::new(event, ctx)).await
                })
                .await
                .and_then(Result::ok)
                .map(|r| {
                    r.batch_item_failures
                        .into_iter()
                        .map(|f| f.item_identifier)
                        .collect()
                })
            }
        };
        match failed {
            Some(failed) => {
                let mut w = sim.world();
                let w = &mut *w;
                for m in &messages {
                    if failed.contains(&m.id) {
                        continue;
                    }
                    // A lost delete brings the message back as a crash does: within the same
                    // first deliveries (seeds 700 and 2529 sent messages to a dead-letter queue
                    // after three stopped deliveries and two lost deletes, by chance).
                    if m.receives <= crate::FATAL_RECEIVES && w.rng.chance(w.faults.delete_lost) {
                        w.counts.delete_lost += 1;
                        continue;
                    }
                    w.sqs.delete(&queue, &m.id, m.receipt);
                }
            }
            // The function failed: the whole batch comes back after its visibility timeout,
            // and the sandbox is gone.
            None => container = None,
        }
    }
}

/// The Scheduler service: fires due schedules until `stop`.
pub async fn scheduler(sim: Sim, stop: Rc<std::cell::Cell<bool>>, wake: Arc<tokio::sync::Notify>) {
    while !stop.get() {
        let now = sim.now_ms();
        let sent = {
            let mut w = sim.world();
            let w = &mut *w;
            let dup = w.faults.duplicate;
            let (early, late) = (w.scheduler.early, w.scheduler.late);
            let d = w.scheduler.fire_due(&mut w.sqs, now, &mut w.rng, dup);
            w.counts.duplicate += d;
            w.counts.scheduler_early += w.scheduler.early - early;
            w.counts.scheduler_late += w.scheduler.late - late;
            w.scheduler.early != early || w.scheduler.late != late || d > 0
        };
        if sent {
            wake.notify_waiters();
        }
        tokio::time::sleep(Duration::from_millis(1_000)).await;
    }
}

thread_local! {
    /// The machine each running StartExecution handler starts, by its task.
    static STARTING: std::cell::RefCell<std::collections::HashMap<tokio::task::Id, String>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The machine the StartExecution handler running in this task starts (the simulation draws its
/// execution's seed from it).
pub fn starting() -> Option<String> {
    let id = tokio::task::try_id()?;
    STARTING.with(|s| s.borrow().get(&id).cloned())
}

/// A client of the API (an SDK behind API Gateway): one request to the api function, in a
/// container of its own. `Err` carries AWS's error type, or `"Timeout"` when the function
/// crashed or timed out (the client cannot know whether the request took effect).
pub async fn call_api(sim: &Sim, action: &str, body: Value) -> Result<Value, String> {
    let svc = Rc::new(api::ApiService::new(
        aws(sim),
        ServiceConfig {
            region: "us-east-1".into(),
            account: "111111111111".into(),
            mock: None,
            activity_poll: ActivityPoll::API_GATEWAY,
            map_runs_as_executions: false,
        },
        None,
    ));
    let mut req = ApiGatewayProxyRequest::default();
    req.headers.insert(
        "x-amz-target",
        format!("AWSStepFunctions.{action}")
            .parse()
            .map_err(|_| "bad action".to_string())?,
    );
    req.body = Some(body.to_string());
    let ctx = context(sim, sim.now_ms() + API_TIMEOUT_MS);
    let machine = (action == "StartExecution")
        .then(|| body["stateMachineArn"].as_str().map(str::to_string))
        .flatten()
        .and_then(|a| a.rsplit(':').next().map(str::to_string));
    let out = invoke(sim, API_TIMEOUT_MS, true, async move {
        let me = tokio::task::try_id();
        if let (Some(id), Some(m)) = (me, machine) {
            STARTING.with(|s| s.borrow_mut().insert(id, m));
        }
        let out = api::handle(&svc, LambdaEvent::new(req, ctx)).await;
        if let Some(id) = me {
            STARTING.with(|s| s.borrow_mut().remove(&id));
        }
        out
    })
    .await;
    let Some(Ok(resp)) = out else {
        return Err("Timeout".into());
    };
    let text = match resp.body {
        Some(Body::Text(t)) => t,
        _ => String::new(),
    };
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if resp.status_code == 200 {
        Ok(v)
    } else {
        Err(v["__type"]
            .as_str()
            .unwrap_or("InternalFailure")
            .to_string())
    }
}
