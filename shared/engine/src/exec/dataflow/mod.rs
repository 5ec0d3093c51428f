//! The data flow of a state: InputPath → Parameters/Arguments → ResultSelector → ResultPath →
//! OutputPath/Output, and Assign; the Context object and the JSONPath/JSONata evaluation.
//!
//! A state's query language is a [`Language`]: the one type that knows whether a step of the
//! data flow is a JSONPath field ([`jsonpath`]) or a JSONata expression ([`jsonata`]). The
//! state handlers ask it for each step and never branch on the language themselves.

mod jsonata;
mod jsonpath;

pub(crate) use jsonpath::undo_merge;

use crate::context::{self, StateContext};
use crate::exec::errors::Failure;
use crate::exec::state::Thread;
use crate::exec::{to_text, Engine, ThreadId, MAX_ASSIGN_BYTES};
use crate::rng::Rng;
use serde_json::{Map, Value};
use stepwise_asl::errors;
use stepwise_asl::jsonpath::AsPath;
use stepwise_asl::model::{Catcher, MapSpec, QueryLanguage, State, StateKind, ValueOrPath};
use stepwise_asl::payload::{self, ContextUse, Expression, Template};
use stepwise_asl::{EvalError, Scope};

/// What a state's assignments and outputs are: variable name to value.
pub(crate) type Vars = Option<Map<String, Value>>;

/// A query language: how each step of a state's data flow is evaluated in it.
pub(crate) trait Language {
    /// The state's effective input: InputPath and Parameters, or Arguments.
    fn effective_input(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        token: Option<&str>,
    ) -> Result<Value, Failure>;

    /// The input the state's own fields read (Choice rules, Wait paths): after InputPath, or the
    /// input itself.
    fn selected_input(&self, e: &mut Engine<'_>, t: &Thread, st: &State) -> Result<Value, Failure>;

    /// A field's value when it is an expression of this language (`None`: a literal, to be used
    /// as it is).
    fn expression(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        value: &Value,
        field: &str,
    ) -> Result<Option<Value>, Failure>;

    /// A payload template evaluated on the state's input (Credentials).
    fn template(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        template: &Template,
        field: &str,
        token: Option<&str>,
    ) -> Result<Value, Failure>;

    /// The output of a state that has no result (Wait, Succeed).
    fn plain_output(&self, e: &mut Engine<'_>, t: &Thread, st: &State) -> Result<Value, Failure>;

    /// A Pass state's output (from `Result` when it has one) and what it assigns.
    fn pass_output(
        &self,
        e: &mut Engine<'_>,
        t: &mut Thread,
        st: &State,
        result: Option<&Value>,
    ) -> Result<(Value, Vars), Failure>;

    /// A Task's, Map's or Parallel's output from its result, and what it assigns.
    fn result_output(
        &self,
        e: &mut Engine<'_>,
        t: &mut Thread,
        st: &State,
        result: Value,
    ) -> Result<(Value, Vars), Failure>;

    /// A Choice's output, once the rule (or Default) with `output` was chosen and `vars`
    /// assigned.
    fn choice_output(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        effective: Value,
        output: Option<&Value>,
        vars: &Vars,
    ) -> Result<Value, Failure>;

    /// A catcher's output and what it assigns, from the error output `{"Error", "Cause"}`.
    fn catch_output(
        &self,
        e: &mut Engine<'_>,
        t: &mut Thread,
        st: &State,
        c: &Catcher,
        error_output: Value,
    ) -> Result<(Value, Vars), Failure>;

    /// The values of an `Assign` object's fields (`assign` is the whole object), before the
    /// size check.
    #[allow(clippy::too_many_arguments)] // the Assign object, its input and bindings
    fn assigned(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        fields: &Map<String, Value>,
        assign: &Template,
        input: &Value,
        extra: &[(&str, &Value)],
    ) -> Result<Map<String, Value>, Failure>;

    /// A Map's items, from its effective input: ItemsPath or Items.
    fn map_items(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        spec: &MapSpec,
        effective: &Value,
    ) -> Result<Vec<Value>, Failure>;

    /// One Map iteration's input from its ItemSelector.
    #[allow(clippy::too_many_arguments)] // the selector, the Map's input and the item
    fn item_selector(
        &self,
        e: &mut Engine<'_>,
        t: &Thread,
        st: &State,
        selector: &Template,
        effective: &Value,
        index: usize,
        item: &Value,
    ) -> Result<Value, Failure>;
}

/// The language of a state: the one place the JSONPath/JSONata split is decided.
pub(crate) fn language(st: &State) -> &'static dyn Language {
    match st.query_language {
        QueryLanguage::Jsonata => &jsonata::Jsonata,
        QueryLanguage::JsonPath => &jsonpath::JsonPath,
    }
}

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
        // TestState's `context` stands for the whole Context object of the state it tests.
        if let Some(ctx) = self
            .s
            .inspection
            .as_ref()
            .and_then(|i| i.context.as_ref())
            .filter(|_| t.parent.is_none())
        {
            return ctx.clone();
        }
        // TestState (the top-level thread of an inspection): as AWS answers it, the state by
        // the name TestState gives it, RetryCount for every state that may retry, and no
        // RedriveCount (a test is never redriven).
        let tested = self.s.inspection.as_ref().filter(|_| t.parent.is_none());
        let retries = matches!(
            st.kind,
            StateKind::Task { .. } | StateKind::Map(_) | StateKind::Parallel { .. }
        ) && tested.is_some();
        let mut ctx = context::build(
            &self.s.info,
            include_input.then_some(&self.s.input),
            &StateContext {
                name: tested
                    .and_then(|i| i.state_name.as_deref())
                    .unwrap_or(&st.name),
                entered_ms: t.entered_ms,
                retry_count: Some(t.retries.iter().sum())
                    .filter(|n| *n > 0 || retries || matches!(st.kind, StateKind::Task { .. })),
                task_token: token,
                map_item,
            },
        );
        if tested.is_some() {
            if let Some(Value::Object(x)) = ctx.get_mut("Execution") {
                x.remove("RedriveCount");
            }
        }
        ctx
    }

    /// Prefixes a failure's cause as AWS does for errors raised while evaluating a state.
    pub(crate) fn in_state(&self, t: &Thread, st: &State, e: EvalError) -> Failure {
        let evaluation = e.error == errors::QUERY_EVALUATION_ERROR;
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
        template: &Template,
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
        template: &Template,
        input: &Value,
        token: Option<&str>,
        map_item: Option<(usize, &Value)>,
    ) -> Result<Value, Failure> {
        let (ctx, reuse) = self.template_context(t, st, template, token, map_item);
        let scope = Scope {
            input,
            context: &ctx,
            variables: &t.variables,
        };
        let mut rng = Rng(&mut self.s.rng);
        let out = template.evaluate(&scope, &mut rng);
        if reuse {
            self.map_context = ctx;
        }
        out.map_err(|e| self.in_state(t, st, e))
    }

    /// A payload template on the thread's input, which nothing reads after it: values the
    /// template only passes on are moved out of the input ([`Template::evaluate_taking`]).
    pub(crate) fn jsonpath_template_taking(
        &mut self,
        t: &mut Thread,
        st: &State,
        template: &Template,
    ) -> Result<Value, Failure> {
        let map_item = t.map_item.as_ref().map(|(i, v)| (*i, v));
        let (ctx, reuse) = self.template_context(t, st, template, None, map_item);
        let mut rng = Rng(&mut self.s.rng);
        let out = template.evaluate_taking(&mut t.input, &ctx, &t.variables, &mut rng);
        if reuse {
            self.map_context = ctx;
        }
        out.map_err(|e| self.in_state(t, st, e))
    }

    /// The Context object a template reads (only as much of it as it reads), and whether it is
    /// the Map's reused one (to be given back).
    fn template_context(
        &mut self,
        t: &Thread,
        st: &State,
        template: &Template,
        token: Option<&str>,
        map_item: Option<(usize, &Value)>,
    ) -> (Value, bool) {
        let reuse = template.context_use() == ContextUse::MapItem
            && self.s.inspection.is_none()
            && map_item.is_some();
        let ctx = match template.context_use() {
            ContextUse::Nothing => Value::Null,
            _ if reuse => {
                let mut ctx = std::mem::take(&mut self.map_context);
                context::fill_map_item(&mut ctx, map_item);
                ctx
            }
            // TestState may stand a whole Context object of its own for the real one.
            ContextUse::MapItem if self.s.inspection.is_none() => context::map_only(map_item),
            need => self.context_with(t, st, token, map_item, need == ContextUse::Everything),
        };
        (ctx, reuse)
    }

    /// A field that takes a reference path or an intrinsic function call (ErrorPath, CausePath).
    pub(crate) fn path_field(
        &mut self,
        t: &Thread,
        st: &State,
        field: &str,
        expr: &Expression,
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
        expr.evaluate(field, &scope, &mut rng)
            .map_err(|e| self.in_state(t, st, e))
    }

    /// [`Self::jsonpath_select`] without copying what a definite path of the input or the
    /// variables finds (most often the whole input, InputPath `$`).
    pub(crate) fn jsonpath_select_borrowed<'v, P: AsPath + ?Sized>(
        &self,
        t: &'v Thread,
        st: &State,
        field: &str,
        path: Option<&P>,
        input: &'v Value,
    ) -> Result<std::borrow::Cow<'v, Value>, Failure> {
        match path {
            Some(p) if p.text() == "$" => Ok(std::borrow::Cow::Borrowed(input)),
            Some(p) if !p.text().starts_with("$$") => {
                let scope = Scope {
                    input,
                    context: &Value::Null,
                    variables: &t.variables,
                };
                payload::select_borrowed(field, Some(p), &scope)
                    .map_err(|e| self.in_state(t, st, e))
            }
            _ => self
                .jsonpath_select(t, st, field, path, input)
                .map(std::borrow::Cow::Owned),
        }
    }

    pub(crate) fn jsonpath_select<P: AsPath + ?Sized>(
        &self,
        t: &Thread,
        st: &State,
        field: &str,
        path: Option<&P>,
        input: &Value,
    ) -> Result<Value, Failure> {
        if path.is_some_and(|p| p.text() == "$") {
            return Ok(input.clone());
        }
        let ctx = match path {
            Some(p) if p.text().starts_with("$$") => self.context(t, st, None),
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
        assign: Option<&Template>,
        input: &Value,
        extra: &[(&str, &Value)],
    ) -> Result<Option<Map<String, Value>>, Failure> {
        let Some(assign) = assign else {
            return Ok(None);
        };
        let Value::Object(fields) = assign.source() else {
            return Ok(None);
        };
        let out = language(st).assigned(self, t, st, fields, assign, input, extra)?;
        // AWS bounds what one state may assign.
        let total: usize = out.values().map(|v| to_text(v).len()).sum();
        if total > MAX_ASSIGN_BYTES {
            return Err(self.in_state(
                t,
                st,
                EvalError {
                    error: errors::DATA_LIMIT_EXCEEDED.into(),
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
        language(st).effective_input(self, t, st, token)
    }

    /// Task/Map/Parallel got their result: process it as the state's language says, and leave.
    pub(crate) fn finish_with_result(&mut self, tid: ThreadId, mut t: Box<Thread>, result: Value) {
        let st = self.def.state(t.machine, t.state);
        match language(st).result_output(self, &mut t, st, result) {
            Ok((o, v)) => self.exit_state(tid, t, o, v),
            Err(f) => self.fail_state(tid, t, f),
        }
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
            Some(ValueOrPath::Value(v)) => match language(st).expression(self, t, st, v, name)? {
                Some(evaluated) => Ok(Some(evaluated)),
                None => Ok(Some(v.clone())),
            },
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
mod variable_scope_tests;
