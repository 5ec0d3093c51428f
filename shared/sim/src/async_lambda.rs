//! Lambda's asynchronous invocations (`InvocationType=Event`), by which Task calls are handed to
//! the invoker: Lambda takes the event (202) into a queue of its own, invokes the function
//! with it, possibly more than once (its queue delivers at least once), and when an invocation
//! fails (an error, a timeout, a crash) tries again after a minute, then after two more; after
//! the third failure it sends a record of the event to the function's on-failure destination
//! (the tasks dead-letter queue).

use crate::lambda::{context, invoke, INVOKER_TIMEOUT_MS};
use crate::rng::Rng;
use crate::{Reply, Sim};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use stepwise_ports::tasks::TaskInvoker;
use stepwise_store_aws::handlers::Deps;
use stepwise_store_aws::queues::TaskInvocation;

/// The largest event Lambda takes for an asynchronous invocation.
const EVENT_LIMIT: usize = 256 * 1024;

/// The waits before the second and the third try.
const RETRY_DELAYS_MS: [i64; 2] = [60_000, 120_000];

/// The destination of events whose every try failed.
pub const ON_FAILURE_QUEUE: &str = "stepwise-tasks-dlq";

/// An event waiting in Lambda's queue.
#[derive(Debug, Clone)]
pub struct Event {
    payload: String,
    /// Tries made so far.
    tries: u32,
    /// When it may be tried (ms).
    due_ms: i64,
}

/// Lambda's queue of asynchronous events for the invoker.
#[derive(Debug, Default)]
pub struct Queue {
    events: Vec<Event>,
}

impl Queue {
    /// Takes an Invoke request's event (202), twice with chance `duplicate`; the number of
    /// extra copies.
    pub fn accept(
        &mut self,
        payload: &[u8],
        now_ms: i64,
        rng: &mut Rng,
        duplicate: f64,
    ) -> (Reply, u64) {
        if payload.len() > EVENT_LIMIT {
            let mut r = Reply::json(
                413,
                json!({"Type": "User", "message": "Request must be smaller than 262144 bytes for the InvokeAsync operation"}),
            );
            r.headers
                .push(("x-amzn-errortype".into(), "RequestTooLargeException".into()));
            return (r, 0);
        }
        let event = Event {
            payload: String::from_utf8_lossy(payload).into_owned(),
            tries: 0,
            due_ms: now_ms,
        };
        let extra = u64::from(rng.chance(duplicate));
        for _ in 0..=extra {
            self.events.push(event.clone());
        }
        (
            Reply {
                status: 202,
                headers: Vec::new(),
                body: Vec::new(),
            },
            extra,
        )
    }

    /// The earliest event due by `now_ms`, taken out.
    fn take_due(&mut self, now_ms: i64) -> Option<Event> {
        let i = (0..self.events.len())
            .filter(|&i| self.events[i].due_ms <= now_ms)
            .min_by_key(|&i| self.events[i].due_ms)?;
        Some(self.events.swap_remove(i))
    }

    /// When the next event is due.
    fn next_due(&self) -> Option<i64> {
        self.events.iter().map(|e| e.due_ms).min()
    }

    /// Events still waiting (a run's end reports them as lost).
    pub fn waiting(&self) -> usize {
        self.events.len()
    }
}

/// One of Lambda's pollers of the queue: invokes the invoker with each due event, until `stop`.
pub async fn worker(
    sim: Sim,
    tasks: Arc<dyn TaskInvoker>,
    stop: Rc<std::cell::Cell<bool>>,
    wake: Arc<tokio::sync::Notify>,
) {
    let mut container: Option<Rc<Deps>> = None;
    while !stop.get() {
        let now = sim.now_ms();
        let (event, next) = {
            let mut w = sim.world();
            let e = w.lambda_events.take_due(now);
            (e, w.lambda_events.next_due())
        };
        let Some(mut event) = event else {
            let wait = next.map_or(20_000, |t| (t - now).clamp(1, 20_000)) + sim.range(0, 200);
            tokio::select! {
                biased;
                _ = wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            }
            continue;
        };
        let deps = match &container {
            Some(d) => d.clone(),
            None => {
                let d = Rc::new(Deps::new(crate::lambda::aws(&sim)));
                container = Some(d.clone());
                d
            }
        };
        // The last try meets no crash, as a queue message's last deliveries do not: nothing
        // reaches the dead-letter queue by chance.
        let fatal = event.tries + 1 < 3;
        let ctx = context(&sim, sim.now_ms() + INVOKER_TIMEOUT_MS);
        let payload = serde_json::from_str::<TaskInvocation>(&event.payload);
        let t = tasks.clone();
        let d = deps.clone();
        let ok = match payload {
            Ok(call) => invoke(&sim, INVOKER_TIMEOUT_MS, fatal, async move {
                invoker::handle_invocation(&d, t.as_ref(), LambdaEvent::new(call, ctx)).await
            })
            .await
            .is_some_and(|r| r.is_ok()),
            Err(_) => false,
        };
        if ok {
            continue;
        }
        container = None;
        event.tries += 1;
        let mut w = sim.world();
        let w = &mut *w;
        match RETRY_DELAYS_MS.get(event.tries as usize - 1) {
            Some(delay) => {
                event.due_ms = sim.now_ms() + delay;
                w.lambda_events.events.push(event);
            }
            None => {
                let record = json!({
                    "version": "1.0",
                    "requestContext": {
                        "condition": "RetriesExhausted",
                        "approximateInvokeCount": event.tries,
                    },
                    "requestPayload": serde_json::from_str::<Value>(&event.payload).unwrap_or(Value::Null),
                });
                let now = sim.now_ms();
                let _ = w.sqs.send(
                    &crate::sqs::url(ON_FAILURE_QUEUE),
                    &record.to_string(),
                    None,
                    None,
                    0,
                    now,
                    &mut w.rng,
                );
            }
        }
    }
}
