//! `ResultWriter`: a map run's results laid out as AWS writes them under
//! `PREFIX/MAP_RUN_ID/`: `SUCCEEDED_0.json`, `FAILED_0.json` (failed, timed out and aborted
//! children) and `PENDING_0.json` (children that never started), each only when it has
//! entries, then `manifest.json` listing them; the Map's result is
//! `{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}` with the manifest's key.
//!
//! An entry is the child's description (`Transformation` `NONE`, the default): ExecutionArn,
//! Input and Output as JSON text, InputDetails/OutputDetails, Name, the redrive fields,
//! StartDate/StopDate, StateMachineArn and Status (Error and Cause for a failure); `COMPACT`
//! writes successful children's outputs only, `FLATTEN` the same with array outputs spliced
//! in (failures stay described in full, as AWS documents). `OutputType` `JSONL` writes one
//! entry per line.

use super::store::Objects;
use serde_json::{json, Map, Value};
use stepwise_engine::map_io::{
    child_execution_arn, child_state_machine_arn, map_run_id, ChildOutcome, WriteResults,
};

fn iso(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// One child execution of a map run that runs its children as executions, for
/// [`child_entries`].
#[derive(Debug, Clone)]
pub struct ChildEntry {
    /// Its ARN.
    pub execution_arn: String,
    /// Its state machine's ARN (`stateMachine:MACHINE/LABEL`).
    pub state_machine_arn: String,
    /// Its name.
    pub name: String,
    /// SUCCEEDED, FAILED, TIMED_OUT, ABORTED or PENDING.
    pub status: String,
    /// Its input.
    pub input: Value,
    /// Its output, when it succeeded.
    pub output: Option<Value>,
    /// Its error.
    pub error: Option<String>,
    /// Its cause.
    pub cause: Option<String>,
    /// When it started and stopped (ms since the epoch).
    pub start_ms: i64,
    /// When it stopped.
    pub stop_ms: i64,
    /// How often it was redriven.
    pub redrive_count: u32,
}

/// A child's entries in a result file under `transformation` (`NONE`: its description;
/// `COMPACT`: a success's output; `FLATTEN`: the same with an array spliced in).
pub fn child_entries(transformation: Option<&str>, c: &ChildEntry) -> Vec<Value> {
    match (transformation.unwrap_or("NONE"), &c.output) {
        ("COMPACT", Some(v)) => return vec![v.clone()],
        ("FLATTEN", Some(Value::Array(a))) => return a.clone(),
        ("FLATTEN", Some(v)) => return vec![v.clone()],
        _ => {}
    }
    let mut o = Map::new();
    o.insert("ExecutionArn".into(), json!(c.execution_arn));
    o.insert("Input".into(), json!(text(&c.input)));
    o.insert("InputDetails".into(), json!({"Included": true}));
    o.insert("Name".into(), json!(c.name));
    if let Some(out) = &c.output {
        o.insert("Output".into(), json!(text(out)));
        o.insert("OutputDetails".into(), json!({"Included": true}));
    }
    if let Some(e) = &c.error {
        o.insert("Error".into(), json!(e));
    }
    if let Some(cause) = &c.cause {
        o.insert("Cause".into(), json!(cause));
    }
    o.insert("RedriveCount".into(), json!(c.redrive_count));
    match c.status.as_str() {
        "SUCCEEDED" => {
            o.insert("RedriveStatus".into(), json!("NOT_REDRIVABLE"));
            o.insert(
                "RedriveStatusReason".into(),
                json!("Execution is SUCCEEDED and cannot be redriven"),
            );
        }
        "PENDING" => {}
        _ => {
            o.insert("RedriveStatus".into(), json!("REDRIVABLE_BY_MAP_RUN"));
        }
    }
    if c.status != "PENDING" {
        o.insert("StartDate".into(), json!(iso(c.start_ms)));
    }
    o.insert("StateMachineArn".into(), json!(c.state_machine_arn));
    o.insert("Status".into(), json!(c.status));
    if c.status != "PENDING" {
        o.insert("StopDate".into(), json!(iso(c.stop_ms)));
    }
    vec![Value::Object(o)]
}

/// The entries of one result file.
fn entries(w: &WriteResults, children: &[&ChildOutcome]) -> Vec<Value> {
    // Children run inside the parent are described as the child executions AWS would have run:
    // named under the map run, started and stopped with it, never redriven.
    let state_machine_arn = child_state_machine_arn(&w.map_run_arn);
    let mut out = Vec::with_capacity(children.len());
    for c in children {
        let entry = ChildEntry {
            execution_arn: child_execution_arn(&w.map_run_arn, &c.name),
            state_machine_arn: state_machine_arn.clone(),
            name: c.name.clone(),
            status: c.status.clone(),
            input: c.input.clone(),
            output: c.output.clone(),
            error: c.error.clone(),
            cause: c.cause.clone(),
            start_ms: w.start_date_ms,
            stop_ms: w.stop_date_ms,
            redrive_count: 0,
        };
        out.extend(child_entries(w.transformation.as_deref(), &entry));
    }
    out
}

fn render(entries: &[Value], jsonl: bool) -> String {
    if jsonl {
        let mut s = String::new();
        for e in entries {
            s.push_str(&text(e));
            s.push('\n');
        }
        s
    } else {
        text(&Value::Array(entries.to_vec()))
    }
}

/// Writes the result files and the manifest; the Map's result, or the S3 error as the cause.
pub(crate) async fn write(objects: &Objects<'_>, w: &WriteResults) -> Result<Value, String> {
    let bucket = w
        .arguments
        .get("Bucket")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut prefix = w
        .arguments
        .get("Prefix")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    let folder = format!("{prefix}{}/", map_run_id(&w.map_run_arn));
    let jsonl = w.output_type.as_deref() == Some("JSONL");
    let extension = if jsonl { "jsonl" } else { "json" };
    let mut files = Map::new();
    for (status, members) in [
        ("FAILED", &["FAILED", "TIMED_OUT", "ABORTED"][..]),
        ("PENDING", &["PENDING"][..]),
        ("SUCCEEDED", &["SUCCEEDED"][..]),
    ] {
        let children: Vec<&ChildOutcome> = w
            .executions
            .iter()
            .filter(|c| members.contains(&c.status.as_str()))
            .collect();
        let mut listed = Vec::new();
        if !children.is_empty() {
            let key = format!("{folder}{status}_0.{extension}");
            let body = render(&entries(w, &children), jsonl);
            let size = body.len();
            objects
                .put(&bucket, &key, body)
                .await
                .map_err(|e| e.to_string())?;
            listed.push(json!({"Key": key, "Size": size}));
        }
        files.insert(status.into(), Value::Array(listed));
    }
    let manifest = json!({
        "DestinationBucket": bucket,
        "MapRunArn": w.map_run_arn,
        "ResultFiles": files,
    });
    let key = format!("{folder}manifest.json");
    objects
        .put(&bucket, &key, text(&manifest))
        .await
        .map_err(|e| e.to_string())?;
    Ok(json!({
        "MapRunArn": w.map_run_arn,
        "ResultWriterDetails": {"Bucket": bucket, "Key": key},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_aws_writes_them() {
        assert_eq!(iso(1_699_300_480_235), "2023-11-06T19:54:40.235Z");
    }
}
