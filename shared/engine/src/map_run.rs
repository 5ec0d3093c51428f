//! A distributed Map run outside the interpreter: when the home runs a map run's children as
//! child executions of their own (`stepwise serve`: [`crate::ExecutionState::map_runs_as_executions`]),
//! the Map sends one [`MapRunRequest`] as a [`crate::Command::InvokeTask`] (its parameters hold
//! the request under [`MapRunRequest::KEY`]) and waits. The home reads the items page by page,
//! applies `ItemSelector` ([`ItemSelection`]) and `ItemBatcher` ([`Batcher`]), runs at most
//! `MaxConcurrency` children at a time, streams their outcomes to the `ResultWriter`, and answers
//! with `TaskSucceeded` (`{"Output": the Map's result}`) or `TaskFailed` (the map run's failure:
//! `MapRunFailed`, then the Map's Retry/Catch). The parent keeps nothing per item.

use crate::exec::ExecutionState;
use crate::map_io::ReadItems;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use stepwise_asl::model::Definition;

/// What a map run needs to run its children outside the interpreter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MapRunRequest {
    /// The map run's ARN.
    pub map_run_arn: String,
    /// The Map state's name.
    pub state_name: String,
    /// The Map's thread in the parent's checkpoint (for [`ItemSelection`]).
    pub thread: u32,
    /// When the map run started (ms since the epoch).
    pub started_ms: i64,
    /// The `ItemReader`'s resource and request, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader_resource: Option<String>,
    /// The `ItemReader`'s request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader: Option<ReadItems>,
    /// The items from the state's input (`ItemsPath`/`Items`), without an `ItemReader`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<Value>>,
    /// The Map has an `ItemSelector`.
    #[serde(default)]
    pub selects: bool,
    /// `ItemBatcher`, evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batching: Option<Batching>,
    /// `MaxConcurrency` (0: no limit).
    pub max_concurrency: u64,
    /// `ToleratedFailureCount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_count: Option<u64>,
    /// `ToleratedFailurePercentage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_percentage: Option<f64>,
    /// `ResultWriter`, evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<WriterRequest>,
    /// The run failed before and runs again (the parent was redriven): children that
    /// succeeded keep their outcome, failed and aborted ones are redriven, the rest start.
    #[serde(default)]
    pub redrive: bool,
}

impl MapRunRequest {
    /// The parameters' key that marks a map run.
    pub const KEY: &'static str = "MapRun";

    /// The request inside a task's parameters, when they hold one.
    pub fn from_parameters(p: &Value) -> Option<Self> {
        serde_json::from_value(p.get(Self::KEY)?.clone()).ok()
    }

    /// The label part of the map run ARN (`mapRun:MACHINE/LABEL:ID`).
    pub fn machine_and_label(&self) -> &str {
        let tail = self
            .map_run_arn
            .split_once(":mapRun:")
            .map_or("", |(_, t)| t);
        tail.rsplit_once(':').map_or(tail, |(h, _)| h)
    }
}

/// `ResultWriter`'s settings, evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WriterRequest {
    /// Its `Resource` (`arn:aws:states:::s3:putObject`); none: `WriterConfig` alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// `Parameters`/`Arguments`, evaluated (`Bucket`, `Prefix`).
    pub arguments: Value,
    /// `WriterConfig.OutputType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_type: Option<String>,
    /// `WriterConfig.Transformation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transformation: Option<String>,
}

/// `ItemBatcher`'s settings, evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Batching {
    /// `MaxItemsPerBatch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    /// `MaxInputBytesPerBatch` (at most 256 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// `BatchInput`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_input: Option<Value>,
}

/// Groups child inputs into batches as they come, one batch in memory at a time: at most
/// `max_items` items and `max_bytes` bytes (the batch's JSON text); one item over the byte
/// limit goes alone.
pub struct Batcher {
    b: Batching,
    overhead: u64,
    current: Vec<Value>,
    bytes: u64,
}

impl Batcher {
    /// A batcher with these settings.
    pub fn new(b: Batching) -> Self {
        let mut me = Batcher {
            b,
            overhead: 0,
            current: Vec::new(),
            bytes: 0,
        };
        // `{"Items":[]}` plus the BatchInput member: what every batch carries besides items.
        me.overhead = crate::exec::text_len(&me.envelope(Vec::new()));
        me.bytes = me.overhead;
        me
    }

    fn envelope(&self, items: Vec<Value>) -> Value {
        // AWS writes BatchInput before Items.
        let mut o = Map::new();
        if let Some(bi) = &self.b.batch_input {
            o.insert("BatchInput".into(), bi.clone());
        }
        o.insert("Items".into(), Value::Array(items));
        Value::Object(o)
    }

    /// Adds an item; returns the batch it completed, if it completed one.
    pub fn push(&mut self, item: Value) -> Option<(Value, u64)> {
        let len = self.b.max_bytes.map_or(0, |_| crate::exec::text_len(&item));
        let comma = u64::from(!self.current.is_empty());
        let full_by_count = self
            .b
            .max_items
            .is_some_and(|m| self.current.len() as u64 >= m);
        let full_by_bytes = self
            .b
            .max_bytes
            .is_some_and(|m| self.bytes + comma + len > m);
        let mut out = None;
        if !self.current.is_empty() && (full_by_count || full_by_bytes) {
            out = self.flush();
        }
        self.bytes += len + u64::from(!self.current.is_empty());
        self.current.push(item);
        out
    }

    /// The last, partial batch.
    pub fn flush(&mut self) -> Option<(Value, u64)> {
        if self.current.is_empty() {
            return None;
        }
        let items = std::mem::take(&mut self.current);
        let n = items.len() as u64;
        self.bytes = self.overhead;
        Some((self.envelope(items), n))
    }
}

/// `ItemSelector` on one item at a time, in the context of the Map's thread in the parent's
/// checkpoint (its effective input, variables, Context object).
pub struct ItemSelection<'d> {
    inner: crate::exec::Selector<'d>,
}

impl<'d> ItemSelection<'d> {
    /// The selection of the Map that `thread` runs in `state` (the parent, waiting for its map
    /// run); `None` when that thread is not a Map waiting for one.
    pub fn new(def: &'d Definition, state: ExecutionState, thread: u32) -> Option<Self> {
        crate::exec::Selector::new(def, state, thread).map(|inner| ItemSelection { inner })
    }

    /// The child input for item `index`: the selector's result (`(error, cause)` when its
    /// evaluation fails).
    pub fn select(&mut self, index: usize, item: &Value) -> Result<Value, (String, String)> {
        self.inner.select(index, item)
    }
}

/// The definition a map run's children run: the Map's `ItemProcessor` (or `Iterator`) in the
/// parent's definition text, found by the Map state's name, as a state machine of its own (the
/// parent's top-level `QueryLanguage` carried over); and its `ProcessorConfig.ExecutionType`
/// (`STANDARD` or `EXPRESS`).
pub fn child_definition(parent_definition: &str, state_name: &str) -> Option<(String, String)> {
    let root: Value = serde_json::from_str(parent_definition).ok()?;
    let top_language = root.get("QueryLanguage").cloned();
    let mut found = None;
    find_map(&root, state_name, &mut found);
    let mut processor = found?;
    let execution_type = processor
        .pointer("/ProcessorConfig/ExecutionType")
        .and_then(Value::as_str)
        .unwrap_or("STANDARD")
        .to_string();
    let o = processor.as_object_mut()?;
    o.remove("ProcessorConfig");
    if let (Some(ql), false) = (top_language, o.contains_key("QueryLanguage")) {
        o.insert("QueryLanguage".into(), ql);
    }
    Some((serde_json::to_string(&processor).ok()?, execution_type))
}

fn find_map(machine: &Value, name: &str, found: &mut Option<Value>) {
    let Some(states) = machine.get("States").and_then(Value::as_object) else {
        return;
    };
    for (n, st) in states {
        if found.is_some() {
            return;
        }
        let processor = st.get("ItemProcessor").or_else(|| st.get("Iterator"));
        if let Some(p) = processor {
            let distributed =
                p.pointer("/ProcessorConfig/Mode").and_then(Value::as_str) == Some("DISTRIBUTED");
            if n == name && distributed {
                *found = Some(p.clone());
                return;
            }
            find_map(p, name, found);
        }
        if let Some(branches) = st.get("Branches").and_then(Value::as_array) {
            for b in branches {
                find_map(b, name, found);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn batches_as_items_come() {
        let mut b = Batcher::new(Batching {
            max_items: Some(2),
            max_bytes: None,
            batch_input: None,
        });
        let mut out = Vec::new();
        for i in 0..5 {
            out.extend(b.push(json!(i)));
        }
        out.extend(b.flush());
        let batches: Vec<Value> = out.into_iter().map(|(v, _)| v).collect();
        assert_eq!(
            batches,
            vec![
                json!({"Items": [0, 1]}),
                json!({"Items": [2, 3]}),
                json!({"Items": [4]})
            ]
        );
    }

    #[test]
    fn the_processor_is_found_by_the_map_state_name() {
        let def = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
            "P": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "M", "States": {
                "M": {"Type": "Map", "End": true, "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}}}}]}}});
        let (child, kind) = child_definition(&def.to_string(), "M").unwrap_or_default();
        assert_eq!(kind, "STANDARD");
        let v: Value = serde_json::from_str(&child).unwrap_or_default();
        assert_eq!(
            v,
            json!({"QueryLanguage": "JSONata", "StartAt": "X",
                   "States": {"X": {"Type": "Pass", "End": true}}})
        );
    }
}
