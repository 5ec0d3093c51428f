//! Task attempts: Step Functions calls a task once per attempt, SQS delivers a command at least
//! once. Before it calls a task, the invoker records the attempt (a conditional put keyed by
//! execution and task id; the engine gives every attempt, retries included, a new id), with the
//! deadline and request id of its own invocation. A command delivered again finds the record and
//! is not called again:
//!
//! * when the record names this very invocation, it is this invoker's own write: the SDK retried
//!   a PutItem whose answer was lost after it took effect (a timeout), and the retry's condition
//!   failed on the item the first try wrote. The attempt is this invoker's to call;
//!
//! * when the first invoker recorded the task's outcome (the transitions-queue message it sends,
//!   written on the record before it is sent), the outcome is sent again (the queue drops it as a
//!   duplicate, or the engine ignores an answer it has): an invoker stopped after recording it
//!   loses nothing, and a `.waitForTaskToken` task that was handed its token goes on waiting;
//! * before the first invoker's deadline (a duplicate delivered while the first still runs), the
//!   message is handed back to the queue for later;
//! * after it, the first invoker ended without recording the outcome (stopped by its timeout or a
//!   crash between the task's answer and the record): the answer is gone, and since a task is
//!   never called twice the attempt fails with `States.TaskFailed`, which a Retry can act on;
//! * unless the record was written by an earlier invocation of this very command that never
//!   called the task: its PutItem took effect but every try of the SDK went unanswered, so it
//!   could not know, and it handed the command on instead of calling (see
//!   [`crate::handlers`]), naming itself in the message ([`Claim`]). The redelivery takes such a
//!   record over (a conditional update to its own invocation) and calls the task: once, as a
//!   second delivery carrying the same claim finds the record taken over.

use crate::table::{conditional, get_n, get_s, item_size, n, s, Item, Table};
use crate::AwsError;

/// The error a lost attempt fails with (matched by `States.ALL` and `States.TaskFailed`).
pub const LOST_ATTEMPT_ERROR: &str = "States.TaskFailed";

/// The invoker function's invocation that records attempts: Lambda's request id and the
/// invocation's deadline. Lambda gives each invocation of an event source mapping its own
/// request id (an asynchronous invocation's retries keep theirs, but not their deadline), so the
/// two together name one invocation. An empty request id names none (never matches).
#[derive(Debug, Default)]
pub struct Invocation {
    /// Lambda's request id (`Context::request_id`).
    pub request_id: String,
    /// When the function's invocation ends (milliseconds since the epoch).
    pub deadline_ms: i64,
    /// The attempts this invocation began (a batch may hold one command twice: the second must
    /// not take the first's record for a lost answer of its own put).
    begun: std::sync::Mutex<std::collections::HashSet<(String, u64)>>,
}

impl Invocation {
    /// The invocation with Lambda's `request_id`, ending at `deadline_ms`.
    pub fn new(request_id: impl Into<String>, deadline_ms: i64) -> Self {
        Invocation {
            request_id: request_id.into(),
            deadline_ms,
            begun: Default::default(),
        }
    }

    /// Notes that this invocation calls `task`; false when it already did.
    fn begins(&self, execution: &str, task: u64) -> bool {
        self.begun
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((execution.to_string(), task))
    }

    /// Whether a record written with `request_id` and `deadline_ms` is this invocation's own.
    fn wrote(&self, request_id: Option<&str>, deadline_ms: Option<i64>) -> bool {
        !self.request_id.is_empty()
            && request_id == Some(self.request_id.as_str())
            && deadline_ms == Some(self.deadline_ms)
    }
}

/// An invocation that recorded a task attempt and did not call the task (its record's
/// `invocation` and `deadlineMs`): carried by the command it handed on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Claim {
    /// Lambda's request id of that invocation.
    pub request_id: String,
    /// Its deadline (milliseconds since the epoch).
    pub deadline_ms: i64,
}

impl Invocation {
    /// This invocation as a claim, when it has an identity (a request id).
    pub fn claim(&self) -> Option<Claim> {
        (!self.request_id.is_empty()).then(|| Claim {
            request_id: self.request_id.clone(),
            deadline_ms: self.deadline_ms,
        })
    }
}

/// What recording an attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Recorded now: this invoker calls the task.
    First,
    /// Recorded before, by an invoker whose function ends at this deadline (milliseconds since
    /// the epoch).
    Taken {
        /// The first invoker's deadline.
        deadline_ms: i64,
        /// The outcome it recorded, when it did: to send again.
        outcome: Option<Recorded>,
        /// Whether it marked the outcome sent (records written before outcomes were recorded).
        sent: bool,
    },
}

/// An attempt's recorded outcome: the transitions-queue message body (inline or a pointer to
/// S3) and, for a `.sync` job, its first poll (a tasks-queue message body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The body sent to the transitions queue.
    pub transition: String,
    /// The group and deduplication id it was sent with.
    pub group: String,
    /// Its deduplication id.
    pub dedup: String,
    /// The `.sync` job's first poll and its delay (ms), when there is one.
    pub poll: Option<(String, i64)>,
}

/// What a read-back of an attempt's record found.
enum Found {
    /// This invocation's own record: it calls the task.
    Mine,
    /// Another's: `taken`, and the invocation that wrote it when it holds no outcome.
    Other {
        item_invocation: Option<Claim>,
        taken: Attempt,
    },
}

impl Found {
    fn attempt(self) -> Attempt {
        match self {
            Found::Mine => Attempt::First,
            Found::Other { taken, .. } => taken,
        }
    }
}

impl Table<'_> {
    /// Records the attempt `task` of `execution`, taken by the invoker's invocation `by`.
    pub async fn begin_attempt(
        &self,
        execution: &str,
        task: u64,
        by: &Invocation,
    ) -> Result<Attempt, AwsError> {
        self.begin_attempt_after(execution, task, by, &[]).await
    }

    /// [`Self::begin_attempt`] for a command that `uncalled` invocations handed on without
    /// calling its task: a record one of them wrote is taken over. On an error this invocation
    /// never calls the task (its record may exist): the caller hands the command on.
    pub async fn begin_attempt_after(
        &self,
        execution: &str,
        task: u64,
        by: &Invocation,
        uncalled: &[Claim],
    ) -> Result<Attempt, AwsError> {
        let r = self.try_begin_attempt(execution, task, by, uncalled).await;
        if r.is_err() {
            by.begins(execution, task);
        }
        r
    }

    async fn try_begin_attempt(
        &self,
        execution: &str,
        task: u64,
        by: &Invocation,
        uncalled: &[Claim],
    ) -> Result<Attempt, AwsError> {
        let mut item: Item = [
            ("PK".to_string(), s(format!("EX#{execution}"))),
            ("SK".to_string(), s(format!("TASK#{task:020}"))),
            ("deadlineMs".to_string(), n(by.deadline_ms)),
        ]
        .into_iter()
        .collect();
        if !by.request_id.is_empty() {
            item.insert("invocation".to_string(), s(&by.request_id));
        }
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
        if conditional(r, "PutItem")? {
            by.begins(execution, task);
            return Ok(Attempt::First);
        }
        let found = self.read_attempt(execution, task, by).await?;
        let Found::Other {
            item_invocation, ..
        } = &found
        else {
            return Ok(found.attempt());
        };
        // Written by an invocation that handed this command on without calling the task.
        let Some(earlier) = uncalled
            .iter()
            .find(|c| item_invocation.as_ref() == Some(c))
        else {
            return Ok(found.attempt());
        };
        if self.take_over(execution, task, earlier, by).await? && by.begins(execution, task) {
            return Ok(Attempt::First);
        }
        // Taken over by another delivery of the claim, or by this one's own update whose
        // answer was lost (then the record names this invocation).
        Ok(self.read_attempt(execution, task, by).await?.attempt())
    }

    /// Moves the record of `task` from the invocation `earlier` to `by`, if it still names
    /// `earlier` and holds no outcome.
    async fn take_over(
        &self,
        execution: &str,
        task: u64,
        earlier: &Claim,
        by: &Invocation,
    ) -> Result<bool, AwsError> {
        self.meter.dynamodb_write(200);
        let r = self
            .aws
            .dynamodb
            .update_item()
            .table_name(self.name())
            .key("PK", s(format!("EX#{execution}")))
            .key("SK", s(format!("TASK#{task:020}")))
            .update_expression("SET invocation = :me, deadlineMs = :d")
            .condition_expression(
                "invocation = :was AND deadlineMs = :wd AND attribute_not_exists(outcome)",
            )
            .expression_attribute_values(":me", s(&by.request_id))
            .expression_attribute_values(":d", n(by.deadline_ms))
            .expression_attribute_values(":was", s(&earlier.request_id))
            .expression_attribute_values(":wd", n(earlier.deadline_ms))
            .send()
            .await;
        conditional(r, "UpdateItem")
    }

    /// Reads the record of `task` back (strongly consistent): what it says about the attempt.
    async fn read_attempt(
        &self,
        execution: &str,
        task: u64,
        by: &Invocation,
    ) -> Result<Found, AwsError> {
        let out = self
            .aws
            .dynamodb
            .get_item()
            .table_name(self.name())
            .key("PK", s(format!("EX#{execution}")))
            .key("SK", s(format!("TASK#{task:020}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(AwsError::dynamodb("GetItem"))?;
        self.meter
            .dynamodb_read(out.item().map(item_size).unwrap_or(1));
        let item = out.item();
        let outcome = item.and_then(|i| {
            Some(Recorded {
                transition: get_s(i, "outcome")?.to_string(),
                group: get_s(i, "group")?.to_string(),
                dedup: get_s(i, "dedup")?.to_string(),
                poll: get_s(i, "poll")
                    .map(|p| (p.to_string(), get_n(i, "pollDelayMs").unwrap_or(0) as i64)),
            })
        });
        let deadline_ms = item.and_then(|i| get_n(i, "deadlineMs")).map(|d| d as i64);
        let invocation = item.and_then(|i| get_s(i, "invocation"));
        // The SDK's retry of this invocation's own put (its first answer lost): not yet called.
        if outcome.is_none() && by.wrote(invocation, deadline_ms) && by.begins(execution, task) {
            return Ok(Found::Mine);
        }
        let item_invocation = match (invocation, deadline_ms, &outcome) {
            (Some(request_id), Some(deadline_ms), None) => Some(Claim {
                request_id: request_id.to_string(),
                deadline_ms,
            }),
            _ => None,
        };
        Ok(Found::Other {
            item_invocation,
            taken: Attempt::Taken {
                deadline_ms: deadline_ms.unwrap_or(0),
                outcome,
                sent: item.is_some_and(|i| i.contains_key("sent")),
            },
        })
    }

    /// Records the attempt's outcome before it is sent, so that a redelivered command sends it
    /// again instead of failing the attempt as lost.
    pub async fn record_outcome(
        &self,
        execution: &str,
        task: u64,
        outcome: &Recorded,
    ) -> Result<(), AwsError> {
        let mut req = self
            .aws
            .dynamodb
            .update_item()
            .table_name(self.name())
            .key("PK", s(format!("EX#{execution}")))
            .key("SK", s(format!("TASK#{task:020}")))
            .expression_attribute_values(":o", s(&outcome.transition))
            .expression_attribute_values(":g", s(&outcome.group))
            .expression_attribute_values(":d", s(&outcome.dedup));
        let mut size = outcome.transition.len() + outcome.group.len() + outcome.dedup.len() + 100;
        req = match &outcome.poll {
            Some((poll, delay)) => {
                size += poll.len();
                req.update_expression(
                    "SET outcome = :o, #g = :g, dedup = :d, poll = :p, pollDelayMs = :pd",
                )
                .expression_attribute_values(":p", s(poll))
                .expression_attribute_values(":pd", n(delay))
            }
            None => req.update_expression("SET outcome = :o, #g = :g, dedup = :d"),
        };
        self.meter.dynamodb_write(size);
        req.expression_attribute_names("#g", "group")
            .send()
            .await
            .map_err(AwsError::dynamodb("UpdateItem"))?;
        Ok(())
    }
}
