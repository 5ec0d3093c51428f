//! The SQLite store keeps a commit's history in pages (rows of many events): paging reads
//! across page boundaries in both directions, and a data directory from before pages (one row
//! per event) is read after it opens.

use serde_json::json;
use stepwise_engine::{ExecutionInfo, ExecutionState, HistoryEvent};
use stepwise_ports::api::{ApiStore, ExecutionMeta};
use stepwise_ports::execution::{ExecutionStore, StoredExecution, Usage};
use stepwise_store_embedded::SqliteStore;

const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:m:e";
const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:m";

fn execution() -> (StoredExecution, ExecutionMeta) {
    let info = ExecutionInfo {
        execution_arn: ARN.into(),
        name: "e".into(),
        state_machine_arn: SM.into(),
        state_machine_name: "m".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        start_time_ms: 1_000,
        redrive_count: 0,
        seed: 7,
    };
    let stored = StoredExecution {
        arn: ARN.into(),
        state_machine_arn: SM.into(),
        revision: 1,
        state: ExecutionState::new(info),
        version: 0,
        outbox: Vec::new(),
        test_case: None,
        usage: Usage::default(),
        history_tail: None,
    };
    let meta = ExecutionMeta {
        arn: ARN.into(),
        name: "e".into(),
        state_machine_arn: SM.into(),
        version_arn: None,
        alias_arn: None,
        kind: "STANDARD".into(),
        input: "{}".into(),
        start_ms: 1_000,
        trace_header: None,
        map_run_arn: None,
    };
    (stored, meta)
}

/// Events `from..=to`; every tenth carries a payload of `big` bytes.
fn events(from: u64, to: u64, big: usize) -> Vec<HistoryEvent> {
    (from..=to)
        .map(|id| {
            let pad = if id % 10 == 0 {
                "x".repeat(big)
            } else {
                String::new()
            };
            HistoryEvent::new(
                id,
                id - 1,
                1_000 + id as i64,
                "PassStateEntered".into(),
                Some(json!({"name": "P", "input": pad})),
            )
        })
        .collect()
}

fn ids(events: &[HistoryEvent]) -> Vec<u64> {
    events.iter().map(|e| e.id).collect()
}

async fn all(s: &SqliteStore, reverse: bool, limit: usize) -> Vec<HistoryEvent> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = s
            .history(ARN, after, reverse, limit)
            .await
            .expect("history");
        let Some(last) = page.last() else {
            return out;
        };
        assert!(page.len() <= limit);
        after = last.id;
        out.extend(page);
    }
}

#[tokio::test]
async fn a_long_step_pages_across_rows_both_ways() {
    let dir = tempfile::tempdir().expect("dir");
    let s = SqliteStore::open(dir.path()).expect("open");
    let (e, meta) = execution();
    s.create_execution(&e, &meta).await.expect("create");
    // 1,000 events in one commit (more than one page by count, and by size: 20 KB payloads),
    // then 5 more.
    let first = events(1, 1_000, 20_000);
    let mut next = e.clone();
    next.version = 1;
    s.commit(&next, 0, &first).await.expect("commit");
    let mut next2 = next.clone();
    next2.version = 2;
    s.commit(&next2, 1, &events(1_001, 1_005, 0))
        .await
        .expect("commit");
    let expected: Vec<u64> = (1..=1_005).collect();
    for limit in [1, 7, 100, 256, 1_000, 5_000] {
        let forward = all(&s, false, limit).await;
        assert_eq!(ids(&forward), expected, "forward by {limit}");
        let backward = all(&s, true, limit).await;
        let mut rev = expected.clone();
        rev.reverse();
        assert_eq!(ids(&backward), rev, "backward by {limit}");
    }
    let forward = s.history(ARN, 0, false, 2_000).await.expect("history");
    assert_eq!(&forward[..1_000], &first[..], "events come back as written");
    assert_eq!(
        ids(&s.history(ARN, 255, false, 3).await.expect("page")),
        [256, 257, 258]
    );
    assert_eq!(
        ids(&s.history(ARN, 258, true, 3).await.expect("page")),
        [257, 256, 255]
    );
}

#[tokio::test]
async fn history_written_one_row_per_event_is_read_after_an_upgrade() {
    let (dir, e) = created_then_closed().await;
    let old = events(1, 3, 0);
    {
        let db = raw_file(&dir);
        db.execute_batch(
            "CREATE TABLE history(arn TEXT NOT NULL, id INTEGER NOT NULL, body TEXT NOT NULL,
             PRIMARY KEY(arn, id)) WITHOUT ROWID;",
        )
        .expect("the old table");
        for h in &old {
            db.execute(
                "INSERT INTO history(arn, id, body) VALUES (?1, ?2, ?3)",
                rusqlite::params![ARN, h.id as i64, serde_json::to_string(h).expect("json")],
            )
            .expect("an old row");
        }
    }
    let s = SqliteStore::open(dir.path()).expect("reopen");
    assert_eq!(s.history(ARN, 0, false, 10).await.expect("history"), old);
    assert_eq!(
        ids(&s.history(ARN, 0, true, 2).await.expect("history")),
        [3, 2]
    );
    // New steps page after the old events.
    let mut next = e.clone();
    next.version = 1;
    s.commit(&next, 0, &events(4, 6, 0)).await.expect("commit");
    assert_eq!(
        ids(&s.history(ARN, 2, false, 10).await.expect("history")),
        [3, 4, 5, 6]
    );
}

/// A data directory with the execution created, the store closed (for a test to write into
/// its file as older versions did).
async fn created_then_closed() -> (tempfile::TempDir, StoredExecution) {
    let dir = tempfile::tempdir().expect("dir");
    let s = SqliteStore::open(dir.path()).expect("open");
    let (e, meta) = execution();
    s.create_execution(&e, &meta).await.expect("create");
    (dir, e)
}

/// The database file, opened as it is.
fn raw_file(dir: &tempfile::TempDir) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.path().join(stepwise_store_embedded::DB_FILE))
        .expect("open the file")
}

/// New (packed) pages after old pages of events 1-300, read both ways across the boundary.
async fn new_pages_follow_old_ones(s: &SqliteStore, e: &StoredExecution) {
    let mut next = e.clone();
    next.version = 1;
    s.commit(&next, 0, &events(301, 305, 100))
        .await
        .expect("commit");
    assert_eq!(
        ids(&s.history(ARN, 298, false, 5).await.expect("history")),
        [299, 300, 301, 302, 303]
    );
    assert_eq!(
        ids(&s.history(ARN, 303, true, 4).await.expect("history")),
        [302, 301, 300, 299]
    );
}

#[tokio::test]
async fn pages_kept_as_text_in_the_first_page_table_are_read_after_an_upgrade() {
    let (dir, e) = created_then_closed().await;
    let old = events(1, 300, 100);
    {
        let db = raw_file(&dir);
        db.execute_batch(
            "CREATE TABLE history_pages(arn TEXT NOT NULL, first_id INTEGER NOT NULL,
             last_id INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY(arn, first_id)) WITHOUT ROWID;",
        )
        .expect("the first page table");
        for page in old.chunks(256) {
            db.execute(
                "INSERT INTO history_pages(arn, first_id, last_id, body) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    ARN,
                    page[0].id as i64,
                    page[page.len() - 1].id as i64,
                    serde_json::to_string(page).expect("json")
                ],
            )
            .expect("an old page");
        }
    }
    let s = SqliteStore::open(dir.path()).expect("reopen");
    assert_eq!(s.history(ARN, 0, false, 1_000).await.expect("history"), old);
    assert_eq!(
        ids(&s.history(ARN, 258, true, 3).await.expect("history")),
        [257, 256, 255]
    );
    new_pages_follow_old_ones(&s, &e).await;
    let kept: String = raw_file(&dir)
        .query_row(
            "SELECT group_concat(typeof(body)) FROM event_pages ORDER BY first_id",
            [],
            |r| r.get(0),
        )
        .expect("types");
    assert_eq!(
        kept, "text,text,blob",
        "old pages as they were, the new one packed"
    );
}

#[tokio::test]
async fn pages_kept_as_compressed_json_are_read_after_an_upgrade() {
    let (dir, e) = created_then_closed().await;
    let old = events(1, 300, 100);
    {
        let db = raw_file(&dir);
        for page in old.chunks(256) {
            let json = serde_json::to_vec(page).expect("json");
            db.execute(
                "INSERT INTO event_pages(arn, first_id, last_id, body) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    ARN,
                    page[0].id as i64,
                    page[page.len() - 1].id as i64,
                    lz4_flex::compress_prepend_size(&json)
                ],
            )
            .expect("an old page");
        }
    }
    let s = SqliteStore::open(dir.path()).expect("reopen");
    assert_eq!(all(&s, false, 1_000).await, old);
    new_pages_follow_old_ones(&s, &e).await;
}

/// The history a machine's run records (states' entries and exits sharing their texts, and
/// the events around them) reads back as it was recorded, over several pages, both ways.
#[tokio::test]
async fn a_machine_s_history_reads_back_as_recorded() {
    let mut states = serde_json::Map::new();
    for i in 0..270 {
        let next = if i == 269 {
            json!({"Type": "Succeed"})
        } else {
            json!({"Type": "Pass", "Next": format!("S{}", i + 1),
                   "Parameters": {"n.$": "States.MathAdd($.n, 1)", "name": "\"é\"\n",
                                  "id.$": "States.UUID()"}})
        };
        states.insert(format!("S{i}"), next);
    }
    let def =
        stepwise_asl::model::Definition::from_value(&json!({"StartAt": "S0", "States": states}))
            .expect("definition");
    let (e, meta) = execution();
    let tr = stepwise_engine::step(
        &def,
        e.state.clone(),
        1_000,
        stepwise_engine::Event::Start {
            input: json!({"n": 0}),
        },
    );
    assert!(tr.history.len() > 530, "{} events", tr.history.len());
    let dir = tempfile::tempdir().expect("dir");
    let s = SqliteStore::open(dir.path()).expect("open");
    s.create_execution(&e, &meta).await.expect("create");
    let mut next = e.clone();
    next.state = tr.state;
    next.version = 1;
    s.commit(&next, 0, &tr.history).await.expect("commit");
    assert_eq!(all(&s, false, 70).await, tr.history);
    let mut reversed = tr.history.clone();
    reversed.reverse();
    assert_eq!(all(&s, true, 70).await, reversed);
    let forms: String = raw_file(&dir)
        .query_row(
            "SELECT group_concat(hex(substr(body, 1, 6))) FROM event_pages",
            [],
            |r| r.get(0),
        )
        .expect("forms");
    // Packed; the full pages (each state's new UUID in its output) compressed, the last not.
    assert_eq!(
        forms, "000000000201,000000000201,000000000200",
        "three packed pages"
    );
}
