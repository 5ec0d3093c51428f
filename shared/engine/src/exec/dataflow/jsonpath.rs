//! JSONPath states: InputPath, Parameters, ResultSelector, ResultPath, OutputPath, payload
//! templates (`"key.$"`) and intrinsic functions.

use super::{Language, Vars};
use crate::deep::text_len;
use crate::exec::errors::Failure;
use crate::exec::state::{MergeUndo, Thread};
use crate::exec::{to_text, Engine};
use crate::history::{member_key, PayloadText, DEFERRED_MIN_BYTES};
use serde_json::{Map, Value};
use std::sync::Arc;
use stepwise_asl::model::{Catcher, MapSpec, State, StateKind};
use stepwise_asl::payload::{self, Template};
use stepwise_asl::{EvalError, Scope};

/// The JSONPath query language (the default).
pub(crate) struct JsonPath;

/// A Pass or Task state's output text recorded as its input's text with the result set at its
/// ResultPath's member ([`PayloadText::with_member`]), when its output is just that: a
/// ResultPath of names whose objects on the way exist in the input, OutputPath `$`, nothing
/// assigned (an exit with variables renders its text), not under TestState, and the input's
/// text at hand (this step's StateEntered, or the one a Task kept while it waited; the input
/// is unchanged since: neither state type moves values out of it before a ResultPath of
/// names).
#[inline(never)]
fn deferred_output_text(
    e: &Engine<'_>,
    t: &Thread,
    st: &State,
    names: &Arc<[String]>,
    result: &Value,
) -> Option<PayloadText> {
    if st.output_path.as_deref() != Some("$")
        || st.assign.is_some()
        || e.s.inspection.is_some()
        || !matches!(st.kind, StateKind::Pass { .. } | StateKind::Task { .. })
    {
        return None;
    }
    // A Task's own kept text, and only a Task's: another state's entry is this step's.
    let kept = match st.kind {
        StateKind::Task { .. } => t.entered_payload.clone(),
        _ => None,
    };
    let entered = e.entered_text(t).or(kept)?;
    if entered.len() < DEFERRED_MIN_BYTES {
        return None;
    }
    let (last, parents) = names.split_last()?;
    let object = payload::walk(&t.input, parents)?.as_object()?;
    let value = to_text(result);
    let len = match object.get(last) {
        Some(old) => (entered.len() + value.len()).checked_sub(text_len(old))?,
        None => {
            let key = member_key(last).len();
            entered.len() + usize::from(!object.is_empty()) + key + 1 + value.len()
        }
    };
    entered.with_member(names, value, len)
}

/// Before a merge in place: the state's entry text (a Task's kept one) to give its input back
/// should the output fail the quota, or without one (nor this step's entry, which the exit
/// finds) what the ResultPath member holds, to undo the merge. Out of line: most states' exits
/// need neither.
#[inline(never)]
fn keep_for_undo(e: &Engine<'_>, t: &mut Thread, st: &State, entered: Option<PayloadText>) {
    t.entered_text = entered;
    if t.entered_text.is_none() && e.entered_text(t).is_none() {
        if let Some(names) = st.result_path.as_ref().and_then(|p| p.members()) {
            t.merge_undo = merge_undo(&t.input, names);
        }
    }
}

/// How to undo setting the member at `names` in `input`: what it holds now. None when an
/// object on the way is missing (the merge would make it: not undone).
fn merge_undo(input: &Value, names: &Arc<[String]>) -> Option<MergeUndo> {
    let (last, parents) = names.split_last()?;
    let object = payload::walk(input, parents)?.as_object()?;
    Some((names.clone(), object.get(last).cloned()))
}

/// Undoes a merge at a member path in the merged output ([`merge_undo`]): the member gets its
/// value back, or goes if it was not there (it was added last, so the order is as before).
/// False when the output has no such member.
pub(crate) fn undo_merge(output: &mut Value, (names, previous): MergeUndo) -> bool {
    let Some((last, parents)) = names.split_last() else {
        return false;
    };
    let Some(object) = payload::walk_mut(output, parents).and_then(Value::as_object_mut) else {
        return false;
    };
    match previous {
        Some(value) => object.get_mut(last).map(|slot| *slot = value).is_some(),
        None => object.shift_remove(last).is_some(),
    }
}

impl Language for JsonPath {
    fn effective_input(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        token: Option<&str>,
    ) -> Result<Value, Failure> {
        let selected =
            e.jsonpath_select_borrowed(t, st, "InputPath", st.input_path.as_ref(), &t.input)?;
        e.inspect(t, |i| {
            i.after_input_path = Some(selected.clone().into_owned())
        });
        let effective = match &st.parameters {
            Some(p) => e.jsonpath_template(t, st, p, &selected, token)?,
            None => selected.into_owned(),
        };
        e.inspect(t, |i| i.after_parameters = Some(effective.clone()));
        Ok(effective)
    }

    fn selected_input(&self, e: &mut Engine<'_>, t: &Thread, st: &State) -> Result<Value, Failure> {
        let selected = e.jsonpath_select(t, st, "InputPath", st.input_path.as_ref(), &t.input)?;
        e.inspect(t, |i| i.after_input_path = Some(selected.clone()));
        Ok(selected)
    }

    fn expression(
        &self,
        _e: &mut Engine<'_>,
        _t: &Thread,
        _st: &State,
        _value: &Value,
        _field: &str,
    ) -> Result<Option<Value>, Failure> {
        Ok(None)
    }

    fn template(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        template: &Template,
        _field: &str,
        token: Option<&str>,
    ) -> Result<Value, Failure> {
        e.jsonpath_template(t, st, template, &t.input, token)
    }

    fn plain_output(&self, e: &mut Engine<'_>, t: &Thread, st: &State) -> Result<Value, Failure> {
        let selected =
            e.jsonpath_select_borrowed(t, st, "InputPath", st.input_path.as_ref(), &t.input)?;
        e.inspect(t, |i| {
            i.after_input_path = Some(selected.clone().into_owned())
        });
        e.jsonpath_select(t, st, "OutputPath", st.output_path.as_ref(), &selected)
    }

    fn pass_output(
        &self,
        e: &mut Engine<'_>,
        t: &mut Thread,
        st: &State,
        result: Option<&Value>,
    ) -> Result<(Value, Vars), Failure> {
        // Parameters on the whole input, whose result replaces it, nothing assigned, not under
        // TestState: nothing reads the input after the Parameters (a Pass has no Retry or
        // Catch), so what they pass on is moved out of it.
        let takes = result.is_none()
            && st.input_path.as_deref() == Some("$")
            && st.result_path.as_deref() == Some("$")
            && st.assign.is_none()
            && e.s.inspection.is_none();
        if let Some(p) = st.parameters.as_ref().filter(|_| takes) {
            // The input as it entered stays at hand to be put back if the state fails (a redrive
            // starts from it): its StateEntered text, recorded just before in this step.
            let entered = e.entered_text(t);
            if entered.is_some() {
                t.entered_text = entered;
                let effective = e.jsonpath_template_taking(t, st, p)?;
                return self.result_output(e, t, st, effective);
            }
        }
        // With a Result and nothing to evaluate, the effective input would only be thrown away.
        let trivial_input = st.input_path.as_deref() == Some("$") && st.parameters.is_none();
        let given = result.is_some();
        let result = match result {
            Some(r) if trivial_input => r.clone(),
            _ => {
                let effective = e.effective_input(t, st, None)?;
                result.cloned().unwrap_or(effective)
            }
        };
        // TestState, as AWS reports a Pass: with a Result, that is its result and nothing came
        // of the input; without one, the effective input is passed on and there is no result.
        if given {
            e.inspect(t, |i| {
                i.after_input_path = None;
                i.after_parameters = None;
            });
        }
        let out = self.result_output(e, t, st, result)?;
        if !given {
            e.inspect(t, |i| i.result = None);
        }
        Ok(out)
    }

    /// ResultSelector, Assign, ResultPath, OutputPath.
    fn result_output(
        &self,
        e: &mut Engine<'_>,
        t: &mut Thread,
        st: &State,
        result: Value,
    ) -> Result<(Value, Vars), Failure> {
        e.inspect(t, |i| i.result = Some(result.clone()));
        let result = match &st.result_selector {
            Some(sel) => e.jsonpath_template(t, st, sel, &result, None)?,
            None => result,
        };
        e.inspect(t, |i| i.after_result_selector = Some(result.clone()));
        let vars = e.assign(t, st, st.assign.as_ref(), &result, &[])?;
        // With an OutputPath to apply, the merge goes into a copy of the input: should the
        // OutputPath fail (States.Runtime, the execution fails), the input stays whole for a
        // redrive to start from (the merge takes the input it writes into).
        let selects = !matches!(st.output_path.as_deref(), Some("$"));
        // Only a ResultPath of member names can be recorded as a member set: checked here, the
        // rest out of line (most states have none, and this is every Pass's and Task's path).
        // What follows cannot fail when it is (the objects on the way exist, OutputPath `$`);
        // a failure drops it all the same (`fail_state`).
        if let Some(names) = st.result_path.as_ref().and_then(|p| p.members()) {
            t.output_text = deferred_output_text(e, t, st, names, &result);
        }
        // A Task's kept entry text has served its exit text. A merge in place takes the input:
        // the text stays at hand to give the input back should the state fail now (its output
        // past the payload quota); the move to the next state drops it.
        let copies = selects && st.result_path.as_deref() != Some("$");
        let entered = t.entered_payload.take();
        if !copies && t.entered_text.is_none() {
            keep_for_undo(e, t, st, entered);
        }
        let merged = if copies {
            payload::merge_result(&mut t.input.clone(), result, st.result_path.as_ref())
        } else {
            payload::merge_result(&mut t.input, result, st.result_path.as_ref())
        }
        .map_err(|err| e.in_state(t, st, err))?;
        e.inspect(t, |i| i.after_result_path = Some(merged.clone()));
        // OutputPath, like everything else in the state, sees the variables as they were when
        // the state was entered: what it assigns takes effect when it is left.
        let out = match st.output_path.as_ref() {
            Some(p) if p == "$" => merged,
            p => e.jsonpath_select(t, st, "OutputPath", p, &merged)?,
        };
        Ok((out, vars))
    }

    /// OutputPath, which for a Choice sees the variables it just assigned.
    fn choice_output(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        effective: Value,
        _output: Option<&Value>,
        vars: &Vars,
    ) -> Result<Value, Failure> {
        let path = match st.output_path.as_ref() {
            Some(p) if p == "$" => return Ok(effective),
            p => p,
        };
        let mut tv = t.variables.clone();
        if let Some(v) = vars {
            tv.extend(v.clone());
        }
        let ctx = Value::Null;
        let scope = Scope {
            input: &effective,
            context: &ctx,
            variables: &tv,
        };
        payload::select("OutputPath", path, &scope).map_err(|err| e.in_state(t, st, err))
    }

    /// Assign sees the error output; ResultPath puts it into the state's input.
    fn catch_output(
        &self,
        e: &mut Engine<'_>,
        t: &mut Thread,
        st: &State,
        c: &Catcher,
        error_output: Value,
    ) -> Result<(Value, Vars), Failure> {
        let vars = e.assign(t, st, c.assign.as_ref(), &error_output, &[])?;
        let out = payload::merge_result(&mut t.input, error_output, c.result_path.as_ref())
            .map_err(|err| e.in_state(t, st, err))?;
        Ok((out, vars))
    }

    /// The Assign object is a payload template on the input.
    fn assigned(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        _fields: &Map<String, Value>,
        assign: &Template,
        input: &Value,
        _extra: &[(&str, &Value)],
    ) -> Result<Map<String, Value>, Failure> {
        let evaluated = e.jsonpath_template(t, st, assign, input, None)?;
        Ok(match evaluated {
            Value::Object(m) => m,
            _ => Map::new(),
        })
    }

    fn map_items(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        spec: &MapSpec,
        effective: &Value,
    ) -> Result<Vec<Value>, Failure> {
        let items = match spec.items_path.as_ref() {
            Some(p) => e.jsonpath_select(t, st, "ItemsPath", Some(p), effective)?,
            None => effective.clone(),
        };
        match items {
            Value::Array(a) => {
                e.inspect(t, |i| i.after_items_path = Some(Value::Array(a.clone())));
                Ok(a)
            }
            other => {
                // As AWS answers TestState (the only recording of it): the reference path,
                // read from the Context object's root for `$$`, and no data past InputPath.
                e.inspect(t, |i| i.after_parameters = None);
                match spec.items_path.as_ref() {
                    Some(p) => {
                        let p = p.as_str();
                        let shown = p.strip_prefix('$').filter(|r| r.starts_with('$'));
                        Err(Failure::new(
                            stepwise_asl::errors::RUNTIME,
                            format!(
                                "Reference path \"{}\" must point to array.",
                                shown.unwrap_or(p)
                            ),
                        ))
                    }
                    None => Err(e.in_state(
                        t,
                        st,
                        EvalError::runtime(format!(
                            "Map state input must be an array but was: {}",
                            to_text(&other)
                        )),
                    )),
                }
            }
        }
    }

    /// A payload template on the Map's effective input, with `$$.Map.Item` set.
    fn item_selector(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        selector: &Template,
        effective: &Value,
        index: usize,
        item: &Value,
    ) -> Result<Value, Failure> {
        e.jsonpath_template_item(t, st, selector, effective, None, Some((index, item)))
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{info, task_id};
    use crate::{step, Event, ExecutionState, Status, Transition};
    use serde_json::{json, Value};
    use stepwise_asl::model::Definition;

    /// A one-state machine (`P`) started on `input`: its step, and its state as JSON (the
    /// redrive point is not public).
    fn start(p: Value, input: &Value) -> (Transition, Value) {
        let def = Definition::from_value(&json!({"StartAt": "P", "States": {"P": p}}))
            .expect("definition");
        let tr = step(
            &def,
            ExecutionState::new(info()),
            0,
            Event::Start {
                input: input.clone(),
            },
        );
        let state = serde_json::to_value(&tr.state).expect("state");
        (tr, state)
    }

    /// A state that merged its result into its input (ResultPath) and whose OutputPath then
    /// fails leaves its input whole for a redrive to start from.
    #[test]
    fn a_state_whose_output_path_fails_after_its_result_path_keeps_its_input() {
        let input = json!({"keep": {"a": [1, 2, 3]}, "n": 1});
        for result_path in ["$.r", "$.keep.r"] {
            let (tr, state) = start(
                json!({"Type": "Pass", "Result": {"x": 1}, "ResultPath": result_path,
                       "OutputPath": "$.missing", "End": true}),
                &input,
            );
            assert_eq!(tr.state.status, Status::Failed, "{result_path}");
            assert_eq!(state["redrive_point"]["input"], input, "{result_path}");
        }
    }

    /// A Pass whose Parameters moved values out of its input, then failed (its OutputPath, its
    /// output's size), leaves its input as it entered for a redrive to start from; one that
    /// succeeds passes the moved values on.
    #[test]
    fn a_pass_that_moved_its_input_and_failed_keeps_it_for_a_redrive() {
        let input = json!({"keep": {"a": [1, 2, 3]}, "n": 1});
        let big = "x".repeat(300_000);
        for (output_path, pad, fails) in [
            ("$.missing", "", true),
            ("$", big.as_str(), true),
            ("$", "", false),
        ] {
            let (tr, state) = start(
                json!({"Type": "Pass", "OutputPath": output_path, "End": true,
                       "Parameters": {"k.$": "$.keep", "pad": pad}}),
                &input,
            );
            if fails {
                assert_eq!(
                    tr.state.status,
                    Status::Failed,
                    "{output_path} {}",
                    pad.len()
                );
                assert_eq!(
                    state["redrive_point"]["input"],
                    input,
                    "{output_path} {}",
                    pad.len()
                );
            } else {
                assert_eq!(tr.state.status, Status::Succeeded);
                assert_eq!(
                    tr.state.output,
                    Some(json!({"k": {"a": [1, 2, 3]}, "pad": ""}))
                );
                assert_eq!(state["redrive_point"], Value::Null);
            }
        }
    }

    /// A Pass that sets one member of a large input records its output as that member over
    /// the input's text (rendered when read): every StateExited reads as the output's own
    /// text, in replaced, added and nested members, and the quota is checked on its length.
    #[test]
    fn a_large_payload_with_a_member_set_records_the_output_it_leaves_with() {
        let pad = "x\"é".repeat(18_000);
        // Without `Over`, `Again` ends the run; with it, the run fails at `Over` (whose input
        // is then rendered, to be given back: the texts before it are no longer deferred).
        let definition = |over: bool| {
            let mut states = json!({
                "Replace": {"Type": "Pass", "Result": 1, "ResultPath": "$.step", "Next": "Add"},
                "Add": {"Type": "Pass", "Result": {"k": [1, "}"]}, "ResultPath": "$.added",
                        "Next": "Nested"},
                "Nested": {"Type": "Pass", "Parameters": {"n.$": "$.step"},
                           "ResultPath": "$.deep.inner", "Next": "Again"},
                "Again": {"Type": "Pass", "Result": "two", "ResultPath": "$.step", "End": true},
            });
            if over {
                states["Again"] = json!({"Type": "Pass", "Result": "two",
                                         "ResultPath": "$.step", "Next": "Over"});
                states["Over"] = json!({"Type": "Pass",
                    "Parameters": {"big.$": "$.pad", "more.$": "$.pad"},
                    "ResultPath": "$.copy", "End": true});
            }
            Definition::from_value(&json!({"StartAt": "Replace", "States": states}))
                .expect("definition")
        };
        let input = json!({"step": 0, "pad": pad, "deep": {"keep": true}});
        let start = |def: &Definition| {
            step(
                def,
                ExecutionState::new(info()),
                0,
                Event::Start {
                    input: input.clone(),
                },
            )
        };
        let tr = start(&definition(false));
        assert_eq!(tr.state.status, Status::Succeeded);
        let mut want = input.clone();
        let mut outputs = vec![];
        for (member, value) in [
            ("step", json!(1)),
            ("added", json!({"k": [1, "}"]})),
            ("inner", json!({"n": 1})),
            ("step", json!("two")),
        ] {
            match member {
                "inner" => want["deep"]["inner"] = value,
                m => want[m] = value,
            }
            outputs.push(crate::exec::to_text(&want));
        }
        let exits: Vec<_> = tr
            .history
            .iter()
            .filter(|e| e.event_type() == "PassStateExited")
            .collect();
        assert_eq!(exits.len(), 4);
        for (e, text) in exits.iter().zip(&outputs) {
            let recorded = e.state_text().expect("a state event");
            assert!(recorded.deferred(), "{}", e.id);
            assert_eq!(recorded.len(), text.len(), "{}", e.id);
            assert_eq!(recorded.as_str(), text, "{}", e.id);
            assert_eq!(
                e.details().expect("details")["output"].as_str(),
                Some(text.as_str())
            );
        }
        // Over the quota by its length alone: the state fails as it did rendering it, and
        // keeps the input it entered with (its merge had taken it), for a redrive.
        let tr = start(&definition(true));
        assert_eq!(tr.state.status, Status::Failed);
        assert_eq!(tr.state.error.as_deref(), Some("States.DataLimitExceeded"));
        let redriven = tr.state.redrive_point.as_ref().map(|p| p.input.clone());
        assert_eq!(
            redriven,
            outputs
                .last()
                .map(|o| crate::deep::from_str(o).expect("json"))
        );
    }

    /// A Task over a large input whose result (after its ResultSelector) goes to a member:
    /// its exit, a step after its entry, records the output as the kept input text with the
    /// member set, and reads as the output's own text. A Task that fails and is caught records
    /// the catcher's merge in full.
    #[test]
    fn a_task_result_set_at_a_member_of_a_large_input_is_recorded_as_that_member() {
        let def = Definition::from_value(&json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": "f"}, "ResultSelector": {"got.$": "$.Payload"},
                  "ResultPath": "$.result", "Next": "U"},
            "U": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": "f"}, "ResultPath": "$.second",
                  "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                             "Next": "Done"}], "End": true},
            "Done": {"Type": "Succeed"}}}))
        .expect("definition");
        let input = json!({"rows": "y\"é".repeat(3000), "result": null});
        let tr = step(
            &def,
            ExecutionState::new(info()),
            0,
            Event::Start {
                input: input.clone(),
            },
        );
        let task = task_id(&tr.commands);
        let tr = step(
            &def,
            tr.state,
            1,
            Event::TaskSucceeded {
                task,
                output: json!({"Payload": {"n": 1}}),
            },
        );
        let mut want = input;
        want["result"] = json!({"got": {"n": 1}});
        let exit = tr
            .history
            .iter()
            .find(|e| e.event_type() == "TaskStateExited")
            .expect("T left");
        let recorded = exit.state_text().expect("a state event");
        assert!(recorded.deferred());
        assert_eq!(recorded.as_str(), crate::exec::to_text(&want));
        let task = task_id(&tr.commands);
        let tr = step(
            &def,
            tr.state,
            2,
            Event::TaskFailed {
                task,
                error: "Boom".into(),
                cause: "no".into(),
            },
        );
        assert_eq!(tr.state.status, Status::Succeeded);
        want["error"] = json!({"Error": "Boom", "Cause": "no"});
        let caught = tr
            .history
            .iter()
            .find(|e| e.event_type() == "TaskStateExited")
            .and_then(|e| e.state_text())
            .expect("U left");
        assert!(!caught.deferred());
        assert_eq!(caught.as_str(), crate::exec::to_text(&want));
    }
}
