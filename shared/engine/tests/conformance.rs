//! Every interpreter-only case of the AWS-recorded conformance corpus, run through the engine (no
//! server): status, output, error, cause and the sequence of history event types must match
//! what AWS recorded. Writes a report of the failures to `target/conformance-<language>.txt`.

use serde_json::Value;
use std::fs;
mod support;

use support::{compare_with_recording, load_case, run_definition, shared_dir, target_dir, Outcome};

fn load(path: &std::path::Path) -> Value {
    fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

fn check_case(dir: &std::path::Path) -> Result<(), String> {
    let (definition, input, expected) = load_case(dir);
    let (state, history) = run_definition(&definition, input, "conformance")?;
    let types: Vec<String> = history.iter().map(|e| e.event_type().to_string()).collect();
    compare_with_recording(&expected, &Outcome::of(&state, types))
}

/// The message of a caught panic.
fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| e.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

fn run_language(language: &str, minimum: f64) {
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
        let outcome = std::panic::catch_unwind(|| check_case(&dir))
            .unwrap_or_else(|e| Err(format!("panicked: {}", panic_text(&*e))));
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
    let out = target_dir().join(format!("conformance-{language}.txt"));
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

#[test]
fn jsonpath_cases_match_aws() {
    run_language("JSONPath", 0.90);
}

#[test]
fn jsonata_cases_match_aws() {
    run_language("JSONata", 0.80);
}
