//! The Fail state.

use crate::exec::dataflow::language;
use crate::exec::errors::Failure;
use crate::exec::lifecycle::Next;
use crate::exec::state::Thread;
use crate::exec::{to_text, Engine};
use serde_json::Value;
use stepwise_asl::model::{QueryLanguage, State, ValueOrPath};

impl<'d> Engine<'d> {
    #[inline(never)]
    pub(crate) fn run_fail(
        &mut self,
        t: &mut Thread,
        st: &State,
        error: &Option<ValueOrPath>,
        cause: &Option<ValueOrPath>,
    ) -> Result<Next, Failure> {
        // TestState reports a JSONPath Fail's input as its InputPath result.
        if st.query_language == QueryLanguage::JsonPath {
            self.inspect(t, |i| i.after_input_path = Some(t.input.clone()));
        }
        let field = |this: &mut Self,
                     f: &Option<ValueOrPath>,
                     name: &str|
         -> Result<Option<String>, Failure> {
            match f {
                None => Ok(None),
                Some(ValueOrPath::Value(v)) => {
                    match language(st).expression(this, t, st, v, name)? {
                        Some(v) => Ok(Some(match v {
                            Value::String(s) => s,
                            other => to_text(&other),
                        })),
                        None => Ok(v.as_str().map(str::to_string)),
                    }
                }
                Some(ValueOrPath::Path(p)) => {
                    // ErrorPath and CausePath take a reference path or an intrinsic function.
                    let v = this.path_field(t, st, &format!("{name}Path"), p, &t.input)?;
                    Ok(Some(match v {
                        Value::String(s) => s,
                        other => to_text(&other),
                    }))
                }
            }
        };
        let error = field(self, error, "Error")?;
        let cause = field(self, cause, "Cause")?;
        Ok(Next::FailThread { error, cause })
    }
}
