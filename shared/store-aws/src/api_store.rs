//! The Step Functions API's store ([`ApiStore`]) on the one DynamoDB table, beside the
//! executions the stepper advances.
//!
//! | PK | SK | holds |
//! |---|---|---|
//! | `SM#<arn>` | `META` | a state machine: `body` (the API's record) and the attributes the handlers read (`name`, `type`, `roleArn`, `revision`, `created`) |
//! | `SM#<arn>` | `DEF#<n>` | revision `n`: `body` and its `definition` text, which the stepper reads |
//! | `SM#<arn>` | `VERSION#<version arn>` | a published version |
//! | `SM#<arn>` | `ALIAS#<alias arn>` | an alias |
//! | `ACT#<arn>` | `META` | an activity |
//! | `ACT#<arn>` | `TASK#<20-digit seq>` | an activity task waiting for GetActivityTask; `claimedUntil` (ms) while a poll holds it |
//! | `TAGS#<arn>` | `-` | the tags of a resource |
//! | `EX#<arn>` | `META` | the execution (see [`crate::table`]) plus `meta` (its `ExecutionMeta`; an input over 1 KB in S3, `inputS3` its key), `versionArn`, `aliasArn`, `status`, `stopMs`, `redriveCount` |
//! | `TOKEN#<token>` | `-` | a task token: execution, task, `closed`, `queued` (its activity task was pushed) |
//!
//! Every record carries `GSI1PK = KIND#<kind>` and `GSI1SK = <20-digit seq>#<arn>`, so a kind is
//! listed in creation order from GSI1; execution META items carry `GSI1PK = <state machine
//! ARN>` and `GSI1SK = <start ms>#<name>`, so ListExecutions reads GSI1 newest first. The records
//! of one state machine (revisions, versions, aliases) share its partition and are listed with a
//! strongly consistent Query on it, so UpdateStateMachine numbers revisions from what is written.

pub use crate::activities::ACTIVITY_CLAIM_MS;
use crate::api_keys::{child_prefix, key_of, kind_key, next_seq};
use crate::ports::{store_error, AwsStore};
use crate::table::{corrupt, get_n, get_s, is_conditional, item_size, n, s, Item};
use crate::AwsError;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde_json::{json, Value};
use std::collections::HashMap;
use stepwise_engine::{Command, HistoryEvent};
use stepwise_ports::api::{
    ActivityTask, ApiStore, ExecutionFilter, ExecutionMeta, ExecutionRow, PendingTimer, Resource,
    ResourceKind, TokenRecord,
};
use stepwise_ports::execution::{StoreError, StoredExecution};
use stepwise_runtime::local::wall_clock_ms;

pub(crate) fn svc(operation: &'static str, e: impl std::fmt::Display) -> StoreError {
    store_error(AwsError::service("DynamoDB", operation, e))
}

/// Rows of executions as ListExecutions and DescribeExecution need them, without the
/// checkpoint.
const ROW_ATTRIBUTES: &str = "PK, meta, #st, stopMs, redriveCount";

/// Inputs longer than this are kept in S3, not in the execution item ([`input_key`]).
const INPUT_INLINE_LIMIT: usize = 1024;

/// The key in `meta` of an input kept in S3.
const INPUT_S3: &str = "inputS3";

/// The S3 key of the input of the execution whose `meta` text is `meta`, when it is there.
pub(crate) fn input_key(meta: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct InputRef {
        #[serde(rename = "inputS3")]
        input_s3: Option<String>,
    }
    serde_json::from_str::<InputRef>(meta).ok()?.input_s3
}

impl AwsStore {
    pub(crate) fn db(&self) -> &aws_sdk_dynamodb::Client {
        &self.aws().dynamodb
    }

    pub(crate) fn table_name(&self) -> &str {
        &self.aws().names.table
    }

    async fn get_item(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .db()
            .get_item()
            .table_name(self.table_name())
            .key("PK", s(pk))
            .key("SK", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| svc("GetItem", DisplayErrorContext(e)))?;
        self.meter()
            .dynamodb_read(out.item().map(item_size).unwrap_or(1));
        Ok(out.item().cloned())
    }

    /// A record from its item; items written before every state machine went through the API
    /// (no `body`: the handlers once wrote them) are given the body the API would have written.
    async fn resource_of(
        &self,
        kind: ResourceKind,
        arn: &str,
        item: &Item,
    ) -> Result<Resource, StoreError> {
        let parent = get_s(item, "parent").map(str::to_string);
        if let Some(b) = get_s(item, "body") {
            let body =
                stepwise_engine::deep::from_str(b).map_err(|e| store_error(corrupt(arn, e)))?;
            return Ok(Resource {
                kind,
                arn: arn.to_string(),
                parent,
                body,
            });
        }
        let created = get_n(item, "created").unwrap_or(0);
        let body = match kind {
            ResourceKind::Revision => json!({
                "definition": get_s(item, "definition").unwrap_or_default(),
                "roleArn": get_s(item, "roleArn").unwrap_or_default(),
                "type": get_s(item, "type").unwrap_or("STANDARD"),
                "revisionId": "", "updateDate": created,
            }),
            ResourceKind::StateMachine => {
                let revision = get_n(item, "revision").unwrap_or(1);
                let definition = self
                    .table()
                    .get_definition(arn, revision)
                    .await
                    .map_err(store_error)?
                    .unwrap_or_default();
                json!({
                    "name": get_s(item, "name").unwrap_or_default(), "arn": arn,
                    "type": get_s(item, "type").unwrap_or("STANDARD"),
                    "roleArn": get_s(item, "roleArn").unwrap_or_default(),
                    "creationDate": created, "updateDate": created, "revision": revision,
                    "revisionId": "", "definition": definition,
                    "loggingConfiguration": {"level": "OFF", "includeExecutionData": false},
                    "tracingConfiguration": {"enabled": false}, "nextVersion": 1,
                })
            }
            _ => Value::Object(Default::default()),
        };
        Ok(Resource {
            kind,
            arn: arn.to_string(),
            parent: parent.or_else(|| match kind {
                ResourceKind::Revision => arn.rsplit_once('#').map(|(sm, _)| sm.to_string()),
                _ => None,
            }),
            body,
        })
    }

    /// Queries one partition (or a GSI1 partition when `index`), every page.
    async fn query_all(
        &self,
        index: bool,
        pk: &str,
        sk_prefix: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut q = self.db().query().table_name(self.table_name());
            q = if index {
                q.index_name("GSI1")
                    .key_condition_expression("GSI1PK = :pk")
                    .expression_attribute_values(":pk", s(pk))
            } else {
                q.consistent_read(true)
                    .key_condition_expression("PK = :pk AND begins_with(SK, :p)")
                    .expression_attribute_values(":pk", s(pk))
                    .expression_attribute_values(":p", s(sk_prefix.unwrap_or("")))
            };
            let out = q
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| svc("Query", DisplayErrorContext(e)))?;
            self.meter()
                .dynamodb_read(out.items().iter().map(item_size).sum());
            for item in out.items() {
                // GSI1 projects `body`; a record written before the API wrote bodies is read
                // whole from the table.
                let whole = match (
                    index,
                    get_s(item, "body"),
                    get_s(item, "PK"),
                    get_s(item, "SK"),
                ) {
                    (true, None, Some(pk), Some(sk)) => self.get_item(pk.to_string(), sk).await?,
                    _ => None,
                };
                items.push(whole.unwrap_or_else(|| item.clone()));
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// The META item of an execution, only the attributes named in `projection`.
    async fn execution_attributes(
        &self,
        arn: &str,
        projection: &str,
    ) -> Result<Option<Item>, StoreError> {
        let mut req = self
            .db()
            .get_item()
            .table_name(self.table_name())
            .key("PK", s(format!("EX#{arn}")))
            .key("SK", s("META"))
            .consistent_read(true)
            .projection_expression(projection);
        if projection.contains("#st") {
            req = req.expression_attribute_names("#st", "status");
        }
        let out = req
            .send()
            .await
            .map_err(|e| svc("GetItem", DisplayErrorContext(e)))?;
        self.meter()
            .dynamodb_read(out.item().map(item_size).unwrap_or(1));
        Ok(out.item().cloned())
    }

    /// An execution's row from its META item (projected); an execution created without its
    /// `meta` (by the handlers, before every execution was started through the API) is read
    /// whole.
    async fn row_of(&self, arn: &str, item: &Item) -> Result<Option<ExecutionRow>, StoreError> {
        let status = get_s(item, "status").unwrap_or("RUNNING").to_string();
        let stop_ms = get_n(item, "stopMs").map(|v| v as i64);
        let redrive_count = get_n(item, "redriveCount").unwrap_or(0) as u32;
        let meta = match get_s(item, "meta") {
            Some(m) => {
                let mut meta: ExecutionMeta =
                    stepwise_engine::deep::from_str(m).map_err(|e| store_error(corrupt(arn, e)))?;
                if let Some(key) = input_key(m) {
                    meta.input = self
                        .table()
                        .get_payload(&key, arn)
                        .await
                        .map_err(store_error)?;
                }
                meta
            }
            None => {
                let Some(e) = self
                    .table()
                    .load_execution(arn)
                    .await
                    .map_err(store_error)?
                else {
                    return Ok(None);
                };
                ExecutionMeta {
                    arn: arn.to_string(),
                    name: e.state.info.name.clone(),
                    state_machine_arn: e.state_machine_arn.clone(),
                    version_arn: None,
                    alias_arn: None,
                    kind: if arn.contains(":express:") {
                        "EXPRESS".into()
                    } else {
                        "STANDARD".into()
                    },
                    input: stepwise_engine::deep::to_string(&e.state.input)
                        .unwrap_or_else(|_| "{}".into()),
                    start_ms: e.state.info.start_time_ms,
                    trace_header: None,
                    map_run_arn: None,
                }
            }
        };
        Ok(Some(ExecutionRow {
            meta,
            status,
            stop_ms,
            redrive_count,
        }))
    }

    pub(crate) async fn delete_key(
        &self,
        pk: String,
        sk: String,
        only_if_there: bool,
    ) -> Option<Item> {
        self.meter().dynamodb_write(64);
        let mut req = self
            .db()
            .delete_item()
            .table_name(self.table_name())
            .key("PK", s(pk))
            .key("SK", s(sk))
            .return_values(ReturnValue::AllOld);
        if only_if_there {
            req = req.condition_expression("attribute_exists(PK)");
        }
        req.send().await.ok().and_then(|o| o.attributes().cloned())
    }
}

impl AwsStore {
    async fn write_resource(&self, resource: &Resource, only: Only) -> Result<(), StoreError> {
        let (pk, sk) = key_of(resource.kind, &resource.arn)?;
        let body = stepwise_engine::deep::to_string(&resource.body)
            .map_err(|e| store_error(corrupt(&resource.arn, e)))?;
        let seq = next_seq();
        let mut attrs: Vec<(&str, AttributeValue)> = vec![
            ("kind", s(resource.kind.as_str())),
            ("arn", s(resource.arn.clone())),
            ("body", s(body)),
            ("GSI1PK", s(kind_key(resource.kind))),
        ];
        if let Only::Version(v) = only {
            attrs.push(("ver", n(v + 1)));
        }
        if let Some(p) = &resource.parent {
            attrs.push(("parent", s(p.clone())));
        }
        let b = &resource.body;
        let text = |k: &str| b.get(k).and_then(Value::as_str).map(str::to_string);
        match resource.kind {
            // What the stepper (`AwsStore::definition`) and the handlers read.
            ResourceKind::Revision => {
                attrs.push(("definition", s(text("definition").unwrap_or_default())));
            }
            ResourceKind::StateMachine => {
                attrs.push(("name", s(text("name").unwrap_or_default())));
                attrs.push(("type", s(text("type").unwrap_or_else(|| "STANDARD".into()))));
                attrs.push(("roleArn", s(text("roleArn").unwrap_or_default())));
                attrs.push((
                    "revision",
                    n(b.get("revision").and_then(Value::as_u64).unwrap_or(1)),
                ));
                attrs.push((
                    "created",
                    n(b.get("creationDate").and_then(Value::as_i64).unwrap_or(0)),
                ));
            }
            _ => {}
        }
        let mut sets = Vec::new();
        let mut req = self
            .db()
            .update_item()
            .table_name(self.table_name())
            .key("PK", s(pk))
            .key("SK", s(sk));
        for (i, (k, v)) in attrs.into_iter().enumerate() {
            sets.push(format!("#a{i} = :a{i}"));
            req = req
                .expression_attribute_names(format!("#a{i}"), k)
                .expression_attribute_values(format!(":a{i}"), v);
        }
        // Creation order survives updates.
        sets.push("seq = if_not_exists(seq, :seq)".into());
        sets.push("GSI1SK = if_not_exists(GSI1SK, :gsk)".into());
        req = req
            .expression_attribute_values(":seq", n(seq))
            .expression_attribute_values(":gsk", s(format!("{seq:020}#{}", resource.arn)))
            .update_expression(format!("SET {}", sets.join(", ")));
        match only {
            Only::Always => {}
            Only::Absent | Only::Version(0) => {
                req = req.condition_expression("attribute_not_exists(PK)");
            }
            Only::Version(v) => {
                req = req
                    .condition_expression("ver = :ver")
                    .expression_attribute_values(":ver", n(v));
            }
        }
        self.meter()
            .dynamodb_write(resource.body.to_string().len() + 200);
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conditional(&e) => Err(StoreError::Conflict(resource.arn.clone())),
            Err(e) => Err(svc("UpdateItem", DisplayErrorContext(e))),
        }
    }
}

/// What a record's write is conditioned on.
#[derive(Clone, Copy)]
enum Only {
    Always,
    Absent,
    /// Its `ver` attribute (the body's `"version"`) is this (0: no record).
    Version(u64),
}

impl ApiStore for AwsStore {
    async fn put_resource(&self, resource: &Resource, create_only: bool) -> Result<(), StoreError> {
        let only = if create_only {
            Only::Absent
        } else {
            Only::Always
        };
        self.write_resource(resource, only).await
    }

    async fn put_resource_if(&self, resource: &Resource, expected: u64) -> Result<(), StoreError> {
        self.write_resource(resource, Only::Version(expected)).await
    }

    async fn get_resource(
        &self,
        kind: ResourceKind,
        arn: &str,
    ) -> Result<Option<Resource>, StoreError> {
        let (pk, sk) = key_of(kind, arn)?;
        match self.get_item(pk, &sk).await? {
            Some(item) => Ok(Some(self.resource_of(kind, arn, &item).await?)),
            None => Ok(None),
        }
    }

    async fn delete_resource(&self, kind: ResourceKind, arn: &str) -> Result<bool, StoreError> {
        let (pk, sk) = key_of(kind, arn)?;
        self.meter().dynamodb_write(64);
        let out = self
            .db()
            .delete_item()
            .table_name(self.table_name())
            .key("PK", s(pk))
            .key("SK", s(sk))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| svc("DeleteItem", DisplayErrorContext(e)))?;
        Ok(out.attributes().is_some_and(|a| !a.is_empty()))
    }

    async fn list_resources(
        &self,
        kind: ResourceKind,
        parent: Option<&str>,
    ) -> Result<Vec<Resource>, StoreError> {
        let items = match (parent, child_prefix(kind)) {
            (Some(p), Some(prefix)) => {
                self.query_all(false, &format!("SM#{p}"), Some(prefix))
                    .await?
            }
            _ => self.query_all(true, &kind_key(kind), None).await?,
        };
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let arn = match (kind, get_s(item, "arn")) {
                (_, Some(a)) => a.to_string(),
                // A revision written by the handlers: `SM#<sm>` / `DEF#<n>`.
                (ResourceKind::Revision, None) => {
                    let sm = get_s(item, "PK").and_then(|p| p.strip_prefix("SM#"));
                    let rev = get_s(item, "SK").and_then(|k| k.strip_prefix("DEF#"));
                    match (sm, rev) {
                        (Some(sm), Some(rev)) => format!("{sm}#{rev}"),
                        _ => continue,
                    }
                }
                _ => continue,
            };
            let r = self.resource_of(kind, &arn, item).await?;
            if parent.is_some() && r.parent.as_deref() != parent {
                continue;
            }
            let order = match kind {
                ResourceKind::Revision => arn
                    .rsplit_once('#')
                    .and_then(|(_, n)| n.parse::<u64>().ok())
                    .unwrap_or(0),
                _ => get_n(item, "seq").unwrap_or(0),
            };
            out.push((order, r));
        }
        out.sort_by_key(|(o, _)| *o);
        Ok(out.into_iter().map(|(_, r)| r).collect())
    }

    async fn create_execution(
        &self,
        execution: &StoredExecution,
        meta: &ExecutionMeta,
    ) -> Result<(), StoreError> {
        let mut text = stepwise_engine::deep::to_string(meta)
            .map_err(|e| store_error(corrupt(&meta.arn, e)))?;
        // A large input stays out of the execution item, whose every update is billed by its
        // whole size (and out of GSI1, which projects `meta`): in S3, named by its content,
        // its key in `meta` (`inputS3`).
        if meta.input.len() > INPUT_INLINE_LIMIT {
            let key = format!(
                "inputs/{:016x}/{}.json",
                crate::fnv64(&[&meta.arn]),
                crate::content_key(&meta.input)
            );
            self.meter().begin(&execution.arn);
            self.table()
                .put_payload(&key, meta.input.clone(), false)
                .await
                .map_err(store_error)?;
            let mut v =
                serde_json::to_value(meta).map_err(|e| store_error(corrupt(&meta.arn, e)))?;
            v["input"] = serde_json::Value::String(String::new());
            v[INPUT_S3] = serde_json::Value::String(key);
            text = v.to_string();
        }
        let mut extra = vec![("meta".to_string(), s(text))];
        if let Some(v) = &meta.version_arn {
            extra.push(("versionArn".to_string(), s(v.clone())));
        }
        if let Some(a) = &meta.alias_arn {
            extra.push(("aliasArn".to_string(), s(a.clone())));
        }
        if let Some(m) = &meta.map_run_arn {
            extra.push(("mapRunArn".to_string(), s(m.clone())));
        }
        self.meter().begin(&execution.arn);
        match self.table().create_execution_with(execution, extra).await {
            Ok(()) => Ok(()),
            Err(AwsError::AlreadyExists(arn)) => Err(StoreError::Conflict(arn)),
            Err(e) => Err(store_error(e)),
        }
    }

    async fn execution_row(&self, arn: &str) -> Result<Option<ExecutionRow>, StoreError> {
        match self.execution_attributes(arn, ROW_ATTRIBUTES).await? {
            Some(item) => self.row_of(arn, &item).await,
            None => Ok(None),
        }
    }

    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<ExecutionRow>, StoreError> {
        if let Some(sm) = &filter.state_machine_arn {
            return self.list_sharded(sm, filter, offset, limit).await;
        }
        // Every execution: a scan (the API always names a state machine). It comes in no
        // order: read it all, then sort.
        let (mut conditions, names, mut values) = row_conditions(filter);
        conditions.push("SK = :meta AND begins_with(PK, :ex)");
        values.push((":meta", s("META")));
        values.push((":ex", s("EX#")));
        let mut rows = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let mut q = self
                .db()
                .scan()
                .table_name(self.table_name())
                .projection_expression(ROW_ATTRIBUTES)
                .filter_expression(conditions.join(" AND "))
                .set_exclusive_start_key(start.take());
            for (k, v) in &names {
                q = q.expression_attribute_names(*k, *v);
            }
            for (k, v) in &values {
                q = q.expression_attribute_values(*k, v.clone());
            }
            let o = q
                .send()
                .await
                .map_err(|e| svc("Scan", DisplayErrorContext(e)))?;
            self.meter()
                .dynamodb_read(o.items().iter().map(item_size).sum());
            for item in o.items() {
                let Some(arn) = get_s(item, "PK").and_then(|p| p.strip_prefix("EX#")) else {
                    continue;
                };
                if let Some(row) = self.row_of(arn, item).await? {
                    rows.push(row);
                }
            }
            start = o.last_evaluated_key().cloned();
            if start.is_none() {
                rows.sort_by_key(|r| std::cmp::Reverse(r.meta.start_ms));
                return Ok(rows.into_iter().skip(offset).take(limit).collect());
            }
        }
    }

    async fn history(
        &self,
        arn: &str,
        after: u64,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<HistoryEvent>, StoreError> {
        // Only what is committed: a step that lost its conditional write may have left events
        // past `lastEventId`.
        let Some(item) = self.execution_attributes(arn, "lastEventId").await? else {
            return Ok(Vec::new());
        };
        let last = get_n(&item, "lastEventId").unwrap_or(0);
        let limit = limit.clamp(1, i32::MAX as usize) as i32;
        let table = self.table();
        let page = if reverse {
            let before = if after == 0 { last + 1 } else { after };
            table
                .history_page(arn, 0, before.saturating_sub(1).min(last), limit, true)
                .await
        } else {
            table.history_page(arn, after, last, limit, false).await
        };
        page.map_err(store_error)
    }

    async fn put_token(
        &self,
        token: &str,
        execution_arn: &str,
        task: u64,
    ) -> Result<(), StoreError> {
        self.table()
            .put_token(token, execution_arn, task)
            .await
            .map_err(store_error)
    }

    async fn token(&self, token: &str) -> Result<Option<TokenRecord>, StoreError> {
        let Some(item) = self.get_item(format!("TOKEN#{token}"), "-").await? else {
            return Ok(None);
        };
        let (Some(execution_arn), Some(task)) = (get_s(&item, "execution"), get_n(&item, "task"))
        else {
            return Ok(None);
        };
        Ok(Some(TokenRecord {
            execution_arn: execution_arn.to_string(),
            task,
            closed: item
                .get("closed")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
        }))
    }

    async fn close_token(&self, token: &str) -> Result<(), StoreError> {
        self.table().close_token(token).await.map_err(store_error)
    }

    async fn push_activity_task(
        &self,
        activity_arn: &str,
        task: &ActivityTask,
    ) -> Result<(), StoreError> {
        self.push_activity(activity_arn, task).await
    }

    async fn take_activity_task(
        &self,
        activity_arn: &str,
    ) -> Result<Option<ActivityTask>, StoreError> {
        self.claim_activity_task(activity_arn, wall_clock_ms())
            .await
    }

    async fn activity_task_delivered(
        &self,
        activity_arn: &str,
        task: &ActivityTask,
    ) -> Result<(), StoreError> {
        if let Some(sk) = self.claimed_key(&task.token) {
            self.delete_key(format!("ACT#{activity_arn}"), sk, false)
                .await;
        }
        Ok(())
    }

    async fn release_activity_task(
        &self,
        activity_arn: &str,
        task: &ActivityTask,
    ) -> Result<(), StoreError> {
        let Some(sk) = self.claimed_key(&task.token) else {
            return Ok(());
        };
        self.meter().dynamodb_write(64);
        let r = self
            .db()
            .update_item()
            .table_name(self.table_name())
            .key("PK", s(format!("ACT#{activity_arn}")))
            .key("SK", s(sk))
            .update_expression("REMOVE claimedUntil")
            .condition_expression("attribute_exists(PK)")
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_conditional(&e) => Ok(()),
            Err(e) => Err(svc("UpdateItem", DisplayErrorContext(e))),
        }
    }

    /// Executions still running, from a scan of the table's execution items: the embedded
    /// driver's crash recovery uses it; on AWS nothing needs it (SQS redelivers what a crashed
    /// stepper left, Scheduler holds the timers), so this is for tools, not the hot path.
    async fn running_executions(&self) -> Result<Vec<String>, StoreError> {
        let mut arns = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .db()
                .scan()
                .table_name(self.table_name())
                .projection_expression("PK")
                .filter_expression("SK = :meta AND begins_with(PK, :ex) AND #st = :running")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":meta", s("META"))
                .expression_attribute_values(":ex", s("EX#"))
                .expression_attribute_values(":running", s("RUNNING"))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| svc("Scan", DisplayErrorContext(e)))?;
            self.meter()
                .dynamodb_read(out.items().iter().map(item_size).sum());
            arns.extend(
                out.items()
                    .iter()
                    .filter_map(|i| get_s(i, "PK")?.strip_prefix("EX#").map(str::to_string)),
            );
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(arns);
            }
        }
    }

    /// Nothing to record: on AWS a timer is an SQS delayed message or a Scheduler schedule,
    /// durable by itself (see [`crate::timers`]).
    async fn put_timer(&self, _timer: &PendingTimer) -> Result<(), StoreError> {
        Ok(())
    }

    /// Nothing to forget (see [`ApiStore::put_timer`] here).
    async fn delete_timer(&self, _execution_arn: &str, _timer: u64) -> Result<(), StoreError> {
        Ok(())
    }

    /// Always empty: pending timers live in SQS and Scheduler, which fire them without help.
    async fn timers(&self) -> Result<Vec<PendingTimer>, StoreError> {
        Ok(Vec::new())
    }

    /// Nothing to record: a task in flight is a message on the tasks queue, redelivered by SQS
    /// if its invoker dies.
    async fn put_inflight(
        &self,
        _execution_arn: &str,
        _command: &Command,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// Nothing to forget (see [`ApiStore::put_inflight`] here).
    async fn delete_inflight(&self, _execution_arn: &str, _task: u64) -> Result<(), StoreError> {
        Ok(())
    }

    /// Always empty: in-flight tasks are held by the tasks queue.
    async fn inflight(&self) -> Result<Vec<(String, Command)>, StoreError> {
        Ok(Vec::new())
    }
}

/// The filter expression of ListExecutions' filters (status, version, alias, redriven), its
/// attribute names and values.
#[allow(clippy::type_complexity)]
fn row_conditions(
    filter: &ExecutionFilter,
) -> (
    Vec<&'static str>,
    Vec<(&'static str, &'static str)>,
    Vec<(&'static str, AttributeValue)>,
) {
    let mut conditions = Vec::new();
    let names = vec![("#st", "status")];
    let mut values: Vec<(&str, AttributeValue)> = Vec::new();
    if let Some(st) = &filter.status {
        conditions.push("#st = :st");
        values.push((":st", s(st.clone())));
    }
    if let Some(v) = &filter.version_arn {
        conditions.push("versionArn = :v");
        values.push((":v", s(v.clone())));
    }
    if let Some(a) = &filter.alias_arn {
        conditions.push("aliasArn = :al");
        values.push((":al", s(a.clone())));
    }
    // A map run's children share their state machine with other runs of the same Map.
    if let Some(m) = &filter.map_run_arn {
        conditions.push("mapRunArn = :mr");
        values.push((":mr", s(m.clone())));
    }
    // redriveCount is written on every commit (0 until the first redrive).
    match filter.redriven {
        Some(true) => conditions.push("redriveCount > :zero"),
        Some(false) => {
            conditions.push("(attribute_not_exists(redriveCount) OR redriveCount = :zero)")
        }
        None => {}
    }
    if filter.redriven.is_some() {
        values.push((":zero", AttributeValue::N("0".into())));
    }
    (conditions, names, values)
}

impl AwsStore {
    /// A state machine's executions newest first: every GSI1 shard queried and merged
    /// ([`crate::listing`]), `offset` rows skipped, at most `limit`. Each shard is read in pages
    /// of at most what the listing can still need.
    async fn list_sharded(
        &self,
        sm: &str,
        filter: &ExecutionFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<ExecutionRow>, StoreError> {
        let (conditions, names, values) = row_conditions(filter);
        let page = i32::try_from((offset + limit).clamp(1, 1000)).unwrap_or(1000);
        let mut query = |partition: String, start: Option<crate::listing::StartKey>| {
            let mut q = self
                .db()
                .query()
                .table_name(self.table_name())
                .index_name("GSI1")
                .key_condition_expression("GSI1PK = :sm")
                .expression_attribute_values(":sm", s(partition))
                .scan_index_forward(false)
                .limit(page)
                .projection_expression(format!("{ROW_ATTRIBUTES}, GSI1SK"))
                .set_exclusive_start_key(start);
            if !conditions.is_empty() {
                q = q.filter_expression(conditions.join(" AND "));
            }
            for (k, v) in &names {
                q = q.expression_attribute_names(*k, *v);
            }
            for (k, v) in &values {
                q = q.expression_attribute_values(*k, v.clone());
            }
            let meter = self.meter();
            async move {
                let o = q.send().await.map_err(AwsError::dynamodb("Query"))?;
                meter.dynamodb_read(o.items().iter().map(item_size).sum());
                Ok((o.items().to_vec(), o.last_evaluated_key().cloned()))
            }
        };
        let mut merged = crate::listing::Merged::new(crate::listing::partitions(sm));
        let mut rows = Vec::new();
        let mut skipped = 0;
        while rows.len() < limit {
            let Some(item) = merged.next(&mut query).await.map_err(store_error)? else {
                break;
            };
            let Some(arn) = get_s(&item, "PK").and_then(|p| p.strip_prefix("EX#")) else {
                continue;
            };
            if skipped < offset {
                skipped += 1;
                continue;
            }
            if let Some(row) = self.row_of(arn, &item).await? {
                rows.push(row);
            }
        }
        Ok(rows)
    }
}
