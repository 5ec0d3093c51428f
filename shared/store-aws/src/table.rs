//! The one DynamoDB table.
//!
//! | PK | SK | holds |
//! |---|---|---|
//! | `SM#<arn>` | `DEF#<revision>` | a definition (immutable per revision; written by the API's store, [`crate::api_store`]) |
//! | `EX#<arn>` | `META` | version, status, checkpoint (`stateZ` deflated, or its S3 key), outbox (or its S3 key), the last steps' history events not yet paged (`tailZ` deflated or `tailS3`, `tailFirst`, `tailLast`: [`crate::commit`]), usage (`expiresAt` once closed under a retention, [`crate::retention`]) |
//! | `EX#<arn>` | `EV#<20-digit id>` | a step's history events (up to 1,000), keyed by the id of the last; `first` the id of the first; inline (`events`, one JSON a line; `eventsZ` the same deflated) or in S3 (`eventsS3`) (and the same `expiresAt`) |
//! | `EX#<arn>` | `TASK#<20-digit id>` | one task attempt, recorded before the invoker calls it ([`crate::attempts`]) |
//! | `TOKEN#<token>` | `-` | the execution and task a task token belongs to (and `closed`, and `queued` once its activity task was pushed); written only here |
//!
//! The control-plane records the API keeps (state machines, versions, aliases, activities,
//! tags, activity tasks) are laid out in [`crate::api_store`].
//!
//! Writing a step is [`crate::commit`]: atomic, so a writer that loses the race for a version
//! leaves nothing a reader can see.

use crate::meter::Meter;
use crate::retention::{EXPIRES_AT, STAMPED};
use crate::{Aws, AwsError};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use stepwise_engine::{Command, ExecutionState, HistoryEvent};
use stepwise_ports::execution::{HistoryTail, StoredExecution, Usage};

/// Checkpoints larger than this, deflated, go to S3. Each KB of an item is a write unit
/// ($0.625 a million) when it is written and again when the next step replaces it (an update
/// is billed by the larger of the item before and after), where a PutObject of any size costs
/// $5 a million and its read back $0.40: past about 8 KB, S3 is the cheaper home.
pub(crate) const INLINE_LIMIT: usize = 8 * 1024;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// Past every history item's key.
static EV_END: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("EV#{:020}", u64::MAX));

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn get_s<'a>(item: &'a Item, k: &str) -> Option<&'a str> {
    item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str)
}

pub(crate) fn get_n(item: &Item, k: &str) -> Option<u64> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|x| x.parse().ok())
}

pub(crate) fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(k, v)| {
            k.len()
                + match v {
                    AttributeValue::S(x) | AttributeValue::N(x) => x.len(),
                    AttributeValue::B(b) => b.as_ref().len(),
                    _ => 8,
                }
        })
        .sum()
}

/// The attributes of an execution's META item that the start writes and no step does (what
/// listings read beside the status): they weigh on every step's update all the same.
pub(crate) const FIXED_ATTRIBUTES: [&str; 4] = ["meta", "versionArn", "aliasArn", "mapRunArn"];

/// The size of `item`'s [`FIXED_ATTRIBUTES`].
pub(crate) fn fixed_size(item: &Item) -> usize {
    FIXED_ATTRIBUTES
        .iter()
        .filter_map(|k| item.get_key_value(*k))
        .map(|(k, v)| item_size(&[(k.clone(), v.clone())].into_iter().collect()))
        .sum()
}

/// Text deflated, for the attributes written with every step (the checkpoint, the last step's
/// events): JSON shrinks to about half, and each KB of the item is a write unit.
pub(crate) fn deflated(text: &str) -> AttributeValue {
    use std::io::Write;
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = z.write_all(text.as_bytes());
    AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(
        z.finish().unwrap_or_default(),
    ))
}

/// What [`deflated`] wrote, as text again; `None` when it is not that.
pub fn inflated(bytes: &[u8]) -> Option<String> {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::DeflateDecoder::new(bytes)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// A deflated attribute of `item`, as text: `Ok(None)` when absent.
pub(crate) fn get_inflated(item: &Item, k: &str, owner: &str) -> Result<Option<String>, AwsError> {
    match item.get(k).and_then(|v| v.as_b().ok()) {
        None => Ok(None),
        Some(b) => inflated(b.as_ref())
            .map(Some)
            .ok_or_else(|| corrupt(owner, format!("{k} is not deflated text"))),
    }
}

/// Packed events: one JSON a line.
fn events_of(arn: &str, text: &str) -> Result<Vec<HistoryEvent>, AwsError> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| stepwise_engine::deep::from_str(l).map_err(|x| corrupt(arn, x)))
        .collect()
}

pub(crate) fn corrupt(key: &str, e: impl std::fmt::Display) -> AwsError {
    AwsError::Corrupt {
        key: key.to_string(),
        message: e.to_string(),
    }
}

/// The table's operations, counting every request on a [`Meter`].
pub struct Table<'a> {
    pub(crate) aws: &'a Aws,
    pub(crate) meter: &'a Meter,
}

impl<'a> Table<'a> {
    /// The table of `aws`, metered by `meter`.
    pub fn new(aws: &'a Aws, meter: &'a Meter) -> Self {
        Table { aws, meter }
    }

    pub(crate) fn name(&self) -> &str {
        &self.aws.names.table
    }

    /// Reads a definition revision.
    pub async fn get_definition(
        &self,
        arn: &str,
        revision: u64,
    ) -> Result<Option<String>, AwsError> {
        let out = self
            .aws
            .dynamodb
            .get_item()
            .table_name(self.name())
            .key("PK", s(format!("SM#{arn}")))
            .key("SK", s(format!("DEF#{revision}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(AwsError::dynamodb("GetItem"))?;
        let item = out.item();
        self.meter.dynamodb_read(item.map(item_size).unwrap_or(1));
        Ok(item
            .and_then(|i| get_s(i, "definition"))
            .map(str::to_string))
    }

    /// Writes a payload too large (or too costly) for an item to the payload bucket; `expiring`
    /// tags it for the retention's lifecycle rule (see [`crate::retention`]).
    pub(crate) async fn put_payload(
        &self,
        key: &str,
        text: String,
        expiring: bool,
    ) -> Result<(), AwsError> {
        self.meter.record(|u| u.s3_puts += 1);
        self.aws
            .s3
            .put_object()
            .bucket(&self.aws.names.payload_bucket)
            .key(key)
            .set_tagging(expiring.then(|| crate::retention::EXPIRY_TAG.to_string()))
            .body(text.into_bytes().into())
            .send()
            .await
            .map_err(|x| {
                AwsError::service("S3", "PutObject", aws_sdk_s3::error::DisplayErrorContext(x))
            })?;
        Ok(())
    }

    /// Reads back what [`Self::put_payload`] wrote; `owner` names the execution in errors.
    pub(crate) async fn get_payload(&self, key: &str, owner: &str) -> Result<String, AwsError> {
        self.meter.record(|u| u.s3_gets += 1);
        let obj = self
            .aws
            .s3
            .get_object()
            .bucket(&self.aws.names.payload_bucket)
            .key(key)
            .send()
            .await
            .map_err(|x| {
                AwsError::service("S3", "GetObject", aws_sdk_s3::error::DisplayErrorContext(x))
            })?;
        let bytes = obj
            .body
            .collect()
            .await
            .map_err(|x| AwsError::service("S3", "GetObject", x))?;
        String::from_utf8(bytes.into_bytes().to_vec()).map_err(|x| corrupt(owner, x))
    }

    pub(crate) fn meta_item(&self, e: &StoredExecution) -> Result<Item, AwsError> {
        let outbox = stepwise_engine::deep::to_string(&e.outbox).map_err(|x| corrupt(&e.arn, x))?;
        let usage = stepwise_engine::deep::to_string(&e.usage).map_err(|x| corrupt(&e.arn, x))?;
        let mut item: Item = [
            ("PK".to_string(), s(format!("EX#{}", e.arn))),
            ("SK".to_string(), s("META")),
            ("version".to_string(), n(e.version)),
            ("status".to_string(), s(e.state.status.as_str())),
            ("smArn".to_string(), s(e.state_machine_arn.clone())),
            ("revision".to_string(), n(e.revision)),
            ("lastEventId".to_string(), n(e.state.last_event_id)),
            ("outbox".to_string(), s(outbox)),
            ("usage".to_string(), s(usage)),
            // One of the state machine's index shards (crate::listing).
            (
                "GSI1PK".to_string(),
                s(crate::listing::execution_partition(
                    &e.state_machine_arn,
                    &e.arn,
                )),
            ),
            (
                "GSI1SK".to_string(),
                s(format!(
                    "{:020}#{}",
                    e.state.info.start_time_ms, e.state.info.name
                )),
            ),
        ]
        .into_iter()
        .collect();
        if let Some(tc) = &e.test_case {
            item.insert("testCase".into(), s(tc.clone()));
        }
        // What listings show, readable without the checkpoint.
        item.insert("redriveCount".into(), n(e.state.info.redrive_count));
        if let Some(stop) = e.state.stop_ms {
            item.insert("stopMs".into(), n(stop));
        }
        Ok(item)
    }

    /// Reads an execution (strongly consistent).
    pub async fn load_execution(&self, arn: &str) -> Result<Option<StoredExecution>, AwsError> {
        self.meter.begin(arn);
        let out = self
            .aws
            .dynamodb
            .get_item()
            .table_name(self.name())
            .key("PK", s(format!("EX#{arn}")))
            .key("SK", s("META"))
            .consistent_read(true)
            .send()
            .await
            .map_err(AwsError::dynamodb("GetItem"))?;
        let Some(item) = out.item() else {
            self.meter.dynamodb_read(1);
            return Ok(None);
        };
        self.meter.dynamodb_read(item_size(item));
        self.meter.note_meta_size(arn, item_size(item));
        self.meter.note_fixed_size(arn, fixed_size(item));
        let state_text = match (
            get_inflated(item, "stateZ", arn)?,
            get_s(item, "state"),
            get_s(item, "stateS3"),
        ) {
            (Some(t), ..) => t,
            (None, Some(t), _) => t.to_string(),
            (None, None, Some(key)) => self.get_payload(key, arn).await?,
            (None, None, None) => return Err(corrupt(arn, "no checkpoint")),
        };
        let state: ExecutionState =
            stepwise_engine::deep::from_str(&state_text).map_err(|x| corrupt(arn, x))?;
        let outbox_text = match (get_s(item, "outbox"), get_s(item, "outboxS3")) {
            (_, Some(key)) => self.get_payload(key, arn).await?,
            (Some(t), None) => t.to_string(),
            (None, None) => "[]".to_string(),
        };
        let outbox: Vec<Command> =
            stepwise_engine::deep::from_str(&outbox_text).map_err(|x| corrupt(arn, x))?;
        let usage: Usage = stepwise_engine::deep::from_str(get_s(item, "usage").unwrap_or("{}"))
            .map_err(|x| corrupt(arn, x))?;
        // A stepper stopped between a closing (or reopening) commit and the end of its stamping
        // left the history behind its META item: the next load (a redelivered message) finishes.
        let expiry = get_n(item, EXPIRES_AT).map(|t| t as i64);
        if expiry != get_n(item, STAMPED).map(|t| t as i64) {
            let version = get_n(item, "version").unwrap_or(0);
            self.stamp_history(arn, state.last_event_id, expiry).await?;
            self.mark_stamped(arn, version, expiry).await?;
        }
        Ok(Some(StoredExecution {
            arn: arn.to_string(),
            state_machine_arn: get_s(item, "smArn").unwrap_or_default().to_string(),
            revision: get_n(item, "revision").unwrap_or(0),
            state,
            version: get_n(item, "version").unwrap_or(0),
            outbox,
            test_case: get_s(item, "testCase").map(str::to_string),
            usage,
            history_tail: crate::commit::tail_of(item, arn)?,
        }))
    }

    /// Marks the outbox of `version` dispatched (a no-op if the execution moved on).
    pub async fn clear_outbox(&self, arn: &str, version: u64) -> Result<(), AwsError> {
        self.meter.meta_update(arn);
        let r = self
            .aws
            .dynamodb
            .update_item()
            .table_name(self.name())
            .key("PK", s(format!("EX#{arn}")))
            .key("SK", s("META"))
            .update_expression("SET outbox = :empty REMOVE outboxS3")
            .condition_expression("version = :v")
            .expression_attribute_values(":empty", s("[]"))
            .expression_attribute_values(":v", n(version))
            .send()
            .await;
        conditional(r, "UpdateItem").map(|_| ())
    }

    /// One page of history: events with ids in `(after, upto]`, at most `limit`, oldest first
    /// (or newest first when `reverse`): the paged events, then the last step's, on META.
    pub async fn history_page(
        &self,
        arn: &str,
        after: u64,
        upto: u64,
        limit: i32,
        reverse: bool,
    ) -> Result<Vec<HistoryEvent>, AwsError> {
        if upto <= after {
            return Ok(Vec::new());
        }
        let limit = usize::try_from(limit.max(1)).unwrap_or(1);
        if reverse {
            // The newest events may still be on META (the last step's tail): they come first.
            let mut events = Vec::new();
            let mut upto = upto;
            if let Some(t) = self.meta_tail(arn).await? {
                if t.first <= upto {
                    let mut run = self.tail_events(arn, &t).await?;
                    run.reverse();
                    for ev in run {
                        if ev.id > after && ev.id <= upto {
                            events.push(ev);
                            if events.len() >= limit {
                                return Ok(events);
                            }
                        }
                    }
                    upto = t.first - 1;
                }
            }
            let more = self
                .paged_history(arn, after, upto, limit - events.len(), true)
                .await?;
            events.extend(more);
            return Ok(events);
        }
        let mut events = self.paged_history(arn, after, upto, limit, false).await?;
        // Past the paged events, the rest are the tail's, unless a step paged them meanwhile
        // (then the tail is a later step's, and the pages have them now).
        loop {
            let seen = events.last().map_or(after, |e| e.id);
            if events.len() >= limit || seen >= upto {
                return Ok(events);
            }
            match self.meta_tail(arn).await? {
                Some(t) if t.first <= seen + 1 => {
                    for ev in self.tail_events(arn, &t).await? {
                        if ev.id > seen && ev.id <= upto && events.len() < limit {
                            events.push(ev);
                        }
                    }
                    return Ok(events);
                }
                Some(t) => {
                    let more = self
                        .paged_history(arn, seen, upto, limit - events.len(), false)
                        .await?;
                    if more.is_empty() {
                        return Err(corrupt(
                            arn,
                            format!(
                                "history events {} to {} are neither paged nor on META",
                                seen + 1,
                                t.first - 1
                            ),
                        ));
                    }
                    events.extend(more);
                }
                None => {
                    let more = self
                        .paged_history(arn, seen, upto, limit - events.len(), false)
                        .await?;
                    if more.is_empty() {
                        return Ok(events);
                    }
                    events.extend(more);
                }
            }
        }
    }

    /// The last step's events kept on META, if any ([`crate::commit`]).
    async fn meta_tail(&self, arn: &str) -> Result<Option<HistoryTail>, AwsError> {
        let tail = self
            .meta_projected(arn, "tail, tailZ, tailS3, tailFirst, tailLast", &[])
            .await?;
        match tail {
            Some(i) => crate::commit::tail_of(&i, arn),
            None => Ok(None),
        }
    }

    /// The attributes of `arn`'s META item named by `projection` (strongly consistent; `names`
    /// its `#` placeholders), if the item exists.
    pub(crate) async fn meta_projected(
        &self,
        arn: &str,
        projection: &str,
        names: &[(&str, &str)],
    ) -> Result<Option<Item>, AwsError> {
        let mut req = self
            .aws
            .dynamodb
            .get_item()
            .table_name(self.name())
            .key("PK", s(format!("EX#{arn}")))
            .key("SK", s("META"))
            .projection_expression(projection)
            .consistent_read(true);
        for (k, v) in names {
            req = req.expression_attribute_names(*k, *v);
        }
        let out = req.send().await.map_err(AwsError::dynamodb("GetItem"))?;
        self.meter
            .dynamodb_read(out.item().map(item_size).unwrap_or(1));
        Ok(out.item().cloned())
    }

    /// The events of a tail, oldest first.
    async fn tail_events(&self, arn: &str, t: &HistoryTail) -> Result<Vec<HistoryEvent>, AwsError> {
        let text = if t.in_s3 {
            self.get_payload(&t.body, arn).await?
        } else {
            t.body.clone()
        };
        events_of(arn, &text)
    }

    /// Paged events with ids in `(after, upto]`, at most `limit`.
    ///
    /// Items hold runs of events keyed by the id of their last ([`crate::commit`]), so the
    /// first item at or past a key holds that id: a forward page queries from `after + 1`; a
    /// backward one finds the item holding `upto` and queries down from it.
    async fn paged_history(
        &self,
        arn: &str,
        after: u64,
        upto: u64,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<HistoryEvent>, AwsError> {
        if upto <= after || limit == 0 {
            return Ok(Vec::new());
        }
        let low = format!("EV#{:020}", after + 1);
        let high = if reverse {
            let (holding, _) = self
                .history_items(arn, &format!("EV#{upto:020}"), &EV_END, true, 1, None)
                .await?;
            holding
                .first()
                .and_then(|i| get_s(i, "SK"))
                .unwrap_or(EV_END.as_str())
                .to_string()
        } else {
            EV_END.clone()
        };
        let mut events = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = self
                .history_items(arn, &low, &high, !reverse, limit.min(100) as i32, start)
                .await?;
            for item in &items {
                let mut run = self.unpack(arn, item).await?;
                if reverse {
                    run.reverse();
                }
                for ev in run {
                    if ev.id <= after || ev.id > upto {
                        continue;
                    }
                    // Pages may overlap (a tail paged by a writer that then lost its race, and
                    // again, longer, by the winner's next steps): each event once.
                    if let Some(last) = events.last().map(|l: &HistoryEvent| l.id) {
                        if (!reverse && ev.id <= last) || (reverse && ev.id >= last) {
                            continue;
                        }
                    }
                    events.push(ev);
                    if events.len() >= limit {
                        return Ok(events);
                    }
                }
            }
            match next {
                Some(k) => start = Some(k),
                None => return Ok(events),
            }
        }
    }

    /// History items with keys in `[low, high]`, one Query page.
    async fn history_items(
        &self,
        arn: &str,
        low: &str,
        high: &str,
        forward: bool,
        limit: i32,
        start: Option<HashMap<String, AttributeValue>>,
    ) -> Result<(Vec<Item>, Option<HashMap<String, AttributeValue>>), AwsError> {
        let out = self
            .aws
            .dynamodb
            .query()
            .table_name(self.name())
            .key_condition_expression("PK = :pk AND SK BETWEEN :a AND :b")
            .expression_attribute_values(":pk", s(format!("EX#{arn}")))
            .expression_attribute_values(":a", s(low))
            .expression_attribute_values(":b", s(high))
            .scan_index_forward(forward)
            .limit(limit)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(AwsError::dynamodb("Query"))?;
        let items = out.items().to_vec();
        self.meter.dynamodb_read(items.iter().map(item_size).sum());
        Ok((items, out.last_evaluated_key().cloned()))
    }

    /// The events of a history item, oldest first: a packed run (`events` or `eventsS3`, one
    /// JSON a line), or one event (`event` or `eventS3`, items written before runs were packed).
    async fn unpack(&self, arn: &str, item: &Item) -> Result<Vec<HistoryEvent>, AwsError> {
        // Pages of tails are deflated.
        if let Some(text) = get_inflated(item, "eventsZ", arn)? {
            return events_of(arn, &text);
        }
        let text = match (
            get_s(item, "events"),
            get_s(item, "eventsS3"),
            get_s(item, "event"),
            get_s(item, "eventS3"),
        ) {
            (Some(t), ..) | (_, _, Some(t), _) => t.to_string(),
            (_, Some(key), ..) | (.., Some(key)) => self.get_payload(key, arn).await?,
            _ => return Err(corrupt(arn, "a history item without its events")),
        };
        events_of(arn, &text)
    }

    /// Records which execution and task a task token belongs to: the one writer of token items.
    /// The first record stands: a dispatch repeated after a crash (or the API recording a token
    /// the dispatcher recorded) neither moves the token nor reopens a closed one.
    pub async fn put_token(&self, token: &str, arn: &str, task: u64) -> Result<(), AwsError> {
        let item: Item = [
            ("PK".to_string(), s(format!("TOKEN#{token}"))),
            ("SK".to_string(), s("-")),
            ("execution".to_string(), s(arn)),
            ("task".to_string(), n(task)),
        ]
        .into_iter()
        .collect();
        self.meter.dynamodb_write(item_size(&item));
        let r = self
            .aws
            .dynamodb
            .put_item()
            .table_name(self.name())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        conditional(r, "PutItem").map(|_| ())
    }

    /// The execution and task of a task token.
    pub async fn get_token(&self, token: &str) -> Result<Option<(String, u64)>, AwsError> {
        let out = self
            .aws
            .dynamodb
            .get_item()
            .table_name(self.name())
            .key("PK", s(format!("TOKEN#{token}")))
            .key("SK", s("-"))
            .consistent_read(true)
            .send()
            .await
            .map_err(AwsError::dynamodb("GetItem"))?;
        self.meter
            .dynamodb_read(out.item().map(item_size).unwrap_or(1));
        Ok(out
            .item()
            .and_then(|i| Some((get_s(i, "execution")?.to_string(), get_n(i, "task")?))))
    }

    /// Marks a task token's task ended (SendTaskSuccess/Failure answered it, or the engine
    /// cancelled the task); a token never recorded stays unrecorded.
    pub async fn close_token(&self, token: &str) -> Result<(), AwsError> {
        self.meter.dynamodb_write(64);
        let r = self
            .aws
            .dynamodb
            .update_item()
            .table_name(self.name())
            .key("PK", s(format!("TOKEN#{token}")))
            .key("SK", s("-"))
            .update_expression("SET closed = :t")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await;
        conditional(r, "UpdateItem").map(|_| ())
    }

    /// Marks a task token's activity task queued for `activity_arn`; false when it was already
    /// (the invoker saw its message twice), so the task is pushed once per token.
    pub async fn mark_token_queued(
        &self,
        token: &str,
        activity_arn: &str,
    ) -> Result<bool, AwsError> {
        self.meter.dynamodb_write(64);
        let r = self
            .aws
            .dynamodb
            .update_item()
            .table_name(self.name())
            .key("PK", s(format!("TOKEN#{token}")))
            .key("SK", s("-"))
            .update_expression("SET queued = :a")
            .condition_expression("attribute_not_exists(queued)")
            .expression_attribute_values(":a", s(activity_arn))
            .send()
            .await;
        conditional(r, "UpdateItem")
    }

    /// Executions of a state machine, one index shard after the other (newest first within a
    /// shard: ListExecutions merges them, [`crate::listing`]): (ARN, status) pairs and where to
    /// go on from.
    pub async fn list_executions(
        &self,
        state_machine_arn: &str,
        status: Option<&str>,
        limit: i32,
        start: Option<crate::listing::Cursor>,
    ) -> Result<(Vec<(String, String)>, Option<crate::listing::Cursor>), AwsError> {
        let partitions = crate::listing::partitions(state_machine_arn);
        let (shard, start) = start.map_or((0, None), |c| (c.shard, c.key));
        let Some(partition) = partitions.get(shard) else {
            return Ok((Vec::new(), None));
        };
        let mut q = self
            .aws
            .dynamodb
            .query()
            .table_name(self.name())
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :sm")
            .expression_attribute_values(":sm", s(partition))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start);
        if let Some(st) = status {
            q = q
                .filter_expression("#s = :st")
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":st", s(st));
        }
        let out = q.send().await.map_err(AwsError::dynamodb("Query"))?;
        self.meter
            .dynamodb_read(out.items().iter().map(item_size).sum());
        let rows = out
            .items()
            .iter()
            .filter_map(|i| {
                let pk = get_s(i, "PK")?.strip_prefix("EX#")?.to_string();
                Some((pk, get_s(i, "status").unwrap_or_default().to_string()))
            })
            .collect();
        let next = match out.last_evaluated_key() {
            Some(key) => Some(crate::listing::Cursor {
                shard,
                key: Some(key.clone()),
            }),
            None => (shard + 1 < partitions.len()).then_some(crate::listing::Cursor {
                shard: shard + 1,
                key: None,
            }),
        };
        Ok((rows, next))
    }
}

/// Creates the table as the templates declare it (for tests against DynamoDB Local).
pub async fn create_table(aws: &Aws) -> Result<(), AwsError> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType,
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| AwsError::service("DynamoDB", "CreateTable", e))
    };
    let key = |name: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(t)
            .build()
            .map_err(|e| AwsError::service("DynamoDB", "CreateTable", e))
    };
    let gsi = GlobalSecondaryIndex::builder()
        .index_name("GSI1")
        .key_schema(key("GSI1PK", KeyType::Hash)?)
        .key_schema(key("GSI1SK", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::Include)
                .set_non_key_attributes(Some(
                    crate::listing::PROJECTED
                        .iter()
                        .map(|a| a.to_string())
                        .collect(),
                ))
                .build(),
        )
        .build()
        .map_err(|e| AwsError::service("DynamoDB", "CreateTable", e))?;
    aws.dynamodb
        .create_table()
        .table_name(&aws.names.table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("PK")?)
        .attribute_definitions(attr("SK")?)
        .attribute_definitions(attr("GSI1PK")?)
        .attribute_definitions(attr("GSI1SK")?)
        .key_schema(key("PK", KeyType::Hash)?)
        .key_schema(key("SK", KeyType::Range)?)
        .global_secondary_indexes(gsi)
        .send()
        .await
        .map_err(AwsError::dynamodb("CreateTable"))?;
    Ok(())
}

/// A conditional DynamoDB write's outcome: `true` when it was written, `false` when its
/// condition did not hold (for the caller to decide what that means), any other failure as the
/// error of `operation`.
pub(crate) fn conditional<T, E, R>(
    result: Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>,
    operation: &'static str,
) -> Result<bool, AwsError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(err) if is_conditional(&err) => Ok(false),
        Err(err) => Err(AwsError::service(
            "DynamoDB",
            operation,
            aws_sdk_dynamodb::error::DisplayErrorContext(err),
        )),
    }
}

/// Whether a DynamoDB call failed only because its condition did not hold.
pub(crate) fn is_conditional<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|x| x.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}
