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
        (json!({"r": "{% $randomSeeded($states.input.a) %}"}), "Output", "The JSONata expression '$randomSeeded($states.input.a)' specified for the field 'Output/r' threw an error during evaluation. T1006: Attempted to invoke a non-function"),
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

/// Everything the instrumentation does must leave results unchanged: each expression evaluates
/// to the same value (or fails with the same message) with and without it.
#[test]
fn instrumentation_does_not_change_results() {
    let input = json!({
        "a": [1, 2, 3], "e": [], "n": null, "s": "Hello World",
        "o": {"x": {"y": [{"z": 1}, {"z": 2}]}, "w": 3},
        "people": [{"name": "A", "age": 30, "tags": ["x"]}, {"name": "B", "age": 20, "tags": []}]
    });
    let exprs = [
        "$states.input.a.($ * 2)",
        "$states.input.people[age > 25].name",
        "$states.input.people.tags",
        "$states.input.people{name: age}",
        "$states.input.people^(age).name",
        "$states.input.people#$i.{'i': $i, 'n': name}",
        "$states.input.people@$p.tags@$t.{'p': $p.name, 't': $t}",
        "$states.input.o.**.z",
        "$states.input.o.*",
        "$map($states.input.a, function($v, $i){ $v + $i })",
        "$filter($states.input.a, function($v){ $v > 1 })",
        "$reduce($states.input.a, function($x, $y){ $x + $y })",
        "$sort($states.input.people, function($l, $r){ $l.age > $r.age }).name",
        "($f := function($n){ $n <= 1 ? 1 : $n * $f($n - 1) }; $f(10))",
        "($loop := function($n, $acc){ $n = 0 ? $acc : $loop($n - 1, $acc + $n) }; $loop(5000, 0))",
        "($add := function($x, $y){ $x + $y }; $inc := $add(?, 1); $inc(41))",
        "$states.input.s ~> $uppercase()",
        "$states.input.s ~> $substring(0, 5) ~> $lowercase()",
        "($up := $uppercase; $states.input.s ~> $up)",
        "$states.input.a ~> $map(function($v){ $v * 10 })",
        "[1..5][$ % 2 = 1]",
        "[[1, 2], [3]]",
        "[$states.input.a, [4]]",
        "$states.input.a[[0..1]]",
        "($x := [1..3]; $x)",
        "$count([1..10].([1..$]))",
        "'a' & $states.input.a & 'b'",
        "$states.input.missing & 'x'",
        "$string($states.input.o)",
        "$join($states.input.people.name, ',')",
        "$pad('x', 5, '-')",
        "$pad('x', -5)",
        "$replace($states.input.s, 'o', '0')",
        "$states.input.people.(name & ':' & $string(age))",
        "$states.input.o.x.y.{'z2': z * 2}",
        "$spread($states.input.o)",
        "$keys($states.input.o)",
        "$merge([{'a': 1}, {'b': 2}])",
        "$states.input ~> |o|{'w': 4}, ['x']|",
        "$each($states.input.o, function($v, $k){ $k })",
        "$exists($states.input.n)",
        "$type($states.input.e)",
        "$single([1, 2, 3], function($v){ $v = 2 })",
        "$zip([1, 2], [3, 4])",
        "$distinct([1, 1, 2])",
        "$states.input.a[-1]",
        "($s := 0; $states.input.a.($s := $s + $); $s)",
        "$states.input.a[0] ? 'yes' : 'no'",
        "$boolean([0])",
        "$not($states.input.e)",
        "$lookup($states.input.o, 'w')",
        "$match($states.input.s, /o/)",
        "$contains($states.input.s, /W.r/)",
        "$split('a,b,c', ',')[1]",
        "$formatNumber(1234.5, '#,##0.00')",
        "$formatBase(255, 16)",
        "$fromMillis(0)",
        "$toMillis('2024-01-01T00:00:00Z')",
        "$number('12') + 1",
        "$round(2.5)",
        "$abs(-3)",
        "$max($states.input.a) - $min($states.input.a)",
        "$average($states.input.a)",
        "$append($states.input.a, 4)",
        "$reverse($states.input.a)",
        "$shuffle([1]) ",
        "$partition($states.input.a, 2)",
        "$range(1, 10, 3)",
        "$hash($states.input.s, 'SHA-256')",
        "$parse('[1,2]')[1]",
        "$states.input.a.$string()",
        "$states.input.people.$count(tags)",
        "$states.input.a.[$, $ * 2]",
        "$states.input.a.{'v': $}",
        "function($x){ $x }(3)",
        "(function($x){ $x * 2 })(21)",
        "$states.input.a[$ > 1][0]",
        "$states.input.nope.nope",
        "$undefinedFunction(1)",
        "$uppercase(1)",
        "1 + 'a'",
        "$states.input.people[0].age.foo",
        "$sum($states.input.people.age) / $count($states.input.people)",
        "$states.input.a ~> $sum",
        "$states.input.a ~> $append([9]) ~> $count()",
        "(\n  $a := 1;\n  /* comment */ $a + 1\n)",
    ];
    let bindings = states(input);
    for expr in exprs {
        let plain = evaluate_with(expr, &bindings, &mut Counter(1), false);
        let guarded = evaluate_with(expr, &bindings, &mut Counter(1), true);
        assert_eq!(plain, guarded, "{expr}");
    }
}

/// The JSONata expressions of the recorded AWS executions all parse, and the simple ones (a
/// Pass state whose `Output` is a template over `$states.input`) evaluate to what AWS returned.
#[test]
fn conformance_expressions() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/cases");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("no conformance cases at {}", dir.display());
        return;
    };
    let mut parsed = 0;
    let mut compared = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(text) = std::fs::read_to_string(path.join("definition.json")) else {
            continue;
        };
        let Ok(definition) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let mut strings = Vec::new();
        collect_strings(&definition, &mut strings);
        for s in &strings {
            if let Some(expr) = is_template(s) {
                check_syntax(expr).unwrap_or_else(|e| panic!("{}: {expr}: {e}", path.display()));
                parsed += 1;
            }
        }
        // Single Pass state with a templated Output over the input.
        let states_map = definition.get("States").and_then(Value::as_object);
        let Some(states_map) = states_map else {
            continue;
        };
        if states_map.len() != 1 {
            continue;
        }
        let Some(state) = states_map.values().next() else {
            continue;
        };
        let is_jsonata = definition
            .get("QueryLanguage")
            .or(state.get("QueryLanguage"))
            == Some(&json!("JSONata"));
        if state.get("Type") != Some(&json!("Pass")) || !is_jsonata {
            continue;
        }
        let (Some(output), Ok(input), Ok(expected)) = (
            state.get("Output"),
            std::fs::read_to_string(path.join("input.json")),
            std::fs::read_to_string(path.join("expected.json")),
        ) else {
            continue;
        };
        let input: Value = serde_json::from_str(&input).unwrap_or(Value::Null);
        let expected: Value = serde_json::from_str(&expected).unwrap_or(Value::Null);
        if expected["status"] != json!("SUCCEEDED") {
            continue;
        }
        let Some(want) = expected["output"]
            .as_str()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
        else {
            continue;
        };
        if want.to_string().contains('<') {
            continue;
        }
        let got = evaluate_template(output, &states(input), &mut Counter(0), "Output")
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(got, want, "{}", path.display());
        assert_eq!(
            got.to_string(),
            want.to_string(),
            "{} (printed)",
            path.display()
        );
        compared += 1;
    }
    eprintln!("conformance: {parsed} expressions parsed, {compared} outputs compared");
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

/// Random expressions over random inputs: evaluation never panics, always ends, and the
/// instrumentation never changes a result that fits in the budget.
#[test]
fn fuzz_random_expressions() {
    let mut rng = functions::SplitMix64::new(0x5eed);
    let atoms = [
        "1",
        "0",
        "-2.5",
        "'a'",
        "\"b\"",
        "true",
        "false",
        "null",
        "[]",
        "{}",
        "$",
        "$states.input",
        "$states.input.a",
        "$states.input.o.k",
        "$v",
        "$x",
        "[1..3]",
        "$states.input.a[0]",
        "$random()",
        "$uuid()",
        "$now()",
    ];
    let unary = [
        "$count(#)",
        "$string(#)",
        "$number(#)",
        "$sum(#)",
        "$exists(#)",
        "$type(#)",
        "-(#)",
        "[#]",
        "{'k': #}",
        "(#)",
        "$not(#)",
        "$keys(#)",
        "$reverse(#)",
        "$parse(#)",
        "$hash(#, 'MD5')",
        "$partition(#, 2)",
        "$map(#, function($e){ # })",
        "$filter(#, function($e){ $e })",
        "#[0]",
        "#.k",
        "#[$ > 0]",
        "$distinct(#)",
        "$uppercase(#)",
        "$length(#)",
        "$sort(#)",
        "($x := #; $x)",
        "# ~> $count()",
        "$boolean(#)",
        "$lookup(#, 'k')",
        "$append(#, #)",
        "$spread(#)",
        "$each(#, function($v){$v})",
    ];
    let binary = [
        "# + #",
        "# - #",
        "# * #",
        "# / #",
        "# % #",
        "# & #",
        "# = #",
        "# != #",
        "# < #",
        "# and #",
        "# or #",
        "# in #",
        "[# .. #]",
        "# ? # : #",
        "$range(#, #, 1)",
        "$partition(#, #)",
        "$pad(#, #)",
        "$join(#, #)",
        "$substring(#, #)",
        "$zip(#, #)",
        "$merge([#, #])",
        "#.#",
        "#[#]",
        "$split(#, #)",
        "$contains(#, #)",
        "$replace(#, #, 'x')",
    ];
    fn gen(
        rng: &mut functions::SplitMix64,
        depth: u32,
        atoms: &[&str],
        unary: &[&str],
        binary: &[&str],
    ) -> String {
        let pick = |rng: &mut functions::SplitMix64, n: usize| (rng.next_u64() % n as u64) as usize;
        if depth == 0 || rng.next_u64().is_multiple_of(4) {
            return atoms[pick(rng, atoms.len())].to_string();
        }
        if rng.next_u64().is_multiple_of(2) {
            let t = unary[pick(rng, unary.len())];
            let a = gen(rng, depth - 1, atoms, unary, binary);
            t.replace('#', &a)
        } else {
            let t = binary[pick(rng, binary.len())];
            let mut out = String::new();
            for (i, part) in t.split('#').enumerate() {
                if i > 0 {
                    out.push_str(&gen(rng, depth - 1, atoms, unary, binary));
                }
                out.push_str(part);
            }
            out
        }
    }
    let inputs = [
        json!({"a": [1, 2, 3], "o": {"k": "v"}}),
        json!({"a": [], "o": {"k": [1, "2", null]}}),
        json!({"a": "str", "o": null}),
        json!([1, {"a": 2}]),
    ];
    let mut evaluated = 0;
    for i in 0..1500 {
        let expr = gen(&mut rng, 4, &atoms, &unary, &binary);
        let mut bindings = states(inputs[i % inputs.len()].clone());
        bindings.insert("v".into(), json!({"k": i}));
        let start = std::time::Instant::now();
        let guarded = evaluate_with(&expr, &bindings, &mut Counter(i as u64), true);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "{expr}"
        );
        if !expr.contains("$now") {
            let plain = evaluate_with(&expr, &bindings, &mut Counter(i as u64), false);
            assert_eq!(plain, guarded, "{expr}");
        }
        evaluated += 1;
    }
    assert_eq!(evaluated, 1500);
}
