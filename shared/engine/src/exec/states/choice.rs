//! The Choice state.

use crate::exec::dataflow::{language, Vars};
use crate::exec::errors::Failure;
use crate::exec::lifecycle::Next;
use crate::exec::state::Thread;
use crate::exec::{to_text, Engine};
use serde_json::Value;
use stepwise_asl::errors;
use stepwise_asl::model::{ChoiceBranch, Condition, QueryLanguage, State, StateId};
use stepwise_asl::{EvalError, Scope};

impl<'d> Engine<'d> {
    #[inline(never)]
    pub(crate) fn run_choice(
        &mut self,
        t: &mut Thread,
        st: &State,
        choices: &[ChoiceBranch],
        default: &Option<StateId>,
    ) -> Result<Next, Failure> {
        let lang = language(st);
        // With InputPath and OutputPath `$` the state's input is its output: moved, not copied
        // (the thread's input is replaced by the output on exit), and put back if it fails.
        let moved = st.query_language == QueryLanguage::JsonPath
            && st.input_path.as_ref().is_some_and(|p| p == "$")
            && st.output_path.as_ref().is_some_and(|p| p == "$")
            && !self.inspecting(t);
        let effective = if moved {
            std::mem::take(&mut t.input)
        } else {
            lang.selected_input(self, t, st)?
        };
        match self.choose(t, st, choices, default, &effective) {
            Ok((next, vars, output)) => {
                let out = lang.choice_output(self, t, st, effective, output, &vars)?;
                if moved {
                    // The output is the input as it entered: its exit shares the entry's text.
                    t.output_text = self.entered_text(t);
                }
                Ok(Next::Exit {
                    output: out,
                    assigned: vars,
                    next: Some(next),
                })
            }
            Err(f) => {
                if moved {
                    t.input = effective;
                }
                Err(f)
            }
        }
    }

    /// The rule that holds (or the default): the state it leads to, what it assigns and its
    /// Output (JSONata).
    fn choose<'s>(
        &mut self,
        t: &Thread,
        st: &'s State,
        choices: &'s [ChoiceBranch],
        default: &Option<StateId>,
        effective: &Value,
    ) -> Result<(StateId, Vars, Option<&'s Value>), Failure> {
        // Most rules read only the input: the Context object is built when one reads `$$`.
        let reads_context = choices
            .iter()
            .any(|c| matches!(&c.condition, Condition::Rule(r) if r.reads_context()));
        let ctx = if reads_context {
            self.context(t, st, None)
        } else {
            Value::Null
        };
        let mut chosen = None;
        for (i, c) in choices.iter().enumerate() {
            let holds = match &c.condition {
                Condition::Rule(rule) => {
                    let scope = Scope {
                        input: effective,
                        context: &ctx,
                        variables: &t.variables,
                    };
                    rule.evaluate(&scope).map_err(|e| self.in_state(t, st, e))
                }
                Condition::Jsonata(cond) => {
                    let b = self.jsonata_bindings(t, st, &[], None);
                    match self.jsonata_value(t, st, cond, &b, &format!("Choices/{i}/Condition")) {
                        Ok(Value::Bool(b)) => Ok(b),
                        Ok(other) => Err(self.in_state(
                            t,
                            st,
                            EvalError::query(format!(
                                "The Condition field of the choice rule at index {i} must evaluate to a boolean, but got: {}",
                                to_text(&other)
                            )),
                        )),
                        Err(f) => Err(f),
                    }
                }
            };
            match holds {
                Ok(true) => {
                    chosen = Some(c);
                    break;
                }
                Ok(false) => {}
                Err(f) => return Err(f),
            }
        }
        let (next, assign, output) = match chosen {
            Some(c) => (
                c.next,
                c.assign.as_ref().or(st.assign.as_ref()),
                c.output.as_ref().or(st.output.as_ref()),
            ),
            None => match default {
                Some(d) => (*d, st.assign.as_ref(), st.output.as_ref()),
                None => {
                    return Err(Failure::new(errors::NO_CHOICE_MATCHED, "No Matches!"));
                }
            },
        };
        let vars = self.assign(t, st, assign, effective, &[])?;
        Ok((next, vars, output))
    }
}
