//! The `stepwise` command line, as a user runs it: exit codes, output on stdout, errors on
//! stderr, mock configurations, history lines, validation diagnostics.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use stepwise_tests::stepwise_bin;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn stepwise(args: &[&str]) -> Output {
    Command::new(stepwise_bin())
        .args(args)
        .current_dir(repo())
        .output()
        .expect("running stepwise")
}

fn stdout_json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

fn write_temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stepwise-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write temp file");
    p
}

#[test]
fn runs_the_readme_example_and_prints_its_output() {
    let o = stepwise(&[
        "run",
        "examples/order-pipeline.asl.json",
        "--input",
        "@examples/order-input.json",
        "--skip-waits",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout_json(&o);
    assert_eq!(out["labels"], serde_json::json!(["tea x2", "mug x1"]));
    assert_eq!(out["checks"]["notice"], "Order A-1001 received");
}

#[test]
fn mock_config_test_cases_choose_the_task_results() {
    let run = |case: &str| {
        stepwise(&[
            "run",
            "examples/retry-catch.asl.json",
            "--mock-config",
            "examples/retry-catch.mock.json",
            "--test-case",
            case,
            "--skip-waits",
        ])
    };
    let ok = run("HappyPath");
    assert!(ok.status.success());
    assert_eq!(stdout_json(&ok), serde_json::json!({"receipt": "r-42"}));
    let retried = run("RetryThenOk");
    assert!(retried.status.success());
    assert_eq!(
        stdout_json(&retried),
        serde_json::json!({"receipt": "r-43"})
    );
    let declined = run("Declined");
    assert_eq!(declined.status.code(), Some(2));
    let err = String::from_utf8_lossy(&declined.stderr);
    assert!(
        err.contains("Error: PaymentFailed") && err.contains("Cause: insufficient funds"),
        "{err}"
    );
}

/// A test case the mock configuration does not define, or one without a mock configuration, is
/// refused before the run (exit 1, nothing printed on stdout), not at the first mocked Task.
#[test]
fn unknown_or_unconfigured_test_cases_are_refused_before_the_run() {
    let unknown = stepwise(&[
        "run",
        "examples/retry-catch.asl.json",
        "--mock-config",
        "examples/retry-catch.mock.json",
        "--test-case",
        "NoSuchCase",
        "--skip-waits",
    ]);
    assert_eq!(unknown.status.code(), Some(1));
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        err.contains("no test case 'NoSuchCase'") && err.contains("'retry-catch'"),
        "{err}"
    );
    assert!(!err.contains("States.Runtime"), "{err}");
    assert!(unknown.stdout.is_empty());
    let unconfigured = stepwise(&[
        "run",
        "examples/retry-catch.asl.json",
        "--test-case",
        "HappyPath",
    ]);
    assert_eq!(unconfigured.status.code(), Some(1));
    let err = String::from_utf8_lossy(&unconfigured.stderr);
    assert!(err.contains("--mock-config"), "{err}");
    // A mock configuration that cannot be read is said once: its path and the reason.
    let missing = stepwise(&[
        "run",
        "examples/retry-catch.asl.json",
        "--mock-config",
        "no-such-mock-config.json",
        "--test-case",
        "HappyPath",
    ]);
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(err.matches("no-such-mock-config.json").count(), 1, "{err}");
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
}

/// A TIMED_OUT execution has an error and no cause: no empty `Cause:` line.
#[test]
fn a_timed_out_run_prints_no_empty_cause() {
    let def = write_temp(
        "timeout.asl.json",
        r#"{"TimeoutSeconds": 1, "StartAt": "W",
            "States": {"W": {"Type": "Wait", "Seconds": 5, "End": true}}}"#,
    );
    let o = stepwise(&["run", def.to_str().expect("utf-8 path"), "--skip-waits"]);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Execution TIMED_OUT"), "{err}");
    assert!(err.contains("Error: States.Timeout"), "{err}");
    assert!(!err.contains("Cause:"), "{err}");
}

#[test]
fn history_lines_are_the_aws_events_in_order() {
    let hist = write_temp("history.jsonl", "");
    let o = stepwise(&[
        "run",
        "examples/retry-catch.asl.json",
        "--mock-config",
        "examples/retry-catch.mock.json",
        "--test-case",
        "RetryThenOk",
        "--skip-waits",
        "--history",
        hist.to_str().expect("utf-8 path"),
    ]);
    assert!(o.status.success());
    let text = std::fs::read_to_string(&hist).expect("history written");
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["id"], i as u64 + 1);
    }
    assert_eq!(
        events[2]["taskScheduledEventDetails"]["resourceType"],
        "lambda"
    );
    // ExecutionStarted's details are AWS's: input, inputDetails, roleArn (no stateMachineArn).
    let started = events[0]["executionStartedEventDetails"]
        .as_object()
        .expect("details");
    let mut keys: Vec<&str> = started.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["input", "inputDetails", "roleArn"]);
}

#[test]
fn a_task_nothing_serves_fails_naming_the_resource() {
    let o = stepwise(&["run", "examples/retry-catch.asl.json"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("States.Runtime") && err.contains("arn:aws:states:::lambda:invoke"),
        "{err}"
    );
}

#[test]
fn invalid_definitions_get_aws_codes_and_locations_and_exit_1() {
    let bad = write_temp(
        "bad.asl.json",
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nowhere"}}}"#,
    );
    let o = stepwise(&["validate", bad.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("MISSING_TRANSITION_TARGET") && err.contains("/States/A/Next"),
        "{err}"
    );
    let o = stepwise(&["run", bad.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1));
    let garbage = write_temp("garbage.asl.json", "{not json");
    let o = stepwise(&["validate", garbage.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
    let o = stepwise(&["validate", "examples/order-pipeline.asl.json"]);
    assert!(o.status.success());
}

#[test]
fn bad_input_is_a_clear_error() {
    let o = stepwise(&[
        "run",
        "examples/order-pipeline.asl.json",
        "--input",
        "{oops",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not valid JSON"));
}

#[test]
fn waits_really_wait_unless_skipped() {
    let def = write_temp(
        "wait.asl.json",
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"End":true}}}"#,
    );
    let hist = write_temp("wait.jsonl", "");
    let o = stepwise(&[
        "run",
        def.to_str().expect("utf-8"),
        "--history",
        hist.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success());
    let text = std::fs::read_to_string(&hist).expect("history");
    let ts: Vec<f64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["timestamp"]
                .as_f64()
                .unwrap_or(0.0)
        })
        .collect();
    // The execution's own clock says it waited, whether or not waits are skipped.
    assert!(ts[ts.len() - 1] - ts[0] >= 1.0, "{ts:?}");
}

/// Issue 11, item 7: a usage error exits 1 as the README says (clap's own code, 2, is `run`'s
/// code for a FAILED execution); help is not an error.
#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    for args in [
        &["run"][..],
        &["run", "examples/order-pipeline.asl.json", "--no-such-flag"],
        &["no-such-command"],
        &[],
    ] {
        let o = stepwise(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(!o.stderr.is_empty(), "{args:?}: the usage error is shown");
    }
    let o = stepwise(&["run", "--help"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("--input"));
}

/// Issue 11, items 1 and 5: `run` takes any JSON within 256 KiB however deep, as `serve` does,
/// and refuses larger input before running, as StartExecution does.
#[test]
fn run_takes_deep_input_and_refuses_input_over_256_kib() {
    let def = write_temp(
        "deep-pass.asl.json",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"v.$":"$"},"End":true}}}"#,
    );
    let def = def.to_str().expect("utf-8 path");
    for depth in [200, 10_000, 131_000] {
        let input = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let file = write_temp(&format!("deep-{depth}.json"), &input);
        let arg = format!("@{}", file.display());
        let o = stepwise(&["run", def, "--input", &arg, "--quiet"]);
        assert!(
            o.status.success(),
            "depth {depth}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(out.trim(), format!("{{\"v\":{input}}}"), "depth {depth}");
    }
    let big = write_temp("big.json", &format!("\"{}\"", "x".repeat(262_144)));
    let arg = format!("@{}", big.display());
    let o = stepwise(&["run", def, "--input", &arg, "--quiet"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("262144"));
}

/// The README's resume example: the job fails at Load; after the fix, `--resume` with the
/// recorded history starts at Load with the input and variables it had (Extract, which the
/// fixed test case does not mock, does not run again).
#[test]
fn resumes_the_nightly_example_at_its_failed_step() {
    let history = write_temp("nightly-run.jsonl", "");
    let history = history.to_str().expect("utf-8 path");
    let first = stepwise(&[
        "run",
        "examples/nightly-etl.asl.json",
        "--mock-config",
        "examples/nightly-etl.mock.json",
        "--test-case",
        "LoadBroken",
        "--history",
        history,
    ]);
    assert_eq!(first.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&first.stderr).contains("TableLocked"));
    let fixed = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "examples/nightly-etl.asl.json",
            "--mock-config",
            "examples/nightly-etl.mock.json",
            "--test-case",
            "LoadFixed",
            "--resume",
            history,
        ];
        args.extend_from_slice(extra);
        stepwise(&args)
    };
    let o = fixed(&["--from", "Load"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        stdout_json(&o),
        serde_json::json!({"batch": "nightly-2026-12-01", "count": 3, "loaded": 3})
    );
    // a new input replaces the recorded one; the variables stay
    let o = fixed(&["--from", "Load", "--input", r#"{"rows": [], "count": 0}"#]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stdout_json(&o)["count"], 0);
    // a state never reached needs an input; an unknown one is named
    let o = fixed(&["--from", "Report"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("never entered"));
    let o = fixed(&["--from", "Nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("'Nope'"));
    // without --resume, --from starts a fresh run at the state with the given input
    let o = stepwise(&[
        "run",
        "examples/nightly-etl.asl.json",
        "--from",
        "Report",
        "--input",
        r#"{"count": 1, "load": {"loaded": 1}}"#,
    ]);
    assert_eq!(o.status.code(), Some(2), "$batch is not defined there");
}

/// An `aws-sdk:*` resource is checked against AWS's service models at validation, with AWS's
/// diagnostic and location; a known one (region-qualified too) passes.
#[test]
fn validate_checks_aws_sdk_services_and_actions_against_the_models() {
    let def = |resource: &str| {
        format!(
            r#"{{"StartAt":"T","States":{{"T":{{"Type":"Task","Resource":"{resource}","End":true}}}}}}"#
        )
    };
    for ok in [
        "arn:aws:states:::aws-sdk:s3:getObject",
        "arn:aws:states:::aws-sdk:sfn:startExecution",
        "arn:aws:states:us-east-1:123456789012:aws-sdk:dynamodb:query",
    ] {
        let file = write_temp("sdk-ok.asl.json", &def(ok));
        let o = stepwise(&["validate", file.to_str().expect("utf-8 path")]);
        assert!(
            o.status.success(),
            "{ok}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    for bad in [
        "arn:aws:states:::aws-sdk:s3:noSuchAction",
        "arn:aws:states:::aws-sdk:nosuchservice:listThings",
    ] {
        let file = write_temp("sdk-bad.asl.json", &def(bad));
        let o = stepwise(&["validate", file.to_str().expect("utf-8 path")]);
        assert_eq!(o.status.code(), Some(1), "{bad}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(all.contains("is not recognized"), "{bad}: {all}");
        assert!(all.contains("/States/T/Resource"), "{bad}: {all}");
    }
}

/// `run --history` of a large payload whose states each set one member: the lines show every
/// state's whole output (recorded as the member over the input's text, rendered when written),
/// each the next state's input, the last the execution's output.
#[test]
fn history_lines_show_each_output_of_a_large_payload() {
    let states: serde_json::Map<String, Value> = (0..20)
        .map(|i| {
            let mut st = serde_json::json!({"Type": "Pass", "Result": i, "ResultPath": "$.step"});
            match i {
                19 => st["End"] = true.into(),
                _ => st["Next"] = format!("S{}", i + 1).into(),
            }
            (format!("S{i}"), st)
        })
        .collect();
    let def = write_temp(
        "large.asl.json",
        &serde_json::json!({"StartAt": "S0", "States": states}).to_string(),
    );
    let rows: Vec<Value> = (0..300)
        .map(|i| serde_json::json!({"id": i, "text": format!("\"{i}\" é\n{}", "x".repeat(40))}))
        .collect();
    let input = serde_json::json!({"rows": rows, "step": null});
    let hist = write_temp("large.jsonl", "");
    let o = stepwise(&[
        "run",
        def.to_str().expect("utf-8"),
        "--input",
        &input.to_string(),
        "--history",
        hist.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&hist).expect("history");
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let detail = |e: &Value, key: &str, field: &str| e[key][field].as_str().map(str::to_string);
    let exits: Vec<String> = events
        .iter()
        .filter_map(|e| detail(e, "stateExitedEventDetails", "output"))
        .collect();
    let entries: Vec<String> = events
        .iter()
        .filter_map(|e| detail(e, "stateEnteredEventDetails", "input"))
        .collect();
    assert_eq!(exits.len(), 20);
    let mut want = input.clone();
    for (i, exit) in exits.iter().enumerate() {
        want["step"] = i.into();
        assert_eq!(*exit, serde_json::to_string(&want).expect("text"), "S{i}");
    }
    assert_eq!(entries[1..], exits[..19]);
    assert_eq!(stdout_json(&o), want);
    let last = events.last().expect("events");
    assert_eq!(
        detail(last, "executionSucceededEventDetails", "output").as_deref(),
        Some(exits[19].as_str())
    );
}
