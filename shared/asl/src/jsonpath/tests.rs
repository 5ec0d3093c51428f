//! Paths against Jayway's and AWS's recorded behaviour.

use super::*;
use serde_json::json;

fn scope_query(path: &str, input: &Value) -> Option<Value> {
    let ctx = json!({"Execution": {"Id": "arn:x", "Input": {"a": 1}}, "State": {"Name": "S"}});
    let vars: Map<String, Value> = json!({"x": {"a": [1, 2]}, "n": 5})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let scope = Scope {
        input,
        context: &ctx,
        variables: &vars,
    };
    query(path, &scope).expect("path parses")
}

fn store() -> Value {
    json!({
        "store": {
            "book": [
                {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
                {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
                {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553", "price": 8.99},
                {"category": "fiction", "author": "J. R. R. Tolkien", "title": "LOTR", "isbn": "0-395", "price": 22.99}
            ],
            "bicycle": {"color": "red", "price": 19.95}
        },
        "expensive": 10,
        "a b": "space",
        "it's": 1,
        "Test\\\"\"Name\"": "Value\"\\",
        "nums": [1, 2, 3, 4, 5],
        "users": [{"status": 0, "year": 1997}, {"status": 1, "year": 1998}],
        "nested": {"x": null, "s": "str"}
    })
}

#[test]
fn queries() {
    let doc = store();
    let cases: Vec<(&str, Option<Value>)> = vec![
        ("$", Some(doc.clone())),
        ("$.expensive", Some(json!(10))),
        ("$.store.bicycle.color", Some(json!("red"))),
        ("$['store']['bicycle']['color']", Some(json!("red"))),
        (
            "$[\"store\"].bicycle",
            Some(json!({"color": "red", "price": 19.95})),
        ),
        ("$['a b']", Some(json!("space"))),
        ("$['it\\'s']", Some(json!(1))),
        ("$['Test\\\"\"Name\"']", Some(json!("Value\"\\"))),
        ("$.nums[0]", Some(json!(1))),
        ("$.nums[-1]", Some(json!(5))),
        ("$.nums[9]", None),
        ("$.nums[0:2]", Some(json!([1, 2]))),
        ("$.nums[-2:]", Some(json!([4, 5]))),
        ("$.nums[:2]", Some(json!([1, 2]))),
        ("$.nums[3:]", Some(json!([4, 5]))),
        ("$.nums[0,2]", Some(json!([1, 3]))),
        ("$.nums[*]", Some(json!([1, 2, 3, 4, 5]))),
        ("$.nums.length()", Some(json!(5))),
        ("$.nums.sum()", Some(json!(15.0))),
        (
            "$.store.book[*].author",
            Some(json!([
                "Nigel Rees",
                "Evelyn Waugh",
                "Herman Melville",
                "J. R. R. Tolkien"
            ])),
        ),
        ("$..isbn", Some(json!(["0-553", "0-395"]))),
        (
            "$.store..price",
            Some(json!([8.95, 12.99, 8.99, 22.99, 19.95])),
        ),
        (
            "$.store.book[?(@.price > 10)].title",
            Some(json!(["Sword", "LOTR"])),
        ),
        (
            "$.store.book[?(@.price < $.expensive)].title",
            Some(json!(["Sayings", "Moby Dick"])),
        ),
        (
            "$.store.book[?(@.isbn)].title",
            Some(json!(["Moby Dick", "LOTR"])),
        ),
        (
            "$.store.book[?(!@.isbn)].title",
            Some(json!(["Sayings", "Sword"])),
        ),
        (
            "$.store.book[?(@.category == 'fiction' && @.price < 10)].title",
            Some(json!(["Moby Dick"])),
        ),
        (
            "$.store.book[?(@.category == 'reference' || @.price > 20)].title",
            Some(json!(["Sayings", "LOTR"])),
        ),
        (
            "$.store.book[?(@.author =~ /.*REES/i)].title",
            Some(json!(["Sayings"])),
        ),
        ("$.store.book[?(@.author =~ /Rees/)].title", Some(json!([]))),
        (
            "$.store.book[?(@.category in ['reference'])].title",
            Some(json!(["Sayings"])),
        ),
        (
            "$.store.book[?(@.category nin ['fiction'])].title",
            Some(json!(["Sayings"])),
        ),
        (
            "$.store.book[?(@.title size 4)].title",
            Some(json!(["LOTR"])),
        ),
        (
            "$.users[?(@.status == 0)]",
            Some(json!([{"status": 0, "year": 1997}])),
        ),
        ("$.users[?(@.status == '1')].year", Some(json!([1998]))),
        ("$.users[?(@.year >= 1998)].year", Some(json!([1998]))),
        ("$.users[?(@.nope)]", Some(json!([]))),
        ("$.store.book.length()", Some(json!(4))),
        (
            "$.store.bicycle['color','price']",
            Some(json!([{"color": "red", "price": 19.95}])),
        ),
        ("$.store.*.color", Some(json!(["red"]))),
        ("$.missing", None),
        ("$.missing.deeper", None),
        ("$.expensive.deeper", None),
        ("$.nested.x", Some(Value::Null)),
        ("$.nested.x.y", None),
        ("$.nested.s[0]", None),
        ("$$.Execution.Id", Some(json!("arn:x"))),
        (
            "$$",
            Some(json!({"Execution": {"Id": "arn:x", "Input": {"a": 1}}, "State": {"Name": "S"}})),
        ),
        ("$$.Execution.Input.a", Some(json!(1))),
        ("$x", Some(json!({"a": [1, 2]}))),
        ("$x.a[1]", Some(json!(2))),
        ("$x.a[*]", Some(json!([1, 2]))),
        ("$n", Some(json!(5))),
        ("$undefinedVar", None),
    ];
    for (path, want) in cases {
        assert_eq!(scope_query(path, &doc), want, "path {path}");
    }
}

#[test]
fn syntax_errors() {
    for bad in [
        "",
        "a",
        "$.",
        "$.a.",
        "$[",
        "$['a'",
        "$.a[?(@.b >)]",
        "$.a[x]",
        "$.a b",
        "$..",
        "$.a.length().b",
        "$.a.nofunc()",
        "$.a[?(@.b =~ 'x')]",
        "$.a[?(@.b =~ /(/)]",
    ] {
        assert!(validate(bad).is_err(), "{bad:?} should not parse");
    }
    for good in [
        "$",
        "$$",
        "$.a",
        "$$.Map.Item.Value",
        "$var",
        "$var.a[0]",
        "$..a",
        "$.a[*]",
        "$.delivery-partner",
    ] {
        assert!(validate(good).is_ok(), "{good:?} should parse");
    }
}

#[test]
fn dot_before_bracket_reads_as_the_bracket() {
    let doc = json!([{"body": "b0", "OU": 2}, {"body": "b1", "OU": 0}]);
    let cases: Vec<(&str, Option<Value>)> = vec![
        ("$.[0]", Some(json!({"body": "b0", "OU": 2}))),
        ("$.[0].body", Some(json!("b0"))),
        ("$.[-1].body", Some(json!("b1"))),
        ("$.[?(@.OU > 0)]", Some(json!([{"body": "b0", "OU": 2}]))),
        (
            "$.[*].['body', 'OU']",
            Some(json!([{"body": "b0", "OU": 2}, {"body": "b1", "OU": 0}])),
        ),
        ("$.[*].['body']", Some(json!(["b0", "b1"]))),
    ];
    for (path, want) in cases {
        assert_eq!(query_in(path, &doc), Ok(want), "path {path}");
    }
    let snaps = json!({"Snapshots": [{"State": "completed"}]});
    assert_eq!(
        query_in("$.Snapshots.[0].State", &snaps),
        Ok(Some(json!("completed")))
    );
    assert!(validate_reference_path("$.a.[0]").is_ok());
    assert_eq!(
        Path::parse("$.a.[0]").map(|p| p.canonical()),
        Ok("$['a'][0]".to_string())
    );
}

/// A script index and an unquoted word in a filter pass validation (AWS accepts them in a
/// definition) but, as in Jayway, fail when the path is evaluated.
#[test]
fn accepted_but_not_evaluable() {
    let doc = json!({"Labels": [{"Name": "Receipt"}], "a": [{"bar": 1}, {"bar": 2}]});
    let vars = Map::new();
    let scope = Scope {
        input: &doc,
        context: &Value::Null,
        variables: &vars,
    };
    let cases = [
        (
            "$.Labels[?(@.Name==Receipt)]",
            "Failed to parse filter: [?(@.Name==Receipt)], error on position: 11, char: R",
        ),
        (
            "$.x[?(@.Type.Text == AMOUNT_PAID)].Value",
            "Failed to parse filter: [?(@.Type.Text == AMOUNT_PAID)], error on position: 18, char: A",
        ),
        (
            "$[(@.length-1)].bar",
            "Could not parse token starting at position 1. Expected ?, ', 0-9, * ",
        ),
        (
            "$.a[(@.length - 1)]",
            "Could not parse token starting at position 3. Expected ?, ', 0-9, * ",
        ),
    ];
    for (path, reason) in cases {
        assert_eq!(validate(path), Ok(()), "{path}");
        assert!(validate_reference_path(path).is_err(), "{path}");
        let p = Path::parse(path).expect("parses");
        assert_eq!(
            p.eval(&scope).map_err(|e| e.0),
            Err(reason.to_string()),
            "{path}"
        );
        assert_eq!(query(path, &scope), Ok(None), "{path}");
    }
    // Keywords stay literals.
    assert_eq!(
        query_in("$.a[?(@.bar != null)].bar", &doc),
        Ok(Some(json!([1, 2])))
    );
    for bad in [
        "$[(@.length-1]",
        "$.a[?(@.b == trueish x)]",
        "$.a[?(Receipt)]",
    ] {
        assert!(validate(bad).is_err(), "{bad} should not parse");
    }
}

#[test]
fn reference_paths() {
    for ok in ["$", "$.a", "$.a.b", "$['a'].b[0]", "$$.Execution"] {
        assert!(validate_reference_path(ok).is_ok(), "{ok}");
    }
    for bad in [
        "$.a[*]",
        "$..a",
        "$.a[0:1]",
        "$.a[?(@.b)]",
        "$.a[0,1]",
        "$.a.length()",
    ] {
        assert!(validate_reference_path(bad).is_err(), "{bad}");
    }
}

#[test]
fn not_found_reasons() {
    let doc = json!({"a": {"b": 1}, "n": 5, "arr": [1]});
    let vars = Map::new();
    let scope = Scope {
        input: &doc,
        context: &Value::Null,
        variables: &vars,
    };
    let reason = |p: &str| Path::parse(p).map(|p| p.eval(&scope).err().map(|e| e.0));
    assert_eq!(
        reason("$.x"),
        Ok(Some("No results for path: $['x']".into()))
    );
    assert_eq!(
        reason("$.a.c"),
        Ok(Some("No results for path: $['a']['c']".into()))
    );
    assert_eq!(
        reason("$.x.y"),
        Ok(Some("Missing property in path $['x']".into()))
    );
    assert_eq!(
        reason("$.arr[3]"),
        Ok(Some("No results for path: $['arr'][3]".into()))
    );
    assert_eq!(
        reason("$.arr[3].x"),
        Ok(Some(
            "Index out of bounds when evaluating path $['arr'][3]".into()
        ))
    );
    assert!(
        matches!(reason("$.n.x"), Ok(Some(m)) if m.starts_with("Expected to find an object with property ['x'] in path $['n']"))
    );
    assert_eq!(reason("$.a.b"), Ok(None));
}

#[test]
fn result_path_set() {
    let cases: Vec<(Value, &str, Option<Value>)> = vec![
        (json!({"a": 1}), "$.b", Some(json!({"a": 1, "b": "R"}))),
        (json!({"a": 1}), "$.a", Some(json!({"a": "R"}))),
        (json!({}), "$.x.y.z", Some(json!({"x": {"y": {"z": "R"}}}))),
        (
            json!({"x": {"k": 1}}),
            "$.x.y",
            Some(json!({"x": {"k": 1, "y": "R"}})),
        ),
        (json!({"x": [1, 2]}), "$.x[1]", Some(json!({"x": [1, "R"]}))),
        (json!({"x": null}), "$.x.y", None),
        (json!({"x": 5}), "$.x.y", None),
        (json!("str"), "$.x", None),
        (json!([1]), "$.x", None),
        (json!({"x": [1]}), "$.x[4]", None),
        (
            json!({"a": 1}),
            "$['b c']",
            Some(json!({"a": 1, "b c": "R"})),
        ),
    ];
    for (mut doc, path, want) in cases {
        let before = doc.clone();
        let r = set(&mut doc, path, json!("R"));
        match want {
            Some(w) => {
                assert_eq!(r, Ok(()), "{path}");
                assert_eq!(doc, w, "{path}");
            }
            None => {
                let e = r.expect_err(path);
                assert_eq!(e.error, crate::errors::RESULT_PATH_MATCH_FAILURE);
                assert_eq!(
                    e.cause,
                    format!("Unable to apply ReferencePath {path} to input {before}")
                );
            }
        }
    }
}

#[test]
fn query_in_reads_one_document() {
    let doc = json!({"a": [1, {"b": 2}]});
    assert_eq!(query_in("$.a[1].b", &doc), Ok(Some(json!(2))));
    assert!(query_in("$$.a", &doc).is_err());
}

/// A path of names only is followed by reference (`Path::plain_lookup`): it finds exactly what
/// the general walk finds, and leaves every other path, and every miss, to that walk.
#[test]
fn plain_paths_find_what_the_walk_finds() {
    let input = json!({"a": {"b": [1, {"c": 2}], "d": null}, "e": "x", "big": {"k0": 0, "k1": 1, "k2": 2, "k3": 3, "k4": 4, "k5": 5, "k6": 6, "k7": 7, "k8": 8, "k9": 9, "k10": 10, "k11": 11, "k12": 12, "k13": 13}});
    let ctx = json!({"Map": {"Item": {"Value": {"v": 1}}}});
    let mut vars = Map::new();
    vars.insert("x".to_string(), json!({"a": 3}));
    let scope = Scope {
        input: &input,
        context: &ctx,
        variables: &vars,
    };
    let cases = [
        ("$", true),
        ("$.a", true),
        ("$.a.b", true),
        ("$['a']['d']", true),
        ("$.e", true),
        ("$.big.k13", true),
        ("$$.Map.Item.Value.v", true),
        ("$x.a", true),
        ("$.missing", false),
        ("$.e.f", false),
        ("$.a.b.c", false),
        ("$y.a", false),
        ("$.a.b[1].c", false),
        ("$.a.*", false),
        ("$..c", false),
    ];
    for (text, plain) in cases {
        let p = Path::parse(text).expect("parses");
        let by_walk = p.start(&scope).and_then(|doc| p.eval_in(doc, &input).ok());
        let by_name = p.plain_lookup(&scope);
        assert_eq!(by_name.is_some(), plain, "{text}");
        if let Some(found) = by_name {
            assert_eq!(Some(found), by_walk.as_deref(), "{text}");
        }
        assert_eq!(
            p.eval(&scope).ok().map(Cow::into_owned),
            by_walk.map(Cow::into_owned),
            "{text}"
        );
    }
}

/// A ResultPath's member names are known for a path of names from the input only.
#[test]
fn member_names_of_input_paths_of_names_only() {
    let cases: [(&str, Option<&[&str]>); 8] = [
        ("$.step", Some(&["step"])),
        ("$.a.b", Some(&["a", "b"])),
        ("$['a b']['c']", Some(&["a b", "c"])),
        ("$", None),
        ("$$.Execution", None),
        ("$x.a", None),
        ("$.a[0]", None),
        ("$.a.*", None),
    ];
    for (text, want) in cases {
        let p = JsonPath::new(text);
        let got: Option<Vec<&str>> = p.members().map(|m| m.iter().map(String::as_str).collect());
        assert_eq!(got.as_deref(), want, "{text}");
    }
}
