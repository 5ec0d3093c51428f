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
use smallvec::SmallVec;
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
    // Whether a field is [`Field::Movable`].
    movable: bool,
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
    /// An object with a `key.$` field somewhere: output keys and their values, in order; and,
    /// when its keys are distinct, the output object with null values (see [`object`]).
    Object(Vec<(String, Node)>, Option<Map<String, Value>>),
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
    /// A plain path into the input (`$`, `$.a.b`: its keys) that no other such field's path
    /// reaches into or out of: [`Template::evaluate_taking`] moves its value out of the input
    /// instead of copying it.
    Movable(Expression, Vec<String>),
}

impl Template {
    /// Compiles a template; what does not compile fails when evaluated.
    pub fn new(source: Value) -> Self {
        let mut compiled = compile(&source);
        let movable = mark_movable(&mut compiled);
        let compiled = Arc::new(compiled);
        let context_use = context_use(&source);
        Self {
            source,
            compiled,
            context_use,
            movable,
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

    /// Evaluates the template as [`Template::evaluate`] does, on an input nobody reads
    /// afterwards: the value of a field that is a plain path into it (`"keep.$": "$.keep"`) is
    /// moved out of it, not copied (copying and then dropping it was a tenth of what a Pass
    /// state cost); an input object with the output's keys in its order becomes the output.
    /// Fields are evaluated, and fail, in the same order and with the same errors and
    /// randomness; the input is changed only once all have succeeded.
    pub fn evaluate_taking(
        &self,
        input: &mut Value,
        context: &Value,
        variables: &Map<String, Value>,
        entropy: &mut dyn Entropy,
    ) -> Result<Value, EvalError> {
        let scope = Scope {
            input,
            context,
            variables,
        };
        let reuse = reusable(&self.compiled, scope.input);
        if !self.movable && !reuse {
            return evaluate(&self.compiled, &scope, entropy);
        }
        // On the stack for a template of up to eight fields: two allocations a state otherwise.
        let mut values: FieldValues = SmallVec::new();
        let mut moves: FieldMoves = SmallVec::new();
        evaluate_fields(&self.compiled, &scope, entropy, &mut values, &mut moves)?;
        // Iterated and drained in place: moving the vectors would copy their inline buffers.
        for &(slot, keys) in &moves {
            // Found when the fields were evaluated, and no other move reaches into it.
            let taken = walk_mut(input, keys).map(std::mem::take).ok_or_else(|| {
                EvalError::runtime(format!("the input changed under the path {keys:?}"))
            })?;
            values[slot] = Some(taken);
        }
        let mut values = values.drain(..);
        match (&*self.compiled, input) {
            // The input object has the output's keys in its order (a chain of states passing
            // one shape on): its values are replaced in place, so the output costs no new map,
            // no copied keys, and the input's map is not dropped.
            (Node::Object(fields, _), Value::Object(map)) if reuse => {
                for (slot, (_, n)) in map.values_mut().zip(fields) {
                    match (n, &mut *slot) {
                        // A literal string over a string: its buffer is reused.
                        (Node::Literal(Value::String(text)), Value::String(old)) => {
                            old.clear();
                            old.push_str(text);
                        }
                        _ => *slot = build(n, &mut values),
                    }
                }
                Ok(Value::Object(std::mem::take(map)))
            }
            _ => Ok(build(&self.compiled, &mut values)),
        }
    }
}

/// The keys of a plain path into the input: `$` (none) or `$.a.b`, keys without the characters
/// that make a path more than a walk through objects.
fn input_keys(e: &Expression) -> Option<Vec<String>> {
    if e.intrinsic.is_some() {
        return None;
    }
    let rest = e.as_str().strip_prefix('$')?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    rest.strip_prefix('.')?
        .split('.')
        .map(|key| {
            let plain = !key.is_empty()
                && !key.bytes().any(|c| {
                    matches!(
                        c,
                        b'[' | b']'
                            | b'*'
                            | b'('
                            | b')'
                            | b'?'
                            | b'@'
                            | b' '
                            | b'\''
                            | b'"'
                            | b'\t'
                            | b'$'
                    )
                });
            plain.then(|| key.to_string())
        })
        .collect()
}

/// Marks the fields whose values may be moved ([`Field::Movable`]): plain input paths none of
/// which is another's prefix (moving `$.a` would leave nothing for `$.a.b`); whether any is.
fn mark_movable(root: &mut Node) -> bool {
    fn paths(n: &Node, out: &mut Vec<Vec<String>>) {
        match n {
            Node::Object(fields, _) => fields.iter().for_each(|(_, n)| paths(n, out)),
            Node::Array(a) => a.iter().for_each(|n| paths(n, out)),
            Node::Field(_, Field::Expression(e)) => out.extend(input_keys(e)),
            _ => {}
        }
    }
    fn mark(n: &mut Node, all: &[Vec<String>]) -> bool {
        match n {
            Node::Object(fields, _) => fields.iter_mut().fold(false, |m, (_, n)| mark(n, all) | m),
            Node::Array(a) => a.iter_mut().fold(false, |m, n| mark(n, all) | m),
            Node::Field(_, field) => {
                let Field::Expression(e) = field else {
                    return false;
                };
                let Some(keys) = input_keys(e) else {
                    return false;
                };
                let overlapping = all
                    .iter()
                    .filter(|other| other.starts_with(&keys) || keys.starts_with(other))
                    .count();
                // Itself, and no other.
                if overlapping != 1 {
                    return false;
                }
                *field = Field::Movable(e.clone(), keys);
                true
            }
            Node::Literal(_) => false,
        }
    }
    let mut all = Vec::new();
    paths(root, &mut all);
    mark(root, &all)
}

/// Whether an object template's output can be built in `input`'s own map: `input` is an object
/// with the template's keys, in its order (the template's keys are distinct).
fn reusable(node: &Node, input: &Value) -> bool {
    match (node, input) {
        (Node::Object(fields, Some(_)), Value::Object(map)) => {
            map.len() == fields.len() && map.keys().zip(fields).all(|(k, (name, _))| k == name)
        }
        _ => false,
    }
}

/// The value at a path of member names (`$.a.b` as `["a", "b"]`), through objects only: a
/// movable field's path, a ResultPath of member names.
#[inline]
pub fn walk<'a>(mut v: &'a Value, keys: &[String]) -> Option<&'a Value> {
    for k in keys {
        v = jsonpath::member(v.as_object()?, k)?;
    }
    Some(v)
}

/// [`walk`], to change what is there.
#[inline]
pub fn walk_mut<'a>(mut v: &'a mut Value, keys: &[String]) -> Option<&'a mut Value> {
    for k in keys {
        v = jsonpath::member_mut(v.as_object_mut()?, k)?;
    }
    Some(v)
}

/// [`Template::evaluate_taking`]'s first pass: every field in order, evaluated into `values`,
/// except a movable one whose value is there: its slot is left empty and noted in `moves`.
fn evaluate_fields<'n>(
    node: &'n Node,
    scope: &Scope,
    entropy: &mut dyn Entropy,
    values: &mut FieldValues,
    moves: &mut FieldMoves<'n>,
) -> Result<(), EvalError> {
    match node {
        Node::Literal(_) => {}
        Node::Object(fields, _) => {
            for (_, n) in fields {
                evaluate_fields(n, scope, entropy, values, moves)?;
            }
        }
        Node::Array(a) => {
            for n in a {
                evaluate_fields(n, scope, entropy, values, moves)?;
            }
        }
        Node::Field(_, Field::Movable(_, keys)) if walk(scope.input, keys).is_some() => {
            moves.push((values.len(), keys));
            values.push(None);
        }
        Node::Field(..) => values.push(Some(evaluate(node, scope, entropy)?)),
    }
    Ok(())
}

/// The fields' values of one [`Template::evaluate_taking`], in order (`None`: to be moved).
type FieldValues = SmallVec<[Option<Value>; 8]>;
/// The fields whose values are moved out of the input: their slots and paths' keys.
type FieldMoves<'n> = SmallVec<[(usize, &'n [String]); 8]>;

/// [`Template::evaluate_taking`]'s last pass: the output, each field's value taken in order.
fn build(node: &Node, values: &mut impl Iterator<Item = Option<Value>>) -> Value {
    match node {
        Node::Literal(v) => v.clone(),
        Node::Object(fields, skeleton) => {
            let built: Result<Value, std::convert::Infallible> =
                object(fields, skeleton, |n| Ok(build(n, values)));
            built.unwrap_or_default()
        }
        Node::Array(a) => Value::Array(a.iter().map(|n| build(n, values)).collect()),
        Node::Field(..) => values.next().flatten().unwrap_or(Value::Null),
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
        Value::Object(m) => {
            let fields: Vec<(String, Node)> = m
                .iter()
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
                .collect();
            let skeleton: Map<String, Value> = fields
                .iter()
                .map(|(name, _)| (name.clone(), Value::Null))
                .collect();
            // `a` and `a.$` are one key: the object is then built key by key.
            let distinct = skeleton.len() == fields.len();
            Node::Object(fields, distinct.then_some(skeleton))
        }
        Value::Array(a) => Node::Array(a.iter().map(compile).collect()),
        other => Node::Literal(other.clone()),
    }
}

/// An object node's output, each field's value given by `value_of` in order: a copy of the
/// skeleton filled in place when there is one (a copy keeps the keys' hashes: inserting them
/// hashed each key with SipHash at every evaluation), else built key by key.
fn object<E>(
    fields: &[(String, Node)],
    skeleton: &Option<Map<String, Value>>,
    mut value_of: impl FnMut(&Node) -> Result<Value, E>,
) -> Result<Value, E> {
    match skeleton {
        Some(skeleton) => {
            let mut out = skeleton.clone();
            for (slot, (_, n)) in out.values_mut().zip(fields) {
                *slot = value_of(n)?;
            }
            Ok(Value::Object(out))
        }
        None => {
            let mut out = Map::with_capacity(fields.len());
            for (name, n) in fields {
                out.insert(name.clone(), value_of(n)?);
            }
            Ok(Value::Object(out))
        }
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
        Node::Object(fields, skeleton) => {
            object(fields, skeleton, |n| evaluate(n, scope, entropy))
        }
        Node::Array(a) => a
            .iter()
            .map(|n| evaluate(n, scope, entropy))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Node::Field(key, Field::Expression(e) | Field::Movable(e, _)) => {
            e.evaluate(key, scope, entropy)
        }
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

    struct Counter(u64);
    impl Entropy for Counter {
        fn next_u64(&mut self) -> u64 {
            self.0 += 1;
            self.0
        }
    }

    /// `source` evaluated on a copy of `input` taken, checked to give what evaluating on `input`
    /// gives (values, errors, randomness): what it gave and what it left of the copy.
    fn taken_as_evaluated(
        source: &Value,
        input: &Value,
        ctx: &Value,
        vars: &Map<String, Value>,
    ) -> (Result<Value, EvalError>, Value) {
        let t = Template::new(source.clone());
        let scope = Scope {
            input,
            context: ctx,
            variables: vars,
        };
        let want = t.evaluate(&scope, &mut Counter(0));
        let mut taken = input.clone();
        let got = t.evaluate_taking(&mut taken, ctx, vars, &mut Counter(0));
        assert_eq!(got, want, "{source}");
        (got, taken)
    }

    /// Taking the input gives what evaluating on it gives (values, errors, randomness), and
    /// moves out of it exactly the values of plain paths no other field's path overlaps.
    #[test]
    fn evaluating_on_a_taken_input_is_evaluating_on_it() {
        let input = json!({"n": 1, "keep": {"a": [1, 2, 3]}, "s": "x", "o": {"p": {"q": 2}},
                           "arr": [{"k": 1}], "weird key": 3});
        let vars: Map<String, Value> = json!({"v": {"w": 5}})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let ctx = json!({"Execution": {"Name": "e"}});
        // (template, the input's paths (keys) left null after it, if it succeeds)
        let cases: Vec<(Value, Vec<Vec<&str>>)> = vec![
            (
                json!({"n.$": "States.MathAdd($.n, 1)", "tag": "t", "keep.$": "$.keep"}),
                vec![vec!["keep"]],
            ),
            (json!({"all.$": "$"}), vec![vec![]]),
            (json!({"all.$": "$", "n.$": "$.n"}), vec![]),
            (json!({"a.$": "$.o", "b.$": "$.o.p"}), vec![]),
            (json!({"a.$": "$.o.p", "b.$": "$.o.p"}), vec![]),
            (
                json!({"a.$": "$.o.p.q", "b.$": "$.keep", "c": {"d.$": "$.s"}, "e": [{"f.$": "$.n"}, 1]}),
                vec![vec!["o", "p", "q"], vec!["keep"], vec!["s"], vec!["n"]],
            ),
            (
                json!({"a.$": "$.arr[0]", "b.$": "$['s']", "c.$": "$$.Execution.Name", "d.$": "$v.w"}),
                vec![],
            ),
            (
                json!({"u1.$": "States.UUID()", "k.$": "$.keep", "u2.$": "States.UUID()"}),
                vec![vec!["keep"]],
            ),
            (json!({"k.$": "$.keep", "bad.$": "$.nope"}), vec![]),
            (json!({"bad.$": "$.nope", "k.$": "$.keep"}), vec![]),
            (json!({"k.$": "$.keep", "bad.$": 3}), vec![]),
            (
                json!({"k.$": "$.keep", "f.$": "States.Format('{}', $.keep)"}),
                vec![vec!["keep"]],
            ),
            (json!({"k.$": "$.keep.a.b"}), vec![]),
            (json!({"k.$": "$.n.x"}), vec![]),
            (json!({"k.$": "$.weird key"}), vec![]),
            (json!([{"k.$": "$.keep"}]), vec![vec!["keep"]]),
            (json!({"b": 0, "a": 1, "a.$": "$.keep"}), vec![vec!["keep"]]),
        ];
        for (source, moved) in cases {
            let (got, taken) = taken_as_evaluated(&source, &input, &ctx, &vars);
            let mut left = input.clone();
            if got.is_ok() {
                for keys in &moved {
                    let mut v = &mut left;
                    for k in keys {
                        v = &mut v[*k];
                    }
                    *v = Value::Null;
                }
            }
            assert_eq!(taken, left, "what {source} left of the input");
        }
    }

    /// An input object with the template's keys in its order is where the output is built:
    /// the output is what evaluating on the input gives (values, errors, randomness), and the
    /// input is left empty once all fields succeeded, whole when one failed.
    #[test]
    fn an_input_of_the_output_s_keys_holds_the_output() {
        let input = json!({"n": 1, "keep": {"a": [1, 2, 3]}, "s": "x", "o": {"p": {"q": 2}}});
        let vars = Map::new();
        let ctx = Value::Null;
        let cases = [
            // Movable fields and a literal.
            json!({"n.$": "States.MathAdd($.n, 1)", "keep.$": "$.keep", "s": "t", "o.$": "$.o.p"}),
            // Overlapping paths: nothing movable, evaluated before any value is replaced.
            json!({"n.$": "$.keep", "keep.$": "$.keep.a", "s.$": "$.n", "o.$": "$"}),
            // A field that reads what an earlier field's slot held.
            json!({"n.$": "$.s", "keep.$": "$.n", "s.$": "$.keep", "o": {"x.$": "$.o"}}),
            json!({"n.$": "States.UUID()", "keep.$": "$.keep", "s.$": "States.UUID()", "o": 1}),
            // Failures leave the input whole.
            json!({"n.$": "$.keep", "keep.$": "$.nope", "s": 1, "o": 2}),
            json!({"n.$": "$.n", "keep.$": "$.keep", "s": 1, "o.$": 3}),
            // The same keys in another order, fewer keys: built anew.
            json!({"keep.$": "$.keep", "n.$": "$.n", "s": 1, "o": 2}),
            json!({"n.$": "$.n", "keep.$": "$.keep", "s": 1}),
        ];
        for (i, source) in cases.into_iter().enumerate() {
            let (got, taken) = taken_as_evaluated(&source, &input, &ctx, &vars);
            match (&got, i) {
                (Ok(_), 0..=3) => assert_eq!(taken, json!({}), "what {source} left"),
                (Err(_), _) => assert_eq!(taken, input, "what {source} left"),
                (Ok(_), _) => assert_ne!(taken, json!({}), "what {source} left"),
            }
        }
    }

    /// Objects come out with the template's keys in its order, a `key.$` field's value under
    /// `key`; `a` and `a.$` in one template are one key, where `a` first stood, with the value
    /// given last.
    #[test]
    fn objects_keep_the_template_s_keys_and_order() {
        let input = json!({"n": 5});
        let vars = Map::new();
        let scope = Scope {
            input: &input,
            context: &Value::Null,
            variables: &vars,
        };
        for (template, want) in [
            (
                json!({"z": 0, "n.$": "$.n", "a": {"b.$": "$.n", "c": [1]}}),
                r#"{"z":0,"n":5,"a":{"b":5,"c":[1]}}"#,
            ),
            (json!({"b": 0, "a": 1, "a.$": "$.n"}), r#"{"b":0,"a":5}"#),
            (json!({"a.$": "$.n", "b": 0, "a": 1}), r#"{"a":1,"b":0}"#),
        ] {
            let got = Template::new(template.clone())
                .evaluate(&scope, &mut Zero)
                .expect("evaluates");
            assert_eq!(got.to_string(), want, "{template}");
        }
    }
}
