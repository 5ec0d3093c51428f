//! The Map Run actions: ListMapRuns, DescribeMapRun, UpdateMapRun. A map run lives in its
//! parent execution's checkpoint (`ExecutionState::map_runs`: the ended ones with their final
//! counts, the running one read from its Map's children), so these actions read the parent;
//! UpdateMapRun is an event applied to it.
//!
//! A map run ARN (`arn:P:states:R:A:mapRun:MACHINE/LABEL:ID`) names its state machine but not
//! its execution: DescribeMapRun and UpdateMapRun look through that machine's executions,
//! newest first.

use crate::error::{ApiError, ApiResult, Shown};
use crate::req::{encode_token, ts, Arn, Req};
use crate::runs::check_standard_exec_arn;
use crate::Service;
use serde_json::{json, Value};
use stepwise_engine::map_io::{child_state_machine_arn, MapRunCounts, MapRunInfo};
use stepwise_engine::Event;
use stepwise_ports::api::{ApiStore, ExecutionFilter, ResourceKind};

fn not_found(arn: &str) -> ApiError {
    ApiError::new("ResourceNotFound", format!("Resource not found: '{arn}'"))
}

fn counts(c: &MapRunCounts) -> Value {
    json!({
        "pending": c.pending, "running": c.running, "succeeded": c.succeeded,
        "failed": c.failed, "timedOut": c.timed_out, "aborted": c.aborted, "total": c.total,
        "resultsWritten": c.results_written,
        "failuresNotRedrivable": c.failures_not_redrivable,
        "pendingRedrive": c.pending_redrive,
    })
}

impl<S: ApiStore + 'static> Service<S> {
    /// A map run whose children are executions ([`crate::map_run`]): its record.
    async fn map_run_record(&self, arn: &str) -> ApiResult<Option<(String, MapRunInfo)>> {
        let Some(rec) = self.store.get_resource(ResourceKind::MapRun, arn).await? else {
            return Ok(None);
        };
        let execution = rec.parent.clone().unwrap_or_default();
        Ok(serde_json::from_value(rec.body)
            .ok()
            .map(|i| (execution, i)))
    }

    /// The execution a map run belongs to, and the run.
    async fn map_run(&self, arn: &str) -> ApiResult<(String, MapRunInfo)> {
        let a = Arn::parse(arn, &["mapRun"])?;
        if let Some(found) = self.map_run_record(arn).await? {
            return Ok(found);
        }
        let machine = a.parts[0].split('/').next().unwrap_or_default();
        let filter = ExecutionFilter {
            state_machine_arn: Some(format!("{}:stateMachine:{machine}", a.prefix)),
            ..Default::default()
        };
        let mut offset = 0;
        loop {
            let rows = self.store.list_executions(&filter, offset, 1000).await?;
            for row in &rows {
                let Some(ex) = self.store.load(&row.meta.arn).await? else {
                    continue;
                };
                if let Some(run) = ex
                    .state
                    .map_runs()
                    .into_iter()
                    .find(|r| r.map_run_arn == arn)
                {
                    return Ok((row.meta.arn.clone(), run));
                }
            }
            if rows.len() < 1000 {
                return Err(not_found(arn));
            }
            offset += rows.len();
        }
    }

    pub(crate) async fn list_map_runs(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("executionArn")?;
        check_standard_exec_arn(&arn)?;
        let limit = r.max_results(100)?;
        let offset = r.offset_within(3096)?;
        let (_, ex) = self.execution(&arn).await?;
        let mut runs = ex.state.map_runs();
        // Runs whose children are executions keep their counts in their records.
        for rec in self
            .store
            .list_resources(ResourceKind::MapRun, Some(&arn))
            .await?
        {
            if let Ok(info) = serde_json::from_value::<MapRunInfo>(rec.body) {
                match runs.iter_mut().find(|r| r.map_run_arn == info.map_run_arn) {
                    Some(r) => *r = info,
                    None => runs.push(info),
                }
            }
        }
        runs.sort_by_key(|r| r.start_ms);
        let list: Vec<Value> = runs
            .iter()
            .skip(offset)
            .take(limit)
            .map(|run| {
                let mut o = json!({
                    "executionArn": arn,
                    "mapRunArn": run.map_run_arn,
                    "stateMachineArn": child_state_machine_arn(&run.map_run_arn),
                    "startDate": ts(run.start_ms),
                });
                if let Some(s) = run.stop_ms {
                    o["stopDate"] = ts(s);
                }
                o
            })
            .collect();
        let mut out = json!({ "mapRuns": list });
        if runs.len() > offset + limit {
            out["nextToken"] = json!(encode_token(offset + limit));
        }
        Ok(out)
    }

    pub(crate) async fn describe_map_run(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("mapRunArn")?;
        let (execution, run) = self.map_run(&arn).await?;
        let mut o = json!({
            "mapRunArn": run.map_run_arn,
            "executionArn": execution,
            "status": run.status,
            "startDate": ts(run.start_ms),
            "maxConcurrency": run.max_concurrency,
            "toleratedFailurePercentage": run.tolerated_failure_percentage,
            "toleratedFailureCount": run.tolerated_failure_count,
            "itemCounts": counts(&run.item_counts),
            "executionCounts": counts(&run.execution_counts),
            "redriveCount": run.redrive_count,
        });
        if let Some(s) = run.stop_ms {
            o["stopDate"] = ts(s);
        }
        if let Some(s) = run.redrive_ms {
            o["redriveDate"] = ts(s);
        }
        Ok(o)
    }

    pub(crate) async fn update_map_run(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("mapRunArn")?;
        let max_concurrency = r.opt_i64("maxConcurrency")?;
        let count = r.opt_i64("toleratedFailureCount")?;
        let percentage = r.opt_f64("toleratedFailurePercentage")?;
        if let Some(n) = max_concurrency.filter(|n| *n < 0) {
            return Err(ApiError::constraint(
                Shown::Text(&n.to_string()),
                "maxConcurrency",
                "Member must have value greater than or equal to 0",
            ));
        }
        if let Some(n) = count.filter(|n| *n < 0) {
            return Err(ApiError::constraint(
                Shown::Text(&n.to_string()),
                "toleratedFailureCount",
                "Member must have value greater than or equal to 0",
            ));
        }
        if let Some(p) = percentage.filter(|p| !(0.0..=100.0).contains(p)) {
            let constraint = if p < 0.0 {
                "Member must have value greater than or equal to 0"
            } else {
                "Member must have value less than or equal to 100"
            };
            return Err(ApiError::constraint(
                Shown::Text(&p.to_string()),
                "toleratedFailurePercentage",
                constraint,
            ));
        }
        if max_concurrency.is_none() && count.is_none() && percentage.is_none() {
            return Err(ApiError::validation(
                "Must specify at least one of maxConcurrency, toleratedFailurePercentage or \
                 toleratedFailureCount",
            ));
        }
        let (execution, run) = self.map_run(&arn).await?;
        if run.status != "RUNNING" {
            return Err(ApiError::validation(format!(
                "Map Run {arn} is {} and cannot be updated",
                run.status
            )));
        }
        if let Some((parent, mut info)) = self.map_run_record(&arn).await? {
            // The run reads its record as its children end.
            if let Some(n) = max_concurrency {
                info.max_concurrency = n as u64;
            }
            if let Some(n) = count {
                info.tolerated_failure_count = n as u64;
            }
            if let Some(p) = percentage {
                info.tolerated_failure_percentage = p;
            }
            let rec = crate::map_run::map_run_record(&parent, &info);
            self.store.put_resource(&rec, false).await?;
            crate::map_run::wake(&arn);
            return Ok(json!({}));
        }
        self.driver
            .apply(
                &execution,
                Event::UpdateMapRun {
                    map_run_arn: arn,
                    max_concurrency: max_concurrency.map(|n| n as u64),
                    tolerated_failure_count: count.map(|n| n as u64),
                    tolerated_failure_percentage: percentage,
                },
            )
            .await?;
        Ok(json!({}))
    }
}
