//! `stepwise serve` survives a SIGKILL: executions caught in Task and Wait states finish after a
//! restart on the same data directory with the output an undisturbed run gives, and histories
//! numbered 1..n without a gap or a duplicate. A second server on a data directory in use
//! refuses to start.
//!
//! Tasks are served by a Lambda-compatible fake (`--lambda-endpoint`) that holds every call until
//! the server has been killed and restarted, and by an activity that gets no worker until then.

use crate::serve_common::{free_port, history, temp_dir, wait_done, FakeLambda, Serve, DEADLINE};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stepwise_tests::stepwise_bin;

const ROLE: &str = "arn:aws:iam::111111111111:role/durability";

fn square(_name: &str, payload: &Value) -> Value {
    let n = payload["n"].as_i64().unwrap_or(-1);
    json!({ "n": n, "sq": n * n })
}

fn lambda_task(next: &str) -> Value {
    json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": { "FunctionName": "square", "Payload": { "n.$": "$.n" } },
        "ResultSelector": { "sq.$": "$.Payload.sq" },
        "ResultPath": "$.call",
        "Next": next
    })
}

/// Task then Wait.
fn machine_a() -> Value {
    json!({ "StartAt": "Call", "States": {
        "Call": lambda_task("Pause"),
        "Pause": { "Type": "Wait", "Seconds": 2, "Next": "Done" },
        "Done": { "Type": "Pass", "Parameters": { "n.$": "$.n", "sq.$": "$.call.sq", "kind": "A" }, "End": true }
    }})
}

/// Wait then Task.
fn machine_b() -> Value {
    json!({ "StartAt": "Pause", "States": {
        "Pause": { "Type": "Wait", "Seconds": 6, "Next": "Call" },
        "Call": lambda_task("Done"),
        "Done": { "Type": "Pass", "Parameters": { "n.$": "$.n", "sq.$": "$.call.sq", "kind": "B" }, "End": true }
    }})
}

/// An activity with no worker until the restart.
fn machine_c(activity: &str) -> Value {
    json!({ "StartAt": "Work", "States": {
        "Work": { "Type": "Task", "Resource": activity, "ResultPath": "$.work", "Next": "Done" },
        "Done": { "Type": "Pass", "Parameters": { "n.$": "$.n", "got.$": "$.work.got", "kind": "C" }, "End": true }
    }})
}

fn expected(kind: &str, n: i64) -> Value {
    match kind {
        "C" => json!({ "n": n, "got": n * 10, "kind": "C" }),
        _ => json!({ "n": n, "sq": n * n, "kind": kind }),
    }
}

fn create(serve: &Serve, definition: &Value) -> String {
    let name = format!("durable-{}", uuid_ish());
    let out = serve.ok(
        "CreateStateMachine",
        json!({ "name": name, "definition": definition.to_string(), "roleArn": ROLE }),
    );
    out["stateMachineArn"]
        .as_str()
        .expect("stateMachineArn")
        .to_string()
}

fn uuid_ish() -> String {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{}", t & 0xffff_ffff, N.fetch_add(1, Ordering::SeqCst))
}

fn start(serve: &Serve, sm: &str, input: &Value) -> String {
    let out = serve.ok(
        "StartExecution",
        json!({ "stateMachineArn": sm, "input": input.to_string() }),
    );
    out["executionArn"]
        .as_str()
        .expect("executionArn")
        .to_string()
}

fn event_types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("?").to_string())
        .collect()
}

fn has_event(serve: &Serve, arn: &str, ty: &str) -> bool {
    history(serve, arn).iter().any(|e| e["type"] == ty)
}

/// Checks ids 1..n in order, each once.
fn assert_ids_contiguous(arn: &str, events: &[Value]) {
    let ids: Vec<i64> = events
        .iter()
        .map(|e| e["id"].as_i64().unwrap_or(-1))
        .collect();
    let want: Vec<i64> = (1..=events.len() as i64).collect();
    assert_eq!(
        ids,
        want,
        "{arn}: history ids are not 1..n: {:?}",
        event_types(events)
    );
}

/// An activity worker on its own thread: polls and answers `{"got": n * 10}` until stopped.
fn spawn_worker(port: u16, activity: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let start = Instant::now();
        while !stop.load(Ordering::SeqCst) && start.elapsed() < DEADLINE {
            let (status, task) = crate::serve_common::call(
                port,
                "GetActivityTask",
                &json!({ "activityArn": activity, "workerName": "durable-worker" }),
            );
            if status != 200 {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            let Some(token) = task["taskToken"].as_str().filter(|t| !t.is_empty()) else {
                continue;
            };
            let input: Value =
                serde_json::from_str(task["input"].as_str().unwrap_or("null")).unwrap_or_default();
            let n = input["n"].as_i64().unwrap_or(-1);
            let _ = crate::serve_common::call(
                port,
                "SendTaskSuccess",
                &json!({ "taskToken": token, "output": json!({ "got": n * 10 }).to_string() }),
            );
        }
    })
}

#[test]
fn executions_in_task_and_wait_states_survive_sigkill() {
    let bin = stepwise_bin();
    let root = temp_dir("durable");
    let data = root.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let lambda = FakeLambda::start(false, Arc::new(square));
    let lambda_url = lambda.endpoint();
    let args = ["--lambda-endpoint", lambda_url.as_str()];
    let port = free_port();
    let mut serve = Serve::start(&bin, &data, port, &args);

    let activity_name = format!("durable-act-{}", uuid_ish());
    let activity = serve.ok("CreateActivity", json!({ "name": activity_name }))["activityArn"]
        .as_str()
        .expect("activityArn")
        .to_string();
    let a = create(&serve, &machine_a());
    let b = create(&serve, &machine_b());
    let c = create(&serve, &machine_c(&activity));

    // one execution that ends before the crash: it must read the same afterwards
    let pass = create(
        &serve,
        &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": true}, "End": true}}}),
    );
    let finished = start(&serve, &pass, &json!({}));
    let finished_before = wait_done(&serve, &finished);
    assert_eq!(
        finished_before["status"],
        "SUCCEEDED",
        "{finished_before}\n{}",
        serve.log_text()
    );
    let finished_history = history(&serve, &finished);

    // 50 executions: 20 Task-then-Wait, 20 Wait-then-Task, 10 activity
    let mut runs: Vec<(String, &str, i64)> = Vec::new();
    for i in 0..50i64 {
        let (sm, kind) = match i % 5 {
            0 | 1 => (&a, "A"),
            2 | 3 => (&b, "B"),
            _ => (&c, "C"),
        };
        runs.push((start(&serve, sm, &json!({ "n": i })), kind, i));
    }

    // kill while they are in their Task and Wait states
    let begin = Instant::now();
    for (arn, kind, _) in &runs {
        let waiting_for = match *kind {
            "A" => "TaskScheduled",
            "B" => "WaitStateEntered",
            _ => "ActivityScheduled",
        };
        while !has_event(&serve, arn, waiting_for) {
            assert!(
                begin.elapsed() < DEADLINE,
                "{arn} never reached {waiting_for}: {:?}\n{}",
                event_types(&history(&serve, arn)),
                serve.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    for (arn, _, _) in &runs {
        let d = serve.ok("DescribeExecution", json!({ "executionArn": arn }));
        assert_eq!(d["status"], "RUNNING", "{arn} ended before the crash: {d}");
    }
    let held = lambda.calls.load(Ordering::SeqCst);
    serve.kill();
    println!("killed with 50 executions running, {held} Lambda call(s) held unanswered");

    // restart on the same data dir; now the Lambda answers and a worker runs
    let mut serve = Serve::start(&bin, &data, free_port(), &args);
    println!(
        "restarted: {}",
        serve.log_text().lines().next().unwrap_or("")
    );
    lambda.open();
    let stop = Arc::new(AtomicBool::new(false));
    let worker = spawn_worker(serve.port, activity.clone(), stop.clone());

    // undisturbed runs of each machine, for the history shapes
    let control: Vec<(String, &str)> = vec![
        (start(&serve, &a, &json!({ "n": 1000 })), "A"),
        (start(&serve, &b, &json!({ "n": 1000 })), "B"),
        (start(&serve, &c, &json!({ "n": 1000 })), "C"),
    ];
    let mut shape = std::collections::HashMap::new();
    for (arn, kind) in &control {
        let d = wait_done(&serve, arn);
        assert_eq!(d["status"], "SUCCEEDED", "control {kind}: {d}");
        let out: Value =
            serde_json::from_str(d["output"].as_str().unwrap_or("null")).unwrap_or_default();
        assert_eq!(out, expected(kind, 1000), "control {kind}");
        let events = history(&serve, arn);
        assert_ids_contiguous(arn, &events);
        shape.insert(*kind, event_types(&events));
    }

    let mut failures = Vec::new();
    for (arn, kind, n) in &runs {
        let d = wait_done(&serve, arn);
        let out: Value =
            serde_json::from_str(d["output"].as_str().unwrap_or("null")).unwrap_or_default();
        if d["status"] != "SUCCEEDED" || out != expected(kind, *n) {
            failures.push(format!("{arn} ({kind}): {d}"));
            continue;
        }
        let events = history(&serve, arn);
        let ids: Vec<i64> = events
            .iter()
            .map(|e| e["id"].as_i64().unwrap_or(-1))
            .collect();
        let unique: HashSet<i64> = ids.iter().copied().collect();
        if ids != (1..=events.len() as i64).collect::<Vec<_>>() || unique.len() != ids.len() {
            failures.push(format!("{arn} ({kind}): ids {ids:?}"));
        }
        if event_types(&events) != shape[kind] {
            failures.push(format!(
                "{arn} ({kind}): events {:?}\n  undisturbed {:?}",
                event_types(&events),
                shape[kind]
            ));
        }
    }
    stop.store(true, Ordering::SeqCst);

    let after = serve.ok("DescribeExecution", json!({ "executionArn": finished }));
    assert_eq!(after["output"], finished_before["output"]);
    assert_eq!(after["status"], "SUCCEEDED");
    assert_eq!(history(&serve, &finished), finished_history);

    let log = serve.log_text();
    serve.kill();
    // the worker may sit in a long poll on the dead server: it returns when the socket closes
    let _ = worker.join();
    assert!(
        failures.is_empty(),
        "{} of 50 executions did not recover:\n{}\n--- server log after restart ---\n{}",
        failures.len(),
        failures.join("\n"),
        tail(&log, 6000)
    );
    let _ = std::fs::remove_dir_all(&root);
}

fn tail(s: &str, n: usize) -> &str {
    let mut i = s.len().saturating_sub(n);
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

#[test]
fn a_second_serve_on_the_same_data_dir_refuses_to_start() {
    let bin = stepwise_bin();
    let root = temp_dir("twice");
    let data = root.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let first = Serve::start(&bin, &data, free_port(), &[]);
    first.ok(
        "CreateStateMachine",
        json!({
            "name": "kept",
            "definition": json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string(),
            "roleArn": ROLE
        }),
    );

    let port = free_port();
    let mut second = std::process::Command::new(&bin)
        .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
        .arg("--data-dir")
        .arg(&data)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting the second serve");
    let begin = Instant::now();
    let status = loop {
        if let Some(status) = second.try_wait().expect("polling the second serve") {
            break status;
        }
        if begin.elapsed() > DEADLINE || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let _ = second.kill();
            let _ = second.wait();
            panic!("a second serve started on a data dir in use (it listens on {port})");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = second.wait_with_output().expect("second serve output");
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(!status.success(), "the second serve exited with {status}");
    assert!(
        !stderr.contains("panicked"),
        "the second serve panicked instead of refusing: {stderr}"
    );
    let dir = data.to_string_lossy().to_lowercase();
    assert!(
        stderr.contains(&dir)
            || ["in use", "lock", "already", "another"]
                .iter()
                .any(|w| stderr.contains(w)),
        "the refusal does not say why (the data dir, in use, locked...): {stderr:?}"
    );

    // the first is unharmed
    let listed = first.ok("ListStateMachines", json!({}));
    assert!(
        listed["stateMachines"]
            .as_array()
            .is_some_and(|l| l.iter().any(|m| m["name"] == "kept")),
        "{listed}"
    );
    drop(first);
    let _ = std::fs::remove_dir_all(&root);
}
