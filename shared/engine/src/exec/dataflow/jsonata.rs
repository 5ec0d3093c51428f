//! JSONata states: Arguments, Output, Assign and every other field as `{% ... %}` expressions
//! over `$states` (input, context, result, errorOutput) and the variables.

use super::{Language, Vars};
use crate::exec::errors::Failure;
use crate::exec::state::Thread;
use crate::exec::{to_text, Engine};
use serde_json::{json, Map, Value};
use stepwise_asl::model::{Catcher, MapSpec, State};
use stepwise_asl::payload::Template;
use stepwise_asl::EvalError;

/// The JSONata query language.
pub(crate) struct Jsonata;

impl Jsonata {
    /// `value` evaluated with `$states.input`, `$states.context` and `extra` bound.
    fn evaluate(
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        value: &Value,
        field: &str,
        extra: &[(&str, &Value)],
        token: Option<&str>,
    ) -> Result<Value, Failure> {
        let b = e.jsonata_bindings(t, st, extra, token);
        e.jsonata_value(t, st, value, &b, field)
    }
}

impl Language for Jsonata {
    /// Arguments, or the input.
    fn effective_input(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        token: Option<&str>,
    ) -> Result<Value, Failure> {
        match &st.parameters {
            Some(args) => {
                let effective = Self::evaluate(e, t, st, args, "Arguments", &[], token)?;
                e.inspect(t, |i| i.after_arguments = Some(effective.clone()));
                Ok(effective)
            }
            None => Ok(t.input.clone()),
        }
    }

    fn selected_input(
        &self,
        _e: &mut Engine<'_>,
        t: &Thread,
        _st: &State,
    ) -> Result<Value, Failure> {
        Ok(t.input.clone())
    }

    fn expression(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        value: &Value,
        field: &str,
    ) -> Result<Option<Value>, Failure> {
        Self::evaluate(e, t, st, value, field, &[], None).map(Some)
    }

    fn template(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        template: &Template,
        field: &str,
        token: Option<&str>,
    ) -> Result<Value, Failure> {
        Self::evaluate(e, t, st, template, field, &[], token)
    }

    /// Output, or the input.
    fn plain_output(&self, e: &mut Engine<'_>, t: &Thread, st: &State) -> Result<Value, Failure> {
        match &st.output {
            Some(o) => Self::evaluate(e, t, st, o, "Output", &[], None),
            None => Ok(t.input.clone()),
        }
    }

    fn pass_output(
        &self,
        e: &mut Engine<'_>,
        t: &mut Thread,
        st: &State,
        _result: Option<&Value>,
    ) -> Result<(Value, Vars), Failure> {
        let out = self.plain_output(e, t, st)?;
        let vars = e.assign(t, st, st.assign.as_ref(), &t.input, &[])?;
        Ok((out, vars))
    }

    /// Output and Assign with `$states.result` bound.
    fn result_output(
        &self,
        e: &mut Engine<'_>,
        t: &mut Thread,
        st: &State,
        result: Value,
    ) -> Result<(Value, Vars), Failure> {
        // TestState shows a Task's raw result in either language (AWS's JSONata recordings).
        if matches!(st.kind, stepwise_asl::model::StateKind::Task { .. }) {
            e.inspect(t, |i| i.result = Some(result.clone()));
        }
        let out = match &st.output {
            Some(o) => Self::evaluate(e, t, st, o, "Output", &[("result", &result)], None)?,
            None => result.clone(),
        };
        let vars = e.assign(t, st, st.assign.as_ref(), &t.input, &[("result", &result)])?;
        Ok((out, vars))
    }

    /// The chosen rule's (or the state's) Output, or the input.
    fn choice_output(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        effective: Value,
        output: Option<&Value>,
        _vars: &Vars,
    ) -> Result<Value, Failure> {
        match output {
            Some(o) => Self::evaluate(e, t, st, o, "Output", &[], None),
            None => Ok(effective),
        }
    }

    /// The catcher's Output and Assign with `$states.errorOutput` bound.
    fn catch_output(
        &self,
        e: &mut Engine<'_>,
        t: &mut Thread,
        st: &State,
        c: &Catcher,
        error_output: Value,
    ) -> Result<(Value, Vars), Failure> {
        let extra = [("errorOutput", &error_output)];
        let out = match &c.output {
            Some(o) => Self::evaluate(e, t, st, o, "Output", &extra, None)?,
            None => error_output.clone(),
        };
        let vars = e.assign(t, st, c.assign.as_ref(), &t.input, &extra)?;
        Ok((out, vars))
    }

    /// Each field of Assign is an expression.
    fn assigned(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        fields: &Map<String, Value>,
        _assign: &Template,
        _input: &Value,
        extra: &[(&str, &Value)],
    ) -> Result<Map<String, Value>, Failure> {
        let mut out = Map::new();
        let b = e.jsonata_bindings(t, st, extra, None);
        for (k, v) in fields {
            let val = e.jsonata_value(t, st, v, &b, &format!("Assign/{k}"))?;
            out.insert(k.clone(), val);
        }
        Ok(out)
    }

    fn map_items(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        spec: &MapSpec,
        effective: &Value,
    ) -> Result<Vec<Value>, Failure> {
        let items = match &spec.items {
            Some(v) => Self::evaluate(e, t, st, v, "Items", &[], None)?,
            None => effective.clone(),
        };
        let other = match items {
            Value::Array(a) => return Ok(a),
            other => other,
        };
        let error = match &spec.items {
            // An `Items` expression is named with the type it returned.
            Some(Value::String(text)) => {
                let expr = stepwise_asl::jsonata::is_template(text).unwrap_or(text);
                stepwise_asl::jsonata::unexpected_type(expr, "Items", "array", &other)
            }
            _ => EvalError::query(format!(
                "Map state input must be an array but was: {}",
                to_text(&other)
            )),
        };
        Err(e.in_state(t, st, error))
    }

    /// The selector with `$states.context.Map.Item` set.
    fn item_selector(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        selector: &Template,
        _effective: &Value,
        index: usize,
        item: &Value,
    ) -> Result<Value, Failure> {
        let mut b = e.jsonata_bindings(t, st, &[], None);
        if let Some(Value::Object(states)) = b.get_mut("states") {
            if let Some(Value::Object(ctx)) = states.get_mut("context") {
                ctx.insert(
                    "Map".into(),
                    json!({"Item": {"Index": index, "Value": item}}),
                );
            }
        }
        e.jsonata_value(t, st, selector, &b, "ItemSelector")
    }
}
