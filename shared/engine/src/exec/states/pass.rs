//! The Pass state.

use crate::exec::errors::*;
use crate::exec::state::*;
use crate::exec::{Engine, ThreadId};
use serde_json::Value;
use stepwise_asl::model::{QueryLanguage, State};

impl<'d> Engine<'d> {
    pub(crate) fn run_pass(
        &mut self,
        tid: ThreadId,
        t: Thread,
        st: &State,
        result: Option<&Value>,
    ) -> Result<(), (Thread, Failure)> {
        if st.query_language == QueryLanguage::Jsonata {
            let b = self.jsonata_bindings(&t, st, &[], None);
            let out = match &st.output {
                Some(o) => self.jsonata_value(&t, st, o, &b, "Output"),
                None => Ok(t.input.clone()),
            };
            let out = match out {
                Ok(o) => o,
                Err(f) => return Err((t, f)),
            };
            let vars = match self.assign(&t, st, st.assign.as_ref(), &t.input, &[]) {
                Ok(v) => v,
                Err(f) => return Err((t, f)),
            };
            self.exit_state(tid, t, out, vars);
            return Ok(());
        }
        // With a Result and nothing to evaluate, the effective input would only be thrown away.
        let trivial_input = st.input_path.as_deref() == Some("$") && st.parameters.is_none();
        let result = match result {
            Some(r) if trivial_input => r.clone(),
            _ => {
                let effective = match self.effective_input(&t, st, None) {
                    Ok(v) => v,
                    Err(f) => return Err((t, f)),
                };
                result.cloned().unwrap_or(effective)
            }
        };
        self.finish_jsonpath(tid, t, st, result)
    }
}
