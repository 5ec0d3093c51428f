//! Distributed Map runs whose children are child executions of their own (`stepwise serve`;
//! see [`stepwise_engine::map_run`]): the parent's Map sends one map run request as a task;
//! [`MapRunInvoker`] takes it and [`Service::run_map_run`] carries it out:
//!
//! - the children's definition is the Map's `ItemProcessor`, kept as the revision of the state
//!   machine `stateMachine:MACHINE/LABEL`; each child is an ordinary execution
//!   (`execution:MACHINE/LABEL:NAME`, or `express:MACHINE/LABEL:NAME:UUID`) whose metadata names
//!   its map run (ListExecutions `mapRunArn`, DescribeExecution `mapRunArn`);
//! - items come a page at a time ([`ItemSource`]), go through `ItemSelector` and `ItemBatcher`
//!   one by one (`inputs.rs`), and at most `MaxConcurrency` children (a window of [`WINDOW`]
//!   when it is 0) run at once; each outcome goes to the result files as it comes
//!   ([`ResultSink`]);
//! - the run's counts and settings are a `MapRun` record (DescribeMapRun, ListMapRuns,
//!   UpdateMapRun read and change it), updated as children end.
//!
//! Memory is one page of items, the running children's ARNs and one result file's text,
//! whatever the number of items. A map run cancelled with its parent (StopExecution) stops its
//! running children.

use crate::machines::revision_arn;
use crate::Service;
use serde_json::{json, Value};
use std::sync::Arc;
use stepwise_asl::errors;
use stepwise_engine::map_io::{child_state_machine_arn, MapRunCounts, MapRunInfo};
use stepwise_engine::map_run::{child_definition, Batcher, ItemSelection, MapRunRequest};
use stepwise_engine::{Event, ExecutionInfo, ExecutionState, Status};
use stepwise_ports::api::{ApiStore, Driver, ExecutionMeta, Resource, ResourceKind};
use stepwise_ports::execution::{StoreError, StoredExecution, Usage};
use stepwise_ports::tasks::TaskFailure;
use stepwise_runtime::local::wall_clock_ms;
use stepwise_tasks_aws::map_io::stream::{ItemSource, MapObjects, ResultSink};
use stepwise_tasks_aws::map_io::writer::{child_entries, ChildEntry};

/// How many children run at once when `MaxConcurrency` is 0 (no limit): a bounded window, so
/// a run's memory does not grow with its items.
pub const WINDOW: usize = 100;

/// The largest Map output kept without a `ResultWriter` (the payload quota): beyond it the
/// results are not held, and the Map fails as AWS does for an output over the quota.
const MAX_OUTPUT: usize = 256 * 1024;

mod inputs;
mod invoker;
mod resumable;
use inputs::{precount, Inputs};
pub use invoker::MapRunInvoker;
pub(crate) use invoker::{wake, wakers};
use resumable::{Cursor, PauseState, LOOK};

/// How far a call of [`Service::carry_out`] took a map run.
pub(crate) enum Ran {
    /// It ended: `{"Output": the Map's result}`, or its failure.
    Done(Result<Value, TaskFailure>),
    /// It paused: where to go on from.
    Paused(Box<Cursor>),
}

/// The name and ARN of the child in `slot`, the same in every process that carries the run on
/// (drawn from the parent's seed).
fn child_arn(
    prefix: &str,
    machine_label: &str,
    kind: &str,
    seed: u64,
    slot: usize,
) -> (String, String) {
    let draw = |salt: u64| {
        stepwise_engine::uuid_from_seed(
            seed ^ salt ^ (slot as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        )
    };
    let name = draw(0);
    let arn = if kind == "EXPRESS" {
        format!(
            "{prefix}:express:{machine_label}:{name}:{}",
            draw(0x5EED_0FE4_9E55)
        )
    } else {
        format!("{prefix}:execution:{machine_label}:{name}")
    };
    (name, arn)
}

fn runtime(e: impl std::fmt::Display) -> TaskFailure {
    TaskFailure::runtime(e.to_string())
}

/// A map run's record: its description and its parent.
pub(crate) fn map_run_record(execution_arn: &str, info: &MapRunInfo) -> Resource {
    let mut body = serde_json::to_value(info).unwrap_or(Value::Null);
    body["executionArn"] = json!(execution_arn);
    Resource {
        kind: ResourceKind::MapRun,
        arn: info.map_run_arn.clone(),
        parent: Some(execution_arn.to_string()),
        body,
    }
}

/// Stops the running children of a map run dropped before it ended (its parent stopped), and
/// records the run ABORTED.
struct Abort<S: ApiStore + 'static> {
    driver: Arc<dyn Driver>,
    store: Arc<S>,
    parent: String,
    info: Option<MapRunInfo>,
    /// The running children: slot, items, ARN.
    live: Vec<(usize, u64, String)>,
    armed: bool,
}

impl<S: ApiStore + 'static> Drop for Abort<S> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(mut info) = self.info.take() {
            info.status = "ABORTED".into();
            info.stop_ms = Some(wall_clock_ms());
            for c in [&mut info.item_counts, &mut info.execution_counts] {
                c.aborted += c.running;
                c.running = 0;
            }
            let store = self.store.clone();
            let rec = map_run_record(&self.parent, &info);
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = store.put_resource(&rec, false).await;
                });
            }
        }
        for (_, _, arn) in self.live.drain(..) {
            self.driver.submit(
                &arn,
                Event::Stop {
                    error: None,
                    cause: None,
                },
            );
        }
    }
}

/// Forgets a map run's waker when its run ends.
struct Unregister(String);

impl Drop for Unregister {
    fn drop(&mut self) {
        if let Ok(mut m) = wakers().lock() {
            m.remove(&self.0);
        }
    }
}

/// What the Map's output is made of.
enum Results {
    Sink(Box<ResultSink>),
    /// In slot order once sorted; `None` once over the payload quota.
    Held(Option<Vec<(usize, Value)>>, usize),
}

fn bucket<'a>(c: &'a mut MapRunCounts, status: &str) -> &'a mut u64 {
    match status {
        "SUCCEEDED" => &mut c.succeeded,
        "TIMED_OUT" => &mut c.timed_out,
        "ABORTED" => &mut c.aborted,
        _ => &mut c.failed,
    }
}

impl<S: ApiStore + 'static> Service<S> {
    /// Carries out a map run for the execution `parent_arn` (see the module's documentation):
    /// `{"Output": the Map's result}`, or the map run's failure.
    pub async fn run_map_run(
        &self,
        objects: &MapObjects,
        parent_arn: &str,
        r: MapRunRequest,
    ) -> Result<Value, TaskFailure> {
        match self.carry_out(objects, parent_arn, r, None, None).await? {
            Ran::Done(outcome) => outcome,
            Ran::Paused(_) => Err(runtime("a map run paused without a deadline")),
        }
    }

    /// Carries out a map run, from its start or from where another process left it
    /// (`resume`), until it ends or `piece`'s time passes (then it pauses, named by the piece's
    /// look: its running children go on, its results so far are written, and the [`Cursor`]
    /// says where to go on from). `Err`:
    /// the run could not go on now (the store or the reader's service failing); nothing is
    /// lost, the run can be carried on from its last cursor.
    pub(crate) async fn carry_out(
        &self,
        objects: &MapObjects,
        parent_arn: &str,
        r: MapRunRequest,
        resume: Option<Cursor>,
        piece: Option<(tokio::time::Instant, u64)>,
    ) -> Result<Ran, TaskFailure> {
        let (until, piece_look) = (piece.map(|p| p.0), piece.map_or(0, |p| p.1));
        let parent = self
            .store
            .load(parent_arn)
            .await
            .map_err(runtime)?
            .ok_or_else(|| runtime(format!("{parent_arn} does not exist")))?;
        let rev_arn = revision_arn(&parent.state_machine_arn, parent.revision);
        let rev = self
            .store
            .get_resource(ResourceKind::Revision, &rev_arn)
            .await
            .map_err(runtime)?
            .ok_or_else(|| runtime(format!("{rev_arn} does not exist")))?;
        let text = rev
            .body
            .get("definition")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (child_text, kind) = child_definition(text, &r.state_name)
            .ok_or_else(|| runtime(format!("no distributed Map named {}", r.state_name)))?;
        let child_sm = child_state_machine_arn(&r.map_run_arn);
        let mut body = rev.body.clone();
        body["definition"] = json!(child_text);
        self.store
            .put_resource(
                &Resource {
                    kind: ResourceKind::Revision,
                    arn: revision_arn(&child_sm, parent.revision),
                    parent: None,
                    body,
                },
                false,
            )
            .await
            .map_err(runtime)?;
        let def = self
            .store
            .definition(&parent.state_machine_arn, parent.revision)
            .await
            .map_err(runtime)?;
        let selection = match r.selects {
            true => Some(
                ItemSelection::new(&def, parent.state.clone(), r.thread)
                    .ok_or_else(|| runtime("the Map no longer waits for its map run"))?,
            ),
            false => None,
        };
        let mut info = MapRunInfo {
            map_run_arn: r.map_run_arn.clone(),
            state_name: r.state_name.clone(),
            status: "RUNNING".into(),
            start_ms: r.started_ms,
            stop_ms: None,
            max_concurrency: r.max_concurrency,
            tolerated_failure_count: r.tolerated_failure_count.unwrap_or(0),
            tolerated_failure_percentage: r.tolerated_failure_percentage.unwrap_or(0.0),
            item_counts: MapRunCounts::default(),
            execution_counts: MapRunCounts::default(),
            redrive_count: 0,
            redrive_ms: None,
        };
        if r.redrive {
            // The same run again: its settings and redrive count carry on.
            let rec = self
                .store
                .get_resource(ResourceKind::MapRun, &r.map_run_arn)
                .await
                .map_err(runtime)?;
            if let Some(prev) = rec.and_then(|x| serde_json::from_value::<MapRunInfo>(x.body).ok())
            {
                info.start_ms = prev.start_ms;
                info.max_concurrency = prev.max_concurrency;
                info.tolerated_failure_count = prev.tolerated_failure_count;
                info.tolerated_failure_percentage = prev.tolerated_failure_percentage;
                info.redrive_count = prev.redrive_count + 1;
            }
            info.redrive_ms = Some(wall_clock_ms());
        }
        let mut tolerated = (r.tolerated_failure_count, r.tolerated_failure_percentage);
        match &resume {
            Some(c) => {
                info = c.info.clone();
                tolerated = c.tolerated;
            }
            None => self.save_run(parent_arn, &info).await?,
        }
        let source = match (&r.reader_resource, &r.reader) {
            // Every item was handed out before: nothing to read again.
            _ if resume.as_ref().is_some_and(|c| !c.more) => {
                Ok(ItemSource::given(objects.clone(), Vec::new()))
            }
            (Some(res), Some(reader)) => ItemSource::open(objects.clone(), res, reader)
                .await
                .map_err(|c| TaskFailure::new(errors::ITEM_READER_FAILED, c)),
            _ => Ok(ItemSource::given(
                objects.clone(),
                r.items.clone().unwrap_or_default(),
            )),
        };
        let source = match source {
            Ok(s) => s,
            Err(f) => return self.end_run(parent_arn, &mut info, "FAILED", Err(f)).await,
        };
        let mut inputs = Inputs::new(source, selection, r.batching.clone().map(Batcher::new));
        if let Some(c) = resume.as_ref().filter(|c| c.more) {
            if let Err(cause) = inputs.carry_on(&c.mark).await {
                let f = TaskFailure::new(errors::ITEM_READER_FAILED, cause);
                return self.end_run(parent_arn, &mut info, "FAILED", Err(f)).await;
            }
        }
        let transformation = r.writer.as_ref().and_then(|w| w.transformation.clone());
        let mut results = match r.writer.as_ref().filter(|w| w.resource.is_some()) {
            Some(w) => {
                let sink = ResultSink::new(
                    objects.clone(),
                    &w.arguments,
                    w.output_type.as_deref(),
                    &r.map_run_arn,
                );
                let sink = match &resume {
                    // The children running at the pause write as they end; the next ones in
                    // order, into the files the pause left open.
                    Some(c) => {
                        let mut sink = sink.carry_on(c.files.clone(), c.slot);
                        let before = c.name_before();
                        if let Err(cause) = sink.reopen(&c.open, &c.name(), before.as_deref()).await
                        {
                            let f = TaskFailure::new(errors::RESULT_WRITER_FAILED, cause);
                            return self.end_run(parent_arn, &mut info, "FAILED", Err(f)).await;
                        }
                        sink
                    }
                    None => sink,
                };
                Results::Sink(Box::new(sink))
            }
            None => match &resume {
                Some(c) => {
                    let held = self.held_results(&r.map_run_arn, c).await?;
                    Results::Held(held, c.held_bytes)
                }
                None => Results::Held(Some(Vec::new()), 0),
            },
        };
        let machine_label = r.machine_and_label().to_string();
        let prefix = r
            .map_run_arn
            .split_once(":mapRun:")
            .map_or("", |(h, _)| h)
            .to_string();
        let waker = Arc::new(tokio::sync::Notify::new());
        if let Ok(mut m) = wakers().lock() {
            m.insert(r.map_run_arn.clone(), waker.clone());
        }
        let _unregister = Unregister(r.map_run_arn.clone());
        let mut abort = Abort {
            driver: self.driver.clone(),
            store: self.store.clone(),
            parent: parent_arn.to_string(),
            info: Some(info.clone()),
            live: Vec::new(),
            // A run that pauses leaves its children running when this ends; it is stopped by
            // name ([`Service::abort_map_run`]).
            armed: until.is_none(),
        };
        let mut running: tokio::task::JoinSet<Waited> = tokio::task::JoinSet::new();
        let mut slot = 0usize;
        let mut failure: Option<(String, String)> = None;
        let mut failures = 0u64;
        let mut more = true;
        let mut started = false;
        let seed = parent.state.info.seed;
        let child = |slot: usize| child_arn(&prefix, &machine_label, &kind, seed, slot);
        // Items given in the input are counted before any starts, as AWS counts them all.
        let mut pending = match (&r.items, &resume) {
            (_, Some(c)) => c.pending,
            (Some(items), None) => precount(&def, &parent, &r, items),
            (None, None) => (0, 0),
        };
        if resume.is_none() {
            info.item_counts.pending = pending.0;
            info.execution_counts.pending = pending.1;
            info.item_counts.total = pending.0;
            info.execution_counts.total = pending.1;
        }
        if let Some(c) = &resume {
            slot = c.slot;
            failure = c.failure.clone();
            failures = c.failures;
            more = c.more;
            for &(this, items) in &c.running {
                let (_, arn) = child(this);
                abort.live.push((this, items, arn.clone()));
                self.wait_for_child(&mut running, (this, arn, items, None), true);
            }
        }
        // Items and children counted in full (items read by an ItemReader: once the counting
        // pass beside the run ends; a resumed run counts again unless its pause had the count).
        let mut counted = match &resume {
            Some(c) => c.counted,
            None => (r.items.is_some(), r.items.is_some()),
        };
        let mut counting = tokio::task::JoinSet::new();
        if let (Some(res), Some(reader), false) = (&r.reader_resource, &r.reader, counted.0) {
            let (objects, res, reader) = (objects.clone(), res.clone(), reader.clone());
            // Selected items batched by bytes batch as their selection says: then the children
            // are counted as they start.
            let by_bytes = r.selects && r.batching.as_ref().is_some_and(|b| b.max_bytes.is_some());
            let batching = r.batching.clone().filter(|_| !by_bytes);
            counting.spawn(async move {
                let n = stepwise_tasks_aws::map_io::stream::count(objects, &res, &reader, batching);
                n.await
                    .map(|(items, children)| (items, (!by_bytes).then_some(children)))
            });
        }
        // A run that pauses looks at its parent and its record now and then: it runs in
        // another process than the API that stops the parent or updates the run.
        let next_look = || {
            let t = tokio::time::Instant::now() + LOOK;
            until.map_or(t, |u| u.min(t))
        };
        let mut look = next_look();
        loop {
            let window = match info.max_concurrency {
                0 => WINDOW,
                n => usize::try_from(n).unwrap_or(WINDOW),
            };
            while more && failure.is_none() && running.len() < window {
                let next = match inputs.next().await {
                    Ok(n) => n,
                    Err(f) => {
                        failure = Some((f.error, f.cause));
                        break;
                    }
                };
                let Some((input, items)) = next else {
                    more = false;
                    break;
                };
                let (name, arn) = child(slot);
                self.start_child(&parent, &r, &child_sm, &kind, &arn, &name, &input)
                    .await?;
                info.item_counts.running += items;
                info.execution_counts.running += 1;
                if !counted.0 {
                    info.item_counts.total += items;
                }
                if !counted.1 {
                    info.execution_counts.total += 1;
                }
                pending.0 = pending.0.saturating_sub(items);
                pending.1 = pending.1.saturating_sub(1);
                info.item_counts.pending = pending.0;
                info.execution_counts.pending = pending.1;
                abort.live.push((slot, items, arn.clone()));
                self.wait_for_child(&mut running, (slot, arn, items, Some(input)), false);
                slot += 1;
                started = true;
            }
            if std::mem::take(&mut started) {
                self.save_run(parent_arn, &info).await?;
                abort.info = Some(info.clone());
            }
            if running.is_empty() {
                break;
            }
            let done = tokio::select! {
                // In this order, not at random (tokio's default): the look first, so a run
                // past its time pauses even while children keep ending, and a seed of the
                // simulation replays the same way every time.
                biased;
                _ = tokio::time::sleep_until(look), if until.is_some() => {
                    look = next_look();
                    let due = until.is_some_and(|u| tokio::time::Instant::now() >= u);
                    if due || !self.still_running(parent_arn).await {
                        let c = self
                            .pause(&r, &mut results, &inputs, PauseState {
                                info: &info, tolerated, pending, slot, failures,
                                failure: &failure, more, live: &abort.live, kind: &kind, counted,
                                pauses: resume.as_ref().map_or(0, |c| c.pauses) + 1,
                                look: piece_look, resumed_look: resume.as_ref().map_or(0, |c| c.look),
                            })
                            .await?;
                        return Ok(Ran::Paused(Box::new(c)));
                    }
                    None
                }
                d = running.join_next() => d,
                _ = waker.notified() => None,
                c = counting.join_next(), if !counting.is_empty() => {
                    // Every item known: the rest are pending (a failed count changes nothing;
                    // the reader reports its own failure).
                    if let Some(Ok(Ok((items, children)))) = c {
                        let started = info.item_counts.total;
                        pending.0 = items.saturating_sub(started);
                        info.item_counts.total = items.max(started);
                        info.item_counts.pending = pending.0;
                        counted.0 = true;
                        if let Some(children) = children {
                            let started = info.execution_counts.total;
                            pending.1 = children.saturating_sub(started);
                            info.execution_counts.total = children.max(started);
                            info.execution_counts.pending = pending.1;
                            counted.1 = true;
                        }
                        self.save_run(parent_arn, &info).await?;
                        abort.info = Some(info.clone());
                    }
                    continue;
                }
            };
            let Some(done) = done else {
                // UpdateMapRun: the new settings, then more children if there is room.
                self.follow_update(&r.map_run_arn, &mut info, &mut tolerated)
                    .await;
                continue;
            };
            let (this, arn, items, input) = done.map_err(runtime)?;
            let (row, ex) = self.execution(&arn).await.map_err(|e| runtime(e.message))?;
            if ex.state.status == Status::Running {
                // The wait gave up early (its time was up): the child has not ended, so it
                // is waited for again, not counted as failed.
                self.wait_for_child(&mut running, (this, arn, items, input), false);
                continue;
            }
            abort.live.retain(|a| a.2 != arn);
            let input = match input {
                Some(i) => i,
                None => stepwise_engine::deep::from_str(&row.meta.input).unwrap_or(Value::Null),
            };
            let st = &ex.state;
            let status = st.status.as_str().to_string();
            info.item_counts.running -= items;
            info.execution_counts.running -= 1;
            *bucket(&mut info.item_counts, &status) += items;
            *bucket(&mut info.execution_counts, &status) += 1;
            let entry = ChildEntry {
                execution_arn: arn.clone(),
                state_machine_arn: child_sm.clone(),
                name: row.meta.name.clone(),
                status: status.clone(),
                input,
                output: st.output.clone().filter(|_| st.status == Status::Succeeded),
                error: st.error.clone(),
                cause: st.cause.clone(),
                start_ms: row.meta.start_ms,
                stop_ms: st.stop_ms.unwrap_or(row.meta.start_ms),
                redrive_count: st.info.redrive_count,
            };
            match &mut results {
                Results::Sink(sink) => {
                    sink.add(
                        this,
                        &status,
                        child_entries(transformation.as_deref(), &entry),
                    )
                    .await
                    .map_err(|c| TaskFailure::new(errors::RESULT_WRITER_FAILED, c))?;
                    info.item_counts.results_written += items;
                    info.execution_counts.results_written += 1;
                }
                Results::Held(held, bytes) => {
                    let v = match st.status {
                        Status::Succeeded => entry.output.clone().unwrap_or(Value::Null),
                        _ => json!({"Error": entry.error, "Cause": entry.cause}),
                    };
                    *bytes += serde_json::to_string(&v).map_or(0, |s| s.len());
                    if *bytes > MAX_OUTPUT {
                        *held = None;
                    }
                    if let Some(h) = held.as_mut() {
                        h.push((this, v));
                    }
                }
            }
            if st.status != Status::Succeeded {
                failures += 1;
                if failure.is_none() && !within(tolerated, failures, &info, more) {
                    failure = Some(threshold(tolerated, &entry));
                }
            }
            if failure.is_none() && !more && running.is_empty() && failures > 0 {
                // The last word on a percentage: every item is known now.
                if !within(tolerated, failures, &info, false) {
                    failure = Some(threshold(tolerated, &entry));
                }
            }
            if failure.is_some() {
                for (_, _, a) in abort.live.drain(..) {
                    let _ = self
                        .driver
                        .apply(
                            &a,
                            Event::Stop {
                                error: None,
                                cause: None,
                            },
                        )
                        .await;
                }
            }
            self.save_run(parent_arn, &info).await?;
            abort.info = Some(info.clone());
        }
        abort.armed = false;
        let output = match results {
            Results::Sink(sink) => sink
                .finish()
                .await
                .map_err(|c| TaskFailure::new(errors::RESULT_WRITER_FAILED, c)),
            Results::Held(Some(mut held), _) => {
                held.sort_by_key(|(i, _)| *i);
                let flatten = transformation.as_deref() == Some("FLATTEN");
                let mut out = Vec::with_capacity(held.len());
                for (_, v) in held {
                    match v {
                        Value::Array(a) if flatten => out.extend(a),
                        v => out.push(v),
                    }
                }
                Ok(Value::Array(out))
            }
            Results::Held(None, _) => Err(TaskFailure::new(
                errors::DATA_LIMIT_EXCEEDED,
                format!(
                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                    r.state_name
                ),
            )),
        };
        if let Some((error, cause)) = failure {
            return self
                .end_run(
                    parent_arn,
                    &mut info,
                    "FAILED",
                    Err(TaskFailure::new(error, cause)),
                )
                .await;
        }
        match output {
            Ok(out) => {
                self.end_run(
                    parent_arn,
                    &mut info,
                    "SUCCEEDED",
                    Ok(json!({"Output": out})),
                )
                .await
            }
            Err(f) => self.end_run(parent_arn, &mut info, "FAILED", Err(f)).await,
        }
    }

    /// UpdateMapRun changed the record: the run follows its settings.
    async fn follow_update(
        &self,
        arn: &str,
        info: &mut MapRunInfo,
        tolerated: &mut (Option<u64>, Option<f64>),
    ) {
        let Ok(Some(rec)) = self.store.get_resource(ResourceKind::MapRun, arn).await else {
            return;
        };
        let Ok(saved) = serde_json::from_value::<MapRunInfo>(rec.body) else {
            return;
        };
        if saved.max_concurrency != info.max_concurrency
            || saved.tolerated_failure_count != info.tolerated_failure_count
            || saved.tolerated_failure_percentage != info.tolerated_failure_percentage
        {
            info.max_concurrency = saved.max_concurrency;
            info.tolerated_failure_count = saved.tolerated_failure_count;
            info.tolerated_failure_percentage = saved.tolerated_failure_percentage;
            *tolerated = (
                Some(saved.tolerated_failure_count),
                Some(saved.tolerated_failure_percentage),
            );
        }
    }

    async fn end_run(
        &self,
        parent_arn: &str,
        info: &mut MapRunInfo,
        status: &str,
        outcome: Result<Value, TaskFailure>,
    ) -> Result<Ran, TaskFailure> {
        info.status = status.into();
        info.stop_ms = Some(wall_clock_ms());
        self.save_run(parent_arn, info).await?;
        Ok(Ran::Done(outcome))
    }

    async fn save_run(&self, parent_arn: &str, info: &MapRunInfo) -> Result<(), TaskFailure> {
        self.store
            .put_resource(&map_run_record(parent_arn, info), false)
            .await
            .map_err(runtime)
    }

    #[allow(clippy::too_many_arguments)]
    async fn start_child(
        &self,
        parent: &StoredExecution,
        r: &MapRunRequest,
        child_sm: &str,
        kind: &str,
        arn: &str,
        name: &str,
        input: &Value,
    ) -> Result<(), TaskFailure> {
        let now = wall_clock_ms();
        let info = ExecutionInfo {
            execution_arn: arn.to_string(),
            name: name.to_string(),
            state_machine_arn: child_sm.to_string(),
            state_machine_name: r.machine_and_label().to_string(),
            role_arn: parent.state.info.role_arn.clone(),
            start_time_ms: now,
            redrive_count: 0,
            seed: crate::req::seed(),
        };
        let mut state = ExecutionState::new(info);
        state.map_runs_as_executions = true;
        let stored = StoredExecution {
            arn: arn.to_string(),
            state_machine_arn: child_sm.to_string(),
            revision: parent.revision,
            state,
            version: 0,
            outbox: Vec::new(),
            test_case: parent.test_case.clone(),
            usage: Usage::default(),
            history_tail: None,
        };
        let text = stepwise_engine::deep::to_string(input).map_err(runtime)?;
        let meta = ExecutionMeta {
            arn: arn.to_string(),
            name: name.to_string(),
            state_machine_arn: child_sm.to_string(),
            version_arn: None,
            alias_arn: None,
            kind: kind.to_string(),
            input: text,
            start_ms: now,
            trace_header: None,
            map_run_arn: Some(r.map_run_arn.clone()),
        };
        match self.store.create_execution(&stored, &meta).await {
            Ok(()) => {}
            // Started before: a redriven run's child keeps a success and runs a failure again;
            // a run picked up again after a restart waits for it.
            Err(StoreError::Conflict(_)) => {
                let child = self.store.load(arn).await.map_err(runtime)?;
                // Created, but its start never sent (the invocation that created it ended
                // first): it is started now, or it would wait forever. A Start the child
                // already had is ignored.
                if child.as_ref().is_some_and(|x| never_started(&x.state)) {
                    self.driver.submit(
                        arn,
                        Event::Start {
                            input: input.clone(),
                        },
                    );
                    return Ok(());
                }
                let ended = child.map(|x| x.state.status);
                if r.redrive
                    && matches!(
                        ended,
                        Some(Status::Failed | Status::Aborted | Status::TimedOut)
                    )
                {
                    self.driver
                        .apply(
                            arn,
                            Event::Redrive {
                                from_state: None,
                                input: None,
                                resume: None,
                            },
                        )
                        .await
                        .map_err(runtime)?;
                }
                return Ok(());
            }
            Err(e) => return Err(runtime(e)),
        }
        self.driver.submit(
            arn,
            Event::Start {
                input: input.clone(),
            },
        );
        Ok(())
    }
}

/// A child being waited for: its slot, ARN, items and input (`None`: read back when it ends).
type Waited = (usize, String, u64, Option<Value>);

impl<S: ApiStore + 'static> Service<S> {
    /// Waits for a child's end in `running`. With `check_start` (a child a pause counted as
    /// running), a child whose start was never sent (the invocation that created it ended
    /// before its background send) is first started from its stored input; the children are
    /// checked side by side, not one after another.
    fn wait_for_child(
        &self,
        running: &mut tokio::task::JoinSet<Waited>,
        child: Waited,
        check_start: bool,
    ) {
        let (driver, store) = (self.driver.clone(), self.store.clone());
        running.spawn(async move {
            let arn = &child.1;
            if check_start {
                if let Ok(Some(ex)) = store.load(arn).await {
                    if never_started(&ex.state) {
                        if let Ok(Some(row)) = store.execution_row(arn).await {
                            let input = stepwise_engine::deep::from_str(&row.meta.input)
                                .unwrap_or(Value::Null);
                            driver.submit(arn, Event::Start { input });
                        }
                    }
                }
            }
            driver.wait_end_of(arn).await;
            child
        });
    }
}

/// Created but never started: still running, with no event yet.
fn never_started(state: &stepwise_engine::ExecutionState) -> bool {
    state.status == Status::Running && state.last_event_id == 0
}

/// Whether `failures` are within the tolerated count or percentage; a percentage is judged
/// only once every item is known (`more`: items are still coming).
fn within(
    tolerated: (Option<u64>, Option<f64>),
    failures: u64,
    info: &MapRunInfo,
    more: bool,
) -> bool {
    let total = info.item_counts.total.max(1) as f64;
    match tolerated {
        (None, None) => false,
        (count, pct) => {
            count.is_some_and(|n| failures <= n)
                || pct.is_some_and(|p| more || (failures as f64) * 100.0 / total <= p)
        }
    }
}

fn threshold(tolerated: (Option<u64>, Option<f64>), child: &ChildEntry) -> (String, String) {
    match tolerated {
        (None, None) => (
            child
                .error
                .clone()
                .unwrap_or_else(|| errors::RUNTIME.into()),
            child.cause.clone().unwrap_or_default(),
        ),
        _ => (
            errors::EXCEED_TOLERATED_FAILURE_THRESHOLD.to_string(),
            "The specified tolerated failure threshold was exceeded".to_string(),
        ),
    }
}
