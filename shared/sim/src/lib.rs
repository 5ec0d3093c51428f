//! A deterministic simulation of the AWS services the serverless home runs on, with the real
//! handlers on top.
//!
//! **The seam is the AWS SDK's HTTP layer.** The handlers (`stepper::handle`,
//! `invoker::handle`, `api::handle`) and everything under them (`stepwise-store-aws`'s commit,
//! attempts, queues, timers; the engine) call the AWS SDK clients directly. Each client here is
//! built with an in-process [`HttpClient`](aws_smithy_runtime_api::client::http::HttpClient)
//! ([`http`]) that answers DynamoDB, SQS, Scheduler and S3 requests from the simulated services
//! ([`ddb`], [`sqs`], [`services`]): nothing of Stepwise is re-implemented or bypassed, down to
//! the SDK's retries and its parsing of a cancelled transaction's reasons; no trait had to be
//! put between the code and the SDK. What the handlers do not own (Lambda's event source
//! mappings, function timeouts and crashes, Scheduler firing, the user's task functions and
//! callback workers) is played by [`lambda`] and [`workloads`].
//!
//! **Determinism.** One seed drives everything: each seed runs on its own current-thread tokio
//! runtime with paused time (virtual time that jumps to the next timer when every task waits),
//! the handlers read that clock and draw execution seeds through `stepwise_runtime::clock`,
//! the SDK retries with a static back-off base, and every random choice (latencies, faults,
//! delivery order, Scheduler's error) comes from one [`rng::Rng`].
//!
//! **Faults** ([`Faults`]) are drawn between every two I/O calls, at each SDK request: the
//! function crashes before or after the request takes effect, the request times out after it
//! took effect (the SDK retries it), is throttled (not applied; the SDK retries) or delayed; a
//! transaction meets another (`TransactionConflict`). Beside the calls: SQS delivers a standard
//! queue's message twice and in any order, a mapping's delete is lost (the message comes again
//! after its visibility timeout), Scheduler fires up to a minute early or late and sometimes
//! twice, and a function can outlive its timeout.
//!
//! Fatal faults (crashes, delays that can outlast a function's timeout) and lost deletes hit a
//! message's first [`FATAL_RECEIVES`] deliveries only: the queues give a message five, so at these
//! rates a message needing a hundred requests would otherwise end in a dead-letter queue by chance
//! rather than by a bug. Every point of every handler still meets crashes; what is checked is that the system
//! recovers from them.

pub mod async_lambda;
pub mod ddb;
pub mod expr;
pub mod http;
pub mod lambda;
pub mod rng;
pub mod services;
pub mod sqs;
pub mod workloads;

use rng::Rng;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// Deliveries of a message that may meet fatal faults (of the five before its dead-letter queue).
pub const FATAL_RECEIVES: u32 = 3;

/// An HTTP answer of a simulated service.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/x-amz-json-1.0".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// An answer without a body.
    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// `%xx` escapes decoded (S3 keys, Scheduler names).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(x) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How often each fault happens (chances per opportunity).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Faults {
    /// Per SDK request: the calling function crashes (half before, half after the request took
    /// effect).
    pub crash: f64,
    /// Per SDK request: the answer never comes back although the request took effect.
    pub timeout: f64,
    /// Per SDK request: throttled, not applied.
    pub throttle: f64,
    /// Per SDK request: answered after a long delay (up to `max_delay_ms`).
    pub delay: f64,
    /// The longest delay.
    pub max_delay_ms: i64,
    /// Per transaction: cancelled by another transaction on the same items.
    pub conflict: f64,
    /// Per delivery of a standard queue's message, or a Scheduler firing: delivered twice.
    pub duplicate: f64,
    /// Per successful message: the mapping's delete is lost, so it comes again.
    pub delete_lost: f64,
    /// How far off Scheduler fires (ms, either way).
    pub scheduler_error_ms: i64,
    /// The first this many tries of each task attempt's record (the invoker's PutItem of
    /// `TASK#`) take effect and time out: with the SDK's three tries, the invocation recording
    /// it never learns that it did.
    pub attempt_record_timeouts: u32,
}

impl Faults {
    /// No faults at all (the reference runs).
    pub fn none() -> Self {
        Faults {
            crash: 0.0,
            timeout: 0.0,
            throttle: 0.0,
            delay: 0.0,
            max_delay_ms: 0,
            conflict: 0.0,
            duplicate: 0.0,
            delete_lost: 0.0,
            scheduler_error_ms: 0,
            attempt_record_timeouts: 0,
        }
    }

    /// The rates the seed sweeps use: high enough that a run of a few hundred requests meets
    /// several faults of each kind.
    pub fn standard() -> Self {
        Faults {
            crash: 0.01,
            timeout: 0.01,
            throttle: 0.02,
            delay: 0.01,
            max_delay_ms: 90_000,
            conflict: 0.02,
            duplicate: 0.05,
            delete_lost: 0.03,
            scheduler_error_ms: 60_000,
            attempt_record_timeouts: 0,
        }
    }
}

/// Faults injected, by kind.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FaultCounts {
    /// Functions crashed before a request took effect.
    pub crash_before: u64,
    /// Functions crashed after a request took effect, before its answer.
    pub crash_after: u64,
    /// Requests that took effect and timed out.
    pub timeout: u64,
    /// Requests throttled.
    pub throttle: u64,
    /// Requests delayed.
    pub delay: u64,
    /// Transactions cancelled by a conflict.
    pub conflict: u64,
    /// Messages delivered twice (SQS standard, Scheduler).
    pub duplicate: u64,
    /// Batches of a standard queue delivered out of send order.
    pub reorder: u64,
    /// Mapping deletes lost (redelivery after the visibility timeout).
    pub delete_lost: u64,
    /// Scheduler firings before their time.
    pub scheduler_early: u64,
    /// Scheduler firings after their time.
    pub scheduler_late: u64,
    /// Function invocations stopped by their timeout.
    pub lambda_timeout: u64,
}

impl FaultCounts {
    /// Adds another seed's counts.
    pub fn add(&mut self, o: &FaultCounts) {
        self.crash_before += o.crash_before;
        self.crash_after += o.crash_after;
        self.timeout += o.timeout;
        self.throttle += o.throttle;
        self.delay += o.delay;
        self.conflict += o.conflict;
        self.duplicate += o.duplicate;
        self.reorder += o.reorder;
        self.delete_lost += o.delete_lost;
        self.scheduler_early += o.scheduler_early;
        self.scheduler_late += o.scheduler_late;
        self.lambda_timeout += o.lambda_timeout;
    }

    /// All faults.
    pub fn total(&self) -> u64 {
        self.crash_before
            + self.crash_after
            + self.timeout
            + self.throttle
            + self.delay
            + self.conflict
            + self.duplicate
            + self.reorder
            + self.delete_lost
            + self.scheduler_early
            + self.scheduler_late
            + self.lambda_timeout
    }
}

/// Everything the simulated services hold.
pub struct World {
    /// The seed's generator.
    pub rng: Rng,
    /// The fault rates in force.
    pub faults: Faults,
    /// Faults injected.
    pub counts: FaultCounts,
    /// DynamoDB.
    pub ddb: ddb::Ddb,
    /// SQS.
    pub sqs: sqs::Sqs,
    /// EventBridge Scheduler.
    pub scheduler: services::Scheduler,
    /// S3.
    pub s3: services::S3,
    /// Function invocations running, by tokio task: a crash aborts its invocation; the flag
    /// says whether it may meet a fatal fault (crash, long delay) at all.
    pub invocations: HashMap<tokio::task::Id, (tokio::task::AbortHandle, bool)>,
    /// SDK requests by service and operation.
    pub requests: BTreeMap<String, u64>,
    /// A digest of every request's time, target and fate, in order: equal for two replays of
    /// a seed.
    pub fingerprint: u64,
    /// Invocations holding a task's answer not yet recorded anywhere (between the task
    /// function's return and the outcome's first durable write).
    pub holding: std::collections::HashSet<tokio::task::Id>,
    /// Answers lost because the invocation holding one died: the only way a task attempt may
    /// fail as lost.
    pub answers_lost: u64,
    /// Looks at `.sync` jobs and map runs sent to the tasks queue (`Poll` messages).
    pub job_looks: u64,
    /// Task calls sent to the tasks queue (`Invoke` messages, each entry of a batch counted):
    /// one per task attempt when no fault intervenes.
    pub task_calls_sent: u64,
    /// Lambda request ids handed out (each invocation gets the next).
    pub request_ids: u64,
    /// Tries of each task attempt's record so far (for [`Faults::attempt_record_timeouts`]).
    pub attempt_records: HashMap<String, u32>,
    /// Lambda's queue of asynchronous invocations of the invoker (Task calls handed over).
    pub lambda_events: async_lambda::Queue,
}

/// A handle on the simulated world and its clock.
#[derive(Clone)]
pub struct Sim {
    world: Arc<Mutex<World>>,
    start: tokio::time::Instant,
    /// The virtual epoch the run starts at (ms).
    pub base_ms: i64,
    /// Woken when a message is sent: the mappings' long polls return.
    pub wake: Arc<tokio::sync::Notify>,
    /// Print every request to stderr with this much of its body (`STEPWISE_SIM_TRACE` set;
    /// `stepwise-sim --trace`; `STEPWISE_SIM_TRACE=full`: whole bodies).
    pub trace: Option<usize>,
}

impl Sim {
    /// A world for `seed` with `faults`; must be made inside the seed's runtime.
    pub fn new(seed: u64, faults: Faults) -> Self {
        Sim {
            world: Arc::new(Mutex::new(World {
                rng: Rng::new(seed),
                faults,
                counts: FaultCounts::default(),
                ddb: ddb::Ddb::default(),
                sqs: sqs::Sqs::default(),
                scheduler: services::Scheduler::default(),
                s3: services::S3::default(),
                invocations: HashMap::new(),
                requests: BTreeMap::new(),
                fingerprint: 0,
                holding: std::collections::HashSet::new(),
                answers_lost: 0,
                job_looks: 0,
                task_calls_sent: 0,
                request_ids: 0,
                attempt_records: HashMap::new(),
                lambda_events: async_lambda::Queue::default(),
            })),
            start: tokio::time::Instant::now(),
            // 2027-01-15T08:00:00Z: any fixed instant.
            base_ms: 1_800_000_000_000,
            wake: Arc::new(tokio::sync::Notify::new()),
            trace: std::env::var("STEPWISE_SIM_TRACE").ok().map(|v| {
                if v == "full" {
                    usize::MAX
                } else {
                    300
                }
            }),
        }
    }

    /// The world, locked (never across an await).
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The virtual time (ms since the epoch).
    pub fn now_ms(&self) -> i64 {
        self.base_ms + self.start.elapsed().as_millis() as i64
    }

    /// A random number in `lo..=hi`.
    pub fn range(&self, lo: i64, hi: i64) -> i64 {
        self.world().rng.range(lo, hi)
    }
}
