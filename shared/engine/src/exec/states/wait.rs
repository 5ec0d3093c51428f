//! The Wait state.

use crate::exec::dataflow::{language, Vars};
use crate::exec::errors::Failure;
use crate::exec::lifecycle::Next;
use crate::exec::state::{Phase, Thread, Waiter};
use crate::exec::{to_text, Engine, ThreadId};
use crate::time_fmt::parse_iso;
use serde_json::Value;
use stepwise_asl::model::{State, WaitFor};
use stepwise_asl::EvalError;

impl<'d> Engine<'d> {
    /// The output of a state with no result (Wait, Succeed).
    pub(crate) fn wait_output(&mut self, t: &Thread, st: &State) -> Result<Value, Failure> {
        language(st).plain_output(self, t, st)
    }

    /// The wait is over: the Wait's output and what it assigns.
    pub(crate) fn wait_over(&mut self, t: &Thread, st: &State) -> Result<(Value, Vars), Failure> {
        let out = self.wait_output(t, st)?;
        // A Wait may Assign: its expressions see the state's input.
        let vars = self.assign(t, st, st.assign.as_ref(), &t.input, &[])?;
        Ok((out, vars))
    }

    #[inline(never)]
    pub(crate) fn run_wait(
        &mut self,
        tid: ThreadId,
        t: &mut Thread,
        st: &State,
        w: &WaitFor,
    ) -> Result<Next, Failure> {
        let due = self.wait_due(t, st, w)?;
        let timer = self.start_timer(Waiter::Wait(tid), due);
        t.phase = Phase::Wait { timer };
        Ok(Next::Park)
    }

    pub(crate) fn wait_due(&mut self, t: &Thread, st: &State, w: &WaitFor) -> Result<i64, Failure> {
        let lang = language(st);
        let effective = lang.selected_input(self, t, st)?;
        let rt = |s: &Self, msg: String| s.in_state(t, st, EvalError::runtime(msg));
        let qe = |s: &Self, msg: String| s.in_state(t, st, EvalError::query(msg));
        match w {
            // An expression's value is checked as AWS checks an evaluated field; a literal was
            // checked when the definition was created.
            WaitFor::Seconds(v) => match lang.expression(self, t, st, v, "Seconds")? {
                Some(val) => match val.as_i64() {
                    Some(n) if n >= 0 => Ok(self.now.saturating_add(n.saturating_mul(1000))),
                    _ => Err(qe(
                        self,
                        format!(
                            "The Seconds field must be a non-negative integer, but got: {}",
                            to_text(&val)
                        ),
                    )),
                },
                None => Ok(self
                    .now
                    .saturating_add(v.as_i64().unwrap_or(0).saturating_mul(1000))),
            },
            WaitFor::Timestamp(v) => match lang.expression(self, t, st, v, "Timestamp")? {
                Some(val) => {
                    let s = val.as_str().unwrap_or_default().to_string();
                    parse_iso(&s).ok_or_else(|| {
                        qe(self, format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {s}"))
                    })
                }
                None => {
                    let s = v.as_str().unwrap_or_default();
                    parse_iso(s).ok_or_else(|| {
                        rt(self, format!("The Timestamp field cannot be parsed: {s}"))
                    })
                }
            },
            WaitFor::SecondsPath(p) => {
                let v = self.jsonpath_select(t, st, "SecondsPath", Some(p), &effective)?;
                match v.as_i64().or_else(|| v.as_u64().map(|n| n as i64)) {
                    Some(n) if n < 0 => Err(rt(
                        self,
                        format!(
                            "The SecondsPath parameter references a negative value: {p} == {}",
                            to_text(&v)
                        ),
                    )),
                    Some(n) => Ok(self.now.saturating_add(n.saturating_mul(1000))),
                    None => Err(rt(
                        self,
                        format!(
                            "The SecondsPath parameter cannot be parsed as a long value: {p} == {}",
                            to_text(&v)
                        ),
                    )),
                }
            }
            WaitFor::TimestampPath(p) => {
                let v = self.jsonpath_select(t, st, "TimestampPath", Some(p), &effective)?;
                let s = match &v {
                    Value::String(s) => s.clone(),
                    other => to_text(other),
                };
                parse_iso(&s).ok_or_else(|| {
                    rt(self, format!("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {p} == {s}"))
                })
            }
        }
    }
}
