//! Every interpreter-only case of the AWS-recorded conformance corpus, run through the engine (no
//! server): status, output, error, cause and the sequence of history event types must match
//! what AWS recorded. Writes a report of the failures to `target/conformance-<language>.txt`.

use serde_json::Value;
use std::fs;
use stepwise_tests::{matches, run_definition, shared_dir, text_matches};

fn load(path: &std::path::Path) -> Value {
    fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

async fn check_case(dir: &std::path::Path) -> Result<(), String> {
    let definition = load(&dir.join("definition.json"));
    let input = unwrap_recorded_text(load(&dir.join("input.json")));
    let mut expected = load(&dir.join("expected.json"));
    expected["output"] = unwrap_recorded_text(expected["output"].take());
    let (state, history) = run_definition(&definition, input, "conformance").await?;
    let mut problems = Vec::new();
    let status = state.status.as_str();
    if expected["status"] != status {
        problems.push(format!("status {status} != {}", expected["status"]));
    }
    if expected["status"] == "SUCCEEDED" {
        let out = state.output.clone().unwrap_or(Value::Null);
        if !matches(&expected["output"], &out) {
            problems.push(format!(
                "output {} != {}",
                truncate(&out.to_string()),
                truncate(&expected["output"].to_string())
            ));
        }
    }
    if expected["status"] == "FAILED" {
        if !text_matches(&expected["error"], state.error.as_deref()) {
            problems.push(format!("error {:?} != {}", state.error, expected["error"]));
        }
        if !text_matches(&expected["cause"], state.cause.as_deref()) {
            problems.push(format!(
                "cause {:?} != {}",
                state.cause.as_deref().map(truncate),
                truncate(&expected["cause"].to_string())
            ));
        }
    }
    let types: Vec<Value> = history
        .iter()
        .map(|e| Value::String(e.event_type.clone()))
        .collect();
    if Value::Array(types.clone()) != expected["events"] {
        problems.push(format!(
            "events {} != {}",
            Value::Array(types),
            expected["events"]
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The recordings keep top-level values that are not objects as their JSON text (`"[1,2,3]"`,
/// `"42"`, `"true"`) where AWS gave (or was given) the value itself; read them back as values.
fn unwrap_recorded_text(v: Value) -> Value {
    match &v {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(parsed) => parsed,
            _ => v,
        },
        _ => v,
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(300).collect()
}

async fn run_language(language: &str, minimum: f64) {
    let Some(shared) = shared_dir() else {
        eprintln!("skipping: ../shared/conformance is not there (set STEPWISE_SHARED)");
        return;
    };
    let cases = shared.join("conformance/cases");
    let mut names: Vec<_> = fs::read_dir(&cases)
        .expect("cases dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    names.sort();
    let (mut passed, mut failed) = (0, Vec::new());
    for dir in names {
        let meta = load(&dir.join("meta.json"));
        if meta["query_language"] != language
            || meta["needs"].as_array().is_some_and(|n| !n.is_empty())
        {
            continue;
        }
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        // A panic in one case is a failure of that case, not of the run.
        let dir2 = dir.clone();
        let outcome = tokio::spawn(async move { check_case(&dir2).await })
            .await
            .unwrap_or_else(|e| Err(format!("panicked: {e}")));
        match outcome {
            Ok(()) => passed += 1,
            Err(why) => failed.push(format!("{name}: {why}")),
        }
    }
    let total = passed + failed.len();
    let report = format!(
        "{passed} passed, {} failed of {total} {language} interpreter-only cases\n\n{}\n",
        failed.len(),
        failed.join("\n")
    );
    let out = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../target/conformance-{language}.txt"));
    let _ = fs::write(&out, &report);
    eprintln!("{report}");
    let rate = passed as f64 / total.max(1) as f64;
    assert!(
        rate >= minimum,
        "{language}: {passed}/{total} passed ({:.1}%), below {:.0}%",
        rate * 100.0,
        minimum * 100.0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn jsonpath_cases_match_aws() {
    run_language("JSONPath", 0.90).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn jsonata_cases_match_aws() {
    run_language("JSONata", 0.0).await;
}
