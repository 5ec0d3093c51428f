//! Table-driven tests of every operator, including the inputs on which AWS fails the state.

use super::*;
use serde_json::{json, Map};

/// What a rule does on an input: match, not match, or fail with this cause.
#[derive(Debug, PartialEq)]
enum Outcome {
    T,
    F,
    Fails(String),
}
use Outcome::{Fails, F, T};

fn run(rule: &Value, input: &Value) -> Outcome {
    run_with(rule, input, &json!({}), &Map::new())
}

fn run_with(rule: &Value, input: &Value, context: &Value, vars: &Map<String, Value>) -> Outcome {
    let parsed = match Rule::parse(rule) {
        Ok(r) => r,
        Err(e) => return Fails(format!("parse: {e}")),
    };
    let scope = Scope {
        input,
        context,
        variables: vars,
    };
    match parsed.evaluate(&scope) {
        Ok(true) => T,
        Ok(false) => F,
        Err(e) => {
            assert_eq!(e.error, "States.Runtime");
            Fails(e.cause)
        }
    }
}

fn missing(path: &str) -> Outcome {
    Fails(format!(
        "Invalid path '{path}': The choice state's condition path references an invalid value."
    ))
}

/// Checks `op: literal` against `$.v` for each `(v, outcome)`, and the `...Path` form with the
/// literal moved to `$.w`.
fn table(op: &str, literal: Value, rows: &[(Value, Outcome)]) {
    for (v, want) in rows {
        let rule = json!({"Variable": "$.v", op: literal.clone()});
        assert_eq!(&run(&rule, &json!({"v": v})), want, "{op} {literal} on {v}");
        if !op.starts_with("Is") && op != "StringMatches" {
            let path_op = format!("{op}Path");
            let rule = json!({"Variable": "$.v", path_op.clone(): "$.w"});
            let input = json!({"v": v, "w": literal.clone()});
            assert_eq!(&run(&rule, &input), want, "{path_op} {literal} on {v}");
        }
    }
}

/// Values of every JSON type none of the typed comparisons accept, except the one named.
fn others(except: &str) -> Vec<Value> {
    let all = [
        ("null", json!(null)),
        ("number", json!(0)),
        ("float", json!(1.5)),
        ("string", json!("x")),
        ("bool", json!(true)),
        ("array", json!([1])),
        ("object", json!({"a": 1})),
    ];
    all.into_iter()
        .filter(|(k, _)| !except.contains(k))
        .map(|(_, v)| v)
        .collect()
}

#[test]
fn string_comparisons() {
    table(
        "StringEquals",
        json!("abc"),
        &[
            (json!("abc"), T),
            (json!("abd"), F),
            (json!("ABC"), F),
            (json!(""), F),
        ],
    );
    table(
        "StringLessThan",
        json!("b"),
        &[
            (json!("a"), T),
            (json!("b"), F),
            (json!("c"), F),
            (json!("B"), T),
            (json!(""), T),
        ],
    );
    table(
        "StringGreaterThan",
        json!("AB"),
        &[
            (json!("ABC"), T),
            (json!("AB"), F),
            (json!("A"), F),
            (json!("b"), T),
        ],
    );
    table(
        "StringLessThanEquals",
        json!("m"),
        &[(json!("m"), T), (json!("a"), T), (json!("z"), F)],
    );
    table(
        "StringGreaterThanEquals",
        json!("m"),
        &[(json!("m"), T), (json!("a"), F), (json!("z"), T)],
    );
    for op in [
        "StringEquals",
        "StringLessThan",
        "StringGreaterThan",
        "StringLessThanEquals",
        "StringGreaterThanEquals",
    ] {
        let rows: Vec<_> = others("string").into_iter().map(|v| (v, F)).collect();
        table(op, json!("x"), &rows);
    }
}

#[test]
fn strings_order_by_utf16_code_units() {
    // U+1F600 sorts after U+FF61 by code point but before it by UTF-16 units (0xD83D < 0xFF61).
    let rule = json!({"Variable": "$.v", "StringLessThan": "\u{FF61}"});
    assert_eq!(run(&rule, &json!({"v": "\u{1F600}"})), T);
    let rule = json!({"Variable": "$.v", "StringGreaterThan": "\u{FF61}"});
    assert_eq!(run(&rule, &json!({"v": "\u{1F600}"})), F);
    let rule = json!({"Variable": "$.v", "StringLessThan": "\u{1F600}"});
    assert_eq!(run(&rule, &json!({"v": "\u{FF61}"})), F);
}

#[test]
fn string_matches() {
    table(
        "StringMatches",
        json!("log-*.txt"),
        &[
            (json!("log-1.txt"), T),
            (json!("log-.txt"), T),
            (json!("log-1.txt.gz"), F),
            (json!(1), F),
            (json!(null), F),
        ],
    );
    table(
        "StringMatches",
        json!(r"a\*b"),
        &[(json!("a*b"), T), (json!("axb"), F)],
    );
    table(
        "StringMatches",
        json!(r"a\\*"),
        &[(json!(r"a\b"), T), (json!("ab"), F)],
    );
}

#[test]
fn numeric_comparisons() {
    table(
        "NumericEquals",
        json!(1),
        &[
            (json!(1), T),
            (json!(1.0), T),
            (json!(0), F),
            (json!(1.1), F),
            (json!(-1), F),
        ],
    );
    table(
        "NumericEquals",
        json!(0.0),
        &[
            (json!(0), T),
            (json!(0.0), T),
            (json!(-0.0), T),
            (json!(1), F),
        ],
    );
    table(
        "NumericLessThan",
        json!(10),
        &[
            (json!(9.999), T),
            (json!(10), F),
            (json!(10.0), F),
            (json!(11), F),
            (json!(-1e300), T),
        ],
    );
    table(
        "NumericGreaterThan",
        json!(-2.5),
        &[(json!(-2), T), (json!(-2.5), F), (json!(-3), F)],
    );
    table(
        "NumericLessThanEquals",
        json!(3),
        &[(json!(3.0), T), (json!(2), T), (json!(3.0001), F)],
    );
    table(
        "NumericGreaterThanEquals",
        json!(3),
        &[(json!(3.0), T), (json!(2), F), (json!(3.0001), T)],
    );
    // Integers beyond 2^53 stay exact when both sides are integers.
    table(
        "NumericEquals",
        json!(9_007_199_254_740_993_i64),
        &[
            (json!(9_007_199_254_740_993_i64), T),
            (json!(9_007_199_254_740_992_i64), F),
        ],
    );
    table(
        "NumericGreaterThan",
        json!(u64::MAX - 1),
        &[(json!(u64::MAX), T), (json!(-1), F)],
    );
    for op in [
        "NumericEquals",
        "NumericLessThan",
        "NumericGreaterThan",
        "NumericLessThanEquals",
        "NumericGreaterThanEquals",
    ] {
        let mut rows: Vec<_> = others("number float").into_iter().map(|v| (v, F)).collect();
        rows.push((json!("1"), F));
        table(op, json!(1), &rows);
    }
}

#[test]
fn boolean_equals() {
    table(
        "BooleanEquals",
        json!(true),
        &[(json!(true), T), (json!(false), F)],
    );
    table(
        "BooleanEquals",
        json!(false),
        &[(json!(false), T), (json!(true), F)],
    );
    let mut rows: Vec<_> = others("bool").into_iter().map(|v| (v, F)).collect();
    rows.push((json!("true"), F));
    rows.push((json!(1), F));
    table("BooleanEquals", json!(true), &rows);
    table(
        "BooleanEquals",
        json!(false),
        &[(json!(0), F), (json!(""), F), (json!(null), F)],
    );
}

#[test]
fn timestamp_comparisons() {
    let t0 = json!("2012-10-09T19:00:55Z");
    table(
        "TimestampEquals",
        t0.clone(),
        &[
            (json!("2012-10-09T19:00:55Z"), T),
            (json!("2012-10-09T20:00:55+01:00"), T),
            (json!("2012-10-09T19:00:55.000Z"), T),
            (json!("2012-10-09T19:00:55.001Z"), F),
            (json!("2012-10-09T19:00:56Z"), F),
            (json!("2012-10-09T19:00:55"), F),
            (json!("2023-02-24 12:15:56.832957"), F),
            (json!("2023-02-24"), F),
            (json!("date"), F),
        ],
    );
    table(
        "TimestampLessThan",
        t0.clone(),
        &[
            (json!("2012-10-09T19:00:54Z"), T),
            (json!("2012-10-09T19:00:54.999999999Z"), T),
            (json!("2012-10-09T19:00:55Z"), F),
            (json!("2012-10-09T19:00:55-00:01"), F),
            (json!("2012-10-09T19:00:55+00:01"), T),
        ],
    );
    table(
        "TimestampGreaterThan",
        t0.clone(),
        &[
            (json!("2012-10-09T19:00:56Z"), T),
            (json!("2012-10-09T19:00:55Z"), F),
        ],
    );
    table(
        "TimestampLessThanEquals",
        t0.clone(),
        &[
            (json!("2012-10-09T19:00:55Z"), T),
            (json!("2012-10-09T19:00:56Z"), F),
        ],
    );
    table(
        "TimestampGreaterThanEquals",
        t0.clone(),
        &[
            (json!("2012-10-09T19:00:55Z"), T),
            (json!("2012-10-09T19:00:54Z"), F),
        ],
    );
    for op in [
        "TimestampEquals",
        "TimestampLessThan",
        "TimestampGreaterThan",
        "TimestampLessThanEquals",
        "TimestampGreaterThanEquals",
    ] {
        let rows: Vec<_> = others("").into_iter().map(|v| (v, F)).collect();
        table(op, t0.clone(), &rows);
    }
}

#[test]
fn path_operand_of_another_type_is_false() {
    for (op, w) in [
        ("StringEqualsPath", json!(1)),
        ("NumericEqualsPath", json!("1")),
        ("BooleanEqualsPath", json!("true")),
        ("TimestampEqualsPath", json!("not a time")),
        ("TimestampEqualsPath", json!(0)),
    ] {
        let rule = json!({"Variable": "$.v", op: "$.w"});
        for v in [
            json!(1),
            json!("1"),
            json!(true),
            json!("2012-10-09T19:00:55Z"),
        ] {
            assert_eq!(run(&rule, &json!({"v": v, "w": w})), F, "{op} {v} vs {w}");
        }
    }
}

#[test]
fn type_tests() {
    let values = [
        json!(null),
        json!(0),
        json!(1.1),
        json!(""),
        json!("2012-10-09T19:00:55Z"),
        json!("2012-10-09T19:00:55"),
        json!(true),
        json!([]),
        json!({}),
    ];
    let expect = |op: &str, v: &Value| -> bool {
        match op {
            "IsNull" => v.is_null(),
            "IsPresent" => true,
            "IsNumeric" => v.is_number(),
            "IsString" => v.is_string(),
            "IsBoolean" => v.is_boolean(),
            "IsTimestamp" => v == "2012-10-09T19:00:55Z",
            _ => unreachable!(),
        }
    };
    for op in [
        "IsNull",
        "IsPresent",
        "IsNumeric",
        "IsString",
        "IsBoolean",
        "IsTimestamp",
    ] {
        for v in &values {
            for flag in [true, false] {
                let want = if expect(op, v) == flag { T } else { F };
                table(op, json!(flag), &[(v.clone(), want)]);
            }
        }
    }
}

#[test]
fn missing_variable_fails_except_is_present() {
    let input = json!({"other": 1});
    assert_eq!(
        run(&json!({"Variable": "$.v", "IsPresent": true}), &input),
        F
    );
    assert_eq!(
        run(&json!({"Variable": "$.v", "IsPresent": false}), &input),
        T
    );
    assert_eq!(
        run(
            &json!({"Variable": "$.v.deep", "IsPresent": false}),
            &json!({"v": "s"})
        ),
        T
    );
    for (op, lit) in [
        ("IsNull", json!(true)),
        ("IsNull", json!(false)),
        ("IsNumeric", json!(false)),
        ("IsString", json!(false)),
        ("IsBoolean", json!(false)),
        ("IsTimestamp", json!(false)),
        ("StringEquals", json!("a")),
        ("StringMatches", json!("*")),
        ("NumericEquals", json!(1)),
        ("NumericLessThan", json!(1)),
        ("BooleanEquals", json!(true)),
        ("TimestampEquals", json!("2012-10-09T19:00:55Z")),
        ("StringEqualsPath", json!("$.other")),
        ("NumericGreaterThanPath", json!("$.other")),
    ] {
        let rule = json!({"Variable": "$.v", op: lit});
        assert_eq!(run(&rule, &input), missing("$.v"), "{op}");
    }
}

#[test]
fn missing_path_operand_fails() {
    for op in [
        "StringEqualsPath",
        "NumericEqualsPath",
        "NumericLessThanEqualsPath",
        "BooleanEqualsPath",
        "TimestampGreaterThanPath",
    ] {
        let rule = json!({"Variable": "$.v", op: "$.w"});
        // Even when the Variable's type could never match.
        for v in [json!(8), json!("s"), json!(null)] {
            assert_eq!(run(&rule, &json!({"v": v})), missing("$.w"), "{op}");
        }
    }
}

#[test]
fn null_path_operand_is_present_but_never_equal() {
    let rule = json!({"Variable": "$.v", "NumericEqualsPath": "$.w"});
    assert_eq!(run(&rule, &json!({"v": 1, "w": null})), F);
}

#[test]
fn and_or_not() {
    let input = json!({"a": 1, "b": "x"});
    let a1 = json!({"Variable": "$.a", "NumericEquals": 1});
    let a2 = json!({"Variable": "$.a", "NumericEquals": 2});
    let bx = json!({"Variable": "$.b", "StringEquals": "x"});
    assert_eq!(run(&json!({"And": [a1, bx]}), &input), T);
    assert_eq!(run(&json!({"And": [a1, a2]}), &input), F);
    assert_eq!(run(&json!({"Or": [a2, bx]}), &input), T);
    assert_eq!(run(&json!({"Or": [a2, a2]}), &input), F);
    assert_eq!(run(&json!({"Not": a2}), &input), T);
    assert_eq!(run(&json!({"Not": {"Not": a1}}), &input), T);
    assert_eq!(
        run(
            &json!({"And": [{"Or": [a2, {"Not": a2}]}, {"Not": {"And": [a1, a2]}}]}),
            &input
        ),
        T
    );
}

#[test]
fn and_or_stop_early() {
    let guard = json!({"Variable": "$.maybe", "IsPresent": true});
    let use_it = json!({"Variable": "$.maybe", "StringEquals": "foo"});
    assert_eq!(run(&json!({"And": [guard, use_it]}), &json!({})), F);
    assert_eq!(
        run(&json!({"And": [guard, use_it]}), &json!({"maybe": "foo"})),
        T
    );
    let absent = json!({"Variable": "$.maybe", "IsPresent": false});
    assert_eq!(run(&json!({"Or": [absent, use_it]}), &json!({})), T);
    // Without the guard the comparison reads the missing field and fails.
    assert_eq!(
        run(&json!({"Or": [use_it, absent]}), &json!({})),
        missing("$.maybe")
    );
    assert_eq!(run(&json!({"Not": use_it}), &json!({})), missing("$.maybe"));
}

#[test]
fn reads_context_and_variables() {
    let ctx = json!({"Execution": {"Name": "run-1"}});
    let mut vars = Map::new();
    vars.insert("limit".into(), json!(10));
    let rule = json!({"Variable": "$$.Execution.Name", "StringEquals": "run-1"});
    assert_eq!(run_with(&rule, &json!({}), &ctx, &vars), T);
    let rule = json!({"Variable": "$.n", "NumericLessThanPath": "$$.Execution.Name"});
    assert_eq!(run_with(&rule, &json!({"n": 1}), &ctx, &vars), F);
    let rule = json!({"Variable": "$$.Execution.Missing", "IsPresent": false});
    assert_eq!(run_with(&rule, &json!({}), &ctx, &vars), T);
    let rule = json!({"Variable": "$limit", "NumericEquals": 10});
    assert_eq!(run_with(&rule, &json!({}), &ctx, &vars), T);
    let rule = json!({"Variable": "$.n", "NumericLessThanPath": "$limit"});
    assert_eq!(run_with(&rule, &json!({"n": 3}), &ctx, &vars), T);
    let rule = json!({"Variable": "$nope", "NumericEquals": 10});
    assert_eq!(run_with(&rule, &json!({}), &ctx, &vars), missing("$nope"));
}

#[test]
fn nested_fields() {
    let rule = json!({"Variable": "$.a.b", "NumericEquals": 2});
    assert_eq!(run(&rule, &json!({"a": {"b": 2}})), T);
    assert_eq!(run(&rule, &json!({"a": {"c": 2}})), missing("$.a.b"));
    assert_eq!(run(&rule, &json!({"a": 5})), missing("$.a.b"));
}

#[test]
fn parse_accepts_branch_fields() {
    let rule = json!({
        "Variable": "$.a", "NumericEquals": 1, "Next": "X", "Comment": "c",
        "Assign": {"x": 1}, "Output": {}
    });
    assert!(Rule::parse(&rule).is_ok());
}

#[test]
fn parse_rejects_malformed_rules() {
    let bad = [
        json!("not an object"),
        json!({}),
        json!({"Next": "X"}),
        json!({"Variable": "$.a"}),
        json!({"Variable": "$.a", "NumericEquals": "1"}),
        json!({"Variable": "$.a", "StringEquals": 1}),
        json!({"Variable": "$.a", "BooleanEquals": "true"}),
        json!({"Variable": "$.a", "TimestampEquals": "yesterday"}),
        json!({"Variable": "$.a", "TimestampEquals": 5}),
        json!({"Variable": "$.a", "IsNull": "true"}),
        json!({"Variable": "$.a", "StringMatches": 1}),
        json!({"Variable": "$.a", "StringMatchesPath": "$.b"}),
        json!({"Variable": "$.a", "BooleanLessThan": true}),
        json!({"Variable": "$.a", "NumericEqualsPath": "b"}),
        json!({"Variable": "$.a", "NumericEqualsPath": 1}),
        json!({"Variable": "a", "NumericEquals": 1}),
        json!({"Variable": 1, "NumericEquals": 1}),
        json!({"NumericEquals": 1}),
        json!({"Variable": "$.a", "NumericEquals": 1, "StringEquals": "x"}),
        json!({"Variable": "$.a", "NumericEquals": 1, "Foo": 1}),
        json!({"And": []}),
        json!({"And": {}}),
        json!({"Not": []}),
        json!({"And": [{"Variable": "$.a", "IsNull": true}], "Variable": "$.a"}),
        json!({"And": [{"Variable": "$.a", "IsNull": true}], "Or": [{"Variable": "$.a", "IsNull": true}]}),
        json!({"And": [{"Variable": "$.a", "IsNull": 1}]}),
        json!({"Variable": "States.ArrayContains($.a, 1)", "NumericEquals": 1}),
    ];
    for b in &bad {
        assert!(Rule::parse(b).is_err(), "{b} should not parse");
    }
    // The definition validator refuses all but these (timestamp literals are only checked when
    // the rule is parsed; `Variable` beside `And` is not checked by the validator).
    let accepted: Vec<&Value> = bad
        .iter()
        .filter(|b| rule_diagnostics(b).is_empty())
        .collect();
    assert_eq!(
        accepted,
        [
            &json!({"Variable": "$.a", "TimestampEquals": "yesterday"}),
            &json!({"And": [{"Variable": "$.a", "IsNull": true}], "Variable": "$.a"}),
        ]
    );
}

/// What the definition validator says about a JSONPath `Choices` entry.
fn rule_diagnostics(rule: &Value) -> Vec<(String, String)> {
    let mut rule = rule.clone();
    if let Some(o) = rule.as_object_mut() {
        o.entry("Next").or_insert(json!("E"));
    }
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [rule]},
        "E": {"Type": "Succeed"}}});
    crate::validate::validate(&def.to_string())
        .into_iter()
        .map(|d| (d.message, d.location))
        .collect()
}

#[test]
fn validator_locations() {
    let rule = json!({
        "And": [
            {"Variable": "$.a", "NumericEquals": "1"},
            {"Not": {"Variable": "$.t", "TimestampEquals": "2012-10-09T19:00:55", "Next": "X"}}
        ],
        "Next": "E"
    });
    let at = |s: &str| format!("/States/C/Choices/0/And/{s}");
    assert_eq!(
        rule_diagnostics(&rule),
        [
            (
                "The value for the field 'NumericEquals' must be a NUMBER".to_string(),
                at("0/NumericEquals")
            ),
            ("Field 'Next' is not supported".to_string(), at("1/Not")),
        ]
    );
    let ok = json!({"Variable": "$.a", "TimestampEqualsPath": "$.b", "Next": "E"});
    assert!(rule_diagnostics(&ok).is_empty());
}

#[test]
fn says_whether_it_reads_the_context() {
    for (rule, reads) in [
        (json!({"Variable": "$.n", "NumericLessThan": 1}), false),
        (
            json!({"Variable": "$.n", "NumericLessThanPath": "$limit"}),
            false,
        ),
        (
            json!({"Variable": "$$.Execution.Name", "StringEquals": "a"}),
            true,
        ),
        (
            json!({"Variable": "$.n", "NumericLessThanPath": "$$.State.RetryCount"}),
            true,
        ),
        (
            json!({"Not": {"Or": [{"Variable": "$.a", "IsNull": true}, {"Variable": "$$.Map.Item.Index", "NumericEquals": 0}]}}),
            true,
        ),
    ] {
        let parsed = Rule::parse(&rule).expect("a rule");
        assert_eq!(parsed.reads_context(), reads, "{rule}");
    }
}
