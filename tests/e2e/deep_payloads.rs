//! A property test of issue 11, item 1: random deeply nested and oversized inputs and random
//! (deeply nested, or around the 1 MiB quota) definitions through the API (`stepwise-api` on the SQLite store); then the
//! store is reopened as a restarted `serve` reopens it, and the `stepwise serve` binary is started
//! on the same data directory. Whatever the API accepted, it ran to an end and reads back; the
//! reopened store always opens, recovers, and reads every execution, and `serve` always starts
//! and answers for each of them.
//!
//! (The same through boto3 against a restarted `serve`: `serve_clients::boto3_deep_payloads_*`;
//! the store ports alone: `stepwise-store-contract`'s `deep` cases.)

use crate::serve_common::{free_port, Serve};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use stepwise_api::{Service, ServiceConfig};
use stepwise_engine::deep;
use stepwise_ports::tasks::TaskInvoker;
use stepwise_runtime::tasks::TaskRouter;
use stepwise_store_embedded::{DriverOptions, EmbeddedDriver, SqliteStore};
use stepwise_tests::stepwise_bin;

const ROLE: &str = "arn:aws:iam::123456789012:role/test";
const MAX_INPUT: usize = 262_144;

/// One level of an input, outermost first.
#[derive(Debug, Clone, Copy)]
enum Level {
    Array,
    Object,
    /// An array with a number before the nested value.
    Pair,
}

/// An input: its levels around a string leaf of `leaf` bytes.
#[derive(Debug, Clone)]
struct Input {
    levels: Vec<Level>,
    leaf: usize,
}

impl Input {
    fn text(&self) -> String {
        let mut open = String::new();
        let mut close = String::new();
        for l in &self.levels {
            match l {
                Level::Array => open.push('['),
                Level::Object => open.push_str("{\"k\":"),
                Level::Pair => open.push_str("[7,"),
            }
        }
        for l in self.levels.iter().rev() {
            close.push(if matches!(l, Level::Object) { '}' } else { ']' });
        }
        format!("{open}\"{}\"{close}", "x".repeat(self.leaf))
    }
}

/// What the state machine does with its input.
#[derive(Debug, Clone)]
enum Machine {
    /// A Pass state.
    Pass,
    /// A Pass whose Parameters nest `n` levels around `$` (deeper output than input).
    Wrap(usize),
    /// A Pass whose Result nests `n` levels, put beside the input by ResultPath.
    Beside(usize),
    /// A Task first, whose resource nothing answers: it must fail with an error, not hang.
    Task,
    /// A Pass whose Result is a string of `n` bytes: past 1,048,576 characters in all, the
    /// definition is refused (ValidationException), never stored.
    Oversized(usize),
}

impl Machine {
    fn definition(&self) -> String {
        let nest = |n: usize, leaf: Value| (0..n).fold(leaf, |v, _| json!({ "p": v }));
        let state = match self {
            Machine::Pass => json!({"Type": "Pass", "End": true}),
            Machine::Wrap(n) => {
                json!({"Type": "Pass", "Parameters": nest(*n, json!({"v.$": "$"})), "End": true})
            }
            Machine::Beside(n) => json!({"Type": "Pass", "Result": nest(*n, json!(1)),
                "ResultPath": "$.r", "End": true}),
            Machine::Oversized(n) => {
                json!({"Type": "Pass", "Result": "x".repeat(*n), "End": true})
            }
            Machine::Task => json!({"Type": "Task", "Resource":
                "arn:aws:states:us-east-1:123456789012:activity:nobody-has-this", "TimeoutSeconds": 1,
                "End": true}),
        };
        let def = json!({"StartAt": "S", "States": {"S": state}});
        deep::on_big_stack(|| def.to_string())
    }
}

fn level() -> impl Strategy<Value = Level> {
    prop_oneof![Just(Level::Array), Just(Level::Object), Just(Level::Pair)]
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        // Around serde_json's default limit of 128 levels.
        (prop::collection::vec(level(), 100..160), 0..100usize),
        // Far past it.
        (prop::collection::vec(level(), 1_000..12_000), 0..1_000usize),
        // Past the size limit, or just under it.
        (prop::collection::vec(level(), 0..50), 250_000..270_000usize),
    ]
    .prop_map(|(levels, leaf)| Input { levels, leaf })
}

fn machine() -> impl Strategy<Value = Machine> {
    prop_oneof![
        Just(Machine::Pass),
        (0..700usize).prop_map(Machine::Wrap),
        (0..300usize).prop_map(Machine::Beside),
        Just(Machine::Task),
        // Around the definition quota (its text adds about 60 bytes around the Result).
        (1_048_400..1_048_700usize).prop_map(Machine::Oversized),
    ]
}

fn service(dir: &Path) -> (Arc<Service<SqliteStore>>, Arc<EmbeddedDriver<SqliteStore>>) {
    let store = Arc::new(SqliteStore::open(dir).expect("the store opens"));
    // Nothing answers tasks: a Task fails with States.Runtime, after storing its parameters.
    let invoker: Arc<dyn TaskInvoker> = Arc::new(TaskRouter::new());
    let driver = EmbeddedDriver::new(
        store.clone(),
        invoker,
        DriverOptions {
            skip_waits: true,
            ..Default::default()
        },
    );
    let svc = Arc::new(Service::new(
        store,
        driver.clone(),
        ServiceConfig::default(),
    ));
    (svc, driver)
}

async fn call(svc: &Service<SqliteStore>, action: &str, body: Value) -> (u16, Value) {
    let (status, out) = svc
        .handle(
            &format!("AWSStepFunctions.{action}"),
            body.to_string().as_bytes(),
        )
        .await;
    let out: Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
        panic!(
            "{action}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out)
        )
    });
    (status, out)
}

/// The execution ended and everything about it reads: its description (with the input as
/// given) and its whole history, both ways.
async fn readable(svc: &Service<SqliteStore>, arn: &str, input: &str) -> Result<(), TestCaseError> {
    let mut d = Value::Null;
    for _ in 0..1_500 {
        let (status, out) = call(svc, "DescribeExecution", json!({"executionArn": arn})).await;
        prop_assert_eq!(status, 200, "DescribeExecution: {}", out);
        d = out;
        if d["status"] != "RUNNING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    prop_assert!(
        d["status"] == "SUCCEEDED" || d["status"] == "FAILED",
        "{}",
        d["status"]
    );
    if d["status"] == "FAILED" {
        let error = d["error"].as_str().unwrap_or_default();
        prop_assert!(error.starts_with("States."), "{}", error);
    }
    prop_assert!(
        d["input"].as_str() == Some(input),
        "the input reads back as given"
    );
    for reverse in [false, true] {
        let (status, h) = call(
            svc,
            "GetExecutionHistory",
            json!({"executionArn": arn, "reverseOrder": reverse, "maxResults": 1000}),
        )
        .await;
        prop_assert_eq!(status, 200, "GetExecutionHistory: {}", h);
        let events = h["events"].as_array().cloned().unwrap_or_default();
        prop_assert!(events.len() >= 2);
    }
    Ok(())
}

/// Several executions per case, each a random input and machine; the store reopened after.
async fn case(batch: Vec<(Input, Machine)>) -> Result<(), TestCaseError> {
    let dir = tempfile_dir();
    let mut started = Vec::new();
    {
        let (svc, _driver) = service(&dir);
        for (i, (input, m)) in batch.iter().enumerate() {
            let (status, out) = call(
                &svc,
                "CreateStateMachine",
                json!({"name": format!("m{i}"), "definition": m.definition(), "roleArn": ROLE}),
            )
            .await;
            let definition_len = m.definition().chars().count();
            if let Machine::Oversized(_) = m {
                // Over the quota: refused as AWS refuses it; under: stored and run as any other.
                if definition_len > 1_048_576 {
                    prop_assert_eq!(status, 400, "{} characters: {}", definition_len, out);
                    prop_assert_eq!(out["__type"].as_str(), Some("ValidationException"));
                    continue;
                }
                prop_assert_eq!(status, 200, "{} characters: {}", definition_len, out);
            }
            if status == 400 {
                // Only a definition nested past what the definition parser reads (serde_json's
                // 128 levels, in stepwise-asl) may be refused, and only as InvalidDefinition.
                prop_assert!(
                    matches!(m, Machine::Wrap(n) | Machine::Beside(n) if *n > 120),
                    "{:?}: {}",
                    m,
                    out
                );
                prop_assert_eq!(out["__type"].as_str(), Some("InvalidDefinition"));
                continue;
            }
            prop_assert_eq!(status, 200, "CreateStateMachine: {}", out);
            let sm = out["stateMachineArn"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let text = input.text();
            let (status, out) = call(
                &svc,
                "StartExecution",
                json!({"stateMachineArn": sm, "input": text}),
            )
            .await;
            if text.len() > MAX_INPUT {
                prop_assert_eq!(status, 400);
                prop_assert_eq!(out["__type"].as_str(), Some("ValidationException"));
                continue;
            }
            prop_assert_eq!(
                status,
                200,
                "StartExecution of {} levels: {}",
                input.levels.len(),
                out
            );
            let arn = out["executionArn"].as_str().unwrap_or_default().to_string();
            readable(&svc, &arn, &text).await?;
            started.push((arn, text));
        }
    }
    // A restart: the same file opened again, running executions recovered.
    {
        let (svc, driver) = service(&dir);
        let recovered = driver.recover().await;
        prop_assert!(recovered.is_ok(), "recover: {:?}", recovered.err());
        for (arn, text) in &started {
            readable(&svc, arn, text).await?;
        }
    }
    // And the `stepwise serve` binary on that data directory: it starts (Serve::start fails the
    // test otherwise) and answers for every stored execution.
    let serve = Serve::start(&stepwise_bin(), &dir, free_port(), &[]);
    for (arn, text) in &started {
        let (status, d) = serve.call("DescribeExecution", json!({"executionArn": arn}));
        prop_assert_eq!(status, 200, "serve's DescribeExecution: {}", d);
        prop_assert!(
            d["input"].as_str() == Some(text.as_str()),
            "serve reads the input back"
        );
        let (status, h) = serve.call(
            "GetExecutionHistory",
            json!({"executionArn": arn, "maxResults": 1000}),
        );
        prop_assert_eq!(status, 200, "serve's GetExecutionHistory: {}", h);
    }
    let log = serve.log.clone();
    drop(serve);
    let _ = std::fs::remove_file(log);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "stepwise-deep-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

#[test]
fn random_deep_and_oversized_payloads_run_and_read_back_after_a_reopen() {
    // Cloning and dropping a 12,000-level value recurse: threads with room for the deepest
    // payload, as `serve` runs on.
    std::thread::Builder::new()
        .stack_size(deep::STACK_SIZE)
        .spawn(|| {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_stack_size(deep::STACK_SIZE)
                .enable_all()
                .build()
                .expect("a runtime");
            let mut runner = TestRunner::new(Config {
                cases: 12,
                failure_persistence: None,
                ..Config::default()
            });
            let strategy = prop::collection::vec((input(), machine()), 1..4);
            let result = runner.run(&strategy, |batch| rt.block_on(case(batch)));
            if let Err(e) = result {
                panic!("{e}");
            }
        })
        .expect("a thread")
        .join()
        .expect("the property holds");
}
