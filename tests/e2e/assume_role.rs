//! The embedded homes' opt-in to call as a role, against moto's STS: `stepwise run
//! --assume-role ROLE_ARN` and `stepwise serve --assume-role` (each state machine's `roleArn`).
//! moto gives an assumed role its own account (the role's), so a queue made there is found only
//! by calls made as the role, and GetCallerIdentity names the assumed role and the session.

use serde_json::{json, Value};
use std::process::Command;
use stepwise_tests::stepwise_bin;

use crate::serve_common::{free_port, temp_dir, wait_done, Serve};

const ROLE: &str = "arn:aws:iam::111111111111:role/orders-run";

/// What both homes run: a message to the role's queue, and who the caller is.
fn machine(queue: &str) -> Value {
    json!({"StartAt": "Send", "States": {
        "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": queue, "MessageBody": "as the role"},
            "ResultPath": null, "Next": "Who"},
        "Who": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity",
            "Parameters": {}, "End": true}}})
}

/// A queue in the role's account, made as the role through moto's STS.
async fn role_queue(moto_url: &str) -> String {
    let base = stepwise_aws_api::AwsCaller::from_env(stepwise_aws_api::AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(moto_url.into()),
    })
    .await
    .with_credentials(
        aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("test", "test", None, None, "e2e"),
        ),
    );
    let call = |c: stepwise_aws_api::AwsCaller,
                service: &'static str,
                op: &'static str,
                input: Value| async move {
        c.call(stepwise_aws_api::ApiCall {
            service,
            operation: op,
            input: &input,
            region: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{service} {op}: {e}"))
        .output
    };
    let assumed = call(
        base.clone(),
        "sts",
        "AssumeRole",
        json!({"RoleArn": ROLE, "RoleSessionName": "setup"}),
    )
    .await;
    let c = &assumed["Credentials"];
    let creds = aws_credential_types::Credentials::new(
        c["AccessKeyId"].as_str().expect("key"),
        c["SecretAccessKey"].as_str().expect("secret"),
        c["SessionToken"].as_str().map(str::to_string),
        None,
        "e2e",
    );
    let as_role = base
        .with_credentials(aws_credential_types::provider::SharedCredentialsProvider::new(creds));
    call(
        as_role,
        "sqs",
        "CreateQueue",
        json!({"QueueName": "role-orders"}),
    )
    .await["QueueUrl"]
        .as_str()
        .expect("QueueUrl")
        .to_string()
}

fn check(out: &Value, session: &str) {
    assert_eq!(out["Account"], "111111111111", "{out}");
    let arn = out["Arn"].as_str().unwrap_or_default();
    assert!(
        arn.contains("assumed-role/orders-run/") && arn.ends_with(session),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_and_serve_call_as_the_role_when_asked() {
    let Some(moto) = stepwise_tests::emulators::start_moto_or_skip() else {
        return;
    };
    let queue = role_queue(&moto.moto_url).await;
    assert!(queue.contains("111111111111"), "{queue}");
    let dir = temp_dir("assume-role");
    let file = dir.join("role.asl.json");
    std::fs::write(&file, machine(&queue).to_string()).expect("write");
    let cli = |extra: &[&str]| {
        let mut c = Command::new(stepwise_bin());
        c.args(["run", file.to_str().expect("path"), "--quiet"])
            .args(["--aws-endpoint-url", &moto.moto_url])
            .args(extra)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env_remove("STEPWISE_ROLE_ARN")
            .env_remove("AWS_ENDPOINT_URL");
        c.output().expect("running stepwise")
    };
    // Without the opt-in: the local credentials, in whose account the queue does not exist.
    let o = cli(&[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("SQS."),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = cli(&["--assume-role", ROLE]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out: Value = serde_json::from_slice(&o.stdout).expect("output");
    assert_eq!(out["Account"], "111111111111", "{out}");
    assert!(
        out["Arn"]
            .as_str()
            .is_some_and(|a| a.contains("assumed-role/orders-run/")),
        "{out}"
    );

    let serve = Serve::start_with_env(
        &stepwise_bin(),
        &dir.join("data"),
        free_port(),
        &["--aws-endpoint-url", &moto.moto_url, "--assume-role"],
        &[
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    let sm = serve.ok(
        "CreateStateMachine",
        json!({"name": "role", "definition": machine(&queue).to_string(), "roleArn": ROLE}),
    )["stateMachineArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let ex = serve.ok(
        "StartExecution",
        json!({"stateMachineArn": sm, "name": "run-7", "input": "{}"}),
    )["executionArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let d = wait_done(&serve, &ex);
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let out: Value = serde_json::from_str(d["output"].as_str().expect("output")).expect("json");
    check(&out, "run-7");
}
