//! The Succeed state.

use crate::exec::errors::*;
use crate::exec::state::*;
use crate::exec::{Engine, ThreadId};
use stepwise_asl::model::State;

impl<'d> Engine<'d> {
    pub(crate) fn run_succeed(
        &mut self,
        tid: ThreadId,
        t: Thread,
        st: &State,
    ) -> Result<(), (Thread, Failure)> {
        match self.wait_output(&t, st) {
            Ok(out) => {
                self.exit_state(tid, t, out, None);
                Ok(())
            }
            Err(f) => Err((t, f)),
        }
    }
}
