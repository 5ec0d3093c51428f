//! The Choice-rule operator table: every comparison operator's field name, the value family it
//! compares, its relation and whether its operand is a path. Both the rule parser (evaluation)
//! and the static validator read it, so they cannot disagree on what an operator is.

use std::cmp::Ordering;

/// The value family a comparison operator works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

/// The relation a comparison operator tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

impl CmpOp {
    pub(crate) fn holds(self, ord: Ordering) -> bool {
        match self {
            CmpOp::Equals => ord == Ordering::Equal,
            CmpOp::LessThan => ord == Ordering::Less,
            CmpOp::GreaterThan => ord == Ordering::Greater,
            CmpOp::LessThanEquals => ord != Ordering::Greater,
            CmpOp::GreaterThanEquals => ord != Ordering::Less,
        }
    }
}

/// The type tests (`IsNull`, `IsPresent`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeTest {
    Null,
    Present,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

/// What an operator field name means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operator {
    /// `String*`, `Numeric*`, `BooleanEquals`, `Timestamp*`; `path` for the `...Path` forms.
    Compare { kind: Kind, op: CmpOp, path: bool },
    /// `StringMatches`.
    Matches,
    /// `IsNull`, `IsPresent`, ...
    Is(TypeTest),
}

/// The JSON type an operator's operand must have in the definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OperandType {
    String,
    Number,
    Boolean,
    /// A timestamp literal: a string, its format checked when the rule is parsed.
    Timestamp,
    /// A reference path (the `...Path` forms).
    Path,
}

impl Operator {
    /// The type of the operand the definition gives this operator.
    pub(crate) fn operand(self) -> OperandType {
        match self {
            Operator::Matches => OperandType::String,
            Operator::Is(_) => OperandType::Boolean,
            Operator::Compare { path: true, .. } => OperandType::Path,
            Operator::Compare { kind, .. } => match kind {
                Kind::String => OperandType::String,
                Kind::Numeric => OperandType::Number,
                Kind::Boolean => OperandType::Boolean,
                Kind::Timestamp => OperandType::Timestamp,
            },
        }
    }
}

const fn cmp(kind: Kind, op: CmpOp, path: bool) -> Operator {
    Operator::Compare { kind, op, path }
}

use CmpOp::{Equals, GreaterThan, GreaterThanEquals, LessThan, LessThanEquals};
use Kind::{Boolean, Numeric, Timestamp};

/// Every Choice-rule operator, by field name.
pub(crate) const OPERATORS: &[(&str, Operator)] = &[
    ("StringEquals", cmp(Kind::String, Equals, false)),
    ("StringLessThan", cmp(Kind::String, LessThan, false)),
    ("StringGreaterThan", cmp(Kind::String, GreaterThan, false)),
    (
        "StringLessThanEquals",
        cmp(Kind::String, LessThanEquals, false),
    ),
    (
        "StringGreaterThanEquals",
        cmp(Kind::String, GreaterThanEquals, false),
    ),
    ("StringEqualsPath", cmp(Kind::String, Equals, true)),
    ("StringLessThanPath", cmp(Kind::String, LessThan, true)),
    (
        "StringGreaterThanPath",
        cmp(Kind::String, GreaterThan, true),
    ),
    (
        "StringLessThanEqualsPath",
        cmp(Kind::String, LessThanEquals, true),
    ),
    (
        "StringGreaterThanEqualsPath",
        cmp(Kind::String, GreaterThanEquals, true),
    ),
    ("StringMatches", Operator::Matches),
    ("NumericEquals", cmp(Numeric, Equals, false)),
    ("NumericLessThan", cmp(Numeric, LessThan, false)),
    ("NumericGreaterThan", cmp(Numeric, GreaterThan, false)),
    ("NumericLessThanEquals", cmp(Numeric, LessThanEquals, false)),
    (
        "NumericGreaterThanEquals",
        cmp(Numeric, GreaterThanEquals, false),
    ),
    ("NumericEqualsPath", cmp(Numeric, Equals, true)),
    ("NumericLessThanPath", cmp(Numeric, LessThan, true)),
    ("NumericGreaterThanPath", cmp(Numeric, GreaterThan, true)),
    (
        "NumericLessThanEqualsPath",
        cmp(Numeric, LessThanEquals, true),
    ),
    (
        "NumericGreaterThanEqualsPath",
        cmp(Numeric, GreaterThanEquals, true),
    ),
    // Booleans have only BooleanEquals(Path).
    ("BooleanEquals", cmp(Boolean, Equals, false)),
    ("BooleanEqualsPath", cmp(Boolean, Equals, true)),
    ("TimestampEquals", cmp(Timestamp, Equals, false)),
    ("TimestampLessThan", cmp(Timestamp, LessThan, false)),
    ("TimestampGreaterThan", cmp(Timestamp, GreaterThan, false)),
    (
        "TimestampLessThanEquals",
        cmp(Timestamp, LessThanEquals, false),
    ),
    (
        "TimestampGreaterThanEquals",
        cmp(Timestamp, GreaterThanEquals, false),
    ),
    ("TimestampEqualsPath", cmp(Timestamp, Equals, true)),
    ("TimestampLessThanPath", cmp(Timestamp, LessThan, true)),
    (
        "TimestampGreaterThanPath",
        cmp(Timestamp, GreaterThan, true),
    ),
    (
        "TimestampLessThanEqualsPath",
        cmp(Timestamp, LessThanEquals, true),
    ),
    (
        "TimestampGreaterThanEqualsPath",
        cmp(Timestamp, GreaterThanEquals, true),
    ),
    ("IsNull", Operator::Is(TypeTest::Null)),
    ("IsPresent", Operator::Is(TypeTest::Present)),
    ("IsNumeric", Operator::Is(TypeTest::Numeric)),
    ("IsString", Operator::Is(TypeTest::String)),
    ("IsBoolean", Operator::Is(TypeTest::Boolean)),
    ("IsTimestamp", Operator::Is(TypeTest::Timestamp)),
];

/// Recognises an operator field name.
pub(crate) fn operator(name: &str) -> Option<Operator> {
    OPERATORS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, op)| *op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_complete_and_consistent() {
        assert_eq!(OPERATORS.len(), 39);
        for (name, op) in OPERATORS {
            if let Operator::Compare { kind, path, .. } = op {
                assert_eq!(name.ends_with("Path"), *path, "{name}");
                let prefix = match kind {
                    Kind::String => "String",
                    Kind::Numeric => "Numeric",
                    Kind::Boolean => "Boolean",
                    Kind::Timestamp => "Timestamp",
                };
                assert!(name.starts_with(prefix), "{name}");
            }
        }
        assert_eq!(operator("BooleanLessThan"), None);
        assert_eq!(
            operator("StringEqualsPath").map(Operator::operand),
            Some(OperandType::Path)
        );
        assert_eq!(
            operator("IsNull").map(Operator::operand),
            Some(OperandType::Boolean)
        );
    }
}
