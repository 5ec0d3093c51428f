//! `stepwise serve` driven by real clients: the Python tests in `tests/api/` (boto3, the AWS CLI)
//! run with pytest against a server this test starts on a free port with a temporary data dir.
//!
//! The `.waitForTaskToken` and Lambda tests need a Lambda-compatible endpoint whose calls the
//! Python test can see, so the fake Lambda lives in the pytest process: this test reserves a
//! second port, passes `--lambda-endpoint http://127.0.0.1:PORT` to serve and
//! `STEPWISE_LAMBDA_PORT=PORT` to pytest, which listens there (`tests/api/common.py`).
//!
//! Without python3, boto3, pytest or awscli the tests are skipped with a message, except in CI
//! (`CI=true`), where a missing tool fails them (`tests/run-all.sh` installs them).

use crate::serve_common::{free_port, temp_dir, Serve};
use std::path::PathBuf;
use std::process::Command;
use stepwise_tests::stepwise_bin;

fn api_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("api")
}

/// Whether `python3` can import `modules`; a missing tool skips the test locally (returns false)
/// and fails it in CI.
fn python_has(modules: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        let msg = format!(
            "python3 with `{modules}` is not available: `python3 -m pip install -r tests/requirements.txt`"
        );
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
        eprintln!("SKIPPED: {msg}");
    }
    ok
}

/// Starts a server and runs `pytest tests/api/<file>` against it; asserts it passed.
fn run_pytest(file: &str) {
    let bin = stepwise_bin();
    let data = temp_dir("clients").join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let lambda_port = free_port();
    let lambda = format!("http://127.0.0.1:{lambda_port}");
    let serve = Serve::start(
        &bin,
        &data,
        free_port(),
        &["--lambda-endpoint", lambda.as_str()],
    );
    let out = Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", file])
        .current_dir(api_dir())
        .env("STEPWISE_ENDPOINT", serve.endpoint())
        .env("STEPWISE_LAMBDA_PORT", lambda_port.to_string())
        .env("STEPWISE_BIN", &bin)
        .output()
        .expect("running pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pytest {file} failed ({}):\n{stdout}\n{stderr}\n--- server log ---\n{}",
        out.status,
        tail(&serve.log_text(), 8000)
    );
    println!("{stdout}");
    drop(serve);
    let _ = std::fs::remove_dir_all(data.parent().expect("temp dir"));
}

fn tail(s: &str, n: usize) -> &str {
    let mut i = s.len().saturating_sub(n);
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

#[test]
fn boto3_against_serve() {
    if python_has("boto3, pytest") {
        run_pytest("test_boto3.py");
    }
}

#[test]
fn aws_cli_against_serve() {
    if python_has("awscli, pytest") {
        run_pytest("test_cli.py");
    }
}

/// Runs `pytest tests/api/<file>` whose tests start (and restart) their own servers from
/// `STEPWISE_BIN`; asserts it passed.
fn run_pytest_with_own_servers(file: &str) {
    if !python_has("boto3, pytest") {
        return;
    }
    let out = Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", file])
        .current_dir(api_dir())
        .env("STEPWISE_BIN", stepwise_bin())
        .env_remove("STEPWISE_ENDPOINT")
        .env_remove("STEPWISE_RETENTION_DAYS")
        .output()
        .expect("running pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pytest {file} failed ({}):\n{}\n{}",
        out.status,
        tail(&stdout, 12000),
        tail(&stderr, 4000)
    );
    println!("{stdout}");
}

/// Deeply nested and 256 KiB inputs through boto3, with `serve` killed and started again on the
/// same data directory (issue 11, item 1).
#[test]
fn boto3_deep_payloads_survive_restarts_of_serve() {
    run_pytest_with_own_servers("test_deep_payloads.py");
}

/// Step Functions Local's mock test cases through boto3 (issue 11, item 6): unknown and empty
/// test cases refused at StartExecution, `#` without a mock configuration an invalid ARN, a
/// redriven mocked task answered from its first response again.
#[test]
fn mock_test_cases_through_boto3_against_serve() {
    run_pytest_with_own_servers("test_mock_cases.py");
}

/// Retention you control (`serve --retention-days`, STEPWISE_RETENTION_DAYS) through boto3, with
/// `serve` stopped and started again on the same data directory.
#[test]
fn retention_through_boto3_against_serve() {
    run_pytest_with_own_servers("test_retention.py");
}

/// Resume from any state and start at a state (Stepwise's own actions), through botocore-signed
/// requests, boto3 and the `stepwise resume` / `stepwise start` commands
/// (`tests/api/test_resume.py`).
#[test]
fn resume_through_boto3_against_serve() {
    if python_has("boto3, pytest") {
        run_pytest("test_resume.py");
    }
}
