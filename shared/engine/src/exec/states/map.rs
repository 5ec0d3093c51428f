//! The Map state: items, its settings, the map run.

use crate::exec::dataflow::{as_count, as_integer, language, not_valid};
use crate::exec::errors::Failure;
use crate::exec::lifecycle::Next;
use crate::exec::state::{Children, ResumeChild, Thread};
use crate::exec::{Engine, ThreadId};
use crate::history::EventKind;
use serde_json::Value;
use stepwise_asl::errors;
use stepwise_asl::model::{MapSpec, State};
use stepwise_asl::EvalError;

impl<'d> Engine<'d> {
    #[inline(never)]
    pub(crate) fn run_map(
        &mut self,
        tid: ThreadId,
        t: &mut Thread,
        st: &State,
        spec: &MapSpec,
    ) -> Result<Next, Failure> {
        let effective = self.effective_input(t, st, None)?;
        // An ItemReader's items arrive later: AWS records the Map as started with none.
        let items = match &spec.item_reader {
            Some(_) => Vec::new(),
            None => language(st).map_items(self, t, st, spec, &effective)?,
        };
        let max = self.numeric_field(t, st, &spec.max_concurrency, "MaxConcurrency", &effective)?;
        let max_concurrency = match max {
            None => 0,
            Some(v) => match as_count(&v) {
                Some(n) => n as usize,
                None => {
                    return Err(self.in_state(
                        t,
                        st,
                        not_valid("MaxConcurrency", "integer", &v, &spec.max_concurrency),
                    ));
                }
            },
        };
        self.emit(
            t,
            EventKind::MapStateStarted {
                length: items.len(),
            },
        );
        let tolerated_count = match self.numeric_field(
            t,
            st,
            &spec.tolerated_failure_count,
            "ToleratedFailureCount",
            &effective,
        ) {
            Ok(None) => None,
            Ok(Some(v)) => match as_count(&v) {
                Some(n) => Some(n),
                // A negative integer is an integer: AWS names the range, not the type.
                None if as_integer(&v).is_some_and(|n| n < 0) => {
                    return Err(self.in_state(
                        t,
                        st,
                        EvalError::runtime("ToleratedFailureCount cannot be negative."),
                    ));
                }
                None => {
                    return Err(self.in_state(
                        t,
                        st,
                        not_valid(
                            "ToleratedFailureCount",
                            "integer",
                            &v,
                            &spec.tolerated_failure_count,
                        ),
                    ));
                }
            },
            Err(f) => return Err(f),
        };
        let tolerated_percentage = match self.numeric_field(
            t,
            st,
            &spec.tolerated_failure_percentage,
            "ToleratedFailurePercentage",
            &effective,
        ) {
            Ok(None) => None,
            Ok(Some(v)) => match v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            {
                Some(p) if (0.0..=100.0).contains(&p) => Some(p),
                // The type is checked before the range.
                None => {
                    return Err(self.in_state(
                        t,
                        st,
                        not_valid(
                            "ToleratedFailurePercentage",
                            "float",
                            &v,
                            &spec.tolerated_failure_percentage,
                        ),
                    ));
                }
                Some(_) => {
                    return Err(self.in_state(
                        t,
                        st,
                        EvalError::runtime("ToleratedFailurePercentage must be between 0 and 100."),
                    ));
                }
            },
            Err(f) => return Err(f),
        };
        if let Some(outcome) = self.stand_in(t) {
            let selected = match &spec.item_selector {
                Some(sel) => {
                    let lang = language(st);
                    let mut each = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        each.push(lang.item_selector(self, t, st, sel, &effective, i, item)?);
                    }
                    Some(Value::Array(each))
                }
                None => None,
            };
            self.inspect(t, |i| {
                i.after_item_selector = selected;
                i.max_concurrency = Some(max_concurrency as u64);
                i.tolerated_failure_count = tolerated_count;
                i.tolerated_failure_percentage = tolerated_percentage;
            });
            // TestState's mapIterationFailureCount: more failed iterations than the Map
            // tolerates fail it, as AWS answers (a Map that tolerates none ignores the count).
            let failed = self
                .s
                .inspection
                .as_ref()
                .and_then(|i| i.map_iteration_failure_count);
            if let Some(failed) = failed {
                let total = items.len() as f64;
                let over_count = tolerated_count.is_some_and(|n| failed > n);
                let over_pct = tolerated_percentage
                    .is_some_and(|p| total > 0.0 && failed as f64 * 100.0 / total > p);
                if over_count || over_pct {
                    self.inspect(t, |i| i.after_parameters = None);
                    return Err(Failure::new(
                        errors::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                        "The specified tolerated failure threshold was exceeded",
                    ));
                }
            }
            return self.leave_with_stand_in(t, st, outcome, true);
        }
        let distributed = self.def.machines[spec.processor].distributed;
        let map_run = distributed.then(|| Box::new(self.new_map_run(st, spec)));
        let redriven = map_run.as_ref().is_some_and(|r| r.redriven);
        if let (Some(run), None) = (&map_run, &spec.item_reader) {
            let arn = run.arn.clone();
            if !redriven {
                self.emit(t, EventKind::MapRunStarted { map_run_arn: arn });
            }
        }
        let n = items.len();
        let mut c = Children {
            is_map: true,
            distributed,
            effective,
            items,
            results: vec![Value::Null; n],
            done: 0,
            next: 0,
            running: Vec::new(),
            max_concurrency,
            failures: 0,
            tolerated_count,
            tolerated_percentage,
            failure: None,
            kept: Vec::new(),
            resume_child: None,
            last_iteration_event: 0,
            map_run,
        };
        if let (true, Some(reader)) = (distributed, &spec.item_reader) {
            return self.start_item_reader(tid, t, st, reader, c);
        }
        if distributed && self.s.map_runs_as_executions {
            if redriven && spec.item_reader.is_none() {
                let event = self.map_run_started(&c);
                self.emit(t, event);
            }
            return self.start_external_map_run(tid, t, st, c, None);
        }
        if distributed {
            if let Err(f) = self.prepare_children(t, st, spec, &mut c) {
                self.record_map_run(&c, "FAILED");
                let event = EventKind::MapRunFailed {
                    error: f.error.clone(),
                    cause: f.cause.clone(),
                };
                self.emit(t, event);
                return Err(f);
            }
        }
        // A resume inside an iteration: that iteration starts at the chosen state, the ones
        // that succeeded in the recorded run keep their results and do not run again.
        if let Some(r) = self.take_resume_inner(tid, t) {
            for (i, v) in r.kept {
                if i < n && i != r.index {
                    c.results[i] = v;
                    c.done += 1;
                    c.kept.push(i);
                }
            }
            if r.index < n {
                c.resume_child = Some(Box::new(ResumeChild {
                    index: r.index,
                    state: r.state,
                    input: r.input,
                    variables: r.variables,
                    deeper: r.deeper,
                }));
            }
        }
        Ok(Next::Fork(Box::new(c), Vec::new()))
    }
}
