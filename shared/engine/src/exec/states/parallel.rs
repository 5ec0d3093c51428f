//! The Parallel state.

use crate::exec::errors::Failure;
use crate::exec::lifecycle::Next;
use crate::exec::state::{Children, Phase, Thread};
use crate::exec::{Engine, ThreadId};
use crate::history::EventKind;
use serde_json::Value;
use stepwise_asl::model::{MachineId, QueryLanguage, State};

impl<'d> Engine<'d> {
    #[inline(never)]
    pub(crate) fn run_parallel(
        &mut self,
        tid: ThreadId,
        t: &mut Thread,
        st: &State,
        branches: &[MachineId],
    ) -> Result<Next, Failure> {
        let mut effective = self.effective_input(t, st, None)?;
        if let Some(outcome) = self.stand_in(t) {
            return self.leave_with_stand_in(t, st, outcome, false);
        }
        // Each branch starts with the state's input as it entered (no InputPath or Parameters to
        // change it): its first StateEntered shares the Parallel's entry text instead of
        // serializing the input again, once per branch.
        let entered = (st.query_language == QueryLanguage::JsonPath
            && st.input_path.as_ref().is_some_and(|p| p == "$")
            && st.parameters.is_none())
        .then(|| self.entered_text(t))
        .flatten();
        let state_type = st.type_name();
        self.emit(t, EventKind::StateStarted { state_type });
        let mut c = Children {
            is_map: false,
            distributed: false,
            // Only a Map reads its effective input again (ItemSelector, batching): each
            // branch takes its copy now.
            effective: Value::Null,
            items: Vec::new(),
            results: vec![Value::Null; branches.len()],
            done: 0,
            next: branches.len(),
            running: Vec::new(),
            max_concurrency: 0,
            failures: 0,
            tolerated_count: None,
            tolerated_percentage: None,
            failure: None,
            kept: Vec::new(),
            resume_child: None,
            last_iteration_event: 0,
            map_run: None,
        };
        // A resume inside a branch: that branch starts at the chosen state, the branches that
        // succeeded in the recorded run keep their results.
        let mut resume = self.take_resume_inner(tid, t);
        let mut spawned = Vec::new();
        for (i, &m) in branches.iter().enumerate() {
            if let Some(r) = &resume {
                if let Some((_, v)) = r.kept.iter().find(|(k, _)| *k == i && i != r.index) {
                    c.results[i] = v.clone();
                    c.done += 1;
                    continue;
                }
            }
            let (state, input, variables, input_text) = match &resume {
                Some(r) if r.index == i => (r.state, r.input.clone(), r.variables.clone(), None),
                _ => (
                    self.def.machines[m].start_at,
                    // The last branch takes the effective input itself.
                    if i + 1 == branches.len() {
                        std::mem::take(&mut effective)
                    } else {
                        effective.clone()
                    },
                    t.variables.clone(),
                    entered.clone(),
                ),
            };
            let child = Thread {
                machine: m,
                state,
                parent: Some((tid, i)),
                input,
                variables,
                phase: Phase::Enter,
                entered_event: 0,
                entered_prev: 0,
                entered_ms: self.now,
                last_event: t.last_event,
                retries: Vec::new(),
                map_item: None,
                hidden: t.hidden,
                input_text,
                entered_text: None,
                output_text: None,
                entered_payload: None,
                merge_undo: None,
            };
            let id = self.new_thread(child);
            if let Some(r) = resume.as_mut().filter(|r| r.index == i) {
                self.pass_resume_down(r.deeper.take(), id);
            }
            c.running.push(id);
            spawned.push(id);
        }
        Ok(Next::Fork(Box::new(c), spawned))
    }
}
