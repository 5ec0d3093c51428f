//! Choice rules in JSONPath mode: the comparison operators, their `...Path` forms, the type tests
//! and `And`/`Or`/`Not`.
//!
//! A rule is parsed once into a typed tree ([`Rule::parse`]) and evaluated many times
//! ([`Rule::evaluate`]). Semantics, as AWS behaves (recorded in the conformance cases):
//!
//! * A comparison whose `Variable` has the wrong type is simply false (`NumericEquals` on a string,
//!   `BooleanEquals` on `null`, `TimestampEquals` on a non-timestamp string, ...). The same holds
//!   when the value a `...Path` operand selects has the wrong type.
//! * A `Variable` (or `...Path` operand) that selects nothing fails the state with `States.Runtime`,
//!   "Invalid path '<path>': The choice state's condition path references an invalid value.",
//!   for every operator except `IsPresent`, which is exactly the test for that case.
//! * Numbers compare by value (`1 == 1.0`); integers exactly, anything else as IEEE doubles.
//! * Strings compare by UTF-16 code units (Java's `String.compareTo`).
//! * Timestamps compare as instants, see [`timestamp`].
//! * `And`/`Or` stop at the first operand that decides them, so an `IsPresent` guard ahead of a
//!   comparison keeps a missing field from failing the state.

mod operators;
pub mod pattern;
pub mod timestamp;

use crate::jsonpath::JsonPath;
use crate::{EvalError, Scope};
pub(crate) use operators::{operator, OperandType, Operator};
use operators::{CmpOp, Kind, TypeTest};
use pattern::Pattern;
use serde_json::{Number, Value};
use std::cmp::Ordering;
use timestamp::Timestamp;

/// One Choice rule (the part that decides, without `Next`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    node: Node,
}

/// A node of the rule tree.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Test(Test),
}

/// A data-test expression: a `Variable` and one operator.
#[derive(Debug, Clone, PartialEq)]
struct Test {
    variable: JsonPath,
    check: Check,
}

#[derive(Debug, Clone, PartialEq)]
enum Check {
    /// `String*`, `Numeric*`, `Boolean*`, `Timestamp*` and their `...Path` forms.
    Compare { kind: Kind, op: CmpOp, rhs: Rhs },
    /// `StringMatches`.
    Matches(Pattern),
    /// `IsNull`, `IsPresent`, ... with the boolean they are compared to.
    Is { test: TypeTest, expected: bool },
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
enum Rhs {
    /// A literal, already checked against the operator's type.
    Literal(Literal),
    /// A `...Path` operand, read from the scope at evaluation time.
    Path(JsonPath),
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Num(Num),
    Bool(bool),
    Ts(Timestamp),
}

/// A comparable view of one operand.
#[derive(Debug, Clone, Copy)]
enum Operand<'a> {
    Str(&'a str),
    Num(Num),
    Bool(bool),
    Ts(Timestamp),
}

impl Literal {
    fn operand(&self) -> Operand<'_> {
        match self {
            Literal::Str(s) => Operand::Str(s),
            Literal::Num(n) => Operand::Num(*n),
            Literal::Bool(b) => Operand::Bool(*b),
            Literal::Ts(t) => Operand::Ts(*t),
        }
    }
}

/// A JSON number: integers stay exact, everything else is a double.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn of(n: &Number) -> Num {
        if let Some(i) = n.as_i64() {
            Num::Int(i128::from(i))
        } else if let Some(u) = n.as_u64() {
            Num::Int(i128::from(u))
        } else {
            Num::Float(n.as_f64().unwrap_or(f64::NAN))
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            // Rounds beyond 2^53, as a double comparison would.
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    fn compare(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }
}

/// Reads `value` as an operand of `kind`; `None` when it has another type.
fn operand_of(kind: Kind, value: &Value) -> Option<Operand<'_>> {
    match (kind, value) {
        (Kind::String, Value::String(s)) => Some(Operand::Str(s)),
        (Kind::Numeric, Value::Number(n)) => Some(Operand::Num(Num::of(n))),
        (Kind::Boolean, Value::Bool(b)) => Some(Operand::Bool(*b)),
        (Kind::Timestamp, Value::String(s)) => timestamp::parse(s).map(Operand::Ts),
        _ => None,
    }
}

/// Orders two operands of the same family; `None` when they are not comparable.
fn order(lhs: Operand<'_>, rhs: Operand<'_>) -> Option<Ordering> {
    match (lhs, rhs) {
        (Operand::Str(a), Operand::Str(b)) => Some(if a == b {
            Ordering::Equal
        } else {
            a.encode_utf16().cmp(b.encode_utf16())
        }),
        (Operand::Num(a), Operand::Num(b)) => a.compare(b),
        (Operand::Bool(a), Operand::Bool(b)) => Some(a.cmp(&b)),
        (Operand::Ts(a), Operand::Ts(b)) => Some(a.cmp(&b)),
        _ => None,
    }
}

/// The failure AWS reports when a condition path selects nothing.
fn invalid_path(path: &str) -> EvalError {
    EvalError::runtime(format!(
        "Invalid path '{path}': The choice state's condition path references an invalid value."
    ))
}

/// Reads `path` from the scope, borrowed where it can be; `None` when it selects nothing.
fn read<'a>(
    path: &JsonPath,
    scope: &Scope<'a>,
) -> Result<Option<std::borrow::Cow<'a, Value>>, EvalError> {
    match crate::jsonpath::select(path, scope) {
        Ok(found) => Ok(found.ok()),
        Err(_) => Err(invalid_path(path)),
    }
}

impl Rule {
    /// Parses a rule object; the error names the problem.
    ///
    /// The top-level branch fields `Next`, `Assign`, `Output` and `Comment` are ignored, so a whole
    /// `Choices` entry can be passed.
    pub fn parse(value: &Value) -> Result<Rule, String> {
        parse_node(value).map(|node| Rule { node })
    }

    /// Decides the rule against the state's input.
    pub fn evaluate(&self, scope: &Scope) -> Result<bool, EvalError> {
        eval_node(&self.node, scope)
    }

    /// Whether any path of the rule reads the Context object (`$$`): when none does, the
    /// engine need not build it.
    pub fn reads_context(&self) -> bool {
        fn node(n: &Node) -> bool {
            match n {
                Node::And(rules) | Node::Or(rules) => rules.iter().any(node),
                Node::Not(r) => node(r),
                Node::Test(t) => {
                    t.variable.starts_with("$$")
                        || matches!(&t.check, Check::Compare { rhs: Rhs::Path(p), .. } if p.starts_with("$$"))
                }
            }
        }
        node(&self.node)
    }
}

fn eval_node(node: &Node, scope: &Scope) -> Result<bool, EvalError> {
    match node {
        Node::And(rules) => {
            for r in rules {
                if !eval_node(r, scope)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Node::Or(rules) => {
            for r in rules {
                if eval_node(r, scope)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Node::Not(r) => Ok(!eval_node(r, scope)?),
        Node::Test(t) => eval_test(t, scope),
    }
}

fn eval_test(test: &Test, scope: &Scope) -> Result<bool, EvalError> {
    let found = read(&test.variable, scope)?;
    if let Check::Is {
        test: TypeTest::Present,
        expected,
    } = test.check
    {
        return Ok(found.is_some() == expected);
    }
    let value = found.ok_or_else(|| invalid_path(&test.variable))?;
    Ok(match &test.check {
        Check::Is { test, expected } => {
            let is = match test {
                TypeTest::Null => value.is_null(),
                TypeTest::Present => true,
                TypeTest::Numeric => value.is_number(),
                TypeTest::String => value.is_string(),
                TypeTest::Boolean => value.is_boolean(),
                TypeTest::Timestamp => value.as_str().and_then(timestamp::parse).is_some(),
            };
            is == *expected
        }
        Check::Matches(p) => value.as_str().is_some_and(|s| p.matches(s)),
        Check::Compare { kind, op, rhs } => {
            let lhs = operand_of(*kind, &value);
            match rhs {
                Rhs::Literal(lit) => compare(lhs, lit.operand(), *op),
                Rhs::Path(path) => {
                    let other = read(path, scope)?.ok_or_else(|| invalid_path(path))?;
                    match operand_of(*kind, &other) {
                        Some(r) => compare(lhs, r, *op),
                        None => false,
                    }
                }
            }
        }
    })
}

fn compare(lhs: Option<Operand<'_>>, rhs: Operand<'_>, op: CmpOp) -> bool {
    lhs.and_then(|l| order(l, rhs)).is_some_and(|o| op.holds(o))
}

/// Fields of a `Choices` entry that belong to the branch, not to the rule.
const BRANCH_FIELDS: [&str; 4] = ["Next", "Comment", "Assign", "Output"];

/// The fields of one rule object, sorted by role.
struct Fields<'a> {
    combinators: Vec<(&'a str, &'a Value)>,
    variable: Option<&'a Value>,
    operators: Vec<(&'a str, Operator, &'a Value)>,
    unknown: Vec<&'a str>,
    branch: Vec<&'a str>,
}

fn fields(obj: &serde_json::Map<String, Value>) -> Fields<'_> {
    let mut f = Fields {
        combinators: Vec::new(),
        variable: None,
        operators: Vec::new(),
        unknown: Vec::new(),
        branch: Vec::new(),
    };
    for (k, v) in obj {
        let k = k.as_str();
        if matches!(k, "And" | "Or" | "Not") {
            f.combinators.push((k, v));
        } else if k == "Variable" {
            f.variable = Some(v);
        } else if BRANCH_FIELDS.contains(&k) {
            f.branch.push(k);
        } else if let Some(op) = operator(k) {
            f.operators.push((k, op, v));
        } else {
            f.unknown.push(k);
        }
    }
    f
}

fn is_path(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| s.starts_with('$'))
}

fn parse_node(value: &Value) -> Result<Node, String> {
    let obj = value
        .as_object()
        .ok_or_else(|| "A Choice rule must be an object".to_string())?;
    let f = fields(obj);
    if let Some(k) = f.unknown.first() {
        return Err(format!("Field '{k}' is not supported in a Choice rule"));
    }
    match (f.combinators.as_slice(), f.operators.as_slice()) {
        ([(name, v)], []) => {
            if f.variable.is_some() {
                return Err(format!(
                    "A Choice rule with '{name}' cannot have 'Variable'"
                ));
            }
            match *name {
                "Not" => Ok(Node::Not(Box::new(parse_node(v)?))),
                _ => {
                    let list = v
                        .as_array()
                        .filter(|a| !a.is_empty())
                        .ok_or_else(|| format!("'{name}' must be a non-empty array of rules"))?;
                    let rules = list.iter().map(parse_node).collect::<Result<Vec<_>, _>>()?;
                    Ok(if *name == "And" {
                        Node::And(rules)
                    } else {
                        Node::Or(rules)
                    })
                }
            }
        }
        ([], [(name, op, v)]) => {
            let variable = f
                .variable
                .and_then(is_path)
                .ok_or_else(|| "'Variable' must be a JSONPath starting with '$'".to_string())?;
            Ok(Node::Test(Test {
                variable: variable.into(),
                check: parse_check(name, *op, v)?,
            }))
        }
        ([], []) => Err("A Choice rule needs a comparison operator or And, Or or Not".into()),
        _ => {
            Err("A Choice rule must have exactly one comparison operator or And, Or or Not".into())
        }
    }
}

fn parse_check(name: &str, op: Operator, v: &Value) -> Result<Check, String> {
    let expected = |ty: &str| format!("'{name}' expects a value of type {ty}");
    match op {
        Operator::Matches => v
            .as_str()
            .map(|s| Check::Matches(Pattern::new(s)))
            .ok_or_else(|| expected("String")),
        Operator::Is(test) => v
            .as_bool()
            .map(|expected| Check::Is { test, expected })
            .ok_or_else(|| expected("Boolean")),
        Operator::Compare { kind, op, path } => {
            let rhs = if path {
                Rhs::Path(
                    is_path(v)
                        .ok_or_else(|| format!("'{name}' must be a JSONPath starting with '$'"))?
                        .into(),
                )
            } else {
                Rhs::Literal(match (kind, v) {
                    (Kind::String, Value::String(s)) => Literal::Str(s.clone()),
                    (Kind::Numeric, Value::Number(n)) => Literal::Num(Num::of(n)),
                    (Kind::Boolean, Value::Bool(b)) => Literal::Bool(*b),
                    (Kind::Timestamp, Value::String(s)) => {
                        Literal::Ts(timestamp::parse(s).ok_or_else(|| {
                            format!("'{name}': String does not match RFC3339 timestamp")
                        })?)
                    }
                    (Kind::String | Kind::Timestamp, _) => return Err(expected("String")),
                    (Kind::Numeric, _) => return Err(expected("Number")),
                    (Kind::Boolean, _) => return Err(expected("Boolean")),
                })
            };
            Ok(Check::Compare { kind, op, rhs })
        }
    }
}

#[cfg(test)]
mod tests;
