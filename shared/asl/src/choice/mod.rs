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

pub mod pattern;
pub mod timestamp;

use crate::{EvalError, Scope};
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
    variable: String,
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

/// The value family a comparison operator works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

impl CmpOp {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            CmpOp::Equals => ord == Ordering::Equal,
            CmpOp::LessThan => ord == Ordering::Less,
            CmpOp::GreaterThan => ord == Ordering::Greater,
            CmpOp::LessThanEquals => ord != Ordering::Greater,
            CmpOp::GreaterThanEquals => ord != Ordering::Less,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeTest {
    Null,
    Present,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
enum Rhs {
    /// A literal, already checked against the operator's type.
    Literal(Literal),
    /// A `...Path` operand, read from the scope at evaluation time.
    Path(String),
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

/// Reads `path` from the scope; `None` when it selects nothing.
fn read(path: &str, scope: &Scope) -> Result<Option<Value>, EvalError> {
    crate::jsonpath::query(path, scope).map_err(|_| invalid_path(path))
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

/// What an operator field name means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Compare { kind: Kind, op: CmpOp, path: bool },
    Matches,
    Is(TypeTest),
}

/// Recognises an operator field name.
fn operator(name: &str) -> Option<Operator> {
    match name {
        "StringMatches" => return Some(Operator::Matches),
        "IsNull" => return Some(Operator::Is(TypeTest::Null)),
        "IsPresent" => return Some(Operator::Is(TypeTest::Present)),
        "IsNumeric" => return Some(Operator::Is(TypeTest::Numeric)),
        "IsString" => return Some(Operator::Is(TypeTest::String)),
        "IsBoolean" => return Some(Operator::Is(TypeTest::Boolean)),
        "IsTimestamp" => return Some(Operator::Is(TypeTest::Timestamp)),
        _ => {}
    }
    let (base, path) = match name.strip_suffix("Path") {
        Some(b) => (b, true),
        None => (name, false),
    };
    let (kind, rest) = [
        ("String", Kind::String),
        ("Numeric", Kind::Numeric),
        ("Boolean", Kind::Boolean),
        ("Timestamp", Kind::Timestamp),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| base.strip_prefix(prefix).map(|rest| (kind, rest)))?;
    let op = match rest {
        "Equals" => CmpOp::Equals,
        "LessThan" => CmpOp::LessThan,
        "GreaterThan" => CmpOp::GreaterThan,
        "LessThanEquals" => CmpOp::LessThanEquals,
        "GreaterThanEquals" => CmpOp::GreaterThanEquals,
        _ => return None,
    };
    // Booleans have only BooleanEquals(Path).
    if kind == Kind::Boolean && op != CmpOp::Equals {
        return None;
    }
    Some(Operator::Compare { kind, op, path })
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
                variable: variable.to_string(),
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
                        .to_string(),
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

/// One problem [`validate_rule`] finds: AWS's diagnostic code, a message and the JSON-pointer
/// location of the offending field (e.g. `/States/Pick/Choices/0/NumericEquals`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleIssue {
    /// The diagnostic code, `SCHEMA_VALIDATION_FAILED`.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// Where.
    pub location: String,
}

/// Checks a JSONPath-mode `Choices` entry (pass `location` as its pointer, e.g.
/// `/States/Pick/Choices/0`) for what `CreateStateMachine` rejects: unknown fields, a missing or
/// extra operator, operand types, invalid paths, timestamp literals that are not RFC 3339, empty
/// `And`/`Or`, and `Next` inside nested rules. `Next` on the entry itself is the caller's concern.
///
/// Returns every problem found; an empty list means the rule is valid. Whatever passes here,
/// [`Rule::parse`] accepts.
pub fn validate_rule(value: &Value, location: &str) -> Vec<RuleIssue> {
    let mut out = Vec::new();
    validate_node(value, location, true, &mut out);
    out
}

fn validate_node(value: &Value, loc: &str, top: bool, out: &mut Vec<RuleIssue>) {
    let mut issue = |message: String, location: String| {
        out.push(RuleIssue {
            code: "SCHEMA_VALIDATION_FAILED".into(),
            message,
            location,
        })
    };
    let Some(obj) = value.as_object() else {
        issue("Expected value of type Object".into(), loc.into());
        return;
    };
    let f = fields(obj);
    for k in &f.unknown {
        issue(
            format!("Field '{k}' is not supported"),
            format!("{loc}/{k}"),
        );
    }
    if !top {
        for k in f.branch.iter().filter(|k| **k != "Comment") {
            issue(
                format!("Field '{k}' is not supported in a nested Choice rule"),
                format!("{loc}/{k}"),
            );
        }
    }
    let ops = f.combinators.len() + f.operators.len();
    if ops != 1 {
        issue(
            if ops == 0 {
                "A Choice rule needs a comparison operator or And, Or or Not".into()
            } else {
                "A Choice rule must have exactly one comparison operator or And, Or or Not".into()
            },
            loc.into(),
        );
    }
    let valid_path = |s: &str| s.starts_with('$') && crate::jsonpath::validate(s).is_ok();
    if let Some(v) = f.variable {
        if !f.combinators.is_empty() {
            issue(
                "Field 'Variable' is not supported with And, Or or Not".into(),
                format!("{loc}/Variable"),
            );
        } else if !v.as_str().is_some_and(valid_path) {
            issue(
                "The value for the field 'Variable' must be a valid JSONPath".into(),
                format!("{loc}/Variable"),
            );
        }
    } else if !f.operators.is_empty() {
        issue("Missing required field 'Variable'".into(), loc.into());
    }
    for (name, op, v) in &f.operators {
        let at = format!("{loc}/{name}");
        let expected = |ty: &str| format!("Expected value of type {ty}");
        match op {
            Operator::Matches if !v.is_string() => issue(expected("String"), at),
            Operator::Is(_) if !v.is_boolean() => issue(expected("Boolean"), at),
            Operator::Compare { path: true, .. } if !v.as_str().is_some_and(valid_path) => issue(
                format!("The value for the field '{name}' must be a valid JSONPath"),
                at,
            ),
            Operator::Compare { path: true, .. } => {}
            Operator::Compare { kind, .. } => match (kind, v) {
                (Kind::String, Value::String(_))
                | (Kind::Numeric, Value::Number(_))
                | (Kind::Boolean, Value::Bool(_)) => {}
                (Kind::Timestamp, Value::String(s)) if timestamp::is_rfc3339(s) => {}
                (Kind::Timestamp, Value::String(_)) => {
                    issue("String does not match RFC3339 timestamp".into(), at)
                }
                (Kind::String | Kind::Timestamp, _) => issue(expected("String"), at),
                (Kind::Numeric, _) => issue(expected("Number"), at),
                (Kind::Boolean, _) => issue(expected("Boolean"), at),
            },
            _ => {}
        }
    }
    for (name, v) in &f.combinators {
        let at = format!("{loc}/{name}");
        if *name == "Not" {
            validate_node(v, &at, false, out);
        } else {
            match v.as_array() {
                Some(list) if !list.is_empty() => {
                    for (i, r) in list.iter().enumerate() {
                        validate_node(r, &format!("{at}/{i}"), false, out);
                    }
                }
                _ => out.push(RuleIssue {
                    code: "SCHEMA_VALIDATION_FAILED".into(),
                    message: "Expected a non-empty array of Choice rules".into(),
                    location: at,
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests;
