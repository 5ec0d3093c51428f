//! Table-driven tests of each diagnostic (code and location), and garbage that must not panic.

use stepwise_asl::validate::validate;

/// A machine whose only state is `state` (named `S`).
fn one(state: &str) -> String {
    format!(r#"{{"StartAt":"S","States":{{"S":{state}}}}}"#)
}

/// `(definition, code, location)`: the definition must produce a diagnostic with that code at
/// that location.
fn cases() -> Vec<(String, &'static str, &'static str)> {
    let c = |d: &str, code, loc| (d.to_string(), code, loc);
    vec![
        c("{", "INVALID_JSON_DESCRIPTION", ""),
        c("", "SCHEMA_VALIDATION_FAILED", ""),
        c(" ", "SCHEMA_VALIDATION_FAILED", ""),
        c("not a definition", "INVALID_JSON_DESCRIPTION", ""),
        c("nullx", "INVALID_JSON_DESCRIPTION", ""),
        c("[]", "SCHEMA_VALIDATION_FAILED", ""),
        c(r#"{"StartAt":"A"}"#, "SCHEMA_VALIDATION_FAILED", "/"),
        c(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}},"Foo":1}"#,
            "SCHEMA_VALIDATION_FAILED",
            "",
        ),
        c(
            r#"{"StartAt":"B","States":{"A":{"Type":"Pass","End":true}}}"#,
            "MISSING_TRANSITION_TARGET",
            "/StartAt",
        ),
        c(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"X"}}}"#,
            "MISSING_TRANSITION_TARGET",
            "/States/A/Next",
        ),
        c(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true},"B":{"Type":"Pass","End":true}}}"#,
            "MISSING_TRANSITION_TARGET",
            "/States/B",
        ),
        c(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}}"#,
            "MISSING_END_STATE",
            "",
        ),
        c(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Type":"Pass"}}}"#,
            "INVALID_JSON_DESCRIPTION",
            "/States/A",
        ),
        c(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true},"A":{"Type":"Pass","End":true}}}"#,
            "DUPLICATE_STATE_NAME",
            "/States/A",
        ),
        c(
            r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{"StartAt":"M","States":{"M":{"Type":"Pass","End":true}}}}}}"#,
            "DUPLICATE_STATE_NAME",
            "/States/M/ItemProcessor/States/M",
        ),
        c(
            &format!(
                r#"{{"StartAt":"{0}","States":{{"{0}":{{"Type":"Pass","End":true}}}}}}"#,
                "x".repeat(81)
            ),
            "INVALID_STATE_NAME",
            "",
        ),
        c(
            &one(r#"{"Type":"Pass"}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            &one(r#"{"Type":"Pass","End":true,"Next":"S"}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            &one(r#"{"Type":"Bogus","End":true}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Type",
        ),
        c(
            &one(r#"{"End":true}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            &one(r#"{"Type":"Pass","End":true,"Retry":[]}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            &one(
                r#"{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,"Result":1}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            &one(r#"{"Type":"Task","End":true}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            &one(r#"{"Type":"Task","Resource":"arn:aws:states:::dynamodb:query","End":true}"#),
            "INVALID_RESOURCE",
            "/States/S/Resource",
        ),
        c(
            &one(
                r#"{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f:","End":true}"#,
            ),
            "INVALID_RESOURCE",
            "/States/S/Resource",
        ),
        c(
            &one(
                r#"{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,"TimeoutSeconds":0}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/TimeoutSeconds",
        ),
        c(
            &one(
                r#"{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,"TimeoutSeconds":1.5}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/TimeoutSeconds",
        ),
        c(
            &one(
                r#"{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,"TimeoutSeconds":10,"HeartbeatSeconds":10}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/HeartbeatSeconds",
        ),
        c(
            &one(
                r#"{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,"TimeoutSeconds":10,"TimeoutSecondsPath":"$.t"}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            &one(
                r#"{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["E"],"MaxAttempts":-1}]}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Retry/0/MaxAttempts",
        ),
        c(
            &one(
                r#"{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["E"],"IntervalSeconds":0}]}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Retry/0/IntervalSeconds",
        ),
        c(
            &one(
                r#"{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["E"],"BackoffRate":0.5}]}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Retry/0/BackoffRate",
        ),
        c(
            &one(
                r#"{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["E"],"JitterStrategy":"HALF"}]}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Retry/0/JitterStrategy",
        ),
        c(
            &one(
                r#"{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["E"],"MaxDelaySeconds":0}]}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Retry/0/MaxDelaySeconds",
        ),
        c(
            &one(
                r#"{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["States.ALL","E"]}]}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Retry/0/ErrorEquals",
        ),
        c(
            &one(
                r#"{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["E"]}]}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Retry/0",
        ),
        c(
            &one(r#"{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":[true]}]}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Retry/0/ErrorEquals/0",
        ),
        c(
            &one(r#"{"Type":"Task","Resource":"r","End":true,"Catch":[{"ErrorEquals":["E"]}]}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Catch/0",
        ),
        c(
            &one(
                r#"{"Type":"Task","Resource":"r","End":true,"Catch":[{"ErrorEquals":["E"],"Next":"X"}]}"#,
            ),
            "MISSING_TRANSITION_TARGET",
            "/States/S/Catch/0/Next",
        ),
        c(
            &one(r#"{"Type":"Choice","Default":"S"}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            &one(r#"{"Type":"Choice","Choices":[]}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Choices",
        ),
        c(
            &one(
                r#"{"Type":"Choice","Choices":[{"Variable":"$.a","StringEquals":"x"}],"Default":"S"}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Choices/0",
        ),
        c(
            &one(r#"{"Type":"Choice","Choices":[{"StringEquals":"x","Next":"S"}],"Default":"S"}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Choices/0",
        ),
        c(
            &one(
                r#"{"Type":"Choice","Choices":[{"Variable":"$.a","StringEquals":"x","NumericEquals":1,"Next":"S"}]}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Choices/0",
        ),
        c(
            &one(
                r#"{"Type":"Choice","Choices":[{"Variable":"$.a","NumericEquals":"1","Next":"S"}]}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Choices/0/NumericEquals",
        ),
        c(
            &one(
                r#"{"Type":"Choice","Choices":[{"Variable":"States.Array(1)","IsNull":true,"Next":"S"}]}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Choices/0/Variable",
        ),
        c(
            &one(r#"{"Type":"Choice","Choices":[{"And":[],"Next":"S"}]}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Choices/0/And",
        ),
        c(
            &one(r#"{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a"},"Next":"S"}]}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Choices/0/Not",
        ),
        c(
            &one(
                r#"{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"Next":"S"}],"Default":"X"}"#,
            ),
            "MISSING_TRANSITION_TARGET",
            "/States/S/Default",
        ),
        c(
            &one(r#"{"Type":"Wait","End":true}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            &one(r#"{"Type":"Wait","End":true,"Seconds":1,"Timestamp":"2016-03-14T01:59:00Z"}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            &one(r#"{"Type":"Wait","End":true,"Seconds":-1}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Seconds",
        ),
        c(
            &one(r#"{"Type":"Wait","End":true,"Timestamp":"yesterday"}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Timestamp",
        ),
        c(
            &one(r#"{"Type":"Fail","Error":"E","ErrorPath":"$.e"}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            &one(r#"{"Type":"Fail","CausePath":"cause"}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/CausePath",
        ),
        c(
            &one(r#"{"Type":"Fail","End":true}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            &one(r#"{"Type":"Parallel","End":true}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            &one(
                r#"{"Type":"Parallel","End":true,"Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","Next":"S"}}}]}"#,
            ),
            "MISSING_TRANSITION_TARGET",
            "/States/S/Branches/0/States/B/Next",
        ),
        c(
            &one(r#"{"Type":"Map","End":true}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            &one(
                r#"{"Type":"Map","End":true,"MaxConcurrency":-1,"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/MaxConcurrency",
        ),
        c(
            &one(
                r#"{"Type":"Map","End":true,"ToleratedFailurePercentage":101,"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/ToleratedFailurePercentage",
        ),
        c(
            &one(
                r#"{"Type":"Map","End":true,"Label":"a b","ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Label",
        ),
        c(
            &one(
                r#"{"Type":"Map","End":true,"ItemProcessor":{"ProcessorConfig":{"Mode":"FAST"},"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/ItemProcessor/ProcessorConfig/Mode",
        ),
        c(
            &one(
                r#"{"Type":"Map","End":true,"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"MaxItems":1,"MaxItemsPath":"$.m"}},"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/ItemReader/ReaderConfig",
        ),
        c(
            &one(
                r#"{"Type":"Map","End":true,"ItemReader":{"Resource":"arn:aws:states:::s3:getObjects","ReaderConfig":{"InputType":"JSON"}},"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}}"#,
            ),
            "INVALID_RESOURCE",
            "/States/S/ItemReader/Resource",
        ),
        c(
            &one(
                r#"{"Type":"Map","End":true,"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"XML"}},"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/ItemReader/ReaderConfig/InputType",
        ),
        c(
            &one(
                r#"{"Type":"Map","End":true,"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV","CSVDelimiter":"COLON"}},"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/ItemReader/ReaderConfig/CSVDelimiter",
        ),
        c(
            &one(
                r#"{"Type":"Map","End":true,"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"GIVEN"}},"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/ItemReader/ReaderConfig",
        ),
        c(
            &one(
                r#"{"Type":"Map","End":true,"ResultWriter":{"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"b"}},"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}}"#,
            ),
            "INVALID_RESOURCE",
            "/States/S/ResultWriter/Resource",
        ),
        c(
            &one(
                r#"{"Type":"Map","End":true,"ResultWriter":{"WriterConfig":{"Transformation":"SQUASH"}},"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/ResultWriter/WriterConfig/Transformation",
        ),
        c(
            &one(
                r#"{"Type":"Map","End":true,"ItemBatcher":{"MaxItemsPerBatch":0},"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}}"#,
            ),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/ItemBatcher/MaxItemsPerBatch",
        ),
        c(
            &one(r#"{"Type":"Pass","End":true,"InputPath":"a"}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/InputPath",
        ),
        c(
            &one(r#"{"Type":"Pass","End":true,"ResultPath":"$foo"}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/ResultPath",
        ),
        c(
            &one(r#"{"Type":"Pass","End":true,"ResultPath":"$$.Execution"}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/ResultPath",
        ),
        c(
            &one(r#"{"Type":"Pass","End":true,"Parameters":{"a.$":"not a path"}}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Parameters",
        ),
        c(
            &one(r#"{"Type":"Pass","End":true,"Parameters":{"x":{"a":1,"a.$":"$.a"}}}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Parameters/x",
        ),
        c(
            &one(r#"{"Type":"Pass","End":true,"Assign":{"v.$":"nope"}}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Assign",
        ),
        c(
            &one(r#"{"Type":"Pass","End":true,"QueryLanguage":"YAML"}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/QueryLanguage",
        ),
        c(
            &one(r#"{"Type":"Pass","End":true,"QueryLanguage":"JSONata","Parameters":{}}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            &one(r#"{"Type":"Pass","End":true,"Output":{}}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            &one(r#"{"Type":"Pass","End":true,"QueryLanguage":"JSONata","Output":"{% 1 %"}"#),
            "SCHEMA_VALIDATION_FAILED",
            "/States/S/Output",
        ),
        c(
            r#"{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Pass","End":true,"QueryLanguage":"JSONPath"}}}"#,
            "SCHEMA_VALIDATION_FAILED",
            "/States/S",
        ),
        c(
            r#"{"StartAt":"S","States":{"S":{"Type":"Pass","End":true}},"TimeoutSeconds":0}"#,
            "SCHEMA_VALIDATION_FAILED",
            "/TimeoutSeconds",
        ),
        c(
            r#"{"StartAt":"S","States":{"S":{"Type":"Pass","End":true}},"Version":1}"#,
            "SCHEMA_VALIDATION_FAILED",
            "/Version",
        ),
    ]
}

#[test]
fn each_diagnostic_has_its_code_and_location() {
    let mut failures = Vec::new();
    for (definition, code, location) in cases() {
        let diags = validate(&definition);
        let hit = diags.iter().any(|d| {
            d.code == code
                && (location.is_empty() || d.location == location)
                && d.severity == "ERROR"
        });
        if !hit {
            failures.push(format!(
                "{definition}\n  want {code} at {location:?}, got {diags:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_definitions_pass() {
    for d in [
        one(r#"{"Type":"Pass","End":true}"#),
        one(r#"{"Type":"Succeed"}"#),
        one(r#"{"Type":"Wait","Seconds":"120","End":true}"#),
        one(r#"{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,"Retry":[{"ErrorEquals":["E"]},{"ErrorEquals":["States.ALL"],"MaxAttempts":0,"BackoffRate":1}]}"#),
        one(r#"{"Type":"Pass","End":true,"ResultPath":null,"Parameters":{"a.$":"$.a","b":[{"c.$":"$$.Execution.Id"}]}}"#),
        r#"{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a","IsPresent":true},"Next":"D"}],"Default":"D"},"D":{"Type":"Succeed"}}}"#.to_string(),
    ] {
        assert_eq!(validate(&d), vec![], "{d}");
    }
}

#[test]
fn garbage_never_panics() {
    let mut inputs: Vec<String> = vec![
        "null".into(),
        "42".into(),
        "\"x\"".into(),
        "true".into(),
        "{}".into(),
        "{\"States\":[]}".into(),
        "{\"StartAt\":1,\"States\":{\"A\":1}}".into(),
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Map\",\"ItemProcessor\":7,\"Iterator\":[],\"End\":\"yes\"}}}".into(),
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Choice\",\"Choices\":[1,{},{\"Not\":[]},{\"And\":{}}]}}}".into(),
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Parallel\",\"Branches\":[1,null,{}],\"Next\":5}}}".into(),
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Task\",\"Resource\":{},\"Retry\":{},\"Catch\":[1],\"TimeoutSeconds\":1e400}}}".into(),
        "\u{0}\u{1}\u{ffff}".into(),
        "[".repeat(100_000),
        "{\"a\":".repeat(100_000),
        format!("{}1{}", "[".repeat(600), "]".repeat(600)),
        "\"\\ud800\"".into(),
        "-".into(),
        "1e".into(),
    ];
    // Deeply nested Parallel branches, within the parser's depth limit.
    let mut nested = r#"{"Type":"Pass","End":true}"#.to_string();
    for i in 0..60 {
        nested = format!(
            r#"{{"Type":"Parallel","End":true,"Branches":[{{"StartAt":"P{i}","States":{{"P{i}":{nested}}}}}]}}"#
        );
    }
    inputs.push(one(&nested));
    // A huge flat machine.
    let mut states = Vec::new();
    for i in 0..5000 {
        states.push(format!(r#""S{i}":{{"Type":"Pass","Next":"S{}"}}"#, i + 1));
    }
    states.push(r#""S5000":{"Type":"Succeed"}"#.to_string());
    inputs.push(format!(
        r#"{{"StartAt":"S0","States":{{{}}}}}"#,
        states.join(",")
    ));
    for input in &inputs {
        let _ = validate(input);
    }
    assert_eq!(validate(&inputs[inputs.len() - 1]), vec![]);
    assert_eq!(validate(&inputs[inputs.len() - 2]), vec![]);
    // Every prefix of a real definition.
    let def = one(
        r#"{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"a.$":"$.b"},"Retry":[{"ErrorEquals":["States.ALL"]}],"End":true}"#,
    );
    for i in 0..def.len() {
        if def.is_char_boundary(i) {
            let _ = validate(&def[..i]);
        }
    }
}

/// The messages AWS gives for definitions that are not definitions at all.
#[test]
fn not_a_definition_messages_are_aws_words() {
    for (text, message) in [
        (" ", "Definition must be a valid JSON object"),
        ("[]", "Definition must be a valid JSON object"),
        ("{}", "These fields are required: [States, StartAt]"),
        (
            "not a definition",
            "Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false') at (line 1, column 4)",
        ),
    ] {
        let d = validate(text);
        assert_eq!(d.first().map(|d| d.message.as_str()), Some(message), "{text:?}");
    }
}
