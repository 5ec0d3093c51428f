//! `stepwise history export`: an execution's complete history, any length, as JSON lines (one
//! GetExecutionHistory event per line, as the API returns it), for audit.

use crate::resume::Endpoint;
use anyhow::{Context, Result};
use clap::Subcommand;
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;

/// Execution histories.
#[derive(Subcommand)]
pub enum HistoryCmd {
    /// Write an execution's complete history as JSON lines (to stdout, or `--output FILE`).
    Export {
        /// The execution.
        execution_arn: String,
        /// The file to write (default: stdout).
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        endpoint: Endpoint,
    },
}

/// How many events one GetExecutionHistory page asks for (the API's maximum).
const PAGE: u64 = 1000;

pub async fn run(cmd: HistoryCmd) -> Result<()> {
    let HistoryCmd::Export {
        execution_arn,
        output,
        endpoint,
    } = cmd;
    let mut out: Box<dyn Write> = match &output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut token: Option<String> = None;
    let mut count = 0u64;
    loop {
        let mut body = json!({"executionArn": execution_arn, "maxResults": PAGE});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let text = endpoint.call("GetExecutionHistory", &body).await?;
        let page: Value =
            stepwise_engine::deep::from_str(&text).context("the history page is not JSON")?;
        for e in page["events"].as_array().into_iter().flatten() {
            writeln!(out, "{e}").context("writing the history")?;
            count += 1;
        }
        match page["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    out.flush().context("writing the history")?;
    if let Some(p) = output {
        eprintln!("{count} events written to {}", p.display());
    }
    Ok(())
}
