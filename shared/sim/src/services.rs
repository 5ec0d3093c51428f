//! EventBridge Scheduler (one-time `at()` schedules: CreateSchedule, DeleteSchedule; firing up
//! to a minute early or late, at least once; to a FIFO queue only with content-based
//! deduplication, as it sends no deduplication id; its retry policy, then the dead-letter queue;
//! `ActionAfterCompletion: DELETE`) and S3 (PutObject, GetObject on path-style URLs).

use crate::rng::Rng;
use crate::sqs::Sqs;
use crate::Reply;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// When its expression says (ms).
    pub due_ms: i64,
    /// When it fires: up to a minute off.
    pub fire_at_ms: i64,
    target_arn: String,
    input: String,
    group_id: Option<String>,
    dead_letter_arn: Option<String>,
    delete_after: bool,
    max_attempts: u32,
    attempts: u32,
    fired: bool,
}

/// Schedules by (group, name).
#[derive(Default)]
pub struct Scheduler {
    /// The schedules.
    pub schedules: BTreeMap<(String, String), Schedule>,
    /// Schedules created.
    pub created: u64,
    /// Deliveries that went to a dead-letter queue.
    pub dead_lettered: u64,
    /// Firings before their time / after it.
    pub early: u64,
    /// Firings after their time.
    pub late: u64,
}

fn error(status: u16, kind: &str, message: &str) -> Reply {
    let mut r = Reply::json(status, json!({"Message": message}));
    r.headers.push(("x-amzn-errortype".into(), kind.into()));
    r
}

/// `at(2024-01-02T03:04:05)` (UTC) in ms.
fn parse_at(expr: &str) -> Option<i64> {
    let inner = expr.strip_prefix("at(")?.strip_suffix(')')?;
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let t = time::PrimitiveDateTime::parse(inner, &format).ok()?;
    Some(t.assume_utc().unix_timestamp() * 1000)
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| crate::percent_decode(v))
    })
}

impl Scheduler {
    /// Answers one SDK request (restJson1).
    pub fn handle(
        &mut self,
        method: &str,
        path: &str,
        query: &str,
        body: &Value,
        rng: &mut Rng,
        early_late_ms: i64,
    ) -> Reply {
        let Some(name) = path.strip_prefix("/schedules/").map(crate::percent_decode) else {
            return error(400, "ValidationException", "not simulated");
        };
        match method {
            "POST" => {
                let group = body
                    .get("GroupName")
                    .and_then(Value::as_str)
                    .unwrap_or("default")
                    .to_string();
                let key = (group, name.clone());
                if self.schedules.contains_key(&key) {
                    return error(
                        409,
                        "ConflictException",
                        &format!("Schedule {name} already exists."),
                    );
                }
                let expr = body
                    .get("ScheduleExpression")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let Some(due_ms) = parse_at(expr) else {
                    return error(
                        400,
                        "ValidationException",
                        &format!("Invalid Schedule Expression {expr}."),
                    );
                };
                let target = body.get("Target").cloned().unwrap_or_default();
                let target_arn = target
                    .get("Arn")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let group_id = target
                    .pointer("/SqsParameters/MessageGroupId")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if target_arn.ends_with(".fifo") && group_id.is_none() {
                    return error(
                        400,
                        "ValidationException",
                        "MessageGroupId is required for a FIFO queue target.",
                    );
                }
                let jitter = rng.range(-early_late_ms, early_late_ms);
                let s = Schedule {
                    due_ms,
                    fire_at_ms: due_ms + jitter,
                    target_arn,
                    input: target
                        .get("Input")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    group_id,
                    dead_letter_arn: target
                        .pointer("/DeadLetterConfig/Arn")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    delete_after: body.get("ActionAfterCompletion").and_then(Value::as_str)
                        == Some("DELETE"),
                    max_attempts: target
                        .pointer("/RetryPolicy/MaximumRetryAttempts")
                        .and_then(Value::as_u64)
                        .unwrap_or(185) as u32,
                    attempts: 0,
                    fired: false,
                };
                self.created += 1;
                self.schedules.insert(key, s);
                Reply::json(
                    200,
                    json!({"ScheduleArn": format!("arn:aws:scheduler:us-east-1:111111111111:schedule/{}/{name}", key_group(body))}),
                )
            }
            "DELETE" => {
                let group = query_param(query, "groupName").unwrap_or_else(|| "default".into());
                if self.schedules.remove(&(group, name.clone())).is_none() {
                    return error(
                        404,
                        "ResourceNotFoundException",
                        &format!("Schedule {name} does not exist."),
                    );
                }
                Reply::json(200, json!({}))
            }
            _ => error(400, "ValidationException", "not simulated"),
        }
    }

    /// Fires what is due: the target input to its queue (with its message group and no
    /// deduplication id). A failed delivery is tried again (the retry policy), then sent to the
    /// dead-letter queue. `duplicate`: the chance a firing is delivered twice.
    pub fn fire_due(&mut self, sqs: &mut Sqs, now_ms: i64, rng: &mut Rng, duplicate: f64) -> u64 {
        let due: Vec<(String, String)> = self
            .schedules
            .iter()
            .filter(|(_, s)| !s.fired && s.fire_at_ms <= now_ms)
            .map(|(k, _)| k.clone())
            .collect();
        let mut duplicated = 0;
        for k in due {
            let Some(s) = self.schedules.get_mut(&k) else {
                continue;
            };
            let url = sqs.url_of_arn(&s.target_arn).unwrap_or_default();
            let copies = if rng.chance(duplicate) {
                duplicated += 1;
                2
            } else {
                1
            };
            let mut ok = true;
            for _ in 0..copies {
                ok &= sqs
                    .send(&url, &s.input, s.group_id.as_deref(), None, 0, now_ms, rng)
                    .is_ok();
            }
            if s.fire_at_ms < s.due_ms {
                self.early += 1;
            } else if s.fire_at_ms > s.due_ms {
                self.late += 1;
            }
            if !ok {
                s.attempts += 1;
                if s.attempts <= s.max_attempts {
                    s.fire_at_ms = now_ms + 60_000;
                    continue;
                }
                self.dead_lettered += 1;
                if let Some(d) = s.dead_letter_arn.as_deref().and_then(|a| sqs.url_of_arn(a)) {
                    let _ = sqs.send(&d, &s.input, None, None, 0, now_ms, rng);
                }
            }
            if s.delete_after {
                self.schedules.remove(&k);
            } else {
                s.fired = true;
            }
        }
        duplicated
    }
}

fn key_group(body: &Value) -> String {
    body.get("GroupName")
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_string()
}

/// S3 objects by (bucket, key).
#[derive(Default)]
pub struct S3 {
    /// The objects.
    pub objects: BTreeMap<(String, String), Vec<u8>>,
    /// Buckets that exist.
    pub buckets: Vec<String>,
}

fn s3_error(status: u16, code: &str, message: &str) -> Reply {
    Reply {
        status,
        headers: vec![("content-type".into(), "application/xml".into())],
        body: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>sim</RequestId></Error>").into_bytes(),
    }
}

impl S3 {
    /// Answers one SDK request (restXml, path-style).
    pub fn handle(&mut self, method: &str, path: &str, body: &[u8]) -> Reply {
        let path = path.trim_start_matches('/');
        let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
        let (bucket, key) = (bucket.to_string(), crate::percent_decode(key));
        if !self.buckets.contains(&bucket) {
            return s3_error(404, "NoSuchBucket", "The specified bucket does not exist");
        }
        match method {
            "PUT" => {
                self.objects.insert((bucket, key), body.to_vec());
                let mut r = Reply::empty(200);
                r.headers.push(("ETag".into(), "\"sim\"".into()));
                r
            }
            "GET" => match self.objects.get(&(bucket, key)) {
                Some(b) => Reply {
                    status: 200,
                    headers: vec![
                        ("content-length".into(), b.len().to_string()),
                        ("ETag".into(), "\"sim\"".into()),
                    ],
                    body: b.clone(),
                },
                None => s3_error(404, "NoSuchKey", "The specified key does not exist."),
            },
            "DELETE" => {
                self.objects.remove(&(bucket, key));
                Reply::empty(204)
            }
            _ => s3_error(405, "MethodNotAllowed", "not simulated"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqs::{arn, url, Queue};
    use serde_json::json;

    fn world(content_dedup: bool) -> (Scheduler, Sqs, Rng) {
        let mut sqs = Sqs::default();
        for (name, fifo) in [("t.fifo", true), ("dlq", false)] {
            sqs.create(Queue {
                name: name.into(),
                fifo,
                content_dedup: fifo && content_dedup,
                visibility_ms: 30_000,
                ..Queue::default()
            });
        }
        (Scheduler::default(), sqs, Rng::new(9))
    }

    fn create(s: &mut Scheduler, rng: &mut Rng, group: Option<&str>, retries: u64) -> Reply {
        let mut target = json!({
            "Arn": arn("t.fifo"),
            "Input": "{\"fired\":1}",
            "DeadLetterConfig": {"Arn": arn("dlq")},
            "RetryPolicy": {"MaximumRetryAttempts": retries},
        });
        if let Some(g) = group {
            target["SqsParameters"] = json!({"MessageGroupId": g});
        }
        let body = json!({
            "GroupName": "stepwise",
            "ScheduleExpression": "at(2027-01-15T08:20:00)",
            "Target": target,
            "ActionAfterCompletion": "DELETE",
        });
        s.handle("POST", "/schedules/t1", "", &body, rng, 60_000)
    }

    const DUE_MS: i64 = 1_800_001_200_000;

    #[test]
    fn a_schedule_fires_within_a_minute_of_its_time_and_deletes_itself() {
        let (mut s, mut sqs, mut rng) = world(true);
        assert_eq!(create(&mut s, &mut rng, Some("g"), 2).status, 200);
        assert_eq!(create(&mut s, &mut rng, Some("g"), 2).status, 409);
        let fire = s.schedules.values().next().expect("one").fire_at_ms;
        assert!((fire - DUE_MS).abs() <= 60_000);
        s.fire_due(&mut sqs, fire - 1, &mut rng, 0.0);
        assert_eq!(sqs.pending(&url("t.fifo")), 0, "not before its firing time");
        s.fire_due(&mut sqs, fire, &mut rng, 0.0);
        assert_eq!(sqs.pending(&url("t.fifo")), 1);
        assert!(s.schedules.is_empty(), "ActionAfterCompletion: DELETE");
    }

    #[test]
    fn a_fifo_target_needs_a_group_and_content_deduplication_else_its_events_go_to_the_dlq() {
        let (mut s, _, mut rng) = world(true);
        assert_eq!(create(&mut s, &mut rng, None, 2).status, 400, "no group");
        // Scheduler sends no deduplication id: without content-based deduplication every
        // delivery fails, is retried by the policy, then lands in the dead-letter queue.
        let (mut s, mut sqs2, mut rng) = world(false);
        assert_eq!(create(&mut s, &mut rng, Some("g"), 2).status, 200);
        let mut now = DUE_MS + 60_000;
        for _ in 0..3 {
            s.fire_due(&mut sqs2, now, &mut rng, 0.0);
            now += 60_000;
        }
        assert_eq!(sqs2.pending(&url("t.fifo")), 0);
        assert_eq!(sqs2.pending(&url("dlq")), 1);
        assert_eq!(s.dead_lettered, 1);
    }
}
