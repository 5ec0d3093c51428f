//! Writing a step: the new checkpoint, outbox and history of an execution, so that a writer that
//! loses the race for a version leaves nothing a reader can see.
//!
//! Two writers can step one execution from the same version at once (the API applies events
//! inline while the stepper runs). Only the one whose conditional write on the META item wins may
//! leave history behind, so:
//!
//! * up to [`EVENTS_PER_ITEM`] events (every ordinary step): one conditional `UpdateItem` of
//!   META that holds the step's events, deflated, as its *tail* (`tailZ`, or `tailS3` past
//!   [`PACKED_INLINE_LIMIT`]; `tailFirst`, `tailLast`). The steps before it are on META too while
//!   that costs no more write units; else the writer first pages them (a `PutItem` of their own
//!   history item, `eventsZ`): they are committed, so a writer that loses the race pages the
//!   same, and the update's condition names the tail it replaces (a caller that did not reload
//!   must not drop one). An update that took effect, its answer lost and the SDK's retry
//!   refused, finds its own write (`written`, a hash of it) and stands. Readers take the pages,
//!   then the tail. One write billed once, where a transaction bills every item twice;
//! * up to [`TRANSACT_EVENTS`] items: one `TransactWriteItems` holding the META update
//!   (conditioned on the version read) and the event items: all or nothing;
//! * more (a large Map's fan-out): the writer first *claims* the version (`writer` on the META
//!   item, conditioned on the version), then writes the events in transactions that each check
//!   the version and its claim, then updates META on the same condition. A later claim makes
//!   every write of an earlier claimant fail, and the last claimant writes every event id of its
//!   step after claiming, so whatever an earlier claimant wrote is overwritten before it becomes
//!   visible (readers stop at the committed `lastEventId`).
//!
//! A step's history events are packed, one item per [`EVENTS_PER_ITEM`] events keyed by the id
//! of the last (`EV#<20-digit id>`, `first` the id of the first).
//!
//! Payloads in S3 (checkpoints past [`INLINE_LIMIT`] deflated, packed events past
//! [`PACKED_INLINE_LIMIT`]) are keyed by their content, so a losing writer's object can never replace the winner's.
//!
//! Under a retention ([`crate::retention`]) the commit that closes an execution writes the
//! `expiresAt` TTL attribute on META and on each event item of its step, and tags its S3 payloads;
//! once the transaction is in, the older history is stamped (or, on a resume, un-stamped) to match
//! and META records it (`historyExpiresAt`).

use crate::meter::units;
use crate::retention::{EXPIRES_AT, STAMPED};
use crate::table::{
    conditional, corrupt, deflated, get_inflated, get_n, get_s, item_size, n, s, Item, Table,
    INLINE_LIMIT,
};
use crate::{content_key, fnv64, AwsError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use std::collections::HashMap;
use stepwise_engine::HistoryEvent;
use stepwise_ports::execution::{HistoryTail, StoredExecution, Usage};

/// DynamoDB takes at most 100 actions in one transaction: the META write and 99 events.
pub(crate) const TRANSACT_EVENTS: usize = 99;

/// A transaction holds at most 4 MB; packed events are at most [`PACKED_INLINE_LIMIT`] inline, so 99 of
/// them stay far below, but chunks are cut by size too in case that limit is raised.
const TRANSACT_BYTES: usize = 3 * 1024 * 1024;

/// DynamoDB's item limit (400 KB). An execution item past [`META_OUTBOX_LIMIT`] keeps its
/// outbox in S3 (a Map's fan-out can dispatch many large Task calls in one step); the
/// checkpoint is there already past [`INLINE_LIMIT`], so the item stays within the limit.
const ITEM_LIMIT: usize = 400 * 1024;
const META_OUTBOX_LIMIT: usize = 200 * 1024;

/// A step's events are packed into items of up to this many events (see
/// [`crate::table::Table::history_page`] for how they are read): a write unit is billed per KB
/// of each item (twice in a transaction), so one item a step instead of one an event cuts a
/// step's history writes to its size rounded up once.
pub(crate) const EVENTS_PER_ITEM: usize = 1000;

/// Packed events past this size go to S3 as one object (one PUT, $0.005 a thousand) with a
/// pointer item: inline, 4 KB in a transaction cost 8 write units ($0.625 a million each),
/// the price of a PUT. History is written once and read rarely.
pub(crate) const PACKED_INLINE_LIMIT: usize = 4 * 1024;

/// How often a claimed chunk is tried again when another transaction met it.
const CONTENDED_RETRIES: u32 = 5;

fn build_error(e: impl std::fmt::Display) -> AwsError {
    AwsError::service("DynamoDB", "TransactWriteItems", e)
}

/// An update expression that sets every attribute of `item` but its key and removes `remove`:
/// (expression, names, values).
fn update_parts(
    item: Item,
    remove: &[&str],
) -> (
    String,
    HashMap<String, String>,
    HashMap<String, AttributeValue>,
) {
    let mut names = HashMap::new();
    let mut values = HashMap::new();
    let mut sets = Vec::new();
    for (i, (k, v)) in item.into_iter().enumerate() {
        if k == "PK" || k == "SK" {
            continue;
        }
        sets.push(format!("#a{i} = :a{i}"));
        names.insert(format!("#a{i}"), k);
        values.insert(format!(":a{i}"), v);
    }
    let mut expr = format!("SET {}", sets.join(", "));
    let mut removes = Vec::new();
    for (i, k) in remove.iter().enumerate() {
        removes.push(format!("#r{i}"));
        names.insert(format!("#r{i}"), k.to_string());
    }
    if !removes.is_empty() {
        expr.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    (expr, names, values)
}

/// The attributes of META that hold the last step's events ([`HistoryTail`]).
pub(crate) const TAIL_ATTRIBUTES: [&str; 5] = ["tail", "tailZ", "tailS3", "tailFirst", "tailLast"];

/// A step's update of META to `item`: every attribute it owns set, those a step may drop
/// (`state` when the checkpoint moves to S3 and back, `stopMs` after a redrive, the tail after
/// a step without events, a claim left by a writer that lost) removed, on condition that the
/// version is still `expected_version` (and that the claim is `claim`'s, when given):
/// (expression, names, values, condition).
type ConditionalParts = (
    String,
    HashMap<String, String>,
    HashMap<String, AttributeValue>,
    String,
);
fn conditional_parts(
    item: Item,
    expected_version: u64,
    claim: Option<&str>,
    tail_last: Option<u64>,
) -> ConditionalParts {
    let mut remove: Vec<&str> = [
        "state", "stateZ", "stateS3", "stopMs", "outbox", "outboxS3", EXPIRES_AT,
    ]
    .into_iter()
    .chain(TAIL_ATTRIBUTES)
    .filter(|k| !item.contains_key(*k))
    .collect();
    remove.push("writer");
    let (expr, mut names, mut values) = update_parts(item, &remove);
    values.insert(":seen".into(), n(expected_version));
    // The tail this step paged is the one it replaces (a caller that did not reload may
    // carry none for a step that left one).
    let mut condition = match tail_last {
        Some(last) => {
            values.insert(":tl".into(), n(last));
            "version = :seen AND tailLast = :tl".to_string()
        }
        None => "version = :seen AND attribute_not_exists(tailLast)".to_string(),
    };
    if let Some(me) = claim {
        condition.push_str(" AND #writer = :me");
        names.insert("#writer".into(), "writer".into());
        values.insert(":me".into(), s(me));
    }
    (expr, names, values, condition)
}

/// The META attribute naming the write that made the version (a hash of what it wrote): an
/// update whose answer was lost, refused when the SDK sent it again, knows it took effect.
const WRITTEN: &str = "written";

/// A hash of every attribute of `item`.
fn write_id(item: &Item) -> String {
    let mut parts: Vec<(&String, String)> =
        item.iter().map(|(k, v)| (k, format!("{v:?}"))).collect();
    parts.sort();
    let mut h = Vec::with_capacity(parts.len() * 2);
    for (k, v) in &parts {
        h.push(k.as_str());
        h.push(v.as_str());
    }
    format!("{:016x}", fnv64(&h))
}

/// The META attributes of a tail.
fn tail_attributes(t: &HistoryTail) -> Vec<(String, AttributeValue)> {
    vec![
        if t.in_s3 {
            ("tailS3".to_string(), s(t.body.clone()))
        } else {
            ("tailZ".to_string(), deflated(&t.body))
        },
        ("tailFirst".to_string(), n(t.first)),
        ("tailLast".to_string(), n(t.last)),
    ]
}

/// The tail of META's attributes (`owner` names the execution in errors), if any.
pub(crate) fn tail_of(item: &Item, owner: &str) -> Result<Option<HistoryTail>, AwsError> {
    let (Some(first), Some(last)) = (get_n(item, "tailFirst"), get_n(item, "tailLast")) else {
        return Ok(None);
    };
    let (body, in_s3) = match (
        get_inflated(item, "tailZ", owner)?,
        get_s(item, "tail"),
        get_s(item, "tailS3"),
    ) {
        (Some(t), ..) => (t, false),
        (None, Some(t), _) => (t.to_string(), false),
        (None, None, Some(k)) => (k.to_string(), true),
        (None, None, None) => return Ok(None),
    };
    Ok(Some(HistoryTail {
        first,
        last,
        body,
        in_s3,
    }))
}

/// What META's size is billed as: its attributes, the usage grown by a few digits and
/// `written` (both set after the size is taken).
fn meta_size(item: &Item) -> usize {
    item_size(item) + 64
}

/// What the usage attribute is taken to weigh when a step decides where its events go.
const USAGE_ALLOWANCE: usize = 160;

/// The size of a tail's attributes on META.
fn tail_size(t: &HistoryTail) -> usize {
    item_size(&tail_attributes(t).into_iter().collect())
}

/// Raw text a tail holds at most: it is deflated on META and in its page.
const TAIL_TEXT_LIMIT: usize = 16 * 1024;

/// `old` and `new`, consecutive steps' events, as one tail: `None` when either is in S3 or
/// the text would pass [`TAIL_TEXT_LIMIT`].
fn joined(old: &HistoryTail, new: &HistoryTail) -> Option<HistoryTail> {
    if old.in_s3 || new.in_s3 || old.body.len() + 1 + new.body.len() > TAIL_TEXT_LIMIT {
        return None;
    }
    Some(HistoryTail {
        first: old.first,
        last: new.last,
        body: format!("{}\n{}", old.body, new.body),
        in_s3: false,
    })
}

/// The step's one packed history item as a tail.
fn tail_of_item(item: &Item, first: u64, last: u64) -> HistoryTail {
    let (body, in_s3) = match (get_s(item, "events"), get_s(item, "eventsS3")) {
        (Some(t), _) => (t.to_string(), false),
        (_, k) => (k.unwrap_or_default().to_string(), true),
    };
    HistoryTail {
        first,
        last,
        body,
        in_s3,
    }
}

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Written,
    /// A condition failed: another writer moved the execution on (or claimed the step).
    Lost,
    /// Another transaction touched the same items at the same time; nothing was written.
    Contended,
}

/// How a cancelled transaction ended, when it lost a race rather than failed.
fn race_outcome(e: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>) -> Option<Outcome> {
    let Some(TransactWriteItemsError::TransactionCanceledException(x)) = e.as_service_error()
    else {
        return None;
    };
    let codes: Vec<&str> = x
        .cancellation_reasons()
        .iter()
        .filter_map(|r| r.code())
        .collect();
    if codes.contains(&"ConditionalCheckFailed") {
        Some(Outcome::Lost)
    } else if codes.contains(&"TransactionConflict") {
        Some(Outcome::Contended)
    } else {
        None
    }
}

impl Table<'_> {
    /// The checkpoint as an attribute: inline, or in S3 under a key named by its content.
    async fn encode_state(
        &self,
        e: &StoredExecution,
        item: &mut Item,
        expiring: bool,
    ) -> Result<(), AwsError> {
        let text = stepwise_engine::deep::to_string(&e.state).map_err(|x| corrupt(&e.arn, x))?;
        let inline = deflated(&text);
        if inline.as_b().map_or(0, |b| b.as_ref().len()) > INLINE_LIMIT {
            let key = format!(
                "checkpoints/{:016x}/{}-{}.json",
                fnv64(&[&e.arn]),
                e.version,
                content_key(&text)
            );
            self.put_payload(&key, text, expiring).await?;
            item.insert("stateS3".into(), s(key));
        } else {
            item.insert("stateZ".into(), inline);
        }
        Ok(())
    }

    /// The history items of a step, packed ([`pack`]): runs of up to [`EVENTS_PER_ITEM`]
    /// events, each inline or, past [`PACKED_INLINE_LIMIT`], in one S3 object keyed by its
    /// content; each item with its size, and expiring at `expiry` (epoch seconds) when given.
    async fn event_items(
        &self,
        arn: &str,
        events: &[HistoryEvent],
        expiry: Option<i64>,
    ) -> Result<Vec<(Item, usize)>, AwsError> {
        let mut items = Vec::new();
        for run in events.chunks(EVENTS_PER_ITEM) {
            let (Some(first), Some(last)) = (run.first(), run.last()) else {
                continue;
            };
            let mut lines = Vec::with_capacity(run.len());
            for ev in run {
                lines.push(stepwise_engine::deep::to_string(ev).map_err(|x| corrupt(arn, x))?);
            }
            // JSON text holds no raw line break: one event a line.
            let text = lines.join("\n");
            let body = if text.len() > PACKED_INLINE_LIMIT {
                let key = format!(
                    "history/{:016x}/{:020}-{}.jsonl",
                    fnv64(&[arn]),
                    last.id,
                    content_key(&text)
                );
                self.put_payload(&key, text, expiry.is_some()).await?;
                ("eventsS3".to_string(), s(key))
            } else {
                ("events".to_string(), s(text))
            };
            let mut item: Item = [
                ("PK".to_string(), s(format!("EX#{arn}"))),
                ("SK".to_string(), s(format!("EV#{:020}", last.id))),
                ("first".to_string(), n(first.id)),
                body,
            ]
            .into_iter()
            .collect();
            if let Some(t) = expiry {
                item.insert(EXPIRES_AT.into(), n(t));
            }
            let size = item_size(&item);
            items.push((item, size));
        }
        Ok(items)
    }

    /// The META item of `e` with the usage that includes this very write (`requests` DynamoDB
    /// requests, `extra_units` write units beside the items', each item's units times `factor`:
    /// 2 in a transaction), so an execution's last step is counted too.
    async fn meta_with_usage(
        &self,
        e: &StoredExecution,
        events: &[(Item, usize)],
        requests: u64,
        extra_units: f64,
        factor: f64,
        lists: bool,
    ) -> Result<Item, AwsError> {
        let item = self.meta_base(e).await?;
        self.with_usage(e, item, events, requests, extra_units, factor, lists)
    }

    /// The META item of `e` without its usage: the checkpoint inline or in S3, the outbox
    /// moved to S3 when the item would be too large.
    async fn meta_base(&self, e: &StoredExecution) -> Result<Item, AwsError> {
        let expiry = self.expiry_of(e);
        let mut item = self.meta_item(e)?;
        if let Some(t) = expiry {
            item.insert(EXPIRES_AT.into(), n(t));
        }
        self.encode_state(e, &mut item, expiry.is_some()).await?;
        if item_size(&item) > META_OUTBOX_LIMIT {
            if let Some(text) = get_s(&item, "outbox").map(str::to_string) {
                let key = format!(
                    "outboxes/{:016x}/{}-{}.json",
                    fnv64(&[&e.arn]),
                    e.version,
                    content_key(&text)
                );
                self.put_payload(&key, text, expiry.is_some()).await?;
                item.remove("outbox");
                item.insert("outboxS3".into(), s(key));
            }
        }
        // Room for a tail (at most PACKED_INLINE_LIMIT inline) and the usage.
        if item_size(&item) + PACKED_INLINE_LIMIT + 1024 > ITEM_LIMIT {
            return Err(AwsError::ItemTooLarge {
                key: e.arn.clone(),
                bytes: item_size(&item),
            });
        }
        Ok(item)
    }

    /// `item` with the usage of `e` that includes this very write: see [`Self::meta_with_usage`].
    #[allow(clippy::too_many_arguments)]
    fn with_usage(
        &self,
        e: &StoredExecution,
        mut item: Item,
        events: &[(Item, usize)],
        requests: u64,
        extra_units: f64,
        factor: f64,
        lists: bool,
    ) -> Result<Item, AwsError> {
        let mut usage: Usage = e.usage.clone();
        // The payloads this write put in S3 (history events, the checkpoint) belong to it too.
        usage.add(&self.meter.take());
        usage.dynamodb_requests += requests;
        let event_units: f64 = events.iter().map(|(_, size)| units(*size, 1024)).sum();
        let size = meta_size(&item) + self.meter.fixed_size(&e.arn);
        // An update is billed by the larger of the item before and after it.
        let meta_units = units(size.max(self.meter.meta_size(&e.arn)), 1024);
        self.meter.note_meta_size(&e.arn, size);
        // GSI1 projects what listings read (crate::listing): only a write that changes one of
        // those (the start, a status change) is written to the index too (once, in a
        // transaction or not); every other step's META update writes nothing there.
        let index_units = if lists {
            units(crate::listing::index_size(&item) + 100, 1024)
        } else {
            0.0
        };
        usage.dynamodb_write_units +=
            extra_units + factor * (event_units + meta_units) + index_units;
        let text = stepwise_engine::deep::to_string(&usage).map_err(|x| corrupt(&e.arn, x))?;
        item.insert("usage".into(), s(text));
        Ok(item)
    }

    fn meta_key(arn: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("PK".to_string(), s(format!("EX#{arn}"))),
            ("SK".to_string(), s("META")),
        ])
    }

    fn put_action(&self, item: Item) -> Result<TransactWriteItem, AwsError> {
        let put = Put::builder()
            .table_name(self.name())
            .set_item(Some(item))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Runs one transaction.
    async fn transact(&self, actions: Vec<TransactWriteItem>) -> Result<Outcome, AwsError> {
        match self
            .aws
            .dynamodb
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
        {
            Ok(_) => Ok(Outcome::Written),
            Err(e) => match race_outcome(&e) {
                Some(o) => Ok(o),
                None => Err(AwsError::service(
                    "DynamoDB",
                    "TransactWriteItems",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e),
                )),
            },
        }
    }

    /// Creates an execution with `extra` attributes on the META item (what the execution was
    /// started with: its `ExecutionMeta`, version and alias ARNs); fails with
    /// [`AwsError::AlreadyExists`] when one with this ARN exists. Commits keep the extra
    /// attributes: they update the attributes they own and leave the others alone. The one
    /// writer of new execution items (the API's StartExecution comes here); its history starts
    /// with the first step its Start event makes.
    pub async fn create_execution_with(
        &self,
        e: &StoredExecution,
        extra: Vec<(String, AttributeValue)>,
    ) -> Result<(), AwsError> {
        let fixed: Item = extra.into_iter().collect();
        self.meter
            .note_fixed_size(&e.arn, crate::table::fixed_size(&fixed));
        let mut item = self.meta_with_usage(e, &[], 1, 0.0, 1.0, true).await?;
        item.extend(fixed);
        let r = self
            .aws
            .dynamodb
            .put_item()
            .table_name(self.name())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        if conditional(r, "PutItem")? {
            Ok(())
        } else {
            Err(AwsError::AlreadyExists(e.arn.clone()))
        }
    }

    /// Commits a step: the new checkpoint, outbox and history events, on condition that the
    /// stored version is still `expected_version`; [`AwsError::Conflict`] when it is not, and
    /// then nothing of this step is visible.
    ///
    /// The META item is updated attribute by attribute (an Update, not a Put), so what
    /// [`Table::create_execution_with`] stored beside the checkpoint survives every step; the
    /// attributes a step may drop (`state` when the checkpoint moves to S3 and back, `stopMs`
    /// after a redrive, a claim left by a writer that lost) are removed explicitly.
    pub async fn commit(
        &self,
        e: &StoredExecution,
        expected_version: u64,
        history: &[HistoryEvent],
    ) -> Result<(), AwsError> {
        let expiry = self.expiry_of(e);
        let mut events = self.event_items(&e.arn, history, expiry).await?;
        let (mut requests, mut extra) = (0, 0.0);
        // A status change (close, redrive) changes what GSI1 projects. The start does not: the
        // item was created RUNNING, with its index entry (billed with the create), and DynamoDB
        // writes no index entry for an update that changes none of its attributes.
        let lists = history.iter().any(|h| {
            h.event_type() != "ExecutionStarted"
                && stepwise_ports::status_events::status_of_event(h.event_type()).is_some()
        });
        if events.len() <= 1 {
            // The common step: its events (one item's worth) go on META as its tail, and the
            // step is one conditional update, billed once (a transaction bills twice).
            let step_tail = match (events.pop(), history.first(), history.last()) {
                (Some((item, _)), Some(first), Some(last)) => {
                    Some(tail_of_item(&item, first.id, last.id))
                }
                _ => None,
            };
            let mut item = self.meta_base(e).await?;
            // The earlier steps' events stay on META while that costs no more write units
            // than paging them (an item of their own); else they are paged first. Either way
            // they are committed, so a writer that loses this race pages the same.
            // Sized without the usage, which counts real time (Lambda's duration): the
            // same step decides the same way wherever it runs (the simulation replays it).
            // The attributes the start wrote for listings weigh on it too.
            let base = meta_size(&item)
                - item.get("usage").map_or(0, |u| {
                    item_size(&[("usage".to_string(), u.clone())].into_iter().collect())
                })
                + USAGE_ALLOWANCE
                + self.meter.fixed_size(&e.arn);
            let tail = match (&e.history_tail, step_tail) {
                (Some(old), Some(new)) => match joined(old, &new) {
                    Some(both)
                        if units(base + tail_size(&both), 1024)
                            <= units(base + tail_size(&new), 1024) =>
                    {
                        Some(both)
                    }
                    _ => {
                        extra += self.page_tail(&e.arn, old, expiry).await?;
                        requests += 1;
                        Some(new)
                    }
                },
                (Some(old), None) => {
                    extra += self.page_tail(&e.arn, old, expiry).await?;
                    requests += 1;
                    None
                }
                (None, new) => new,
            };
            if let Some(t) = &tail {
                item.extend(tail_attributes(t));
            }
            let mut item = self.with_usage(e, item, &[], requests + 1, extra, 1.0, lists)?;
            let written = write_id(&item);
            item.insert(WRITTEN.into(), s(written.clone()));
            let mut paged = e.history_tail.clone();
            for _ in 0..3 {
                let tail_last = paged.as_ref().map(|t| t.last);
                if self
                    .update_meta(e, expected_version, item.clone(), tail_last)
                    .await?
                {
                    return Box::pin(self.restamp(e, expiry)).await;
                }
                let now = self.meta_now(&e.arn).await?;
                let version = now.as_ref().and_then(|i| get_n(i, "version"));
                // An update that took effect, its answer lost and the SDK's retry refused.
                if version == Some(expected_version + 1)
                    && now.as_ref().and_then(|i| get_s(i, WRITTEN)) == Some(written.as_str())
                {
                    return Box::pin(self.restamp(e, expiry)).await;
                }
                // A caller that committed twice without reloading carries no tail (or an
                // older one) for the step it replaces: that step's events are paged first.
                let now_tail = match &now {
                    Some(i) => tail_of(i, &e.arn)?,
                    None => None,
                };
                if version != Some(expected_version) || now_tail == paged {
                    break;
                }
                if let Some(t) = &now_tail {
                    self.page_tail(&e.arn, t, expiry).await?;
                }
                paged = now_tail;
            }
            return Err(AwsError::Conflict(e.arn.clone()));
        }
        if let Some(t) = &e.history_tail {
            extra += self.page_tail(&e.arn, t, expiry).await?;
            requests += 1;
        }
        let chunks = chunk(&events);
        let big = events.len() > TRANSACT_EVENTS;
        // Small: one transaction. Big: the claim, one transaction per chunk (a condition check
        // costs two units), the META update.
        if big {
            requests += chunks.len() as u64 + 2;
            extra += 1.0 + 2.0 * chunks.len() as f64;
        } else {
            requests += 1;
        }
        let item = self
            .meta_with_usage(e, &events, requests, extra, 2.0, lists)
            .await?;
        let mut claim = None;
        if big {
            // Named by what it writes: two claimants writing the same step are interchangeable.
            let mut text = format!("{}#{expected_version}", e.arn);
            for (i, _) in &events {
                text.push_str(get_s(i, "events").unwrap_or_default());
                text.push_str(get_s(i, "eventsS3").unwrap_or_default());
            }
            let me = content_key(&text);
            if !self.claim(&e.arn, expected_version, &me).await? {
                return Err(AwsError::Conflict(e.arn.clone()));
            }
            for c in &chunks {
                if !self.write_claimed(&e.arn, expected_version, &me, c).await? {
                    return Err(AwsError::Conflict(e.arn.clone()));
                }
            }
            claim = Some(me);
        }
        let tail_last = e.history_tail.as_ref().map(|t| t.last);
        let (expr, names, values, condition) =
            conditional_parts(item, expected_version, claim.as_deref(), tail_last);
        let update = Update::builder()
            .table_name(self.name())
            .set_key(Some(Self::meta_key(&e.arn)))
            .update_expression(expr)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(build_error)?;
        let mut actions = vec![TransactWriteItem::builder().update(update).build()];
        if !big {
            for (i, _) in events {
                actions.push(self.put_action(i)?);
            }
        }
        // Lost or contended alike: nothing of this step was written; the caller reloads.
        match self.transact(actions).await? {
            Outcome::Written => {}
            Outcome::Lost | Outcome::Contended => return Err(AwsError::Conflict(e.arn.clone())),
        }
        // Boxed: the stamping is rare, and its future would grow every commit's.
        Box::pin(self.restamp(e, expiry)).await
    }

    /// The conditional update of META to `item` on condition that the version is still
    /// `expected_version` and its tail the one ending at `tail_last`: false when the
    /// condition failed.
    async fn update_meta(
        &self,
        e: &StoredExecution,
        expected_version: u64,
        item: Item,
        tail_last: Option<u64>,
    ) -> Result<bool, AwsError> {
        let (expr, names, values, condition) =
            conditional_parts(item, expected_version, None, tail_last);
        let r = self
            .aws
            .dynamodb
            .update_item()
            .table_name(self.name())
            .set_key(Some(Self::meta_key(&e.arn)))
            .update_expression(expr)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        conditional(r, "UpdateItem")
    }

    /// META as it is now: what tells whether a refused update was this writer's own.
    async fn meta_now(&self, arn: &str) -> Result<Option<Item>, AwsError> {
        self.meta_projected(
            arn,
            "version, #w, tail, tailZ, tailS3, tailFirst, tailLast",
            &[("#w", WRITTEN)],
        )
        .await
    }

    /// Writes a step's events kept on META (`t`) as a history item of their own, with the
    /// expiry `expiry`; the write units it took.
    async fn page_tail(
        &self,
        arn: &str,
        t: &HistoryTail,
        expiry: Option<i64>,
    ) -> Result<f64, AwsError> {
        let mut item: Item = [
            ("PK".to_string(), s(format!("EX#{arn}"))),
            ("SK".to_string(), s(format!("EV#{:020}", t.last))),
            ("first".to_string(), n(t.first)),
            if t.in_s3 {
                ("eventsS3".to_string(), s(t.body.clone()))
            } else {
                ("eventsZ".to_string(), deflated(&t.body))
            },
        ]
        .into_iter()
        .collect();
        if let Some(at) = expiry {
            item.insert(EXPIRES_AT.into(), n(at));
        }
        // Its object was tagged for the expiry its execution had when it was written (a closed
        // one's tail is paged by a resume, a running one's by the close): tagged as the page
        // is stamped now, since the stamping passes over items already right.
        if t.in_s3 && self.aws.names.retention_days.is_some_and(|d| d > 0) {
            self.retag_payload(&t.body, expiry.is_some()).await?;
        }
        let written = units(item_size(&item), 1024);
        let r = self
            .aws
            .dynamodb
            .put_item()
            .table_name(self.name())
            .set_item(Some(item))
            .send()
            .await;
        r.map_err(|x| {
            AwsError::service(
                "DynamoDB",
                "PutItem",
                aws_sdk_dynamodb::error::DisplayErrorContext(x),
            )
        })?;
        Ok(written)
    }

    /// After a commit under a retention: when the history does not carry the expiry the META item
    /// now has (the commit closed the execution, or reopened a closed one), stamps (or un-stamps)
    /// it and records that on META. A transaction cannot return the old META, so the recorded
    /// stamp is read back; without a retention nothing is ever stamped and nothing is read.
    async fn restamp(&self, e: &StoredExecution, expiry: Option<i64>) -> Result<(), AwsError> {
        if self.aws.names.retention_days.filter(|d| *d > 0).is_none() {
            return Ok(());
        }
        let stamped = self
            .meta_projected(&e.arn, "#h", &[("#h", STAMPED)])
            .await?
            .and_then(|i| get_n(&i, STAMPED))
            .map(|t| t as i64);
        if stamped != expiry {
            self.stamp_history(&e.arn, e.state.last_event_id, expiry)
                .await?;
            self.mark_stamped(&e.arn, e.version, expiry).await?;
        }
        Ok(())
    }

    /// Claims the step from `version` for writer `me`: false when the execution moved on.
    async fn claim(&self, arn: &str, version: u64, me: &str) -> Result<bool, AwsError> {
        let r = self
            .aws
            .dynamodb
            .update_item()
            .table_name(self.name())
            .set_key(Some(Self::meta_key(arn)))
            .update_expression("SET #writer = :me")
            .condition_expression("version = :seen")
            .expression_attribute_names("#writer", "writer")
            .expression_attribute_values(":me", s(me))
            .expression_attribute_values(":seen", n(version))
            .send()
            .await;
        conditional(r, "UpdateItem")
    }

    /// Writes a chunk of events while `me` still holds the claim on `version`: false once it
    /// does not. A chunk that met another writer's at the same time is tried again, for the
    /// claim to decide.
    async fn write_claimed(
        &self,
        arn: &str,
        version: u64,
        me: &str,
        events: &[(Item, usize)],
    ) -> Result<bool, AwsError> {
        let check = ConditionCheck::builder()
            .table_name(self.name())
            .set_key(Some(Self::meta_key(arn)))
            .condition_expression("version = :seen AND #writer = :me")
            .expression_attribute_names("#writer", "writer")
            .expression_attribute_values(":seen", n(version))
            .expression_attribute_values(":me", s(me))
            .build()
            .map_err(build_error)?;
        let mut actions = vec![TransactWriteItem::builder().condition_check(check).build()];
        for (i, _) in events {
            actions.push(self.put_action(i.clone())?);
        }
        let mut attempt = 0;
        loop {
            match self.transact(actions.clone()).await? {
                Outcome::Written => return Ok(true),
                Outcome::Lost => return Ok(false),
                Outcome::Contended if attempt < CONTENDED_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(10 << attempt)).await;
                }
                Outcome::Contended => return Ok(false),
            }
        }
    }
}

/// Events cut into transactions beside one condition check: at most [`TRANSACT_EVENTS`] and
/// [`TRANSACT_BYTES`] each.
fn chunk(events: &[(Item, usize)]) -> Vec<&[(Item, usize)]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, (_, size)) in events.iter().enumerate() {
        if i - start == TRANSACT_EVENTS || (i > start && bytes + size > TRANSACT_BYTES) {
            out.push(&events[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < events.len() {
        out.push(&events[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sized(sizes: &[usize]) -> Vec<(Item, usize)> {
        sizes.iter().map(|s| (Item::new(), *s)).collect()
    }

    #[test]
    fn chunks_respect_the_transaction_limits() {
        let lens = |e: &[(Item, usize)]| chunk(e).iter().map(|c| c.len()).collect::<Vec<_>>();
        assert_eq!(lens(&sized(&[10; 250])), [99, 99, 52]);
        assert_eq!(lens(&sized(&[2 * 1024 * 1024; 3])), [1, 1, 1]);
        assert_eq!(lens(&sized(&[])), Vec::<usize>::new());
    }

    #[test]
    fn updates_set_everything_but_the_key() {
        let item: Item = [
            ("PK".to_string(), s("x")),
            ("SK".to_string(), s("META")),
            ("version".to_string(), n(3)),
        ]
        .into_iter()
        .collect();
        let (expr, names, values) = update_parts(item, &["writer"]);
        let version = names
            .iter()
            .find(|(_, v)| v.as_str() == "version")
            .map(|(k, _)| k.clone())
            .expect("version is set");
        assert_eq!(
            expr,
            format!("SET {version} = {} REMOVE #r0", version.replace('#', ":"))
        );
        assert_eq!(values.len(), 1);
        assert_eq!(names.get("#r0").map(String::as_str), Some("writer"));
    }
}
