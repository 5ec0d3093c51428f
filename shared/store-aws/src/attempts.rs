//! Task attempts: Step Functions calls a task once per attempt, SQS delivers a command at least
//! once. Before it calls a task, the invoker records the attempt (a conditional put keyed by
//! execution and task id; the engine gives every attempt, retries included, a new id), with the
//! deadline of its own invocation. A command delivered again finds the record and is not called
//! again:
//!
//! * when the first invoker sent the task's outcome (the record says `sent`), there is nothing to
//!   do;
//! * before the first invoker's deadline (a duplicate delivered while the first still runs), the
//!   message is handed back to the queue for later;
//! * after it, the first invoker ended without sending the outcome (stopped by its timeout or a
//!   crash): the attempt fails with `States.TaskFailed`, which a Retry can act on.

use crate::table::{conditional, get_n, item_size, n, s, Item, Table};
use crate::AwsError;
use aws_sdk_dynamodb::types::AttributeValue;

/// The error a lost attempt fails with (matched by `States.ALL` and `States.TaskFailed`).
pub const LOST_ATTEMPT_ERROR: &str = "States.TaskFailed";

/// What recording an attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Recorded now: this invoker calls the task.
    First,
    /// Recorded before, by an invoker whose function ends at this deadline (milliseconds since
    /// the epoch).
    Taken {
        /// The first invoker's deadline.
        deadline_ms: i64,
        /// Whether it sent the outcome.
        sent: bool,
    },
}

impl Table<'_> {
    /// Records the attempt `task` of `execution`, taken by an invoker whose function ends at
    /// `deadline_ms`.
    pub async fn begin_attempt(
        &self,
        execution: &str,
        task: u64,
        deadline_ms: i64,
    ) -> Result<Attempt, AwsError> {
        let item: Item = [
            ("PK".to_string(), s(format!("EX#{execution}"))),
            ("SK".to_string(), s(format!("TASK#{task:020}"))),
            ("deadlineMs".to_string(), n(deadline_ms)),
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
        if conditional(r, "PutItem")? {
            return Ok(Attempt::First);
        }
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
        Ok(Attempt::Taken {
            deadline_ms: item
                .and_then(|i| get_n(i, "deadlineMs"))
                .map_or(0, |d| d as i64),
            sent: item.is_some_and(|i| i.contains_key("sent")),
        })
    }

    /// Marks the attempt's outcome sent to the transitions queue.
    pub async fn attempt_sent(&self, execution: &str, task: u64) -> Result<(), AwsError> {
        self.meter.dynamodb_write(64);
        self.aws
            .dynamodb
            .update_item()
            .table_name(self.name())
            .key("PK", s(format!("EX#{execution}")))
            .key("SK", s(format!("TASK#{task:020}")))
            .update_expression("SET sent = :t")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(AwsError::dynamodb("UpdateItem"))?;
        Ok(())
    }
}
