//! A distributed Map whose run the home carries out with child executions of their own
//! ([`crate::map_run`]): the Map sends one map run request and waits; the answer ends it.
//! `map.rs` and `map_io.rs` call in here at the two points where the inline run would start
//! its children (items from the input, or an `ItemReader`'s request ready).

use crate::exec::dataflow::language;
use crate::exec::errors::Failure;
use crate::exec::lifecycle::Next;
use crate::exec::state::{Children, Phase, Thread, Waiter};
use crate::exec::{Engine, ExecutionState, ThreadId};
use crate::map_io::ReadItems;
use crate::map_run::{Batching, MapRunRequest, WriterRequest};
use crate::Command;
use serde_json::{json, Map, Value};
use stepwise_asl::model::{Definition, State, StateKind};
use stepwise_asl::resource::TaskResource;

/// The resource the map run request goes out as (no Task resource of Step Functions: the home
/// recognises the request by its parameters' key).
const MAP_RUN_RESOURCE: &str = "arn:aws:states:::mapRun";

impl<'d> Engine<'d> {
    /// Sends the map run out: the home reads the items (or takes `items`), runs the children
    /// and writes the results; the Map waits for its answer.
    pub(crate) fn start_external_map_run(
        &mut self,
        tid: ThreadId,
        t: &mut Thread,
        st: &State,
        mut c: Children,
        reader: Option<(String, ReadItems)>,
    ) -> Result<Next, Failure> {
        let StateKind::Map(spec) = &st.kind else {
            return Err(Failure::new(
                stepwise_asl::errors::RUNTIME,
                "a map run outside a Map state",
            ));
        };
        let prepared = (|| {
            let batching = match &spec.item_batcher {
                Some(b) => {
                    let b = self.batching(t, st, b, &c.effective)?;
                    Some(Batching {
                        max_items: b.max_items,
                        max_bytes: b.max_bytes,
                        batch_input: b.batch_input,
                    })
                }
                None => None,
            };
            let writer = match &spec.result_writer {
                Some(w) => {
                    let arguments = match &w.arguments {
                        Some(a) => self.map_template(t, st, a, &c.effective, "Arguments")?,
                        None => Value::Object(Map::new()),
                    };
                    Some(WriterRequest {
                        resource: w.resource.clone(),
                        arguments,
                        output_type: w.output_type.clone(),
                        transformation: w.transformation.clone(),
                    })
                }
                None => None,
            };
            Ok::<_, Failure>((batching, writer))
        })();
        let (batching, writer) = match prepared {
            Ok(p) => p,
            Err(f) => return Err(self.map_run_failed(t, &f.error, &f.cause)),
        };
        let Some(run) = c.map_run.as_mut() else {
            return Err(Failure::new(
                stepwise_asl::errors::RUNTIME,
                "a distributed Map without a map run",
            ));
        };
        run.external = true;
        let (reader_resource, reader) = match reader {
            Some((res, r)) => (Some(res), Some(r)),
            None => (None, None),
        };
        let items = match reader {
            Some(_) => None,
            None => Some(std::mem::take(&mut c.items)),
        };
        let request = MapRunRequest {
            map_run_arn: run.arn.clone(),
            state_name: st.name.to_string(),
            thread: tid,
            started_ms: run.started_ms,
            reader_resource,
            reader,
            items,
            selects: spec.item_selector.is_some(),
            batching,
            max_concurrency: c.max_concurrency as u64,
            tolerated_failure_count: c.tolerated_count,
            tolerated_failure_percentage: c.tolerated_percentage,
            writer,
            redrive: run.redriven,
        };
        c.items = Vec::new();
        c.results = Vec::new();
        let task = self.new_wait(Waiter::Task(tid));
        self.commands.push(Command::InvokeTask {
            task,
            state_name: st.name.to_string(),
            resource: TaskResource::parse(MAP_RUN_RESOURCE),
            parameters: json!({ MapRunRequest::KEY: request }),
            task_token: None,
            heartbeat_seconds: None,
            timeout_seconds: None,
        });
        t.phase = Phase::MapRead(Box::new(c));
        Ok(Next::Park)
    }

    /// The home answered a map run: the Map ends with its output, or fails with the map run.
    pub(crate) fn external_map_run_outcome(
        &mut self,
        tid: ThreadId,
        mut t: Box<Thread>,
        mut c: Children,
        outcome: Result<Value, Failure>,
    ) {
        match outcome {
            Ok(v) => {
                self.note_external_run(&c, "SUCCEEDED");
                let out = v.get("Output").cloned().unwrap_or(Value::Null);
                if let Some(r) = c.map_run.as_mut() {
                    r.written = Some(out);
                }
                self.children_done(tid, t, c);
            }
            Err(f) => {
                self.note_external_run(&c, "FAILED");
                let f = self.map_run_failed(&mut t, &f.error, &f.cause);
                self.fail_state(tid, t, f);
            }
        }
    }

    /// An external run's end, kept so that a redrive of this execution finds the run to
    /// redrive (its counts live with the home).
    pub(crate) fn note_external_run(&mut self, c: &Children, status: &str) {
        let Some(run) = &c.map_run else {
            return;
        };
        let redrive_count = self
            .s
            .map_runs
            .iter()
            .find(|r| r.map_run_arn == run.arn)
            .map_or(0, |r| r.redrive_count + u32::from(run.redriven));
        self.s.map_runs.retain(|r| r.map_run_arn != run.arn);
        self.s.map_runs.push(crate::map_io::MapRunInfo {
            map_run_arn: run.arn.clone(),
            state_name: run.state_name.clone(),
            status: status.into(),
            start_ms: run.started_ms,
            stop_ms: Some(self.now),
            max_concurrency: c.max_concurrency as u64,
            tolerated_failure_count: c.tolerated_count.unwrap_or(0),
            tolerated_failure_percentage: c.tolerated_percentage.unwrap_or(0.0),
            item_counts: Default::default(),
            execution_counts: Default::default(),
            redrive_count,
            redrive_ms: run.redriven.then_some(self.now),
        });
    }
}

/// `ItemSelector` outside a step, for [`crate::map_run::ItemSelection`].
pub(crate) struct Selector<'d> {
    e: Engine<'d>,
    t: Box<Thread>,
    effective: Value,
}

impl<'d> Selector<'d> {
    pub(crate) fn new(def: &'d Definition, state: ExecutionState, thread: u32) -> Option<Self> {
        let t = Box::new(state.threads.get(&thread)?.clone());
        let Phase::MapRead(c) = &t.phase else {
            return None;
        };
        let effective = c.effective.clone();
        let now = t.entered_ms;
        Some(Selector {
            e: Engine::new(def, state, now),
            t,
            effective,
        })
    }

    pub(crate) fn select(&mut self, index: usize, item: &Value) -> Result<Value, (String, String)> {
        let st = self.e.def.state(self.t.machine, self.t.state);
        let StateKind::Map(spec) = &st.kind else {
            return Ok(item.clone());
        };
        let Some(sel) = &spec.item_selector else {
            return Ok(item.clone());
        };
        let r =
            language(st).item_selector(&mut self.e, &self.t, st, sel, &self.effective, index, item);
        // Nothing a selection records is kept.
        self.e.history.clear();
        r.map_err(|f| (f.error, f.cause))
    }
}
