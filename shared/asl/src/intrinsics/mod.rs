//! The `States.*` intrinsic functions.
//!
//! [`Intrinsic::parse`] compiles a call such as `States.Format('{} {}', $.a, States.UUID())`;
//! [`Intrinsic::eval`] runs it. Arguments are single-quoted strings (escapes `\'`, `\{`, `\}`,
//! `\\`), numbers, `true`/`false`/`null`, JSONPaths (`$.x`, `$$.x`, `$var`) and nested calls.
//! Evaluation failures are `States.IntrinsicFailure`, except a path argument that finds nothing,
//! which is `States.Runtime` like any other unresolved payload path.

mod functions;
pub mod java;
mod parse;

#[cfg(test)]
mod tests;

use crate::jsonpath::Path;
use crate::{Entropy, EvalError, Scope};
use serde_json::Value;
use std::borrow::Cow;

/// A call's evaluated arguments.
type Args<'a> = smallvec::SmallVec<[Cow<'a, Value>; 4]>;

/// The 18 intrinsic functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `States.Format`
    Format,
    /// `States.StringToJson`
    StringToJson,
    /// `States.JsonToString`
    JsonToString,
    /// `States.Array`
    Array,
    /// `States.ArrayPartition`
    ArrayPartition,
    /// `States.ArrayContains`
    ArrayContains,
    /// `States.ArrayRange`
    ArrayRange,
    /// `States.ArrayGetItem`
    ArrayGetItem,
    /// `States.ArrayLength`
    ArrayLength,
    /// `States.ArrayUnique`
    ArrayUnique,
    /// `States.Base64Encode`
    Base64Encode,
    /// `States.Base64Decode`
    Base64Decode,
    /// `States.Hash`
    Hash,
    /// `States.JsonMerge`
    JsonMerge,
    /// `States.MathRandom`
    MathRandom,
    /// `States.MathAdd`
    MathAdd,
    /// `States.StringSplit`
    StringSplit,
    /// `States.UUID`
    Uuid,
}

impl Function {
    /// Looks a function up by its name without the `States.` prefix.
    pub fn from_name(name: &str) -> Option<Function> {
        use Function::*;
        Some(match name {
            "Format" => Format,
            "StringToJson" => StringToJson,
            "JsonToString" => JsonToString,
            "Array" => Array,
            "ArrayPartition" => ArrayPartition,
            "ArrayContains" => ArrayContains,
            "ArrayRange" => ArrayRange,
            "ArrayGetItem" => ArrayGetItem,
            "ArrayLength" => ArrayLength,
            "ArrayUnique" => ArrayUnique,
            "Base64Encode" => Base64Encode,
            "Base64Decode" => Base64Decode,
            "Hash" => Hash,
            "JsonMerge" => JsonMerge,
            "MathRandom" => MathRandom,
            "MathAdd" => MathAdd,
            "StringSplit" => StringSplit,
            "UUID" => Uuid,
            _ => return None,
        })
    }

    /// The full name, e.g. `States.ArrayRange`.
    pub fn name(self) -> &'static str {
        use Function::*;
        match self {
            Format => "States.Format",
            StringToJson => "States.StringToJson",
            JsonToString => "States.JsonToString",
            Array => "States.Array",
            ArrayPartition => "States.ArrayPartition",
            ArrayContains => "States.ArrayContains",
            ArrayRange => "States.ArrayRange",
            ArrayGetItem => "States.ArrayGetItem",
            ArrayLength => "States.ArrayLength",
            ArrayUnique => "States.ArrayUnique",
            Base64Encode => "States.Base64Encode",
            Base64Decode => "States.Base64Decode",
            Hash => "States.Hash",
            JsonMerge => "States.JsonMerge",
            MathRandom => "States.MathRandom",
            MathAdd => "States.MathAdd",
            StringSplit => "States.StringSplit",
            Uuid => "States.UUID",
        }
    }

    /// The smallest and largest argument counts (`None`: no upper bound).
    pub fn arity(self) -> (usize, Option<usize>) {
        use Function::*;
        match self {
            Format => (1, None),
            Array => (0, None),
            Uuid => (0, Some(0)),
            StringToJson | JsonToString | ArrayLength | ArrayUnique | Base64Encode
            | Base64Decode => (1, Some(1)),
            ArrayPartition | ArrayContains | ArrayGetItem | Hash | MathAdd | StringSplit => {
                (2, Some(2))
            }
            ArrayRange | JsonMerge => (3, Some(3)),
            MathRandom => (2, Some(3)),
        }
    }
}

/// One argument of a call.
#[derive(Debug, Clone)]
pub enum Arg {
    /// A quoted string: the unescaped value and the raw text between the quotes (States.Format
    /// needs the raw text to tell `\{` from a placeholder).
    Str {
        /// The string with escapes resolved.
        value: String,
        /// The text as written, escapes included.
        raw: String,
        /// `value` as a JSON string, the argument a call is given (lent, not copied per call).
        json: Value,
    },
    /// A number, `true`, `false` or `null`.
    Literal(Value),
    /// A JSONPath into the input, the Context object or a variable.
    Path(Path),
    /// A nested call.
    Call(Box<Intrinsic>),
}

/// A compiled intrinsic function call.
#[derive(Debug, Clone)]
pub struct Intrinsic {
    /// The function called.
    pub function: Function,
    /// Its arguments, in order.
    pub args: Vec<Arg>,
}

/// Why a call could not be evaluated.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A path argument selected nothing.
    PathNotFound(String),
    /// The function rejected its arguments.
    Intrinsic(String),
}

impl Intrinsic {
    /// Compiles an intrinsic function call, checking names and argument counts.
    pub fn parse(expr: &str) -> Result<Intrinsic, String> {
        parse::parse(expr)
    }

    /// Evaluates the call; `field` (e.g. `value.$`) names the payload field in error messages.
    pub fn eval(
        &self,
        field: &str,
        scope: &Scope,
        entropy: &mut dyn Entropy,
    ) -> Result<Value, EvalError> {
        self.eval_inner(scope, entropy).map_err(|f| match f {
            Failure::PathNotFound(p) => EvalError::runtime(format!(
                "The JSONPath '{p}' specified for the field '{field}' could not be found in the input '{}'",
                scope.input
            )),
            Failure::Intrinsic(c) => EvalError::intrinsic(c),
        })
    }

    fn eval_inner(&self, scope: &Scope, entropy: &mut dyn Entropy) -> Result<Value, Failure> {
        // Arguments are lent where they can be: most functions only read them. Up to four are
        // kept on the stack (nearly every call has that few): allocating them was a tenth of
        // a call.
        let mut vals = Args::new();
        for a in &self.args {
            vals.push(match a {
                Arg::Str { json, .. } => Cow::Borrowed(json),
                Arg::Literal(v) => Cow::Borrowed(v),
                Arg::Path(p) => p
                    .eval(scope)
                    .map_err(|_| Failure::PathNotFound(p.as_str().to_string()))?,
                Arg::Call(c) => Cow::Owned(c.eval_inner(scope, entropy)?),
            });
        }
        functions::call(self, &mut vals, entropy).map_err(Failure::Intrinsic)
    }
}

/// True when a `.$` value is an intrinsic function call rather than a path.
pub fn is_intrinsic(expr: &str) -> bool {
    expr.trim_start().starts_with("States.")
}

/// Checks an intrinsic function call as AWS does when a state machine is created: syntax,
/// function name, argument count and the type of every literal argument (a path or a nested
/// call is only known when the state runs).
pub fn validate(expr: &str) -> Result<(), String> {
    Intrinsic::parse(expr)?.check_literals()
}

/// What a function requires of one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Any,
    String,
    Number,
    Boolean,
    /// An array or an object: no literal qualifies.
    Json(&'static str),
    /// One of the hashing algorithms `States.Hash` supports.
    Algorithm,
}

const ALGORITHMS: [&str; 5] = ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"];

impl Function {
    /// What the argument at `index` must be.
    fn want(self, index: usize) -> Want {
        use Function::*;
        const ARRAY: Want = Want::Json("an array");
        const OBJECT: Want = Want::Json("a JSON object");
        match (self, index) {
            (Format | StringToJson | Base64Encode | Base64Decode | StringSplit, 0) => Want::String,
            (StringSplit, 1) => Want::String,
            (ArrayPartition | ArrayContains | ArrayGetItem | ArrayLength | ArrayUnique, 0) => ARRAY,
            (ArrayPartition | ArrayGetItem, 1) => Want::Number,
            (ArrayRange | MathAdd | MathRandom, _) => Want::Number,
            (Hash, 1) => Want::Algorithm,
            (JsonMerge, 0 | 1) => OBJECT,
            (JsonMerge, 2) => Want::Boolean,
            _ => Want::Any,
        }
    }
}

impl Intrinsic {
    /// Rejects a literal argument of the wrong type, here and in nested calls.
    fn check_literals(&self) -> Result<(), String> {
        let name = self.function.name();
        for (i, arg) in self.args.iter().enumerate() {
            let (kind, shown) = match arg {
                Arg::Call(c) => {
                    c.check_literals()?;
                    continue;
                }
                Arg::Path(_) => continue,
                Arg::Str { value, .. } => ("string", format!("'{value}'")),
                Arg::Literal(v) => (
                    match v {
                        Value::Number(_) => "number",
                        Value::Bool(_) => "boolean",
                        _ => "null",
                    },
                    v.to_string(),
                ),
            };
            let ok = match self.function.want(i) {
                Want::Any => true,
                Want::String => kind == "string",
                Want::Number => kind == "number",
                Want::Boolean => kind == "boolean",
                Want::Json(_) => false,
                Want::Algorithm => {
                    matches!(arg, Arg::Str { value, .. } if ALGORITHMS.contains(&value.as_str()))
                }
            };
            if !ok {
                let expected = match self.function.want(i) {
                    Want::String => "a string".to_string(),
                    Want::Number => "a number".to_string(),
                    Want::Boolean => "a boolean".to_string(),
                    Want::Json(what) => what.to_string(),
                    Want::Algorithm => format!("one of {}", ALGORITHMS.join(", ")),
                    Want::Any => String::new(),
                };
                return Err(format!(
                    "The argument {} of {name} must be {expected}, but was the {kind} {shown}",
                    i + 1
                ));
            }
        }
        Ok(())
    }
}

/// Evaluates an intrinsic function call.
pub fn evaluate(expr: &str, scope: &Scope, entropy: &mut dyn Entropy) -> Result<Value, EvalError> {
    evaluate_field(expr, "", scope, entropy)
}

/// Evaluates an intrinsic function call written in the payload field `field` (e.g. `value.$`),
/// which error messages name.
pub fn evaluate_field(
    expr: &str,
    field: &str,
    scope: &Scope,
    entropy: &mut dyn Entropy,
) -> Result<Value, EvalError> {
    Intrinsic::parse(expr)
        .map_err(EvalError::intrinsic)?
        .eval(field, scope, entropy)
}
