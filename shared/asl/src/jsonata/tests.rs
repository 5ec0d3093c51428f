use super::*;
use serde_json::json;

struct Counter(u64);
impl Entropy for Counter {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x1234_5678_9abc_def1);
        self.0
    }
}

fn states(input: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "states".into(),
        json!({"input": input, "context": {"State": {"EnteredTime": "2024-01-02T03:04:05.678Z"}}}),
    );
    m
}

fn eval(expr: &str) -> Result<Option<Value>, EvalError> {
    evaluate(expr, &states(json!({})), &mut Counter(1))
}

fn eval_input(expr: &str, input: Value) -> Result<Option<Value>, EvalError> {
    evaluate(expr, &states(input), &mut Counter(1))
}

fn cause(expr: &str) -> String {
    match eval(expr) {
        Err(e) => {
            assert_eq!(e.error, "States.QueryEvaluationError", "{expr}");
            e.cause
        }
        Ok(v) => panic!("{expr} should fail, returned {v:?}"),
    }
}

#[test]
fn template_rule() {
    for (s, expected) in [
        ("{% $x %}", Some("$x")),
        ("{%$x%}", Some("$x")),
        ("{%  1 + 2\n%}", Some("1 + 2")),
        ("{%%}", Some("")),
        (" {% $x %}", None),
        ("{% $x %} ", None),
        ("{% $x", None),
        ("$x %}", None),
        ("{%}", None),
        ("plain", None),
    ] {
        assert_eq!(is_template(s), expected, "{s:?}");
    }
}

#[test]
fn check_syntax_accepts_and_rejects() {
    assert!(check_syntax("$states.input.a + 1").is_ok());
    assert!(check_syntax("($x := 1; $x)").is_ok());
    for bad in ["", "   ", "1 +", "$states.input.[", "(", "{'a': }"] {
        assert!(check_syntax(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn basic_evaluation_and_numbers() {
    for (expr, expected) in [
        ("1 + 1", json!(2)),
        ("1.5 * 2", json!(3)),
        ("0.1 + 0.2", json!(0.30000000000000004)),
        ("7 / 2", json!(3.5)),
        ("[1, 2.0, -0]", json!([1, 2, 0])),
        ("9007199254740992", json!(9007199254740992_i64)),
        ("1e21", json!(1e21)),
        ("null", json!(null)),
        ("'a' & 1", json!("a1")),
        ("{'k': [1, {'n': true}]}", json!({"k": [1, {"n": true}]})),
        ("$states.input.a", json!([1, 2, 3])),
        ("$states.input.a[1]", json!(2)),
        ("$sum($states.input.a)", json!(6)),
        ("$states.input.e", json!([])),
        ("$count($states.input.e)", json!(0)),
        ("$exists($states.input.n)", json!(true)),
        ("$exists($states.input.missing)", json!(false)),
        ("$states.input.n", json!(null)),
        (
            "$states.context.State.EnteredTime",
            json!("2024-01-02T03:04:05.678Z"),
        ),
        ("$now()", json!("2024-01-02T03:04:05.678Z")),
        ("$millis()", json!(1_704_164_645_678_i64)),
        ("$now('[Y0001]-[M01]')", json!("2024-01")),
    ] {
        assert_eq!(
            eval_input(expr, json!({"a": [1, 2, 3], "e": [], "n": null})).unwrap(),
            Some(expected),
            "{expr}"
        );
    }
    assert_eq!(eval("$states.input.missing").unwrap(), None);
    assert_eq!(eval("$").unwrap(), None);
}

#[test]
fn variables_are_bound_by_name() {
    let mut bindings = states(json!({}));
    bindings.insert("myVar".into(), json!({"x": 41}));
    bindings.insert("$other".into(), json!("s"));
    let r = evaluate("$myVar.x + 1 & $other", &bindings, &mut Counter(0)).unwrap();
    assert_eq!(r, Some(json!("42s")));
}

#[test]
fn partition_table() {
    for (expr, expected) in [
        (
            "$partition([1,2,3,4,5,6,7,8,9], 3)",
            json!([[1, 2, 3], [4, 5, 6], [7, 8, 9]]),
        ),
        ("$partition([1,2,3,4], 3)", json!([[1, 2, 3], [4]])),
        ("$partition([0], 5)", json!([[0]])),
        ("$partition([0,1,2,3], 1)", json!([[0], [1], [2], [3]])),
        ("$partition([], 2)", json!([])),
        ("$partition('a', 2)", json!([["a"]])),
    ] {
        assert_eq!(eval(expr).unwrap(), Some(expected), "{expr}");
    }
    assert_eq!(eval("$partition($nothing, 2)").unwrap(), None);
    for bad in [
        "$partition([1], 0)",
        "$partition([1], 1.5)",
        "$partition([1], -1)",
    ] {
        assert!(cause(bad).contains("positive integer"), "{bad}");
    }
    assert!(cause("$partition([1], 'a')").starts_with("T0410: Argument 2"));
    assert!(cause("$partition([1], 1, 2)").starts_with("T0410: Argument 3"));
}

#[test]
fn range_table() {
    for (expr, expected) in [
        ("$range(0, 9, 3)", json!([0, 3, 6, 9])),
        ("$range(0, 10, 3)", json!([0, 3, 6, 9])),
        ("$range(1, 9, 9)", json!(1)),
        ("$range(1, 9, 2)", json!([1, 3, 5, 7, 9])),
        ("$range(0, 10, 2)", json!([0, 2, 4, 6, 8, 10])),
        ("$range(9, 1, -2)", json!([9, 7, 5, 3, 1])),
        ("$range(-1.2, 2.8, 1.9)", json!([-1, 0, 1, 2])),
        ("$append([], $range(7, 7, 1))", json!([7])),
    ] {
        assert_eq!(eval(expr).unwrap(), Some(expected), "{expr}");
    }
    for undefined in [
        "$range(3, 1, 1)",
        "$range(1, 3, -1)",
        "$range(0, 4, 0)",
        "$range(0, 4)",
    ] {
        assert_eq!(eval(undefined).unwrap(), None, "{undefined}");
    }
    assert_eq!(
        cause("$range('0', 4, 1)"),
        "T0410: Argument 1 of function \"range\" does not match function signature"
    );
    assert!(cause("$range(0, 4, 1, 2)").starts_with("T0410: Argument 4"));
    assert!(cause("$range(0, 100000000, 1)").starts_with("D2014"));
}

#[test]
fn hash_table() {
    for (algorithm, digest) in [
        ("MD5", "0cc175b9c0f1b6a831c399e269772661"),
        ("SHA-1", "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"),
        (
            "SHA-256",
            "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
        ),
        (
            "SHA-384",
            "54a59b9f22b0b80880d8427e548b7c23abd873486e1f035dce9cd697e85175033caa88e6d57bc35efae0b5afd3145f31",
        ),
        (
            "SHA-512",
            "1f40fc92da241694750979ee6cf582f2d5d7d28e18335de05abc54d0560e0f5302860c652bf08d560252aa5e74210546f369fbbbce8c12cfc7957b2652fe9a75",
        ),
    ] {
        assert_eq!(
            eval(&format!("$hash('a', '{algorithm}')")).unwrap(),
            Some(json!(digest)),
            "{algorithm}"
        );
    }
    assert!(cause("$hash('a', 'SHA-999')").contains("not supported"));
    assert!(cause("$hash(1, 'MD5')").starts_with("T0410: Argument 1"));
    assert_eq!(eval("$hash($nothing, 'MD5')").unwrap(), None);
}

#[test]
fn random_and_uuid_use_entropy_only() {
    let run = |expr: &str, seed: u64| evaluate(expr, &states(json!({})), &mut Counter(seed));
    let a = run("$random()", 7).unwrap().unwrap();
    assert_eq!(
        run("$random()", 7).unwrap().unwrap(),
        a,
        "same entropy, same number"
    );
    assert_ne!(run("$random()", 8).unwrap().unwrap(), a);
    let n = a.as_f64().unwrap();
    assert!((0.0..1.0).contains(&n));
    let seeded = run("$random(42)", 1).unwrap();
    assert_eq!(
        run("$random(42)", 2).unwrap(),
        seeded,
        "a seed fixes the number"
    );
    assert!(cause("$random('x')").starts_with("T0410"));
    assert!(cause("$random(1.5)").contains("integer"));
    let two = run("[$random(), $random()]", 3).unwrap().unwrap();
    assert_ne!(two[0], two[1]);

    let u = run("$uuid()", 5).unwrap().unwrap();
    let u = u.as_str().unwrap();
    let re =
        regex::Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            .unwrap();
    assert!(re.is_match(u), "{u}");
    assert_eq!(run("$uuid()", 5).unwrap().unwrap(), json!(u));
    assert!(cause("$uuid(1)").starts_with("T0410: Argument 1"));

    // Expressions that cannot call them do not consume entropy.
    struct Panics;
    impl Entropy for Panics {
        fn next_u64(&mut self) -> u64 {
            panic!("entropy drawn")
        }
    }
    assert_eq!(
        evaluate("1 + 1", &states(json!({})), &mut Panics).unwrap(),
        Some(json!(2))
    );
}

#[test]
fn parse_table() {
    for (arg, expected) in [
        ("'1'", json!(1)),
        ("'1.1'", json!(1.1)),
        ("'true'", json!(true)),
        ("'\"HelloWorld\"'", json!("HelloWorld")),
        ("'{\"a\": [1, null]}'", json!({"a": [1, null]})),
        ("'null'", json!(null)),
    ] {
        assert_eq!(
            eval(&format!("$parse({arg})")).unwrap(),
            Some(expected),
            "{arg}"
        );
    }
    assert!(cause("$parse('{')").contains("not a valid JSON"));
    assert!(cause("$parse(1)").starts_with("T0410"));
    let deep = format!("$parse('{}{}')", "[".repeat(2000), "]".repeat(2000));
    assert!(!cause(&deep).is_empty());
}

#[test]
fn eval_is_not_supported() {
    assert!(cause("$eval('1 + 1')").contains("not supported"));
}

#[test]
fn field_errors_match_aws() {
    let bindings = states(json!({"a": 1}));
    let field = |value: Value, name: &str| {
        evaluate_template(&value, &bindings, &mut Counter(0), name).unwrap_err()
    };
    for (template, name, expected) in [
        (json!("{% $doesNotExist %}"), "Output", "The JSONata expression '$doesNotExist' specified for the field 'Output' returned nothing (undefined)."),
        (json!({"result": "{% $doesNotExist %}"}), "Output", "The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined)."),
        (json!({"FunctionName": "{% $doesNotExist %}"}), "Arguments", "The JSONata expression '$doesNotExist' specified for the field 'Arguments/FunctionName' returned nothing (undefined)."),
        (json!({"result": "{% $doesNotExist %}"}), "Assign", "The JSONata expression '$doesNotExist' specified for the field 'Assign/result' returned nothing (undefined)."),
        (json!({"a": {"b": ["x", "{%$nope%}"]}}), "Output", "The JSONata expression '$nope' specified for the field 'Output/a/b/1' returned nothing (undefined)."),
        (json!("{% $range('0',4,1) %}"), "Output", "The JSONata expression '$range('0',4,1)' specified for the field 'Output' threw an error during evaluation. T0410: Argument 1 of function \"range\" does not match function signature"),
        (json!("{% function($x){$x} %}"), "Output", "The JSONata expression 'function($x){$x}' specified for the field 'Output' returned an unsupported result type."),
    ] {
        let e = field(template, name);
        assert_eq!(e.error, "States.QueryEvaluationError");
        assert_eq!(e.cause, expected);
    }
}

#[test]
fn template_walk_replaces_every_expression() {
    let bindings = states(json!({"v": [1, 2, 3], "s": "x"}));
    let template = json!({
        "literal": "{% not an expression",
        "spaced": " {% 1 %}",
        "n": "{% $count($states.input.v) %}",
        "nested": {"list": ["{% $states.input.s %}", 5, null, {"deep": "{%$states.input.v[0]%}"}]},
        "obj": "{% {'k': $states.input.v[-1]} %}",
        "keep": "$.not.jsonpath",
        "f": 1.5
    });
    let out = evaluate_template(&template, &bindings, &mut Counter(0), "Arguments").unwrap();
    assert_eq!(
        out,
        json!({
            "literal": "{% not an expression",
            "spaced": " {% 1 %}",
            "n": 3,
            "nested": {"list": ["x", 5, null, {"deep": 1}]},
            "obj": {"k": 3},
            "keep": "$.not.jsonpath",
            "f": 1.5
        })
    );
    assert_eq!(
        evaluate_template(&json!("{% null %}"), &bindings, &mut Counter(0), "Output").unwrap(),
        json!(null)
    );
}

/// Expressions whose cost must end in an error, quickly, instead of hanging or exhausting memory.
#[test]
fn pathological_expressions_are_bounded() {
    let chain = vec!["1"; 50_000].join("+");
    let parens = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
    let arrays = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let exprs = [
        "[1..100000000]".to_string(),
        "($f := function($n){ $f($n+1) }; $f(0))".into(),
        "($f := function($n){ 1 + $f($n+1) }; $f(0))".into(),
        "($f := function(){ $f() }; $f())".into(),
        "[1..100000].([1..100000] ~> $count())".into(),
        "$count([1..100000].($count([1..100000])))".into(),
        "($f := function($s, $n){ $n = 0 ? $s : $f($s & $s, $n - 1) }; $f('ab', 40))".into(),
        "$pad('', 1000000000)".into(),
        "($s := $pad('', 10000000); $join([1..100].($s)))".into(),
        "($s := $pad('', 10000000); $string([$s, $s]))".into(),
        "($s := $pad('', 10000000); [1..100].($s))".into(),
        "$sum($map([1..100000], function($x){ $map([1..100000], function($y){ $y }) ~> $count() }))".into(),
        "[1..10000].[1..10000]".into(),
        "$reduce([1..1000000], function($a, $b){ [$a] }, [])".into(),
        "$parse($pad('', 100000, '['))".into(),
        chain,
        parens,
        arrays,
    ];
    for e in &exprs {
        let start = std::time::Instant::now();
        let r = eval(e);
        assert!(
            r.is_err(),
            "{} returned {:?}",
            &e[..e.len().min(60)],
            r.map(|v| v.is_some())
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "{} took {:?}",
            &e[..e.len().min(60)],
            start.elapsed()
        );
        assert!(check_syntax(e).is_err() || r.is_err());
    }
}
