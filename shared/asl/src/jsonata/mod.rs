//! JSONata evaluation as Step Functions does it, with the functions Step Functions adds
//! (`$partition`, `$range`, `$hash`, `$random`, `$uuid`, `$parse`).
//!
//! The JSONata language itself is the `jsonata-core` crate (a Rust port that passes the
//! jsonata-js test suite). This module adds:
//!
//! * the `{% ... %}` template rule ([`is_template`]) and the walk over `Arguments`, `Output`,
//!   `Assign`, ... ([`evaluate_template`]) with the error causes AWS reports;
//! * the Step Functions functions, with randomness drawn only from the caller's [`Entropy`];
//! * a deterministic clock for `$now()`/`$millis()` (the state's `EnteredTime`), and `$eval`
//!   disabled as in Step Functions;
//! * bounds on evaluation (steps, depth, sequence length, string length) so that no expression
//!   can hang or exhaust memory.

mod functions;
mod guard;

#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::rc::Rc;

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::{Map, Number, Value};

use crate::{Entropy, EvalError};

use functions::{SharedRng, SplitMix64};
use guard::Budget;

/// Deepest nesting of a value an expression may read or build (`$parse`, bindings).
pub(crate) const MAX_VALUE_DEPTH: usize = 1_000;
/// Deepest evaluation nesting (the evaluator's stack depth; exceeding it is D1011).
const MAX_EVAL_DEPTH: usize = 1_500;
/// Longest sequence a query may build (exceeding it is D2015).
const MAX_SEQUENCE_LENGTH: usize = 1_000_000;
/// Deepest bracket nesting accepted in the expression text.
const MAX_TEXT_NESTING: usize = 500;

/// The expression inside a `{% ... %}` string, or `None` when `s` is not a JSONata template.
///
/// As in Step Functions, the string must begin with `{%` and end with `%}` exactly (no
/// surrounding whitespace); the expression is the text between them, trimmed.
pub fn is_template(s: &str) -> Option<&str> {
    if s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}") {
        Some(s[2..s.len() - 2].trim())
    } else {
        None
    }
}

/// Parses `expr` (the text between `{%` and `%}`) and applies the same checks as
/// [`evaluate`]; `Err` holds the parser's message (e.g. `S0201: Syntax error: ...`).
pub fn check_syntax(expr: &str) -> Result<(), String> {
    prepare(expr, true).map(release)
}

/// Parses and instruments an expression.
fn prepare(expr: &str, instrument: bool) -> Result<AstNode, String> {
    if expr.trim().is_empty() {
        return Err("S0207: Unexpected end of expression".into());
    }
    if guard::text_nesting_exceeds(expr, MAX_TEXT_NESTING) {
        return Err(format!(
            "The expression is nested more than {MAX_TEXT_NESTING} levels deep"
        ));
    }
    let mut ast = jsonata_core::parser::parse(expr).map_err(|e| e.to_string())?;
    if !instrument {
        return Ok(ast);
    }
    match guard::instrument(&mut ast) {
        Ok(()) => Ok(ast),
        Err(message) => {
            release(ast);
            Err(message)
        }
    }
}

/// Drops an expression tree on a large stack: a long operator chain nests deeply.
fn release(ast: AstNode) {
    stacker::maybe_grow(256 * 1024, 64 * 1024 * 1024, move || drop(ast));
}

/// Evaluates `expr` (the text between `{%` and `%}`) with `bindings` bound as `$name`
/// (`states` → `{input, result, errorOutput, context}`, and each variable).
///
/// `Ok(None)` means the expression returned nothing (undefined). Errors are
/// `States.QueryEvaluationError` with the JSONata message as cause (`T0410: ...`); callers that
/// know the field use [`evaluate_field`] for AWS's full cause.
pub fn evaluate(
    expr: &str,
    bindings: &Map<String, Value>,
    entropy: &mut dyn Entropy,
) -> Result<Option<Value>, EvalError> {
    evaluate_raw(expr, bindings, entropy).map_err(|e| EvalError::query(e.message()))
}

/// What went wrong in [`evaluate_raw`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Failure {
    /// The expression does not parse.
    #[error("{0}")]
    Syntax(String),
    /// The evaluation failed.
    #[error("{0}")]
    Runtime(String),
    /// The result is a function or another value JSON cannot hold.
    #[error("unsupported result type")]
    Unsupported,
}

impl Failure {
    fn message(&self) -> String {
        self.to_string()
    }
}

fn evaluate_raw(
    expr: &str,
    bindings: &Map<String, Value>,
    entropy: &mut dyn Entropy,
) -> Result<Option<Value>, Failure> {
    evaluate_with(expr, bindings, entropy, true)
}

/// [`evaluate_raw`], optionally without the instrumentation (for differential tests).
fn evaluate_with(
    expr: &str,
    bindings: &Map<String, Value>,
    entropy: &mut dyn Entropy,
    instrument: bool,
) -> Result<Option<Value>, Failure> {
    let ast = prepare(expr, instrument).map_err(Failure::Syntax)?;
    let result = run(&ast, expr, bindings, entropy);
    release(ast);
    result
}

fn run(
    ast: &AstNode,
    expr: &str,
    bindings: &Map<String, Value>,
    entropy: &mut dyn Entropy,
) -> Result<Option<Value>, Failure> {
    let mut context = Context::new();
    for (name, value) in bindings {
        if functions::depth_exceeds(value, MAX_VALUE_DEPTH) {
            return Err(Failure::Runtime(format!(
                "The value of ${} is nested too deeply",
                name.trim_start_matches('$')
            )));
        }
        context.bind(
            name.trim_start_matches('$').to_string(),
            JValue::from(value.clone()),
        );
    }
    let options = EvaluatorOptions {
        max_stack_depth: Some(MAX_EVAL_DEPTH),
        max_sequence_length: Some(MAX_SEQUENCE_LENGTH),
        ..EvaluatorOptions::default()
    };
    let mut evaluator = Evaluator::with_options(context, options);

    // Randomness: one draw from the caller's entropy seeds this evaluation's generator, only
    // when the expression can reach `$random` or `$uuid`.
    let rng: SharedRng = Rc::new(RefCell::new(None));
    if expr.contains("random") || expr.contains("uuid") {
        *rng.borrow_mut() = Some(SplitMix64::new(entropy.next_u64()));
    }
    let now = clock_millis(bindings);
    let budget = Budget::default();
    register(&mut evaluator, &rng, &budget, now).map_err(|e| Failure::Runtime(text(&e)))?;

    let result = stacker::maybe_grow(256 * 1024, 16 * 1024 * 1024, || {
        evaluator.evaluate(ast, &JValue::Undefined)
    })
    .map_err(|e| Failure::Runtime(text(&e)))?;
    to_json(&result)
}

/// The message of an evaluator error, without the crate's "Type error: " style prefix.
fn text(error: &EvaluatorError) -> String {
    let message = error.message();
    // jsonata-js (what AWS runs) words T1006 without the name of what was called.
    if message.starts_with("T1006:") {
        if let Some((head, _)) = message.split_once("non-function:") {
            return format!("{head}non-function");
        }
    }
    message.to_string()
}

fn register(
    evaluator: &mut Evaluator,
    rng: &SharedRng,
    budget: &Budget,
    now: Option<i64>,
) -> Result<(), EvaluatorError> {
    evaluator.register_fn("partition", functions::partition)?;
    evaluator.register_fn("range", functions::range)?;
    evaluator.register_fn("hash", functions::hash)?;
    evaluator.register_fn("parse", functions::parse)?;
    let r = rng.clone();
    evaluator.register_fn("uuid", move |args: &[JValue]| functions::uuid(args, &r))?;
    let r = rng.clone();
    evaluator.register_fn_override("random", move |args: &[JValue]| functions::random(args, &r))?;
    evaluator.register_fn_override("millis", move |args: &[JValue]| {
        functions::millis(args, now)
    })?;
    evaluator.register_fn_override("eval", functions::eval_unsupported)?;
    let b = budget.clone();
    evaluator.register_fn(guard::TICK, move |_: &[JValue]| guard::tick(&b))?;
    let b = budget.clone();
    evaluator.register_fn(guard::CHARGE_RANGE, move |args: &[JValue]| {
        guard::charge_range(args, &b)
    })?;
    evaluator.register_fn(guard::CHECK_STRING, guard::check_string)?;
    evaluator.register_fn(guard::CHECK_WIDTH, guard::check_width)?;
    let b = budget.clone();
    evaluator.register_fn(guard::CHECK_SIZE, move |args: &[JValue]| {
        guard::check_size(args, &b)
    })?;
    Ok(())
}

/// The evaluation's clock: `$states.context.State.EnteredTime`, else the execution's start.
fn clock_millis(bindings: &Map<String, Value>) -> Option<i64> {
    let context = bindings.get("states")?.get("context")?;
    let stamp = context
        .pointer("/State/EnteredTime")
        .or_else(|| context.pointer("/Execution/StartTime"))?
        .as_str()?;
    let parsed =
        time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).ok()
}

/// A JSONata result as JSON: `None` for undefined, integral numbers as integers.
fn to_json(value: &JValue) -> Result<Option<Value>, Failure> {
    if value.is_undefined() {
        return Ok(None);
    }
    guard::check_size(std::slice::from_ref(value), &Budget::default())
        .map_err(|e| Failure::Runtime(text(&e)))?;
    convert(value, 0).map(Some)
}

fn convert(value: &JValue, depth: usize) -> Result<Value, Failure> {
    if depth > MAX_VALUE_DEPTH {
        return Err(Failure::Runtime(
            "The result is nested too deeply".to_string(),
        ));
    }
    Ok(match value {
        JValue::Null => Value::Null,
        JValue::Undefined => Value::Null,
        JValue::Bool(b) => Value::Bool(*b),
        JValue::Number(n) => number(*n)?,
        JValue::String(s) => Value::String(s.to_string()),
        JValue::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                // Undefined items vanish, as JSON.stringify drops nothing but JSONata never
                // keeps undefined inside an array.
                if item.is_undefined() {
                    continue;
                }
                out.push(convert(item, depth + 1)?);
            }
            Value::Array(out)
        }
        JValue::Object(map) => {
            let mut out = Map::new();
            for (key, item) in map.iter() {
                if item.is_undefined() {
                    continue;
                }
                out.insert(key.clone(), convert(item, depth + 1)?);
            }
            Value::Object(out)
        }
        _ => return Err(Failure::Unsupported),
    })
}

/// A JSONata number as JSON: integers (up to 2^53) as integers, others as floats.
fn number(n: f64) -> Result<Value, Failure> {
    if !n.is_finite() {
        return Err(Failure::Runtime("D1001: Number out of range".to_string()));
    }
    if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 {
        return Ok(Value::from(n as i64));
    }
    Ok(Number::from_f64(n).map_or(Value::Null, Value::Number))
}

/// Evaluates the `{% %}` expression `expr` for the field `field` (a `/`-separated path such as
/// `Output/result`), failing as Step Functions does when it returns nothing, throws, or
/// returns a value JSON cannot hold.
pub fn evaluate_field(
    expr: &str,
    bindings: &Map<String, Value>,
    entropy: &mut dyn Entropy,
    field: &str,
) -> Result<Value, EvalError> {
    let prefix = field_prefix(expr, field);
    match evaluate_raw(expr, bindings, entropy) {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(EvalError::query(format!(
            "{prefix} returned nothing (undefined)."
        ))),
        Err(Failure::Unsupported) => Err(EvalError::query(format!(
            "{prefix} returned an unsupported result type."
        ))),
        Err(Failure::Syntax(message) | Failure::Runtime(message)) => Err(EvalError::query(
            format!("{prefix} threw an error during evaluation. {message}"),
        )),
    }
}

/// How Step Functions names an expression in its messages.
fn field_prefix(expr: &str, field: &str) -> String {
    format!("The JSONata expression '{expr}' specified for the field '{field}'")
}

/// The field's expression returned a value, but not of the type the field needs (`Items`
/// wants an `array`).
pub fn unexpected_type(expr: &str, field: &str, expected: &str, value: &Value) -> EvalError {
    EvalError::query(format!(
        "{} returned an unexpected result type. Expected '{expected}', but was '{}' for value: {}",
        field_prefix(expr, field),
        crate::json_type_name(value),
        serde_json::to_string(value).unwrap_or_default()
    ))
}

/// Walks a JSON value (`Arguments`, `Output`, `Assign`, `ItemSelector`, ...) and replaces each
/// `{% %}` string, at any depth, with its evaluation. `field` names the value's field; nested
/// fields are reported as `field/key` (and `field/index` inside arrays), as AWS does.
pub fn evaluate_template(
    value: &Value,
    bindings: &Map<String, Value>,
    entropy: &mut dyn Entropy,
    field: &str,
) -> Result<Value, EvalError> {
    walk_template(value, bindings, entropy, field, 0)
}

fn walk_template(
    value: &Value,
    bindings: &Map<String, Value>,
    entropy: &mut dyn Entropy,
    field: &str,
    depth: usize,
) -> Result<Value, EvalError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(EvalError::query(format!(
            "The value of the field '{field}' is nested too deeply."
        )));
    }
    match value {
        Value::String(s) => match is_template(s) {
            Some(expr) => evaluate_field(expr, bindings, entropy, field),
            None => Ok(value.clone()),
        },
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, item) in map {
                let path = format!("{field}/{key}");
                out.insert(
                    key.clone(),
                    walk_template(item, bindings, entropy, &path, depth + 1)?,
                );
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let path = format!("{field}/{index}");
                out.push(walk_template(item, bindings, entropy, &path, depth + 1)?);
            }
            Ok(Value::Array(out))
        }
        _ => Ok(value.clone()),
    }
}
