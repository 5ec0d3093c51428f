//! The Amazon States Language, without I/O, async or a clock.
//!
//! * [`model`]: the typed definition a validated ASL document parses into.
//! * [`errors`]: the predefined `States.*` error names.
//! * [`resource`]: a Task's `Resource`, typed (kind and integration pattern).
//! * [`validate`]: the static validator (AWS diagnostic codes and the path of the offending field).
//! * [`jsonpath`]: JSONPath as Step Functions reads it (reference paths, `$$`, variables, filters).
//! * [`intrinsics`]: the `States.*` intrinsic functions.
//! * [`payload`]: payload templates (`Parameters`, `ResultSelector`, `ItemSelector`), compiled at
//!   load, and `ResultPath`.
//! * [`choice`]: Choice rules and their operators.
//! * [`jsonata`]: JSONata evaluation with the functions Step Functions adds.

pub mod choice;
pub mod error;
pub mod errors;
pub mod intrinsics;
pub mod jsonata;
pub mod jsonpath;
pub mod map_io;
pub mod model;
pub mod payload;
pub mod resource;
pub mod validate;

pub use error::EvalError;

/// A JSON value's type as Step Functions' messages name it (`null`, `boolean`, `number`,
/// `string`, `array`, `object`).
pub fn json_type_name(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

use serde_json::{Map, Value};

/// What paths, templates and expressions read from while a state runs.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    /// The state's effective input (`$`).
    pub input: &'a Value,
    /// The Context object (`$$`).
    pub context: &'a Value,
    /// The variables visible to the state (`$name` in JSONPath, `$name` in JSONata).
    pub variables: &'a Map<String, Value>,
}

/// Randomness for `States.UUID`, `States.MathRandom`, `$random` and `$uuid`.
///
/// The engine supplies a deterministic generator seeded from the execution's state, so evaluation
/// stays a pure function of its inputs.
pub trait Entropy {
    /// The next 64 random bits.
    fn next_u64(&mut self) -> u64;
}
