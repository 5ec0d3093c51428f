//! Payload templates and `…Path` fields compiled once when the definition loads.
//!
//! A [`Template`] keeps its JSON (JSONata reads it as it is, and the engine scans it for `$$`)
//! and a tree in which every `key.$` value is already a compiled path or intrinsic call. What
//! fails to compile is kept and reported when the template is evaluated, with the message
//! evaluating the text would give, so errors surface at the same moment as before.

use crate::intrinsics::{self, Intrinsic};
use crate::jsonpath::{self, AsPath, JsonPath, NotFound};
use crate::{Entropy, EvalError, Scope};
use serde_json::{Map, Value};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A reference path or an intrinsic function call (the value of a `key.$` field, `ErrorPath`,
/// `CausePath`, `TimeoutSecondsPath`, ...), compiled.
#[derive(Debug, Clone)]
pub struct Expression {
    // Always set: its text is the field's text, and `…Path` settings select with it.
    path: JsonPath,
    // Set when the text is an intrinsic call: the call tree, or why it does not parse.
    intrinsic: Option<Arc<Result<Intrinsic, String>>>,
}

impl Expression {
    /// Compiles `text` as an intrinsic call when it looks like one, else as a path.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let intrinsic = intrinsics::is_intrinsic(&text).then(|| Arc::new(Intrinsic::parse(&text)));
        Self {
            path: JsonPath::new(text),
            intrinsic,
        }
    }

    /// The text as written in the definition.
    pub fn as_str(&self) -> &str {
        self.path.as_str()
    }

    /// The value in `scope`; `field` (e.g. `value.$`, `ErrorPath`) names it in error messages.
    pub fn evaluate(
        &self,
        field: &str,
        scope: &Scope,
        entropy: &mut dyn Entropy,
    ) -> Result<Value, EvalError> {
        if let Some(call) = &self.intrinsic {
            return match &**call {
                Ok(call) => call.eval(field, scope, entropy),
                Err(e) => Err(EvalError::intrinsic(e.clone())),
            };
        }
        match jsonpath::select(&self.path, scope) {
            Ok(Ok(v)) => Ok(v.into_owned()),
            Ok(Err(NotFound(_))) => Err(EvalError::runtime(format!(
                "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                self.as_str(),
                scope.input
            ))),
            Err(e) => Err(EvalError::runtime(format!(
                "The value for the field '{field}' must be a valid JSONPath or intrinsic function: {e}"
            ))),
        }
    }
}

impl PartialEq for Expression {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Deref for Expression {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Expression {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl AsPath for Expression {
    fn text(&self) -> &str {
        self.path.text()
    }
    fn compiled(&self) -> Result<std::borrow::Cow<'_, jsonpath::Path>, jsonpath::PathSyntaxError> {
        self.path.compiled()
    }
}

/// A payload template (`Parameters`, `ResultSelector`, `ItemSelector`, `Credentials`,
/// `Assign`): its JSON and its compiled form.
#[derive(Debug, Clone)]
pub struct Template {
    source: Value,
    // Shared: definitions are cloned, and a compiled template never changes.
    compiled: Arc<Node>,
    context_use: ContextUse,
}

/// How much of the Context object (`$$`) a template's strings read: the engine builds no more
/// of it than that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ContextUse {
    /// No `$$` at all.
    Nothing,
    /// Only `$$.Map...` paths (an ItemSelector's `$$.Map.Item.Value` and `.Index`): the engine
    /// builds just that part, once per iteration.
    MapItem,
    /// `$$` paths that do not reach `Execution.Input`.
    WithoutInput,
    /// `$$`, `$$.Execution` or `$$.Execution.Input...`.
    Everything,
}

/// A compiled template value.
#[derive(Debug)]
enum Node {
    /// A part with no `key.$` field at any depth: copied as it is.
    Literal(Value),
    /// An object with a `key.$` field somewhere: output keys and their values, in order.
    Object(Vec<(String, Node)>),
    /// An array with a `key.$` field somewhere in an element.
    Array(Vec<Node>),
    /// A `key.$` field: its key (with `.$`, as messages name it) and its expression.
    Field(String, Field),
}

/// The value of a `key.$` field.
#[derive(Debug)]
enum Field {
    /// A path or intrinsic call.
    Expression(Expression),
    /// Not a string: an error when evaluated.
    NotString(Value),
}

impl Template {
    /// Compiles a template; what does not compile fails when evaluated.
    pub fn new(source: Value) -> Self {
        let compiled = Arc::new(compile(&source));
        let context_use = context_use(&source);
        Self {
            source,
            compiled,
            context_use,
        }
    }

    /// What the template reads of the Context object.
    pub fn context_use(&self) -> ContextUse {
        self.context_use
    }

    /// The template as written in the definition.
    pub fn source(&self) -> &Value {
        &self.source
    }

    /// Evaluates the template: each `key.$` field takes the value of its path or intrinsic call,
    /// under the key without `.$` (see [`super::evaluate_template`]).
    pub fn evaluate(&self, scope: &Scope, entropy: &mut dyn Entropy) -> Result<Value, EvalError> {
        evaluate(&self.compiled, scope, entropy)
    }
}

impl Deref for Template {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.source
    }
}

impl From<Value> for Template {
    fn from(source: Value) -> Self {
        Self::new(source)
    }
}

/// What the strings of `v` read of the Context object (literal strings too: a cheap, safe
/// over-estimate).
fn context_use(v: &Value) -> ContextUse {
    match v {
        Value::String(s) => {
            let mut need = ContextUse::Nothing;
            for (i, _) in s.match_indices("$$") {
                let rest = &s[i + 2..];
                let path: &str = rest.split([',', ')', ' ']).next().unwrap_or("");
                if path.is_empty()
                    || path == ".Execution"
                    || path.starts_with(".Execution.Input")
                    || path.starts_with(".Execution[")
                    || path.starts_with('[')
                {
                    return ContextUse::Everything;
                }
                let part = if path == ".Map" || path.starts_with(".Map.") {
                    ContextUse::MapItem
                } else {
                    ContextUse::WithoutInput
                };
                need = need.max(part);
            }
            need
        }
        Value::Array(a) => a.iter().map(context_use).fold(ContextUse::Nothing, max_use),
        Value::Object(o) => o
            .values()
            .map(context_use)
            .fold(ContextUse::Nothing, max_use),
        _ => ContextUse::Nothing,
    }
}

fn max_use(a: ContextUse, b: ContextUse) -> ContextUse {
    a.max(b)
}

/// True when `v` holds a `key.$` field at some depth.
fn has_field(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| k.ends_with(".$") || has_field(v)),
        Value::Array(a) => a.iter().any(has_field),
        _ => false,
    }
}

fn compile(v: &Value) -> Node {
    if !has_field(v) {
        return Node::Literal(v.clone());
    }
    match v {
        Value::Object(m) => Node::Object(
            m.iter()
                .map(|(k, v)| match k.strip_suffix(".$") {
                    Some(name) => {
                        let field = match v {
                            Value::String(s) => Field::Expression(Expression::new(s.as_str())),
                            other => Field::NotString(other.clone()),
                        };
                        (name.to_string(), Node::Field(k.clone(), field))
                    }
                    None => (k.clone(), compile(v)),
                })
                .collect(),
        ),
        Value::Array(a) => Node::Array(a.iter().map(compile).collect()),
        other => Node::Literal(other.clone()),
    }
}

/// Compiles and evaluates `template` (text given at evaluation rather than at load).
pub(super) fn evaluate_value(
    template: &Value,
    scope: &Scope,
    entropy: &mut dyn Entropy,
) -> Result<Value, EvalError> {
    evaluate(&compile(template), scope, entropy)
}

fn evaluate(node: &Node, scope: &Scope, entropy: &mut dyn Entropy) -> Result<Value, EvalError> {
    match node {
        Node::Literal(v) => Ok(v.clone()),
        Node::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (name, node) in fields {
                out.insert(name.clone(), evaluate(node, scope, entropy)?);
            }
            Ok(Value::Object(out))
        }
        Node::Array(a) => a
            .iter()
            .map(|n| evaluate(n, scope, entropy))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Node::Field(key, Field::Expression(e)) => e.evaluate(key, scope, entropy),
        Node::Field(key, Field::NotString(v)) => Err(EvalError::runtime(format!(
            "The value for the field '{key}' must be a STRING that contains a JSONPath or an intrinsic function, but was {v}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Zero;
    impl Entropy for Zero {
        fn next_u64(&mut self) -> u64 {
            0
        }
    }

    /// What a `key.$` field gave when its text was parsed at every evaluation.
    fn by_text(key: &str, expr: &str, scope: &Scope) -> Result<Value, EvalError> {
        if intrinsics::is_intrinsic(expr) {
            return intrinsics::evaluate_field(expr, key, scope, &mut Zero);
        }
        match jsonpath::select(expr, scope) {
            Ok(Ok(v)) => Ok(v.into_owned()),
            Ok(Err(_)) => Err(EvalError::runtime(format!(
                "The JSONPath '{expr}' specified for the field '{key}' could not be found in the input '{}'",
                scope.input
            ))),
            Err(e) => Err(EvalError::runtime(format!(
                "The value for the field '{key}' must be a valid JSONPath or intrinsic function: {e}"
            ))),
        }
    }

    #[test]
    fn compiled_expressions_evaluate_as_their_text() {
        let input = json!({"a": [1, 2], "s": "x"});
        let vars: Map<String, Value> = Map::new();
        let scope = Scope {
            input: &input,
            context: &Value::Null,
            variables: &vars,
        };
        for text in [
            "$.a[1]",
            "$.nope",
            "$.a[",
            "nope",
            "States.ArrayLength($.a)",
            "States.Format('{}', $.s)",
            "States.Format('{}', $.nope)",
            "States.ArrayLength($.s)",
            "States.Nope()",
            "States.Format('{}'",
            "States.Format('{}', $.a[)",
            "States.UUID()",
        ] {
            let compiled = Expression::new(text);
            assert_eq!(compiled, Expression::from(text));
            assert_eq!(
                compiled.evaluate("v.$", &scope, &mut Zero),
                by_text("v.$", text, &scope),
                "{text}"
            );
        }
    }

    #[test]
    fn context_use_is_what_templates_reference() {
        for (t, n) in [
            (json!({"a.$": "$.x"}), ContextUse::Nothing),
            (json!({"a.$": "$$.Map.Item.Value"}), ContextUse::MapItem),
            (
                json!({"a.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"}),
                ContextUse::MapItem,
            ),
            (
                json!({"a.$": "$$.Map.Item.Value", "n.$": "$$.State.Name"}),
                ContextUse::WithoutInput,
            ),
            (json!({"a.$": "$$.MapX"}), ContextUse::WithoutInput),
            (json!({"a.$": "$$"}), ContextUse::Everything),
            (
                json!({"a": {"b.$": "$$.Execution.Input.k"}}),
                ContextUse::Everything,
            ),
            (
                json!({"a.$": "States.Format('{}', $$.Execution)"}),
                ContextUse::Everything,
            ),
            (json!({"a.$": "$$.Execution.Id"}), ContextUse::WithoutInput),
        ] {
            assert_eq!(Template::new(t.clone()).context_use(), n, "{t}");
        }
    }

    #[test]
    fn template_errors_wait_for_evaluation() {
        let input = json!({"a": 1});
        let vars: Map<String, Value> = Map::new();
        let scope = Scope {
            input: &input,
            context: &Value::Null,
            variables: &vars,
        };
        let tpl = Template::new(json!({"ok": {"k.$": "$.a"}, "bad": [{"v.$": "$.["}]}));
        assert_eq!(tpl.source()["ok"]["k.$"], "$.a");
        let got = tpl.evaluate(&scope, &mut Zero);
        assert_eq!(
            got,
            Err(by_text("v.$", "$.[", &scope).expect_err("a syntax error"))
        );
        let literal = json!({"a": [1, {"b": "$.x"}], "c": null});
        assert_eq!(
            Template::new(literal.clone()).evaluate(&scope, &mut Zero),
            Ok(literal)
        );
        let not_string = Template::new(json!({"v.$": 5}));
        assert_eq!(
            not_string.evaluate(&scope, &mut Zero).map_err(|e| e.cause),
            Err("The value for the field 'v.$' must be a STRING that contains a JSONPath or an intrinsic function, but was 5".to_string())
        );
    }
}
