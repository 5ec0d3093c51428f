//! Executions, their history, and the task callbacks (activities and task tokens).

use crate::error::{ApiError, ApiResult, Shown};
use crate::machines::sm_missing;
use crate::records::{default_logging, default_tracing, StateMachineHead, StateMachineRecord};
use crate::req::{
    check_name, decode_token, encode_token, execution_name, seed, ts, uuid, Arn, Req,
};
use crate::resume::{check_start_state, StartPoint};
use crate::{Service, MAX_PAYLOAD};
use serde_json::{json, Value};
use std::time::Duration;
use stepwise_engine::{Event, ExecutionInfo, ExecutionState, Status};
use stepwise_ports::api::{ApiStore, ExecutionFilter, ExecutionMeta, ExecutionRow, ResourceKind};
use stepwise_ports::execution::{Advanced, StoreError, StoredExecution, Usage};
use stepwise_runtime::local::wall_clock_ms;

/// What StartExecution resolved its state machine ARN to.
pub(crate) struct Target {
    pub sm_arn: String,
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
    pub revision: u64,
    pub test_case: Option<String>,
    pub sm: StateMachineHead,
}

pub(crate) fn exec_missing(arn: &str) -> ApiError {
    ApiError::new(
        "ExecutionDoesNotExist",
        format!("Execution Does Not Exist: '{arn}'"),
    )
}

fn check_exec_arn(arn: &str) -> ApiResult<()> {
    let a = Arn::parse(arn, &["execution", "express"])?;
    // execution:STATE_MACHINE:NAME (a Distributed Map's child: STATE_MACHINE/LABEL:NAME, or
    // with the run's id before the name), express:STATE_MACHINE:NAME:UUID.
    let ok = match (a.resource_type.as_str(), a.parts[0].contains('/')) {
        ("express", _) => a.parts.len() == 3,
        (_, true) => matches!(a.parts.len(), 2 | 3),
        _ => a.parts.len() == 2,
    };
    if !ok {
        return Err(ApiError::invalid_arn(arn));
    }
    Ok(())
}

/// What DescribeExecution, StopExecution and GetExecutionHistory accept: a standard execution ARN.
/// AWS keeps no record of express executions there, and says so about the ARN's resource type.
pub(crate) fn check_standard_exec_arn(arn: &str) -> ApiResult<()> {
    check_exec_arn(arn)?;
    if arn.split(':').nth(5) == Some("express") {
        return Err(ApiError::new(
            "InvalidArn",
            "Invalid Arn: 'Resource type not valid in this context: express'",
        ));
    }
    Ok(())
}

/// Why an execution input is not JSON, worded as AWS's parser (Jackson) words the common cases
/// (LocalStack's AWS recordings, `test_invalid_start_execution_input`); serde_json's words for
/// the rest.
fn input_error(input: &str, e: &serde_json::Error) -> String {
    if input.trim().is_empty() {
        return "Invalid execution input.".into();
    }
    // serde_json counts columns from 1, in chars of the line, and stops inside a bad word.
    let line: Vec<char> = input
        .lines()
        .nth(e.line().saturating_sub(1))
        .unwrap_or_default()
        .chars()
        .collect();
    let mut i = e.column().saturating_sub(1).min(line.len());
    let at: String = line[i..].iter().collect();
    let text = e.to_string();
    if text.starts_with("expected ident") || text.starts_with("expected value") {
        while i > 0 && line[i - 1].is_alphanumeric() {
            i -= 1;
        }
        let token: String = line[i..]
            .iter()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        if !token.is_empty() {
            return format!(
                "Unrecognized token '{token}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
            );
        }
    }
    if text.starts_with("key must be a string") {
        if let Some(c) = at.chars().next() {
            return format!(
                "Unexpected character ('{c}' (code {})): was expecting double-quote to start field name",
                c as u32
            );
        }
    }
    text
}

fn type_not_supported() -> ApiError {
    ApiError::new(
        "StateMachineTypeNotSupported",
        "This operation is not supported by this type of state machine",
    )
}

fn text(v: &Option<Value>) -> Option<String> {
    v.as_ref()
        .map(|v| stepwise_engine::deep::to_string(v).unwrap_or_default())
}

fn too_big(field: &str) -> ApiError {
    ApiError::constraint(
        Shown::Withheld,
        field,
        &format!("Member must have length less than or equal to {MAX_PAYLOAD}"),
    )
}

fn status_of(s: &str) -> Option<Status> {
    Some(match s {
        "RUNNING" => Status::Running,
        "SUCCEEDED" => Status::Succeeded,
        "FAILED" => Status::Failed,
        "TIMED_OUT" => Status::TimedOut,
        "ABORTED" => Status::Aborted,
        _ => return None,
    })
}

impl<S: ApiStore + 'static> Service<S> {
    /// Resolves a state machine, version or alias ARN (with an optional `#TestCase`).
    pub(crate) async fn resolve(&self, raw: &str) -> ApiResult<Target> {
        // `#TestCase` is Step Functions Local's: without a mock configuration, or with nothing
        // after the `#`, the ARN is invalid, as AWS answers.
        let (arn, test_case) = match raw.split_once('#') {
            Some((a, tc)) if !tc.is_empty() && self.config.mock.is_some() => {
                (a, Some(tc.to_string()))
            }
            Some(_) => return Err(ApiError::invalid_arn(raw)),
            None => (raw, None),
        };
        let a = Arn::parse(arn, &["stateMachine"])?;
        let base = a.state_machine();
        let head = self
            .store
            .read_resource_with(ResourceKind::StateMachine, &base, |r| {
                StateMachineHead::from_body(&base, &r.body)
            })
            .await?
            .transpose()?;
        let sm = match head {
            Some(sm) if !sm.deleting() => sm,
            // A deletion waiting for executions: `find_sm` completes it once none runs.
            Some(_) => {
                self.find_sm(&base).await?.ok_or_else(|| sm_missing(arn))?;
                return Err(crate::machines::deleting(&base));
            }
            None => return Err(sm_missing(arn)),
        };
        // An unknown test case is refused here, not at the first mocked Task.
        if let (Some(tc), Some(mock)) = (&test_case, &self.config.mock) {
            if !mock.has_test_case(&sm.name, tc) {
                return Err(ApiError::new(
                    "InvalidName",
                    format!(
                        "Invalid mock test case name '{tc}' for state machine '{}': the mock \
                         configuration defines no such test case for it.",
                        sm.name
                    ),
                ));
            }
        }
        let current = sm.revision;
        let (version_arn, alias_arn) = match a.parts.len() {
            1 => (None, None),
            2 if a.parts[1].bytes().all(|c| c.is_ascii_digit()) => (Some(arn.to_string()), None),
            2 => {
                let routes = self.alias(arn).await?.0.routing_configuration;
                let roll = seed() % 100;
                let mut acc = 0;
                let mut chosen = None;
                for rt in &routes {
                    acc += rt.weight;
                    if roll < acc {
                        chosen = Some(rt.state_machine_version_arn.clone());
                        break;
                    }
                }
                let chosen =
                    chosen.or_else(|| routes.first().map(|r| r.state_machine_version_arn.clone()));
                (chosen, Some(arn.to_string()))
            }
            _ => return Err(ApiError::invalid_arn(arn)),
        };
        let revision = match &version_arn {
            None => current,
            Some(v) => {
                self.find_version(v)
                    .await?
                    .ok_or_else(|| sm_missing(v))?
                    .revision
            }
        };
        Ok(Target {
            sm_arn: base,
            version_arn,
            alias_arn,
            revision,
            test_case,
            sm,
        })
    }

    /// Creates an execution and (unless `sync`) starts it in the background. Returns its ARN,
    /// start time and whether it already existed.
    pub(crate) async fn start(
        &self,
        raw_arn: &str,
        name: Option<String>,
        input: Option<String>,
        trace_header: Option<String>,
        sync: bool,
    ) -> ApiResult<(String, i64)> {
        self.start_from(raw_arn, name, input, trace_header, sync, None)
            .await
    }

    /// [`Self::start`], optionally at a top-level state (beyond AWS; see `resume.rs`).
    pub(crate) async fn start_from(
        &self,
        raw_arn: &str,
        name: Option<String>,
        input: Option<String>,
        trace_header: Option<String>,
        sync: bool,
        at: Option<StartPoint>,
    ) -> ApiResult<(String, i64)> {
        let input = input.unwrap_or_else(|| "{}".into());
        if input.len() > MAX_PAYLOAD {
            return Err(too_big("input"));
        }
        let parsed: Value = stepwise_engine::deep::from_str(&input).map_err(|e| {
            ApiError::new(
                "InvalidExecutionInput",
                format!(
                    "Invalid State Machine Execution Input: '{}'",
                    input_error(&input, &e)
                ),
            )
        })?;
        let t = self.resolve(raw_arn).await?;
        let kind = t.sm.kind.clone();
        if sync && kind != "EXPRESS" {
            return Err(type_not_supported());
        }
        let name = name.unwrap_or_else(execution_name);
        check_name(&name, "execution")?;
        let sm_name = t.sm.name.clone();
        let prefix = Arn::parse(&t.sm_arn, &["stateMachine"])
            .map(|a| a.prefix)
            .unwrap_or_else(|_| self.prefix());
        let arn = if kind == "EXPRESS" {
            // AWS: arn:aws:states:REGION:ACCOUNT:express:STATE_MACHINE:NAME:UUID.
            format!("{prefix}:express:{sm_name}:{name}:{}", uuid())
        } else {
            format!("{prefix}:execution:{sm_name}:{name}")
        };
        let role_arn = match &at {
            Some(at) => {
                let rev = self.revision(&t.sm_arn, t.revision).await?;
                check_start_state(&rev.definition, &at.state)?;
                rev.role_arn
            }
            None => self.revision_role(&t.sm_arn, t.revision).await?,
        };
        let now = wall_clock_ms();
        let info = ExecutionInfo {
            execution_arn: arn.clone(),
            name: name.clone(),
            state_machine_arn: t.sm_arn.clone(),
            state_machine_name: sm_name,
            role_arn,
            start_time_ms: now,
            redrive_count: 0,
            seed: seed(),
        };
        let mut state = ExecutionState::new(info);
        state.map_runs_as_executions = self.config.map_runs_as_executions;
        if let Some(at) = at {
            state.start_at = Some(at.state);
            state.source_execution_arn = at.source_execution_arn;
            state.start_variables = at.variables;
            state.start_inner = at.inner;
        }
        let stored = StoredExecution {
            arn: arn.clone(),
            state_machine_arn: t.sm_arn.clone(),
            revision: t.revision,
            state,
            version: 0,
            outbox: Vec::new(),
            test_case: t.test_case.clone(),
            usage: Usage::default(),
            history_tail: None,
        };
        let meta = ExecutionMeta {
            arn: arn.clone(),
            name,
            state_machine_arn: t.sm_arn.clone(),
            version_arn: t.version_arn.clone(),
            alias_arn: t.alias_arn.clone(),
            kind: kind.clone(),
            input: input.clone(),
            start_ms: now,
            trace_header,
            map_run_arn: None,
        };
        // A driver that can creates the execution with its first step applied, in one write;
        // otherwise it is created here and its Start applied (or submitted) after.
        let start = Event::Start { input: parsed };
        let created = match self.driver.start_created(stored, &meta, start) {
            Ok(started) => started.await.map(|_| None),
            Err(back) => {
                let (stored, start) = *back;
                self.store
                    .create_execution(&stored, &meta)
                    .await
                    .map(|()| Some(start))
            }
        };
        match created {
            Ok(None) => {}
            Ok(Some(start)) if sync => {
                self.driver.apply(&arn, start).await?;
            }
            Ok(Some(start)) => self.driver.submit(&arn, start),
            Err(StoreError::Conflict(_)) => {
                let row = self.store.execution_row(&arn).await?;
                if let Some(row) = row {
                    if kind == "STANDARD" && row.status == "RUNNING" && row.meta.input == input {
                        // The earlier call may have stopped between creating the execution and
                        // submitting its Start: submit it again (a Start it had is ignored).
                        let parsed = stepwise_engine::deep::from_str(&input)
                            .map_err(|e| StoreError::Other(format!("stored input: {e}")))?;
                        self.driver.submit(&arn, Event::Start { input: parsed });
                        return Ok((arn, row.meta.start_ms));
                    }
                }
                return Err(ApiError::new(
                    "ExecutionAlreadyExists",
                    format!("Execution Already Exists: '{arn}'"),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        Ok((arn, now))
    }

    pub(crate) async fn start_execution(&self, r: Req) -> ApiResult<Value> {
        let sm = r.str("stateMachineArn")?;
        let (arn, start) = self
            .start(
                &sm,
                r.opt_str("name")?,
                r.opt_str("input")?,
                r.opt_str("traceHeader")?,
                false,
            )
            .await?;
        Ok(json!({"executionArn": arn, "startDate": ts(start)}))
    }

    pub(crate) async fn start_sync_execution(&self, r: Req) -> ApiResult<Value> {
        let sm = r.str("stateMachineArn")?;
        let (arn, _) = self
            .start(
                &sm,
                r.opt_str("name")?,
                r.opt_str("input")?,
                r.opt_str("traceHeader")?,
                true,
            )
            .await?;
        self.driver.wait_end(&arn, 300_000).await;
        let (row, ex) = self.execution(&arn).await?;
        let mut d = self.describe_value(&row, &ex);
        if let Some(o) = d.as_object_mut() {
            for k in [
                "redriveCount",
                "redriveStatus",
                "redriveStatusReason",
                "stateMachineVersionArn",
                "stateMachineAliasArn",
            ] {
                o.remove(k);
            }
        }
        let ms = ex.state.stop_ms.unwrap_or(row.meta.start_ms) - row.meta.start_ms;
        d["billingDetails"] = json!({"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": ((ms + 99) / 100 * 100).max(100)});
        Ok(d)
    }

    pub(crate) async fn execution(&self, arn: &str) -> ApiResult<(ExecutionRow, StoredExecution)> {
        check_exec_arn(arn)?;
        self.store
            .execution_with_row(arn)
            .await?
            .ok_or_else(|| exec_missing(arn))
    }

    fn describe_value(&self, row: &ExecutionRow, ex: &StoredExecution) -> Value {
        let st = &ex.state;
        let mut d = json!({
            "executionArn": ex.arn,
            "stateMachineArn": row.meta.state_machine_arn,
            "name": row.meta.name,
            "status": st.status.as_str(),
            "startDate": ts(row.meta.start_ms),
            "input": row.meta.input,
            "inputDetails": {"included": true},
            "redriveCount": st.info.redrive_count,
        });
        if let Some(stop) = st.stop_ms {
            d["stopDate"] = ts(stop);
        }
        if let Some(redriven) = st.redrive_ms {
            d["redriveDate"] = ts(redriven);
        }
        // Beyond AWS: where an execution StartExecutionFromState started began, and the execution
        // it came from (SDKs skip members their model does not know).
        let inner_start = st.start_inner.as_ref().map(|i| &i.innermost().state);
        if let Some(at) = inner_start.or(st.start_at.as_ref()) {
            d["startAt"] = json!(at);
        }
        if let Some(source) = &st.source_execution_arn {
            d["sourceExecutionArn"] = json!(source);
        }
        if st.status == Status::Succeeded {
            d["output"] = json!(text(&st.output).unwrap_or_else(|| "null".into()));
            d["outputDetails"] = json!({"included": true});
        }
        if let Some(e) = &st.error {
            d["error"] = json!(e);
        }
        if let Some(c) = &st.cause {
            d["cause"] = json!(c);
        }
        let (status, reason) = if row.meta.kind == "EXPRESS" {
            (
                "NOT_REDRIVABLE",
                Some("Execution is of EXPRESS type and cannot be redriven".to_string()),
            )
        } else {
            match st.status {
                Status::Running | Status::Succeeded => (
                    "NOT_REDRIVABLE",
                    Some(format!(
                        "Execution is {} and cannot be redriven",
                        st.status.as_str()
                    )),
                ),
                _ => ("REDRIVABLE", None),
            }
        };
        d["redriveStatus"] = json!(status);
        if let Some(r) = reason {
            d["redriveStatusReason"] = json!(r);
        }
        if let Some(v) = &row.meta.version_arn {
            d["stateMachineVersionArn"] = json!(v);
        }
        if let Some(a) = &row.meta.alias_arn {
            d["stateMachineAliasArn"] = json!(a);
        }
        if let Some(t) = &row.meta.trace_header {
            d["traceHeader"] = json!(t);
        }
        if let Some(m) = &row.meta.map_run_arn {
            d["mapRunArn"] = json!(m);
        }
        d
    }

    pub(crate) async fn describe_execution(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("executionArn")?;
        check_standard_exec_arn(&arn)?;
        let (row, ex) = self.execution(&arn).await?;
        Ok(self.describe_value(&row, &ex))
    }

    pub(crate) async fn describe_sm_for_execution(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("executionArn")?;
        let (row, ex) = self.execution(&arn).await?;
        let rev = self.revision(&ex.state_machine_arn, ex.revision).await?;
        let sm = self.find_sm(&ex.state_machine_arn).await?;
        let mut d = json!({
            "stateMachineArn": ex.state_machine_arn,
            "name": ex.state.info.state_machine_name,
            "definition": rev.definition,
            "roleArn": rev.role_arn,
            "updateDate": ts(rev.update_date),
            "loggingConfiguration": sm.as_ref().map(StateMachineRecord::logging).unwrap_or_else(default_logging),
            "tracingConfiguration": sm.as_ref().map(StateMachineRecord::tracing).unwrap_or_else(default_tracing),
            "encryptionConfiguration": sm.as_ref().map(StateMachineRecord::encryption).unwrap_or_else(crate::records::default_encryption),
        });
        if let Some(rid) = &rev.revision_id {
            d["revisionId"] = json!(rid);
        }
        if let Some(refs) = crate::var_refs::variable_references(&rev.definition) {
            d["variableReferences"] = refs;
        }
        if let Some(v) = &row.meta.version_arn {
            d["stateMachineVersionArn"] = json!(v);
        }
        if let Some(a) = &row.meta.alias_arn {
            d["stateMachineAliasArn"] = json!(a);
        }
        Ok(d)
    }

    pub(crate) async fn list_executions(&self, r: Req) -> ApiResult<Value> {
        let sm = r.opt_str("stateMachineArn")?;
        let map_run = r.opt_str("mapRunArn")?;
        let status = r.opt_str("statusFilter")?;
        if let Some(s) = &status {
            if status_of(s).is_none() && s != "PENDING_REDRIVE" {
                return Err(ApiError::constraint(
                    Shown::Text(s),
                    "statusFilter",
                    "Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]",
                ));
            }
        }
        let redriven = match r.opt_str("redriveFilter")?.as_deref() {
            None => None,
            Some("REDRIVEN") => Some(true),
            Some("NOT_REDRIVEN") => Some(false),
            Some(other) => {
                return Err(ApiError::constraint(
                    Shown::Text(other),
                    "redriveFilter",
                    "Member must satisfy enum value set: [REDRIVEN, NOT_REDRIVEN]",
                ))
            }
        };
        let mut filter = ExecutionFilter {
            status: status.clone(),
            redriven,
            ..Default::default()
        };
        match (sm, map_run) {
            (Some(sm), None) => {
                let a = Arn::parse(&sm, &["stateMachine"])?;
                let base = a.state_machine();
                // The state machine itself, read once (a version's or alias's below).
                let mut machine = None;
                match a.parts.len() {
                    1 => {
                        machine = Some(self.sm(&sm).await?);
                    }
                    2 if a.parts[1].bytes().all(|c| c.is_ascii_digit()) => {
                        if self.find_version(&sm).await?.is_none() {
                            return Err(sm_missing(&sm));
                        }
                        filter.version_arn = Some(sm.clone());
                    }
                    2 => {
                        self.alias(&sm).await?;
                        filter.alias_arn = Some(sm.clone());
                    }
                    _ => return Err(ApiError::invalid_arn(&sm)),
                }
                let machine = match machine {
                    Some(m) => Some(m),
                    None => self.find_sm(&base).await?,
                };
                if machine.is_some_and(|m| m.kind == "EXPRESS") {
                    return Err(type_not_supported());
                }
                filter.state_machine_arn = Some(base);
            }
            (None, Some(m)) => {
                Arn::parse(&m, &["mapRun"])?;
                let known = self
                    .store
                    .get_resource(stepwise_ports::api::ResourceKind::MapRun, &m)
                    .await?;
                if known.is_none() {
                    return Err(ApiError::new(
                        "ResourceNotFound",
                        format!("Resource not found: '{m}'"),
                    ));
                }
                filter.state_machine_arn =
                    Some(stepwise_engine::map_io::child_state_machine_arn(&m));
                filter.map_run_arn = Some(m.clone());
            }
            _ => {
                return Err(ApiError::validation(
                    "Must provide a StateMachine ARN or MapRun ARN",
                ))
            }
        }
        if status.as_deref() == Some("PENDING_REDRIVE") {
            return Ok(json!({"executions": []}));
        }
        let limit = r.max_results(100)?;
        let offset = r.offset_within(3096)?;
        let rows = self
            .store
            .list_executions(&filter, offset, limit + 1)
            .await?;
        let more = rows.len() > limit;
        let list: Vec<Value> = rows
            .iter()
            .take(limit)
            .map(|row| {
                let mut o = json!({
                    "executionArn": row.meta.arn,
                    "stateMachineArn": row.meta.state_machine_arn,
                    "name": row.meta.name,
                    "status": row.status,
                    "startDate": ts(row.meta.start_ms),
                });
                if let Some(s) = row.stop_ms {
                    o["stopDate"] = ts(s);
                }
                o["redriveCount"] = json!(row.redrive_count);
                if let Some(v) = &row.meta.version_arn {
                    o["stateMachineVersionArn"] = json!(v);
                }
                if let Some(a) = &row.meta.alias_arn {
                    o["stateMachineAliasArn"] = json!(a);
                }
                if let (Some(m), true) = (&row.meta.map_run_arn, filter.map_run_arn.is_some()) {
                    o["mapRunArn"] = json!(m);
                }
                o
            })
            .collect();
        let mut out = json!({"executions": list});
        if more {
            out["nextToken"] = json!(encode_token(offset + limit));
        }
        Ok(out)
    }

    pub(crate) async fn get_execution_history(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("executionArn")?;
        check_standard_exec_arn(&arn)?;
        let limit = r.max_results(100)?;
        let reverse = r.opt_bool("reverseOrder")?.unwrap_or(false);
        let include = r.opt_bool("includeExecutionData")?.unwrap_or(true);
        let after = match r.opt_str("nextToken")? {
            Some(t) => decode_token(&t)? as u64,
            None => 0,
        };
        if self.store.execution_row(&arn).await?.is_none() {
            return Err(exec_missing(&arn));
        }
        let events = self.store.history(&arn, after, reverse, limit + 1).await?;
        let more = events.len() > limit;
        let list: Vec<Value> = events
            .iter()
            .take(limit)
            .map(|e| e.to_api_json(include))
            .collect();
        let mut out = json!({"events": list});
        if more {
            if let Some(last) = events.get(limit - 1) {
                out["nextToken"] = json!(encode_token(last.id as usize));
            }
        }
        Ok(out)
    }

    pub(crate) async fn stop_execution(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("executionArn")?;
        let error = r.opt_str("error")?;
        let cause = r.opt_str("cause")?;
        if error.as_ref().is_some_and(|e| e.chars().count() > 256) {
            return Err(ApiError::constraint(
                Shown::Withheld,
                "error",
                "Member must have length less than or equal to 256",
            ));
        }
        if cause.as_ref().is_some_and(|c| c.chars().count() > 32768) {
            return Err(ApiError::constraint(
                Shown::Withheld,
                "cause",
                "Member must have length less than or equal to 32768",
            ));
        }
        check_standard_exec_arn(&arn)?;
        let (_, ex) = self.execution(&arn).await?;
        if ex.state.status == Status::Running {
            self.driver
                .apply(&arn, Event::Stop { error, cause })
                .await?;
        }
        let (_, ex) = self.execution(&arn).await?;
        Ok(json!({"stopDate": ts(ex.state.stop_ms.unwrap_or_else(wall_clock_ms))}))
    }

    pub(crate) async fn redrive_execution(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("executionArn")?;
        let (row, ex) = self.execution(&arn).await?;
        if row.meta.kind == "EXPRESS" {
            return Err(ApiError::new(
                "ExecutionNotRedrivable",
                format!("Execution with arn {arn} is an EXPRESS execution and cannot be redriven"),
            ));
        }
        if matches!(ex.state.status, Status::Running | Status::Succeeded) {
            return Err(ApiError::new(
                "ExecutionNotRedrivable",
                format!(
                    "Execution with arn {arn} is {} and cannot be redriven",
                    ex.state.status.as_str()
                ),
            ));
        }
        let now = self.driver.now_ms(&arn);
        match self
            .driver
            .apply(
                &arn,
                Event::Redrive {
                    from_state: None,
                    input: None,
                    resume: None,
                },
            )
            .await?
        {
            Advanced::Committed { .. } => Ok(json!({"redriveDate": ts(now)})),
            _ => Err(ApiError::new(
                "ExecutionNotRedrivable",
                format!("Execution with arn {arn} cannot be redriven"),
            )),
        }
    }

    // ----- activities and task tokens -----

    pub(crate) async fn get_activity_task(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("activityArn")?;
        let worker = r.opt_str("workerName")?;
        self.activity(&arn).await?;
        let poll = self.config.activity_poll;
        let asked = tokio::time::Instant::now();
        let deadline = asked + Duration::from_millis(poll.wait_ms);
        loop {
            if let Some(task) = self.store.take_activity_task(&arn).await? {
                if asked.elapsed() >= Duration::from_millis(poll.answer_by_ms) {
                    // Claimed too late for the answer to reach the worker (API Gateway cut the
                    // request off): leave the task for the next poll.
                    self.store.release_activity_task(&arn, &task).await?;
                    return Ok(json!({}));
                }
                if let Some(tok) = self.store.token(&task.token).await? {
                    self.driver
                        .apply(
                            &tok.execution_arn,
                            Event::TaskStarted {
                                task: tok.task,
                                worker_name: worker.clone(),
                            },
                        )
                        .await?;
                }
                self.store.activity_task_delivered(&arn, &task).await?;
                return Ok(json!({"taskToken": task.token, "input": task.input}));
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(json!({}));
            }
            let left = (deadline - now).as_millis() as u64;
            self.driver.wait_activity(&arn, left.min(1000)).await;
        }
    }

    async fn token_task(&self, token: &str) -> ApiResult<(String, u64)> {
        if token.is_empty() || token.len() > 2048 {
            return Err(ApiError::new("InvalidToken", "Invalid token"));
        }
        let Some(t) = self.store.token(token).await? else {
            return Err(ApiError::new(
                "InvalidToken",
                format!("Invalid token: '{token}'"),
            ));
        };
        if t.closed {
            return Err(task_timed_out());
        }
        match self.store.execution_row(&t.execution_arn).await? {
            Some(row) if row.status == "RUNNING" => Ok((t.execution_arn, t.task)),
            _ => Err(task_timed_out()),
        }
    }

    async fn finish_task(&self, token: &str, event: Event) -> ApiResult<Value> {
        let (arn, _) = self.token_task(token).await?;
        let r = self.driver.apply(&arn, event).await?;
        self.store.close_token(token).await?;
        match r {
            // Queued: the token was open and the execution running (checked above); the answer
            // waits behind a step still being dispatched.
            Advanced::Committed { .. } | Advanced::Queued => Ok(json!({})),
            _ => Err(task_timed_out()),
        }
    }

    pub(crate) async fn send_task_success(&self, r: Req) -> ApiResult<Value> {
        let token = r.str("taskToken")?;
        let output = r.str("output")?;
        if output.len() > MAX_PAYLOAD {
            return Err(too_big("output"));
        }
        let value: Value = stepwise_engine::deep::from_str(&output)
            .map_err(|e| ApiError::new("InvalidOutput", format!("Invalid Output: '{e}'")))?;
        let (_, task) = self.token_task(&token).await?;
        self.finish_task(
            &token,
            Event::TaskSucceeded {
                task,
                output: value,
            },
        )
        .await
    }

    pub(crate) async fn send_task_failure(&self, r: Req) -> ApiResult<Value> {
        let token = r.str("taskToken")?;
        let error = r.opt_str("error")?.unwrap_or_default();
        let cause = r.opt_str("cause")?.unwrap_or_default();
        if error.chars().count() > 256 {
            return Err(ApiError::constraint(
                Shown::Withheld,
                "error",
                "Member must have length less than or equal to 256",
            ));
        }
        if cause.chars().count() > 32768 {
            return Err(ApiError::constraint(
                Shown::Withheld,
                "cause",
                "Member must have length less than or equal to 32768",
            ));
        }
        let (_, task) = self.token_task(&token).await?;
        self.finish_task(&token, Event::TaskFailed { task, error, cause })
            .await
    }

    pub(crate) async fn send_task_heartbeat(&self, r: Req) -> ApiResult<Value> {
        let token = r.str("taskToken")?;
        let (arn, task) = self.token_task(&token).await?;
        self.driver
            .apply(&arn, Event::TaskHeartbeat { task })
            .await?;
        Ok(json!({}))
    }
}

fn task_timed_out() -> ApiError {
    ApiError::new(
        "TaskTimedOut",
        "Task Timed Out: 'Provided task does not exist anymore'",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_standard_execution_arns_are_described() {
        let p = "arn:aws:states:us-east-1:123456789012";
        let cases: [(String, Option<&str>); 4] = [
            (format!("{p}:execution:sm:run"), None),
            (
                format!("{p}:express:sm:run:6d5f0c1e-0000-4000-8000-000000000000"),
                Some("Invalid Arn: 'Resource type not valid in this context: express'"),
            ),
            (
                format!("{p}:stateMachine:sm"),
                Some("Invalid Arn: 'arn:aws:states:us-east-1:123456789012:stateMachine:sm'"),
            ),
            (
                format!("{p}:execution:sm"),
                Some("Invalid Arn: 'arn:aws:states:us-east-1:123456789012:execution:sm'"),
            ),
        ];
        for (arn, want) in cases {
            let got = check_standard_exec_arn(&arn).err();
            assert_eq!(
                got.as_ref().map(|e| e.code),
                want.map(|_| "InvalidArn"),
                "{arn}"
            );
            assert_eq!(got.map(|e| e.message), want.map(str::to_string), "{arn}");
        }
    }
}
