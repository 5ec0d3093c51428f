//! Replays the AWS-recorded `choice_operators__*` conformance cases against [`Rule`]: for each
//! case's single Choice state, evaluates the rules on the recorded input and checks that the
//! branch taken (or the failure) is the one AWS recorded.
//!
//! The recordings replaced timestamps in inputs and definitions by the placeholder `"date"`, so a
//! case like `TimestampEquals "date"` on `{"Variable": "date"}` was recorded both as matching and
//! as not matching. Those values are restored from the generating test's public parameter table
//! (LocalStack's `choice_operators` tests, indexed by the case's `record`); for cases that were not
//! redacted the test checks that the restored values equal the recorded ones, which pins the table.

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use stepwise_asl::choice::Rule;
use stepwise_asl::Scope;

fn cases_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("STEPWISE_CONFORMANCE_CASES") {
        return Some(PathBuf::from(dir));
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|a| a.join("shared/conformance/cases"))
        .find(|p| p.is_dir())
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const T0: &str = "2012-10-09T19:00:55Z";
const T1: &str = "2012-10-09T19:00:56Z";

/// LocalStack's `TYPE_COMPARISONS` (Variable, literal) for the `Is*` tests.
fn type_comparisons() -> Vec<(Value, Value)> {
    let vars = [
        json!(null),
        json!(0),
        json!(0.0),
        json!(1),
        json!(1.1),
        json!(""),
        json!(" "),
        json!("HelloWorld"),
        json!("2012-10-09T19:00:55"),
        json!("2012-10-09T19:00:55Z"),
        json!("2012-10-09T19:00:55+01:00"),
        json!("2023-02-24"),
        json!([]),
        json!([""]),
        json!({}),
        json!({"A": 0}),
    ];
    let mut out = Vec::new();
    for v in vars {
        out.push((v.clone(), json!(true)));
        out.push((v, json!(false)));
    }
    out.push((json!(true), json!(true)));
    out.push((json!(false), json!(true)));
    out.push((json!(false), json!(true)));
    out.push((json!(false), json!(false)));
    out
}

/// LocalStack's (Variable, Value) pairs for one timestamp test.
fn timestamp_comparisons(test: &str) -> Vec<(Value, Value)> {
    let base = vec![
        (json!(T0), json!(T0)),
        (json!(T0), json!(T1)),
        (json!(T1), json!(T0)),
    ];
    match test {
        "test_timestamp_equals" => {
            let vars = [
                json!(null),
                json!(0),
                json!(0.0),
                json!(1),
                json!(1.1),
                json!(""),
                json!(" "),
                json!("2023-02-24 12:15:56.832957"),
                json!([]),
                json!([""]),
                json!({}),
                json!({"A": 0}),
                json!(false),
                json!(true),
            ];
            let mut out: Vec<_> = vars.into_iter().map(|v| (v, json!(T0))).collect();
            out.extend(base);
            out
        }
        "test_timestamp_greater_than_path" | "test_timestamp_greater_than_equals_path" => {
            vec![(json!(T0), json!(T1))]
        }
        "test_timestamp_less_than_path" | "test_timestamp_less_than_equals_path" => {
            vec![(json!(T1), json!(T0))]
        }
        _ => base,
    }
}

/// Restores redacted timestamps in `input` and in the Choice state's rules.
fn restore(meta: &Value, input: &mut Value, choice: &mut Value) {
    let key = meta["key"].as_str().unwrap_or_default();
    let test = key.rsplit("::").next().unwrap_or_default();
    let index: usize = meta["record"]
        .as_str()
        .and_then(|r| r.strip_prefix("cases[")?.strip_suffix(']')?.parse().ok())
        .unwrap_or_else(|| panic!("bad record in {meta}"));
    let (var, value) = if key.contains("test_is_operators") {
        type_comparisons()[index].clone()
    } else if key.contains("test_timestamp_operators") {
        timestamp_comparisons(test)[index].clone()
    } else {
        return;
    };
    let recorded = json!({"Variable": input["Variable"], "Value": input["Value"]});
    let restored = json!({"Variable": var, "Value": value});
    let redacted = recorded.to_string().contains("\"date\"");
    if !redacted {
        assert_eq!(
            recorded, restored,
            "parameter table is off for {key} {index}"
        );
        return;
    }
    *input = restored;
    if let Some(rules) = choice["Choices"].as_array_mut() {
        for rule in rules {
            if let Some(obj) = rule.as_object_mut() {
                for (k, v) in obj.iter_mut() {
                    if k.starts_with("Timestamp") && !k.ends_with("Path") && v == "date" {
                        *v = value.clone();
                    }
                }
            }
        }
    }
}

/// Runs one Choice state: `Ok(next state)` or `Err((error, cause))`.
fn decide(choice: &Value, input: &Value) -> Result<String, (String, String)> {
    let context = json!({});
    let vars = Map::new();
    let scope = Scope {
        input,
        context: &context,
        variables: &vars,
    };
    for entry in choice["Choices"].as_array().into_iter().flatten() {
        let rule = Rule::parse(entry).map_err(|e| ("parse".to_string(), e))?;
        match rule.evaluate(&scope) {
            Ok(true) => return Ok(entry["Next"].as_str().unwrap_or_default().to_string()),
            Ok(false) => {}
            Err(e) => return Err((e.error, e.cause)),
        }
    }
    match choice["Default"].as_str() {
        Some(d) => Ok(d.to_string()),
        None => Err((
            "States.NoChoiceMatched".into(),
            "No Choice Rule matched and no Default".into(),
        )),
    }
}

/// The definition validator's diagnostics about Choice rules (located under a `Choices` field).
fn choice_diagnostics(definition: &Value) -> Vec<String> {
    stepwise_asl::validate::validate(&definition.to_string())
        .into_iter()
        .filter(|d| d.location.contains("/Choices/"))
        .map(|d| format!("{}: {} at {}", d.code, d.message, d.location))
        .collect()
}

/// Checks one case; `Err` says why it does not match AWS.
fn check(dir: &Path) -> Result<(), String> {
    let definition = read_json(&dir.join("definition.json"));
    let mut input = read_json(&dir.join("input.json"));
    let expected = read_json(&dir.join("expected.json"));
    let meta = read_json(&dir.join("meta.json"));
    let states = definition["States"]
        .as_object()
        .ok_or("definition has no States")?;
    let choices: Vec<&Value> = states.values().filter(|s| s["Type"] == "Choice").collect();
    let [choice] = choices.as_slice() else {
        return Err(format!("{} Choice states, expected 1", choices.len()));
    };
    let mut choice = (*choice).clone();
    restore(&meta, &mut input, &mut choice);
    let issues = choice_diagnostics(&definition);
    if !issues.is_empty() {
        return Err(format!("the validator rejects a recorded rule: {issues:?}"));
    }
    let got = decide(&choice, &input);
    match (expected["status"].as_str(), got) {
        (Some("SUCCEEDED"), Ok(next)) => {
            // Each branch is a Pass state whose Result is the execution's output.
            let reached = &states
                .get(&next)
                .ok_or_else(|| format!("no state {next}"))?["Result"];
            if reached == &expected["output"] {
                Ok(())
            } else {
                Err(format!(
                    "took {next} ({reached}), AWS output {}",
                    expected["output"]
                ))
            }
        }
        (Some("FAILED"), Err((error, cause))) => {
            let want_cause = expected["cause"].as_str().unwrap_or_default();
            if expected["error"] == error.as_str() && want_cause.ends_with(&cause) {
                Ok(())
            } else {
                Err(format!(
                    "failed {error}: {cause}; AWS {}: {want_cause}",
                    expected["error"]
                ))
            }
        }
        (status, Ok(next)) => Err(format!("took {next}, AWS {status:?}")),
        (status, Err((error, cause))) => Err(format!("failed {error}: {cause}; AWS {status:?}")),
    }
}

#[test]
fn choice_operator_cases_match_aws() {
    let Some(dir) = cases_dir() else {
        eprintln!("conformance cases not found; set STEPWISE_CONFORMANCE_CASES");
        return;
    };
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("choice_operators__"))
        })
        .collect();
    cases.sort();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            check(c).err().map(|why| {
                let name = c.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                format!("{name}: {why}")
            })
        })
        .collect();
    eprintln!(
        "choice_operators: {} of {} cases match AWS",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(
        !cases.is_empty(),
        "no choice_operators cases in {}",
        dir.display()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every JSONPath Choice rule in the other recorded cases and in the real-world definitions AWS
/// accepts must parse and pass the definition validator.
#[test]
fn every_published_rule_parses() {
    let Some(cases) = cases_dir() else {
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&cases)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        // The choice_operators cases carry redacted timestamp literals; the test above restores them.
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("choice_operators__"))
        })
        .map(|p| p.join("definition.json"))
        .collect();
    if let Some(valid) = cases.parent().map(|p| p.join("realworld/valid")) {
        files.extend(
            std::fs::read_dir(valid)
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok().map(|e| e.path())),
        );
    }
    let mut rules = 0;
    let mut problems = Vec::new();
    for file in files.iter().filter(|f| f.is_file()) {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let Ok(def) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        for issue in choice_diagnostics(&def) {
            problems.push(format!("{}: {issue}", file.display()));
        }
        let top_ql = def["QueryLanguage"].as_str().unwrap_or("JSONPath");
        let mut stack = vec![(
            def["States"].clone(),
            top_ql.to_string(),
            String::from("/States"),
        )];
        while let Some((states, ql, loc)) = stack.pop() {
            for (name, s) in states.as_object().into_iter().flatten() {
                let ql = s["QueryLanguage"].as_str().unwrap_or(&ql).to_string();
                let sloc = format!("{loc}/{name}");
                for (i, b) in s["Branches"].as_array().into_iter().flatten().enumerate() {
                    stack.push((
                        b["States"].clone(),
                        ql.clone(),
                        format!("{sloc}/Branches/{i}/States"),
                    ));
                }
                for k in ["Iterator", "ItemProcessor"] {
                    if s[k].is_object() {
                        stack.push((
                            s[k]["States"].clone(),
                            ql.clone(),
                            format!("{sloc}/{k}/States"),
                        ));
                    }
                }
                if s["Type"] != "Choice" || ql != "JSONPath" {
                    continue;
                }
                for (i, c) in s["Choices"].as_array().into_iter().flatten().enumerate() {
                    rules += 1;
                    let at = format!("{}: {sloc}/Choices/{i}", file.display());
                    if let Err(e) = Rule::parse(c) {
                        problems.push(format!("{at}: parse: {e}"));
                    }
                }
            }
        }
    }
    eprintln!("{rules} published Choice rules checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
