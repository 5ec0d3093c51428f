//! `.waitForTaskToken` with every integration that allows it, end to end: `sqs:sendMessage`,
//! `sns:publish` (to a queue subscribed raw), `events:putEvents` (a rule to a queue) and
//! `ecs:runTask` (the token in the container's environment) on moto; `states:startExecution`
//! (the child's input); `apigateway:invoke` and `bedrock:invokeModel` (a small HTTP server on
//! 127.0.0.1 records the request: the API, and the model's Bedrock Runtime endpoint);
//! `lambda:invoke` (a Lambda-compatible fake records the payload).
//!
//! Through `stepwise serve` (and the serverless API in `serverless/callbacks.rs`) the test plays
//! the approver: it finds each token where the service put it and answers SendTaskSuccess, or
//! SendTaskFailure for the one the machine catches. `stepwise run` has no API to answer with:
//! there each token still reaches its service, and the task ends on its TimeoutSeconds
//! (`States.Timeout`, caught), never a stuck execution.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stepwise_aws_api::AwsCaller;
use stepwise_tests::stepwise_bin;

use crate::integrations_jobs::{api, create_job_resources};
use crate::serve_common::{
    free_port, read_headers_and_body, temp_dir, FakeLambda, Serve, DEADLINE,
};

/// An HTTP server on 127.0.0.1 that records each request's JSON body and answers `{}`.
pub(crate) fn start_recorder() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding the recorder");
    let port = listener.local_addr().expect("address").port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let record = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let record = record.clone();
            std::thread::spawn(move || {
                let Ok(mut w) = stream.try_clone() else {
                    return;
                };
                let mut r = BufReader::new(stream);
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let (_, body) = read_headers_and_body(&mut r, false);
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    record.lock().expect("lock").push(v);
                }
                let _ = w.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                );
            });
        }
    });
    (format!("http://127.0.0.1:{port}"), bodies)
}

/// A Lambda-compatible fake that records each payload and returns `{}`.
pub(crate) fn start_lambda() -> (FakeLambda, Arc<Mutex<Vec<Value>>>) {
    let payloads = Arc::new(Mutex::new(Vec::new()));
    let record = payloads.clone();
    let lambda = FakeLambda::start(
        true,
        Arc::new(move |_name: &str, payload: &Value| {
            record.lock().expect("lock").push(payload.clone());
            json!({})
        }),
    );
    (lambda, payloads)
}

/// Where the machine's callbacks go, in the account the execution calls as.
pub(crate) struct Places {
    pub queue: String,
    pub topic: String,
    pub cluster: String,
    pub http: String,
    pub child: String,
}

/// The queue the sqs, sns and events callbacks reach, and the topic and rule that feed it.
pub(crate) async fn create_callback_resources(c: &AwsCaller) -> (String, String, String) {
    let url = api(c, "sqs", "CreateQueue", json!({"QueueName": "approvals"})).await["QueueUrl"]
        .as_str()
        .expect("QueueUrl")
        .to_string();
    let arn = api(
        c,
        "sqs",
        "GetQueueAttributes",
        json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]}),
    )
    .await["Attributes"]["QueueArn"]
        .as_str()
        .expect("QueueArn")
        .to_string();
    let topic = api(c, "sns", "CreateTopic", json!({"Name": "approvals"})).await["TopicArn"]
        .as_str()
        .expect("TopicArn")
        .to_string();
    api(
        c,
        "sns",
        "Subscribe",
        json!({"TopicArn": topic, "Protocol": "sqs", "Endpoint": arn,
            "Attributes": {"RawMessageDelivery": "true"}}),
    )
    .await;
    api(
        c,
        "events",
        "PutRule",
        json!({"Name": "approvals", "EventPattern": "{\"source\":[\"shop.approvals\"]}"}),
    )
    .await;
    api(
        c,
        "events",
        "PutTargets",
        json!({"Rule": "approvals", "Targets": [{"Id": "q", "Arn": arn}]}),
    )
    .await;
    let cluster = create_job_resources(c).await;
    (url, topic, cluster)
}

/// One `.waitForTaskToken` task per integration; each answer lands at `$.<kind>`, a timeout is
/// caught into `$.<kind>Timeout`, and the `reject` one is answered with SendTaskFailure.
pub(crate) fn callbacks_machine(p: &Places, timeout_seconds: u64) -> Value {
    let token = |kind: &str| json!({"kind": kind, "token.$": "$$.Task.Token"});
    let steps: Vec<(&str, &str, Value)> = vec![
        (
            "sqs",
            "sqs:sendMessage",
            json!({"QueueUrl": p.queue, "MessageBody": token("sqs")}),
        ),
        (
            "sns",
            "sns:publish",
            json!({"TopicArn": p.topic, "Message": token("sns")}),
        ),
        (
            "events",
            "events:putEvents",
            json!({"Entries": [{"Source": "shop.approvals", "DetailType": "Approval",
                "Detail": token("events")}]}),
        ),
        (
            "ecs",
            "ecs:runTask",
            json!({"Cluster": p.cluster, "TaskDefinition": "report", "LaunchType": "FARGATE",
                "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"]}},
                "Overrides": {"ContainerOverrides": [{"Name": "app", "Environment": [
                    {"Name": "KIND", "Value": "ecs"},
                    {"Name": "TASK_TOKEN", "Value.$": "$$.Task.Token"}]}]}}),
        ),
        (
            "states",
            "states:startExecution",
            json!({"StateMachineArn": p.child, "Input": token("states")}),
        ),
        (
            "apigateway",
            "apigateway:invoke",
            json!({"ApiEndpoint": p.http, "Method": "POST", "Stage": "prod", "Path": "approve",
                "RequestBody": token("apigateway")}),
        ),
        (
            "lambda",
            "lambda:invoke",
            json!({"FunctionName": "approver", "Payload": token("lambda")}),
        ),
        (
            "bedrock",
            "bedrock:invokeModel",
            json!({"ModelId": "approver-model", "Body": token("bedrock")}),
        ),
        (
            "reject",
            "sqs:sendMessage",
            json!({"QueueUrl": p.queue, "MessageBody": token("reject")}),
        ),
    ];
    let mut states = serde_json::Map::new();
    for (i, (kind, resource, params)) in steps.iter().enumerate() {
        let next = steps
            .get(i + 1)
            .map_or("Done".to_string(), |s| s.0.to_string());
        states.insert(
            kind.to_string(),
            json!({"Type": "Task",
                "Resource": format!("arn:aws:states:::{resource}.waitForTaskToken"),
                "Parameters": params, "TimeoutSeconds": timeout_seconds,
                "ResultPath": format!("$.{kind}"), "Next": next,
                "Catch": [
                    {"ErrorEquals": ["States.Timeout"], "ResultPath": format!("$.{kind}Timeout"),
                        "Next": next},
                    {"ErrorEquals": ["Rejected"], "ResultPath": format!("$.{kind}Rejected"),
                        "Next": next}]}),
        );
    }
    states.insert("Done".into(), json!({"Type": "Succeed"}));
    json!({"StartAt": "sqs", "States": states})
}

/// The (kind, token) pairs handed out so far, from every place a callback goes but the child
/// executions (the caller reads those from its Step Functions API).
pub(crate) async fn tokens_found(
    c: &AwsCaller,
    p: &Places,
    http: &Mutex<Vec<Value>>,
    lambda: &Mutex<Vec<Value>>,
) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let pair = |v: &Value| {
        Some((
            v["kind"].as_str()?.to_string(),
            v["token"].as_str()?.to_string(),
        ))
    };
    let got = api(
        c,
        "sqs",
        "ReceiveMessage",
        json!({"QueueUrl": p.queue, "MaxNumberOfMessages": 10}),
    )
    .await;
    for m in got["Messages"].as_array().cloned().unwrap_or_default() {
        let body: Value =
            serde_json::from_str(m["Body"].as_str().unwrap_or("")).unwrap_or_default();
        // An EventBridge event carries the detail; SQS and raw SNS the message itself.
        found.extend(pair(&body).or_else(|| pair(&body["detail"])));
        api(
            c,
            "sqs",
            "DeleteMessage",
            json!({"QueueUrl": p.queue, "ReceiptHandle": m["ReceiptHandle"]}),
        )
        .await;
    }
    let tasks = api(c, "ecs", "ListTasks", json!({"cluster": p.cluster})).await["taskArns"].clone();
    if tasks.as_array().is_some_and(|t| !t.is_empty()) {
        let described = api(
            c,
            "ecs",
            "DescribeTasks",
            json!({"cluster": p.cluster, "tasks": tasks}),
        )
        .await;
        for t in described["tasks"].as_array().cloned().unwrap_or_default() {
            let env = &t["overrides"]["containerOverrides"][0]["environment"];
            let var = |name: &str| {
                env.as_array()?.iter().find(|e| e["name"] == name)?["value"]
                    .as_str()
                    .map(str::to_string)
            };
            if let (Some(kind), Some(token)) = (var("KIND"), var("TASK_TOKEN")) {
                found.push((kind, token));
            }
        }
    }
    for v in http.lock().expect("lock").iter() {
        found.extend(pair(v));
    }
    for v in lambda.lock().expect("lock").iter() {
        found.extend(pair(v));
    }
    found
}

/// The answer the approver gives for `kind`: (action, request).
pub(crate) fn answer(kind: &str, token: &str) -> (&'static str, Value) {
    if kind == "reject" {
        (
            "SendTaskFailure",
            json!({"taskToken": token, "error": "Rejected", "cause": "no"}),
        )
    } else {
        (
            "SendTaskSuccess",
            json!({"taskToken": token, "output": json!({"answered": kind}).to_string()}),
        )
    }
}

pub(crate) const KINDS: [&str; 8] = [
    "sqs",
    "sns",
    "events",
    "ecs",
    "states",
    "apigateway",
    "lambda",
    "bedrock",
];

/// Every task got its answer.
pub(crate) fn check_answered(out: &Value) {
    for kind in KINDS {
        assert_eq!(out[kind], json!({"answered": kind}), "{kind}: {out}");
    }
    assert_eq!(out["rejectRejected"]["Error"], "Rejected", "{out}");
}

fn env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn callbacks_through_serve_and_run() {
    let Some(emulators) = stepwise_tests::emulators::start_moto_or_skip() else {
        return;
    };
    let moto = emulators.moto_url.clone();
    let c = crate::integrations_jobs::test_caller(&moto).await;
    let (queue, topic, cluster) = create_callback_resources(&c).await;
    let (http, http_bodies) = start_recorder();
    let (lambda, lambda_payloads) = start_lambda();
    let dir = temp_dir("integrations-callbacks");
    let mut vars = env();
    vars.push(("AWS_ENDPOINT_URL", moto.clone()));
    vars.push(("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", http.clone()));
    let serve_env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let lambda_url = lambda.endpoint();
    let serve = tokio::task::block_in_place(|| {
        Serve::start_with_env(
            &stepwise_bin(),
            &dir.join("data"),
            free_port(),
            &["--lambda-endpoint", &lambda_url],
            &serve_env,
        )
    });
    let ok = |action: &str, body: Value| tokio::task::block_in_place(|| serve.ok(action, body));
    let role = "arn:aws:iam::123456789012:role/r";
    let child = ok(
        "CreateStateMachine",
        json!({"name": "child", "roleArn": role, "definition": json!({"StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": true}}}).to_string()}),
    )["stateMachineArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let places = Places {
        queue,
        topic,
        cluster,
        http,
        child: child.clone(),
    };

    // stepwise serve: the test answers every token where it lands.
    let sm = ok(
        "CreateStateMachine",
        json!({"name": "callbacks", "roleArn": role,
            "definition": callbacks_machine(&places, 3600).to_string()}),
    )["stateMachineArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let ex = ok("StartExecution", json!({"stateMachineArn": sm}))["executionArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let mut answered = HashSet::new();
    let start = Instant::now();
    let d = loop {
        let d = ok("DescribeExecution", json!({"executionArn": ex}));
        if d["status"] != "RUNNING" {
            break d;
        }
        assert!(start.elapsed() < DEADLINE, "still running: {d}");
        let mut found = tokens_found(&c, &places, &http_bodies, &lambda_payloads).await;
        let children = ok("ListExecutions", json!({"stateMachineArn": child}));
        for e in children["executions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let d = ok(
                "DescribeExecution",
                json!({"executionArn": e["executionArn"]}),
            );
            let input: Value =
                serde_json::from_str(d["input"].as_str().unwrap_or("")).unwrap_or_default();
            if let (Some(k), Some(t)) = (input["kind"].as_str(), input["token"].as_str()) {
                found.push((k.to_string(), t.to_string()));
            }
        }
        for (kind, token) in found {
            if answered.insert(token.clone()) {
                let (action, body) = answer(&kind, &token);
                ok(action, body);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let out: Value = serde_json::from_str(d["output"].as_str().expect("output")).expect("json");
    check_answered(&out);
    assert_eq!(answered.len(), KINDS.len() + 1, "{answered:?}");

    // stepwise run: every token reaches its service, then each task times out (caught).
    http_bodies.lock().expect("lock").clear();
    lambda_payloads.lock().expect("lock").clear();
    let old_tasks = api(&c, "ecs", "ListTasks", json!({"cluster": places.cluster})).await
        ["taskArns"]
        .as_array()
        .map_or(0, Vec::len);
    let def =
        crate::integrations::write(&dir, "callbacks.asl.json", &callbacks_machine(&places, 2));
    let mut vars = env();
    vars.push(("AWS_ENDPOINT_URL", moto.clone()));
    vars.push(("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", places.http.clone()));
    vars.push(("AWS_ENDPOINT_URL_SFN", serve.endpoint()));
    let o = tokio::task::block_in_place(|| {
        Command::new(stepwise_bin())
            .args([
                "run",
                def.to_str().expect("path"),
                "--quiet",
                "--lambda-endpoint",
            ])
            .arg(&lambda_url)
            .envs(vars)
            .output()
            .expect("running stepwise")
    });
    assert!(
        o.status.success(),
        "stepwise run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out: Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON");
    for kind in KINDS.iter().chain(&["reject"]) {
        assert_eq!(
            out[format!("{kind}Timeout")]["Error"],
            "States.Timeout",
            "{kind}: {out}"
        );
    }
    let mut kinds: Vec<String> = tokens_found(&c, &places, &http_bodies, &lambda_payloads)
        .await
        .into_iter()
        .filter(|(_, t)| !answered.contains(t))
        .map(|(k, _)| k)
        .collect();
    let children = ok("ListExecutions", json!({"stateMachineArn": child}));
    assert_eq!(
        children["executions"].as_array().map(Vec::len),
        Some(2),
        "{children}"
    );
    kinds.push("states".into());
    kinds.sort();
    let mut want: Vec<String> = KINDS
        .iter()
        .chain(&["reject"])
        .map(|k| k.to_string())
        .collect();
    want.sort();
    assert_eq!(kinds, want);
    let new_tasks = api(&c, "ecs", "ListTasks", json!({"cluster": places.cluster})).await
        ["taskArns"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(new_tasks, old_tasks + 1);
}

/// `lambda:invoke` request-response on a Lambda-compatible fake: the payload reaches the
/// function, its result comes back in `Payload`, and an unknown function is
/// `Lambda.ResourceNotFoundException`, caught.
pub(crate) fn lambda_machine() -> Value {
    json!({"StartAt": "Invoke", "States": {
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "pricer", "Payload": {"order.$": "$.order"}},
            "ResultSelector": {"payload.$": "$.Payload", "code.$": "$.StatusCode"},
            "ResultPath": "$.invoked", "Next": "Missing"},
        "Missing": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "no-such-function", "Payload": {}},
            "Catch": [{"ErrorEquals": ["Lambda.ResourceNotFoundException"],
                "ResultPath": "$.missing", "Next": "Done"}], "Next": "Done"},
        "Done": {"Type": "Succeed"}}})
}

/// A Lambda Invoke endpoint: `pricer` answers `{"price": 42, "got": <payload>}`, any other
/// function is not found.
pub(crate) async fn lambda_fake() -> crate::optimized::fake::Fake {
    use crate::optimized::fake::{start, Answer, Seen};
    start(|seen: &Seen| {
        if seen.operation.contains("/functions/pricer/") {
            Answer::ok(json!({"price": 42, "got": seen.body}))
        } else {
            Answer::error(404, "ResourceNotFoundException", "Function not found")
        }
    })
    .await
}

pub(crate) fn check_lambda(out: &Value, fake: &crate::optimized::fake::Fake) {
    assert_eq!(out["invoked"]["code"], 200, "{out}");
    assert_eq!(
        out["invoked"]["payload"],
        json!({"price": 42, "got": {"order": 7}}),
        "{out}"
    );
    assert_eq!(
        out["missing"]["Error"], "Lambda.ResourceNotFoundException",
        "{out}"
    );
    let seen = fake.seen();
    assert_eq!(seen[0].body, json!({"order": 7}), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_invoke_through_run_and_serve() {
    let fake = lambda_fake().await;
    let dir = temp_dir("integrations-lambda");
    let def = lambda_machine();
    let file = crate::integrations::write(&dir, "lambda.asl.json", &def);
    let o = tokio::task::block_in_place(|| {
        Command::new(stepwise_bin())
            .args([
                "run",
                file.to_str().expect("path"),
                "--quiet",
                "--lambda-endpoint",
            ])
            .arg(&fake.url)
            .args(["--input", r#"{"order": 7}"#])
            .envs(env())
            .output()
            .expect("running stepwise")
    });
    assert!(
        o.status.success(),
        "stepwise run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    check_lambda(&serde_json::from_slice(&o.stdout).expect("JSON"), &fake);

    let fake = lambda_fake().await;
    let out = tokio::task::block_in_place(|| {
        let serve = Serve::start(
            &stepwise_bin(),
            &dir.join("data"),
            free_port(),
            &["--lambda-endpoint", &fake.url],
        );
        let sm = serve.ok(
            "CreateStateMachine",
            json!({"name": "lambda", "definition": def.to_string(),
                "roleArn": "arn:aws:iam::123456789012:role/r"}),
        )["stateMachineArn"]
            .as_str()
            .expect("arn")
            .to_string();
        let ex = serve.ok(
            "StartExecution",
            json!({"stateMachineArn": sm, "input": "{\"order\": 7}"}),
        )["executionArn"]
            .as_str()
            .expect("arn")
            .to_string();
        let d = crate::serve_common::wait_done(&serve, &ex);
        assert_eq!(d["status"], "SUCCEEDED", "{d}");
        serde_json::from_str::<Value>(d["output"].as_str().expect("output")).expect("json")
    });
    check_lambda(&out, &fake);
}
