//! The service integrations end to end, through `stepwise run` and `stepwise serve`:
//! `http:invoke` (API key, basic and OAuth connections from `--http-connections`, URL-encoded
//! bodies, `States.Http.StatusCode.<code>` caught by name) and `apigateway:invoke` (stage, path,
//! list-valued headers and query, SigV4 for `IAM_ROLE`, `ApiGateway.403` caught by name) against
//! a small HTTP server on 127.0.0.1 started by the test; `states:startExecution` in every
//! pattern with children in the same `serve`, and from `stepwise run` against a `serve`
//! (`AWS_ENDPOINT_URL_SFN`).

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use stepwise_tests::stepwise_bin;

use crate::serve_common::{free_port, read_headers_and_body, temp_dir, wait_done, Serve};

const ACCOUNT: &str = "123456789012";

/// What the test server received, echoed back as JSON.
fn echo(method: &str, target: &str, headers: &[(String, String)], body: &[u8]) -> Value {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut h: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in headers {
        h.entry(k.clone())
            .and_modify(|e| {
                e.push(',');
                e.push_str(v);
            })
            .or_insert_with(|| v.clone());
    }
    json!({"method": method, "path": path, "query": query, "headers": h,
        "body": String::from_utf8_lossy(body)})
}

/// A small HTTP/1.1 server on 127.0.0.1: `/token` is an OAuth token endpoint (client `cid` /
/// `cs`), a path with `fail` answers 404, one with `forbidden` 403, anything else echoes the
/// request as JSON.
pub(crate) fn start_http_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding the test server");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let Ok(mut w) = stream.try_clone() else {
                    return;
                };
                let mut r = BufReader::new(stream);
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or_default().to_string();
                let target = parts.next().unwrap_or_default().to_string();
                let (headers, body) = read_headers_and_body(&mut r, false);
                let header = |n: &str| {
                    headers
                        .iter()
                        .find(|(k, _)| k == n)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                let (status, out) = if target.starts_with("/token") {
                    // Basic base64("cid:cs")
                    if header("authorization") == "Basic Y2lkOmNz"
                        && String::from_utf8_lossy(&body).contains("grant_type=client_credentials")
                    {
                        (
                            "200 OK",
                            json!({"access_token": "tok-1", "expires_in": 3600}),
                        )
                    } else {
                        ("401 Unauthorized", json!({"message": "bad client"}))
                    }
                } else if target.contains("fail") {
                    ("404 Not Found", json!({"message": "nope"}))
                } else if target.contains("forbidden") {
                    (
                        "403 Forbidden",
                        json!({"message": "Missing Authentication Token"}),
                    )
                } else {
                    ("200 OK", echo(&method, &target, &headers, &body))
                };
                let out = out.to_string();
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
                    out.len()
                );
                let _ = w.write_all(resp.as_bytes());
            });
        }
    });
    format!("http://127.0.0.1:{port}")
}

pub(crate) fn write(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).expect("json")).expect("write");
    p
}

pub(crate) fn connections(url: &str) -> Value {
    json!({
        format!("arn:aws:events:us-east-1:{ACCOUNT}:connection/key/1"): {
            "AuthorizationType": "API_KEY",
            "AuthParameters": {
                "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k-1"},
                "InvocationHttpParameters": {"HeaderParameters": [{"Key": "x-extra", "Value": "e"}]}
            }
        },
        "basic": {"AuthorizationType": "BASIC",
            "AuthParameters": {"BasicAuthParameters": {"Username": "u", "Password": "p"}}},
        "oauth": {"AuthorizationType": "OAUTH_CLIENT_CREDENTIALS",
            "AuthParameters": {"OAuthParameters": {"AuthorizationEndpoint": format!("{url}/token"),
                "HttpMethod": "POST", "ClientParameters": {"ClientID": "cid", "ClientSecret": "cs"}}}}
    })
}

fn conn(name: &str) -> Value {
    json!({"ConnectionArn": format!("arn:aws:events:us-east-1:{ACCOUNT}:connection/{name}")})
}

/// A machine that calls the test server with http:invoke (three connections, a caught 404)
/// and apigateway:invoke (IAM_ROLE, a caught 403).
pub(crate) fn web_machine(url: &str) -> Value {
    let http = |name: &str, path: &str, connection: &str, extra: Value, next: Value| {
        let mut params = json!({"ApiEndpoint": format!("{url}{path}"), "Method": "GET",
            "Authentication": conn(connection)});
        if let (Value::Object(p), Value::Object(e)) = (&mut params, extra) {
            p.extend(e);
        }
        let mut state = json!({"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
            "Parameters": params, "ResultPath": format!("$.{name}")});
        if let (Value::Object(s), Value::Object(n)) = (&mut state, next) {
            s.extend(n);
        }
        state
    };
    json!({"StartAt": "Key", "States": {
        "Key": http("key", "/echo", "key/1", json!({"Method": "POST",
                "Headers": {"X-Trace": "t1"}, "QueryParameters": {"q": "1"},
                "RequestBody": {"items": ["a", "b"], "n": 1},
                "Transform": {"RequestBodyEncoding": "URL_ENCODED",
                    "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"}}}),
            json!({"ResultSelector": {"status.$": "$.StatusCode", "text.$": "$.StatusText",
                "got.$": "$.ResponseBody"}, "Next": "Basic"})),
        "Basic": http("basic", "/echo", "basic/2", json!({}),
            json!({"ResultSelector": {"auth.$": "$.ResponseBody.headers.authorization"},
                "Next": "OAuth"})),
        "OAuth": http("oauth", "/echo", "oauth/3", json!({}),
            json!({"ResultSelector": {"auth.$": "$.ResponseBody.headers.authorization"},
                "Next": "Missing"})),
        "Missing": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {"ApiEndpoint": format!("{url}/fail"), "Method": "GET",
                "Authentication": conn("key/1")},
            "Catch": [{"ErrorEquals": ["States.Http.StatusCode.404"], "ResultPath": "$.failed",
                "Next": "Api"}],
            "Next": "Api"},
        "Api": {"Type": "Task", "Resource": "arn:aws:states:::apigateway:invoke",
            "Parameters": {"ApiEndpoint": url, "Method": "POST", "Stage": "prod",
                "Path": "items/1", "Headers": {"X-Custom": ["a", "b"]},
                "QueryParameters": {"q": ["x y"]}, "RequestBody": {"k": "v", "n": null},
                "AuthType": "IAM_ROLE"},
            "ResultSelector": {"status.$": "$.StatusCode", "got.$": "$.ResponseBody"},
            "ResultPath": "$.api", "Next": "Denied"},
        "Denied": {"Type": "Task", "Resource": "arn:aws:states:::apigateway:invoke",
            "Parameters": {"ApiEndpoint": url, "Method": "GET", "Stage": "prod",
                "Path": "forbidden"},
            "Catch": [{"ErrorEquals": ["ApiGateway.403"], "ResultPath": "$.denied",
                "Next": "Done"}],
            "Next": "Done"},
        "Done": {"Type": "Succeed"}
    }})
}

pub(crate) fn check_web_output(out: &Value) {
    let key = &out["key"];
    assert_eq!(key["status"], 200, "{out}");
    assert_eq!(key["text"], "OK");
    let got = &key["got"];
    assert_eq!(got["method"], "POST");
    assert_eq!(got["query"], "q=1");
    assert_eq!(got["headers"]["x-api-key"], "k-1");
    assert_eq!(got["headers"]["x-extra"], "e");
    assert_eq!(got["headers"]["x-trace"], "t1");
    assert_eq!(
        got["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(got["body"], "items%5B%5D=a&items%5B%5D=b&n=1");
    assert_eq!(out["basic"]["auth"], "Basic dTpw");
    assert_eq!(out["oauth"]["auth"], "Bearer tok-1");
    assert_eq!(out["failed"]["Error"], "States.Http.StatusCode.404");
    // AWS's cause is the status text alone, without the response body.
    assert_eq!(out["failed"]["Cause"], "Not Found");
    let api = &out["api"];
    assert_eq!(api["status"], 200);
    assert_eq!(api["got"]["path"], "/prod/items/1");
    assert_eq!(api["got"]["query"], "q=x%20y");
    assert_eq!(api["got"]["headers"]["x-custom"], "a,b");
    assert_eq!(api["got"]["body"], "{\"k\":\"v\"}");
    let auth = api["got"]["headers"]["authorization"]
        .as_str()
        .expect("signed");
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=")
            && auth.contains("/execute-api/aws4_request"),
        "{auth}"
    );
    assert_eq!(out["denied"]["Error"], "ApiGateway.403");
    assert_eq!(
        out["denied"]["Cause"],
        "{\"message\":\"Missing Authentication Token\"}"
    );
}

fn run_cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(stepwise_bin());
    c.args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_SFN");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("running stepwise")
}

fn stdout_json(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "stepwise failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("stdout is JSON")
}

#[test]
fn http_and_apigateway_through_run() {
    let url = start_http_server();
    let dir = temp_dir("integrations-run");
    let def = write(&dir, "web.asl.json", &web_machine(&url));
    let conns = write(&dir, "connections.json", &connections(&url));
    let o = run_cli(
        &[
            "run",
            def.to_str().expect("path"),
            "--http-connections",
            conns.to_str().expect("path"),
            "--quiet",
        ],
        &[],
    );
    check_web_output(&stdout_json(&o));
}

fn machine(serve: &Serve, name: &str, def: &Value) -> String {
    serve.ok(
        "CreateStateMachine",
        json!({"name": name, "definition": def.to_string(),
            "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/r")}),
    )["stateMachineArn"]
        .as_str()
        .expect("arn")
        .to_string()
}

fn run_in_serve(serve: &Serve, sm: &str) -> Value {
    let ex = serve.ok(
        "StartExecution",
        json!({"stateMachineArn": sm, "input": "{}"}),
    )["executionArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let d = wait_done(serve, &ex);
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    serde_json::from_str(d["output"].as_str().expect("output")).expect("json")
}

fn start_serve(what: &str, args: &[&str]) -> Serve {
    let dir = temp_dir(what);
    Serve::start(&stepwise_bin(), &dir.join("data"), free_port(), args)
}

#[test]
fn http_and_apigateway_through_serve() {
    let url = start_http_server();
    let dir = temp_dir("integrations-serve-web");
    let conns = write(&dir, "connections.json", &connections(&url));
    let serve = start_serve(
        "integrations-serve-web",
        &["--http-connections", conns.to_str().expect("path")],
    );
    let sm = machine(&serve, "web", &web_machine(&url));
    check_web_output(&run_in_serve(&serve, &sm));
}

fn child_machines(serve: &Serve) -> (String, String) {
    let child = machine(
        serve,
        "Child",
        &json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
            "Result": {"Arg1": "argument1"}, "End": true}}}),
    );
    let failing = machine(
        serve,
        "FailingChild",
        &json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "SomeFailure",
            "Cause": "This state machines raises a 'SomeFailure' failure."}}}),
    );
    (child, failing)
}

fn states_machine(child: &str, failing: &str) -> Value {
    let start = |pattern: &str| format!("arn:aws:states:::states:startExecution{pattern}");
    json!({"StartAt": "Rr", "States": {
        "Rr": {"Type": "Task", "Resource": start(""),
            "Parameters": {"StateMachineArn": child,
                "Input": {"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}},
            "ResultSelector": {"arn.$": "$.ExecutionArn",
                "code.$": "$.SdkHttpMetadata.HttpStatusCode",
                "requestId.$": "$.SdkResponseMetadata.RequestId", "start.$": "$.StartDate"},
            "ResultPath": "$.rr", "Next": "Sync"},
        "Sync": {"Type": "Task", "Resource": start(".sync"),
            "Parameters": {"StateMachineArn": child, "Name.$": "States.Format('sync-{}', $$.Execution.Name)"},
            "ResultPath": "$.sync", "Next": "Sync2"},
        "Sync2": {"Type": "Task", "Resource": start(".sync:2"),
            "Parameters": {"StateMachineArn": child, "Input": {"x": 1}},
            "ResultPath": "$.sync2", "Next": "Failing"},
        "Failing": {"Type": "Task", "Resource": start(".sync"),
            "Parameters": {"StateMachineArn": failing},
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.failing",
                "Next": "Missing"}],
            "Next": "Missing"},
        "Missing": {"Type": "Task", "Resource": start(""),
            "Parameters": {"StateMachineArn": format!("{child}Nope")},
            "Catch": [{"ErrorEquals": ["StepFunctions.StateMachineDoesNotExistException"],
                "ResultPath": "$.missing", "Next": "Again"}],
            "Next": "Again"},
        "Again": {"Type": "Task", "Resource": start(""),
            "Parameters": {"StateMachineArn": child,
                "Name.$": "States.Format('sync-{}', $$.Execution.Name)", "Input": {"other": 1}},
            "Catch": [{"ErrorEquals": ["StepFunctions.ExecutionAlreadyExistsException"],
                "ResultPath": "$.again", "Next": "Done"}],
            "Next": "Done"},
        "Done": {"Type": "Succeed"}
    }})
}

fn check_states_output(out: &Value, child: &str) {
    assert_eq!(out["rr"]["code"], 200, "{out}");
    assert!(out["rr"]["start"].is_i64(), "{out}");
    assert!(out["rr"]["arn"]
        .as_str()
        .is_some_and(|a| a.contains(":execution:Child:")));
    let sync = &out["sync"];
    assert_eq!(sync["Status"], "SUCCEEDED");
    assert_eq!(sync["Output"], "{\"Arg1\":\"argument1\"}");
    assert_eq!(sync["Input"], "{}");
    assert_eq!(sync["StateMachineArn"], child);
    assert_eq!(sync["OutputDetails"], json!({"Included": true}));
    let sync2 = &out["sync2"];
    assert_eq!(sync2["Output"], json!({"Arg1": "argument1"}));
    assert_eq!(sync2["Input"], json!({"x": 1}));
    assert_eq!(out["failing"]["Error"], "States.TaskFailed");
    let cause: Value =
        serde_json::from_str(out["failing"]["Cause"].as_str().expect("cause")).expect("json");
    assert_eq!(cause["Status"], "FAILED");
    assert_eq!(cause["Error"], "SomeFailure");
    assert_eq!(
        cause["Cause"],
        "This state machines raises a 'SomeFailure' failure."
    );
    assert_eq!(
        out["missing"]["Error"],
        "StepFunctions.StateMachineDoesNotExistException"
    );
    let missing = out["missing"]["Cause"].as_str().expect("cause");
    assert!(
        missing.contains("(Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: "),
        "{missing}"
    );
    assert_eq!(
        out["again"]["Error"],
        "StepFunctions.ExecutionAlreadyExistsException"
    );
}

#[test]
fn start_execution_in_every_pattern_through_serve() {
    let serve = start_serve("integrations-serve-states", &[]);
    let (child, failing) = child_machines(&serve);
    let parent = machine(&serve, "Parent", &states_machine(&child, &failing));
    let out = run_in_serve(&serve, &parent);
    check_states_output(&out, &child);
    // The request-response child got the parent's execution id in its input.
    let d = wait_done(&serve, out["rr"]["arn"].as_str().expect("arn"));
    let input: Value = serde_json::from_str(d["input"].as_str().expect("input")).expect("json");
    assert!(input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"]
        .as_str()
        .is_some_and(|p| p.contains(":execution:Parent:")));
    let parent_run = serve.ok("ListExecutions", json!({"stateMachineArn": parent}))["executions"]
        [0]["executionArn"]
        .as_str()
        .expect("parent execution")
        .to_string();
    let events = serve.ok(
        "GetExecutionHistory",
        json!({"executionArn": parent_run, "maxResults": 1000}),
    )["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    check_sync_events(&events);
}

/// AWS's events for `.sync` tasks (LocalStack's AWS-recorded `test_start_execution_sync`):
/// TaskScheduled, TaskStarted, TaskSubmitted with StartExecution's output, then TaskSucceeded
/// (or TaskFailed) with the child's description; one TaskSubmitted per `.sync` state.
fn check_sync_events(events: &[Value]) {
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    let sync: Vec<&str> = types
        .iter()
        .copied()
        .skip_while(|t| *t != "TaskScheduled")
        .skip(1)
        .skip_while(|t| *t != "TaskScheduled")
        .take(4)
        .collect();
    assert_eq!(
        sync,
        [
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded"
        ],
        "{types:?}"
    );
    let submitted: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "TaskSubmitted")
        .collect();
    assert_eq!(submitted.len(), 3, "{types:?}");
    let details = &submitted[0]["taskSubmittedEventDetails"];
    assert_eq!(details["resource"], "startExecution.sync");
    assert_eq!(details["resourceType"], "states");
    let output: Value =
        serde_json::from_str(details["output"].as_str().expect("output")).expect("json");
    assert!(output["ExecutionArn"].as_str().is_some(), "{output}");
    assert_eq!(output["SdkHttpMetadata"]["HttpStatusCode"], 200, "{output}");
}

#[test]
fn start_execution_through_run_against_serve() {
    let serve = start_serve("integrations-run-states", &[]);
    let (child, failing) = child_machines(&serve);
    let dir = temp_dir("integrations-run-states-def");
    let def = write(&dir, "parent.asl.json", &states_machine(&child, &failing));
    let history = dir.join("history.jsonl");
    let o = run_cli(
        &[
            "run",
            def.to_str().expect("path"),
            "--quiet",
            "--history",
            history.to_str().expect("path"),
        ],
        &[("AWS_ENDPOINT_URL_SFN", &serve.endpoint())],
    );
    check_states_output(&stdout_json(&o), &child);
    let events: Vec<Value> = std::fs::read_to_string(&history)
        .expect("history")
        .lines()
        .map(|l| serde_json::from_str(l).expect("event"))
        .collect();
    check_sync_events(&events);
}

/// Setup and check calls against moto, outside the code under test.
struct Moto {
    _emulators: stepwise_tests::emulators::Emulators,
    url: String,
    caller: stepwise_aws_api::AwsCaller,
}

impl Moto {
    async fn start() -> Option<Moto> {
        let emulators = stepwise_tests::emulators::start_moto_or_skip()?;
        let url = emulators.moto_url.clone();
        let caller = stepwise_aws_api::AwsCaller::from_env(stepwise_aws_api::AwsSettings {
            region: Some("us-east-1".into()),
            endpoint_url: Some(url.clone()),
        })
        .await
        .with_credentials(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("test", "test", None, None, "e2e"),
            ),
        );
        Some(Moto {
            _emulators: emulators,
            url,
            caller,
        })
    }

    async fn api(&self, service: &str, operation: &str, input: Value) -> Value {
        self.caller
            .call(stepwise_aws_api::ApiCall {
                service,
                operation,
                input: &input,
                region: None,
            })
            .await
            .unwrap_or_else(|e| panic!("{service} {operation}: {e}"))
            .output
    }

    /// A table, a queue and a topic for the order machine; returns (queue URL, topic ARN).
    async fn order_resources(&self) -> (String, String) {
        self.api(
            "dynamodb",
            "CreateTable",
            json!({"TableName": "orders",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST"}),
        )
        .await;
        let queue = self
            .api("sqs", "CreateQueue", json!({"QueueName": "orders"}))
            .await["QueueUrl"]
            .as_str()
            .expect("queue url")
            .to_string();
        let topic = self
            .api("sns", "CreateTopic", json!({"Name": "orders"}))
            .await["TopicArn"]
            .as_str()
            .expect("topic arn")
            .to_string();
        (queue, topic)
    }

    /// The bodies of the messages waiting in a queue.
    async fn messages(&self, queue: &str) -> Vec<String> {
        let out = self
            .api(
                "sqs",
                "ReceiveMessage",
                json!({"QueueUrl": queue, "MaxNumberOfMessages": 10}),
            )
            .await;
        out["Messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|m| m["Body"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// An order flow on DynamoDB, SQS and SNS (and one `aws-sdk:*` call), with a DynamoDB error
/// caught by its name.
fn order_machine(queue: &str, topic: &str) -> Value {
    json!({"StartAt": "Put", "States": {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "orders",
                "Item": {"pk": {"S.$": "$.id"}, "status": {"S": "new"}}},
            "ResultPath": "$.put", "Next": "Send"},
        "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": queue, "MessageBody.$": "$.id"},
            "ResultSelector": {"id.$": "$.MessageId"}, "ResultPath": "$.send", "Next": "Publish"},
        "Publish": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": topic, "Message.$": "$.id"},
            "ResultSelector": {"id.$": "$.MessageId"}, "ResultPath": "$.publish", "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {"TableName": "orders", "Key": {"pk": {"S.$": "$.id"}}},
            "ResultSelector": {"status.$": "$.Item.status.S"}, "ResultPath": "$.get",
            "Next": "Describe"},
        "Describe": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:describeTable",
            "Parameters": {"TableName": "orders"},
            "ResultSelector": {"name.$": "$.Table.TableName"}, "ResultPath": "$.describe",
            "Next": "Missing"},
        "Missing": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {"TableName": "no-such-table", "Key": {"pk": {"S": "x"}}},
            "Catch": [{"ErrorEquals": ["DynamoDB.ResourceNotFoundException"],
                "ResultPath": "$.missing", "Next": "Done"}],
            "Next": "Done"},
        "Done": {"Type": "Succeed"}
    }})
}

fn check_order_output(out: &Value, id: &str) {
    assert!(out["put"].is_object(), "{out}");
    assert!(
        out["send"]["id"].as_str().is_some_and(|s| !s.is_empty()),
        "{out}"
    );
    assert!(
        out["publish"]["id"].as_str().is_some_and(|s| !s.is_empty()),
        "{out}"
    );
    assert_eq!(out["get"]["status"], "new", "{out}");
    assert_eq!(out["describe"]["name"], "orders", "{out}");
    assert_eq!(
        out["missing"]["Error"], "DynamoDB.ResourceNotFoundException",
        "{out}"
    );
    assert_eq!(out["id"], id);
}

#[tokio::test(flavor = "multi_thread")]
async fn services_on_moto_through_run_and_serve() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let (queue, topic) = moto.order_resources().await;
    let def = order_machine(&queue, &topic);

    // stepwise run --aws-endpoint-url <moto>
    let dir = temp_dir("integrations-moto");
    let file = write(&dir, "orders.asl.json", &def);
    let o = run_cli(
        &[
            "run",
            file.to_str().expect("path"),
            "--aws-endpoint-url",
            &moto.url,
            "--input",
            r#"{"id": "o-1"}"#,
            "--quiet",
        ],
        &[],
    );
    check_order_output(&stdout_json(&o), "o-1");
    assert_eq!(moto.messages(&queue).await, vec!["o-1".to_string()]);

    // stepwise serve --aws-endpoint-url <moto>
    let serve = Serve::start_with_env(
        &stepwise_bin(),
        &dir.join("data"),
        free_port(),
        &["--aws-endpoint-url", &moto.url],
        &[
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    let sm = machine(&serve, "orders", &def);
    let ex = serve.ok(
        "StartExecution",
        json!({"stateMachineArn": sm, "input": "{\"id\": \"o-2\"}"}),
    )["executionArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let d = wait_done(&serve, &ex);
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let out: Value = serde_json::from_str(d["output"].as_str().expect("output")).expect("json");
    check_order_output(&out, "o-2");
    assert_eq!(moto.messages(&queue).await, vec!["o-2".to_string()]);
    let item = moto
        .api(
            "dynamodb",
            "GetItem",
            json!({"TableName": "orders", "Key": {"pk": {"S": "o-2"}}}),
        )
        .await;
    assert_eq!(item["Item"]["status"]["S"], "new");
}

/// `stepwise serve --event-bus B --events-endpoint <moto>`: each execution's status changes reach
/// an EventBridge rule (SQS target) as Step Functions' "Execution Status Change" events.
#[tokio::test(flavor = "multi_thread")]
async fn serve_sends_status_change_events_to_eventbridge() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let queue = moto
        .api("sqs", "CreateQueue", json!({"QueueName": "serve-status"}))
        .await["QueueUrl"]
        .as_str()
        .expect("url")
        .to_string();
    let queue_arn = moto
        .api(
            "sqs",
            "GetQueueAttributes",
            json!({"QueueUrl": queue, "AttributeNames": ["QueueArn"]}),
        )
        .await["Attributes"]["QueueArn"]
        .as_str()
        .expect("arn")
        .to_string();
    moto.api("events", "CreateEventBus", json!({"Name": "serve-bus"}))
        .await;
    let pattern = json!({"source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"]});
    moto.api(
        "events",
        "PutRule",
        json!({"Name": "status", "EventBusName": "serve-bus", "EventPattern": pattern.to_string()}),
    )
    .await;
    moto.api(
        "events",
        "PutTargets",
        json!({"Rule": "status", "EventBusName": "serve-bus",
            "Targets": [{"Id": "q", "Arn": queue_arn}]}),
    )
    .await;
    let dir = temp_dir("integrations-status-events");
    let serve = Serve::start_with_env(
        &stepwise_bin(),
        &dir.join("data"),
        free_port(),
        &["--event-bus", "serve-bus", "--events-endpoint", &moto.url],
        &[
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    let sm = machine(
        &serve,
        "announced",
        &json!({"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"ok":true},"End":true}}}),
    );
    let out = run_in_serve(&serve, &sm);
    assert_eq!(out, json!({"ok": true}));
    let mut details = Vec::new();
    for _ in 0..20 {
        let got = moto
            .api(
                "sqs",
                "ReceiveMessage",
                json!({"QueueUrl": queue, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1}),
            )
            .await;
        for m in got["Messages"].as_array().cloned().unwrap_or_default() {
            let event: Value =
                serde_json::from_str(m["Body"].as_str().unwrap_or("null")).expect("event");
            assert_eq!(event["source"], "aws.states");
            assert_eq!(
                event["detail-type"],
                "Step Functions Execution Status Change"
            );
            details.push(event["detail"].clone());
        }
        if details.len() >= 2 {
            break;
        }
    }
    details.sort_by_key(|d| d["stopDate"].as_i64().unwrap_or(0));
    let statuses: Vec<&str> = details
        .iter()
        .filter_map(|d| d["status"].as_str())
        .collect();
    assert_eq!(statuses, ["RUNNING", "SUCCEEDED"], "{details:#?}");
    assert_eq!(details[1]["output"], "{\"ok\":true}");
    assert_eq!(details[1]["stateMachineArn"], json!(sm));
}
