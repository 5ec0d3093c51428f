//! The Pass state.

use crate::exec::errors::*;
use crate::exec::lifecycle::Next;
use crate::exec::state::*;
use crate::exec::Engine;
use serde_json::Value;
use stepwise_asl::model::{QueryLanguage, State};

impl<'d> Engine<'d> {
    pub(crate) fn run_pass(
        &mut self,
        t: &mut Thread,
        st: &State,
        result: Option<&Value>,
    ) -> Result<Next, Failure> {
        if st.query_language == QueryLanguage::Jsonata {
            let b = self.jsonata_bindings(t, st, &[], None);
            let out = match &st.output {
                Some(o) => self.jsonata_value(t, st, o, &b, "Output")?,
                None => t.input.clone(),
            };
            let vars = self.assign(t, st, st.assign.as_ref(), &t.input, &[])?;
            return Ok(Next::exit(out, vars));
        }
        // With a Result and nothing to evaluate, the effective input would only be thrown away.
        let trivial_input = st.input_path.as_deref() == Some("$") && st.parameters.is_none();
        let result = match result {
            Some(r) if trivial_input => r.clone(),
            _ => {
                let effective = self.effective_input(t, st, None)?;
                result.cloned().unwrap_or(effective)
            }
        };
        let (out, vars) = self.finish_jsonpath(t, st, result)?;
        Ok(Next::exit(out, vars))
    }
}
