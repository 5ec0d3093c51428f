//! The Succeed state.

use crate::exec::errors::Failure;
use crate::exec::lifecycle::Next;
use crate::exec::state::Thread;
use crate::exec::Engine;
use stepwise_asl::model::State;

impl<'d> Engine<'d> {
    #[inline(never)]
    pub(crate) fn run_succeed(&mut self, t: &mut Thread, st: &State) -> Result<Next, Failure> {
        Ok(Next::exit(self.wait_output(t, st)?, None))
    }
}
