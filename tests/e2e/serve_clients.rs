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

/// Map failure history, DELETING, DescribeStateMachine's variableReferences and
/// encryptionConfiguration, InvalidArn, oversized requests (issue 11, items 8 and 9).
#[test]
fn boto3_api_answers_against_serve() {
    if python_has("boto3, pytest") {
        run_pytest("test_api_answers.py");
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

/// Distributed Map (issue 12): ItemReader formats, ItemBatcher, ResultWriter files on moto's S3,
/// `stepwise run --s3-dir`, and the AWS-recorded distributed-Map cases replayed with their data.
#[test]
fn distributed_map_through_boto3_against_serve_and_moto() {
    if python_has("moto, boto3, pytest") {
        run_pytest_with_own_servers("test_distributed_map.py");
    }
}

/// Deeply nested and 256 KiB inputs through boto3, with `serve` killed and started again on the
/// same data directory (issue 11, item 1).
#[test]
fn boto3_deep_payloads_survive_restarts_of_serve() {
    run_pytest_with_own_servers("test_deep_payloads.py");
}

/// LocalStack's AWS-recorded API snapshot tests replayed through boto3 (issue 11, item 10): every
/// replayed exchange matches its recording but those `replay.KNOWN` explains.
#[test]
fn recorded_api_snapshots_replay_against_serve() {
    run_pytest_with_own_servers("test_snapshot_replay.py");
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

/// The endpoint `serve` prints at start-up (its line "endpoint for boto3, the AWS CLI and the
/// SDKs: URL ...").
/// The line may reach the log a moment after the port answers (a loaded machine): read again
/// for a while before saying it is not there.
fn printed_endpoint(serve: &Serve) -> String {
    let find = |log: &str| {
        log.lines()
            .find_map(|l| {
                l.split("endpoint for boto3, the AWS CLI and the SDKs: ")
                    .nth(1)
            })
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let log = serve.log_text();
        if let Some(endpoint) = find(&log) {
            return endpoint;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve printed no endpoint:\n{log}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// StartSyncExecution and TestState through boto3, the AWS CLI and the JavaScript SDK v3 at the
/// endpoint `serve` prints (issue 11, item 2): the SDKs add the `sync-` host prefix to those two
/// actions (`tests/api/test_sync_endpoint.py`, `tests/api/js/sync_actions.mjs`).
#[test]
fn sync_actions_reach_serve_at_the_printed_endpoint() {
    if !python_has("boto3, awscli, pytest") {
        return;
    }
    let bin = stepwise_bin();
    let data = temp_dir("sync-endpoint").join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let serve = Serve::start(&bin, &data, free_port(), &[]);
    let endpoint = printed_endpoint(&serve);
    let out = Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE"])
        .arg("test_sync_endpoint.py")
        .current_dir(api_dir())
        .env("STEPWISE_ENDPOINT", &endpoint)
        .env_remove("STEPWISE_LAMBDA_PORT")
        .env_remove("AWS_DISABLE_HOST_PREFIX_INJECTION")
        .output()
        .expect("running pytest");
    assert!(
        out.status.success(),
        "pytest test_sync_endpoint.py failed:\n{}\n{}\n--- server log ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        tail(&serve.log_text(), 4000)
    );
    let js = api_dir().join("js");
    if !js.join("node_modules/@aws-sdk/client-sfn").is_dir() {
        let msg = "the JavaScript SDK is not installed: `npm ci --prefix tests/api/js`";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
        eprintln!("SKIPPED (JS part): {msg}");
        return;
    }
    let out = Command::new("node")
        .arg("sync_actions.mjs")
        .current_dir(&js)
        .env("STEPWISE_ENDPOINT", &endpoint)
        .output()
        .expect("running node");
    assert!(
        out.status.success(),
        "the JavaScript SDK check failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(data.parent().expect("temp dir"));
}

/// The EventBridge connection `test_state_through_boto3_against_serve` gives serve.
const TEST_CONNECTION: &str = "arn:aws:events:us-east-1:123456789012:connection/stepwise-test/1";

/// TestState through boto3 and the AWS CLI (issue 11, item 3): inspection levels, a whole
/// definition with `stateName`, mocks, variables, the Context object, Retry and Catch, in
/// JSONPath and JSONata (`tests/api/test_test_state.py`).
#[test]
fn test_state_through_boto3_against_serve() {
    if !python_has("boto3, awscli, pytest") {
        return;
    }
    let bin = stepwise_bin();
    let data = temp_dir("test-state").join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let lambda_port = free_port();
    let lambda = format!("http://127.0.0.1:{lambda_port}");
    // The HTTP Task's connection: an API key (the secret TRACE shows only with revealSecrets)
    // and an invocation header.
    let connections = data.parent().expect("temp dir").join("connections.json");
    std::fs::write(
        &connections,
        serde_json::json!({TEST_CONNECTION: {"AuthorizationType": "API_KEY", "AuthParameters": {
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "the-secret"},
            "InvocationHttpParameters": {"HeaderParameters": [{"Key": "x-from-connection", "Value": "c"}]}}}})
        .to_string(),
    )
    .expect("connections file");
    let connections = connections.display().to_string();
    let serve = Serve::start(
        &bin,
        &data,
        free_port(),
        &[
            "--lambda-endpoint",
            lambda.as_str(),
            "--http-connections",
            connections.as_str(),
        ],
    );
    let endpoint = printed_endpoint(&serve);
    let out = Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE"])
        .arg("test_test_state.py")
        .env("STEPWISE_HTTP_CONNECTION", TEST_CONNECTION)
        .current_dir(api_dir())
        .env("STEPWISE_ENDPOINT", &endpoint)
        .env("STEPWISE_LAMBDA_PORT", lambda_port.to_string())
        .env_remove("AWS_DISABLE_HOST_PREFIX_INJECTION")
        .output()
        .expect("running pytest");
    assert!(
        out.status.success(),
        "pytest test_test_state.py failed:\n{}\n{}\n--- server log ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        tail(&serve.log_text(), 4000)
    );
    println!("{}", String::from_utf8_lossy(&out.stdout));
    let _ = std::fs::remove_dir_all(data.parent().expect("temp dir"));
}
