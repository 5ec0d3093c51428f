//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`), `InputPath`/`OutputPath`
//! selection and `ResultPath` merging, with the errors AWS raises.
//!
//! A definition's templates and `…Path` fields are compiled when it loads ([`Template`],
//! [`Expression`]); the functions taking text compile it on the spot.

use crate::jsonpath::{self, AsPath, NotFound};
use crate::{Entropy, EvalError, Scope};
use serde_json::{Map, Value};
use std::borrow::Cow;

mod template;

pub use template::{walk, walk_mut, ContextUse, Expression, Template};

/// Evaluates a payload template: keys ending in `.$` take the value of a path or intrinsic function.
///
/// The `.$` is dropped from the key. Objects are walked at any depth, including inside arrays.
/// A path that selects nothing fails with `States.Runtime`:
/// `The JSONPath '$.x' specified for the field 'x.$' could not be found in the input '{...}'`.
/// A definition's templates are compiled once, as [`Template`]s; this compiles on the spot.
pub fn evaluate_template(
    template: &Value,
    scope: &Scope,
    entropy: &mut dyn Entropy,
) -> Result<Value, EvalError> {
    template::evaluate_value(template, scope, entropy)
}

/// A field that holds a reference path or an intrinsic function call (a Fail state's
/// `ErrorPath` and `CausePath`): evaluated, and failing, as a `key.$` template field is.
/// A definition's fields are compiled once, as [`Expression`]s; this compiles on the spot.
pub fn evaluate_path_field(
    field: &str,
    expr: &str,
    scope: &Scope,
    entropy: &mut dyn Entropy,
) -> Result<Value, EvalError> {
    Expression::new(expr).evaluate(field, scope, entropy)
}

/// `InputPath`, `OutputPath` or `ItemsPath` (named by `field`): `None` (JSON null) gives `{}`.
///
/// A path that selects nothing fails with `States.Runtime` and Jayway's reason, e.g.
/// `Invalid path '$.x' : No results for path: $['x']`.
pub fn select<P: AsPath + ?Sized>(
    field: &str,
    path: Option<&P>,
    scope: &Scope,
) -> Result<Value, EvalError> {
    select_borrowed(field, path, scope).map(Cow::into_owned)
}

/// [`select`] without copying what a definite path finds (the input itself for `$`).
pub fn select_borrowed<'a, P: AsPath + ?Sized>(
    field: &str,
    path: Option<&P>,
    scope: &Scope<'a>,
) -> Result<Cow<'a, Value>, EvalError> {
    let Some(path) = path else {
        return Ok(Cow::Owned(Value::Object(Map::new())));
    };
    let p = path.text();
    match jsonpath::select(path, scope) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(NotFound(reason))) => {
            Err(EvalError::runtime(format!("Invalid path '{p}' : {reason}")))
        }
        Err(e) => Err(EvalError::runtime(format!(
            "The value for the field '{field}' must be a valid JSONPath: {e}"
        ))),
    }
}

/// `ResultPath`: `None` (JSON null) keeps the input and drops the result.
///
/// Otherwise the result is written at the reference path inside the input, creating objects on
/// the way; an input that cannot hold it fails with `States.ResultPathMatchFailure`. The input is
/// taken from `input` (moved, not copied: a state's input is not needed once merged) when the
/// merge succeeds, and left untouched when it fails (a redrive enters the state with it).
// Always inlined: out of line it cost each state ~30 instructions (W2: 1%), and the
// compiler's choice turned on the size of its caller.
#[inline(always)]
pub fn merge_result<P: AsPath + ?Sized>(
    input: &mut Value,
    result: Value,
    path: Option<&P>,
) -> Result<Value, EvalError> {
    match path {
        None => Ok(std::mem::take(input)),
        Some(p) if p.text() == "$" => Ok(result),
        Some(p) => {
            jsonpath::set(input, p, result)?;
            Ok(std::mem::take(input))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Counter(u64);
    impl Entropy for Counter {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            self.0
        }
    }

    fn with_scope<T>(input: &Value, f: impl FnOnce(&Scope) -> T) -> T {
        let ctx = json!({"Execution": {"Input": input.clone(), "Name": "e"}, "Map": {"Item": {"Value": 7, "Index": 0}}});
        let vars: Map<String, Value> = json!({"x": {"y": 1}})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let scope = Scope {
            input,
            context: &ctx,
            variables: &vars,
        };
        f(&scope)
    }

    #[test]
    fn templates() {
        let input = json!({"a": 1, "b": {"c": [1, 2, 3]}, "s": "str"});
        let cases: Vec<(Value, Value)> = vec![
            (json!({"k": "v"}), json!({"k": "v"})),
            (json!({"k.$": "$.a"}), json!({"k": 1})),
            (json!({"k.$": "$"}), json!({"k": input.clone()})),
            (json!({"k.$": "$.b.c[1]"}), json!({"k": 2})),
            (json!({"k.$": "$.b.c[1:]"}), json!({"k": [2, 3]})),
            (json!({"k.$": "$$.Map.Item.Value"}), json!({"k": 7})),
            (json!({"k.$": "$x.y"}), json!({"k": 1})),
            (
                json!({"k.$": "States.Format('{}-{}', $.a, $.s)"}),
                json!({"k": "1-str"}),
            ),
            (
                json!({"n": {"deep": {"k.$": "$.s"}}, "lit": [1, {"m.$": "$.a"}]}),
                json!({"n": {"deep": {"k": "str"}}, "lit": [1, {"m": 1}]}),
            ),
            (json!({"keep.$.not": "$.a"}), json!({"keep.$.not": "$.a"})),
            (json!({"k.$": "$.b.c[?(@ > 5)]"}), json!({"k": []})),
            (json!("plain"), json!("plain")),
            (json!(null), json!(null)),
        ];
        for (tpl, want) in cases {
            let got = with_scope(&input, |s| evaluate_template(&tpl, s, &mut Counter(1)));
            assert_eq!(got, Ok(want), "{tpl}");
        }
    }

    #[test]
    fn template_errors() {
        let input = json!({"int-literal": 0});
        let got = with_scope(&input, |s| {
            evaluate_template(
                &json!({"value.$": "$$.Execution.Input.no_such_jsonpath"}),
                s,
                &mut Counter(1),
            )
        });
        assert_eq!(
            got,
            Err(EvalError::runtime(
                "The JSONPath '$$.Execution.Input.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{\"int-literal\":0}'"
            ))
        );
        for tpl in [
            json!({"v.$": "$.nope"}),
            json!({"v.$": "$.a.b"}),
            json!({"v.$": "$nope"}),
            json!({"v.$": 5}),
            json!({"v.$": "$.["}),
            json!({"v": [{"w.$": "$.nope"}]}),
        ] {
            let got = with_scope(&input, |s| evaluate_template(&tpl, s, &mut Counter(1)));
            assert_eq!(
                got.map_err(|e| e.error),
                Err(crate::errors::RUNTIME.to_string()),
                "{tpl}"
            );
        }
        let got = with_scope(&input, |s| {
            evaluate_template(
                &json!({"v.$": "States.ArrayLength($.int-literal)"}),
                s,
                &mut Counter(1),
            )
        });
        assert_eq!(
            got.map_err(|e| e.error),
            Err(crate::errors::INTRINSIC_FAILURE.to_string())
        );
    }

    #[test]
    fn selection() {
        let input = json!({"a": {"b": [1, 2]}, "n": null});
        with_scope(&input, |s| {
            assert_eq!(select("InputPath", None::<&str>, s), Ok(json!({})));
            assert_eq!(select("InputPath", Some("$"), s), Ok(input.clone()));
            assert_eq!(select("InputPath", Some("$.a.b"), s), Ok(json!([1, 2])));
            assert_eq!(select("InputPath", Some("$.n"), s), Ok(Value::Null));
            assert_eq!(select("ItemsPath", Some("$.a.b[*]"), s), Ok(json!([1, 2])));
            assert_eq!(
                select("InputPath", Some("$$.Map.Item.Index"), s),
                Ok(json!(0))
            );
            assert_eq!(
                select("InputPath", Some("$.x"), s),
                Err(EvalError::runtime(
                    "Invalid path '$.x' : No results for path: $['x']"
                ))
            );
            assert_eq!(
                select("OutputPath", Some("$.x.y"), s),
                Err(EvalError::runtime(
                    "Invalid path '$.x.y' : Missing property in path $['x']"
                ))
            );
            assert!(select("InputPath", Some("nope"), s).is_err());
        });
    }

    #[test]
    fn result_path() {
        let input = json!({"a": 1});
        let cases: Vec<(Option<&str>, Result<Value, &str>)> = vec![
            (None, Ok(json!({"a": 1}))),
            (Some("$"), Ok(json!("R"))),
            (Some("$.r"), Ok(json!({"a": 1, "r": "R"}))),
            (Some("$.a"), Ok(json!({"a": "R"}))),
            (Some("$.x.y"), Ok(json!({"a": 1, "x": {"y": "R"}}))),
            (Some("$.a.b"), Err(crate::errors::RESULT_PATH_MATCH_FAILURE)),
        ];
        for (p, want) in cases {
            let mut doc = input.clone();
            let got = merge_result(&mut doc, json!("R"), p).map_err(|e| e.error);
            assert_eq!(got.is_ok(), p != Some("$.a.b"));
            assert_eq!(got, want.map_err(str::to_string), "{p:?}");
            // A failed merge leaves the input as it was.
            if p == Some("$.a.b") {
                assert_eq!(doc, input);
            }
        }
        let e = merge_result(&mut json!("text"), json!(1), Some("$.x"));
        assert_eq!(
            e,
            Err(EvalError {
                error: crate::errors::RESULT_PATH_MATCH_FAILURE.into(),
                cause: "Unable to apply ReferencePath $.x to input \"text\"".into()
            })
        );
    }

    /// Replays the AWS-recorded single-Pass-state intrinsic cases that need no services.
    #[test]
    fn conformance_intrinsic_cases() {
        let dir = std::path::Path::new("/work/shared/conformance/cases");
        let Ok(entries) = std::fs::read_dir(dir) else {
            return; // the recordings live outside the repository; skip when absent
        };
        let read = |p: std::path::PathBuf| -> Option<Value> {
            serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
        };
        let mut checked = 0;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if !name.starts_with("intrinsic_functions__") {
                continue;
            }
            let d = e.path();
            let (Some(meta), Some(def), Some(input), Some(exp)) = (
                read(d.join("meta.json")),
                read(d.join("definition.json")),
                read(d.join("input.json")),
                read(d.join("expected.json")),
            ) else {
                continue;
            };
            if meta["query_language"] != "JSONPath" || meta["needs"] != json!([]) {
                continue;
            }
            let Some(states) = def["States"].as_object() else {
                continue;
            };
            if states.len() != 1 {
                continue;
            }
            let Some(state) = states.values().next() else {
                continue;
            };
            if state["Type"] != "Pass" || state.get("ResultPath").is_some() {
                continue;
            }
            let Some(params) = state.get("Parameters") else {
                continue;
            };
            let ctx = json!({
                "Execution": {"Input": input.clone(), "Name": "<ExecArnPart_0idx>"},
                "StateMachine": {"Id": "arn:<partition>:states:<region>:111111111111:stateMachine:<ArnPart_0idx>", "Name": "<ArnPart_0idx>"}
            });
            let vars = Map::new();
            let scope = Scope {
                input: &input,
                context: &ctx,
                variables: &vars,
            };
            let got = evaluate_template(params, &scope, &mut Counter(3));
            if exp["status"] == "SUCCEEDED" {
                let mut want = exp["output"].clone();
                let mut got = got.unwrap_or_else(|e| json!({"error": e.to_string(), "case": name}));
                // Random results are masked in the recordings.
                for (k, masked) in [
                    ("FunctionResult", "RandomNumberGenerated"),
                    ("FunctionResult", "generated-uuid"),
                ] {
                    if want[k] == masked {
                        want[k] = Value::Null;
                        got[k] = Value::Null;
                    }
                }
                assert_eq!(got, want, "{name}");
            } else {
                assert_eq!(
                    got.map_err(|e| e.error).err(),
                    exp["error"].as_str().map(str::to_string),
                    "{name}"
                );
            }
            checked += 1;
        }
        assert!(checked > 50, "only {checked} conformance cases ran");
    }
}
