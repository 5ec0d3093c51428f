//! A distributed Map's run: its ARN, `ItemReader` (items read through a command, see
//! [`crate::map_io`]), `ItemBatcher` and `ItemSelector` applied before the children start, and
//! `ResultWriter` once they are done.
//!
//! Kept apart from `map.rs` and `fanout.rs`: those only call in here at three points (the items
//! are known, a child failed, the children are done).

use crate::exec::dataflow::{as_count, as_integer, language, not_valid};
use crate::exec::errors::Failure;
use crate::exec::lifecycle::Next;
use crate::exec::state::{Children, Phase, Thread, Waiter};
use crate::exec::{to_text, Engine, ThreadId};
use crate::history::EventKind;
use crate::map_io::{ChildOutcome, ReadItems, WriteResults};
use crate::Command;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use stepwise_asl::errors;
use stepwise_asl::map_io::{ItemBatcherSpec, ItemReaderSpec, ResultWriterSpec};
use stepwise_asl::model::{MapSpec, QueryLanguage, State, StateKind};
use stepwise_asl::payload::Template;
use stepwise_asl::resource::TaskResource;
use stepwise_asl::EvalError;

/// AWS reads at most this many items, whatever `MaxItems` says.
const MAX_ITEMS: u64 = 100_000_000;

/// A batch's input may not pass AWS's payload quota (256 KiB).
const MAX_BATCH_BYTES: u64 = 256 * 1024;

/// What a distributed Map keeps about its run besides the children.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MapRun {
    pub(crate) arn: String,
    /// The Map state's name.
    #[serde(default)]
    pub(crate) state_name: String,
    pub(crate) started_ms: i64,
    /// How many items each child got, when batched (one each otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) batch_sizes: Vec<u32>,
    /// Each item is already a child's input (ItemSelector and ItemBatcher applied).
    #[serde(default)]
    pub(crate) prepared: bool,
    /// The home runs it with child executions ([`crate::map_run`]) and keeps its counts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) external: bool,
    /// It ran before and failed: this is its redrive.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) redriven: bool,
    /// The slots whose child failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) failed: Vec<usize>,
    /// The ResultWriter's answer (the Map's result), once written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) written: Option<Value>,
}

/// `ItemBatcher`'s settings, evaluated.
pub(crate) struct Batching {
    pub(crate) max_items: Option<u64>,
    pub(crate) max_bytes: Option<u64>,
    pub(crate) batch_input: Option<Value>,
}

impl<'d> Engine<'d> {
    /// A new map run's ARN: `arn:PARTITION:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:ID`, the
    /// label being the Map's `Label` or, without one, an id of its own.
    pub(crate) fn new_map_run(&mut self, st: &State, spec: &MapSpec) -> MapRun {
        // A redriven execution runs its failed map run again (children run as executions).
        if self.s.map_runs_as_executions && self.s.info.redrive_count > 0 {
            let prev = self
                .s
                .map_runs
                .iter()
                .rev()
                .find(|r| *r.state_name == *st.name && r.status != "SUCCEEDED");
            if let Some(prev) = prev {
                return MapRun {
                    arn: prev.map_run_arn.clone(),
                    state_name: st.name.to_string(),
                    started_ms: prev.start_ms,
                    batch_sizes: Vec::new(),
                    prepared: false,
                    external: true,
                    redriven: true,
                    failed: Vec::new(),
                    written: None,
                };
            }
        }
        let exec = self.s.info.execution_arn.clone();
        let head = exec
            .split_once(":execution:")
            .or_else(|| exec.split_once(":express:"))
            .map_or("arn:aws:states:us-east-1:123456789012", |(h, _)| h)
            .to_string();
        let machine = self.s.info.state_machine_name.clone();
        let label = match &spec.label {
            Some(l) => l.clone(),
            None => self.rng().uuid(),
        };
        let id = self.rng().uuid();
        MapRun {
            arn: format!("{head}:mapRun:{machine}/{label}:{id}"),
            state_name: st.name.to_string(),
            started_ms: self.now,
            batch_sizes: Vec::new(),
            prepared: false,
            external: false,
            redriven: false,
            failed: Vec::new(),
            written: None,
        }
    }

    /// The Map has an `ItemReader`: MapRunStarted, then the read goes out as a command and the
    /// thread waits for the items. `MaxItemsPath` that names no integer fails before the map
    /// run starts, a negative one right after, as AWS records them.
    pub(crate) fn start_item_reader(
        &mut self,
        tid: ThreadId,
        t: &mut Thread,
        st: &State,
        reader: &ItemReaderSpec,
        mut c: Children,
    ) -> Result<Next, Failure> {
        let max = self.numeric_field(t, st, &reader.config.max_items, "MaxItems", &c.effective)?;
        let max_items = match max {
            None => Some(0),
            Some(v) => match as_integer(&v) {
                Some(n) => Some(n),
                None => {
                    return Err(self.in_state(
                        t,
                        st,
                        not_valid("MaxItems", "integer", &v, &reader.config.max_items),
                    ))
                }
            },
        };
        let event = self.map_run_started(&c);
        self.emit(t, event);
        let max_items = match max_items {
            Some(n) if n < 0 => {
                self.record_map_run(&c, "FAILED");
                return Err(self.map_run_failed(
                    t,
                    errors::ITEM_READER_FAILED,
                    "field MaxItems must be positive",
                ));
            }
            Some(0) | None => MAX_ITEMS,
            Some(n) => (n as u64).min(MAX_ITEMS),
        };
        let arguments = match &reader.arguments {
            Some(a) => self.map_template(t, st, a, &c.effective, "Arguments")?,
            None => Value::Object(Map::new()),
        };
        let request = ReadItems {
            arguments,
            input_type: reader.config.input_type.clone(),
            csv_header_location: reader.config.csv_header_location.clone(),
            csv_headers: reader.config.csv_headers.clone(),
            csv_delimiter: reader.config.csv_delimiter.clone(),
            manifest_type: reader.config.manifest_type.clone(),
            max_items,
        };
        if self.s.map_runs_as_executions {
            let resource = reader.resource.clone();
            return self.start_external_map_run(tid, t, st, c, Some((resource, request)));
        }
        let parameters = json!({ ReadItems::KEY: request });
        let task = self.new_wait(Waiter::Task(tid));
        self.commands.push(Command::InvokeTask {
            task,
            state_name: st.name.to_string(),
            resource: TaskResource::parse(reader.resource.clone()),
            parameters,
            task_token: None,
            heartbeat_seconds: None,
            timeout_seconds: None,
        });
        c.items = Vec::new();
        t.phase = Phase::MapRead(Box::new(c));
        Ok(Next::Park)
    }

    /// MapRunStarted, or MapRunRedriven for a failed run that runs again.
    pub(crate) fn map_run_started(&self, c: &Children) -> EventKind {
        let (arn, redriven) = c
            .map_run
            .as_ref()
            .map_or((String::new(), false), |r| (r.arn.clone(), r.redriven));
        if redriven {
            let redrive_count = self
                .s
                .map_runs
                .iter()
                .find(|r| r.map_run_arn == arn)
                .map_or(1, |r| r.redrive_count + 1);
            return EventKind::MapRunRedriven {
                map_run_arn: arn,
                redrive_count,
            };
        }
        EventKind::MapRunStarted { map_run_arn: arn }
    }

    /// Keeps an ended map run's counts for DescribeMapRun.
    pub(crate) fn record_map_run(&mut self, c: &Children, status: &str) {
        let Some(run) = c.map_run.as_ref() else {
            return;
        };
        if run.external {
            self.note_external_run(c, status);
            return;
        }
        let info = describe(run, c, status, Some(self.now), &self.s.threads);
        self.s
            .map_runs
            .retain(|r| r.map_run_arn != info.map_run_arn);
        self.s.map_runs.push(info);
    }

    /// UpdateMapRun on a running map run; anything else is ignored.
    pub(crate) fn update_map_run(
        &mut self,
        arn: &str,
        max_concurrency: Option<u64>,
        tolerated_count: Option<u64>,
        tolerated_percentage: Option<f64>,
    ) {
        let found = self.s.threads.iter().find_map(|(id, t)| match &t.phase {
            Phase::Children(c) | Phase::MapRead(c)
                if c.map_run.as_ref().is_some_and(|r| r.arn == arn) =>
            {
                Some(id)
            }
            _ => None,
        });
        let Some(tid) = found else {
            return;
        };
        let Some(t) = self.s.threads.get_mut(&tid) else {
            return;
        };
        let (Phase::Children(c) | Phase::MapRead(c)) = &mut t.phase else {
            return;
        };
        if let Some(n) = max_concurrency {
            c.max_concurrency = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if tolerated_count.is_some() {
            c.tolerated_count = tolerated_count;
        }
        if tolerated_percentage.is_some() {
            c.tolerated_percentage = tolerated_percentage;
        }
        let children = matches!(t.phase, Phase::Children(_));
        self.changed = true;
        if children {
            // More room: the next iterations start now.
            self.pump(tid);
        }
    }

    /// The execution is stopped: its running map runs end as ABORTED, each with a
    /// `MapRunAborted` event after the Map's last one.
    pub(crate) fn abort_map_runs(&mut self) {
        let live: Vec<ThreadId> = self
            .s
            .threads
            .iter()
            .filter(|(_, t)| {
                matches!(&t.phase,
                    Phase::Children(c) | Phase::MapRead(c) | Phase::MapWrite(c)
                        if c.map_run.is_some())
            })
            .map(|(id, _)| id)
            .collect();
        for id in live {
            let Some(mut t) = self.s.threads.remove(&id) else {
                continue;
            };
            if let Phase::Children(c) | Phase::MapRead(c) | Phase::MapWrite(c) = &t.phase {
                let c = (**c).clone();
                self.record_map_run(&c, "ABORTED");
            }
            self.emit(&mut t, EventKind::MapRunAborted);
            self.s.threads.insert(id, t);
        }
    }

    /// MapRunFailed, and the failure the Map state then fails with.
    pub(crate) fn map_run_failed(&mut self, t: &mut Thread, error: &str, cause: &str) -> Failure {
        let event = EventKind::MapRunFailed {
            error: error.to_string(),
            cause: cause.to_string(),
        };
        self.emit(t, event);
        Failure::new(error, cause)
    }

    /// A payload template of the Map's data fields, on its effective input (JSONPath) or as
    /// JSONata.
    pub(crate) fn map_template(
        &mut self,
        t: &Thread,
        st: &State,
        template: &Template,
        effective: &Value,
        field: &str,
    ) -> Result<Value, Failure> {
        match st.query_language {
            QueryLanguage::JsonPath => self.jsonpath_template(t, st, template, effective, None),
            QueryLanguage::Jsonata => language(st).template(self, t, st, template, field, None),
        }
    }

    /// The reader or the writer answered. `false`: the task was not theirs.
    pub(crate) fn map_io_outcome(
        &mut self,
        tid: ThreadId,
        mut t: Box<Thread>,
        outcome: Result<Value, Failure>,
    ) -> Option<Box<Thread>> {
        match std::mem::replace(&mut t.phase, Phase::Run) {
            Phase::MapRead(c) if c.map_run.as_ref().is_some_and(|r| r.external) => {
                self.external_map_run_outcome(tid, t, *c, outcome);
                None
            }
            Phase::MapRead(mut c) => {
                match outcome {
                    Ok(Value::Array(items)) => {
                        c.items = items;
                        self.items_ready(tid, t, *c);
                    }
                    Ok(other) => {
                        self.record_map_run(&c, "FAILED");
                        let cause = format!(
                            "Attempting to map over non-iterable node: {}",
                            to_text(&other)
                        );
                        let f = self.map_run_failed(&mut t, errors::ITEM_READER_FAILED, &cause);
                        self.fail_state(tid, t, f);
                    }
                    Err(f) => {
                        self.record_map_run(&c, "FAILED");
                        let f = self.map_run_failed(&mut t, &f.error, &f.cause);
                        self.fail_state(tid, t, f);
                    }
                }
                None
            }
            Phase::MapWrite(mut c) => {
                match outcome {
                    Ok(output) => {
                        if let Some(r) = c.map_run.as_mut() {
                            r.written = Some(output);
                        }
                        self.children_done(tid, t, *c);
                    }
                    Err(f) => {
                        self.record_map_run(&c, "FAILED");
                        let f = self.map_run_failed(&mut t, &f.error, &f.cause);
                        self.fail_state(tid, t, f);
                    }
                }
                None
            }
            other => {
                t.phase = other;
                Some(t)
            }
        }
    }

    /// The items were read: the children start.
    fn items_ready(&mut self, tid: ThreadId, mut t: Box<Thread>, mut c: Children) {
        let st = self.def.state(t.machine, t.state);
        let StateKind::Map(spec) = &st.kind else {
            return;
        };
        if let Err(f) = self.prepare_children(&t, st, spec, &mut c) {
            self.record_map_run(&c, "FAILED");
            let f = self.map_run_failed(&mut t, &f.error, &f.cause);
            self.fail_state(tid, t, f);
            return;
        }
        t.phase = Phase::Children(Box::new(c));
        self.s.threads.insert(tid, t);
        self.pump(tid);
    }

    /// A distributed Map's children's inputs, made before any starts: `ItemSelector` on each
    /// item (`$$.Map.Item`), then `ItemBatcher` groups them as `{"Items": [...],
    /// "BatchInput": ...}`.
    pub(crate) fn prepare_children(
        &mut self,
        t: &Thread,
        st: &State,
        spec: &MapSpec,
        c: &mut Children,
    ) -> Result<(), Failure> {
        let items = std::mem::take(&mut c.items);
        let mut selected = Vec::with_capacity(items.len());
        match &spec.item_selector {
            Some(sel) => {
                let lang = language(st);
                for (i, item) in items.iter().enumerate() {
                    selected.push(lang.item_selector(self, t, st, sel, &c.effective, i, item)?);
                }
            }
            None => selected = items,
        }
        if let Some(b) = &spec.item_batcher {
            let batching = self.batching(t, st, b, &c.effective)?;
            selected = batch(selected, &batching);
            if let Some(r) = c.map_run.as_mut() {
                r.batch_sizes = selected
                    .iter()
                    .map(|b| b["Items"].as_array().map_or(0, |a| a.len() as u32))
                    .collect();
            }
        }
        let n = selected.len();
        c.items = selected;
        c.results = vec![Value::Null; n];
        if let Some(r) = c.map_run.as_mut() {
            r.prepared = true;
        }
        Ok(())
    }

    pub(crate) fn batching(
        &mut self,
        t: &Thread,
        st: &State,
        b: &ItemBatcherSpec,
        effective: &Value,
    ) -> Result<Batching, Failure> {
        let mut counts = [None, None];
        for (slot, (field, setting)) in [
            ("MaxItemsPerBatch", &b.max_items_per_batch),
            ("MaxInputBytesPerBatch", &b.max_input_bytes_per_batch),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(v) = self.numeric_field(t, st, setting, field, effective)? {
                match as_count(&v) {
                    Some(n) if n > 0 => counts[slot] = Some(n),
                    _ => {
                        return Err(self.in_state(
                            t,
                            st,
                            match as_integer(&v) {
                                Some(_) => {
                                    EvalError::runtime(format!("{field} must be greater than 0."))
                                }
                                None => not_valid(field, "integer", &v, setting),
                            },
                        ))
                    }
                }
            }
        }
        let batch_input = match &b.batch_input {
            Some(tpl) => Some(self.map_template(t, st, tpl, effective, "BatchInput")?),
            None => None,
        };
        Ok(Batching {
            max_items: counts[0],
            max_bytes: counts[1].map(|n| n.min(MAX_BATCH_BYTES)),
            batch_input,
        })
    }

    /// Before a distributed Map with a `ResultWriter` ends: the results go out to be written,
    /// and the thread waits (`None`). Once written, or with nothing to write, the thread and
    /// its children come back to end the Map.
    pub(crate) fn write_results_first(
        &mut self,
        tid: ThreadId,
        t: Box<Thread>,
        c: Children,
    ) -> Option<(Box<Thread>, Children)> {
        let (t, c) = self.write_results(tid, t, c)?;
        // The run ends here: its counts stay for DescribeMapRun.
        let status = if c.failure.is_some() {
            "FAILED"
        } else {
            "SUCCEEDED"
        };
        self.record_map_run(&c, status);
        Some((t, c))
    }

    fn write_results(
        &mut self,
        tid: ThreadId,
        mut t: Box<Thread>,
        mut c: Children,
    ) -> Option<(Box<Thread>, Children)> {
        let st = self.def.state(t.machine, t.state);
        let StateKind::Map(spec) = &st.kind else {
            return Some((t, c));
        };
        let (Some(writer), Some(run)) = (&spec.result_writer, c.map_run.as_ref()) else {
            return Some((t, c));
        };
        if run.written.is_some() {
            return Some((t, c));
        }
        if writer.resource.is_none() {
            // WriterConfig alone: the results, transformed, are the Map's result.
            let out = transform_results(writer, &c);
            if let Some(r) = c.map_run.as_mut() {
                r.written = Some(out);
            }
            return Some((t, c));
        }
        let arguments = match &writer.arguments {
            Some(a) => match self.map_template(&t, st, a, &c.effective, "Arguments") {
                Ok(v) => v,
                Err(f) => {
                    let f = self.map_run_failed(&mut t, &f.error, &f.cause);
                    self.fail_state(tid, t, f);
                    return None;
                }
            },
            None => Value::Object(Map::new()),
        };
        let request = WriteResults {
            arguments,
            output_type: writer.output_type.clone(),
            transformation: writer.transformation.clone(),
            map_run_arn: run.arn.clone(),
            start_date_ms: run.started_ms,
            stop_date_ms: self.now,
            executions: outcomes(&mut c, self.s.info.seed),
        };
        let parameters = json!({ WriteResults::KEY: request });
        let task = self.new_wait(Waiter::Task(tid));
        self.commands.push(Command::InvokeTask {
            task,
            state_name: st.name.to_string(),
            resource: TaskResource::parse(writer.resource.clone().unwrap_or_default()),
            parameters,
            task_token: None,
            heartbeat_seconds: None,
            timeout_seconds: None,
        });
        t.phase = Phase::MapWrite(Box::new(c));
        self.s.threads.insert(tid, t);
        None
    }
}

/// A map run's description from its Map's children (`stop`: it ended; its still running
/// children count as aborted).
pub(crate) fn describe(
    run: &MapRun,
    c: &Children,
    status: &str,
    stop: Option<i64>,
    threads: &crate::exec::threads::ThreadTable,
) -> crate::map_io::MapRunInfo {
    use crate::map_io::{MapRunCounts, MapRunInfo};
    let failed: std::collections::HashSet<usize> = run.failed.iter().copied().collect();
    let running: std::collections::HashSet<usize> = c
        .running
        .iter()
        .filter_map(|id| threads.get(id).and_then(|t| t.parent).map(|(_, slot)| slot))
        .collect();
    let mut items = MapRunCounts::default();
    let mut executions = MapRunCounts::default();
    let ended = stop.is_some();
    for slot in 0..c.results.len() {
        let weight = run.batch_sizes.get(slot).map_or(1, |n| u64::from(*n));
        let bucket = |k: &mut MapRunCounts, n: u64| {
            if failed.contains(&slot) {
                k.failed += n;
            } else if running.contains(&slot) {
                if ended {
                    k.aborted += n;
                } else {
                    k.running += n;
                }
            } else if slot < c.next {
                k.succeeded += n;
            } else if ended && c.failure.is_some() {
                k.aborted += n;
            } else {
                k.pending += n;
            }
            k.total += n;
        };
        bucket(&mut items, weight);
        bucket(&mut executions, 1);
    }
    if run.written.is_some() && c.items.is_empty() {
        items.results_written = items.total;
        executions.results_written = executions.total;
    }
    MapRunInfo {
        map_run_arn: run.arn.clone(),
        state_name: run.state_name.clone(),
        status: status.to_string(),
        start_ms: run.started_ms,
        stop_ms: stop,
        max_concurrency: c.max_concurrency as u64,
        tolerated_failure_count: c.tolerated_count.unwrap_or(0),
        tolerated_failure_percentage: c.tolerated_percentage.unwrap_or(0.0),
        item_counts: items,
        execution_counts: executions,
        redrive_count: 0,
        redrive_ms: None,
    }
}

/// Groups child inputs into batches of at most `max_items` items and `max_bytes` bytes (the
/// batch's JSON text); one item over the byte limit goes alone.
fn batch(items: Vec<Value>, b: &Batching) -> Vec<Value> {
    let envelope = |items: Vec<Value>| {
        // AWS writes BatchInput before Items.
        let mut o = Map::new();
        if let Some(bi) = &b.batch_input {
            o.insert("BatchInput".into(), bi.clone());
        }
        o.insert("Items".into(), Value::Array(items));
        Value::Object(o)
    };
    // `{"Items":[]}` plus the BatchInput member: what every batch carries besides its items.
    let overhead = to_text(&envelope(Vec::new())).len() as u64;
    let mut out = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    let mut bytes = overhead;
    for item in items {
        // The item's text is measured only when bytes are counted.
        let len = b.max_bytes.map_or(0, |_| to_text(&item).len() as u64);
        let comma = u64::from(!current.is_empty());
        let full_by_count = b.max_items.is_some_and(|m| current.len() as u64 >= m);
        let full_by_bytes = b.max_bytes.is_some_and(|m| bytes + comma + len > m);
        if !current.is_empty() && (full_by_count || full_by_bytes) {
            out.push(envelope(std::mem::take(&mut current)));
            bytes = overhead;
        }
        bytes += len + u64::from(!current.is_empty());
        current.push(item);
    }
    if !current.is_empty() {
        out.push(envelope(current));
    }
    out
}

/// Each child's outcome for the ResultWriter, named as the map run names its children.
/// The children's inputs move into the outcomes: the Map no longer needs them.
fn outcomes(c: &mut Children, seed: u64) -> Vec<ChildOutcome> {
    let failed: std::collections::HashSet<usize> = c
        .map_run
        .as_ref()
        .map(|r| r.failed.iter().copied().collect())
        .unwrap_or_default();
    let items = std::mem::take(&mut c.items);
    items
        .into_iter()
        .zip(&c.results)
        .enumerate()
        .map(|(i, (input, result))| {
            let name = child_name(seed, i);
            let (status, output, error, cause) = if failed.contains(&i) {
                let text = |k: &str| result.get(k).and_then(Value::as_str).map(Into::into);
                ("FAILED", None, text("Error"), text("Cause"))
            } else if i < c.next && c.failure.is_some() && result.is_null() {
                // Still running when another child's failure ended the run: stopped.
                ("ABORTED", None, None, None)
            } else if i < c.next {
                ("SUCCEEDED", Some(result.clone()), None, None)
            } else {
                // Never started: the run failed first.
                ("PENDING", None, None, None)
            };
            ChildOutcome {
                name,
                status: status.into(),
                input,
                output,
                error,
                cause,
            }
        })
        .collect()
}

/// A child execution's name: a UUID drawn from the execution's seed and the item's slot, so
/// the same run names the same child the same way.
pub(crate) fn child_name(seed: u64, slot: usize) -> String {
    crate::uuid_from_seed(seed ^ (slot as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// `WriterConfig` without a `Resource`: the results as the Map's output, `FLATTEN`ed (arrays
/// spliced in) or as they are (`COMPACT`, and `NONE` here).
fn transform_results(writer: &ResultWriterSpec, c: &Children) -> Value {
    match writer.transformation.as_deref() {
        Some("FLATTEN") => {
            let mut out = Vec::with_capacity(c.results.len());
            for r in &c.results {
                match r {
                    Value::Array(a) => out.extend(a.iter().cloned()),
                    other => out.push(other.clone()),
                }
            }
            Value::Array(out)
        }
        _ => Value::Array(c.results.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(max_items: Option<u64>, max_bytes: Option<u64>) -> Batching {
        Batching {
            max_items,
            max_bytes,
            batch_input: None,
        }
    }

    #[test]
    fn batches_by_count() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let out = batch(items, &b(Some(2), None));
        assert_eq!(
            out,
            vec![
                json!({"Items": [0, 1]}),
                json!({"Items": [2, 3]}),
                json!({"Items": [4]})
            ]
        );
    }

    #[test]
    fn batches_by_bytes_counting_the_whole_input() {
        // {"Items":[]} is 12 bytes; "aaaa" 6; a comma 1: two items make 25 bytes.
        let items: Vec<Value> = (0..3).map(|_| json!("aaaa")).collect();
        let out = batch(items.clone(), &b(None, Some(25)));
        assert_eq!(out.len(), 2);
        assert_eq!(to_text(&out[0]).len(), 25);
        let out = batch(items, &b(None, Some(24)));
        assert_eq!(out.len(), 3);
        // An item bigger than the limit still goes, alone.
        let out = batch(vec![json!("x".repeat(100))], &b(None, Some(10)));
        assert_eq!(out.len(), 1);
    }
}
