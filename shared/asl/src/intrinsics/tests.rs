use super::*;
use serde_json::{json, Map};

pub(crate) struct Counter(pub u64);

impl Entropy for Counter {
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0
    }
}

fn run(expr: &str, input: Value) -> Result<Value, EvalError> {
    let ctx = json!({"Execution": {"Name": "exec", "Input": input.clone()}, "StateMachine": {"Id": "arn:sm", "Name": "sm"}});
    let vars: Map<String, Value> = json!({"v": "var value", "arr": [1, 2]})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let scope = Scope {
        input: &input,
        context: &ctx,
        variables: &vars,
    };
    evaluate_field(expr, "f.$", &scope, &mut Counter(7))
}

#[test]
fn successes() {
    let cases: Vec<(&str, Value, Value)> = vec![
        // Format
        ("States.Format('Formatting argument {}.', $.a)", json!({"a": ""}), json!("Formatting argument .")),
        ("States.Format('Formatting argument {}.', $.a)", json!({"a": 1.1}), json!("Formatting argument 1.1.")),
        ("States.Format('{} and {}', $.a, $.b)", json!({"a": null, "b": 1}), json!("null and 1")),
        ("States.Format('{}', $.a)", json!({"a": {"Arg1": 1, "Arg2": []}}), json!("{Arg1=1, Arg2=[]}")),
        ("States.Format('{}', $.a)", json!({"a": [1, "x", [true]]}), json!("[1, x, [true]]")),
        ("States.Format('{}', $.a)", json!({"a": "{\"Arg1\": 1}"}), json!("{\"Arg1\": 1}")),
        ("States.Format('{}', $.a)", json!({"a": 1.0e20}), json!("1.0E20")),
        ("States.Format('fst={} snd={}.', $$.Execution.Name, $$.StateMachine)", json!({}), json!("fst=exec snd={Id=arn:sm, Name=sm}.")),
        ("States.Format('it\\'s \\{\\} {} \\\\', 'x')", json!({}), json!("it's {} x \\")),
        ("States.Format($.t, $.n)", json!({"t": "Hi {}!", "n": "Bob"}), json!("Hi Bob!")),
        ("States.Format('Hello {}, welcome to {}!', $v, 'here')", json!({}), json!("Hello var value, welcome to here!")),
        ("States.Format('none')", json!({}), json!("none")),
        // StringToJson
        ("States.StringToJson($.s)", json!({"s": ""}), Value::Null),
        ("States.StringToJson($.s)", json!({"s": " "}), Value::Null),
        ("States.StringToJson($.s)", json!({"s": "null"}), Value::Null),
        ("States.StringToJson($.s)", json!({"s": "1.1"}), json!(1.1)),
        ("States.StringToJson($.s)", json!({"s": "-0"}), json!(0)),
        ("States.StringToJson($.s)", json!({"s": "[-0, -0.5, \"-0\", {\"é-0\": -0}]"}), json!([0, -0.5, "-0", {"é-0": 0}])),
        ("States.StringToJson($.s)", json!({"s": "true"}), json!(true)),
        ("States.StringToJson($.s)", json!({"s": "[1, 2, \"HelloWorld\"]"}), json!([1, 2, "HelloWorld"])),
        ("States.StringToJson('{\"key\":\"value\"}')", json!({}), json!({"key": "value"})),
        // JsonToString
        ("States.JsonToString($.a)", json!({"a": null}), json!("null")),
        ("States.JsonToString($.a)", json!({"a": 0}), json!("0")),
        ("States.JsonToString($.a)", json!({"a": 1.1}), json!("1.1")),
        ("States.JsonToString($.a)", json!({"a": true}), json!("true")),
        ("States.JsonToString($.a)", json!({"a": "HelloWorld"}), json!("\"HelloWorld\"")),
        ("States.JsonToString($.a)", json!({"a": [1, 2, "HelloWorld"]}), json!("[1,2,\"HelloWorld\"]")),
        ("States.JsonToString($.a)", json!({"a": {"Arg1": 1, "Arg2": []}}), json!("{\"Arg1\":1,\"Arg2\":[]}")),
        ("States.JsonToString($)", json!({"a": "q\"\n"}), json!("{\"a\":\"q\\\"\\n\"}")),
        // Array
        ("States.Array()", json!({}), json!([])),
        ("States.Array('a', 'b', 'c')", json!({}), json!(["a", "b", "c"])),
        ("States.Array($.a, $.a, 1, -2.5, true, false, null)", json!({"a": {"x": 1}}), json!([{"x": 1}, {"x": 1}, 1, -2.5, true, false, null])),
        ("States.Array(States.Array(1), $arr)", json!({}), json!([[1], [1, 2]])),
        // ArrayPartition
        ("States.ArrayPartition($.a, 1)", json!({"a": []}), json!([])),
        ("States.ArrayPartition($.a, 2)", json!({"a": [0, 1, 2]}), json!([[0, 1], [2]])),
        ("States.ArrayPartition($.a, 5)", json!({"a": [0, 1, 2, 3]}), json!([[0, 1, 2, 3]])),
        ("States.ArrayPartition($.a, 4)", json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]}), json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])),
        // ArrayContains
        ("States.ArrayContains($.a, $.v)", json!({"a": [], "v": null}), json!(false)),
        ("States.ArrayContains($.a, $.v)", json!({"a": [[1, 2, 3], 2], "v": [1, 2, 3]}), json!(true)),
        ("States.ArrayContains($.a, $.v)", json!({"a": [{"1": 2, "2": []}], "v": {"1": 2, "2": []}}), json!(true)),
        ("States.ArrayContains($.a, $.v)", json!({"a": [true, false], "v": false}), json!(true)),
        ("States.ArrayContains($.a, 5)", json!({"a": [1, 5]}), json!(true)),
        // ArrayRange
        ("States.ArrayRange(1, 9, 2)", json!({}), json!([1, 3, 5, 7, 9])),
        ("States.ArrayRange(1, 9, 9)", json!({}), json!([1])),
        ("States.ArrayRange(0, 10, 3)", json!({}), json!([0, 3, 6, 9])),
        ("States.ArrayRange(10, 0, -5)", json!({}), json!([10, 5, 0])),
        ("States.ArrayRange(5, 1, 1)", json!({}), json!([])),
        ("States.ArrayRange(0, 999, 1)", json!({}), Value::Array((0..1000).map(Value::from).collect())),
        // ArrayGetItem / ArrayLength / ArrayUnique
        ("States.ArrayGetItem($.a, 5)", json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]}), json!(6)),
        ("States.ArrayGetItem($.a, 0)", json!({"a": [{"x": 1}]}), json!({"x": 1})),
        ("States.ArrayLength($.a)", json!({"a": [1, 2, 3]}), json!(3)),
        ("States.ArrayLength($.a)", json!({"a": []}), json!(0)),
        ("States.ArrayUnique($.a)", json!({"a": [1, 2, 2, 3, 3, 4]}), json!([1, 2, 3, 4])),
        ("States.ArrayUnique($.a)", json!({"a": [null, null, true, 1, 1, 1.1, "x", "x", [], [], {"a": 1}, {"a": 1}, {"a": 2}]}), json!([null, true, 1, 1.1, "x", [], {"a": 1}, {"a": 2}])),
        // Base64
        ("States.Base64Encode($.a)", json!({"a": ""}), json!("")),
        ("States.Base64Encode($.a)", json!({"a": "Hello World"}), json!("SGVsbG8gV29ybGQ=")),
        ("States.Base64Encode('ab')", json!({}), json!("YWI=")),
        ("States.Base64Encode('abc')", json!({}), json!("YWJj")),
        ("States.Base64Decode($.a)", json!({"a": "SGVsbG8gV29ybGQ="}), json!("Hello World")),
        ("States.Base64Decode('YWI')", json!({}), json!("ab")),
        ("States.Base64Decode('')", json!({}), json!("")),
        // Hash
        ("States.Hash($.a, 'SHA-512')", json!({"a": "input data"}), json!("6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4")),
        ("States.Hash('Hash this string', 'SHA-256')", json!({}), json!("1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e")),
        ("States.Hash('', 'MD5')", json!({}), json!("d41d8cd98f00b204e9800998ecf8427e")),
        ("States.Hash('abc', 'SHA-1')", json!({}), json!("a9993e364706816aba3e25717850c26c9cd0d89d")),
        ("States.Hash('abc', 'SHA-384')", json!({}), json!("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7")),
        // JsonMerge
        ("States.JsonMerge($.a, $.b, false)", json!({"a": {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3}, "b": {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4}}), json!({"a": {"a3": 1, "a4": 2}, "b": 2, "d": 4, "c": 3})),
        // MathAdd: Java Math.round on each argument
        ("States.MathAdd($.a, $.b)", json!({"a": 1.5, "b": 1.51}), json!(4)),
        ("States.MathAdd($.a, $.b)", json!({"a": -1.5, "b": -1.51}), json!(-3)),
        ("States.MathAdd($.a, $.b)", json!({"a": -0.5, "b": 0.5}), json!(1)),
        ("States.MathAdd($.a, $.b)", json!({"a": 1.49, "b": -1.49}), json!(0)),
        ("States.MathAdd($.a, $.b)", json!({"a": -3.5, "b": 0}), json!(-3)),
        ("States.MathAdd($.a, -1)", json!({"a": 10}), json!(9)),
        ("States.MathAdd(States.MathAdd(1, 2), States.ArrayLength($arr))", json!({}), json!(5)),
        // StringSplit: StringTokenizer semantics
        ("States.StringSplit($.s, $.d)", json!({"s": ",,,,", "d": ","}), json!([])),
        ("States.StringSplit($.s, $.d)", json!({"s": " , ", "d": ","}), json!([" ", " "])),
        ("States.StringSplit($.s, $.d)", json!({"s": "This.is+a,test=string", "d": ".+,="}), json!(["This", "is", "a", "test", "string"])),
        ("States.StringSplit($.s, $.d)", json!({"s": "split on T and \nnew line", "d": "T\n"}), json!(["split on ", " and ", "new line"])),
        ("States.StringSplit('Hello\nWorld', '\n')", json!({}), json!(["Hello", "World"])),
        ("States.StringSplit($$.Execution.Input.s, ',')", json!({"s": "a,b"}), json!(["a", "b"])),
        // nesting, whitespace
        ("  States.ArrayGetItem( States.StringSplit('a-b-c', '-') , 1 )  ", json!({}), json!("b")),
        ("States.Array($['a b'], $.c[0], $.d[?(@ > 1)])", json!({"a b": 1, "c": [2], "d": [1, 2, 3]}), json!([1, 2, [2, 3]])),
    ];
    for (expr, input, want) in cases {
        assert_eq!(run(expr, input.clone()), Ok(want), "{expr} on {input}");
    }
}

#[test]
fn random_and_uuid() {
    for seedless in 0..50 {
        let v = run(
            "States.MathRandom($.a, $.b)",
            json!({"a": 1 + seedless, "b": 5 + seedless}),
        );
        let n = v.ok().and_then(|v| v.as_i64()).unwrap_or(-1);
        assert!((1 + seedless..=5 + seedless).contains(&n), "{n}");
    }
    let a = run("States.MathRandom(1, 1000, 42)", json!({}));
    let b = run("States.MathRandom(1, 1000, 42)", json!({}));
    assert_eq!(a, b);
    // java.util.Random(42)'s first next(31) is 0 mod 10 (the well-known nextInt(10) == 0) and
    // 130 mod 1000, so the result is 1 + 130.
    assert_eq!(a, Ok(json!(131)));
    assert_eq!(java::JavaRandom::new(42).next_int(10), 0);
    // Checked against a JVM.
    assert_eq!(java::JavaRandom::new(7).next_int(16), 11);
    assert_eq!(java::JavaRandom::new(-5).next_int(99), 21);
    let u = run("States.UUID()", json!({}))
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let re =
        regex::Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            .expect("regex");
    assert!(re.is_match(&u), "{u}");
}

#[test]
fn failures() {
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "States.Format('{} {}', 1)",
            json!({}),
            "States.IntrinsicFailure",
        ),
        (
            "States.Format('{}', 1, 2)",
            json!({}),
            "States.IntrinsicFailure",
        ),
        (
            "States.Format($.a)",
            json!({"a": 1}),
            "States.IntrinsicFailure",
        ),
        (
            "States.StringToJson($.a)",
            json!({"a": "{bad"}),
            "States.IntrinsicFailure",
        ),
        (
            "States.StringToJson($.a)",
            json!({"a": 1}),
            "States.IntrinsicFailure",
        ),
        (
            "States.ArrayPartition($.a, 0)",
            json!({"a": [1]}),
            "States.IntrinsicFailure",
        ),
        (
            "States.ArrayPartition($.a, -1)",
            json!({"a": [1]}),
            "States.IntrinsicFailure",
        ),
        (
            "States.ArrayPartition($.a, 1.5)",
            json!({"a": [1]}),
            "States.IntrinsicFailure",
        ),
        (
            "States.ArrayPartition($.a, 1)",
            json!({"a": "x"}),
            "States.IntrinsicFailure",
        ),
        (
            "States.ArrayContains($.a, 1)",
            json!({"a": {}}),
            "States.IntrinsicFailure",
        ),
        (
            "States.ArrayRange(0, 1000, 1)",
            json!({}),
            "States.IntrinsicFailure",
        ),
        (
            "States.ArrayRange(0, 10, 0)",
            json!({}),
            "States.IntrinsicFailure",
        ),
        (
            "States.ArrayRange('a', 10, 1)",
            json!({}),
            "States.IntrinsicFailure",
        ),
        (
            "States.ArrayGetItem($.a, 3)",
            json!({"a": [1, 2, 3]}),
            "States.IntrinsicFailure",
        ),
        (
            "States.ArrayGetItem($.a, -1)",
            json!({"a": [1, 2, 3]}),
            "States.IntrinsicFailure",
        ),
        (
            "States.ArrayLength($.a)",
            json!({"a": "abc"}),
            "States.IntrinsicFailure",
        ),
        (
            "States.ArrayUnique($.a)",
            json!({"a": null}),
            "States.IntrinsicFailure",
        ),
        (
            "States.Base64Encode($.a)",
            json!({"a": 1}),
            "States.IntrinsicFailure",
        ),
        (
            "States.Base64Encode($.a)",
            json!({"a": "x".repeat(10_001)}),
            "States.IntrinsicFailure",
        ),
        (
            "States.Base64Decode('%%%')",
            json!({}),
            "States.IntrinsicFailure",
        ),
        (
            "States.Base64Decode('YQ==YQ==')",
            json!({}),
            "States.IntrinsicFailure",
        ),
        (
            "States.Hash('a', 'SHA-999')",
            json!({}),
            "States.IntrinsicFailure",
        ),
        (
            "States.Hash('a', 'sha-256')",
            json!({}),
            "States.IntrinsicFailure",
        ),
        (
            "States.Hash($.a, 'MD5')",
            json!({"a": null}),
            "States.IntrinsicFailure",
        ),
        (
            "States.JsonMerge($.a, $.b, true)",
            json!({"a": {}, "b": {}}),
            "States.IntrinsicFailure",
        ),
        (
            "States.JsonMerge($.a, $.b, false)",
            json!({"a": [], "b": {}}),
            "States.IntrinsicFailure",
        ),
        (
            "States.MathRandom(5, 1)",
            json!({}),
            "States.IntrinsicFailure",
        ),
        (
            "States.MathRandom('a', 1)",
            json!({}),
            "States.IntrinsicFailure",
        ),
        (
            "States.MathAdd($.a, 1)",
            json!({"a": "1"}),
            "States.IntrinsicFailure",
        ),
        (
            "States.MathAdd($.a, 1)",
            json!({"a": 2147483648i64}),
            "States.IntrinsicFailure",
        ),
        (
            "States.StringSplit($.a, ',')",
            json!({"a": 1}),
            "States.IntrinsicFailure",
        ),
        ("States.Array($.missing)", json!({}), "States.Runtime"),
    ];
    for (expr, input, err) in cases {
        let r = run(expr, input.clone());
        assert_eq!(
            r.as_ref().map_err(|e| e.error.as_str()),
            Err(err),
            "{expr} on {input}: {r:?}"
        );
    }
    let r = run("States.Array($.missing)", json!({"a": 1}));
    assert_eq!(
        r.map_err(|e| e.cause),
        Err("The JSONPath '$.missing' specified for the field 'f.$' could not be found in the input '{\"a\":1}'".to_string())
    );
}

#[test]
fn validation() {
    for ok in [
        "States.UUID()",
        "States.Format('x')",
        "States.Array()",
        "States.MathRandom(1, 2)",
        "States.MathRandom(1, 2, 3)",
        "States.Format('{}', $$.Execution.Id)",
        "States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.a, '/'), 2), '.'), 0)",
        "States.MathAdd($.a, -1)",
        "States.MathAdd(1.5, States.ArrayLength($.a))",
        "States.ArrayRange(1, 9, 2)",
        "States.ArrayContains($.a, 'x')",
        "States.ArrayPartition($.a, 2)",
        "States.Hash($.a, 'SHA-256')",
        "States.Hash(1, $.alg)",
        "States.JsonMerge($.a, States.StringToJson('{}'), false)",
        "States.StringSplit('a,b', ',')",
        "States.Format('{} {} {}', 1, null, true)",
        "States.Array(1, 'a', null, false, $.x)",
        "States.JsonToString($.[?(@.year <= 1998)])",
    ] {
        assert_eq!(validate(ok), Ok(()), "{ok}");
    }
    // A literal argument of the wrong type is rejected when the state machine is created...
    let typed = [
        (
            "States.MathAdd(1,'-1')",
            "The argument 2 of States.MathAdd must be a number, but was the string '-1'",
        ),
        (
            "States.MathAdd(true, 1)",
            "The argument 1 of States.MathAdd must be a number, but was the boolean true",
        ),
        (
            "States.ArrayRange(1, '9', 2)",
            "The argument 2 of States.ArrayRange must be a number, but was the string '9'",
        ),
        (
            "States.MathRandom(1, 2, null)",
            "The argument 3 of States.MathRandom must be a number, but was the null null",
        ),
        (
            "States.StringSplit($.a, 1)",
            "The argument 2 of States.StringSplit must be a string, but was the number 1",
        ),
        (
            "States.Hash($.a, 'SHA256')",
            "The argument 2 of States.Hash must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512, but was the string 'SHA256'",
        ),
        (
            "States.ArrayLength('abc')",
            "The argument 1 of States.ArrayLength must be an array, but was the string 'abc'",
        ),
        (
            "States.JsonMerge($.a, $.b, 'false')",
            "The argument 3 of States.JsonMerge must be a boolean, but was the string 'false'",
        ),
        (
            "States.Format(1)",
            "The argument 1 of States.Format must be a string, but was the number 1",
        ),
        (
            "States.Array(States.Base64Encode(5))",
            "The argument 1 of States.Base64Encode must be a string, but was the number 5",
        ),
    ];
    for (bad, why) in typed {
        assert_eq!(validate(bad), Err(why.to_string()), "{bad}");
        // ...but a call evaluated as written still fails as the function itself would.
        assert!(Intrinsic::parse(bad).is_ok(), "{bad}");
    }
    for bad in [
        "States.Nope()",
        "States.UUID(1)",
        "States.Format()",
        "States.ArrayLength()",
        "States.ArrayLength($.a, $.b)",
        "States.MathRandom(1)",
        "States.MathRandom(1, 2, 3, 4)",
        "States.JsonMerge($.a, $.b)",
        "States.Array(",
        "States.Array('x)",
        "States.Array(x)",
        "States.Array($.a b)",
        "States.Array(1) trailing",
        "States.Array(1,)",
        "Nope.Array()",
        "States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array()))))))))))",
    ] {
        assert!(validate(bad).is_err(), "{bad} should be rejected");
    }
    assert!(is_intrinsic("States.UUID()"));
    assert!(!is_intrinsic("$.a"));
}

#[test]
fn java_printing() {
    use super::java::double;
    for (x, s) in [
        (1.0, "1.0"),
        (1.1, "1.1"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (1.0e7, "1.0E7"),
        (1234567.0, "1234567.0"),
        (1.5e-5, "1.5E-5"),
        (-2.5e20, "-2.5E20"),
        (0.0, "0.0"),
        (0.1 + 0.2, "0.30000000000000004"),
        (123456789.123, "1.23456789123E8"),
    ] {
        assert_eq!(double(x), s);
    }
    assert_eq!(java::round(-1.5), -1);
    assert_eq!(java::round(2.5), 3);
    assert_eq!(functions::base64_decode("YWJj"), Some(b"abc".to_vec()));
    assert_eq!(functions::base64_encode(b"a"), "YQ==");
}
