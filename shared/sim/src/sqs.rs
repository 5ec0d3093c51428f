//! SQS: the FIFO transitions queue (message groups delivered in order, one batch of a group in
//! flight at a time; deduplication by id or content within 5 minutes, scoped per group) and
//! standard queues (per-message delay, at-least-once: a message can come twice, in any order),
//! with visibility timeouts, receive counts and redrive to a dead-letter queue after
//! `maxReceiveCount` receives. SendMessage answers the SDK (awsJson1_0); receiving and deleting
//! is what Lambda's event source mapping does, so the simulation does it directly.

use crate::rng::Rng;
use crate::Reply;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

/// SQS's message size limit (256 KiB).
pub const MESSAGE_LIMIT: usize = 256 * 1024;
const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;

/// One message.
#[derive(Debug, Clone)]
pub struct Message {
    /// Its id.
    pub id: String,
    /// The body.
    pub body: String,
    /// Its FIFO group.
    pub group: Option<String>,
    /// The group's number (0: none), for [`Sqs::receive`] to tell groups apart cheaply.
    pub group_id: u32,
    /// Not received before this time.
    pub visible_at: i64,
    /// How often it was received.
    pub receives: u32,
    /// The receipt handle of its latest receive.
    pub receipt: u64,
}

/// One queue.
#[derive(Debug, Default)]
pub struct Queue {
    /// Its name.
    pub name: String,
    /// FIFO.
    pub fifo: bool,
    /// Content-based deduplication (FIFO).
    pub content_dedup: bool,
    /// The visibility timeout.
    pub visibility_ms: i64,
    /// Receives before a message goes to the dead-letter queue (0: never).
    pub max_receives: u32,
    /// The dead-letter queue's URL.
    pub dead_letter: Option<String>,
    /// The messages, in send order.
    pub messages: Vec<Message>,
    pub(crate) dedup: BTreeMap<(String, String), i64>,
    pub(crate) next_seq: u64,
}

/// All queues by URL.
#[derive(Default)]
pub struct Sqs {
    /// URL -> queue.
    pub queues: BTreeMap<String, Queue>,
    /// Receipt handles handed out so far.
    receipts: u64,
    /// Messages sent, by queue name.
    pub sent: BTreeMap<String, u64>,
    /// Entries of SendMessageBatch requests failed on purpose (see [`Sqs::handle`]).
    pub entries_failed: u64,
    /// FIFO group names by number (from 1).
    groups: HashMap<String, u32>,
}

/// A URL for a queue name.
pub fn url(name: &str) -> String {
    format!("https://sqs.us-east-1.amazonaws.com/111111111111/{name}")
}

/// The ARN of a queue name.
pub fn arn(name: &str) -> String {
    format!("arn:aws:sqs:us-east-1:111111111111:{name}")
}

/// The receipt handle of a message's receive (as the event source mapping hands it on).
pub fn receipt_handle(id: &str, receipt: u64) -> String {
    format!("{receipt}:{id}")
}

fn error(kind: &str, message: &str) -> Reply {
    Reply::json(
        400,
        json!({"__type": format!("com.amazonaws.sqs#{kind}"), "message": message}),
    )
}

/// A stable hash of a body for content-based deduplication (SHA-256 on AWS: any collision-free
/// enough name of the content does here).
fn content_id(body: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut g: u64 = 0x8422_2325_cbf2_9ce4;
    for b in body.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        g = (g ^ u64::from(b))
            .wrapping_mul(0x0000_0001_b300_0001)
            .rotate_left(7);
    }
    format!("{h:016x}{g:016x}")
}

impl Sqs {
    /// Adds a queue.
    pub fn create(&mut self, q: Queue) -> String {
        let u = url(&q.name);
        self.queues.insert(u.clone(), q);
        u
    }

    /// The URL of the queue with this ARN.
    pub fn url_of_arn(&self, a: &str) -> Option<String> {
        self.queues
            .iter()
            .find(|(_, q)| arn(&q.name) == a)
            .map(|(u, _)| u.clone())
    }

    /// Answers one SDK request. Each entry of a SendMessageBatch fails on the service's side
    /// with probability `entry_failure` (as a throttled request does; counted in
    /// [`Sqs::entries_failed`]), the others taken.
    pub fn handle(
        &mut self,
        op: &str,
        req: &Value,
        now_ms: i64,
        rng: &mut Rng,
        entry_failure: f64,
    ) -> Reply {
        match op {
            "ChangeMessageVisibility" => {
                let url = req
                    .get("QueueUrl")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let handle = req
                    .get("ReceiptHandle")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let secs = req
                    .get("VisibilityTimeout")
                    .and_then(Value::as_i64)
                    .unwrap_or(-1);
                if !(0..=43_200).contains(&secs) {
                    return error(
                        "InvalidParameterValue",
                        "Value for parameter VisibilityTimeout is invalid.",
                    );
                }
                let Some((receipt, id)) = handle
                    .split_once(':')
                    .and_then(|(r, id)| Some((r.parse::<u64>().ok()?, id)))
                else {
                    return error(
                        "ReceiptHandleIsInvalid",
                        "The input receipt handle is invalid.",
                    );
                };
                let Some(q) = self.queues.get_mut(url) else {
                    return error("QueueDoesNotExist", "The specified queue does not exist.");
                };
                // Only the latest receive of a message still in flight can change it.
                match q
                    .messages
                    .iter_mut()
                    .find(|m| m.id == id && m.receipt == receipt && m.visible_at > now_ms)
                {
                    Some(m) => {
                        m.visible_at = now_ms + secs * 1000;
                        Reply::json(200, json!({}))
                    }
                    None => error(
                        "MessageNotInflight",
                        "The message referred to isn't in flight.",
                    ),
                }
            }
            "SendMessageBatch" => {
                let url = req
                    .get("QueueUrl")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let entries = req
                    .get("Entries")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if entries.is_empty() || entries.len() > 10 {
                    return error(
                        "TooManyEntriesInBatchRequest",
                        "Maximum number of entries per request are 10.",
                    );
                }
                let total: usize = entries
                    .iter()
                    .filter_map(|e| e.get("MessageBody").and_then(Value::as_str))
                    .map(str::len)
                    .sum();
                if total > MESSAGE_LIMIT {
                    return error(
                        "BatchRequestTooLong",
                        "Batch requests cannot be longer than 262144 bytes.",
                    );
                }
                let (mut ok, mut failed) = (Vec::new(), Vec::new());
                for e in &entries {
                    let id = e.get("Id").and_then(Value::as_str).unwrap_or_default();
                    if rng.chance(entry_failure) {
                        self.entries_failed += 1;
                        failed.push(json!({"Id": id, "SenderFault": false, "Code": "InternalError", "Message": "simulated"}));
                        continue;
                    }
                    match self.send_entry(url, e, now_ms, rng) {
                        Ok(m) => ok.push(json!({"Id": id, "MessageId": m})),
                        Err(_) => failed.push(json!({"Id": id, "SenderFault": true, "Code": "InvalidParameterValue", "Message": "refused"})),
                    }
                }
                Reply::json(200, json!({"Successful": ok, "Failed": failed}))
            }
            "SendMessage" => {
                let url = req
                    .get("QueueUrl")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                match self.send_entry(url, req, now_ms, rng) {
                    Ok(id) => Reply::json(200, json!({"MessageId": id})),
                    Err(r) => r,
                }
            }
            other => error("UnsupportedOperation", &format!("{other} is not simulated")),
        }
    }

    /// Sends the message a SendMessage request or a SendMessageBatch entry describes (both
    /// name its fields alike).
    fn send_entry(
        &mut self,
        url: &str,
        entry: &Value,
        now_ms: i64,
        rng: &mut Rng,
    ) -> Result<String, Reply> {
        let body = entry
            .get("MessageBody")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let group = entry.get("MessageGroupId").and_then(Value::as_str);
        let dedup = entry.get("MessageDeduplicationId").and_then(Value::as_str);
        let delay = entry
            .get("DelaySeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        self.send(url, body, group, dedup, delay * 1000, now_ms, rng)
    }

    /// Sends a message (the SDK's SendMessage, or Scheduler's delivery).
    #[allow(clippy::too_many_arguments)]
    pub fn send(
        &mut self,
        url: &str,
        body: &str,
        group: Option<&str>,
        dedup: Option<&str>,
        delay_ms: i64,
        now_ms: i64,
        rng: &mut Rng,
    ) -> Result<String, Reply> {
        let next_group = self.groups.len() as u32 + 1;
        let group_id = group.map_or(0, |g| {
            *self.groups.entry(g.to_string()).or_insert(next_group)
        });
        let Some(q) = self.queues.get_mut(url) else {
            return Err(error(
                "QueueDoesNotExist",
                "The specified queue does not exist.",
            ));
        };
        if body.is_empty() || body.len() > MESSAGE_LIMIT {
            return Err(error(
                "InvalidParameterValue",
                "One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.",
            ));
        }
        if q.fifo {
            let Some(group) = group else {
                return Err(error(
                    "MissingParameter",
                    "The request must contain the parameter MessageGroupId.",
                ));
            };
            if delay_ms > 0 {
                return Err(error("InvalidParameterValue", "Value for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type."));
            }
            let id = match (dedup, q.content_dedup) {
                (Some(d), _) => d.to_string(),
                (None, true) => content_id(body),
                (None, false) => {
                    return Err(error(
                        "InvalidParameterValue",
                        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                    ))
                }
            };
            q.dedup.retain(|_, at| now_ms - *at < DEDUP_WINDOW_MS);
            let key = (group.to_string(), id);
            if q.dedup.contains_key(&key) {
                // Accepted and dropped: a duplicate within the window.
                return Ok(format!("dup-{}", rng.next_u64()));
            }
            q.dedup.insert(key, now_ms);
        } else if delay_ms > 900_000 {
            return Err(error(
                "InvalidParameterValue",
                "DelaySeconds must be at most 900",
            ));
        }
        let id = format!("{:016x}-{}", rng.next_u64(), q.next_seq);
        q.next_seq += 1;
        q.messages.push(Message {
            id: id.clone(),
            body: body.to_string(),
            group: group.map(str::to_string),
            group_id,
            visible_at: now_ms + delay_ms,
            receives: 0,
            receipt: 0,
        });
        *self.sent.entry(q.name.clone()).or_default() += 1;
        Ok(id)
    }

    /// Receives up to `max` messages as an event source mapping's poller does; `duplicate`
    /// leaves a copy of a standard queue's message to be delivered again (at-least-once).
    /// Messages past their queue's `maxReceiveCount` move to its dead-letter queue instead.
    pub fn receive(
        &mut self,
        url: &str,
        max: usize,
        now_ms: i64,
        rng: &mut Rng,
        duplicate: f64,
    ) -> (Vec<Message>, u64, u64) {
        let mut dead = Vec::new();
        let mut out = Vec::new();
        let mut duplicated = 0;
        let mut reordered = 0;
        let Some(q) = self.queues.get_mut(url) else {
            return (out, 0, 0);
        };
        if q.fifo {
            // Planned over group numbers, then applied: a long backlog behind a group in flight
            // is scanned at every receive, and copying or hashing each name made the
            // simulation's queue a third of a heavy seed's time.
            let mut take = Vec::new();
            let mut kill = Vec::new();
            {
                // A group with a message in flight is held back; the others give their
                // messages in order.
                let mut blocked: HashSet<u32> = q
                    .messages
                    .iter()
                    .filter(|m| m.receives > 0 && m.visible_at > now_ms && m.group_id != 0)
                    .map(|m| m.group_id)
                    .collect();
                let mut taken_groups: HashSet<u32> = HashSet::new();
                // The group of the message before, when it was held back (a backlog comes in
                // runs of one group).
                let mut last_blocked = None;
                for (i, m) in q.messages.iter().enumerate() {
                    if take.len() >= max {
                        break;
                    }
                    let g = m.group_id;
                    if last_blocked == Some(g) {
                        continue;
                    }
                    // One poller takes one group's run of messages at a time (a batch may hold
                    // several groups; within a group they are consecutive and in order).
                    let held = blocked.contains(&g)
                        || m.visible_at > now_ms
                        || (!taken_groups.is_empty()
                            && !taken_groups.contains(&g)
                            && rng.chance(0.5));
                    let dead = !held && q.max_receives > 0 && m.receives + 1 > q.max_receives;
                    if dead {
                        kill.push(i);
                    }
                    if held || dead {
                        blocked.insert(g);
                        last_blocked = Some(g);
                        continue;
                    }
                    taken_groups.insert(g);
                    take.push(i);
                }
            }
            for i in take {
                let m = &mut q.messages[i];
                m.receives += 1;
                self.receipts += 1;
                m.receipt = self.receipts;
                m.visible_at = now_ms + q.visibility_ms;
                out.push(m.clone());
            }
            // Later indices first, so the earlier stay in place; dead-lettered in queue order.
            for i in kill.into_iter().rev() {
                let mut m = q.messages.remove(i);
                m.receives += 1;
                dead.push(m);
            }
            dead.reverse();
        } else {
            let mut visible: Vec<usize> = (0..q.messages.len())
                .filter(|i| q.messages[*i].visible_at <= now_ms)
                .collect();
            let oldest: Vec<usize> = visible.iter().copied().take(max).collect();
            // Standard queues: any order.
            for k in (1..visible.len()).rev() {
                let j = rng.below(k as u64 + 1) as usize;
                visible.swap(k, j);
            }
            visible.truncate(max);
            // Not the oldest messages, or not in send order.
            let mut chosen = visible.clone();
            chosen.sort_unstable();
            if chosen != oldest || visible.windows(2).any(|w| w[0] > w[1]) {
                reordered += 1;
            }
            let mut remove = Vec::new();
            for i in visible {
                let m = &mut q.messages[i];
                m.receives += 1;
                if q.max_receives > 0 && m.receives > q.max_receives {
                    remove.push(i);
                    continue;
                }
                self.receipts += 1;
                m.receipt = self.receipts;
                m.visible_at = now_ms + q.visibility_ms;
                out.push(m.clone());
                if rng.chance(duplicate) {
                    duplicated += 1;
                    let mut copy = m.clone();
                    copy.visible_at = now_ms + rng.range(0, 5_000);
                    copy.receives = 0;
                    copy.receipt = 0;
                    q.messages.push(copy);
                }
            }
            remove.sort_unstable();
            for i in remove.into_iter().rev() {
                dead.push(q.messages.remove(i));
            }
        }
        if let Some(dlq) = q.dead_letter.clone() {
            if let Some(d) = self.queues.get_mut(&dlq) {
                for mut m in dead {
                    m.receives = 0;
                    m.visible_at = now_ms;
                    d.messages.push(m);
                }
            }
        }
        (out, duplicated, reordered)
    }

    /// When the next message of a queue becomes visible.
    pub fn next_visible(&self, url: &str) -> Option<i64> {
        self.queues
            .get(url)?
            .messages
            .iter()
            .map(|m| m.visible_at)
            .min()
    }

    /// Deletes a received message: only its latest receipt deletes it (an older one succeeds and
    /// deletes nothing, as SQS documents).
    pub fn delete(&mut self, url: &str, id: &str, receipt: u64) {
        if let Some(q) = self.queues.get_mut(url) {
            q.messages.retain(|m| !(m.id == id && m.receipt == receipt));
        }
    }

    /// How many messages a queue holds (in flight or not).
    pub fn pending(&self, url: &str) -> usize {
        self.queues.get(url).map_or(0, |q| q.messages.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(name: &str, fifo: bool, content_dedup: bool) -> Queue {
        Queue {
            name: name.into(),
            fifo,
            content_dedup,
            visibility_ms: 30_000,
            max_receives: 2,
            dead_letter: Some(url("dlq")),
            ..Queue::default()
        }
    }

    fn sqs() -> (Sqs, String, Rng) {
        let mut s = Sqs::default();
        s.create(queue("dlq", false, false));
        let u = s.create(queue("q.fifo", true, false));
        (s, u, Rng::new(1))
    }

    #[test]
    fn a_fifo_group_comes_in_order_one_batch_at_a_time_and_again_after_its_visibility_timeout() {
        let (mut s, u, mut rng) = sqs();
        for (i, d) in ["a", "b", "c"].iter().enumerate() {
            s.send(&u, &format!("m{i}"), Some("g"), Some(d), 0, 0, &mut rng)
                .expect("sent");
        }
        // The same deduplication id within five minutes: accepted, dropped.
        s.send(&u, "m0 again", Some("g"), Some("a"), 0, 1_000, &mut rng)
            .expect("accepted");
        assert_eq!(s.pending(&u), 3);
        let (first, _, _) = s.receive(&u, 2, 0, &mut rng, 0.0);
        let bodies: Vec<&str> = first.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies, ["m0", "m1"]);
        // The group is held while its batch is in flight.
        assert!(s.receive(&u, 10, 1_000, &mut rng, 0.0).0.is_empty());
        // Not deleted (the function timed out): the batch comes back whole, in order.
        let (again, _, _) = s.receive(&u, 10, 30_000, &mut rng, 0.0);
        let bodies: Vec<&str> = again.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies, ["m0", "m1", "m2"]);
        // A receive past maxReceiveCount moves the message to the dead-letter queue (and holds
        // its group back for this receive).
        let (third, _, _) = s.receive(&u, 10, 60_000, &mut rng, 0.0);
        assert!(third.is_empty());
        assert_eq!(s.pending(&url("dlq")), 1);
    }

    #[test]
    fn a_fifo_queue_wants_a_group_and_a_deduplication_id_or_content_deduplication() {
        let (mut s, u, mut rng) = sqs();
        assert!(s.send(&u, "x", None, Some("d"), 0, 0, &mut rng).is_err());
        assert!(s.send(&u, "x", Some("g"), None, 0, 0, &mut rng).is_err());
        assert!(s
            .send(&u, "x", Some("g"), Some("d"), 5_000, 0, &mut rng)
            .is_err());
        let big = "x".repeat(MESSAGE_LIMIT + 1);
        assert!(s
            .send(&u, &big, Some("g"), Some("d"), 0, 0, &mut rng)
            .is_err());
    }

    #[test]
    fn a_standard_queue_delivers_at_least_once_in_any_order() {
        let mut s = Sqs::default();
        let u = s.create(queue("std", false, false));
        let mut rng = Rng::new(3);
        for i in 0..20 {
            s.send(&u, &format!("m{i}"), None, None, 0, 0, &mut rng)
                .expect("sent");
        }
        let (got, duplicated, reordered) = s.receive(&u, 10, 0, &mut rng, 1.0);
        assert_eq!(got.len(), 10);
        assert_eq!(duplicated, 10, "every message left a copy");
        assert_eq!(reordered, 1);
        assert_eq!(s.pending(&u), 30);
    }
}
