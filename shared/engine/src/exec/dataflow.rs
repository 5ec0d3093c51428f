//! The data flow of a state: InputPath → Parameters/Arguments → ResultSelector → ResultPath →
//! OutputPath/Output, and Assign; the Context object and the JSONPath/JSONata evaluation.

use crate::context::{self, StateContext};
use crate::exec::errors::*;
use crate::exec::state::*;
use crate::exec::{to_text, Engine, ThreadId, MAX_ASSIGN_BYTES};
use crate::rng::Rng;
use serde_json::{Map, Value};
use stepwise_asl::model::{QueryLanguage, State, StateKind, ValueOrPath};
use stepwise_asl::{payload, EvalError, Scope};

impl<'d> Engine<'d> {
    pub(crate) fn context(&self, t: &Thread, st: &State, token: Option<&str>) -> Value {
        self.context_with(
            t,
            st,
            token,
            t.map_item.as_ref().map(|(i, v)| (*i, v)),
            true,
        )
    }

    /// The Context object; `include_input` false leaves out `Execution.Input`, which can be
    /// large and which most references do not read.
    pub(crate) fn context_with(
        &self,
        t: &Thread,
        st: &State,
        token: Option<&str>,
        map_item: Option<(usize, &Value)>,
        include_input: bool,
    ) -> Value {
        context::build(
            &self.s.info,
            include_input.then_some(&self.s.input),
            &StateContext {
                name: &st.name,
                entered_ms: t.entered_ms,
                retry_count: Some(t.retries.iter().sum())
                    .filter(|n| *n > 0 || matches!(st.kind, StateKind::Task { .. })),
                task_token: token,
                map_item,
            },
        )
    }

    /// Prefixes a failure's cause as AWS does for errors raised while evaluating a state.
    pub(crate) fn in_state(&self, t: &Thread, st: &State, e: EvalError) -> Failure {
        let evaluation = e.error == "States.QueryEvaluationError";
        Failure {
            cause: format!(
                "An error occurred while executing the state '{}' (entered at the event id #{}). {}",
                st.name, t.entered_event, e.cause
            ),
            error: e.error,
            evaluation,
        }
    }

    pub(crate) fn jsonpath_template(
        &mut self,
        t: &Thread,
        st: &State,
        template: &Value,
        input: &Value,
        token: Option<&str>,
    ) -> Result<Value, Failure> {
        self.jsonpath_template_item(
            t,
            st,
            template,
            input,
            token,
            t.map_item.as_ref().map(|(i, v)| (*i, v)),
        )
    }

    /// A payload template, with `$$.Map.Item` set to `map_item` (ItemSelector).
    pub(crate) fn jsonpath_template_item(
        &mut self,
        t: &Thread,
        st: &State,
        template: &Value,
        input: &Value,
        token: Option<&str>,
        map_item: Option<(usize, &Value)>,
    ) -> Result<Value, Failure> {
        let ctx = match context::needs(template) {
            context::Need::Nothing => Value::Null,
            need => self.context_with(t, st, token, map_item, need == context::Need::Everything),
        };
        let scope = Scope {
            input,
            context: &ctx,
            variables: &t.variables,
        };
        let mut rng = Rng(&mut self.s.rng);
        payload::evaluate_template(template, &scope, &mut rng).map_err(|e| self.in_state(t, st, e))
    }

    /// A field that takes a reference path or an intrinsic function call (ErrorPath, CausePath).
    pub(crate) fn path_field(
        &mut self,
        t: &Thread,
        st: &State,
        field: &str,
        expr: &str,
        input: &Value,
    ) -> Result<Value, Failure> {
        let ctx = if expr.contains("$$") {
            self.context(t, st, None)
        } else {
            Value::Null
        };
        let scope = Scope {
            input,
            context: &ctx,
            variables: &t.variables,
        };
        let mut rng = Rng(&mut self.s.rng);
        payload::evaluate_path_field(field, expr, &scope, &mut rng)
            .map_err(|e| self.in_state(t, st, e))
    }

    pub(crate) fn jsonpath_select(
        &self,
        t: &Thread,
        st: &State,
        field: &str,
        path: Option<&str>,
        input: &Value,
    ) -> Result<Value, Failure> {
        if path == Some("$") {
            return Ok(input.clone());
        }
        let ctx = match path {
            Some(p) if p.starts_with("$$") => self.context(t, st, None),
            _ => Value::Null,
        };
        let scope = Scope {
            input,
            context: &ctx,
            variables: &t.variables,
        };
        payload::select(field, path, &scope).map_err(|e| self.in_state(t, st, e))
    }

    pub(crate) fn jsonata_bindings(
        &self,
        t: &Thread,
        st: &State,
        extra: &[(&str, &Value)],
        token: Option<&str>,
    ) -> Map<String, Value> {
        let mut states = Map::new();
        states.insert("input".into(), t.input.clone());
        states.insert("context".into(), self.context(t, st, token));
        for (k, v) in extra {
            states.insert((*k).to_string(), (*v).clone());
        }
        let mut b = t.variables.clone();
        b.insert("states".into(), Value::Object(states));
        b
    }

    pub(crate) fn jsonata_value(
        &mut self,
        t: &Thread,
        st: &State,
        value: &Value,
        bindings: &Map<String, Value>,
        field: &str,
    ) -> Result<Value, Failure> {
        let mut rng = Rng(&mut self.s.rng);
        jsonata_template(value, bindings, &mut rng, field).map_err(|e| self.in_state(t, st, e))
    }

    /// Evaluates `Assign` with the variables from before the state and returns the new set.
    pub(crate) fn assign(
        &mut self,
        t: &Thread,
        st: &State,
        assign: Option<&Value>,
        input: &Value,
        extra: &[(&str, &Value)],
    ) -> Result<Option<Map<String, Value>>, Failure> {
        let Some(assign) = assign else {
            return Ok(None);
        };
        let Value::Object(fields) = assign else {
            return Ok(None);
        };
        let mut out = Map::new();
        if st.query_language == QueryLanguage::Jsonata {
            let b = self.jsonata_bindings(t, st, extra, None);
            for (k, v) in fields {
                let val = self.jsonata_value(t, st, v, &b, &format!("Assign/{k}"))?;
                out.insert(k.clone(), val);
            }
        } else {
            let evaluated = self.jsonpath_template(t, st, assign, input, None)?;
            if let Value::Object(m) = evaluated {
                out = m;
            }
        }
        // AWS bounds what one state may assign.
        let total: usize = out.values().map(|v| to_text(v).len()).sum();
        if total > MAX_ASSIGN_BYTES {
            return Err(self.in_state(
                t,
                st,
                EvalError {
                    error: "States.DataLimitExceeded".into(),
                    cause: format!(
                        "The variables assigned by this state ({total} bytes) exceed the limit of {MAX_ASSIGN_BYTES} bytes."
                    ),
                },
            ));
        }
        Ok(Some(out))
    }

    /// InputPath and Parameters (JSONPath) or Arguments (JSONata).
    pub(crate) fn effective_input(
        &mut self,
        t: &Thread,
        st: &State,
        token: Option<&str>,
    ) -> Result<Value, Failure> {
        if st.query_language == QueryLanguage::Jsonata {
            return match &st.parameters {
                Some(args) => {
                    let b = self.jsonata_bindings(t, st, &[], token);
                    self.jsonata_value(t, st, args, &b, "Arguments")
                }
                None => Ok(t.input.clone()),
            };
        }
        let selected =
            self.jsonpath_select(t, st, "InputPath", st.input_path.as_deref(), &t.input)?;
        match &st.parameters {
            Some(p) => self.jsonpath_template(t, st, p, &selected, token),
            None => Ok(selected),
        }
    }

    /// ResultSelector, Assign, ResultPath, OutputPath: the state's output and what it assigns.
    pub(crate) fn finish_jsonpath(
        &mut self,
        t: &mut Thread,
        st: &State,
        result: Value,
    ) -> Result<(Value, Option<Map<String, Value>>), Failure> {
        let result = match &st.result_selector {
            Some(sel) => self.jsonpath_template(t, st, sel, &result, None)?,
            None => result,
        };
        let vars = self.assign(t, st, st.assign.as_ref(), &result, &[])?;
        // The state's input is not needed once merged: move it rather than copy a large payload.
        let merged = match st.result_path.as_deref() {
            None => std::mem::take(&mut t.input),
            Some("$") => result,
            Some(p) => {
                let mut base = std::mem::take(&mut t.input);
                match stepwise_asl::jsonpath::set(&mut base, p, result) {
                    Ok(()) => base,
                    Err(e) => {
                        t.input = base;
                        return Err(self.in_state(t, st, e));
                    }
                }
            }
        };
        // OutputPath, like everything else in the state, sees the variables as they were when
        // the state was entered: what it assigns takes effect when it is left.
        let out = match st.output_path.as_deref() {
            Some("$") => merged,
            p => self.jsonpath_select(t, st, "OutputPath", p, &merged)?,
        };
        Ok((out, vars))
    }

    /// Task/Map/Parallel got their result: process it as the state's language says, and leave.
    pub(crate) fn finish_with_result(&mut self, tid: ThreadId, mut t: Thread, result: Value) {
        let st = self.def.state(t.machine, t.state);
        match self.result_output(&mut t, st, result) {
            Ok((o, v)) => self.exit_state(tid, t, o, v),
            Err(f) => self.fail_state(tid, t, f),
        }
    }

    /// A Task's, Map's or Parallel's output from its result, and what it assigns.
    fn result_output(
        &mut self,
        t: &mut Thread,
        st: &State,
        result: Value,
    ) -> Result<(Value, Option<Map<String, Value>>), Failure> {
        if st.query_language == QueryLanguage::Jsonata {
            let b = self.jsonata_bindings(t, st, &[("result", &result)], None);
            let out = match &st.output {
                Some(o) => self.jsonata_value(t, st, o, &b, "Output")?,
                None => result.clone(),
            };
            let vars = self.assign(t, st, st.assign.as_ref(), &t.input, &[("result", &result)])?;
            return Ok((out, vars));
        }
        self.finish_jsonpath(t, st, result)
    }

    pub(crate) fn numeric_field(
        &mut self,
        t: &Thread,
        st: &State,
        f: &Option<ValueOrPath>,
        name: &str,
        input: &Value,
    ) -> Result<Option<Value>, Failure> {
        match f {
            None => Ok(None),
            Some(ValueOrPath::Value(v)) if st.query_language == QueryLanguage::Jsonata => {
                let b = self.jsonata_bindings(t, st, &[], None);
                self.jsonata_value(t, st, v, &b, name).map(Some)
            }
            Some(ValueOrPath::Value(v)) => Ok(Some(v.clone())),
            Some(ValueOrPath::Path(p)) => {
                let v = self.jsonpath_select(t, st, &format!("{name}Path"), Some(p), input)?;
                Ok(Some(v))
            }
        }
    }

    pub(crate) fn positive_seconds(
        &mut self,
        t: &Thread,
        st: &State,
        f: &Option<ValueOrPath>,
        name: &str,
        input: &Value,
    ) -> Result<Option<u64>, Failure> {
        let v = self.numeric_field(t, st, f, name, input)?;
        match v {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(self.in_state(t, st, not_valid(name, "integer", &v, f))),
            },
        }
    }
}

/// An integer, possibly negative, as a number or a numeric string.
pub(crate) fn as_integer(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        other => other.as_i64(),
    }
}

/// A non-negative integer setting, given as a number or as a string of digits (AWS accepts
/// `"1"` from a path).
pub(crate) fn as_count(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        other => other.as_u64(),
    }
}

/// A `…Path` setting whose value is not of the kind it must be (`integer`, `float`).
pub(crate) fn not_valid(
    field: &str,
    kind: &str,
    v: &Value,
    setting: &Option<ValueOrPath>,
) -> EvalError {
    let path = match setting {
        Some(ValueOrPath::Path(p)) => p.as_str(),
        _ => "",
    };
    EvalError::runtime(format!(
        "The {field}Path field refers to value \"{}\" which is not a valid {kind}: {path}",
        text_plain(v)
    ))
}

/// A value as AWS quotes it in messages: strings bare, everything else as JSON.
pub(crate) fn text_plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => to_text(other),
    }
}

/// Walks a JSON value and evaluates every `{% ... %}` string as JSONata.
pub(crate) fn jsonata_template(
    value: &Value,
    bindings: &Map<String, Value>,
    entropy: &mut dyn stepwise_asl::Entropy,
    field: &str,
) -> Result<Value, EvalError> {
    stepwise_asl::jsonata::evaluate_template(value, bindings, entropy, field)
}

#[cfg(test)]
mod variable_scope_tests {
    use crate::exec::{step, ExecutionState};
    use crate::{Event, ExecutionInfo, Status};
    use serde_json::{json, Value};
    use stepwise_asl::model::Definition;

    fn run(def: &str, input: Value) -> ExecutionState {
        let def = Definition::from_json(def).expect("valid definition");
        let info = ExecutionInfo {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:e".into(),
            name: "e".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
            state_machine_name: "m".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            start_time_ms: 0,
            redrive_count: 0,
            seed: 1,
        };
        step(&def, ExecutionState::new(info), 0, Event::Start { input }).state
    }

    /// (what, definition, expected output or Err(error name))
    #[test]
    fn scopes_of_variables_in_map_and_parallel() {
        let cases: Vec<(&str, &str, Result<Value, &str>)> = vec![
            (
                "Assign expressions all see the values from before the state",
                r#"{"StartAt":"A","States":{
                    "A":{"Type":"Pass","Assign":{"a":1},"Next":"B"},
                    "B":{"Type":"Pass","Assign":{"a":2,"b.$":"$a"},"Next":"C"},
                    "C":{"Type":"Pass","Parameters":{"a.$":"$a","b.$":"$b"},"End":true}}}"#,
                Ok(json!({"a": 2, "b": 1})),
            ),
            (
                "Map iterations read outer variables",
                r#"{"StartAt":"A","States":{
                    "A":{"Type":"Pass","Assign":{"k":10},"Next":"M"},
                    "M":{"Type":"Map","ItemProcessor":{"StartAt":"I","States":{
                        "I":{"Type":"Pass","Parameters":{"v.$":"States.MathAdd($, $k)"},"End":true}}},"End":true}}}"#,
                Ok(json!([{"v": 11}, {"v": 12}])),
            ),
            (
                "what an iteration assigns stays inside it",
                r#"{"StartAt":"M","States":{
                    "M":{"Type":"Map","ItemProcessor":{"StartAt":"I","States":{
                        "I":{"Type":"Pass","Assign":{"inner.$":"$"},"End":true}}},"Next":"After"},
                    "After":{"Type":"Pass","Parameters":{"x.$":"$inner"},"End":true}}}"#,
                Err("States.Runtime"),
            ),
            (
                "an iteration's own assignments are visible to its later states",
                r#"{"StartAt":"M","States":{
                    "M":{"Type":"Map","ItemProcessor":{"StartAt":"I","States":{
                        "I":{"Type":"Pass","Assign":{"inner.$":"$"},"Next":"J"},
                        "J":{"Type":"Pass","Parameters":{"x.$":"$inner"},"End":true}}},"End":true}}}"#,
                Ok(json!([{"x": 1}, {"x": 2}])),
            ),
            (
                "Parallel branches read outer variables; their assignments stay inside",
                r#"{"StartAt":"A","States":{
                    "A":{"Type":"Pass","Assign":{"k":"outer"},"Next":"P"},
                    "P":{"Type":"Parallel","Branches":[
                        {"StartAt":"B1","States":{"B1":{"Type":"Pass","Assign":{"k":"inner"},"Next":"B2"},
                            "B2":{"Type":"Pass","Parameters":{"k.$":"$k"},"End":true}}},
                        {"StartAt":"C1","States":{"C1":{"Type":"Pass","Parameters":{"k.$":"$k"},"End":true}}}],
                     "Next":"After"},
                    "After":{"Type":"Pass","Parameters":{"branches.$":"$","k.$":"$k"},"End":true}}}"#,
                Ok(json!({"branches": [{"k": "inner"}, {"k": "outer"}], "k": "outer"})),
            ),
            (
                "a distributed Map's iterations see no outer variables",
                r#"{"StartAt":"A","States":{
                    "A":{"Type":"Pass","Assign":{"k":10},"Next":"M"},
                    "M":{"Type":"Map","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},
                        "StartAt":"I","States":{"I":{"Type":"Pass","Parameters":{"v.$":"$k"},"End":true}}},"End":true}}}"#,
                Err("States.Runtime"),
            ),
            (
                "a state that assigns more than 256 KiB fails",
                r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"big.$":"$.big"},"End":true}}}"#,
                Err("States.DataLimitExceeded"),
            ),
            (
                "JSONata Assign reads $states.result and the old values",
                r#"{"QueryLanguage":"JSONata","StartAt":"A","States":{
                    "A":{"Type":"Pass","Assign":{"n":1},"Next":"B"},
                    "B":{"Type":"Pass","Assign":{"n":"{% $n + 1 %}","m":"{% $n %}"},"Next":"C"},
                    "C":{"Type":"Pass","Output":{"n":"{% $n %}","m":"{% $m %}"},"End":true}}}"#,
                Ok(json!({"n": 2, "m": 1})),
            ),
        ];
        for (what, def, expected) in cases {
            let input = if what.contains("256 KiB") {
                json!({"big": "x".repeat(300 * 1024)})
            } else {
                json!([1, 2])
            };
            let s = run(def, input);
            match expected {
                Ok(out) => {
                    assert_eq!(
                        s.status,
                        Status::Succeeded,
                        "{what}: {:?} {:?}",
                        s.error,
                        s.cause
                    );
                    assert_eq!(s.output, Some(out), "{what}");
                }
                Err(error) => {
                    assert_eq!(s.status, Status::Failed, "{what}");
                    assert_eq!(s.error.as_deref(), Some(error), "{what}: {:?}", s.cause);
                }
            }
        }
    }
}
