//! Retention the user controls (`stepwise serve --retention-days N`): nothing is ever deleted
//! unless a retention is set; then an execution whose close (`stop_ms`) is at least the
//! retention in the past goes with everything kept for it — its record (checkpoint, input,
//! output, listing metadata), its history, task tokens, timers, in-flight tasks and activity
//! tasks — in one transaction.
//!
//! A RUNNING execution is never deleted however old, nor a closed one whose outbox is not yet
//! dispatched. A redriven (resumed) execution is RUNNING again and its clock restarts at its next
//! close. The age is read from the store, so a sweep after a restart deletes what came due while
//! the server was down: the durability is the database's. The clock is the caller's (`now_ms`),
//! so tests choose it.

use crate::{db_err, SqliteStore};
use rusqlite::params;
use stepwise_ports::execution::StoreError;

/// How many executions one transaction deletes, so a first sweep over a large backlog never holds
/// the database for long.
const BATCH: i64 = 256;

/// A day, in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// Closed executions by their close: made by the first sweep (once; a large store takes a
/// moment), not with the schema, since without a retention no query reads it and every commit
/// wrote a page of it (W1 through `serve`: 0.5 of 5.4 database pages an execution).
pub(crate) const STOP_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS executions_stop ON executions(stop_ms)";

/// The executions a sweep deletes next (at most `?2` of them, closed at or before `?1`).
pub(crate) const EXPIRED: &str =
    "SELECT arn FROM executions WHERE status <> 'RUNNING' AND has_outbox = 0
     AND stop_ms IS NOT NULL AND stop_ms <= ?1 LIMIT ?2";

impl SqliteStore {
    /// Deletes every execution closed at or before `now_ms - retention_ms` (and what belongs to
    /// it); returns how many went. Never touches a RUNNING execution or one with an outbox.
    pub fn delete_expired(&self, now_ms: i64, retention_ms: i64) -> Result<usize, StoreError> {
        let cutoff = now_ms.saturating_sub(retention_ms);
        let mut total = 0;
        loop {
            let arns = self.writer.write_blocking(move |tx| {
                tx.execute_batch(STOP_INDEX).map_err(db_err)?;
                let arns: Vec<String> = {
                    let mut st = tx.prepare_cached(EXPIRED).map_err(db_err)?;
                    let rows = st
                        .query_map(params![cutoff, BATCH], |r| r.get(0))
                        .map_err(db_err)?
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(db_err)?;
                    rows
                };
                for arn in &arns {
                    // Activity tasks are keyed by token: those of this execution's tokens first.
                    tx.execute(
                        "DELETE FROM activity_tasks WHERE token IN
                         (SELECT token FROM tokens WHERE arn = ?1)",
                        params![arn],
                    )
                    .map_err(db_err)?;
                    for table in ["tokens", "timers", "inflight", "event_pages"] {
                        tx.execute(&format!("DELETE FROM {table} WHERE arn = ?1"), params![arn])
                            .map_err(db_err)?;
                    }
                    // The status is checked again in the same transaction as the delete.
                    tx.execute(
                        "DELETE FROM executions WHERE arn = ?1 AND status <> 'RUNNING'
                         AND has_outbox = 0",
                        params![arn],
                    )
                    .map_err(db_err)?;
                }
                Ok(arns)
            })?;
            let n = arns.len();
            for arn in &arns {
                self.finished.forget(arn);
            }
            total += n;
            if (n as i64) < BATCH {
                return Ok(total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{arn, execution, store};
    use stepwise_engine::Status;
    use stepwise_ports::api::ApiStore;
    use stepwise_ports::execution::ExecutionStore;

    async fn kept(s: &SqliteStore, name: &str) -> (bool, usize, bool) {
        let row = s.execution_row(&arn(name)).await.expect("row").is_some();
        let history = s.history(&arn(name), 0, false, 100).await.expect("history");
        let token = s.token(&format!("tok-{name}")).await.expect("token");
        (row, history.len(), token.is_some())
    }

    #[tokio::test]
    async fn closed_executions_go_with_their_history_once_the_retention_has_passed() {
        let (_d, s) = store();
        let day = DAY_MS;
        execution(&s, "old", Some(day)).await;
        execution(&s, "recent", Some(5 * day)).await;
        execution(&s, "running", None).await;

        // Two days after the first close, with a retention of two days: exactly due.
        assert_eq!(s.delete_expired(3 * day, 2 * day).expect("sweep"), 1);
        assert_eq!(kept(&s, "old").await, (false, 0, false));
        assert_eq!(kept(&s, "recent").await, (true, 3, true));
        assert_eq!(kept(&s, "running").await, (true, 2, true));

        // A year later the closed one goes too; the RUNNING one, started long before, stays.
        assert_eq!(s.delete_expired(365 * day, 2 * day).expect("sweep"), 1);
        assert_eq!(kept(&s, "recent").await, (false, 0, false));
        assert_eq!(kept(&s, "running").await, (true, 2, true));
        assert!(s.load(&arn("running")).await.expect("load").is_some());
    }

    #[tokio::test]
    async fn one_millisecond_early_nothing_goes() {
        let (_d, s) = store();
        execution(&s, "a", Some(1_000)).await;
        assert_eq!(
            s.delete_expired(1_000 + DAY_MS - 1, DAY_MS).expect("sweep"),
            0
        );
        assert_eq!(kept(&s, "a").await, (true, 3, true));
    }

    #[tokio::test]
    async fn a_closed_execution_with_commands_left_to_dispatch_is_kept() {
        let (_d, s) = store();
        execution(&s, "a", None).await;
        let mut cur = s.load(&arn("a")).await.expect("load").expect("there");
        let mut done = cur.clone();
        done.version = 2;
        done.state.status = Status::Failed;
        done.state.stop_ms = Some(0);
        done.outbox = vec![stepwise_engine::Command::CancelTimer { timer: 1 }];
        s.commit(&done, 1, &[]).await.expect("close");
        assert_eq!(s.delete_expired(10 * DAY_MS, DAY_MS).expect("sweep"), 0);
        s.clear_outbox(&arn("a"), 2).await.expect("clear");
        cur = s.load(&arn("a")).await.expect("load").expect("there");
        assert!(cur.outbox.is_empty());
        assert_eq!(s.delete_expired(10 * DAY_MS, DAY_MS).expect("sweep"), 1);
        assert!(s.load(&arn("a")).await.expect("load").is_none());
    }

    #[tokio::test]
    async fn a_backlog_larger_than_one_batch_goes_in_one_sweep() {
        let (_d, s) = store();
        for i in 0..(BATCH + 3) {
            execution(&s, &format!("e{i}"), Some(0)).await;
        }
        let n = s.delete_expired(DAY_MS, DAY_MS).expect("sweep");
        assert_eq!(n as i64, BATCH + 3);
    }
}
