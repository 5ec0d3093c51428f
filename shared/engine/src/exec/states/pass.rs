//! The Pass state.

use crate::exec::dataflow::language;
use crate::exec::errors::Failure;
use crate::exec::lifecycle::Next;
use crate::exec::state::Thread;
use crate::exec::Engine;
use serde_json::Value;
use stepwise_asl::model::State;

impl<'d> Engine<'d> {
    #[inline(never)]
    pub(crate) fn run_pass(
        &mut self,
        t: &mut Thread,
        st: &State,
        result: Option<&Value>,
    ) -> Result<Next, Failure> {
        let (out, vars) = language(st).pass_output(self, t, st, result)?;
        Ok(Next::exit(out, vars))
    }
}
