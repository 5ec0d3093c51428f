//! `stepwise resume` and `stepwise start --at`: Stepwise's own ResumeExecution and
//! StartExecutionFromState actions, called on `stepwise serve` or a deployed Stepwise API
//! (signed with SigV4, as `stepwise call` does); and `stepwise run --resume HISTORY --from
//! STATE`, which takes the state's input and variables from a run recorded with `--history`.

use crate::client;
use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Map, Value};
use std::path::Path;
use stepwise_asl::model::Definition;
use stepwise_engine::resume::{plan, ResumeRequest};
use stepwise_engine::{ExecutionInfo, ExecutionState, HistoryEvent, Status};

/// Where the API is.
#[derive(Args)]
pub struct Endpoint {
    /// The endpoint (`stepwise serve`, or the serverless API's URL).
    #[arg(
        long,
        default_value = "http://127.0.0.1:8083",
        env = "STEPWISE_ENDPOINT_URL"
    )]
    endpoint_url: String,
    /// The region to sign for.
    #[arg(long, default_value = "us-east-1", env = "AWS_REGION")]
    region: String,
    /// The service name to sign for (`states`, or `execute-api` for API Gateway).
    #[arg(long)]
    sign_as: Option<String>,
}

impl Endpoint {
    pub async fn call(&self, action: &str, body: &Value) -> Result<String> {
        let name = client::signing_name(&self.endpoint_url, self.sign_as.as_deref());
        client::call(
            &self.endpoint_url,
            &self.region,
            &name,
            action,
            &body.to_string(),
        )
        .await
    }
}

/// `stepwise resume`.
#[derive(Args)]
pub struct ResumeArgs {
    /// The execution to resume (FAILED, TIMED_OUT or ABORTED).
    execution_arn: String,
    /// The state to resume at: top-level, or inside Parallel branches and Map iterations.
    #[arg(long = "from")]
    from: String,
    /// A new input for that state (JSON, or `@path`); default: the input it had.
    #[arg(long)]
    input: Option<String>,
    /// For a state inside a Map: the iteration; inside Maps in Maps, once per Map, outermost
    /// first.
    #[arg(long)]
    iteration: Vec<u64>,
    /// Also resume a SUCCEEDED execution.
    #[arg(long)]
    include_succeeded: bool,
    #[command(flatten)]
    endpoint: Endpoint,
}

/// `stepwise start`.
#[derive(Args)]
pub struct StartArgs {
    /// The state machine, version or alias ARN.
    state_machine_arn: String,
    /// The state to start at: top-level, or (with `--source`) inside Parallel branches and Map
    /// iterations.
    #[arg(long)]
    at: String,
    /// The input (JSON, or `@path`); with `--source` and no input: the state's input there.
    #[arg(long)]
    input: Option<String>,
    /// The execution name (default: a UUID).
    #[arg(long)]
    name: Option<String>,
    /// The execution this one comes from (recorded in its history); needed to start inside a
    /// Parallel or Map.
    #[arg(long)]
    source: Option<String>,
    /// For a state inside a Map: the iteration (once per enclosing Map, outermost first).
    #[arg(long)]
    iteration: Vec<u64>,
    #[command(flatten)]
    endpoint: Endpoint,
}

/// JSON text, or the text of the file `@path` names; checked to be JSON.
pub fn json_arg(arg: &str) -> Result<String> {
    let text = match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?,
        None => arg.to_string(),
    };
    // Any depth a 256 KiB payload can hold (serde_json alone stops at 128 levels).
    stepwise_engine::deep::from_str::<Value>(&text).context("the input is not valid JSON")?;
    Ok(text)
}

pub async fn resume(args: ResumeArgs) -> Result<()> {
    let mut body = json!({"executionArn": args.execution_arn, "stateName": args.from});
    if let Some(input) = &args.input {
        body["input"] = json!(json_arg(input)?);
    }
    match args.iteration.as_slice() {
        [] => {}
        [i] => body["mapIterationIndex"] = json!(i),
        all => body["mapIterationIndexes"] = json!(all),
    }
    if args.include_succeeded {
        body["includeSucceeded"] = json!(true);
    }
    let out = args.endpoint.call("ResumeExecution", &body).await?;
    println!("{out}");
    Ok(())
}

pub async fn start(args: StartArgs) -> Result<()> {
    let mut body = json!({"stateMachineArn": args.state_machine_arn, "stateName": args.at});
    if let Some(input) = &args.input {
        body["input"] = json!(json_arg(input)?);
    }
    if let Some(name) = args.name {
        body["name"] = json!(name);
    }
    if let Some(source) = args.source {
        body["sourceExecutionArn"] = json!(source);
    }
    match args.iteration.as_slice() {
        [] => {}
        [i] => body["mapIterationIndex"] = json!(i),
        all => body["mapIterationIndexes"] = json!(all),
    }
    let out = args.endpoint.call("StartExecutionFromState", &body).await?;
    println!("{out}");
    Ok(())
}

/// The input (unless `given`) and variables `state` had in the run recorded in `path` (the JSON
/// lines `stepwise run --history` writes, GetExecutionHistory's events).
pub fn from_history_file(
    def: &Definition,
    path: &Path,
    state: &str,
    given: Option<Value>,
) -> Result<(Value, Map<String, Value>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the history {}", path.display()))?;
    let mut events = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: Value = stepwise_engine::deep::from_str(line)
            .with_context(|| format!("{} line {}: not JSON", path.display(), n + 1))?;
        events.push(
            api_event(&v).with_context(|| {
                format!("{} line {}: not a history event", path.display(), n + 1)
            })?,
        );
    }
    let mut recorded = ExecutionState::new(ExecutionInfo {
        execution_arn: String::new(),
        name: String::new(),
        state_machine_arn: String::new(),
        state_machine_name: String::new(),
        role_arn: String::new(),
        start_time_ms: 0,
        redrive_count: 0,
        seed: 0,
    });
    // A recorded run can be resumed whatever its end (and a run cut short too).
    recorded.status = Status::Failed;
    let req = ResumeRequest {
        state: state.to_string(),
        input: given,
        map_iteration_indexes: Vec::new(),
        include_succeeded: true,
    };
    let point = plan(def, &recorded, &events, &req)?;
    if point.inner.is_some() {
        bail!("--from '{state}': a local run resumes at a top-level state");
    }
    Ok((point.input, point.variables))
}

/// A history event from its API form (`id`, `previousEventId`, `type`, `...EventDetails`).
fn api_event(v: &Value) -> Option<HistoryEvent> {
    let o = v.as_object()?;
    let details = o
        .iter()
        .find(|(k, _)| k.ends_with("EventDetails"))
        .map(|(_, d)| d.clone());
    Some(HistoryEvent::new(
        o.get("id")?.as_u64()?,
        o.get("previousEventId")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        o.get("timestamp")
            .and_then(Value::as_f64)
            .map(|t| (t * 1000.0) as i64)
            .unwrap_or(0),
        o.get("type")?.as_str()?.to_string(),
        details,
    ))
}
