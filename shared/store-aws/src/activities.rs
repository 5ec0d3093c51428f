//! Activity tasks in the table (`ACT#<arn>` / `TASK#<seq>` items): pushed once per task token,
//! claimed by GetActivityTask under a lease so that a poll that dies (a Lambda cut off at API
//! Gateway's 29-second limit, a crash) loses its claim, never the task.

use crate::api_keys::next_seq;
use crate::api_store::svc;
use crate::ports::{store_error, AwsStore};
use crate::table::{get_n, get_s, is_conditional, item_size, n, s, Item};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use stepwise_ports::api::{ActivityTask, ApiStore};
use stepwise_ports::execution::StoreError;

/// How long a poll's claim on an activity task holds: longer than API Gateway's 29-second
/// integration limit, so a claim lapses only once no answer of its poll can reach a worker.
pub const ACTIVITY_CLAIM_MS: i64 = 30_000;

impl AwsStore {
    /// Pushes an activity task once per token (the invoker may see its message twice): the
    /// token's record is marked `queued` first, on condition that it was not.
    pub async fn push_activity(
        &self,
        activity_arn: &str,
        task: &ActivityTask,
    ) -> Result<(), StoreError> {
        if !self
            .table()
            .mark_token_queued(&task.token, activity_arn)
            .await
            .map_err(store_error)?
        {
            return Ok(());
        }
        let item: Item = [
            ("PK".to_string(), s(format!("ACT#{activity_arn}"))),
            ("SK".to_string(), s(format!("TASK#{:020}", next_seq()))),
            ("token".to_string(), s(task.token.clone())),
            ("input".to_string(), s(task.input.clone())),
        ]
        .into_iter()
        .collect();
        self.meter().dynamodb_write(item_size(&item));
        self.db()
            .put_item()
            .table_name(self.table_name())
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| svc("PutItem", DisplayErrorContext(e)))?;
        Ok(())
    }

    /// Claims the oldest open activity task as of `now_ms`: a conditional update sets its
    /// `claimedUntil` to [`ACTIVITY_CLAIM_MS`] later, on condition that no live claim holds it,
    /// so two polls never get one task, and a poll that died (its Lambda timed out, API
    /// Gateway cut it off) loses its claim instead of the task. Tasks of closed tokens (timed
    /// out, cancelled) are deleted on the way.
    pub async fn claim_activity_task(
        &self,
        activity_arn: &str,
        now_ms: i64,
    ) -> Result<Option<ActivityTask>, StoreError> {
        let pk = format!("ACT#{activity_arn}");
        let mut start = None;
        loop {
            let out = self
                .db()
                .query()
                .table_name(self.table_name())
                .consistent_read(true)
                .key_condition_expression("PK = :pk AND begins_with(SK, :t)")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":t", s("TASK#"))
                .limit(25)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| svc("Query", DisplayErrorContext(e)))?;
            self.meter()
                .dynamodb_read(out.items().iter().map(item_size).sum());
            for item in out.items() {
                let (Some(sk), Some(token)) = (get_s(item, "SK"), get_s(item, "token")) else {
                    continue;
                };
                if get_n(item, "claimedUntil").is_some_and(|until| until as i64 > now_ms) {
                    continue;
                }
                let input = get_s(item, "input").unwrap_or("{}").to_string();
                if self.token(token).await?.is_some_and(|t| t.closed) {
                    // Its task ended (timed out, cancelled) before a worker came: drop it.
                    self.delete_key(pk.clone(), sk.to_string(), false).await;
                    continue;
                }
                self.meter().dynamodb_write(64);
                let claimed = self
                    .db()
                    .update_item()
                    .table_name(self.table_name())
                    .key("PK", s(pk.clone()))
                    .key("SK", s(sk))
                    .update_expression("SET claimedUntil = :until")
                    .condition_expression(
                        "attribute_exists(PK) AND \
                         (attribute_not_exists(claimedUntil) OR claimedUntil <= :now)",
                    )
                    .expression_attribute_values(":until", n(now_ms + ACTIVITY_CLAIM_MS))
                    .expression_attribute_values(":now", n(now_ms))
                    .send()
                    .await;
                match claimed {
                    Ok(_) => {
                        self.activity_claims
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(token.to_string(), sk.to_string());
                        return Ok(Some(ActivityTask {
                            token: token.to_string(),
                            input,
                        }));
                    }
                    // Another poll claimed it (or delivered it) first.
                    Err(e) if is_conditional(&e) => continue,
                    Err(e) => return Err(svc("UpdateItem", DisplayErrorContext(e))),
                }
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(None);
            }
        }
    }

    /// The key of a task this store claimed, forgotten as it is read.
    pub(crate) fn claimed_key(&self, token: &str) -> Option<String> {
        self.activity_claims
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token)
    }
}
