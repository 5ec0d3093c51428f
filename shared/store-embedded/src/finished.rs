//! Executions that have ended, as DescribeExecution reads them (listing row and checkpoint),
//! kept in memory from the write that ended them: a client that starts an execution and polls
//! it read back from SQLite the pages the writer had just written (every commit resets a
//! reader's page cache) and parsed the checkpoint again, a tenth of `serve`'s time.
//!
//! Only the store's writer changes an execution, and it keeps this in step in its own order:
//! each write that ends an execution puts it here, each other write to an execution forgets it,
//! both once the write is committed and before the next write's turn ([`crate::writer`]'s
//! `write_then`). Nothing is read into it: a miss reads SQLite, which is always right.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use stepwise_ports::api::ExecutionRow;
use stepwise_ports::execution::StoredExecution;

/// Executions kept at most; past it the cache starts again empty (it serves the executions that
/// just ended, which pollers read).
const MAX_ENTRIES: usize = 4096;
/// What the kept executions may weigh at most (see [`FinishedExecutions::keep`]); past it the cache
/// starts again empty. Counting entries alone let 4,096 children of a distributed Map, each
/// holding its batch of items, make memory grow with the items (317 MiB at 200,000 items).
const MAX_BYTES: usize = 16 << 20;
/// An execution heavier than this is not kept: SQLite answers for it.
const MAX_ENTRY_BYTES: usize = 256 << 10;

type Entry = Arc<(ExecutionRow, StoredExecution)>;

#[derive(Default)]
pub(crate) struct FinishedExecutions {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    /// Each entry with its weight.
    entries: HashMap<String, (usize, Entry)>,
    /// Their weights' sum.
    bytes: usize,
}

impl Kept {
    fn remove(&mut self, arn: &str) {
        if let Some((weight, _)) = self.entries.remove(arn) {
            self.bytes -= weight;
        }
    }
}

/// Whether a write that leaves an execution with this status and outbox makes it one to keep:
/// ended, every command dispatched (what clears the outbox later writes the row again).
pub(crate) fn ends(status: &str, has_outbox: bool) -> bool {
    status != "RUNNING" && !has_outbox
}

impl FinishedExecutions {
    /// The execution's row and checkpoint, when it ended and is kept.
    pub(crate) fn get(&self, arn: &str) -> Option<(ExecutionRow, StoredExecution)> {
        // The copy is made outside the lock.
        let entry = self
            .kept
            .lock()
            .ok()?
            .entries
            .get(arn)
            .map(|(_, e)| e.clone())?;
        Some(entry.as_ref().clone())
    }

    /// A committed write ended the execution ([`ends`]) as `row` and `ex`, whose stored texts
    /// (checkpoint and meta) are `text_bytes` long: parsed, it weighs about six times that (a
    /// distributed Map's child holding 100 small items: ~120 KB for 20 KB of text). A child of
    /// a distributed Map is not kept: its map run reads it once, nobody polls it.
    pub(crate) fn keep(&self, row: ExecutionRow, ex: StoredExecution, text_bytes: usize) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        kept.remove(&ex.arn);
        let weight = text_bytes.saturating_mul(6).saturating_add(512);
        if weight > MAX_ENTRY_BYTES || row.meta.map_run_arn.is_some() {
            return;
        }
        if kept.entries.len() >= MAX_ENTRIES || kept.bytes + weight > MAX_BYTES {
            kept.entries.clear();
            kept.bytes = 0;
        }
        kept.bytes += weight;
        kept.entries
            .insert(ex.arn.clone(), (weight, Arc::new((row, ex))));
    }

    /// A write to the execution was committed (or may have been).
    pub(crate) fn forget(&self, arn: &str) {
        if let Ok(mut kept) = self.kept.lock() {
            kept.remove(arn);
        }
    }

    /// What the kept executions weigh.
    #[cfg(test)]
    fn weight(&self) -> usize {
        self.kept.lock().map(|k| k.bytes).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{arn, execution, meta, store};
    use crate::SqliteStore;
    use stepwise_engine::Status;
    use stepwise_ports::api::ApiStore;
    use stepwise_ports::execution::{ExecutionStore, StoreError};

    /// What DescribeExecution gets, as JSON (a checkpoint has no `PartialEq`).
    async fn described(s: &SqliteStore, name: &str) -> serde_json::Value {
        let got = s.execution_with_row(&arn(name)).await.expect("read");
        let stored = s.stored_execution_with_row(&arn(name)).expect("read");
        let json = |r: Option<(stepwise_ports::api::ExecutionRow, _)>| {
            r.map(
                |(row, ex): (_, stepwise_ports::execution::StoredExecution)| {
                    serde_json::json!([format!("{row:?}"), ex])
                },
            )
            .unwrap_or_default()
        };
        let (got, stored) = (json(got), json(stored));
        assert_eq!(got, stored, "described as SQLite has it");
        got
    }

    fn kept(s: &SqliteStore, name: &str) -> bool {
        s.finished.get(&arn(name)).is_some()
    }

    #[tokio::test]
    async fn an_ended_execution_is_described_from_memory_as_sqlite_has_it() {
        let (_d, s) = store();
        execution(&s, "ended", Some(5)).await;
        execution(&s, "running", None).await;
        assert!(kept(&s, "ended"));
        assert!(!kept(&s, "running"));
        assert_eq!(
            described(&s, "ended").await[1]["state"]["status"],
            "SUCCEEDED"
        );
        assert_eq!(
            described(&s, "running").await[1]["state"]["status"],
            "RUNNING"
        );

        // One that ends in the write that creates it.
        let (created, meta) = (s.load(&arn("ended")).await, meta("first"));
        let mut next = created.expect("load").expect("there");
        next.arn = arn("first");
        next.version = 1;
        let mut zero = next.clone();
        zero.version = 0;
        zero.state.status = Status::Running;
        assert!(s
            .create_committed(&zero, &meta, &next, &[])
            .await
            .expect("create"));
        assert!(kept(&s, "first"));
        described(&s, "first").await;
    }

    #[tokio::test]
    async fn a_write_to_an_ended_execution_is_not_hidden_by_what_was_kept() {
        let (_d, s) = store();
        execution(&s, "a", Some(5)).await;
        let ended = s.load(&arn("a")).await.expect("load").expect("there");

        // A write that loses its condition changes nothing, in SQLite or in memory.
        let mut stale = ended.clone();
        stale.state.status = Status::Failed;
        assert!(matches!(
            s.commit(&stale, 0, &[]).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(kept(&s, "a"));
        assert_eq!(described(&s, "a").await[1]["state"]["status"], "SUCCEEDED");

        // Redriven: running again, read from SQLite; ended again, kept again.
        let mut redriven = ended.clone();
        redriven.version = 3;
        redriven.state.status = Status::Running;
        redriven.state.stop_ms = None;
        s.commit(&redriven, 2, &[]).await.expect("redrive");
        assert!(!kept(&s, "a"));
        assert_eq!(described(&s, "a").await[1]["state"]["status"], "RUNNING");
        let mut failed = redriven.clone();
        failed.version = 4;
        failed.state.status = Status::Failed;
        failed.state.stop_ms = Some(9);
        s.commit(&failed, 3, &[]).await.expect("fail");
        assert!(kept(&s, "a"));
        assert_eq!(described(&s, "a").await[1]["state"]["status"], "FAILED");

        // Ended with commands left to dispatch: not kept until they are, then from SQLite.
        let mut with_outbox = failed.clone();
        with_outbox.version = 5;
        with_outbox.outbox = vec![stepwise_engine::Command::CancelTimer { timer: 1 }];
        s.commit(&with_outbox, 4, &[]).await.expect("commit");
        assert!(!kept(&s, "a"));
        s.clear_outbox(&arn("a"), 5).await.expect("clear");
        assert!(!kept(&s, "a"));
        assert_eq!(described(&s, "a").await[1]["outbox"], serde_json::json!([]));

        // Deleted by the retention: gone from memory too.
        let mut again = failed.clone();
        again.version = 6;
        s.commit(&again, 5, &[]).await.expect("commit");
        assert!(kept(&s, "a"));
        s.delete_expired(10 * crate::retention::DAY_MS, 1)
            .expect("sweep");
        assert!(!kept(&s, "a"));
        assert_eq!(described(&s, "a").await, serde_json::Value::Null);
    }

    /// Memory stays bounded however many executions end: by weight, not only by count; one too
    /// heavy is not kept, nor a distributed Map's child.
    #[test]
    fn what_is_kept_weighs_at_most_its_bound() {
        let c = super::FinishedExecutions::default();
        let (_d, s) = store();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(execution(&s, "e", Some(5)));
        let Some((row, ex)) = s.finished.get(&arn("e")) else {
            panic!("the ended execution is kept");
        };
        for i in 0..1_000 {
            let mut ex = ex.clone();
            ex.arn = format!("{}-{i}", ex.arn);
            c.keep(row.clone(), ex, 32 << 10);
            assert!(c.weight() <= super::MAX_BYTES, "{} after {i}", c.weight());
        }
        assert!(c.weight() > 0);
        c.keep(row.clone(), ex.clone(), super::MAX_ENTRY_BYTES);
        assert!(c.get(&ex.arn).is_none(), "too heavy to keep");
        let mut child = row.clone();
        child.meta.map_run_arn = Some("arn:aws:states:us-east-1:123456789012:mapRun:m/x:y".into());
        c.keep(child, ex.clone(), 1_000);
        assert!(c.get(&ex.arn).is_none(), "a map run's child is not kept");
        c.keep(row, ex.clone(), 1_000);
        let before = c.weight();
        c.forget(&ex.arn);
        assert_eq!(c.weight(), before - 6_512);
    }
}
