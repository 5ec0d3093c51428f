//! `stepwise run` of a definition with a distributed Map: the execution runs on `serve`'s own
//! machinery (the embedded store in a temporary folder, its driver, the API service and its
//! map-run coordinator), so its map runs are what they are in `serve`: child executions started
//! at most `MaxConcurrency` at a time, items read a page at a time, results streamed to the
//! result files. Memory stays bounded by the concurrency, not the item count, and the output
//! and the result files are `serve`'s.
//!
//! Why not the in-process driver (`stepwise_runtime::local`) that runs every other definition:
//! it keeps the whole execution in memory, so a Map's children, their inputs and results live
//! inside the parent's checkpoint; running children as executions needs a store to keep them
//! in, and the one `serve` uses is the one whose map-run code is tested. The folder is removed
//! when the run ends.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use stepwise_api::{Service, ServiceConfig};
use stepwise_engine::{ExecutionState, Status};
use stepwise_ports::api::{ApiStore, Driver};
use stepwise_ports::execution::ExecutionStore;
use stepwise_ports::tasks::TaskInvoker;
use stepwise_runtime::local::Observer;
use stepwise_runtime::tasks::{MockConfig, TaskRouter};
use stepwise_store_embedded::{DriverOptions, EmbeddedDriver, SqliteStore};
use stepwise_tasks_aws::map_io::stream::MapObjects;

/// What the run needs besides the task router.
pub struct EmbeddedRun {
    /// The definition's text.
    pub definition: String,
    /// The state machine's name.
    pub name: String,
    /// The execution's name.
    pub execution_name: String,
    /// The execution's role.
    pub role_arn: String,
    /// Its input.
    pub input: Value,
    /// Where map runs read and write.
    pub objects: MapObjects,
    /// The mock configuration and test case, if any.
    pub mock: Option<(MockConfig, String)>,
    /// `--from`.
    pub start_at: Option<String>,
    /// `--skip-waits`.
    pub skip_waits: bool,
}

/// Removes the temporary store when the run ends, however it ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn call(svc: &Service<SqliteStore>, action: &str, body: Value) -> Result<Value> {
    let (status, out) = svc
        .handle(
            &format!("AWSStepFunctions.{action}"),
            body.to_string().as_bytes(),
        )
        .await;
    let v: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
    if status != 200 {
        bail!(
            "{action}: {}: {}",
            v.get("__type").and_then(Value::as_str).unwrap_or("error"),
            v.get("message").and_then(Value::as_str).unwrap_or_default()
        );
    }
    Ok(v)
}

/// How often the history is read for the observer while the execution runs.
const FOLLOW_MS: u64 = 100;

/// Runs the execution to its end and returns its final state.
pub async fn run(
    r: EmbeddedRun,
    router: TaskRouter,
    observer: &mut dyn Observer,
) -> Result<ExecutionState> {
    let dir = std::env::temp_dir().join(format!("stepwise-run-{}", r.execution_name));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let _cleanup = TempDir(dir.clone());
    let store = Arc::new(SqliteStore::open(&dir)?);
    let mut config = ServiceConfig {
        map_runs_as_executions: true,
        ..Default::default()
    };
    let mut router = router;
    let mut test_case = None;
    if let Some((mock, tc)) = r.mock {
        config.mock = Some(Arc::new(mock.clone()));
        router = router.with_mock(stepwise_runtime::tasks::MockInvoker::new(mock));
        test_case = Some(tc);
    }
    let map_runs = stepwise_api::map_run::MapRunInvoker::new(Arc::new(router), r.objects);
    let invoker: Arc<dyn TaskInvoker> = map_runs.clone();
    let driver = EmbeddedDriver::new(
        store.clone(),
        invoker.clone(),
        DriverOptions {
            skip_waits: r.skip_waits,
            status_events: None,
        },
    );
    let service =
        Arc::new(Service::new(store.clone(), driver.clone(), config).with_invoker(invoker));
    map_runs.bind(&service);

    let created = call(
        &service,
        "CreateStateMachine",
        json!({"name": r.name, "definition": r.definition, "roleArn": r.role_arn}),
    )
    .await?;
    let sm_arn = created
        .get("stateMachineArn")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("CreateStateMachine answered no ARN"))?;
    let target = match &test_case {
        Some(tc) => format!("{sm_arn}#{tc}"),
        None => sm_arn.to_string(),
    };
    let input = stepwise_engine::deep::to_string(&r.input)?;
    let mut start = json!({"stateMachineArn": target, "name": r.execution_name, "input": input});
    let action = match &r.start_at {
        Some(state) => {
            start["stateName"] = json!(state);
            "StartExecutionFromState"
        }
        None => "StartExecution",
    };
    let started = call(&service, action, start).await?;
    let arn = started
        .get("executionArn")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("{action} answered no ARN"))?
        .to_string();

    // The history goes to the observer as it grows; the run ends with the execution.
    let mut seen = 0u64;
    loop {
        let ended = store
            .load(&arn)
            .await?
            .is_some_and(|x| x.state.status != Status::Running);
        loop {
            let events = store.history(&arn, seen, false, 1000).await?;
            let Some(last) = events.last() else {
                break;
            };
            seen = last.id;
            for e in &events {
                observer.on_event(e);
            }
        }
        if ended {
            break;
        }
        driver.wait_end(&arn, FOLLOW_MS).await;
    }
    let ex = store
        .load(&arn)
        .await?
        .ok_or_else(|| anyhow!("the execution {arn} is gone"))?;
    Ok(ex.state)
}
