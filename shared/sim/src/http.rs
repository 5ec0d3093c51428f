//! The seam: an in-process HTTP client for the AWS SDK that answers from the simulated services,
//! drawing a fault before each request takes effect and after.

use crate::{ddb::Ddb, Reply, Sim};
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use aws_types::sdk_config::{
    RequestChecksumCalculation, ResponseChecksumValidation, RetryConfig, SharedAsyncSleep,
    SharedCredentialsProvider, SharedTimeSource, StalledStreamProtectionConfig, TimeSource,
};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    Ok,
    CrashBefore,
    CrashAfter,
    Timeout,
    Throttle,
    Delay(i64),
    Conflict,
}

#[derive(Debug, Clone)]
struct Connector(Sim);

/// The request as the services read it.
struct Parsed {
    service: String,
    op: String,
    method: String,
    path: String,
    query: String,
    body: Vec<u8>,
}

fn parse(req: &HttpRequest) -> Parsed {
    let auth = req.headers().get("authorization").unwrap_or_default();
    // `Credential=AKID/20270115/us-east-1/dynamodb/aws4_request`
    let service = auth
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or_default()
        .to_string();
    let target = req.headers().get("x-amz-target").unwrap_or_default();
    let op = target.rsplit('.').next().unwrap_or_default().to_string();
    let uri = req.uri().to_string();
    let after_host = uri.splitn(4, '/').nth(3).unwrap_or_default();
    let (path, query) = after_host.split_once('?').unwrap_or((after_host, ""));
    Parsed {
        service,
        op,
        method: req.method().to_string(),
        path: format!("/{path}"),
        query: query.to_string(),
        body: req.body().bytes().map(<[u8]>::to_vec).unwrap_or_default(),
    }
}

fn throttled(service: &str) -> Reply {
    match service {
        "s3" => Reply {
            status: 503,
            headers: Vec::new(),
            body: b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>".to_vec(),
        },
        "scheduler" => {
            let mut r = Reply::json(429, serde_json::json!({"Message": "Rate exceeded"}));
            r.headers.push(("x-amzn-errortype".into(), "ThrottlingException".into()));
            r
        }
        "sqs" => Reply::json(
            400,
            serde_json::json!({"__type": "com.amazonaws.sqs#ThrottlingException", "message": "Rate exceeded"}),
        ),
        "lambda" => {
            let mut r = Reply::json(
                429,
                serde_json::json!({"Type": "User", "message": "Rate Exceeded.", "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}),
            );
            r.headers.push(("x-amzn-errortype".into(), "TooManyRequestsException".into()));
            r
        }
        _ => Reply::json(
            400,
            serde_json::json!({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate of requests exceeds the allowed throughput."}),
        ),
    }
}

impl Sim {
    fn fate(&self, p: &Parsed) -> Fate {
        let mut w = self.world();
        let f = w.faults;
        let fatal = tokio::task::try_id()
            .and_then(|id| w.invocations.get(&id))
            .is_some_and(|(_, fatal)| *fatal);
        if f.attempt_record_timeouts > 0 && p.op == "PutItem" {
            let body = String::from_utf8_lossy(&p.body);
            if body.contains("\"SK\":{\"S\":\"TASK#") {
                let v = serde_json::from_slice::<Value>(&p.body).unwrap_or(Value::Null);
                let key = format!("{}|{}", v["Item"]["PK"]["S"], v["Item"]["SK"]["S"]);
                let tries = w.attempt_records.entry(key).or_default();
                *tries += 1;
                if *tries <= f.attempt_record_timeouts {
                    w.counts.timeout += 1;
                    return Fate::Timeout;
                }
            }
        }
        let r = &mut w.rng;
        let fate = if fatal && r.chance(f.crash / 2.0) {
            Fate::CrashBefore
        } else if fatal && r.chance(f.crash / 2.0) {
            Fate::CrashAfter
        } else if r.chance(f.timeout) {
            Fate::Timeout
        } else if r.chance(f.throttle) {
            Fate::Throttle
        } else if fatal && r.chance(f.delay) {
            Fate::Delay(r.range(1_000, f.max_delay_ms.max(1_000)))
        } else if p.op == "TransactWriteItems" && r.chance(f.conflict) {
            Fate::Conflict
        } else {
            Fate::Ok
        };
        let c = &mut w.counts;
        match fate {
            Fate::CrashBefore => c.crash_before += 1,
            Fate::CrashAfter => c.crash_after += 1,
            Fate::Timeout => c.timeout += 1,
            Fate::Throttle => c.throttle += 1,
            Fate::Delay(_) => c.delay += 1,
            Fate::Conflict => c.conflict += 1,
            Fate::Ok => {}
        }
        fate
    }

    /// Stops the invocation this task runs (Lambda's sandbox died): it never sees another answer.
    fn crash_here(&self) {
        let handle = tokio::task::try_id().and_then(|id| {
            let mut w = self.world();
            if w.holding.remove(&id) {
                w.answers_lost += 1;
            }
            w.invocations.remove(&id)
        });
        if let Some((h, _)) = handle {
            h.abort();
        }
    }

    fn apply(&self, p: &Parsed) -> Reply {
        let now = self.now_ms();
        let mut w = self.world();
        *w.requests
            .entry(format!(
                "{}:{}",
                p.service,
                if p.op.is_empty() { &p.method } else { &p.op }
            ))
            .or_default() += 1;
        if p.op.starts_with("SendMessage") || p.service == "lambda" {
            w.job_looks += occurrences(&p.body, br#"{\"kind\":\"Poll\""#);
            w.task_calls_sent += occurrences(&p.body, br#"{\"kind\":\"Invoke\""#);
        }
        let json = || serde_json::from_slice::<Value>(&p.body).unwrap_or(Value::Null);
        match p.service.as_str() {
            "dynamodb" => w.ddb.handle(&p.op, &json(), now),
            "sqs" => {
                let w = &mut *w;
                let before = w.sqs.entries_failed;
                let r = w
                    .sqs
                    .handle(&p.op, &json(), now, &mut w.rng, w.faults.throttle);
                w.counts.throttle += w.sqs.entries_failed - before;
                r
            }
            "scheduler" => {
                let w = &mut *w;
                let err = w.faults.scheduler_error_ms;
                w.scheduler
                    .handle(&p.method, &p.path, &p.query, &json(), &mut w.rng, err)
            }
            "s3" => w.s3.handle(&p.method, &p.path, &p.body),
            // Only the invoker is invoked, and only asynchronously.
            "lambda" => {
                let w = &mut *w;
                let (r, extra) =
                    w.lambda_events
                        .accept(&p.body, now, &mut w.rng, w.faults.duplicate);
                w.counts.duplicate += extra;
                r
            }
            other => Reply::json(
                400,
                serde_json::json!({"__type": "UnknownService", "message": other}),
            ),
        }
    }

    fn apply_and_wake(&self, p: &Parsed) -> Reply {
        let r = self.apply(p);
        // An attempt is in doubt from its record (a PutItem of `TASK#`) until its outcome is
        // recorded (an UpdateItem of `TASK#`, the outcome on the transitions queue, or the
        // commit that applies it): an
        // invoker dying in between leaves an attempt that may have been called, which is
        // failed as lost, never called again.
        let body = String::from_utf8_lossy(&p.body);
        let attempt = p.service == "dynamodb" && body.contains("\"SK\":{\"S\":\"TASK#");
        // A redelivery taking over a record an invocation that never called wrote: as a record.
        let takes_over = attempt && p.op == "UpdateItem" && body.contains("SET invocation");
        let begins = attempt && (p.op == "PutItem" || takes_over);
        // The invoker may apply the outcome itself: its commit (a transaction, or the
        // conditional update of the execution's META item) records it.
        let records = (attempt && p.op == "UpdateItem" && !takes_over)
            || (p.service == "sqs" && body.contains(".fifo"))
            || (p.service == "dynamodb" && p.op == "TransactWriteItems")
            || (p.service == "dynamodb"
                && p.op == "UpdateItem"
                && body.contains("\"SK\":{\"S\":\"META\"}")
                && body.contains("version = :seen"));
        if r.status == 200 && (begins || records) {
            if let Some(id) = tokio::task::try_id() {
                let mut w = self.world();
                if begins {
                    w.holding.insert(id);
                } else {
                    w.holding.remove(&id);
                }
            }
        }
        if p.service == "sqs" || p.service == "lambda" {
            self.wake.notify_waiters();
        }
        r
    }

    async fn answer(self, p: Parsed) -> Result<HttpResponse, ConnectorError> {
        let latency = self.range(1, 15) as u64;
        tokio::time::sleep(Duration::from_millis(latency)).await;
        let fate = self.fate(&p);
        {
            use std::hash::{Hash, Hasher};
            // SipHash with fixed keys: the same digest in every process.
            let mut h = std::hash::DefaultHasher::new();
            let mut w = self.world();
            (w.fingerprint, self.now_ms(), &p.service, &p.op, &p.path).hash(&mut h);
            format!("{fate:?}").hash(&mut h);
            w.fingerprint = h.finish();
        }
        if let Some(body) = self.trace {
            // One line per request, to diff two replays of a seed (the SDK writes a map's keys
            // in any order, so compare the fields before the body).
            eprintln!(
                "TRACE {} {} {} {} {:?} {}B {}",
                self.now_ms(),
                p.service,
                p.op,
                p.path,
                fate,
                p.body.len(),
                String::from_utf8_lossy(&p.body)
                    .chars()
                    .take(body)
                    .collect::<String>()
            );
        }
        let reply = match fate {
            Fate::Throttle => throttled(&p.service),
            Fate::CrashBefore => {
                self.crash_here();
                return std::future::pending().await;
            }
            Fate::Conflict => {
                Ddb::conflict(&serde_json::from_slice::<Value>(&p.body).unwrap_or(Value::Null))
            }
            Fate::Delay(ms) => {
                tokio::time::sleep(Duration::from_millis(ms as u64)).await;
                self.apply_and_wake(&p)
            }
            _ => self.apply_and_wake(&p),
        };
        match fate {
            Fate::CrashAfter => {
                self.crash_here();
                return std::future::pending().await;
            }
            Fate::Timeout => {
                tokio::time::sleep(Duration::from_millis(self.range(1_000, 5_000) as u64)).await;
                return Err(ConnectorError::timeout("simulated: no answer".into()));
            }
            _ => {}
        }
        let mut resp = HttpResponse::new(
            reply
                .status
                .try_into()
                .map_err(|e| ConnectorError::other(Box::new(e), None))?,
            SdkBody::from(reply.body),
        );
        for (k, v) in reply.headers {
            resp.headers_mut().insert(k, v);
        }
        resp.headers_mut().insert("x-amzn-requestid", "sim");
        Ok(resp)
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let p = parse(&request);
        HttpConnectorFuture::new(self.0.clone().answer(p))
    }
}

#[derive(Debug)]
struct Clock;

impl TimeSource for Clock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(stepwise_runtime::local::wall_clock_ms().max(0) as u64)
    }
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sim")
    }
}

/// The SDK configuration every client of the run is built from: the simulated services behind
/// one endpoint, the virtual clock, retries without jitter (a seed must replay), and checksums
/// only where required (bodies stay plain).
pub fn sdk_config(sim: &Sim) -> aws_types::SdkConfig {
    let connector = SharedHttpConnector::new(Connector(sim.clone()));
    let client: SharedHttpClient = http_client_fn(move |_, _| connector.clone());
    aws_types::SdkConfig::builder()
        .region(aws_types::region::Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new("sim", "sim", None, None, "sim"),
        ))
        .endpoint_url("https://aws.sim.test")
        .http_client(client)
        .time_source(SharedTimeSource::new(Clock))
        .sleep_impl(SharedAsyncSleep::new(
            aws_smithy_async::rt::sleep::TokioSleep::new(),
        ))
        .retry_config(RetryConfig::standard().with_use_static_exponential_base(true))
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

/// Whether an SQS send's body is a look at a job (a `Poll` task message, JSON inside JSON).
/// How many times `what` occurs in `body` (a message kind in a SendMessage's or a
/// SendMessageBatch's JSON-escaped bodies).
fn occurrences(body: &[u8], what: &[u8]) -> u64 {
    body.windows(what.len()).filter(|w| *w == what).count() as u64
}
