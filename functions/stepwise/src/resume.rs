//! `stepwise resume` and `stepwise start --at`: Stepwise's own ResumeExecution and
//! StartExecutionFromState actions, called on `stepwise serve` or a deployed Stepwise API
//! (signed with SigV4, as `stepwise call` does).

use crate::client;
use anyhow::{Context, Result};
use clap::Args;
use serde_json::{json, Value};

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
    async fn call(&self, action: &str, body: &Value) -> Result<String> {
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
    /// The state to resume at: top-level, or inside a top-level Parallel or Map.
    #[arg(long = "from")]
    from: String,
    /// A new input for that state (JSON, or `@path`); default: the input it had.
    #[arg(long)]
    input: Option<String>,
    /// For a state inside a Map: the iteration.
    #[arg(long)]
    iteration: Option<u64>,
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
    /// The top-level state to start at.
    #[arg(long)]
    at: String,
    /// The input (JSON, or `@path`); with `--source` and no input: the state's input there.
    #[arg(long)]
    input: Option<String>,
    /// The execution name (default: a UUID).
    #[arg(long)]
    name: Option<String>,
    /// The execution this one comes from (recorded in its history).
    #[arg(long)]
    source: Option<String>,
    #[command(flatten)]
    endpoint: Endpoint,
}

/// JSON text, or the text of the file `@path` names; checked to be JSON.
pub fn json_arg(arg: &str) -> Result<String> {
    let text = match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?,
        None => arg.to_string(),
    };
    serde_json::from_str::<Value>(&text).context("the input is not valid JSON")?;
    Ok(text)
}

pub async fn resume(args: ResumeArgs) -> Result<()> {
    let mut body = json!({"executionArn": args.execution_arn, "stateName": args.from});
    if let Some(input) = &args.input {
        body["input"] = json!(json_arg(input)?);
    }
    if let Some(i) = args.iteration {
        body["mapIterationIndex"] = json!(i);
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
    let out = args.endpoint.call("StartExecutionFromState", &body).await?;
    println!("{out}");
    Ok(())
}
