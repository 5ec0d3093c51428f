//! Retention the user controls, serverless (`RetentionDays` in the templates, the functions'
//! `STEPWISE_RETENTION_DAYS`): nothing is ever deleted unless it is set; then the commit that
//! closes an execution gives its META item, every one of its history items and its task attempt
//! records ([`crate::attempts`]) a DynamoDB TTL attribute, [`EXPIRES_AT`] (epoch seconds: the
//! close plus the retention), and each payload object of its history the S3 tag [`EXPIRY_TAG`],
//! which the bucket's lifecycle rule expires after the same number of days.
//!
//! A lifecycle rule counts days from an object's creation, and a history payload may be far older
//! than the close: so tagging copies the object onto itself (CopyObject with new metadata and
//! tags), which restarts its age at the close. The checkpoint the closing commit writes to S3 is
//! tagged as it is written. Earlier checkpoints are superseded and never read again.
//!
//! A resumed (redriven) execution is RUNNING again: its commit removes the attribute from the
//! META item and from every history item, and copies its payload objects back without the tag,
//! so nothing of a running execution ever expires. Whether the previous commit had stamped the
//! execution is read from the META item's old value, so an execution never stamped costs nothing.
//!
//! The stamping follows the conditional META write (a commit that loses the race stamps
//! nothing); when it is done, the META item records the expiry its history carries
//! ([`STAMPED`]). A stepper stopped in between leaves the two apart, and the next load of the
//! execution (the redelivered message's) finishes the stamping.

use crate::table::{get_n, get_s, n, s, Item, Table};
use crate::AwsError;
use aws_sdk_s3::types::{MetadataDirective, TaggingDirective};
use stepwise_engine::Status;
use stepwise_ports::execution::StoredExecution;

/// The DynamoDB TTL attribute (the table's TimeToLiveSpecification names it).
pub const EXPIRES_AT: &str = "expiresAt";

/// The META attribute that records the expiry the whole history carries (absent: none).
pub const STAMPED: &str = "historyExpiresAt";

/// The S3 tag (key=value) the payload bucket's lifecycle rule expires.
pub const EXPIRY_TAG: &str = "stepwise-retention=closed";

/// When a closed execution's items expire (epoch seconds), under a retention of `days`; `None`
/// while it runs or when nothing is ever deleted.
pub fn expires_at(e: &StoredExecution, days: Option<u32>) -> Option<i64> {
    let days = days.filter(|d| *d > 0)?;
    if e.state.status == Status::Running {
        return None;
    }
    let stop_ms = e.state.stop_ms?;
    Some(stop_ms.div_euclid(1000) + i64::from(days) * 86_400)
}

impl Table<'_> {
    /// The expiry of `e` under this deployment's retention.
    pub(crate) fn expiry_of(&self, e: &StoredExecution) -> Option<i64> {
        expires_at(e, self.aws.names.retention_days)
    }

    /// Gives every history item of `arn` up to `upto` the expiry `at` (or takes it away when
    /// `None`), with its payload object tagged to match. Items already right are left alone.
    pub(crate) async fn stamp_history(
        &self,
        arn: &str,
        upto: u64,
        at: Option<i64>,
    ) -> Result<(), AwsError> {
        let mut after = 0u64;
        while after < upto {
            let out = self
                .aws
                .dynamodb
                .query()
                .table_name(self.name())
                .key_condition_expression("PK = :pk AND SK BETWEEN :a AND :b")
                .expression_attribute_values(":pk", s(format!("EX#{arn}")))
                .expression_attribute_values(":a", s(format!("EV#{:020}", after + 1)))
                .expression_attribute_values(":b", s(format!("EV#{upto:020}")))
                .projection_expression("SK, eventS3, eventsS3, #x")
                .expression_attribute_names("#x", EXPIRES_AT)
                .limit(500)
                .consistent_read(true)
                .send()
                .await
                .map_err(AwsError::dynamodb("Query"))?;
            let items = out.items();
            self.meter
                .dynamodb_read(items.iter().map(crate::table::item_size).sum());
            for item in items {
                self.stamp_item(arn, item, at).await?;
            }
            let last = items
                .last()
                .and_then(|i| get_s(i, "SK"))
                .and_then(|k| k.strip_prefix("EV#"))
                .and_then(|k| k.parse::<u64>().ok());
            match (last, out.last_evaluated_key()) {
                (Some(id), Some(_)) => after = id,
                _ => break,
            }
        }
        self.stamp_attempts(arn, at).await?;
        self.stamp_input(arn, at).await
    }

    /// Tags the S3 object of `arn`'s input, when it is kept there, for the expiry `at`.
    async fn stamp_input(&self, arn: &str, at: Option<i64>) -> Result<(), AwsError> {
        let meta = self.meta_projected(arn, "meta", &[]).await?;
        match meta
            .as_ref()
            .and_then(|i| get_s(i, "meta"))
            .and_then(crate::api_store::input_key)
        {
            Some(key) => self.retag_payload(&key, at.is_some()).await,
            None => Ok(()),
        }
    }

    /// Gives the task attempt records of `arn` ([`crate::attempts`]) the expiry `at` (or takes it
    /// away), so that nothing of a closed execution outlives its retention.
    async fn stamp_attempts(&self, arn: &str, at: Option<i64>) -> Result<(), AwsError> {
        let mut start = None;
        loop {
            let out = self
                .aws
                .dynamodb
                .query()
                .table_name(self.name())
                .key_condition_expression("PK = :pk AND begins_with(SK, :t)")
                .expression_attribute_values(":pk", s(format!("EX#{arn}")))
                .expression_attribute_values(":t", s("TASK#"))
                .projection_expression("SK, #x")
                .expression_attribute_names("#x", EXPIRES_AT)
                .set_exclusive_start_key(start)
                .limit(500)
                .consistent_read(true)
                .send()
                .await
                .map_err(AwsError::dynamodb("Query"))?;
            let items = out.items();
            self.meter
                .dynamodb_read(items.iter().map(crate::table::item_size).sum());
            for item in items {
                self.stamp_item(arn, item, at).await?;
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(());
            }
        }
    }

    /// Records on the META item of `version` that its history carries the expiry `at` (a no-op
    /// when the execution moved on: its own commit stamps).
    pub(crate) async fn mark_stamped(
        &self,
        arn: &str,
        version: u64,
        at: Option<i64>,
    ) -> Result<(), AwsError> {
        let req = self
            .aws
            .dynamodb
            .update_item()
            .table_name(self.name())
            .key("PK", s(format!("EX#{arn}")))
            .key("SK", s("META"))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(version))
            .expression_attribute_names("#h", STAMPED);
        let req = match at {
            Some(t) => req
                .update_expression("SET #h = :t")
                .expression_attribute_values(":t", n(t)),
            None => req.update_expression("REMOVE #h"),
        };
        self.meter.dynamodb_write(64);
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if crate::table::is_conditional(&e) => Ok(()),
            Err(e) => Err(AwsError::service(
                "DynamoDB",
                "UpdateItem",
                aws_sdk_dynamodb::error::DisplayErrorContext(e),
            )),
        }
    }

    async fn stamp_item(&self, arn: &str, item: &Item, at: Option<i64>) -> Result<(), AwsError> {
        let now = get_n(item, EXPIRES_AT).map(|x| x as i64);
        if now == at {
            return Ok(());
        }
        let Some(sk) = get_s(item, "SK") else {
            return Ok(());
        };
        if let Some(key) = get_s(item, "eventsS3").or_else(|| get_s(item, "eventS3")) {
            self.retag_payload(key, at.is_some()).await?;
        }
        let req = self
            .aws
            .dynamodb
            .update_item()
            .table_name(self.name())
            .key("PK", s(format!("EX#{arn}")))
            .key("SK", s(sk))
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#x", EXPIRES_AT);
        let req = match at {
            Some(t) => req
                .update_expression("SET #x = :t")
                .expression_attribute_values(":t", n(t)),
            None => req.update_expression("REMOVE #x"),
        };
        self.meter.dynamodb_write(64);
        match req.send().await {
            Ok(_) => Ok(()),
            // The item went meanwhile (its own TTL): nothing to stamp.
            Err(e) if crate::table::is_conditional(&e) => Ok(()),
            Err(e) => Err(AwsError::service(
                "DynamoDB",
                "UpdateItem",
                aws_sdk_dynamodb::error::DisplayErrorContext(e),
            )),
        }
    }

    /// Copies a payload object onto itself with the expiry tag (or without it), which also
    /// restarts the age the lifecycle rule counts.
    pub(crate) async fn retag_payload(&self, key: &str, expiring: bool) -> Result<(), AwsError> {
        self.meter.record(|u| u.s3_puts += 1);
        let bucket = &self.aws.names.payload_bucket;
        self.aws
            .s3
            .copy_object()
            .bucket(bucket)
            .key(key)
            .copy_source(format!("{bucket}/{key}"))
            // S3 copies an object onto itself only when something about it changes.
            .metadata_directive(MetadataDirective::Replace)
            .metadata(
                "stepwise-retention",
                if expiring { "closed" } else { "running" },
            )
            .tagging_directive(TaggingDirective::Replace)
            .tagging(if expiring { EXPIRY_TAG } else { "" })
            .send()
            .await
            .map_err(|x| {
                AwsError::service(
                    "S3",
                    "CopyObject",
                    aws_sdk_s3::error::DisplayErrorContext(x),
                )
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stepwise_engine::{ExecutionInfo, ExecutionState};
    use stepwise_ports::execution::Usage;

    fn execution(status: Status, stop_ms: Option<i64>) -> StoredExecution {
        let mut state = ExecutionState::new(ExecutionInfo {
            execution_arn: "arn:aws:states:us-east-1:1:execution:m:e".into(),
            name: "e".into(),
            state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:m".into(),
            state_machine_name: "m".into(),
            role_arn: "arn:aws:iam::1:role/r".into(),
            start_time_ms: 0,
            redrive_count: 0,
            seed: 1,
        });
        state.status = status;
        state.stop_ms = stop_ms;
        StoredExecution {
            arn: "arn:aws:states:us-east-1:1:execution:m:e".into(),
            state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:m".into(),
            revision: 1,
            state,
            version: 3,
            outbox: Vec::new(),
            test_case: None,
            usage: Usage::default(),
            history_tail: None,
        }
    }

    #[test]
    fn a_closed_execution_expires_its_retention_after_its_close() {
        let e = execution(Status::Failed, Some(1_700_000_000_999));
        assert_eq!(expires_at(&e, Some(7)), Some(1_700_000_000 + 7 * 86_400));
    }

    #[test]
    fn nothing_expires_without_a_retention_or_while_running() {
        let closed = execution(Status::Succeeded, Some(1_000));
        assert_eq!(expires_at(&closed, None), None);
        assert_eq!(expires_at(&closed, Some(0)), None);
        let running = execution(Status::Running, None);
        assert_eq!(expires_at(&running, Some(7)), None);
    }
}
