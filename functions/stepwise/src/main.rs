//! `stepwise`: run, validate and serve Amazon States Language state machines.

mod client;
mod console;
#[cfg(feature = "serverless")]
mod cost;
mod dlq;
mod history;
mod progress;
mod resume;
mod run_embedded;
mod serve;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use serde_json::Value;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use stepwise_asl::model::Definition;
use stepwise_engine::{deep, ExecutionInfo, Status};
use stepwise_ports::BoxFuture;
use stepwise_runtime::local::{run_execution, wall_clock_ms, RunOptions};
use stepwise_runtime::tasks::{MockConfig, MockInvoker, TaskRouter};
use stepwise_tasks_aws::roles::{AssumedRoles, RoleLookup};
use stepwise_tasks_aws::{AwsServiceInvoker, LambdaInvoker, ServiceSettings};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Stepwise: AWS Step Functions, rebuilt in Rust, that you run yourself.
#[derive(Parser)]
#[command(name = "stepwise", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Check a definition as ValidateStateMachineDefinition does; exit 1 when it is invalid.
    Validate {
        /// The definition (`.asl.json`).
        file: PathBuf,
    },
    /// Run a state machine to its end and print its output.
    Run(RunArgs),
    /// Call a Step Functions API action on an endpoint (stepwise serve, AWS, or a deployed
    /// Stepwise API behind API Gateway), signed with SigV4; prints the response JSON.
    Call {
        /// The action, e.g. `ListStateMachines`, `StartExecution`.
        action: String,
        /// The request JSON, or `@path` to read it from a file.
        #[arg(default_value = "{}")]
        body: String,
        /// The endpoint.
        #[arg(
            long,
            default_value = "http://127.0.0.1:8083",
            env = "STEPWISE_ENDPOINT_URL"
        )]
        endpoint_url: String,
        /// The region to sign for.
        #[arg(long, default_value = "us-east-1", env = "AWS_REGION")]
        region: String,
        /// The service name to sign for: `states`, or `execute-api` for API Gateway (default:
        /// `execute-api` when the host is an execute-api host).
        #[arg(long)]
        sign_as: Option<String>,
    },
    /// Print what serverless executions cost (counted AWS requests at public prices) next to
    /// what AWS Step Functions Standard would charge.
    Cost {
        /// The DynamoDB table of the deployment.
        #[arg(long, env = "STEPWISE_TABLE")]
        table: String,
        /// One execution.
        #[arg(long)]
        execution: Option<String>,
        /// Every execution of a state machine.
        #[arg(long)]
        state_machine: Option<String>,
    },
    /// Serve the Step Functions API (awsJson1_0) on a durable embedded store, and the web
    /// console at its root.
    Serve(serve::ServeArgs),
    /// Serve the web console locally for a deployed Stepwise API (the serverless home): its
    /// API calls are signed with your AWS credentials (SigV4 for execute-api).
    Console(console::ConsoleArgs),
    /// Resume an ended execution from any state, with its recorded input or a new one
    /// (Stepwise's ResumeExecution, on serve or the serverless API).
    Resume(resume::ResumeArgs),
    /// Start a new execution at a state (Stepwise's StartExecutionFromState).
    Start(resume::StartArgs),
    /// Execution histories: `export` writes one completely, as JSON lines.
    #[command(subcommand)]
    History(history::HistoryCmd),
    /// The serverless home's dead-letter queues: `list` the messages they hold (with their
    /// execution ARN), `redrive` them back.
    #[command(subcommand)]
    Dlq(dlq::DlqCmd),
}

#[derive(Args)]
struct RunArgs {
    /// The definition (`.asl.json`).
    file: PathBuf,
    /// The execution input: JSON text, or `@path` to read it from a file (default `{}`).
    #[arg(long)]
    input: Option<String>,
    /// A Step Functions Local mock configuration file (MockConfigFile.json).
    #[arg(long, requires = "test_case")]
    mock_config: Option<PathBuf>,
    /// The test case of the mock configuration to use.
    #[arg(long, requires = "mock_config")]
    test_case: Option<String>,
    /// The state machine's name (selects the mock configuration's entry; default: the file name
    /// without `.asl.json` / `.json`).
    #[arg(long)]
    name: Option<String>,
    /// A Lambda-compatible endpoint for Lambda tasks (`cargo lambda watch`, `sam local
    /// start-lambda`, or AWS itself).
    #[arg(long)]
    lambda_endpoint: Option<String>,
    /// Write every history event as one JSON line to this file (`-` for stderr).
    #[arg(long)]
    history: Option<PathBuf>,
    /// Fire Wait states, retry intervals and timeouts at once instead of waiting for them; the
    /// execution's clock jumps ahead. Also set by STEPWISE_SKIP_WAITS=1.
    #[arg(long)]
    skip_waits: bool,
    /// Don't show live progress, even on a terminal.
    #[arg(long, short)]
    quiet: bool,
    /// Start at this top-level state instead of `StartAt` (the input is that state's input).
    #[arg(long = "from")]
    from: Option<String>,
    /// With `--from`: resume a run recorded with `--history FILE`: the state gets the input
    /// (unless `--input`) and the variables it had in that run.
    #[arg(long, requires = "from")]
    resume: Option<PathBuf>,
    /// One endpoint for every AWS service the integrations call (LocalStack, moto, ...), like
    /// AWS_ENDPOINT_URL; states:startExecution uses AWS_ENDPOINT_URL_SFN first (e.g. a `stepwise
    /// serve`).
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
    /// Make every AWS call as this IAM role (STS AssumeRole with the local credentials, the
    /// session named after the execution), as Step Functions calls as a state machine's
    /// `roleArn`; it is also the execution's `roleArn`. Also set by STEPWISE_ROLE_ARN.
    #[arg(long, env = "STEPWISE_ROLE_ARN", value_name = "ROLE_ARN")]
    assume_role: Option<String>,
}

/// The one role of a `stepwise run --assume-role`.
struct OneRole(String);

impl RoleLookup for OneRole {
    fn role_of<'a>(&'a self, _execution_arn: &'a str) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move { Some(self.0.clone()) })
    }
}

/// The largest input StartExecution takes, in bytes.
const MAX_INPUT: usize = stepwise_api::MAX_PAYLOAD;

fn main() -> ExitCode {
    // `validate`, `run` and `serve` reject an unknown aws-sdk service or action as AWS does.
    stepwise_asl::validate::register_aws_sdk_check(stepwise_tasks_aws::aws_sdk::check_resource);
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are not errors; a usage error exits 1 (the README's code for
            // usage errors), not clap's 2, which is `run`'s code for a FAILED execution.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Cmd::Validate { file } => validate(&file),
        Cmd::Run(args) => deep_main(move || run(args)),
        Cmd::Call {
            action,
            body,
            endpoint_url,
            region,
            sign_as,
        } => async_main(async move {
            let body = match body.strip_prefix('@') {
                Some(path) => {
                    std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?
                }
                None => body,
            };
            let name = client::signing_name(&endpoint_url, sign_as.as_deref());
            let out = client::call(&endpoint_url, &region, &name, &action, &body).await?;
            println!("{out}");
            Ok(ExitCode::SUCCESS)
        }),
        Cmd::Cost {
            table,
            execution,
            state_machine,
        } => async_main(async move {
            cost_report(&table, execution.as_deref(), state_machine.as_deref()).await?;
            Ok(ExitCode::SUCCESS)
        }),
        Cmd::Serve(args) => async_main(serve::serve(args)),
        Cmd::Console(args) => async_main(console::run(args)),
        Cmd::Resume(args) => async_main(async move {
            resume::resume(args).await?;
            Ok(ExitCode::SUCCESS)
        }),
        Cmd::Start(args) => async_main(async move {
            resume::start(args).await?;
            Ok(ExitCode::SUCCESS)
        }),
        Cmd::History(cmd) => async_main(async move {
            history::run(cmd).await?;
            Ok(ExitCode::SUCCESS)
        }),
        Cmd::Dlq(cmd) => async_main(async move {
            dlq::run(cmd).await?;
            Ok(ExitCode::SUCCESS)
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("stepwise: {e:#}");
            ExitCode::from(1)
        }
    }
}

#[cfg(feature = "serverless")]
async fn cost_report(table: &str, execution: Option<&str>, machine: Option<&str>) -> Result<()> {
    cost::report(table, execution, machine).await
}

/// The embedded home's build (the default) leaves out the serverless home's AWS SDKs.
#[cfg(not(feature = "serverless"))]
async fn cost_report(_table: &str, _execution: Option<&str>, _machine: Option<&str>) -> Result<()> {
    bail!(
        "`stepwise cost` reads a serverless deployment's table with AWS SDKs this binary was \
         built without: build it with `--features serverless` (cargo install --path \
         functions/stepwise --features serverless)"
    )
}

fn async_main(f: impl std::future::Future<Output = Result<ExitCode>>) -> Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(f)
}

/// Runs `f` on a runtime whose threads, and the thread that drives it, have room for the
/// deepest value a 256 KiB payload can hold (see `stepwise_engine::deep`).
fn deep_main<F: std::future::Future<Output = Result<ExitCode>>>(
    f: impl FnOnce() -> F + Send + 'static,
) -> Result<ExitCode> {
    std::thread::Builder::new()
        .name("stepwise-run".into())
        .stack_size(deep::STACK_SIZE)
        .spawn(move || {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_stack_size(deep::STACK_SIZE)
                .build()
                .context("starting the async runtime")?
                .block_on(f())
        })
        .context("starting the run's thread")?
        .join()
        .map_err(|_| anyhow::anyhow!("the run's thread panicked"))?
}

fn read_definition(file: &Path) -> Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
}

/// Prints the validator's diagnostics; true when there are errors.
fn report_diagnostics(file: &Path, text: &str) -> bool {
    let diagnostics = stepwise_asl::validate::validate(text);
    let mut errors = false;
    for d in &diagnostics {
        errors |= d.severity == "ERROR";
        // `CODE: message at /location`, as AWS words it in InvalidDefinition.
        eprintln!("{}: {} {d}", file.display(), d.severity);
    }
    errors
}

fn validate(file: &Path) -> Result<ExitCode> {
    let text = read_definition(file)?;
    if report_diagnostics(file, &text) {
        return Ok(ExitCode::from(1));
    }
    if let Err(e) = Definition::from_json(&text) {
        eprintln!(
            "{}: ERROR SCHEMA_VALIDATION_FAILED at {}: {}",
            file.display(),
            e.location,
            e.message
        );
        return Ok(ExitCode::from(1));
    }
    println!("{}: OK", file.display());
    Ok(ExitCode::SUCCESS)
}

fn machine_name(file: &Path) -> String {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("StateMachine");
    let name = name.strip_suffix(".json").unwrap_or(name);
    let name = name.strip_suffix(".asl").unwrap_or(name);
    name.to_string()
}

async fn run(args: RunArgs) -> Result<ExitCode> {
    let text = read_definition(&args.file)?;
    if report_diagnostics(&args.file, &text) {
        return Ok(ExitCode::from(1));
    }
    let def = Definition::from_json(&text)
        .map_err(|e| anyhow::anyhow!("{} at {}", e.message, e.location))?;
    let given = match &args.input {
        Some(arg) => {
            let text = resume::json_arg(arg)?;
            // StartExecution's limit (262,144 bytes of UTF-8), as `serve` refuses it.
            if text.len() > MAX_INPUT {
                bail!(
                    "the input is {} bytes; Step Functions takes at most {MAX_INPUT} (256 KiB)",
                    text.len()
                );
            }
            Some(deep::from_str::<Value>(&text).context("the input is not valid JSON")?)
        }
        None => None,
    };
    if let Some(state) = &args.from {
        if !def.root().states.iter().any(|s| *s.name == **state) {
            bail!(
                "--from: no top-level state '{state}' in {}",
                args.file.display()
            );
        }
    }
    let (input, start_variables) = match (&args.resume, &args.from) {
        (Some(path), Some(state)) => {
            let (input, vars) = resume::from_history_file(&def, path, state, given)?;
            (input, Some(vars))
        }
        _ => (
            given.unwrap_or_else(|| Value::Object(Default::default())),
            None,
        ),
    };

    let sm_name = args
        .name
        .clone()
        .unwrap_or_else(|| machine_name(&args.file));
    // A machine with no Task state and no distributed Map calls no AWS service: the AWS
    // configuration is not loaded then (its region lookup asks the EC2 instance metadata
    // service, a timeout away off EC2: most of a short run's time).
    let calls_aws = def.machines.iter().any(|m| {
        m.distributed
            || m.states
                .iter()
                .any(|s| matches!(s.kind, stepwise_asl::model::StateKind::Task { .. }))
    });
    let mut router = TaskRouter::new();
    let mut map_objects = None;
    if calls_aws {
        // Every other integration: states:startExecution goes to the Step Functions endpoint
        // the SDK configuration names (AWS_ENDPOINT_URL_SFN, --aws-endpoint-url, or AWS).
        let mut services = AwsServiceInvoker::new(ServiceSettings {
            region: None,
            endpoint_url: args.aws_endpoint_url.clone(),
            http_connections: args.http_connections.clone(),
            credentials: None,
            s3_dir: args.s3_dir.clone(),
        })
        .await?;
        if let Some(role) = &args.assume_role {
            let lookup = Arc::new(OneRole(role.clone()));
            let roles = AssumedRoles::new(lookup, None, args.aws_endpoint_url.clone(), None).await;
            services = services.with_roles(roles);
        }
        map_objects = Some(services.map_objects());
        router = router.with_fallback(Arc::new(services));
    }
    // A distributed Map runs its children as child executions, as in `serve` (see
    // run_embedded); a resume from a recorded history keeps the in-process driver.
    let embedded = def.machines.iter().any(|m| m.distributed) && args.resume.is_none();
    let mut mock = None;
    if let Some(path) = &args.mock_config {
        let config = MockConfig::from_file(path)?;
        // An unknown test case is refused before the run, not at its first mocked Task.
        if let Some(tc) = &args.test_case {
            if !config.has_test_case(&sm_name, tc) {
                bail!(
                    "the mock configuration {} defines no test case '{tc}' for state machine \
                     '{sm_name}' (the state machine's name is the file name without .asl.json \
                     unless --name gives it)",
                    path.display()
                );
            }
        }
        match (&args.test_case, embedded) {
            (Some(tc), true) => mock = Some((config, tc.clone())),
            _ => router = router.with_mock(MockInvoker::new(config)),
        }
    }
    if let Some(endpoint) = &args.lambda_endpoint {
        router = router.with_lambda(LambdaInvoker::local(endpoint.clone(), None));
    }
    let seed = stepwise_runtime::ids::fresh_seed();
    let exec_name = stepwise_engine::uuid_from_seed(seed);
    let info = ExecutionInfo {
        execution_arn: format!(
            "arn:aws:states:us-east-1:123456789012:execution:{sm_name}:{exec_name}"
        ),
        name: exec_name,
        state_machine_arn: format!("arn:aws:states:us-east-1:123456789012:stateMachine:{sm_name}"),
        state_machine_name: sm_name,
        role_arn: args
            .assume_role
            .clone()
            .unwrap_or_else(|| "arn:aws:iam::123456789012:role/stepwise".into()),
        start_time_ms: wall_clock_ms(),
        redrive_count: 0,
        seed,
    };
    let skip_waits = args.skip_waits
        || std::env::var("STEPWISE_SKIP_WAITS").is_ok_and(|v| v == "1" || v == "true");
    let options = RunOptions {
        skip_waits,
        test_case: args.test_case.clone(),
        start_at: args.from.clone(),
        start_variables,
    };
    let live = !args.quiet && std::io::stderr().is_terminal();
    let history: Option<Box<dyn std::io::Write + Send>> = match &args.history {
        None => None,
        Some(p) if p.as_os_str() == "-" => Some(Box::new(std::io::stderr())),
        Some(p) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        ))),
    };
    let mut observer = progress::Progress::new(live, history);
    let state = if embedded {
        let r = run_embedded::EmbeddedRun {
            definition: text,
            name: info.state_machine_name.clone(),
            execution_name: info.name.clone(),
            role_arn: info.role_arn.clone(),
            input,
            objects: map_objects
                .context("a distributed Map's items are read through the AWS configuration")?,
            mock,
            start_at: options.start_at.clone(),
            skip_waits: options.skip_waits,
        };
        run_embedded::run(r, router, &mut observer).await?
    } else {
        run_execution(
            Arc::new(def),
            info,
            input,
            Arc::new(router),
            options,
            &mut observer,
        )
        .await
    };
    observer.finish()?;
    match state.status {
        Status::Succeeded => {
            println!("{}", deep::to_string(&state.output.unwrap_or(Value::Null))?);
            Ok(ExitCode::SUCCESS)
        }
        Status::Running => bail!(
            "the execution stopped making progress: it waits for something nothing here will send"
        ),
        status => {
            eprintln!("Execution {}", status.as_str());
            // Each line only when the execution has it (a TIMED_OUT execution has no cause).
            if let Some(error) = state.error.filter(|e| !e.is_empty()) {
                eprintln!("Error: {error}");
            }
            if let Some(cause) = state.cause.filter(|c| !c.is_empty()) {
                eprintln!("Cause: {cause}");
            }
            Ok(ExitCode::from(match status {
                Status::TimedOut => 3,
                Status::Aborted => 4,
                _ => 2,
            }))
        }
    }
}
