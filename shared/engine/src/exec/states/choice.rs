//! The Choice state.

use crate::exec::errors::*;
use crate::exec::lifecycle::Next;
use crate::exec::state::*;
use crate::exec::{to_text, Engine};
use serde_json::Value;
use stepwise_asl::model::{ChoiceBranch, Condition, QueryLanguage, State, StateId};
use stepwise_asl::{payload, EvalError, Scope};

impl<'d> Engine<'d> {
    pub(crate) fn run_choice(
        &mut self,
        t: &mut Thread,
        st: &State,
        choices: &[ChoiceBranch],
        default: &Option<StateId>,
    ) -> Result<Next, Failure> {
        let jsonata = st.query_language == QueryLanguage::Jsonata;
        let effective = if jsonata {
            t.input.clone()
        } else {
            self.jsonpath_select(t, st, "InputPath", st.input_path.as_deref(), &t.input)?
        };
        let ctx = self.context(t, st, None);
        let mut chosen = None;
        for (i, c) in choices.iter().enumerate() {
            let holds = match &c.condition {
                Condition::Rule(rule) => {
                    let scope = Scope {
                        input: &effective,
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
                    return Err(Failure::new("States.NoChoiceMatched", "No Matches!"));
                }
            },
        };
        let vars = self.assign(t, st, assign, &effective, &[])?;
        let out = if jsonata {
            match output {
                Some(o) => {
                    let b = self.jsonata_bindings(t, st, &[], None);
                    self.jsonata_value(t, st, o, &b, "Output")?
                }
                None => effective,
            }
        } else {
            let mut tv = t.variables.clone();
            if let Some(v) = &vars {
                tv.extend(v.clone());
            }
            let ctx = Value::Null;
            let scope = Scope {
                input: &effective,
                context: &ctx,
                variables: &tv,
            };
            match st.output_path.as_deref() {
                Some("$") => effective.clone(),
                p => match payload::select("OutputPath", p, &scope) {
                    Ok(v) => v,
                    Err(e) => return Err(self.in_state(t, st, e)),
                },
            }
        };
        Ok(Next::Exit {
            output: out,
            assigned: vars,
            next: Some(next),
        })
    }
}
