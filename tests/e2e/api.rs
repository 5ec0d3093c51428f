//! The Step Functions API (`stepwise-api`) over the real SQLite store in a temporary directory:
//! every action, AWS's shapes and error types.

use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use stepwise_api::{Service, ServiceConfig};
use stepwise_ports::states_api::{LateStatesApi, StatesApi};
use stepwise_ports::tasks::TaskInvoker;
use stepwise_runtime::tasks::TaskRouter;
use stepwise_store_embedded::{DriverOptions, EmbeddedDriver, SqliteStore};
use stepwise_tasks_aws::{AwsServiceInvoker, ServiceSettings};

const ROLE: &str = "arn:aws:iam::123456789012:role/test";

struct Api {
    svc: Arc<Service<SqliteStore>>,
    _dir: std::path::PathBuf,
}

impl Api {
    async fn new(what: &str) -> Api {
        let dir = std::env::temp_dir().join(format!(
            "stepwise-api-{what}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let store = Arc::new(SqliteStore::open(&dir).expect("open store"));
        let states_api = LateStatesApi::new();
        let services = AwsServiceInvoker::new(ServiceSettings::default())
            .await
            .expect("services")
            .with_states_api(states_api.clone());
        let invoker: Arc<dyn TaskInvoker> =
            Arc::new(TaskRouter::new().with_fallback(Arc::new(services)));
        let driver = EmbeddedDriver::new(store.clone(), invoker, DriverOptions::default());
        let svc = Arc::new(Service::new(store, driver, ServiceConfig::default()));
        let as_api: Arc<dyn StatesApi> = svc.clone();
        states_api.bind(Arc::downgrade(&as_api));
        Api { svc, _dir: dir }
    }

    async fn call(&self, action: &str, body: Value) -> (u16, Value) {
        let (status, out) = self
            .svc
            .handle(
                &format!("AWSStepFunctions.{action}"),
                body.to_string().as_bytes(),
            )
            .await;
        (status, serde_json::from_slice(&out).expect("JSON response"))
    }

    async fn ok(&self, action: &str, body: Value) -> Value {
        let (status, out) = self.call(action, body).await;
        assert_eq!(status, 200, "{action}: {out}");
        out
    }

    async fn err(&self, action: &str, body: Value) -> String {
        let (status, out) = self.call(action, body).await;
        assert_eq!(status, 400, "{action}: {out}");
        out["__type"].as_str().expect("__type").to_string()
    }

    async fn machine(&self, name: &str, def: Value) -> String {
        self.ok(
            "CreateStateMachine",
            json!({"name": name, "definition": def.to_string(), "roleArn": ROLE}),
        )
        .await["stateMachineArn"]
            .as_str()
            .expect("arn")
            .to_string()
    }

    async fn done(&self, arn: &str) -> Value {
        for _ in 0..200 {
            let d = self
                .ok("DescribeExecution", json!({"executionArn": arn}))
                .await;
            if d["status"] != "RUNNING" {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{arn} still running");
    }

    async fn start(&self, sm: &str, input: Value) -> String {
        self.ok(
            "StartExecution",
            json!({"stateMachineArn": sm, "input": input.to_string()}),
        )
        .await["executionArn"]
            .as_str()
            .expect("arn")
            .to_string()
    }
}

fn pass() -> Value {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"r": 1}, "End": true}}})
}

#[tokio::test(flavor = "multi_thread")]
async fn state_machines_create_describe_update_list_delete() {
    let api = Api::new("sm").await;
    let arn = api.machine("m1", pass()).await;
    assert_eq!(arn, "arn:aws:states:us-east-1:123456789012:stateMachine:m1");
    // Same definition again: the same machine; another definition: StateMachineAlreadyExists.
    assert_eq!(api.machine("m1", pass()).await, arn);
    let other = json!({"StartAt": "X", "States": {"X": {"Type": "Succeed"}}});
    assert_eq!(
        api.err(
            "CreateStateMachine",
            json!({"name": "m1", "definition": other.to_string(), "roleArn": ROLE})
        )
        .await,
        "StateMachineAlreadyExists"
    );
    let d = api
        .ok("DescribeStateMachine", json!({"stateMachineArn": arn}))
        .await;
    assert_eq!(d["name"], "m1");
    assert_eq!(d["type"], "STANDARD");
    assert_eq!(d["status"], "ACTIVE");
    assert_eq!(d["definition"], pass().to_string());
    let u = api
        .ok(
            "UpdateStateMachine",
            json!({"stateMachineArn": arn, "definition": other.to_string()}),
        )
        .await;
    assert!(u["updateDate"].is_number() && u["revisionId"].is_string());
    let d = api
        .ok("DescribeStateMachine", json!({"stateMachineArn": arn}))
        .await;
    assert_eq!(d["definition"], other.to_string());
    api.machine("m2", pass()).await;
    let page1 = api.ok("ListStateMachines", json!({"maxResults": 1})).await;
    assert_eq!(page1["stateMachines"].as_array().map(Vec::len), Some(1));
    let token = page1["nextToken"].as_str().expect("nextToken");
    let page2 = api
        .ok(
            "ListStateMachines",
            json!({"maxResults": 1, "nextToken": token}),
        )
        .await;
    assert_eq!(page2["stateMachines"][0]["name"], "m2");
    assert!(page2.get("nextToken").is_none());
    assert_eq!(
        api.err("ListStateMachines", json!({"nextToken": "garbage"}))
            .await,
        "InvalidToken"
    );
    api.ok("DeleteStateMachine", json!({"stateMachineArn": arn}))
        .await;
    assert_eq!(
        api.err("DescribeStateMachine", json!({"stateMachineArn": arn}))
            .await,
        "StateMachineDoesNotExist"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn definitions_names_and_arns_are_checked() {
    let api = Api::new("check").await;
    let bad = json!({"StartAt": "Nope", "States": {"P": {"Type": "Pass", "End": true}}});
    let (status, out) = api
        .call(
            "CreateStateMachine",
            json!({"name": "bad", "definition": bad.to_string(), "roleArn": ROLE}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(out["__type"], "InvalidDefinition");
    assert!(
        out["message"]
            .as_str()
            .is_some_and(|m| m.contains("MISSING_TRANSITION_TARGET")),
        "{out}"
    );
    let v = api
        .ok(
            "ValidateStateMachineDefinition",
            json!({"definition": bad.to_string()}),
        )
        .await;
    assert_eq!(v["result"], "FAIL");
    assert_eq!(v["diagnostics"][0]["code"], "MISSING_TRANSITION_TARGET");
    let v = api
        .ok(
            "ValidateStateMachineDefinition",
            json!({"definition": pass().to_string()}),
        )
        .await;
    assert_eq!(v["result"], "OK");
    assert_eq!(
        api.err(
            "CreateStateMachine",
            json!({"name": "a b", "definition": pass().to_string(), "roleArn": ROLE})
        )
        .await,
        "InvalidName"
    );
    assert_eq!(
        api.err(
            "CreateStateMachine",
            json!({"name": "ok", "definition": pass().to_string(), "roleArn": "role"})
        )
        .await,
        "InvalidArn"
    );
    assert_eq!(
        api.err("DescribeStateMachine", json!({"stateMachineArn": "nope"}))
            .await,
        "InvalidArn"
    );
    assert_eq!(
        api.err(
            "DescribeExecution",
            json!({"executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:none"})
        )
        .await,
        "ExecutionDoesNotExist"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_get_aws_errors_never_500() {
    let api = Api::new("bad").await;
    let (s, out) = api
        .svc
        .handle("AWSStepFunctions.ListStateMachines", b"{not json")
        .await;
    assert_eq!(s, 400);
    let out: Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(out["__type"], "SerializationException");
    let (s, out) = api.svc.handle("AWSStepFunctions.Frobnicate", b"{}").await;
    assert_eq!(s, 400);
    assert!(String::from_utf8_lossy(&out).contains("UnknownOperationException"));
    let (s, _) = api.svc.handle("Nope", b"{}").await;
    assert_eq!(s, 400);
    assert_eq!(
        api.err("StartExecution", json!({})).await,
        "ValidationException"
    );
    assert_eq!(
        api.err("StartExecution", json!({"stateMachineArn": 5}))
            .await,
        "SerializationException"
    );
    let sm = api.machine("m", pass()).await;
    let big = format!("\"{}\"", "x".repeat(256 * 1024));
    assert_eq!(
        api.err(
            "StartExecution",
            json!({"stateMachineArn": sm, "input": big})
        )
        .await,
        "ValidationException"
    );
    assert_eq!(
        api.err(
            "StartExecution",
            json!({"stateMachineArn": sm, "input": "{oops"})
        )
        .await,
        "InvalidExecutionInput"
    );
    assert_eq!(
        api.err(
            "ListExecutions",
            json!({"stateMachineArn": sm, "statusFilter": "NOPE"})
        )
        .await,
        "ValidationException"
    );
    assert_eq!(
        api.err("ListStateMachines", json!({"maxResults": 5000}))
            .await,
        "ValidationException"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn executions_run_list_page_history_stop_and_redrive() {
    let api = Api::new("exec").await;
    let sm = api.machine("m", pass()).await;
    let ex = api.start(&sm, json!({"a": 1})).await;
    let d = api.done(&ex).await;
    assert_eq!(d["status"], "SUCCEEDED");
    assert_eq!(d["output"], "{\"r\":1}");
    assert_eq!(d["input"], "{\"a\":1}");
    assert_eq!(d["redriveStatus"], "NOT_REDRIVABLE");
    let h = api
        .ok("GetExecutionHistory", json!({"executionArn": ex}))
        .await;
    let types: Vec<&str> = h["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    // Paging and reverse order.
    let p1 = api
        .ok(
            "GetExecutionHistory",
            json!({"executionArn": ex, "maxResults": 3}),
        )
        .await;
    assert_eq!(p1["events"].as_array().map(Vec::len), Some(3));
    let p2 = api
        .ok(
            "GetExecutionHistory",
            json!({"executionArn": ex, "maxResults": 3, "nextToken": p1["nextToken"]}),
        )
        .await;
    assert_eq!(p2["events"][0]["type"], "ExecutionSucceeded");
    let rev = api
        .ok(
            "GetExecutionHistory",
            json!({"executionArn": ex, "reverseOrder": true, "includeExecutionData": false}),
        )
        .await;
    assert_eq!(rev["events"][0]["type"], "ExecutionSucceeded");
    assert!(rev["events"][0]["executionSucceededEventDetails"]
        .get("output")
        .is_none());
    let f = api
        .ok(
            "DescribeStateMachineForExecution",
            json!({"executionArn": ex}),
        )
        .await;
    assert_eq!(f["definition"], pass().to_string());

    // A waiting execution (on an activity no worker polls): idempotent start by name, stop,
    // redrive.
    api.ok("CreateActivity", json!({"name": "never"})).await;
    let wait = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:us-east-1:123456789012:activity:never", "End": true}}});
    let sm2 = api.machine("w", wait).await;
    let body = json!({"stateMachineArn": sm2, "name": "run1", "input": "{}"});
    let a = api.ok("StartExecution", body.clone()).await;
    let b = api.ok("StartExecution", body).await;
    assert_eq!(a["executionArn"], b["executionArn"]);
    assert_eq!(
        api.err(
            "StartExecution",
            json!({"stateMachineArn": sm2, "name": "run1", "input": "{\"x\":2}"})
        )
        .await,
        "ExecutionAlreadyExists"
    );
    let ex2 = a["executionArn"].as_str().expect("arn").to_string();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let running = api
        .ok(
            "ListExecutions",
            json!({"stateMachineArn": sm2, "statusFilter": "RUNNING"}),
        )
        .await;
    assert_eq!(running["executions"][0]["executionArn"], ex2.as_str());
    assert_eq!(
        api.err("RedriveExecution", json!({"executionArn": ex2}))
            .await,
        "ExecutionNotRedrivable"
    );
    let stop = api
        .ok(
            "StopExecution",
            json!({"executionArn": ex2, "error": "E", "cause": "C"}),
        )
        .await;
    assert!(stop["stopDate"].is_number());
    let d = api.done(&ex2).await;
    assert_eq!(d["status"], "ABORTED");
    assert_eq!(d["error"], "E");
    assert_eq!(d["redriveStatus"], "REDRIVABLE");
    api.ok("RedriveExecution", json!({"executionArn": ex2}))
        .await;
    let d = api
        .ok("DescribeExecution", json!({"executionArn": ex2}))
        .await;
    assert_eq!(d["status"], "RUNNING");
    assert_eq!(d["redriveCount"], 1);
    let aborted = api
        .ok(
            "ListExecutions",
            json!({"stateMachineArn": sm2, "statusFilter": "ABORTED"}),
        )
        .await;
    assert_eq!(aborted["executions"].as_array().map(Vec::len), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn express_machines_run_synchronously() {
    let api = Api::new("express").await;
    let arn = api
        .ok(
            "CreateStateMachine",
            json!({"name": "e", "type": "EXPRESS", "definition": pass().to_string(), "roleArn": ROLE}),
        )
        .await["stateMachineArn"]
        .clone();
    let r = api
        .ok(
            "StartSyncExecution",
            json!({"stateMachineArn": arn, "input": "{}"}),
        )
        .await;
    assert_eq!(r["status"], "SUCCEEDED");
    assert_eq!(r["output"], "{\"r\":1}");
    assert!(r["executionArn"]
        .as_str()
        .is_some_and(|a| a.contains(":express:e:")));
    let std_arn = api.machine("s", pass()).await;
    assert_eq!(
        api.err("StartSyncExecution", json!({"stateMachineArn": std_arn}))
            .await,
        "StateMachineTypeNotSupported"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn activities_and_task_tokens() {
    let api = Api::new("act").await;
    let act = api.ok("CreateActivity", json!({"name": "work"})).await["activityArn"]
        .as_str()
        .expect("arn")
        .to_string();
    assert_eq!(act, "arn:aws:states:us-east-1:123456789012:activity:work");
    let d = api
        .ok("DescribeActivity", json!({"activityArn": act}))
        .await;
    assert_eq!(d["name"], "work");
    let l = api.ok("ListActivities", json!({})).await;
    assert_eq!(l["activities"][0]["activityArn"], act.as_str());
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act,
        "HeartbeatSeconds": 100, "End": true}}});
    let sm = api.machine("m", def).await;
    let ex = api.start(&sm, json!({"job": 7})).await;
    let t = api
        .ok(
            "GetActivityTask",
            json!({"activityArn": act, "workerName": "w"}),
        )
        .await;
    assert_eq!(t["input"], "{\"job\":7}");
    let token = t["taskToken"].as_str().expect("token").to_string();
    api.ok("SendTaskHeartbeat", json!({"taskToken": token}))
        .await;
    assert_eq!(
        api.err(
            "SendTaskSuccess",
            json!({"taskToken": token, "output": "{bad"})
        )
        .await,
        "InvalidOutput"
    );
    api.ok(
        "SendTaskSuccess",
        json!({"taskToken": token, "output": "{\"ok\":true}"}),
    )
    .await;
    let d = api.done(&ex).await;
    assert_eq!(d["status"], "SUCCEEDED");
    assert_eq!(d["output"], "{\"ok\":true}");
    assert_eq!(
        api.err(
            "SendTaskSuccess",
            json!({"taskToken": token, "output": "{}"})
        )
        .await,
        "TaskTimedOut"
    );
    assert_eq!(
        api.err("SendTaskFailure", json!({"taskToken": "made-up"}))
            .await,
        "InvalidToken"
    );
    // Failure path.
    let ex = api.start(&sm, json!({})).await;
    let t = api.ok("GetActivityTask", json!({"activityArn": act})).await;
    api.ok(
        "SendTaskFailure",
        json!({"taskToken": t["taskToken"], "error": "Bad", "cause": "why"}),
    )
    .await;
    let d = api.done(&ex).await;
    assert_eq!(d["status"], "FAILED");
    assert_eq!(d["error"], "Bad");
    api.ok("DeleteActivity", json!({"activityArn": act})).await;
    assert_eq!(
        api.err("DescribeActivity", json!({"activityArn": act}))
            .await,
        "ActivityDoesNotExist"
    );
    assert_eq!(
        api.err("GetActivityTask", json!({"activityArn": act}))
            .await,
        "ActivityDoesNotExist"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_aliases_and_tags() {
    let api = Api::new("versions").await;
    let sm = api.machine("m", pass()).await;
    let v1 = api
        .ok(
            "PublishStateMachineVersion",
            json!({"stateMachineArn": sm, "description": "first"}),
        )
        .await["stateMachineVersionArn"]
        .as_str()
        .expect("arn")
        .to_string();
    assert_eq!(v1, format!("{sm}:1"));
    // Nothing changed: publishing again gives the same version.
    let again = api
        .ok("PublishStateMachineVersion", json!({"stateMachineArn": sm}))
        .await;
    assert_eq!(again["stateMachineVersionArn"], v1.as_str());
    let other =
        json!({"StartAt": "X", "States": {"X": {"Type": "Pass", "Result": 2, "End": true}}});
    let up = api
        .ok(
            "UpdateStateMachine",
            json!({"stateMachineArn": sm, "definition": other.to_string(), "publish": true}),
        )
        .await;
    let v2 = up["stateMachineVersionArn"]
        .as_str()
        .expect("v2")
        .to_string();
    assert_eq!(v2, format!("{sm}:2"));
    let vs = api
        .ok("ListStateMachineVersions", json!({"stateMachineArn": sm}))
        .await;
    assert_eq!(
        vs["stateMachineVersions"][0]["stateMachineVersionArn"],
        v2.as_str()
    );
    let dv = api
        .ok("DescribeStateMachine", json!({"stateMachineArn": v1}))
        .await;
    assert_eq!(dv["definition"], pass().to_string());
    assert_eq!(dv["description"], "first");

    let alias = api
        .ok(
            "CreateStateMachineAlias",
            json!({"name": "prod", "routingConfiguration": [{"stateMachineVersionArn": v1, "weight": 100}]}),
        )
        .await["stateMachineAliasArn"]
        .as_str()
        .expect("alias")
        .to_string();
    assert_eq!(alias, format!("{sm}:prod"));
    assert_eq!(
        api.err(
            "CreateStateMachineAlias",
            json!({"name": "bad", "routingConfiguration": [{"stateMachineVersionArn": v1, "weight": 50}]}),
        )
        .await,
        "ValidationException"
    );
    let ex = api.start(&alias, json!({})).await;
    let d = api.done(&ex).await;
    assert_eq!(d["output"], "{\"r\":1}", "the alias runs version 1");
    assert_eq!(d["stateMachineAliasArn"], alias.as_str());
    assert_eq!(d["stateMachineVersionArn"], v1.as_str());
    let ex = api.start(&v2, json!({})).await;
    assert_eq!(api.done(&ex).await["output"], "2");
    api.ok(
        "UpdateStateMachineAlias",
        json!({"stateMachineAliasArn": alias, "routingConfiguration": [{"stateMachineVersionArn": v2, "weight": 100}]}),
    )
    .await;
    let da = api
        .ok(
            "DescribeStateMachineAlias",
            json!({"stateMachineAliasArn": alias}),
        )
        .await;
    assert_eq!(
        da["routingConfiguration"][0]["stateMachineVersionArn"],
        v2.as_str()
    );
    let la = api
        .ok("ListStateMachineAliases", json!({"stateMachineArn": sm}))
        .await;
    assert_eq!(
        la["stateMachineAliases"][0]["stateMachineAliasArn"],
        alias.as_str()
    );
    assert_eq!(
        api.err(
            "DeleteStateMachineVersion",
            json!({"stateMachineVersionArn": v2})
        )
        .await,
        "ConflictException"
    );
    api.ok(
        "DeleteStateMachineAlias",
        json!({"stateMachineAliasArn": alias}),
    )
    .await;
    assert_eq!(
        api.err(
            "DescribeStateMachineAlias",
            json!({"stateMachineAliasArn": alias})
        )
        .await,
        "ResourceNotFound"
    );
    api.ok(
        "DeleteStateMachineVersion",
        json!({"stateMachineVersionArn": v2}),
    )
    .await;

    api.ok(
        "TagResource",
        json!({"resourceArn": sm, "tags": [{"key": "team", "value": "a"}, {"key": "env", "value": "dev"}]}),
    )
    .await;
    api.ok(
        "UntagResource",
        json!({"resourceArn": sm, "tagKeys": ["env"]}),
    )
    .await;
    let tags = api
        .ok("ListTagsForResource", json!({"resourceArn": sm}))
        .await;
    assert_eq!(tags["tags"], json!([{"key": "team", "value": "a"}]));
    assert_eq!(
        api.err(
            "ListTagsForResource",
            json!({"resourceArn": format!("{sm}x")})
        )
        .await,
        "ResourceNotFound"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn test_state_runs_one_state() {
    let api = Api::new("teststate").await;
    let r = api
        .ok(
            "TestState",
            json!({"definition": json!({"Type": "Pass", "Parameters": {"v.$": "$.a"}, "Next": "N"}).to_string(),
                   "roleArn": ROLE, "input": "{\"a\":3}"}),
        )
        .await;
    assert_eq!(r["status"], "SUCCEEDED");
    assert_eq!(r["output"], "{\"v\":3}");
    assert_eq!(r["nextState"], "N");
    let choice = json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "NumericGreaterThan": 1, "Next": "Big"}], "Default": "Small"});
    let r = api
        .ok(
            "TestState",
            json!({"definition": choice.to_string(), "roleArn": ROLE, "input": "{\"a\":3}"}),
        )
        .await;
    assert_eq!(r["nextState"], "Big");
    let r = api
        .ok(
            "TestState",
            json!({"definition": json!({"Type": "Fail", "Error": "E", "Cause": "C"}).to_string(), "roleArn": ROLE}),
        )
        .await;
    assert_eq!(r["status"], "FAILED");
    assert_eq!(r["error"], "E");
}

#[tokio::test(flavor = "multi_thread")]
async fn nested_executions_sync_and_sync2() {
    let api = Api::new("nested").await;
    let child = api.machine("child", pass()).await;
    for (mode, want) in [(".sync", json!("{\"r\":1}")), (".sync:2", json!({"r": 1}))] {
        let def = json!({"StartAt": "N", "States": {"N": {"Type": "Task",
            "Resource": format!("arn:aws:states:::states:startExecution{mode}"),
            "Parameters": {"StateMachineArn": child, "Input": {"x": 1}}, "End": true}}});
        let name = if mode == ".sync" { "p1" } else { "p2" };
        let parent = api.machine(name, def).await;
        let ex = api.start(&parent, json!({})).await;
        let d = api.done(&ex).await;
        assert_eq!(d["status"], "SUCCEEDED", "{d}");
        let out: Value = serde_json::from_str(d["output"].as_str().expect("output")).expect("json");
        assert_eq!(out["Output"], want, "{mode}");
        assert_eq!(out["Status"], "SUCCEEDED");
    }
}
