//! `stepwise serve`: the Step Functions API over HTTP (awsJson1_0) on a durable embedded store.

use anyhow::{bail, Context, Result};
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use stepwise_api::{Service, ServiceConfig};
use stepwise_engine::deep;
use stepwise_ports::execution::ExecutionStore;
use stepwise_ports::states_api::{LateStatesApi, StatesApi};
use stepwise_ports::status_events::StatusEventSink;
use stepwise_ports::tasks::TaskInvoker;
use stepwise_ports::BoxFuture;
use stepwise_runtime::tasks::{MockConfig, MockInvoker, TaskRouter};
use stepwise_store_embedded::{DriverOptions, EmbeddedDriver, SqliteStore};
use stepwise_tasks_aws::roles::{AssumedRoles, RoleLookup};
use stepwise_tasks_aws::{
    AwsServiceInvoker, EventBridgeStatusEvents, LambdaInvoker, ServiceSettings,
};

/// `stepwise serve`'s options.
#[derive(Args)]
pub struct ServeArgs {
    /// The address to listen on (loopback unless you say otherwise).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The port to listen on.
    #[arg(long, default_value_t = 8083)]
    port: u16,
    /// Where state machines, executions and their history are kept (default:
    /// $XDG_DATA_HOME/stepwise or ~/.local/share/stepwise).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// A Lambda-compatible endpoint for Lambda tasks.
    #[arg(long)]
    lambda_endpoint: Option<String>,
    /// A Step Functions Local mock configuration file; pick a test case per execution by
    /// starting it with `stateMachineArn#TestCaseName`.
    #[arg(long)]
    mock_config: Option<PathBuf>,
    /// Fire Wait states, retry intervals and timeouts at once (each execution's clock jumps
    /// ahead).
    #[arg(long)]
    skip_waits: bool,
    /// One endpoint for every AWS service the integrations call (LocalStack, moto, ...), like
    /// AWS_ENDPOINT_URL.
    #[arg(long)]
    aws_endpoint_url: Option<String>,
    /// Beyond AWS: a folder standing for S3 for distributed Maps (ItemReader, ResultWriter):
    /// bucket B, key K is the file DIR/B/K.
    #[arg(long, env = "STEPWISE_S3_DIR")]
    s3_dir: Option<std::path::PathBuf>,
    /// EventBridge connections for `http:invoke` tasks from this JSON file (keys: connection
    /// ARN or name; values: CreateConnection's AuthorizationType and AuthParameters) instead
    /// of EventBridge.
    #[arg(long)]
    http_connections: Option<PathBuf>,
    /// Delete executions (record, history and payloads) this many days after they close; never a
    /// running one. Default (and 0): keep everything forever.
    #[arg(long, env = "STEPWISE_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(0..=36_500))]
    retention_days: Option<u32>,
    /// Make each execution's AWS calls as its state machine's `roleArn` (STS AssumeRole with
    /// the local credentials, the session named after the execution), as Step Functions does.
    /// Also set by STEPWISE_ASSUME_ROLE=1.
    #[arg(long, env = "STEPWISE_ASSUME_ROLE")]
    assume_role: bool,
    /// Send "Step Functions Execution Status Change" events to this EventBridge bus (name or
    /// ARN); with --events-endpoint or AWS_ENDPOINT_URL_EVENTBRIDGE alone, to `default`.
    #[arg(long)]
    event_bus: Option<String>,
    /// The EventBridge endpoint for status change events (moto, LocalStack, ...).
    #[arg(long)]
    events_endpoint: Option<String>,
    /// The events' source (default `aws.states`, as Step Functions sends them; EventBridge on
    /// AWS keeps `aws.*` sources for its own services).
    #[arg(long)]
    event_source: Option<String>,
}

/// How often `serve` looks for executions past their retention (besides once at start-up).
const RETENTION_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Deletes what is past the retention now, then every [`RETENTION_SWEEP_EVERY`]; the first sweep
/// runs before the server answers, so what came due while it was down is gone at start-up.
async fn sweep_retention(store: Arc<SqliteStore>, days: u32) {
    let retention_ms = i64::from(days) * stepwise_store_embedded::retention::DAY_MS;
    let mut every = tokio::time::interval(RETENTION_SWEEP_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        sweep_once(&store, retention_ms);
    }
}

fn sweep_once(store: &SqliteStore, retention_ms: i64) -> usize {
    match store.delete_expired(now_ms(), retention_ms) {
        Ok(n) => n,
        Err(e) => {
            // A failed sweep is retried at the next one; the server goes on.
            eprintln!("stepwise serve: the retention sweep failed: {e}");
            0
        }
    }
}

/// Reads an execution's role from the store.
struct StoredRoles(Arc<SqliteStore>);

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

/// Where status change events go, when any of the options or AWS_ENDPOINT_URL_EVENTBRIDGE says.
async fn status_events(args: &ServeArgs) -> Option<Arc<dyn StatusEventSink>> {
    let endpoint_env = std::env::var("AWS_ENDPOINT_URL_EVENTBRIDGE")
        .ok()
        .filter(|e| !e.is_empty());
    if args.event_bus.is_none() && args.events_endpoint.is_none() && endpoint_env.is_none() {
        return None;
    }
    let bus = args.event_bus.clone().unwrap_or_else(|| "default".into());
    let sink =
        EventBridgeStatusEvents::new(bus, args.event_source.clone(), args.events_endpoint.clone())
            .await;
    Some(Arc::new(sink))
}

type Svc = Service<SqliteStore>;

fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("stepwise");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".local/share/stepwise")
}

/// The largest request body read (AWS's largest request, a definition of 1 MiB with
/// everything around it, fits many times over).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// The largest request head answered (request line and headers); hyper reads up to
/// [`HEAD_BUFFER`], so a larger one is still read whole and answered in JSON.
const MAX_HEAD: usize = 256 * 1024;

/// hyper's read buffer for a request head: a head up to this size is parsed and gets a JSON
/// answer; past it hyper answers 431 itself.
const HEAD_BUFFER: usize = 8 * 1024 * 1024;

/// An error answer in the awsJson1_0 shape.
fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"__type": code, "message": message}).to_string();
    (
        status,
        [(header::CONTENT_TYPE, "application/x-amz-json-1.0")],
        body,
    )
        .into_response()
}

/// Reads the body up to [`MAX_BODY`]; past it the rest is read and dropped, so the client,
/// still sending, gets the answer instead of a reset connection. `None`: too large.
async fn read_body(mut body: Body) -> Option<Bytes> {
    use http_body_util::BodyExt;
    let mut buf: Vec<u8> = Vec::new();
    let mut over = false;
    while let Some(frame) = body.frame().await {
        // A body cut short is answered as what arrived (it will not parse).
        let Ok(frame) = frame else {
            break;
        };
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        if over || buf.len() + chunk.len() > MAX_BODY {
            over = true;
            buf = Vec::new();
            continue;
        }
        buf.extend_from_slice(&chunk);
    }
    (!over).then(|| Bytes::from(buf))
}

async fn handle(State(svc): State<Arc<Svc>>, headers: HeaderMap, body: Body) -> Response {
    let head: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    let body = read_body(body).await;
    let mut resp = if head > MAX_HEAD {
        error_response(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            &format!("The request headers are {head} bytes long; at most {MAX_HEAD} are accepted"),
        )
    } else if let Some(body) = body {
        respond(&svc, &headers, &body).await
    } else {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            &format!("Request entity too large: the request body is over {MAX_BODY} bytes"),
        )
    };
    if let Ok(v) = stepwise_api::req::uuid().parse() {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

async fn respond(svc: &Svc, headers: &HeaderMap, body: &[u8]) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (status, body) = svc.handle(&target, body).await;
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        [(header::CONTENT_TYPE, "application/x-amz-json-1.0")],
        body,
    )
        .into_response()
}

/// The endpoint URL clients should use.
///
/// The SDKs send StartSyncExecution and TestState to AWS's `sync-` host (the models' host
/// prefix): `http://127.0.0.1:8083` becomes `http://sync-127.0.0.1:8083`, a name nothing
/// resolves offline (glibc resolves `*.localhost` only from /etc/hosts, unlike
/// systemd-resolved). botocore (boto3, the AWS CLI) prepends the prefix to the URL's whole
/// authority, user part included, so with a user part, `http://stepwise@127.0.0.1:8083`, it
/// becomes `sync-stepwise@127.0.0.1:8083`: the same host. The JavaScript SDK v3 prefixes the host
/// name itself, so it needs its `disableHostPrefix` option for those two actions.
fn client_endpoint(a: std::net::SocketAddr) -> String {
    let ip = match a.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_string(),
        ip if ip.is_unspecified() => "[::1]".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("http://stepwise@{ip}:{}", a.port())
}

/// Runs the server until Ctrl-C.
///
/// An execution's data may nest as deep as its 256 KiB limit allows (131,072 levels of `[`);
/// cloning, comparing, writing and dropping such a value recurse once per level. So the server
/// runs on its own runtime whose threads have [`deep::STACK_SIZE`] of stack (only the pages a
/// deep value touches are committed), never on the caller's default 2 MiB worker threads.
pub async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("stepwise-serve".into())
        .stack_size(deep::STACK_SIZE)
        .spawn(move || {
            let r = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_stack_size(deep::STACK_SIZE)
                .build()
                .context("starting the server's runtime")
                .and_then(|rt| rt.block_on(run(args)));
            let _ = tx.send(r);
        })
        .context("starting the server's thread")?;
    rx.await.context("the server's thread stopped")?
}

#[allow(clippy::incompatible_msrv)]
async fn run(args: ServeArgs) -> Result<ExitCode> {
    let dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let lock_path = dir.join("stepwise.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    if lock.try_lock().is_err() {
        bail!(
            "another `stepwise serve` is already using the data directory {} (its lock file {} is held); stop it first or pass a different --data-dir",
            dir.display(),
            lock_path.display()
        );
    }
    let store = Arc::new(SqliteStore::open(&dir)?);
    if let Some(days) = args.retention_days.filter(|d| *d > 0) {
        let n = sweep_once(
            &store,
            i64::from(days) * stepwise_store_embedded::retention::DAY_MS,
        );
        eprintln!(
            "stepwise serve: executions are deleted {days} day(s) after they close ({n} deleted now)"
        );
        tokio::spawn(sweep_retention(store.clone(), days));
    }
    // states:startExecution starts its child in this same service, bound once it exists.
    let states_api = LateStatesApi::new();
    let mut services = AwsServiceInvoker::new(ServiceSettings {
        region: None,
        endpoint_url: args.aws_endpoint_url.clone(),
        http_connections: args.http_connections.clone(),
        credentials: None,
        s3_dir: args.s3_dir.clone(),
    })
    .await?
    .with_states_api(states_api.clone());
    if args.assume_role {
        let lookup = Arc::new(StoredRoles(store.clone()));
        let roles = AssumedRoles::new(lookup, None, args.aws_endpoint_url.clone(), None).await;
        services = services.with_roles(roles);
    }
    let map_objects = services.map_objects();
    let mut router = TaskRouter::new().with_fallback(Arc::new(services));
    let mut config = ServiceConfig::default();
    if let Some(path) = &args.mock_config {
        let mock = MockConfig::from_file(path)?;
        config.mock = Some(Arc::new(mock.clone()));
        router = router.with_mock(MockInvoker::new(mock));
    }
    if let Some(endpoint) = &args.lambda_endpoint {
        router = router.with_lambda(LambdaInvoker::local(endpoint.clone(), None));
    }
    // Distributed Maps run their children as executions of this service.
    let map_runs = stepwise_api::map_run::MapRunInvoker::new(Arc::new(router), map_objects);
    config.map_runs_as_executions = true;
    let invoker: Arc<dyn TaskInvoker> = map_runs.clone();
    let driver = EmbeddedDriver::new(
        store.clone(),
        invoker.clone(),
        DriverOptions {
            skip_waits: args.skip_waits,
            status_events: status_events(&args).await,
        },
    );
    let service = Arc::new(Service::new(store, driver.clone(), config).with_invoker(invoker));
    map_runs.bind(&service);
    let as_api: Arc<dyn StatesApi> = service.clone();
    states_api.bind(Arc::downgrade(&as_api));
    let addr = format!("{}:{}", args.host, args.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let recovered = driver.recover().await?;
    let app = Router::new()
        .route("/", post(handle).get(crate::console::index))
        .merge(crate::console::routes())
        .layer(DefaultBodyLimit::disable())
        .with_state(service);
    let local = listener.local_addr().ok();
    eprintln!(
        "stepwise serve: listening on http://{} (data in {}; {} execution(s) resumed); the console is at its root",
        local.map(|a| a.to_string()).unwrap_or(addr),
        dir.display(),
        recovered
    );
    if let Some(a) = local {
        eprintln!(
            "stepwise serve: endpoint for boto3, the AWS CLI and the SDKs: {} (the JavaScript SDK v3 needs `disableHostPrefix: true` for StartSyncExecution and TestState)",
            client_endpoint(a)
        );
    }
    accept_loop(listener, app).await?;
    drop(lock);
    Ok(ExitCode::SUCCESS)
}

/// Serves HTTP/1.1 connections until Ctrl-C, with hyper's head buffer at [`HEAD_BUFFER`]
/// (axum::serve keeps hyper's default, which answers a large header with an empty 431).
async fn accept_loop(listener: tokio::net::TcpListener, app: Router) -> Result<()> {
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut stop => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // A connection that failed before it was accepted (reset, out of descriptors
                // for a moment) stops nothing else.
                Err(e) => {
                    eprintln!("stepwise serve: accept: {e}");
                    continue;
                }
            },
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .max_buf_size(HEAD_BUFFER)
                .serve_connection(io, service)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::client_endpoint;

    #[test]
    fn the_printed_endpoint_has_a_user_part_for_the_sync_host_prefix() {
        let at = |s: &str| client_endpoint(s.parse().expect("address"));
        assert_eq!(at("127.0.0.1:8083"), "http://stepwise@127.0.0.1:8083");
        assert_eq!(at("0.0.0.0:9000"), "http://stepwise@127.0.0.1:9000");
        assert_eq!(at("[::1]:8083"), "http://stepwise@[::1]:8083");
        assert_eq!(at("[::]:8083"), "http://stepwise@[::1]:8083");
    }
}
