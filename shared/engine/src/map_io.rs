//! What a distributed Map asks of the outside world besides its children: reading its items
//! (`ItemReader`) and writing its results (`ResultWriter`). Both leave the interpreter as a
//! [`crate::Command::InvokeTask`] whose resource is the field's own `Resource`
//! (`arn:aws:states:::s3:getObject`, `...:s3:listObjectsV2`, `...:s3:putObject`, which are no Task
//! resources of Step Functions) and whose parameters hold one of these requests under its key
//! ([`ReadItems::KEY`], [`WriteResults::KEY`]); the answer comes back as `TaskSucceeded` (the
//! items, or the Map's output) or `TaskFailed` (`States.ItemReaderFailed`,
//! `States.ResultWriterFailed`). Nothing is recorded in the history for the call itself, as on
//! AWS.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An `ItemReader` call: the S3 request and how to read what it returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReadItems {
    /// `Parameters`/`Arguments` after evaluation (`Bucket`, `Key`, `Prefix`, ...).
    pub arguments: Value,
    /// `ReaderConfig.InputType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_type: Option<String>,
    /// `ReaderConfig.CSVHeaderLocation`.
    #[serde(
        default,
        rename = "CSVHeaderLocation",
        skip_serializing_if = "Option::is_none"
    )]
    pub csv_header_location: Option<String>,
    /// `ReaderConfig.CSVHeaders`.
    #[serde(
        default,
        rename = "CSVHeaders",
        skip_serializing_if = "Option::is_none"
    )]
    pub csv_headers: Option<Vec<String>>,
    /// `ReaderConfig.CSVDelimiter`.
    #[serde(
        default,
        rename = "CSVDelimiter",
        skip_serializing_if = "Option::is_none"
    )]
    pub csv_delimiter: Option<String>,
    /// `ReaderConfig.ManifestType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_type: Option<String>,
    /// At most this many items (`MaxItems`, 0 and values above 100,000,000 already clipped).
    pub max_items: u64,
}

impl ReadItems {
    /// The parameters' key that marks an `ItemReader` call.
    pub const KEY: &'static str = "ItemReader";

    /// The request inside a task's parameters, when they hold one.
    pub fn from_parameters(p: &Value) -> Option<Self> {
        serde_json::from_value(p.get(Self::KEY)?.clone()).ok()
    }

    /// The same, taken out of the parameters (no copy of the items).
    pub fn take_from(p: &mut Value) -> Option<Self> {
        serde_json::from_value(p.as_object_mut()?.remove(Self::KEY)?).ok()
    }
}

/// A child execution's outcome, as the ResultWriter files list it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChildOutcome {
    /// The child execution's name.
    pub name: String,
    /// `SUCCEEDED` or `FAILED`.
    pub status: String,
    /// Its input.
    pub input: Value,
    /// Its output, when it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Its error, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its cause, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// A `ResultWriter` call: where the results go and the results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WriteResults {
    /// `Parameters`/`Arguments` after evaluation (`Bucket`, `Prefix`).
    pub arguments: Value,
    /// `WriterConfig.OutputType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_type: Option<String>,
    /// `WriterConfig.Transformation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transformation: Option<String>,
    /// The map run.
    pub map_run_arn: String,
    /// When the map run started and ended (ms since the epoch).
    pub start_date_ms: i64,
    /// When the results were complete.
    pub stop_date_ms: i64,
    /// Every child's outcome, in item order.
    pub executions: Vec<ChildOutcome>,
}

impl WriteResults {
    /// The parameters' key that marks a `ResultWriter` call.
    pub const KEY: &'static str = "ResultWriter";

    /// The request inside a task's parameters, when they hold one.
    pub fn from_parameters(p: &Value) -> Option<Self> {
        serde_json::from_value(p.get(Self::KEY)?.clone()).ok()
    }

    /// The same, taken out of the parameters (no copy of the results).
    pub fn take_from(p: &mut Value) -> Option<Self> {
        serde_json::from_value(p.as_object_mut()?.remove(Self::KEY)?).ok()
    }
}

/// How many items or child executions of a map run are in each state (DescribeMapRun's
/// `itemCounts` and `executionCounts`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MapRunCounts {
    /// Not started yet.
    pub pending: u64,
    /// Running.
    pub running: u64,
    /// Succeeded.
    pub succeeded: u64,
    /// Failed.
    pub failed: u64,
    /// Timed out.
    pub timed_out: u64,
    /// Stopped.
    pub aborted: u64,
    /// All of them.
    pub total: u64,
    /// Written by the ResultWriter.
    pub results_written: u64,
    /// Failed and not redrivable.
    pub failures_not_redrivable: u64,
    /// Waiting for a redrive.
    pub pending_redrive: u64,
}

/// A map run as DescribeMapRun and ListMapRuns report it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MapRunInfo {
    /// Its ARN.
    pub map_run_arn: String,
    /// The Map state.
    pub state_name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED` or `ABORTED`.
    pub status: String,
    /// When it started (ms since the epoch).
    pub start_ms: i64,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_ms: Option<i64>,
    /// Its MaxConcurrency (0: no limit).
    pub max_concurrency: u64,
    /// Its ToleratedFailureCount.
    pub tolerated_failure_count: u64,
    /// Its ToleratedFailurePercentage.
    pub tolerated_failure_percentage: f64,
    /// Items by state.
    pub item_counts: MapRunCounts,
    /// Child executions (one per item, or per batch) by state.
    pub execution_counts: MapRunCounts,
    /// How often it was redriven.
    #[serde(default)]
    pub redrive_count: u32,
    /// When it was last redriven.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redrive_ms: Option<i64>,
}

/// The ARN of a map run's child execution: the map run's `mapRun:MACHINE/LABEL:ID` becomes
/// `execution:MACHINE/LABEL:NAME`.
pub fn child_execution_arn(map_run_arn: &str, name: &str) -> String {
    let base = map_run_arn.replacen(":mapRun:", ":execution:", 1);
    match base.rsplit_once(':') {
        Some((head, _)) => format!("{head}:{name}"),
        None => base,
    }
}

/// The state machine a map run's children run: `stateMachine:MACHINE/LABEL`.
pub fn child_state_machine_arn(map_run_arn: &str) -> String {
    let base = map_run_arn.replacen(":mapRun:", ":stateMachine:", 1);
    match base.rsplit_once(':') {
        Some((head, _)) => head.to_string(),
        None => base,
    }
}

/// The map run's own id, the last part of its ARN (the ResultWriter's folder).
pub fn map_run_id(map_run_arn: &str) -> &str {
    map_run_arn.rsplit(':').next().unwrap_or(map_run_arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_arns_follow_the_map_run() {
        let run = "arn:aws:states:us-east-1:123456789012:mapRun:M/Label:abc";
        assert_eq!(
            child_execution_arn(run, "n1"),
            "arn:aws:states:us-east-1:123456789012:execution:M/Label:n1"
        );
        assert_eq!(
            child_state_machine_arn(run),
            "arn:aws:states:us-east-1:123456789012:stateMachine:M/Label"
        );
        assert_eq!(map_run_id(run), "abc");
    }
}
